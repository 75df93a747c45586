/**
 * Webhook endpoints for the CLI (`pinverify webhooks ...`): add, list, remove, enable, disable,
 * test. Changes are recorded in config_changes like every ops write (never the secret).
 * Delivering is the app's job (webhook-dispatcher.ts); `test` only queues an event and watches
 * what the running app makes of it.
 */
import type { Pool } from 'pg';
import { recordConfigChange } from '../ops/config-change-log';
import { invalid, notFound, OpsError } from '../ops/ops-error';
import { withTransaction } from '../store/db';
import { generateWebhookSecret } from './sign-webhook';
import { isWebhookEventType, WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT } from './webhook-events';
import { WEBHOOK_CHANNEL } from './webhook-notification-listener';

export interface WebhookAdminDeps {
  pool: Pool;
  /** "cli:<user>"; recorded with every change. */
  actor: string;
}

export interface WebhookEndpointInfo {
  id: number;
  url: string;
  description: string | null;
  /** Empty: every event type. */
  events: string[];
  enabled: boolean;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
  /** Deliveries waiting (a disabled endpoint's included: enabling it sends them). */
  pending: number;
  /** The last attempt at this endpoint, if any. */
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
}

export interface WebhookTestResult {
  endpointId: number;
  eventId: string;
  /**
   * delivered (2xx); failed (answered otherwise or not at all); blocked (an older event, sent
   * first to keep the order, failed again); pending (nothing happened by the deadline: is the
   * app running?).
   */
  outcome: 'delivered' | 'failed' | 'blocked' | 'pending';
  status: number | null;
  error: string | null;
  /** Older deliveries of this endpoint still waiting ahead of the test. */
  ahead: number;
  /** The oldest of them and its last failure, when the test is blocked or pending behind it. */
  blockedBy: { eventId: string; status: number | null; error: string | null } | null;
  ms: number;
}

/** Hosts plain http is allowed to (the lab sink, a receiver on the same machine). */
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Validates an endpoint URL: https, or http to this machine only; no credentials in it. */
export function checkWebhookUrl(input: string): string {
  const text = input.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid([{ field: 'url', message: 'not a URL (expected https://host/path)' }]);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalid([{ field: 'url', message: 'must be an https:// URL' }]);
  if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname))
    throw invalid([
      {
        field: 'url',
        message: 'must be https:// (plain http:// only to 127.0.0.1, localhost or ::1)',
      },
    ]);
  if (url.username || url.password)
    throw invalid([
      { field: 'url', message: 'must not contain a user name or password (the signature authenticates)' },
    ]);
  return url.toString();
}

/** Validates a secret given by the operator: whsec_ + base64 of 24 to 64 bytes. */
export function checkWebhookSecret(input: string): string {
  const text = input.trim();
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(text);
  const bytes = m?.[1] ? Buffer.from(m[1], 'base64').length : 0;
  if (bytes < 24 || bytes > 64)
    throw invalid([{ field: 'secret', message: 'expected whsec_ followed by base64 of 24 to 64 bytes' }]);
  return text;
}

