/**
 * Delivers the webhook deliveries that migration 016's triggers queue, from every app instance
 * at once, without losing one on a restart and without reordering one endpoint's events.
 *
 * - Work is a pg-boss job per endpoint, `drain {endpointId}` (queue pinverify-webhook-drain):
 *   any instance may run it, and a job outlives the instance that sent it. The queue's policy
 *   is `short`: at most one drain per endpoint waits in the queue, so a burst of events makes
 *   one job, not one per event.
 * - Jobs are sent when the fan-out trigger NOTIFYs the endpoint (LISTEN on a connection of its
 *   own), and by a sweep every 15 s for endpoints whose oldest pending delivery is due (a
 *   notification lost to a reconnect, an instance that died mid-drain, a retry job lost).
 * - A drain delivers head-of-line: the endpoint's oldest pending delivery, then the next, and
 *   stops at the first failure, which is retried on the schedule (retry-schedule.ts) by a job
 *   sent to start then. Nothing after it is sent meanwhile, so the endpoint sees its events in
 *   order. Order is seq order, which is commit order for events of the same verification or
 *   call (the row lock of the change orders them) and for any event created after another
 *   committed; events of unrelated transactions that overlapped may arrive in either order.
 * - Only one drain per endpoint runs at a time, across instances: it holds a lease on the
 *   endpoint row (drain_lease_until, in the database's clock), renewed before each delivery and
 *   released at the end. A crashed instance's lease runs out. A drain that finds the lease
 *   taken re-queues itself a second later, in case the holder was just finishing.
 * - An endpoint whose oldest event still fails when the disable rule says so
 *   (should-disable-endpoint.ts) is disabled, and the operator told by an error in the log.
 *
 * Delivery is at least once: a 2xx whose answer was lost is sent again, with the same
 * webhook-id, by which the receiver deduplicates.
 */
import { abandonBoss } from '../store/start-with-retry';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import PgBoss from 'pg-boss';
import type { Pool } from 'pg';
import type { FlowLogger } from '../flow/ports';
import { withTransaction } from '../store/db';
import { postWebhook, WEBHOOK_TIMEOUT_MS } from './post-webhook';
import { nextAttemptAt, RETRY_SCHEDULE_MS } from './retry-schedule';
import { DISABLE_AFTER_MS, shouldDisableEndpoint } from './should-disable-endpoint';
import { signWebhook } from './sign-webhook';
import { WEBHOOK_TEST_EVENT, webhookPayload } from './webhook-events';
import { startWebhookNotificationListener } from './webhook-notification-listener';

export const WEBHOOK_DRAIN_QUEUE = 'pinverify-webhook-drain';

export interface WebhookDispatcherOptions {
  pool: Pool;
  log: Pick<FlowLogger, 'warn' | 'error'>;
  /** The clock of delivery times and the retry schedule (tests inject one). */
  now?: () => Date;
  fetch?: typeof fetch;
  /** Retry delays (default RETRY_SCHEDULE_MS). */
  schedule?: readonly number[];
  /** How long the oldest event must have been failing before the endpoint is disabled. */
  disableAfterMs?: number;
  /** How often to look for due deliveries nobody was told about (default 15 s). */
  sweepIntervalMs?: number;
  /** Deadline of one POST (default 10 s). */
  timeoutMs?: number;
  /** pg-boss queue name (default pinverify-webhook-drain; tests use their own). */
  queue?: string;
  /** Drains this instance runs at once, for different endpoints (default 4). */
  concurrency?: number;
  /** How often an idle worker looks for jobs (pg-boss's minimum is 0.5 s). */
  pollingIntervalSeconds?: number;
  /** Lease on an endpoint, renewed per delivery (default 60 s; must exceed timeoutMs). */
  leaseMs?: number;
  /** A drain longer than this hands over to a new job (default 60 s), so one busy endpoint does
   *  not hold a worker for ever and pg-boss's job expiry is never reached. */
  maxDrainMs?: number;
}

