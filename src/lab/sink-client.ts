/**
 * A typed client for the sink HTTP API (src/lab/twilio-sink.ts), for end-to-end tests and the
 * CLI: "wait until the code for this address arrives, then read it out".
 */
import type { Faults, SinkMessage } from './sink-store';

export type { Faults, FaultMode, SinkMessage } from './sink-store';

export interface SinkClient {
  /** Oldest first; only those to `to` when given. */
  listMessages(to?: string): Promise<SinkMessage[]>;
  /**
   * The first message to `to` with an id above `afterId` (0: any, including ones already there).
   * Rejects when none arrives within timeoutMs.
   */
  waitForMessage(to: string, afterId: number, timeoutMs: number): Promise<SinkMessage>;
  clear(): Promise<void>;
  setFaults(faults: Partial<Faults>): Promise<Faults>;
}

export function createSinkClient(baseUrl: string): SinkClient {
  const base = baseUrl.replace(/\/+$/, '');

  async function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (res.status >= 400) {
      throw new Error(`sink ${method} ${path} answered ${res.status}: ${await res.text()}`);
    }
    return res;
  }

  return {
    async listMessages(to) {
      const query = to === undefined ? '' : `?to=${encodeURIComponent(to)}`;
      return (await (await call('GET', `/messages${query}`)).json()) as SinkMessage[];
    },
    async waitForMessage(to, afterId, timeoutMs) {
      const query = new URLSearchParams({ to, after: String(afterId), timeoutMs: String(timeoutMs) });
      // The server bounds the wait itself; this is only a guard against a sink that stopped answering.
      const res = await call(
        'GET',
        `/messages/wait?${query.toString()}`,
        undefined,
        AbortSignal.timeout(timeoutMs + 5_000),
      );
      if (res.status === 204)
        throw new Error(`no message to ${to} after id ${afterId} within ${timeoutMs} ms`);
      return (await res.json()) as SinkMessage;
    },
    async clear() {
      await call('DELETE', '/messages');
    },
    async setFaults(faults) {
      return (await (await call('POST', '/faults', faults)).json()) as Faults;
    },
  };
}

/**
 * The verification code in a message body: the first run of exactly `length` digits when the
 * length is known, else the longest run of 4 to 10 digits (the range codeLength allows). Digit
 * groups like "123 456" are not codes pinverify sends, so they are not joined. Returns null when
 * there is none.
 */
export function extractCode(body: string, length?: number): string | null {
  const runs = body.match(/(?<!\d)\d+(?!\d)/g) ?? [];
  if (length !== undefined) return runs.find((r) => r.length === length) ?? null;
  const candidates = runs.filter((r) => r.length >= 4 && r.length <= 10);
  return candidates.reduce<string | null>(
    (best, r) => (best === null || r.length > best.length ? r : best),
    null,
  );
}