/** Validates event types (comma-separated lists allowed); empty means every type. */
export function checkWebhookEventTypes(input: readonly string[]): string[] {
  const types = [
    ...new Set(
      input
        .flatMap((t) => t.split(','))
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = types.filter((t) => !isWebhookEventType(t));
  if (unknown.length > 0)
    throw invalid([
      {
        field: 'events',
        message: `unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${WEBHOOK_EVENT_TYPES.join(', ')})`,
      },
    ]);
  return types;
}

const INFO = `
  e.id, e.url, e.description, e.event_types AS events, e.enabled, e.disabled_at AS "disabledAt",
  e.disabled_reason AS "disabledReason", e.created_at AS "createdAt",
  (SELECT count(*)::int FROM webhook_deliveries d
    WHERE d.endpoint_id = e.id AND d.status = 'pending') AS pending,
  l.last_attempt_at AS "lastAttemptAt", l.last_status AS "lastStatus", l.last_error AS "lastError"
  FROM webhook_endpoints e
  LEFT JOIN LATERAL (
    SELECT d.last_attempt_at, d.last_status, d.last_error FROM webhook_deliveries d
     WHERE d.endpoint_id = e.id AND d.last_attempt_at IS NOT NULL
     ORDER BY d.last_attempt_at DESC LIMIT 1
  ) l ON true`;

export function createWebhookAdmin(deps: WebhookAdminDeps) {
  const { pool } = deps;

  function parseId(ref: string): number {
    const text = ref.trim();
    if (!/^[1-9][0-9]{0,9}$/.test(text))
      throw invalid([{ field: 'id', message: 'expected an endpoint id (see pinverify webhooks list)' }]);
    return Number(text);
  }

  async function get(id: number): Promise<WebhookEndpointInfo> {
    const { rows } = await pool.query<WebhookEndpointInfo>(`SELECT ${INFO} WHERE e.id = $1`, [id]);
    const row = rows[0];
    if (!row) throw notFound(`no webhook endpoint ${id}`);
    return row;
  }

  return {
    /**
     * Adds an endpoint with a new secret (or the one given); the returned `secret` is shown once
     * (the receiver verifies with it).
     */
    async add(
      urlInput: string,
      o: { events?: readonly string[]; description?: string; secret?: string } = {},
    ): Promise<WebhookEndpointInfo & { secret: string }> {
      const url = checkWebhookUrl(urlInput);
      const events = checkWebhookEventTypes(o.events ?? []);
      const description = o.description?.trim() || null;
      // A given secret is for the lab sink, or a receiver moved from another sender.
      const secret = o.secret !== undefined ? checkWebhookSecret(o.secret) : generateWebhookSecret();
      const id = await withTransaction(pool, async (db) => {
        const { rows } = await db.query<{ id: number }>(
          `INSERT INTO webhook_endpoints (url, description, event_types, secret)
           VALUES ($1, $2, $3::text[], $4) RETURNING id`,
          [url, description, events, secret],
        );
        const newId = (rows[0] as { id: number }).id;
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'webhook.add',
          subject: String(newId),
          detail: { url, events, description },
        });
        return newId;
      });
      return { ...(await get(id)), secret };
    },

    async list(): Promise<WebhookEndpointInfo[]> {
      const { rows } = await pool.query<WebhookEndpointInfo>(`SELECT ${INFO} ORDER BY e.id`);
      return rows;
    },

    async get(ref: string): Promise<WebhookEndpointInfo> {
      return get(parseId(ref));
    },

    /** Removes an endpoint and its queued deliveries. */
    async remove(ref: string): Promise<WebhookEndpointInfo> {
      const endpoint = await get(parseId(ref));
      await withTransaction(pool, async (db) => {
        await db.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpoint.id]);
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'webhook.remove',
          subject: String(endpoint.id),
          detail: { url: endpoint.url, pending: endpoint.pending },
        });
      });
      return endpoint;
    },

    /**
     * Enables an endpoint (a disabled one, or one the operator paused) and sends its pending
     * deliveries now, oldest first, instead of at their scheduled retry.
     */
    async enable(ref: string): Promise<WebhookEndpointInfo> {
      const id = parseId(ref);
      await get(id);
      await withTransaction(pool, async (db) => {
        await db.query(
          `UPDATE webhook_endpoints SET enabled = true, disabled_at = NULL, disabled_reason = NULL
            WHERE id = $1`,
          [id],
        );
        await db.query(
          `UPDATE webhook_deliveries SET next_attempt_at = now()
            WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at > now()`,
          [id],
        );
        await db.query('SELECT pg_notify($1, $2)', [WEBHOOK_CHANNEL, String(id)]);
        await recordConfigChange(db, { actor: deps.actor, action: 'webhook.enable', subject: String(id) });
      });
      return get(id);
    },

    /** Pauses an endpoint: nothing is sent, and events meanwhile are not queued for it. */
    async disable(ref: string): Promise<WebhookEndpointInfo> {
      const id = parseId(ref);
      await get(id);
      await withTransaction(pool, async (db) => {
        await db.query(
          `UPDATE webhook_endpoints
              SET enabled = false, disabled_at = COALESCE(disabled_at, now()),
                  disabled_reason = COALESCE(disabled_reason, $2)
            WHERE id = $1`,
          [id, `disabled by ${deps.actor}`],
        );
        await recordConfigChange(db, { actor: deps.actor, action: 'webhook.disable', subject: String(id) });
      });
      return get(id);
    },

    /**
     * Sends a webhook.test event to this endpoint only, after whatever it has pending (which is
     * tried now, not at its scheduled retry: order is kept), and waits up to `timeoutMs` for the
     * running app to deliver it.
     */
    async test(ref: string, o: { timeoutMs?: number; pollMs?: number } = {}): Promise<WebhookTestResult> {
      const id = parseId(ref);
      const endpoint = await get(id);
      if (!endpoint.enabled)
        throw new OpsError(
          'conflict',
          `webhook endpoint ${id} is disabled (${endpoint.disabledReason ?? 'no reason recorded'}); enable it first: pinverify webhooks enable ${id}`,
        );
      const started = Date.now();
      const event = await withTransaction(pool, async (db) => {
        const { rows } = await db.query<{ seq: string; id: string }>(
          `INSERT INTO events (type, data) VALUES ($1, $2::jsonb) RETURNING seq, id`,
          [
            WEBHOOK_TEST_EVENT,
            JSON.stringify({ endpointId: id, message: 'a test event from pinverify webhooks test' }),
          ],
        );
        const e = rows[0] as { seq: string; id: string };
        // Attempts made so far of each older pending delivery (read before the dispatchers are
        // told): one that goes up while we wait failed during the test.
        const older = await db.query<{ seq: string; attempts: number }>(
          `SELECT event_seq AS seq, attempts FROM webhook_deliveries
            WHERE endpoint_id = $1 AND status = 'pending' AND event_seq < $2`,
          [id, e.seq],
        );
        await db.query(
          `UPDATE webhook_deliveries SET next_attempt_at = now()
            WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at > now()`,
          [id],
        );
        await db.query('INSERT INTO webhook_deliveries (endpoint_id, event_seq) VALUES ($1, $2)', [
          id,
          e.seq,
        ]);
        await db.query('SELECT pg_notify($1, $2)', [WEBHOOK_CHANNEL, String(id)]);
        return { ...e, before: new Map(older.rows.map((r) => [r.seq, r.attempts])) };
      });
      const before = event.before;
      const deadline = started + (o.timeoutMs ?? 15_000);
      for (;;) {
        const { rows } = await pool.query<{
          status: string;
          lastStatus: number | null;
          lastError: string | null;
          ahead: number;
        }>(
          `SELECT d.status, d.last_status AS "lastStatus", d.last_error AS "lastError",
                  (SELECT count(*)::int FROM webhook_deliveries a
                    WHERE a.endpoint_id = d.endpoint_id AND a.status = 'pending'
                      AND a.event_seq < d.event_seq) AS ahead
             FROM webhook_deliveries d WHERE d.endpoint_id = $1 AND d.event_seq = $2`,
          [id, event.seq],
        );
        const row = rows[0];
        // Removed meanwhile (its deliveries went with it).
        if (!row) throw notFound(`webhook endpoint ${id} was removed during the test`);
        const base = { endpointId: id, eventId: event.id, ahead: row.ahead, ms: Date.now() - started };
        if (row.status === 'delivered' || row.status === 'failed')
          return {
            ...base,
            outcome: row.status,
            status: row.lastStatus,
            error: row.lastError,
            blockedBy: null,
          };
        // An older event was tried again for this test and failed: the test waits behind it.
        const blocked = await pool.query<{
          seq: string;
          attempts: number;
          eventId: string;
          status: number | null;
          error: string | null;
        }>(
          `SELECT d.event_seq AS seq, d.attempts, e.id AS "eventId", d.last_status AS status, d.last_error AS error
             FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
            WHERE d.endpoint_id = $1 AND d.status = 'pending' AND d.event_seq < $2
            ORDER BY d.event_seq LIMIT 1`,
          [id, event.seq],
        );
        const oldest = blocked.rows[0];
        const head = oldest ? { eventId: oldest.eventId, status: oldest.status, error: oldest.error } : null;
        const headFailedNow = oldest !== undefined && oldest.attempts > (before.get(oldest.seq) ?? 0);
        if (headFailedNow || Date.now() >= deadline)
          return {
            ...base,
            outcome: headFailedNow ? 'blocked' : 'pending',
            status: null,
            error: null,
            blockedBy: head,
          };
        await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 250));
      }
    },
  };
}

export type WebhookAdmin = ReturnType<typeof createWebhookAdmin>;

/** Deletes events older than `retentionDays` that no endpoint still waits for. For housekeeping. */
export async function pruneWebhookEvents(pool: Pool, retentionDays: number): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM events e
      WHERE e.occurred_at < now() - make_interval(days => $1)
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                         WHERE d.event_seq = e.seq AND d.status = 'pending')`,
    [retentionDays],
  );
  return rowCount ?? 0;
}
