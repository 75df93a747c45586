/**
 * Ticket notes go out through a durable queue on pg-boss (the same `pgboss` schema as the
 * outbound call queue), so a ticket system that is down loses no note and the agent never waits
 * for it: the desk enqueues and answers; a worker in any app instance delivers.
 *
 * Retries: a retryable failure (5xx, 429, 408, timeout, connection error) is retried with
 * pg-boss's exponential backoff. Retry n (n = 1..RETRY_LIMIT) waits between
 * RETRY_DELAY_SECONDS * 2^(n-1) and twice that (pg-boss adds up to 100 % jitter). With 30 s and
 * 11 retries, 12 attempts in all, the last one comes between 17.1 h and 34.1 h after the first
 * (30 s × (2^11 − 1) = 61 410 s; on average 25.6 h): about a day. The first retries come quickly
 * (30–60 s, 1–2 min, 2–4 min) for short outages; the last waits are long (8.5–17 h).
 *
 * A non-retryable failure (wrong credentials, unknown ticket, refused content) is not retried:
 * the job is marked failed at once (pg-boss state `failed`, the error in its output) and logged
 * with log.error naming the ticket and the problem. So is the last retryable failure.
 *
 * Privacy: job data is the note with dates as ISO strings; `code` is present only when the note
 * carries one (the setting ticketNoteIncludesCode), and is removed from the job row once the job
 * ends, delivered or failed, so the code does not linger in pgboss.job or its archive. Log lines
 * carry the ticket, the verification id, the event and the agent's login: never the code, never
 * an address (not even masked).
 *
 * A note is delivered at most once per attempt; a ticket system that took the note but whose
 * answer was lost (a timeout) can get it twice. The webhook connector's webhook-id is stable
 * across retries so receivers can drop the copy; Zendesk and ConnectWise have no such key.
 */
import { abandonBoss } from '../store/start-with-retry';
import PgBoss from 'pg-boss';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { FlowLogger } from '../flow/ports';
import {
  TICKET_NOTE_EVENTS,
  TicketNoteError,
  type TicketConnector,
  type TicketNote,
} from './ticket-connector';

export const TICKET_NOTE_QUEUE = 'pinverify-ticket-note';
const SCHEMA = 'pgboss';

/** Retries after the first attempt; see the header for the span. */
export const TICKET_NOTE_RETRY_LIMIT = 11;
/** The first retry's base delay in seconds; doubled each retry (pg-boss retryBackoff). */
export const TICKET_NOTE_RETRY_DELAY_SECONDS = 30;
/** One attempt's deadline; the connectors' own HTTP timeout (15 s) is shorter. */
const ATTEMPT_TIMEOUT_MS = 30_000;

export interface TicketNoteRetryPolicy {
  limit: number;
  delaySeconds: number;
  backoff: boolean;
}

export const DEFAULT_TICKET_NOTE_RETRY: TicketNoteRetryPolicy = {
  limit: TICKET_NOTE_RETRY_LIMIT,
  delaySeconds: TICKET_NOTE_RETRY_DELAY_SECONDS,
  backoff: true,
};

/**
 * From the first attempt to the last, in seconds: pg-boss waits retryDelay (no backoff), or
 * between retryDelay * 2^(n-1) and twice that before retry n (backoff; the exponent stops at 15).
 */
export function ticketNoteRetrySpanSeconds(p: TicketNoteRetryPolicy): { min: number; max: number } {
  if (!p.backoff) return { min: p.limit * p.delaySeconds, max: p.limit * p.delaySeconds };
  let min = 0;
  for (let n = 1; n <= p.limit; n++) min += (Math.max(p.delaySeconds, 1) * 2 ** Math.min(16, n)) / 2;
  return { min, max: 2 * min };
}

export interface TicketNoteQueueOptions {
  pool: Pool;
  connector: TicketConnector;
  log: Pick<FlowLogger, 'info' | 'warn' | 'error'>;
  /** Deliver notes in this process (the app); false: enqueue only (an API or CLI process). */
  worker: boolean;
  /** Notes delivered at once by this process's worker (default 2). */
  concurrency?: number;
  /** Set on each job when it is enqueued (tests: small delays). Default DEFAULT_TICKET_NOTE_RETRY. */
  retry?: TicketNoteRetryPolicy;
  /** How often an idle worker looks for notes (default 1 s; pg-boss's minimum is 0.5 s). */
  pollingIntervalSeconds?: number;
  /** One delivery attempt's deadline (default 30 s). */
  attemptTimeoutMs?: number;
}

export interface TicketNoteQueue {
  /** Queues the note; throws when the reference is not one the connector accepts. */
  enqueue(note: TicketNote): Promise<void>;
  stop(): Promise<void>;
}

/** What a job carries: the note, dates as ISO strings, `code` only when there is one. */
export type TicketNoteJob = Omit<TicketNote, 'at' | 'code'> & { at: string; code?: string };

const jobSchema = z.object({
  ticketRef: z.string(),
  event: z.enum(TICKET_NOTE_EVENTS),
  agentLogin: z.string(),
  agentName: z.string(),
  contactName: z.string(),
  channel: z.enum(['sms', 'email']),
  destinationMasked: z.string(),
  verificationId: z.string(),
  status: z.string(),
  override: z.object({ reason: z.string() }).nullable(),
  code: z.string().optional(),
  at: z.iso.datetime(),
});

