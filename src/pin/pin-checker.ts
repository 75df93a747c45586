/**
 * The PinChecker the PIN flow asks (src/flow/ports.ts), for both PIN sources of the settings:
 *
 * - `database`: the contact's argon2id hash in pinverify (src/pin/pin-hasher.ts). An unknown
 *   caller's PIN is checked against a dummy hash, so the answer takes as long either way.
 * - `webhook`: the customer's CRM keeps the PINs (as 1Stream's and Hipcall's users do).
 *   pinverify POSTs `{caller, pin, route}` signed per Standard Webhooks (webhook-id,
 *   webhook-timestamp, webhook-signature; the maintained `standardwebhooks` library), within
 *   pinWebhookTimeoutMs, and takes `{"match": true|false, "contactId"?}` back. A timeout, an
 *   HTTP error or any other answer rejects: never a match.
 */
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import type { Contact } from '../domain';
import type {
  FlowLogger,
  PinCheckAnswer,
  PinChecker,
  PinCheckRequest,
  PinSourceSettings,
} from '../flow/ports';
import { maskPhone } from '../log/mask';
import type { PinHasher } from './pin-hasher';
import type { PinStore } from './pin-store';

export interface PinCheckerDeps {
  store: PinStore;
  hasher: PinHasher;
  /** PINVERIFY_PIN_WEBHOOK_SECRET ("whsec_..."); needed only for the webhook source. */
  webhookSecret?: string;
  log: FlowLogger;
  fetch?: typeof fetch;
  now?(): Date;
}

/** What a CRM answers. Extra fields are ignored; contactId is pinverify's contact id, if it keeps it. */
export const pinWebhookAnswerSchema = z.object({
  match: z.boolean(),
  contactId: z
    .union([
      z.number().int().positive(),
      z
        .string()
        .regex(/^[1-9][0-9]{0,9}$/)
        .transform(Number),
    ])
    .nullish(),
});

/** A webhook PIN check failed; the message names the problem and never holds the PIN. */
export class PinWebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PinWebhookError';
  }
}

export function createPinChecker(deps: PinCheckerDeps): PinChecker {
  const signer = deps.webhookSecret ? new Webhook(deps.webhookSecret) : null;
  const doFetch = deps.fetch ?? fetch;

  async function viaDatabase(req: PinCheckRequest): Promise<PinCheckAnswer> {
    const record = req.contact ? await deps.store.get(req.contact.id) : null;
    const match = await deps.hasher.verify(record?.hash ?? null, req.pin);
    if (match && record && deps.hasher.needsRehash(record.hash)) {
      // Parameters were raised since this PIN was set: upgrade it now that we know it.
      void deps.hasher
        .hash(req.pin)
        .then((hash) => deps.store.rehash(record.contactId, record.hash, hash))
        .catch((err: unknown) =>
          deps.log.warn('re-hashing a PIN failed', { contactId: record.contactId, problem: String(err) }),
        );
    }
    return { match, contactId: req.contact?.id ?? null };
  }

  async function viaWebhook(
    req: PinCheckRequest,
    s: PinSourceSettings,
    signal: AbortSignal,
  ): Promise<PinCheckAnswer> {
    if (!signer)
      throw new PinWebhookError('pinSource is webhook but PINVERIFY_PIN_WEBHOOK_SECRET is not set');
    if (!s.pinWebhookUrl) throw new PinWebhookError('pinSource is webhook but pinWebhookUrl is empty');
    const payload = JSON.stringify({ caller: req.caller, pin: req.pin, route: req.route });
    const id = `msg_${randomUUID()}`;
    const at = deps.now?.() ?? new Date();
    const started = Date.now();
    const host = new URL(s.pinWebhookUrl).host;
    const late = () =>
      new PinWebhookError(`the PIN webhook at ${host} did not answer within ${s.pinWebhookTimeoutMs} ms`);
    // A timer of our own rather than AbortSignal.any([..., AbortSignal.timeout()]): on Node 20
    // the combined signal can lose its timeout to a garbage collection (nodejs/node#55428), and
    // a silent CRM would then hold the caller until the flow's own deadline.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), s.pinWebhookTimeoutMs);
    const onCallerAbort = () => controller.abort();
    signal.addEventListener('abort', onCallerAbort, { once: true });
    let status: number;
    let text: string;
    try {
      const res = await doFetch(s.pinWebhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signer.sign(id, at, payload),
        },
        body: payload,
        redirect: 'error',
        signal: controller.signal,
      });
      status = res.status;
      // The body is read under the same deadline: a CRM that stalls mid-answer is late, not wrong.
      text = await res.text();
    } catch (err) {
      if (controller.signal.aborted) throw late();
      const e = err as { cause?: { code?: string } };
      throw new PinWebhookError(
        `the PIN webhook at ${host} could not be reached${e.cause?.code ? ` (${e.cause.code})` : ''}`,
      );
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onCallerAbort);
    }
    const ms = Date.now() - started;
    deps.log.info('PIN webhook answered', {
      host,
      webhookId: id,
      caller: req.caller ? maskPhone(req.caller) : null,
      route: req.route,
      status,
      ms,
    });
    if (status < 200 || status > 299)
      throw new PinWebhookError(`the PIN webhook at ${host} answered HTTP ${status}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new PinWebhookError(`the PIN webhook at ${host} answered something other than JSON`);
    }
    const parsed = pinWebhookAnswerSchema.safeParse(body);
    if (!parsed.success)
      throw new PinWebhookError(
        `the PIN webhook at ${host} answered without a boolean "match" (expected {"match": true|false, "contactId"?})`,
      );
    return { match: parsed.data.match, contactId: parsed.data.contactId ?? req.contact?.id ?? null };
  }

  return {
    async hasPin(contact: Contact, s: PinSourceSettings) {
      if (s.pinSource === 'webhook') return null;
      return (await deps.store.get(contact.id)) !== null;
    },
    check(req, s, signal) {
      return s.pinSource === 'webhook' ? viaWebhook(req, s, signal) : viaDatabase(req);
    },
  };
}
