/**
 * Shared by the webhook integration tests: verifications written as the verification store
 * writes them, dispatchers on a queue of their own (pg-boss jobs of another test file must not
 * be worked here), the lab webhook sink.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  LAB_WEBHOOK_SECRET,
  startWebhookSink,
  type SinkDelivery,
  type WebhookSink,
} from '../../../src/lab/webhook-sink';
import { createWebhookAdmin } from '../../../src/webhooks/webhook-admin';
import {
  startWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../../../src/webhooks/webhook-dispatcher';
import { recordingLogger } from '../helpers';

export function newVerificationId(): string {
  return `VE${randomBytes(16).toString('hex')}`;
}

/** A pending SMS verification, as pg-verification-store inserts one. */
export async function insertVerification(
  db: Pick<Pool, 'query'>,
  o: { id?: string; status?: string; callId?: string | null } = {},
): Promise<string> {
  const id = o.id ?? newVerificationId();
  const status = o.status ?? 'pending';
  await db.query(
    `INSERT INTO verifications (id, contact_id, channel, destination, destination_masked, origin, call_id,
                                status, code_hash, code_length, created_at, expires_at, max_sends, max_checks)
     VALUES ($1, 42, 'sms', '+12025550101', '+1202***0101', 'api', $2, $3, $4, 6, now(),
             now() + interval '5 minutes', 5, 3)`,
    [id, o.callId ?? null, status, status === 'pending' ? 'hmac-of-the-code' : null],
  );
  return id;
}

export async function setStatus(db: Pick<Pool, 'query'>, id: string, status: string): Promise<void> {
  await db.query(
    `UPDATE verifications SET status = $2, code_hash = NULL, decided_at = now(),
            failure_reason = CASE WHEN $2 = 'failed' THEN 'delivery_failed' END
      WHERE id = $1`,
    [id, status],
  );
}

export interface EventRow {
  seq: number;
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export async function allEvents(pool: Pool): Promise<EventRow[]> {
  const { rows } = await pool.query<EventRow>(
    'SELECT seq::int AS seq, id, type, data FROM events ORDER BY seq',
  );
  return rows;
}

/** Events queued for an endpoint, in seq order. */
export async function eventIdsFor(pool: Pool, endpointId: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT e.id FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
      WHERE d.endpoint_id = $1 ORDER BY d.event_seq`,
    [endpointId],
  );
  return rows.map((r) => r.id);
}

export async function deliveryRows(pool: Pool, endpointId: number) {
  const { rows } = await pool.query<{
    eventId: string;
    status: string;
    attempts: number;
    lastStatus: number | null;
    lastError: string | null;
  }>(
    `SELECT e.id AS "eventId", d.status, d.attempts, d.last_status AS "lastStatus", d.last_error AS "lastError"
       FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
      WHERE d.endpoint_id = $1 ORDER BY d.event_seq`,
    [endpointId],
  );
  return rows;
}

/** Empties what the triggers and the dispatcher wrote, endpoints included. */
export async function clearWebhookTables(pool: Pool): Promise<void> {
  await pool.query(
    'TRUNCATE webhook_deliveries, events, webhook_endpoints, verifications, calls, call_events RESTART IDENTITY',
  );
}

/** Subscribes a sink (with its secret) through the admin module the CLI uses. */
export async function subscribe(pool: Pool, sink: WebhookSink, events: string[] = []): Promise<number> {
  const admin = createWebhookAdmin({ pool, actor: 'cli:webhook-test' });
  const e = await admin.add(sink.url, { events, secret: LAB_WEBHOOK_SECRET });
  return e.id;
}

export async function startSink(): Promise<WebhookSink> {
  return startWebhookSink({ host: '127.0.0.1', port: 0, secret: LAB_WEBHOOK_SECRET });
}

/** Asks the sink over its HTTP API to fail the next `count` deliveries with `status`. */
export async function failNext(sink: WebhookSink, count: number, status = 503): Promise<void> {
  const res = await fetch(`${sink.url}fail?count=${count}&status=${status}`, { method: 'POST' });
  expect(res.status).toBe(200);
}

export async function sinkDeliveries(sink: WebhookSink): Promise<SinkDelivery[]> {
  const res = await fetch(`${sink.url}deliveries`);
  return (await res.json()) as SinkDelivery[];
}

/** Dispatchers for one test: a queue name of their own; all stopped by stopAll(). */
export function dispatchers(pool: Pool) {
  const queue = `pinverify-webhook-drain-test-${randomUUID().slice(0, 8)}`;
  const started: WebhookDispatcher[] = [];
  const log = recordingLogger();
  return {
    queue,
    log,
    async start(o: Partial<WebhookDispatcherOptions> = {}): Promise<WebhookDispatcher> {
      const d = await startWebhookDispatcher({
        pool,
        log,
        queue,
        sweepIntervalMs: 500,
        pollingIntervalSeconds: 0.5,
        ...o,
      });
      started.push(d);
      return d;
    },
    async stopAll(): Promise<void> {
      await Promise.all(started.splice(0).map((d) => d.stop()));
    },
  };
}
