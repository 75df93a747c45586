/**
 * The audit trail in Postgres, built so that a database outage does not lose records:
 *
 *  - every record goes through one in-memory FIFO queue, so a call's open is written before
 *    its events and its events before its close, even when they are retried later;
 *  - a record that cannot be written stays queued (bounded) and is retried on the next write
 *    and on a timer; the methods resolve anyway, because a call must not fail for its audit;
 *  - each record that was not written at once is also logged as a JSON line (the journal),
 *    which survives a restart and can be replayed with parseAuditJournalLine + writeAuditRecord;
 *  - every write is idempotent (upserts, events carry a uid), so a retry after a lost
 *    acknowledgement or a journal replay never duplicates anything.
 */
import { randomUUID } from 'node:crypto';
import type { AuditKind, AuditTrail, CallOpened } from '../flow/ports';
import type { CallOutcome } from '../domain';
import { systemClock, type Clock, type TimerHandle } from '../call/clock';
import { errorMessage, silentLogger, type Queryable, type StoreLogger } from './db';

export type AuditRecord =
  | { op: 'open'; call: CallOpened }
  | { op: 'event'; uid: string; callId: string; kind: AuditKind; detail: Record<string, unknown>; at: Date }
  | { op: 'close'; callId: string; outcome: CallOutcome; at: Date };

export interface PgAuditTrailOptions {
  /** Receives the journal lines (meta.auditJournal) and problems. */
  logger?: StoreLogger;
  /** Records kept in memory while the database is unreachable; the oldest goes first beyond it. */
  maxQueue?: number;
  retryMs?: number;
  /**
   * How long a record may wait for others before a write (0: write at once). Under load the
   * records of many calls then go in one round trip; src/main.ts sets it, the caller never
   * waits on it (audit writes run beside the call).
   */
  batchDelayMs?: number;
  clock?: Pick<Clock, 'setTimer'>;
}

interface Entry {
  record: AuditRecord;
  journaled: boolean;
  /** Resolves the submit() of this record: written, or kept for a retry and journaled. */
  settle: () => void;
}

/** Writes one record. Idempotent, so it is safe to retry and to replay from the journal. */
export async function writeAuditRecord(db: Queryable, record: AuditRecord): Promise<void> {
  switch (record.op) {
    case 'open': {
      const c = record.call;
      // An upsert, because a placeholder row may exist if this open was retried after its events.
      await db.query(
        `INSERT INTO calls (call_id, channel_id, caller_masked, previous_hop, started_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (call_id) DO UPDATE
           SET channel_id = EXCLUDED.channel_id,
               caller_masked = EXCLUDED.caller_masked,
               previous_hop = EXCLUDED.previous_hop,
               started_at = EXCLUDED.started_at`,
        [c.callId, c.channelId, c.callerMasked, c.previousHop, c.startedAt],
      );
      return;
    }
    case 'event': {
      const insert = () =>
        db.query(
          `INSERT INTO call_events (uid, call_id, at, kind, detail) VALUES ($1, $2, $3, $4, $5::jsonb)
           ON CONFLICT (uid) DO NOTHING`,
          [record.uid, record.callId, record.at, record.kind, JSON.stringify(record.detail)],
        );
      try {
        await insert();
      } catch (err) {
        // The call's open was lost (dropped from a full queue, or journal replayed out of
        // order): keep the event anyway under a placeholder call row.
        if (sqlState(err) !== '23503') throw err;
        await ensureCallRow(db, record.callId, record.at);
        await insert();
      }
      return;
    }
    case 'close': {
      const o = record.outcome;
      await db.query(
        `INSERT INTO calls (call_id, started_at, ended_at, result, reason, method, contact_id, route, destination)
         VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (call_id) DO UPDATE
           SET ended_at = EXCLUDED.ended_at,
               result = EXCLUDED.result,
               reason = EXCLUDED.reason,
               method = EXCLUDED.method,
               contact_id = EXCLUDED.contact_id,
               route = EXCLUDED.route,
               destination = EXCLUDED.destination`,
        [record.callId, record.at, o.result, o.reason, o.method, o.contactId, o.route, o.destination],
      );
      return;
    }
  }
}

/**
 * A run of records (opens, events, closes, in queue order) in one round trip, through the
 * pinverify_write_audit function (migration 018), which applies them in the order given with
 * the same statements as writeAuditRecord. While calls are busy the trail writes what many calls
 * queued meanwhile at once instead of one record per statement: fewer socket writes and reads
 * in the app (the biggest part of its CPU per call in `npm run bench`) and less pool time taken
 * from the callers' own queries. Idempotent like writeAuditRecord.
 */
