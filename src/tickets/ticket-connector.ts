/**
 * Ticket connectors (issue #10): when an agent at the desk sends a one-time code, and when they
 * mark the verification Completed or Incomplete, a note goes to the help-desk ticket they named.
 * One small interface, three implementations:
 *
 *   webhook      a POST signed per Standard Webhooks, for any system (webhook-connector.ts)
 *   zendesk      a private comment on the ticket (zendesk-connector.ts)
 *   connectwise  an internal-analysis note on the service ticket (connectwise-connector.ts)
 *
 * Notes never go out inline: the desk queues them (ticket-note-queue.ts), so a ticket system that
 * is down neither loses a note nor keeps the agent waiting.
 */

export const TICKET_SYSTEMS = ['webhook', 'zendesk', 'connectwise'] as const;
export type TicketSystem = (typeof TICKET_SYSTEMS)[number];

export const TICKET_NOTE_EVENTS = ['code_sent', 'completed', 'incomplete'] as const;
export type TicketNoteEvent = (typeof TICKET_NOTE_EVENTS)[number];

export interface TicketNote {
  /** What the agent typed (validated by the connector's validateRef). */
  ticketRef: string;
  event: TicketNoteEvent;
  agentLogin: string;
  agentName: string;
  contactName: string;
  channel: 'sms' | 'email';
  /** Masked as in the audit trail (src/log/mask.ts): never the address itself. */
  destinationMasked: string;
  verificationId: string;
  /** The verification's status when the note was written (pending, approved, ...). */
  status: string;
  /** The agent sent somewhere other than the address on file, and said why. */
  override: { reason: string } | null;
  /** Only when the setting ticketNoteIncludesCode is on; null otherwise. */
  code: string | null;
  at: Date;
}

export interface TicketConnector {
  readonly system: TicketSystem;
  /** A problem an agent can act on ("Zendesk ticket numbers are digits, like 12345"), or null. */
  validateRef(ref: string): string | null;
  /** Adds the note to the ticket; throws TicketNoteError. */
  addNote(note: TicketNote, signal: AbortSignal): Promise<void>;
}

/**
 * A note did not reach the ticket. `retryable`: worth trying again later (5xx, 429, 408, a
 * timeout, a connection error); otherwise the request itself is wrong (bad credentials, unknown
 * ticket, refused content) and sending it again would fail the same way. The message names the
 * system, the HTTP status and the product's own error text; never credentials, never the code.
 */
export class TicketNoteError extends Error {
  readonly system: TicketSystem;
  readonly retryable: boolean;
  /** The HTTP status, null when there was no answer. */
  readonly status: number | null;

  constructor(system: TicketSystem, message: string, opts: { retryable: boolean; status?: number | null }) {
    super(message);
    this.name = 'TicketNoteError';
    this.system = system;
    this.retryable = opts.retryable;
    this.status = opts.status ?? null;
  }
}

/** The HTTP statuses worth retrying: the server's trouble, rate limits and request timeouts. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

export const SYSTEM_LABELS: Record<TicketSystem, string> = {
  webhook: 'The ticket webhook',
  zendesk: 'Zendesk',
  connectwise: 'ConnectWise Manage',
};

const METHOD_WORDS: Record<TicketNote['channel'], string> = {
  sms: 'text message',
  email: 'email',
};

/** The verification statuses (src/domain/verification.ts) in words an auditor reads. */
const STATUS_WORDS: Record<string, string> = {
  pending: 'code sent, not checked yet',
  approved: 'the caller read back the right code',
  canceled: 'canceled',
  expired: 'the code expired before it was checked',
  max_attempts_reached: 'wrong code too many times',
  failed: 'the code could not be delivered',
};

/** One line of free text: names and reasons come from people and must not forge extra lines. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

function utc(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * The note as plain text, the words an agent or an auditor reads in the ticket. Pure. The code
 * appears only when note.code is set (the setting ticketNoteIncludesCode).
 */
export function renderTicketNote(note: TicketNote): string {
  const method = METHOD_WORDS[note.channel];
  const agent = `${oneLine(note.agentName) || oneLine(note.agentLogin)} (${oneLine(note.agentLogin)})`;
  const contact = oneLine(note.contactName);
  const forContact = contact ? ` for ${contact}` : '';
  const dest = oneLine(note.destinationMasked);
  const lines: string[] = [];
  switch (note.event) {
    case 'code_sent':
      lines.push(`pinverify: one-time code sent by ${method} to ${dest}${forContact} by ${agent}.`);
      break;
    case 'completed':
    case 'incomplete': {
      const outcome = note.event === 'completed' ? 'Completed' : 'Incomplete';
      const result = STATUS_WORDS[note.status] ?? oneLine(note.status);
      lines.push(`pinverify: verification marked ${outcome} by ${agent}.`);
      lines.push(`Code sent by ${method} to ${dest}${forContact}; result: ${result}.`);
      break;
    }
  }
  if (note.override) {
    lines.push(`Destination overridden (not the address on file): ${oneLine(note.override.reason)}.`);
  }
  if (note.code !== null) lines.push(`Code: ${note.code} (the setting ticketNoteIncludesCode is on).`);
  lines.push(`Verification ${note.verificationId}, ${utc(note.at)}.`);
  return lines.join('\n');
}

/**
 * Ticket numbers as Zendesk and ConnectWise use them: digits, optionally written "#12345".
 * Returns the number as text, or null.
 */
export function numericTicketId(ref: string): string | null {
  const m = /^#?\s*([1-9][0-9]{0,14})$/.exec(ref.trim());
  return m?.[1] ?? null;
}
