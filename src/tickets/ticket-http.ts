/**
 * The one HTTP exchange every connector makes: a JSON request under a deadline, answered 2xx or
 * turned into a TicketNoteError whose message names the system, the status and the product's own
 * error text. URLs are reported by host only; headers (credentials) never appear in a message.
 */
import { isRetryableStatus, SYSTEM_LABELS, TicketNoteError, type TicketSystem } from './ticket-connector';

export const DEFAULT_TICKET_TIMEOUT_MS = 15_000;
const MAX_ERROR_TEXT = 300;

export interface TicketHttpRequest {
  system: TicketSystem;
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: string;
  /** "ticket 12345", for messages. */
  what: string;
  signal: AbortSignal;
  timeoutMs: number;
  fetch: typeof fetch;
  /** The product's error text from an error answer's body ('' when there is none). */
  errorText(body: string): string;
}

export interface TicketHttpAnswer {
  status: number;
  body: string;
}

/** Trims a product's error text to one short line. */
export function shortText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > MAX_ERROR_TEXT ? `${line.slice(0, MAX_ERROR_TEXT)}…` : line;
}

/** Parses JSON, or undefined. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export async function ticketHttp(r: TicketHttpRequest): Promise<TicketHttpAnswer> {
  const label = SYSTEM_LABELS[r.system];
  const host = new URL(r.url).host;
  if (r.signal.aborted) {
    throw new TicketNoteError(r.system, `the note for ${r.what} was not sent: stopped before sending`, {
      retryable: true,
    });
  }
  // A timer of our own rather than AbortSignal.any([..., AbortSignal.timeout()]): on Node 20 the
  // combined signal can lose its timeout to a garbage collection (nodejs/node#55428).
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, r.timeoutMs);
  const onAbort = () => controller.abort();
  r.signal.addEventListener('abort', onAbort, { once: true });
  let status: number;
  let body: string;
  let location: string | null;
  try {
    const res = await r.fetch(r.url, {
      method: r.method,
      headers: r.headers,
      body: r.body,
      // A redirect is a wrong URL (http for https, an old host): report it rather than follow it
      // and resend credentials somewhere else.
      redirect: 'manual',
      signal: controller.signal,
    });
    status = res.status;
    location = res.headers.get('location');
    body = await res.text();
  } catch (err) {
    if (timedOut) {
      throw new TicketNoteError(r.system, `${label} (${host}) did not answer within ${r.timeoutMs} ms`, {
        retryable: true,
      });
    }
    if (controller.signal.aborted) {
      throw new TicketNoteError(r.system, `the note for ${r.what} was interrupted (shutting down)`, {
        retryable: true,
      });
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    throw new TicketNoteError(r.system, `${label} could not be reached at ${host}: ${shortText(why)}`, {
      retryable: true,
    });
  } finally {
    clearTimeout(timer);
    r.signal.removeEventListener('abort', onAbort);
  }
  if (status >= 200 && status < 300) return { status, body };
  if (status >= 300 && status < 400) {
    const to = location ? ` to ${safeLocation(location, r.url)}` : '';
    throw new TicketNoteError(
      r.system,
      `${label} answered HTTP ${status} (a redirect${to}) for ${r.what}: check the URL in the configuration`,
      { retryable: false, status },
    );
  }
  const text = r.errorText(body);
  throw new TicketNoteError(
    r.system,
    `${label} refused the note for ${r.what}: HTTP ${status}${text ? ` ${text}` : ''}`,
    { retryable: isRetryableStatus(status), status },
  );
}

/** A redirect target by origin and path only (no user info, no query). */
function safeLocation(location: string, base: string): string {
  try {
    const u = new URL(location, base);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'an invalid location';
  }
}

export function basicAuthorization(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
}

/** The base URL without a trailing slash. */
export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
