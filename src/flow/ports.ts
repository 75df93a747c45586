/**
 * What the verification flow needs from the world, as small interfaces. Adapters in src/store
 * (Postgres), src/senders (nodemailer, twilio) and src/ami implement them; src/main.ts wires them.
 * The flow itself never imports pg, twilio, nodemailer or ari-client.
 */
import type {
  CallOutcome,
  Contact,
  DeliveryChannel,
  FlowSettings,
  LockState,
  Route,
  Verification,
} from '../domain';
import type { Refusal } from '../domain';
import type {
  CancelResult,
  CheckResult,
  SendResult,
  StartRequest,
} from '../verification/verification-service';

export interface ConfigStore {
  getSettings(): Promise<FlowSettings>;
  /** The enabled route whose previous hop is `previousHop`, or null. */
  findRoute(previousHop: string): Promise<Route | null>;
}

export interface ContactDirectory {
  /** Contacts having this E.164 number among their phone numbers. At most `limit` rows. */
  findByPhone(e164: string, limit: number): Promise<Contact[]>;
  findById(id: number): Promise<Contact | null>;
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
  | 'refused'
  | 'pin_check'
  | 'reclaimed'
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

/**
 * The verification service as the call flows use it (src/verification/verification-service.ts):
 * the same service, limits and records as the HTTP API and the CLI.
 */
export interface Verifier {
  lockState(contactId: number): Promise<LockState>;
  start(req: StartRequest, signal?: AbortSignal): Promise<SendResult>;
  resend(id: string, opts?: { signal?: AbortSignal }): Promise<SendResult>;
  check(id: string, code: string): Promise<CheckResult>;
  cancel(id: string, reason?: string | null): Promise<CancelResult | null>;
  /** A PIN verification of a contact on a call (nothing is sent); refused when locked. */
  startPin(req: PinVerificationRequest): Promise<PinStartResult>;
  /** Records one PIN try the PinChecker judged, under the contact's limits. */
  checkPin(id: string, matched: boolean): Promise<CheckResult>;
}

export interface PinVerificationRequest {
  contact: Contact;
  /** The E.164 number the PIN was asked for (the caller ID). */
  caller: string;
  callId: string;
  maxTries: number;
  /** Most digits a PIN may have (the record's code length). */
  maxLength: number;
}

export type PinStartResult =
  { kind: 'started'; verification: Verification } | { kind: 'refused'; refusal: Refusal };

/** The settings a PIN check reads. */
export type PinSourceSettings = Pick<FlowSettings, 'pinSource' | 'pinWebhookUrl' | 'pinWebhookTimeoutMs'>;

export interface PinCheckRequest {
  /** The caller's E.164 number; null for an anonymous or unparsable caller ID. */
  caller: string | null;
  pin: string;
  /** The route's name (previous hop), for a CRM that keeps PINs per department. */
  route: string;
  /** The caller's contact, when exactly one was found by number. */
  contact: Contact | null;
}

export interface PinCheckAnswer {
  match: boolean;
  /** The contact the PIN belongs to, as the source says (a CRM may name it); else the one asked about. */
  contactId: number | null;
}

/**
 * Where PINs are checked: pinverify's own argon2id hashes, or the customer's CRM over a signed
 * webhook (src/pin/pin-checker.ts). Rejects when the source fails or is late: never a match.
 */
export interface PinChecker {
  /** Whether the contact has a PIN; null when the source cannot tell before a check (CRM). */
  hasPin(contact: Contact, settings: PinSourceSettings): Promise<boolean | null>;
  check(req: PinCheckRequest, settings: PinSourceSettings, signal: AbortSignal): Promise<PinCheckAnswer>;
}