export async function writeAuditBatch(db: Queryable, records: readonly AuditRecord[]): Promise<void> {
  const rows = records.map((r) => {
    switch (r.op) {
      case 'open':
        return { op: 'open', ...r.call, startedAt: r.call.startedAt.toISOString() };
      case 'event':
        return {
          op: 'event',
          uid: r.uid,
          callId: r.callId,
          at: r.at.toISOString(),
          kind: r.kind,
          detail: r.detail,
        };
      case 'close':
        return { op: 'close', callId: r.callId, at: r.at.toISOString(), ...r.outcome };
    }
  });
  await db.query('SELECT pinverify_write_audit($1::jsonb)', [JSON.stringify(rows)]);
}

/** The most records written in one round trip. */
const MAX_BATCH = 200;

async function ensureCallRow(db: Queryable, callId: string, at: Date): Promise<void> {
  await db.query('INSERT INTO calls (call_id, started_at) VALUES ($1, $2) ON CONFLICT (call_id) DO NOTHING', [
    callId,
    at,
  ]);
}

function sqlState(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Data (22) and integrity (23) errors mean this record can never be written: retrying would
 * block the queue for good. Anything else (connection refused, timeout, shutdown, missing
 * table before migrations ran) may pass later.
 */
function isPermanent(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** One journal line: the record as JSON, dates as ISO strings. */
export function auditJournalLine(record: AuditRecord): string {
  return JSON.stringify({ v: 1, ...record });
}

/** Reads a journal line back into a record (for replay with writeAuditRecord). */
export function parseAuditJournalLine(line: string): AuditRecord {
  const raw = JSON.parse(line) as Record<string, unknown> & { v?: unknown; op?: unknown };
  if (raw.v !== 1) throw new Error('not a pinverify audit journal line');
  const date = (value: unknown): Date => {
    const d = new Date(typeof value === 'string' ? value : NaN);
    if (Number.isNaN(d.getTime())) throw new Error(`bad date in audit journal line: ${String(value)}`);
    return d;
  };
  switch (raw.op) {
    case 'open': {
      const call = raw.call as CallOpened & { startedAt: unknown };
      return { op: 'open', call: { ...call, startedAt: date(call.startedAt) } };
    }
    case 'event': {
      const r = raw as unknown as Omit<Extract<AuditRecord, { op: 'event' }>, 'at'> & { at: unknown };
      return { op: 'event', uid: r.uid, callId: r.callId, kind: r.kind, detail: r.detail, at: date(r.at) };
    }
    case 'close': {
      const r = raw as unknown as Omit<Extract<AuditRecord, { op: 'close' }>, 'at'> & { at: unknown };
      return { op: 'close', callId: r.callId, outcome: r.outcome, at: date(r.at) };
    }
    default:
      throw new Error(`unknown audit journal op ${String(raw.op)}`);
  }
}

export class PgAuditTrail implements AuditTrail {
  private readonly logger: StoreLogger;
  private readonly maxQueue: number;
  private readonly retryMs: number;
  private readonly batchDelayMs: number;
  private readonly clock: Pick<Clock, 'setTimer'>;
  private readonly queue: Entry[] = [];
  /**
   * True while the drain loop may still look at the queue again. Cleared synchronously at the
   * loop's exit so that a record pushed afterwards starts a new drain instead of waiting on a
   * loop that has already decided to stop.
   */
  private running = false;
  private draining: Promise<void> = Promise.resolve();
  private retryTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly db: Queryable,
    options: PgAuditTrailOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.maxQueue = options.maxQueue ?? 10_000;
    this.retryMs = options.retryMs ?? 5000;
    this.batchDelayMs = options.batchDelayMs ?? 0;
    this.clock = options.clock ?? systemClock;
  }

  open(call: CallOpened): Promise<void> {
    return this.submit({ op: 'open', call: { ...call } });
  }

  event(callId: string, kind: AuditKind, detail: Record<string, unknown>, at: Date): Promise<void> {
    return this.submit({
      op: 'event',
      uid: randomUUID(),
      callId,
      kind,
      detail: this.snapshot(detail, kind),
      at,
    });
  }

  close(callId: string, outcome: CallOutcome, at: Date): Promise<void> {
    return this.submit({ op: 'close', callId, outcome: { ...outcome }, at });
  }

  /** Records not yet in the database. */
  pending(): number {
    return this.queue.length;
  }

  /** Tries to write everything queued now; resolves with the number still pending. */
  async flush(): Promise<number> {
    await this.drain();
    return this.queue.length;
  }

  /** Stops the retry timer (shutdown). Queued records stay available to flush(). */
  stop(): number {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = null;
    if (this.queue.length > 0) {
      this.logger.warn('audit trail stopped with records not written; they are in the journal', {
        pending: this.queue.length,
      });
    }
    return this.queue.length;
  }

  /** Copies the detail as JSON now, so later changes by the caller cannot alter the record. */
  private snapshot(detail: Record<string, unknown>, kind: AuditKind): Record<string, unknown> {
    try {
      return JSON.parse(JSON.stringify(detail ?? {})) as Record<string, unknown>;
    } catch (err) {
      this.logger.warn('audit event detail is not serialisable, recorded without it', {
        kind,
        error: errorMessage(err),
      });
      return { unserialisable: true };
    }
  }

  private async submit(record: AuditRecord): Promise<void> {
    if (this.queue.length >= this.maxQueue) {
      const dropped = this.queue.shift();
      if (dropped) {
        // Already journaled when its write failed; journal it now if it never got a try.
        if (!dropped.journaled) this.journal(dropped, 'audit record dropped from a full queue');
        dropped.settle();
        this.logError('audit queue full, oldest record dropped from memory', { maxQueue: this.maxQueue });
      }
    }
    // Resolves when this record is written or journaled, not when the whole queue is empty: a
    // queue kept busy by other calls must not hold this call's audit chain.
    const written = new Promise<void>((resolve) =>
      this.queue.push({ record, journaled: false, settle: resolve }),
    );
    void this.drain();
    await written;
  }

  private drain(): Promise<void> {
    if (!this.running) {
      this.running = true;
      this.draining = this.loop().catch(() => {
        // Only a throwing logger gets here; the audit trail must still never reject.
        this.running = false;
      });
    }
    return this.draining;
  }

  private async loop(): Promise<void> {
    let recovered = 0;
    for (;;) {
      const head = this.queue[0];
      if (!head) {
        this.running = false;
        this.retryTimer?.cancel();
        this.retryTimer = null;
        if (recovered > 0) this.logger.info?.('queued audit records written', { count: recovered });
        return;
      }
      if (this.batchDelayMs > 0 && this.queue.length < MAX_BATCH && !head.journaled) {
        await new Promise<void>((resolve) => this.clock.setTimer(this.batchDelayMs, resolve));
      }
      // Everything queued goes in one round trip; on any trouble the head alone is retried
      // below (which tells a permanent fault from the database being away), so batching never
      // changes what is written.
      const run = this.queue.slice(0, MAX_BATCH);
      if (run.length > 1) {
        try {
          await writeAuditBatch(
            this.db,
            run.map((e) => e.record),
          );
          for (const entry of run) {
            if (entry.journaled) recovered += 1;
            this.removeHead(entry);
            entry.settle();
          }
          continue;
        } catch {
          // Fall through to the head alone.
        }
      }
      try {
        await writeAuditRecord(this.db, head.record);
      } catch (err) {
        if (isPermanent(err)) {
          // Kept in the journal; dropped from the queue so the records behind it get written.
          this.journal(head, 'audit record rejected by the database', err, 'error');
          this.removeHead(head);
          head.settle();
          continue;
        }
        for (const entry of this.queue) {
          if (!entry.journaled) this.journal(entry, 'audit record queued, database write failed', err);
          entry.settle();
        }
        this.running = false;
        this.scheduleRetry();
        return;
      }
      if (head.journaled) recovered += 1;
      this.removeHead(head);
      head.settle();
    }
  }

  /** The head may already be gone if the queue overflowed while it was being written. */
  private removeHead(head: Entry): void {
    if (this.queue[0] === head) this.queue.shift();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = this.clock.setTimer(this.retryMs, () => {
      this.retryTimer = null;
      void this.drain();
    });
  }

  private logError(msg: string, meta: Record<string, unknown>): void {
    if (this.logger.error) this.logger.error(msg, meta);
    else this.logger.warn(msg, meta);
  }

  private journal(entry: Entry, msg: string, err?: unknown, level: 'warn' | 'error' = 'warn'): void {
    entry.journaled = true;
    const meta = {
      auditJournal: auditJournalLine(entry.record),
      ...(err === undefined ? {} : { error: errorMessage(err) }),
    };
    if (level === 'error') this.logError(msg, meta);
    else this.logger.warn(msg, meta);
  }
}
