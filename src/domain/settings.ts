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
  /** Shortest PIN ops may set (4-8; at least what the failure limit makes safe: src/domain/pin.ts). */
  pinMinLength: number;
  /** Longest PIN, and the most digits a caller may key for one (4-10). */
  pinMaxLength: number;
  /** PIN tries per call; each wrong PIN also counts toward maxFailedChecksPerContact. */
  maxPinTries: number;
  /** Where PINs are checked: `database` (argon2id hashes here) or `webhook` (the customer's CRM). */
  pinSource: PinSource;
  /** The CRM's PIN check URL (pinSource webhook); '' when unset. */
  pinWebhookUrl: string;
  /** Deadline for the CRM's answer, in ms; late or failed is internal_error, never a match. */
  pinWebhookTimeoutMs: number;
  /** The desk refuses to send a code until the agent gives a ticket reference (seed 001). */
  requireTicket: boolean;
  /**
   * Ticket notes carry the code itself. Off by default: a code in a ticket can be replayed by
   * whoever reads the ticket while it is valid, and ticket systems keep it for ever.
   */
  ticketNoteIncludesCode: boolean;
}

export const PIN_SOURCES = ['database', 'webhook'] as const;
export type PinSource = (typeof PIN_SOURCES)[number];