export function toTicketNoteJob(note: TicketNote): TicketNoteJob {
  const job: TicketNoteJob = {
    ticketRef: note.ticketRef.trim(),
    event: note.event,
    agentLogin: note.agentLogin,
    agentName: note.agentName,
    contactName: note.contactName,
    channel: note.channel,
    destinationMasked: note.destinationMasked,
    verificationId: note.verificationId,
    status: note.status,
    override: note.override ? { reason: note.override.reason } : null,
    at: note.at.toISOString(),
  };
  if (note.code !== null) job.code = note.code;
  return job;
}

/** The note back from a job, or null when the data is not a note (a problem, not a retry). */
export function fromTicketNoteJob(data: unknown): TicketNote | null {
  const parsed = jobSchema.safeParse(data);
  if (!parsed.success) return null;
  const { code, at, ...rest } = parsed.data;
  return { ...rest, code: code ?? null, at: new Date(at) };
}

export async function startTicketNoteQueue(o: TicketNoteQueueOptions): Promise<TicketNoteQueue> {
  const retry = o.retry ?? DEFAULT_TICKET_NOTE_RETRY;
  const attemptTimeoutMs = o.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const expireInSeconds = Math.ceil(attemptTimeoutMs / 1000) + 30;
  const boss = new PgBoss({
    db: { executeSql: (text, values) => o.pool.query(text, values) },
    schema: SCHEMA,
    supervise: o.worker,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (err: Error) => o.log.warn('ticket note queue problem', { problem: err.message }));
  await boss.start();
  // A start that fails half-way must not leave a running pg-boss behind (abandonBoss says why).
  const abandon = abandonBoss(boss);
  await boss
    .createQueue(TICKET_NOTE_QUEUE, {
      name: TICKET_NOTE_QUEUE,
      retryLimit: retry.limit,
      retryDelay: retry.delaySeconds,
      retryBackoff: retry.backoff,
      expireInSeconds,
    })
    .catch(abandon);

  /** Ends the job's retries now (failed, not retry) and drops the code from its row. */
  async function endJob(id: string, giveUp: boolean): Promise<void> {
    try {
      await o.pool.query(
        `UPDATE ${SCHEMA}.job
            SET data = data - 'code',
                retry_limit = CASE WHEN $3::boolean THEN retry_count ELSE retry_limit END
          WHERE name = $1 AND id = $2`,
        [TICKET_NOTE_QUEUE, id, giveUp],
      );
    } catch (err) {
      o.log.warn('ticket note queue: could not update the finished job', {
        job: id,
        problem: err instanceof Error ? err.message : String(err),
      });
    }
  }

  async function deliver(job: PgBoss.JobWithMetadata<unknown>): Promise<void> {
    const note = fromTicketNoteJob(job.data);
    if (!note) {
      await endJob(job.id, true);
      o.log.error('ticket note not added: the queued job is not a ticket note', { job: job.id });
      throw new Error('the queued job is not a ticket note');
    }
    const about = {
      system: o.connector.system,
      ticketRef: note.ticketRef,
      verificationId: note.verificationId,
      event: note.event,
      agent: note.agentLogin,
      attempt: job.retryCount + 1,
    };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), attemptTimeoutMs);
    try {
      await o.connector.addNote(note, controller.signal);
    } catch (err) {
      const e =
        err instanceof TicketNoteError
          ? err
          : new TicketNoteError(o.connector.system, err instanceof Error ? err.message : String(err), {
              retryable: true,
            });
      if (!e.retryable) {
        await endJob(job.id, true);
        o.log.error(`ticket note not added to ticket ${note.ticketRef}; not retrying`, {
          ...about,
          status: e.status,
          problem: e.message,
        });
      } else if (job.retryCount >= job.retryLimit) {
        await endJob(job.id, true);
        o.log.error(
          `ticket note not added to ticket ${note.ticketRef} after ${job.retryCount + 1} attempts; giving up`,
          { ...about, status: e.status, problem: e.message },
        );
      } else {
        o.log.warn(`ticket note not added to ticket ${note.ticketRef} yet; will retry`, {
          ...about,
          retriesLeft: job.retryLimit - job.retryCount,
          status: e.status,
          problem: e.message,
        });
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
    await endJob(job.id, false);
    o.log.info(`ticket note added to ticket ${note.ticketRef}`, about);
  }

  if (o.worker) {
    for (let i = 0; i < (o.concurrency ?? 2); i++) {
      await boss
        .work<unknown>(
          TICKET_NOTE_QUEUE,
          { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: o.pollingIntervalSeconds ?? 1 },
          async ([job]) => {
            if (job) await deliver(job);
          },
        )
        .catch(abandon);
    }
  }

  return {
    async enqueue(note) {
      const problem = o.connector.validateRef(note.ticketRef);
      if (problem) throw new Error(`ticket reference "${note.ticketRef}": ${problem}`);
      const id = await boss.send(TICKET_NOTE_QUEUE, toTicketNoteJob(note), {
        retryLimit: retry.limit,
        retryDelay: retry.delaySeconds,
        retryBackoff: retry.backoff,
        expireInSeconds,
      });
      if (!id) throw new Error('the ticket note queue did not take the note');
    },
    async stop() {
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 10_000 });
    },
  };
}
