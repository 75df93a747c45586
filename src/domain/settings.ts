/** Every setting the call flows and the verification service read. Stored in Postgres (table settings), edited by ops. */
export interface FlowSettings {
  defaultSuccessDestination: string;
  defaultFailedDestination: string;
  defaultContext: string;
  codeLength: number; // 4..10
  codeValiditySeconds: number; // <= 600
  /** Checks per verification (each code). */
  maxTriesPerCode: number;
  /** Codes sent during one call, over all its verifications. */
  maxSendsPerCall: number;
  maxSendsPerVerification: number;
  resendCooldownSeconds: number;
  maxFailedChecksPerContact: number;
  maxSendsPerDestinationPerHour: number;
  maxSendsPerDestinationPerDay: number;
  maxSendsPerCountryPerHour: number;
  maxSendsPerHour: number;
  retentionDays: number;
  maxMenuPrompts: number;
  menuTimeoutMs: number;
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
  sendTimeoutMs: number;
  defaultCountry: string; // ISO 3166 alpha-2, for caller-ID normalisation
  companyName: string;
}
