/**
 * Zendesk Support: the note is a private comment (an internal note agents see, the requester does
 * not) added with "Update Ticket":
 *
 *   PUT {ZENDESK_URL}/api/v2/tickets/{ticket_id}.json
 *   Authorization: Basic base64("{email}/token:{api_token}")
 *   Content-Type: application/json
 *   {"ticket": {"comment": {"body": "...", "public": false}}}
 *
 * Zendesk has no endpoint that creates comments on their own: a comment is part of a ticket
 * update (developer.zendesk.com, "Ticket Comments": "Ticket comments are created by including a
 * comment object in the ticket object when creating or updating the ticket"). `public` defaults
 * to true, so it is always sent as false. Errors come back as {"error", "description",
 * "details"?}: 401 "Couldn't authenticate you", 404 RecordNotFound, 422 RecordInvalid, 429 with
 * Retry-After.
 */
import {
  numericTicketId,
  renderTicketNote,
  TicketNoteError,
  type TicketConnector,
  type TicketNote,
} from './ticket-connector';
import {
  basicAuthorization,
  DEFAULT_TICKET_TIMEOUT_MS,
  shortText,
  ticketHttp,
  trimSlash,
  tryJson,
} from './ticket-http';

export interface ZendeskConnectorOptions {
  /** https://{subdomain}.zendesk.com (the lab: the stand-in's URL). */
  baseUrl: string;
  /** The agent the API token acts as. */
  email: string;
  apiToken: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The product's words from a Zendesk error body. */
export function zendeskErrorText(body: string): string {
  const json = tryJson(body);
  if (!json || typeof json !== 'object') return shortText(body);
  const o = json as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof o.error === 'string') parts.push(o.error);
  else if (o.error && typeof o.error === 'object') {
    const e = o.error as Record<string, unknown>;
    parts.push([e.title, e.message].filter((x) => typeof x === 'string').join(': '));
  }
  if (typeof o.description === 'string') parts.push(o.description);
  if (o.details && typeof o.details === 'object') {
    for (const list of Object.values(o.details as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      for (const d of list as unknown[]) {
        const text = (d as { description?: unknown } | null)?.description;
        if (typeof text === 'string') parts.push(text);
      }
    }
  }
  return shortText(parts.filter(Boolean).join(': '));
}

export function createZendeskConnector(o: ZendeskConnectorOptions): TicketConnector {
  const base = trimSlash(o.baseUrl);
  const authorization = basicAuthorization(`${o.email}/token`, o.apiToken);
  const doFetch = o.fetch ?? fetch;
  return {
    system: 'zendesk',
    validateRef(ref) {
      return numericTicketId(ref) ? null : 'Zendesk ticket numbers are digits, like 12345 or #12345';
    },
    async addNote(note: TicketNote, signal: AbortSignal) {
      const id = numericTicketId(note.ticketRef);
      if (!id) {
        throw new TicketNoteError(
          'zendesk',
          `"${shortText(note.ticketRef)}" is not a Zendesk ticket number`,
          {
            retryable: false,
          },
        );
      }
      await ticketHttp({
        system: 'zendesk',
        method: 'PUT',
        url: `${base}/api/v2/tickets/${id}.json`,
        headers: {
          authorization,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({ ticket: { comment: { body: renderTicketNote(note), public: false } } }),
        what: `ticket ${id}`,
        signal,
        timeoutMs: o.timeoutMs ?? DEFAULT_TICKET_TIMEOUT_MS,
        fetch: doFetch,
        errorText: zendeskErrorText,
      });
    },
  };
}
