/**
 * ConnectWise Manage (ConnectWise PSA): the note is a service ticket note flagged Internal
 * Analysis (visible to members, not to the customer), added with
 *
 *   POST {CONNECTWISE_URL}/v4_6_release/apis/3.0/service/tickets/{id}/notes
 *   Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")
 *   clientId: {clientId}                     (required on every call since 2019)
 *   Accept: application/vnd.connectwise.com+json; version=2022.1
 *   Content-Type: application/json
 *   {"text": "...", "detailDescriptionFlag": false, "internalAnalysisFlag": true, "resolutionFlag": false}
 *
 * The Accept header pins the API model version, as ConnectWise asks production integrations to
 * do ("PSA Versioning"); the ticket note model has not changed in a way that matters here.
 * Errors come back as {"code", "message", "errors"?: [{code, message, resource, field}]}.
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

export const CONNECTWISE_API_PATH = '/v4_6_release/apis/3.0';
export const CONNECTWISE_ACCEPT = 'application/vnd.connectwise.com+json; version=2022.1';

export interface ConnectWiseConnectorOptions {
  /** The API site, e.g. https://api-na.myconnectwise.net (the lab: the stand-in's URL). */
  baseUrl: string;
  /** The company id typed at the login screen. */
  companyId: string;
  /** The API member's key pair. */
  publicKey: string;
  privateKey: string;
  /** The integration's clientId from developer.connectwise.com. */
  clientId: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The product's words from a ConnectWise error body. */
export function connectWiseErrorText(body: string): string {
  const json = tryJson(body);
  if (!json || typeof json !== 'object') return shortText(body);
  const o = json as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof o.code === 'string') parts.push(o.code);
  if (typeof o.message === 'string') parts.push(o.message);
  if (Array.isArray(o.errors)) {
    for (const e of o.errors as unknown[]) {
      const m = (e as { message?: unknown } | null)?.message;
      if (typeof m === 'string') parts.push(m);
    }
  }
  return shortText(parts.join(': '));
}

export function createConnectWiseConnector(o: ConnectWiseConnectorOptions): TicketConnector {
  const base = `${trimSlash(o.baseUrl)}${CONNECTWISE_API_PATH}`;
  const authorization = basicAuthorization(`${o.companyId}+${o.publicKey}`, o.privateKey);
  const doFetch = o.fetch ?? fetch;
  return {
    system: 'connectwise',
    validateRef(ref) {
      return numericTicketId(ref) ? null : 'ConnectWise ticket numbers are digits, like 12345 or #12345';
    },
    async addNote(note: TicketNote, signal: AbortSignal) {
      const id = numericTicketId(note.ticketRef);
      if (!id) {
        throw new TicketNoteError(
          'connectwise',
          `"${shortText(note.ticketRef)}" is not a ConnectWise ticket number`,
          { retryable: false },
        );
      }
      await ticketHttp({
        system: 'connectwise',
        method: 'POST',
        url: `${base}/service/tickets/${id}/notes`,
        headers: {
          authorization,
          clientId: o.clientId,
          accept: CONNECTWISE_ACCEPT,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          text: renderTicketNote(note),
          detailDescriptionFlag: false,
          internalAnalysisFlag: true,
          resolutionFlag: false,
        }),
        what: `ticket ${id}`,
        signal,
        timeoutMs: o.timeoutMs ?? DEFAULT_TICKET_TIMEOUT_MS,
        fetch: doFetch,
        errorText: connectWiseErrorText,
      });
    },
  };
}
