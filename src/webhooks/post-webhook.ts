/**
 * One delivery attempt: a POST that either got a 2xx within the deadline or did not. Any other
 * answer (3xx included: redirects are not followed, since a signed event must go only where the
 * operator said), a timeout or a connection error is a failure to retry.
 */

export const WEBHOOK_TIMEOUT_MS = 10_000;

export interface PostWebhookInput {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface PostWebhookResult {
  ok: boolean;
  /** The HTTP status; null when there was no answer. */
  status: number | null;
  /** Why it failed, for the operator (no body content: the receiver's answer is not ours to log). */
  error: string | null;
}

export async function postWebhook(i: PostWebhookInput): Promise<PostWebhookResult> {
  const timeoutMs = i.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  // A timer of our own rather than AbortSignal.timeout: on Node 20 such a signal can lose its
  // timeout to a garbage collection (nodejs/node#55428), as src/pin/pin-checker.ts explains.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await (i.fetch ?? fetch)(i.url, {
      method: 'POST',
      headers: i.headers,
      body: i.body,
      redirect: 'manual',
      signal: controller.signal,
    });
    // Read (and drop) the answer under the same deadline, so the connection can be reused. The
    // status decides: a 2xx whose body stalls was still accepted.
    await res.arrayBuffer().catch(() => undefined);
    const ok = res.status >= 200 && res.status <= 299;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}` };
  } catch (err) {
    if (controller.signal.aborted)
      return { ok: false, status: null, error: `timed out after ${timeoutMs} ms` };
    const e = err as { message?: string; cause?: { code?: string; message?: string } };
    const detail = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    return { ok: false, status: null, error: `could not connect (${detail})` };
  } finally {
    clearTimeout(timer);
  }
}
