/**
 * The events a webhook endpoint can subscribe to, and the payload each is sent as.
 *
 * Events are written by triggers (migration 016) in the transaction of the change itself. The
 * payload follows Standard Webhooks: `{type, timestamp, data}`, with the event id in the
 * webhook-id header. `data` is thin: ids, statuses, a masked destination. The trigger already
 * builds it that way; webhookPayload keeps only the fields listed here as well, so a later change
 * to a trigger cannot start sending codes or full numbers without a change to this list too.
 */

export const WEBHOOK_EVENT_TYPES = [
  'verification.pending',
  'verification.approved',
  'verification.canceled',
  'verification.expired',
  'verification.max_attempts_reached',
  'verification.failed',
  'verification.completed',
  'verification.incomplete',
  'call.ended',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent by `pinverify webhooks test` to one endpoint; not subscribable. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export function isWebhookEventType(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}

const VERIFICATION_FIELDS = [
  'id',
  'status',
  'channel',
  'origin',
  'contactId',
  'callId',
  'destinationMasked',
  'failureReason',
  'agentOutcome',
  'agentOutcomeBy',
  'ticketRef',
] as const;

const CALL_FIELDS = [
  'callId',
  'result',
  'reason',
  'method',
  'contactId',
  'route',
  // A dialplan destination (2001@pinverify-destinations), not a phone number.
  'destination',
  'startedAt',
  'endedAt',
] as const;

const TEST_FIELDS = ['endpointId', 'message'] as const;

/** The data fields each kind of event may carry; anything else is dropped. */
export function allowedDataFields(type: string): readonly string[] {
  if (type.startsWith('verification.')) return VERIFICATION_FIELDS;
  if (type === 'call.ended') return CALL_FIELDS;
  if (type === WEBHOOK_TEST_EVENT) return TEST_FIELDS;
  return [];
}

export interface StoredEvent {
  /** evt_ + 32 hex: the webhook-id. */
  id: string;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export interface WebhookPayload {
  type: string;
  /** When it happened (ISO 8601), not when it was sent: retries carry the same value. */
  timestamp: string;
  data: Record<string, unknown>;
}

export function webhookPayload(event: StoredEvent): WebhookPayload {
  const data: Record<string, unknown> = {};
  for (const field of allowedDataFields(event.type))
    if (Object.prototype.hasOwnProperty.call(event.data, field)) data[field] = event.data[field];
  return { type: event.type, timestamp: event.occurredAt.toISOString(), data };
}
