/**
 * Housekeeping, run once per minute across all instances (scheduled-jobs.ts):
 * - pending verifications past their expiry become `expired` and lose their code hash;
 * - send records older than the longest send window (24 h, plus a day's margin) are deleted;
 * - verifications, failed-check records, calls and their events older than the retention
 *   setting are deleted; so are desk pops, agent actions and webhook events nobody waits for.
 */
import type { Pool } from 'pg';
import { systemClock, type Clock } from '../call/clock';
import type { ConfigStore } from '../flow/ports';
import { pruneWebhookEvents } from '../webhooks/webhook-admin';
import { runIfDue, type JobRun } from './scheduled-jobs';

export async function housekeep(pool: Pool, retentionDays: number): Promise<Record<string, number>> {
  const q = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rowCount ?? 0;
  const expired = await q(
    `UPDATE verifications SET status = 'expired', decided_at = expires_at, code_hash = NULL
      WHERE status = 'pending' AND expires_at <= now()`,
  );
  const sends = await q("DELETE FROM verification_sends WHERE sent_at < now() - interval '2 days'");
  const cutoff = `now() - make_interval(days => $1)`;
  const verifications = await q(`DELETE FROM verifications WHERE created_at < ${cutoff}`, [retentionDays]);
  const failures = await q(`DELETE FROM verification_failures WHERE at < ${cutoff}`, [retentionDays]);
  // call_events go with their call (ON DELETE CASCADE).
  const calls = await q(`DELETE FROM calls WHERE started_at < ${cutoff}`, [retentionDays]);
  // Admin API rate-limit windows that have ended (rate-limiter-flexible's expire is epoch ms).
  const rateLimits = await q('DELETE FROM api_rate_limits WHERE expire < $1', [Date.now()]);
  // Desk sessions past their end or idle too long (src/desk/pg-agent-store.ts), and old pops.
  const sessions = await q(
    "DELETE FROM agent_sessions WHERE expires_at <= now() OR last_seen_at <= now() - interval '2 hours'",
  );
  const pops = await q(`DELETE FROM desk_pops WHERE at < ${cutoff}`, [retentionDays]);
  const agentActions = await q(`DELETE FROM agent_actions WHERE at < ${cutoff}`, [retentionDays]);
  // Webhook events past retention that no endpoint still waits for (deliveries go with them).
  const events = await pruneWebhookEvents(pool, retentionDays);
  return { expired, sends, verifications, failures, calls, rateLimits, sessions, pops, agentActions, events };
}

export interface HousekeepingOptions {
  pool: Pool;
  config: ConfigStore;
  /** Names this instance in scheduled_jobs.last_runner. */
  runner: string;
  log: {
    info(m: string, meta?: Record<string, unknown>): void;
    warn(m: string, meta?: Record<string, unknown>): void;
  };
  everySeconds?: number;
  clock?: Clock;
}

export const HOUSEKEEPING_JOB = 'housekeeping';

export function runHousekeepingIfDue(o: HousekeepingOptions): Promise<JobRun> {
  return runIfDue(o.pool, HOUSEKEEPING_JOB, o.everySeconds ?? 60, o.runner, async () => {
    const settings = await o.config.getSettings();
    return housekeep(o.pool, settings.retentionDays);
  });
}

/** Tries every `everySeconds`; returns a stop function. A failed try is logged and retried next time. */
export function startHousekeeping(o: HousekeepingOptions): () => void {
  const clock = o.clock ?? systemClock;
  const every = (o.everySeconds ?? 60) * 1000;
  let stopped = false;
  let timer = clock.setTimer(Math.min(every, 5000), tick);
  function tick(): void {
    runHousekeepingIfDue(o)
      .then((run) => {
        if (run.ran) o.log.info('housekeeping done', run.result ?? {});
      })
      .catch((err: unknown) =>
        o.log.warn('housekeeping failed; retrying next period', {
          problem: err instanceof Error ? err.message : String(err),
        }),
      )
      .finally(() => {
        if (!stopped) timer = clock.setTimer(every, tick);
      });
  }
  return () => {
    stopped = true;
    timer.cancel();
  };
}
