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
  /** How often an idle worker looks for jobs (pg-boss's minimum is 0.5 s). */
  pollingIntervalSeconds?: number;
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
  if (worker) {
    for (let i = 0; i < worker.concurrency; i++) {
      await boss
        .work<QueuedCall>(
          OUTBOUND_CALL_QUEUE,
          { batchSize: 1, pollingIntervalSeconds: o.pollingIntervalSeconds ?? 0.5 },
          async ([job]) => {
            if (job) await worker.run(job.data);
          },
        )
        .catch(abandon);
    }
  }
  return {
    async enqueue(call, afterSeconds) {
      const id = await boss.send(
        OUTBOUND_CALL_QUEUE,
        call,
        afterSeconds > 0 ? { startAfter: afterSeconds } : {},
      );
      if (!id) throw new Error('the call queue did not take the call');
    },
    async stop() {
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 10_000 });
    },
  };
}
