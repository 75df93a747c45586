/**
 * The generic ticket connector: for any ticket system (or an automation platform in front of
 * one), pinverify POSTs the note, signed per Standard Webhooks (standardwebhooks.com; the
 * maintained `standardwebhooks` library):
 *
 *   POST {TICKET_WEBHOOK_URL}
 *   content-type: application/json
 *   webhook-id: msg_<32 hex>          the same on every retry of one note: dedupe on it
 *   webhook-timestamp: <unix seconds> when this attempt was sent (receivers allow 5 minutes)
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">
 *
 *   {"type": "ticket.note", "timestamp": "<ISO time of the event>",
 *    "data": {ticketRef, event, text, verificationId, agentLogin, agentName, contactName, channel,
 *             destinationMasked, status, override, code?}}
 *
 * `text` is renderTicketNote's, ready to paste into a ticket; `code` is present only when the
 * setting ticketNoteIncludesCode is on. Any 2xx is success.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { renderTicketNote, TicketNoteError, type TicketConnector, type TicketNote } from './ticket-connector';
import { DEFAULT_TICKET_TIMEOUT_MS, shortText, ticketHttp, tryJson } from './ticket-http';

export const TICKET_NOTE_EVENT_TYPE = 'ticket.note';
const MAX_REF_LENGTH = 100;

export interface WebhookConnectorOptions {
  url: string;
  /** "whsec_" + base64 of the key (TICKET_WEBHOOK_SECRET). */
  secret: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?(): Date;
}

export interface TicketNotePayload {
  type: typeof TICKET_NOTE_EVENT_TYPE;
  timestamp: string;
  data: {
    ticketRef: string;
    event: TicketNote['event'];
    text: string;
    verificationId: string;
    agentLogin: string;
    agentName: string;
    contactName: string;
    channel: TicketNote['channel'];
    destinationMasked: string;
    status: string;
    override: { reason: string } | null;
    code?: string;
  };
}

export function ticketNotePayload(note: TicketNote): TicketNotePayload {
  return {
    type: TICKET_NOTE_EVENT_TYPE,
    timestamp: note.at.toISOString(),
    data: {
      ticketRef: note.ticketRef.trim(),
      event: note.event,
      text: renderTicketNote(note),
      verificationId: note.verificationId,
      agentLogin: note.agentLogin,
      agentName: note.agentName,
      contactName: note.contactName,
      channel: note.channel,
      destinationMasked: note.destinationMasked,
      status: note.status,
      override: note.override ? { reason: note.override.reason } : null,
      ...(note.code !== null ? { code: note.code } : {}),
    },
  };
}

/**
 * The same note always gets the same webhook-id, so a receiver can drop the copy a retry sends
 * after an answer was lost on the way back.
 */
export function webhookMessageId(note: TicketNote): string {
  const key = [note.verificationId, note.event, note.ticketRef.trim(), note.at.toISOString()].join('\n');
  return `msg_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** Whatever the receiver said, as one short line. */
function webhookErrorText(body: string): string {
  const json = tryJson(body);
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    const parts = [o.error, o.message, o.detail].filter((x): x is string => typeof x === 'string');
    if (parts.length > 0) return shortText(parts.join(': '));
  }
  return shortText(body);
}

export function createWebhookConnector(o: WebhookConnectorOptions): TicketConnector {
  const signer = new Webhook(o.secret);
  const doFetch = o.fetch ?? fetch;
  return {
    system: 'webhook',
    validateRef(ref) {
      const r = ref.trim();
      if (!r) return 'Give the ticket reference';
      if (r.length > MAX_REF_LENGTH) return `A ticket reference has at most ${MAX_REF_LENGTH} characters`;
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(r)) return 'A ticket reference is one line of text';
      return null;
    },
    async addNote(note: TicketNote, signal: AbortSignal) {
      const problem = this.validateRef(note.ticketRef);
      if (problem) {
        throw new TicketNoteError('webhook', `ticket reference not sent: ${problem}`, { retryable: false });
      }
      const body = JSON.stringify(ticketNotePayload(note));
      const id = webhookMessageId(note);
      const at = o.now?.() ?? new Date();
      await ticketHttp({
        system: 'webhook',
        method: 'POST',
        url: o.url,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signer.sign(id, at, body),
        },
        body,
        what: `ticket ${shortText(note.ticketRef)}`,
        signal,
        timeoutMs: o.timeoutMs ?? DEFAULT_TICKET_TIMEOUT_MS,
        fetch: doFetch,
        errorText: webhookErrorText,
      });
    },
  };
}
