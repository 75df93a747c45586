/**
 * The durable queue of outbound call attempts, on pg-boss (README, "Decisions": pg-boss 10.4.2,
 * the last release that loads with require() on Node 20). Every app instance works the same
 * queue, so calls are shared between instances and a queued call survives a restart; an API or
 * CLI process only sends.
 *
 * A job is one attempt. It is never retried by pg-boss (retryLimit 0): an attempt that died with
 * its instance may have rung the person already, and calling twice is worse than once; the
 * caller queues the next attempt itself after busy or no answer.
 */
import { abandonBoss } from '../store/start-with-retry';
import PgBoss from 'pg-boss';
import type { Pool } from 'pg';
import type { FlowLogger } from '../flow/ports';
import type { CallQueue, QueuedCall } from './outbound-caller';

export const OUTBOUND_CALL_QUEUE = 'pinverify-outbound-call';

export interface PgCallQueueOptions {
  pool: Pool;
  log: Pick<FlowLogger, 'warn'>;
  /** Works the queue with this many attempts at once in this process (omit: send only). */
  worker?: { run(call: QueuedCall): Promise<void>; concurrency: number };
  /**
   * How often the idle workers of this process together look for a job queued elsewhere (the
   * CLI, another instance, a retry coming due); default 0.5 s. A call queued in this process
   * wakes an idle worker at once and does not wait for a poll.
   */
  pollingIntervalSeconds?: number;
}

/**
 * Each of n workers polls every n × the combined interval, their starts spread over one such
 * period, so n idle workers cost one query per combined interval rather than n (20 workers at
 * pg-boss's 0.5 s were 40 queries a second on an idle box). pg-boss's floor is 0.5 s.
 */
export function workerPolling(
  combinedSeconds: number,
  workers: number,
): { everySeconds: number; offsetsMs: number[] } {
  const everySeconds = Math.max(0.5, combinedSeconds * workers);
  return {
    everySeconds,
    offsetsMs: Array.from({ length: workers }, (_, i) => Math.round((i * everySeconds * 1000) / workers)),
  };
}

export async function startPgCallQueue(
  o: PgCallQueueOptions,
): Promise<CallQueue & { stop(): Promise<void> }> {
  const boss = new PgBoss({
    db: { executeSql: (text, values) => o.pool.query(text, values) },
    schema: 'pgboss',
    // Maintenance (expiring jobs of a crashed instance, deleting old ones) only where jobs run.
    supervise: o.worker !== undefined,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (err: Error) => o.log.warn('call queue problem', { problem: err.message }));
  await boss.start();
  // A start that fails half-way must not leave a running pg-boss behind (abandonBoss says why).
  const abandon = abandonBoss(boss);
  await boss
    .createQueue(OUTBOUND_CALL_QUEUE, {
      name: OUTBOUND_CALL_QUEUE,
      retryLimit: 0,
      // A call that runs longer than this is over; its job expires (an instance that died mid-call).
      expireInSeconds: 15 * 60,
    })
    .catch(abandon);
  const worker = o.worker;
  // Workers not running a call, by id: a call queued here wakes one of them (pg-boss's notify).
  const idle = new Set<string>();
  const starts: Array<ReturnType<typeof setTimeout>> = [];
  if (worker) {
    const polling = workerPolling(o.pollingIntervalSeconds ?? 0.5, worker.concurrency);
    for (let i = 0; i < worker.concurrency; i++) {
      let id = '';
      const delayMs = polling.offsetsMs[i] ?? 0;
      const started = boss
        .work<QueuedCall>(
          OUTBOUND_CALL_QUEUE,
          { batchSize: 1, pollingIntervalSeconds: polling.everySeconds },
          async ([job]) => {
            idle.delete(id);
            try {
              if (job) await worker.run(job.data);
            } finally {
              idle.add(id);
            }
          },
        )
        .catch(abandon);
      id = await started;
      idle.add(id);
      // pg-boss fetches at once when a worker starts; a nudge later spreads the next polls out.
      if (delayMs > 0) starts.push(setTimeout(() => boss.notifyWorker(id), delayMs).unref());
    }
  }
  const wakeOne = () => {
    const first = idle.values().next();
    if (!first.done) boss.notifyWorker(first.value);
  };
  return {
    async enqueue(call, afterSeconds) {
      const id = await boss.send(
        OUTBOUND_CALL_QUEUE,
        call,
        afterSeconds > 0 ? { startAfter: afterSeconds } : {},
      );
      if (!id) throw new Error('the call queue did not take the call');
      if (afterSeconds <= 0) wakeOne();
    },
    async stop() {
      for (const t of starts) clearTimeout(t);
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 10_000 });
    },
  };
}