export interface WebhookDispatcher {
  /** Sweeps now (tests; the app relies on the timer). */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

interface DrainJob {
  endpointId: number;
}

interface Head {
  seq: string;
  attempts: number;
  firstAttemptAt: Date | null;
  nextAttemptAt: Date;
  eventId: string;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

/** The URL without query string or credentials, for logs (a token in a query is a secret). */
export function describeWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export async function startWebhookDispatcher(o: WebhookDispatcherOptions): Promise<WebhookDispatcher> {
  const now = o.now ?? (() => new Date());
  const schedule = o.schedule ?? RETRY_SCHEDULE_MS;
  const disableAfterMs = o.disableAfterMs ?? DISABLE_AFTER_MS;
  const timeoutMs = o.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const leaseMs = o.leaseMs ?? 60_000;
  const maxDrainMs = o.maxDrainMs ?? 60_000;
  const queue = o.queue ?? WEBHOOK_DRAIN_QUEUE;
  if (leaseMs <= timeoutMs) throw new Error('webhook leaseMs must be longer than timeoutMs');
  const instance = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const { pool, log } = o;

  const boss = new PgBoss({
    db: { executeSql: (text, values) => pool.query(text, values) },
    schema: 'pgboss',
    supervise: true,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (err: Error) => log.warn('webhook queue problem', { problem: err.message }));
  await boss.start();
  // A start that fails half-way must not leave a running pg-boss behind (abandonBoss says why).
  const abandon = abandonBoss(boss);
  await boss
    .createQueue(queue, {
      name: queue,
      // One waiting drain per endpoint (singletonKey); any number may run, the lease decides.
      policy: 'short',
      // A drain that failed on a database error is tried again; the sweep would find it anyway.
      retryLimit: 2,
      retryDelay: 5,
      expireInSeconds: Math.ceil((maxDrainMs + leaseMs) / 1000) + 60,
    })
    .catch(abandon);

  let stopping = false;
  const running = new Set<Promise<void>>();

  /** Queues a drain of `endpointId`, `afterMs` from now. Duplicates are dropped by pg-boss. */
  async function queueDrain(endpointId: number, afterMs = 0, key = String(endpointId)): Promise<void> {
    await boss.send(queue, { endpointId } satisfies DrainJob, {
      singletonKey: key,
      ...(afterMs > 0 ? { startAfter: afterMs / 1000 } : {}),
    });
    // Our own workers take it now; polling (every 2 s) is for jobs sent by other instances and
    // for retries falling due.
    if (afterMs <= 0) for (const id of workerIds) boss.notifyWorker(id);
  }
  const workerIds: string[] = [];

  // Notifications coalesce per endpoint: while a send for it is on its way, more of them make
  // one more send, not one each.
  const sending = new Set<number>();
  const again = new Set<number>();
  function wake(endpointId: number): void {
    if (stopping) return;
    if (sending.has(endpointId)) {
      again.add(endpointId);
      return;
    }
    sending.add(endpointId);
    queueDrain(endpointId)
      .catch((err: unknown) =>
        log.warn('could not queue a webhook drain', { endpointId, problem: errorText(err) }),
      )
      .finally(() => {
        sending.delete(endpointId);
        if (again.delete(endpointId)) wake(endpointId);
      });
  }

  async function sweep(): Promise<void> {
    const { rows } = await pool.query<{ id: number }>(
      `SELECT e.id FROM webhook_endpoints e
        WHERE e.enabled
          AND (e.drain_lease_until IS NULL OR e.drain_lease_until < now())
          AND (SELECT d.next_attempt_at FROM webhook_deliveries d
                WHERE d.endpoint_id = e.id AND d.status = 'pending'
                ORDER BY d.event_seq LIMIT 1) <= $1`,
      [now()],
    );
    for (const r of rows) wake(r.id);
  }

  async function takeLease(
    endpointId: number,
    token: string,
  ): Promise<{ url: string; secret: string } | null> {
    const { rows } = await pool.query<{ url: string; secret: string }>(
      `UPDATE webhook_endpoints
          SET drain_lease_until = now() + $3 * interval '1 millisecond', drain_lease_owner = $2
        WHERE id = $1 AND enabled
          AND (drain_lease_until IS NULL OR drain_lease_until < now() OR drain_lease_owner = $2)
        RETURNING url, secret`,
      [endpointId, token, leaseMs],
    );
    return rows[0] ?? null;
  }

  async function releaseLease(endpointId: number, token: string): Promise<void> {
    await pool.query(
      `UPDATE webhook_endpoints SET drain_lease_until = NULL, drain_lease_owner = NULL
        WHERE id = $1 AND drain_lease_owner = $2`,
      [endpointId, token],
    );
  }

  async function head(endpointId: number): Promise<Head | null> {
    const { rows } = await pool.query<Head>(
      `SELECT d.event_seq AS seq, d.attempts, d.first_attempt_at AS "firstAttemptAt",
              d.next_attempt_at AS "nextAttemptAt", e.id AS "eventId", e.type,
              e.occurred_at AS "occurredAt", e.data
         FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
        WHERE d.endpoint_id = $1 AND d.status = 'pending'
        ORDER BY d.event_seq LIMIT 1`,
      [endpointId],
    );
    return rows[0] ?? null;
  }

  /** Delivers what is due for one endpoint, oldest first, until done or a failure. */
  async function drain(endpointId: number): Promise<void> {
    const token = `${instance}:${randomUUID()}`;
    const started = Date.now();
    let endpoint = await takeLease(endpointId, token);
    if (!endpoint) {
      const { rows } = await pool.query<{ enabled: boolean }>(
        'SELECT enabled FROM webhook_endpoints WHERE id = $1',
        [endpointId],
      );
      // Another instance is draining it: look again shortly, in case it was just finishing.
      if (rows[0]?.enabled) await queueDrain(endpointId, 1000);
      return;
    }
    try {
      for (;;) {
        if (stopping) return;
        if (Date.now() - started > maxDrainMs) {
          await queueDrain(endpointId);
          return;
        }
        const next = await head(endpointId);
        if (!next) return;
        const at = now();
        if (next.nextAttemptAt.getTime() > at.getTime()) {
          await queueDrain(
            endpointId,
            next.nextAttemptAt.getTime() - at.getTime(),
            retryKey(endpointId, next),
          );
          return;
        }
        const delivered = await attempt(endpointId, endpoint, next);
        if (!delivered) return;
        // Renewed per delivery; a lost lease (an operator disabled the endpoint) ends the drain.
        endpoint = await takeLease(endpointId, token);
        if (!endpoint) return;
      }
    } finally {
      await releaseLease(endpointId, token).catch((err: unknown) =>
        log.warn('could not release a webhook lease (it runs out by itself)', {
          endpointId,
          problem: errorText(err),
        }),
      );
    }
  }

  /** One POST of the head delivery and its bookkeeping; whether the drain may go on. */
  async function attempt(
    endpointId: number,
    endpoint: { url: string; secret: string },
    d: Head,
  ): Promise<boolean> {
    const body = JSON.stringify(
      webhookPayload({ id: d.eventId, type: d.type, occurredAt: d.occurredAt, data: d.data }),
    );
    const result = await postWebhook({
      url: endpoint.url,
      // The wall clock, not `now`: the receiver checks webhook-timestamp against its own clock.
      headers: signWebhook({ secret: endpoint.secret, eventId: d.eventId, at: new Date(), body }),
      body,
      timeoutMs,
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
    const at = now();
    const attempts = d.attempts + 1;
    const firstAttemptAt = d.firstAttemptAt ?? at;
    const key = [endpointId, d.seq];
    if (result.ok) {
      await pool.query(
        `UPDATE webhook_deliveries
            SET status = 'delivered', attempts = $3, first_attempt_at = $4, last_attempt_at = $5,
                delivered_at = $5, last_status = $6, last_error = NULL
          WHERE endpoint_id = $1 AND event_seq = $2 AND status = 'pending'`,
        [...key, attempts, firstAttemptAt, at, result.status],
      );
      return true;
    }
    const where = describeWebhookUrl(endpoint.url);
    // A test is not retried: `webhooks test` reports it, and it must not hold real events back.
    if (d.type === WEBHOOK_TEST_EVENT) {
      await pool.query(
        `UPDATE webhook_deliveries
            SET status = 'failed', attempts = $3, first_attempt_at = $4, last_attempt_at = $5,
                last_status = $6, last_error = $7
          WHERE endpoint_id = $1 AND event_seq = $2 AND status = 'pending'`,
        [...key, attempts, firstAttemptAt, at, result.status, result.error],
      );
      log.warn('webhook test delivery failed', { endpointId, url: where, error: result.error });
      return true;
    }
    const retryAt = nextAttemptAt(attempts, at, schedule);
    const disable = shouldDisableEndpoint({
      attempts,
      failingSince: firstAttemptAt,
      now: at,
      schedule,
      disableAfterMs,
    });
    await withTransaction(pool, async (db) => {
      await db.query(
        `UPDATE webhook_deliveries
            SET attempts = $3, first_attempt_at = $4, last_attempt_at = $5, next_attempt_at = $6,
                last_status = $7, last_error = $8
          WHERE endpoint_id = $1 AND event_seq = $2 AND status = 'pending'`,
        [...key, attempts, firstAttemptAt, at, retryAt, result.status, result.error],
      );
      if (disable)
        await db.query(
          `UPDATE webhook_endpoints
              SET enabled = false, disabled_at = $2, disabled_reason = $3,
                  drain_lease_until = NULL, drain_lease_owner = NULL
            WHERE id = $1`,
          [
            endpointId,
            at,
            `${where} failed every attempt since ${firstAttemptAt.toISOString()} ` +
              `(${attempts} attempts of event ${d.eventId}; last: ${result.error})`,
          ],
        );
    });
    if (disable) {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`,
        [endpointId],
      );
      log.error('webhook endpoint disabled', {
        endpointId,
        url: where,
        failingSince: firstAttemptAt.toISOString(),
        attempts,
        eventId: d.eventId,
        lastStatus: result.status,
        lastError: result.error,
        pending: rows[0]?.n ?? null,
        fix: `fix the receiver, then: pinverify webhooks enable ${endpointId}`,
      });
      return false;
    }
    log.warn('webhook delivery failed, will retry', {
      endpointId,
      url: where,
      eventId: d.eventId,
      attempts,
      error: result.error,
      retryAt: retryAt.toISOString(),
    });
    await queueDrain(
      endpointId,
      retryAt.getTime() - at.getTime(),
      retryKey(endpointId, { nextAttemptAt: retryAt }),
    );
    return false;
  }

  for (let i = 0; i < (o.concurrency ?? 4); i++) {
    const workerId = await boss
      .work<DrainJob>(
        queue,
        { batchSize: 1, pollingIntervalSeconds: o.pollingIntervalSeconds ?? 2 },
        async ([job]) => {
          if (!job || stopping) return;
          const run = drain(job.data.endpointId).catch((err: unknown) => {
            log.warn('webhook drain failed', { endpointId: job.data.endpointId, problem: errorText(err) });
            throw err;
          });
          const tracked = run.catch(() => undefined);
          running.add(tracked);
          try {
            await run;
          } finally {
            running.delete(tracked);
          }
        },
      )
      .catch(abandon);
    workerIds.push(workerId);
  }

  const listener = startWebhookNotificationListener({
    pool,
    log,
    onEndpoint: wake,
    onReconnect: () => void sweep().catch(() => undefined),
  });
  await listener.ready;

  const sweepSafely = (): void => {
    if (stopping) return;
    sweep().catch((err: unknown) => log.warn('webhook sweep failed', { problem: errorText(err) }));
  };
  // Whatever was pending when the last instance stopped goes now.
  sweepSafely();
  const timer = setInterval(sweepSafely, o.sweepIntervalMs ?? 15_000);
  timer.unref();

  return {
    sweep,
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      await listener.close();
      // Drains end after the delivery in hand and release their leases; what is left stays
      // pending for the next instance.
      await Promise.all([...running]);
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 10_000 });
    },
  };
}

/** A retry's own singletonKey, so it never collides with (and is never dropped for) a drain
 *  queued to run now, e.g. after `webhooks enable`. */
function retryKey(endpointId: number, d: { nextAttemptAt: Date }): string {
  return `${endpointId}@${d.nextAttemptAt.toISOString()}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
