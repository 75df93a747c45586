/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), with the maintained
 * `standardwebhooks` library, so receivers verify with any Standard Webhooks library: the
 * signature is HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>" with the endpoint's
 * secret. webhook-id is the event id (stable across retries, for deduplication); the timestamp
 * is the attempt's, so a retry a day later is not refused as a replay.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new endpoint secret: "whsec_" + base64 of 24 random bytes (192 bits), as Svix makes them. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export interface SignWebhookInput {
  secret: string;
  /** The event id (webhook-id). */
  eventId: string;
  /** The attempt's time (webhook-timestamp, whole seconds). */
  at: Date;
  /** The exact body that is sent. */
  body: string;
}

export const WEBHOOK_USER_AGENT = 'pinverify-webhooks';

/** The headers of one delivery attempt. */
export function signWebhook(i: SignWebhookInput): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    'webhook-id': i.eventId,
    'webhook-timestamp': String(Math.floor(i.at.getTime() / 1000)),
    'webhook-signature': new Webhook(i.secret).sign(i.eventId, i.at, i.body),
  };
}
