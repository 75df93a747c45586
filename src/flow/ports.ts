/**
 * What the verification flow needs from the world, as small interfaces. Adapters in src/store
 * (Postgres), src/senders (nodemailer, twilio) and src/ami implement them; src/main.ts wires them.
 * The flow itself never imports pg, twilio, nodemailer or ari-client.
 */

export type DeliveryChannel = 'email' | 'sms';

export type VerificationResult = 'verified' | 'failed';

/** Why a call ended the way it did; written to PINVERIFY_REASON, the AMI event and the audit record. */
export type Reason =
  | 'ok'
  | 'no_match'
  | 'multi_match'
  | 'no_input'
  | 'caller_bailed'
  | 'delivery_failed'
  | 'max_attempts'
  | 'max_sends'
  | 'abandoned'
  | 'unavailable'
  | 'internal_error';

/** A route: which destinations a caller reaches, chosen by the previous hop (sub-IVR context or Stasis arg route=). */
export interface Route {
  id: number;
  title: string;
  previousHop: string;
  /** "exten", "exten@context" or "exten@context:priority" */
  successDestination: string;
  failedDestination: string;
  enabled: boolean;
}

/** Every setting the flow reads. Stored in Postgres (table settings), edited by ops. */
export interface FlowSettings {
  defaultSuccessDestination: string;
  defaultFailedDestination: string;
  defaultContext: string;
  codeLength: number; // 4..10
  codeValiditySeconds: number; // <= 600
  maxTriesPerCode: number;
  maxSendsPerCall: number;
  maxMenuPrompts: number;
  menuTimeoutMs: number;
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
  sendTimeoutMs: number;
  defaultCountry: string; // ISO 3166 alpha-2, for caller-ID normalisation
  companyName: string;
}

export interface ConfigStore {
  getSettings(): Promise<FlowSettings>;
  /** The enabled route whose previous hop is `previousHop`, or null. */
  findRoute(previousHop: string): Promise<Route | null>;
}

export interface Contact {
  id: number;
  name: string;
  email: string | null;
  /** E.164 number that receives SMS, or null. */
  mobile: string | null;
}

export interface ContactDirectory {
  /** Contacts having this E.164 number among their phone numbers. At most `limit` rows. */
  findByPhone(e164: string, limit: number): Promise<Contact[]>;
}

export type CodeCheck =
  | { kind: 'ok' }
  | { kind: 'wrong'; triesLeft: number }
  | { kind: 'expired' }
  | { kind: 'exhausted' }
  | { kind: 'missing' };

/** One live code per call, stored only as a keyed hash. */
export interface CodeStore {
  /** Stores (or replaces) the call's code. Resets the try counter. */
  put(callId: string, codeHash: string, expiresAt: Date, maxTries: number): Promise<void>;
  /** Atomically compares and counts a try. A correct code is consumed (single use). */
  check(callId: string, codeHash: string, now: Date): Promise<CodeCheck>;
  /** The code dies with the call. */
  discard(callId: string): Promise<void>;
}

export interface CodeMessage {
  channel: DeliveryChannel;
  contact: Contact;
  code: string;
  validityMinutes: number;
  companyName: string;
}

/** Renders the channel's template and sends it to the address on file. Rejects on failure. */
export interface CodeDelivery {
  send(message: CodeMessage, signal: AbortSignal): Promise<{ messageId: string | null }>;
}

export type AuditKind =
  | 'entered'
  | 'route'
  | 'lookup'
  | 'choice'
  | 'code_sent'
  | 'send_failed'
  | 'resend'
  | 'attempt'
  | 'expired'
  | 'outcome'
  | 'hangup'
  | 'error';

export interface CallOpened {
  callId: string;
  channelId: string;
  callerMasked: string;
  previousHop: string;
  startedAt: Date;
}

export interface CallOutcome {
  result: VerificationResult;
  reason: Reason;
  method: DeliveryChannel | null;
  contactId: number | null;
  route: string;
  destination: string;
}

/** The audit trail. Details must already be masked: no code, no full number, no full email. */
export interface AuditTrail {
  open(call: CallOpened): Promise<void>;
  event(callId: string, kind: AuditKind, detail: Record<string, unknown>, at: Date): Promise<void>;
  close(callId: string, outcome: CallOutcome, at: Date): Promise<void>;
}

/** Tells the rest of the PBX (AMI UserEvent PinVerify) how the call ended. */
export interface ResultPublisher {
  publish(outcome: CallOutcome & { channelId: string; callId: string }): Promise<void>;
}

export interface FlowLogger {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

/** An editable message template. Placeholders: {code}, {name}, {company}, {minutes}. */
export interface MessageTemplate {
  channel: DeliveryChannel;
  /** Email only. */
  subject: string | null;
  text: string;
  /** Email only, optional. */
  html: string | null;
}

export interface TemplateStore {
  getTemplate(channel: DeliveryChannel): Promise<MessageTemplate>;
}
