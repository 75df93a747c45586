/**
 * What the verification flow needs from the world, as small interfaces. Adapters in src/store
 * (Postgres), src/senders (nodemailer, twilio) and src/ami implement them; src/main.ts wires them.
 * The flow itself never imports pg, twilio, nodemailer or ari-client.
 */
import type { CallOutcome, Contact, DeliveryChannel, FlowSettings, LockState, Route } from '../domain';
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
}
