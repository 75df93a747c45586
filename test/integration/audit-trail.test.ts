import type { Pool, QueryResult, QueryResultRow } from 'pg';
import type { CallOpened } from '../../src/flow/ports';
import type { CallOutcome } from '../../src/domain';
import { createPool, type Queryable } from '../../src/store/db';
import {
  parseAuditJournalLine,
  PgAuditTrail,
  writeAuditRecord,
  type AuditRecord,
} from '../../src/store/pg-audit-trail';
import { freshDatabase, manualTimers, recordingLogger, UNREACHABLE_DATABASE_URL } from './helpers';

/** Lets a test pull the database away from the audit trail and give it back. */
class SwitchableDb implements Queryable {
  constructor(public target: Queryable) {}
  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    return this.target.query<R>(text, values);
  }
}

const T0 = new Date('2030-01-01T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function opened(callId: string): CallOpened {
  return {
    callId,
    channelId: `chan-${callId}`,
    callerMasked: '+*******0101',
    previousHop: 'support',
    startedAt: T0,
  };
}

const OUTCOME: CallOutcome = {
  result: 'verified',
  reason: 'ok',
  method: 'sms',
  contactId: 42,
  route: 'support',
  destination: '2001',
};

describe('PgAuditTrail', () => {
  let pool: Pool;
  let down: Pool;

  beforeAll(async () => {
    pool = await freshDatabase();
    // Nothing listens there: every query fails with ECONNREFUSED, as with Postgres stopped.
    down = createPool(UNREACHABLE_DATABASE_URL);
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE calls, call_events');
  });
  afterAll(async () => {
    await pool.end();
    await down.end();
  });

  /** Counts the statements the trail sends, passing them on to the test database. */
  function counting(statements: string[]): Queryable {
    return {
      query: <R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]) => {
        statements.push(text);
        return pool.query<R>(text, values);
      },
    };
  }

  it('writes a run of queued events in one statement, every one of them, in order', async () => {
    const statements: string[] = [];
    const audit = new PgAuditTrail(counting(statements));
    await audit.open(opened('batch'));
    // Fifty events from a busy call, submitted while the first is being written.
    const writes = Array.from({ length: 50 }, (_, i) => audit.event('batch', 'attempt', { n: i }, at(i)));
    await Promise.all(writes);
    expect(await audit.flush()).toBe(0);
    const { rows } = await pool.query<{ n: number }>(
      "SELECT (detail->>'n')::int AS n FROM call_events WHERE call_id = 'batch' ORDER BY at",
    );
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // The first event alone (the queue was empty), then the other 49 together.
    expect(statements.length).toBeLessThanOrEqual(3);
    expect(statements.some((t) => t.includes('pinverify_write_audit'))).toBe(true);
  });

  it('with a batch delay, the opens, events and closes of many calls go in one round trip, each call in order', async () => {
    const statements: string[] = [];
    const audit = new PgAuditTrail(counting(statements), { batchDelayMs: 30 });
    const calls = Array.from({ length: 20 }, (_, i) => `many-${i}`);
    // As twenty calls in the app at once would submit them: interleaved.
    const writes: Promise<void>[] = calls.map((c) => audit.open(opened(c)));
    for (let n = 0; n < 3; n++) {
      for (const c of calls) writes.push(audit.event(c, 'attempt', { n }, at(n + 1)));
    }
    for (const c of calls) writes.push(audit.close(c, { ...OUTCOME, route: c }, at(10)));
    await Promise.all(writes);
    expect(statements).toHaveLength(1);
    for (const c of calls) {
      const row = await callRow(c);
      expect(row).toMatchObject({ channel_id: `chan-${c}`, result: 'verified', route: c, contact_id: 42 });
      expect((row?.started_at as Date).toISOString()).toBe(T0.toISOString());
      expect((row?.ended_at as Date).toISOString()).toBe(at(10).toISOString());
      expect((await eventsOf(c)).map((e) => (e.detail as { n: number }).n)).toEqual([0, 1, 2]);
    }
  });

  it('a record the database refuses does not take its batch with it: the others are written, it is journaled', async () => {
    const logger = recordingLogger();
    const audit = new PgAuditTrail(pool, { logger, batchDelayMs: 20 });
    const bad = { ...OUTCOME, contactId: 'not a number' as unknown as number };
    await Promise.all([
      audit.open(opened('good-1')),
      audit.close('bad', bad, at(1)),
      audit.open(opened('good-2')),
      audit.event('good-2', 'attempt', { n: 1 }, at(2)),
    ]);
    expect(await audit.flush()).toBe(0);
    expect(await callRow('good-1')).toBeDefined();
    expect(await eventsOf('good-2')).toHaveLength(1);
    expect(await callRow('bad')).toBeUndefined();
    const journaled = logger.entries.filter((l) => l.meta.auditJournal !== undefined);
    expect(journaled).toHaveLength(1);
    expect(parseAuditJournalLine(String(journaled[0]?.meta.auditJournal))).toMatchObject({
      op: 'close',
      callId: 'bad',
    });
  });

  async function callRow(callId: string) {
    const { rows } = await pool.query<Record<string, unknown>>('SELECT * FROM calls WHERE call_id = $1', [
      callId,
    ]);
    return rows[0];
  }

  async function eventsOf(callId: string) {
    const { rows } = await pool.query<{ kind: string; detail: unknown; at: Date }>(
      'SELECT kind, detail, at FROM call_events WHERE call_id = $1 ORDER BY id',
      [callId],
    );
    return rows;
  }

  it('writes a call: open, events in order, close', async () => {
    const trail = new PgAuditTrail(pool);
    await trail.open(opened('c1'));
    await trail.event('c1', 'lookup', { matches: 1 }, at(1));
    await trail.event('c1', 'code_sent', { method: 'sms', to: '+*******0101' }, at(2));
    await trail.close('c1', OUTCOME, at(3));
    expect(trail.pending()).toBe(0);
    expect(await callRow('c1')).toEqual({
      call_id: 'c1',
      channel_id: 'chan-c1',
      caller_masked: '+*******0101',
      previous_hop: 'support',
      started_at: T0,
      ended_at: at(3),
      result: 'verified',
      reason: 'ok',
      method: 'sms',
      contact_id: 42,
      route: 'support',
      destination: '2001',
    });
    expect(await eventsOf('c1')).toEqual([
      { kind: 'lookup', detail: { matches: 1 }, at: at(1) },
      { kind: 'code_sent', detail: { method: 'sms', to: '+*******0101' }, at: at(2) },
    ]);
  });

  it('records the detail as it was when the event was reported', async () => {
    const trail = new PgAuditTrail(pool);
    await trail.open(opened('c1'));
    const detail: Record<string, unknown> = { attempt: 1 };
    const written = trail.event('c1', 'attempt', detail, at(1));
    detail.attempt = 2;
    await written;
    expect((await eventsOf('c1'))[0]?.detail).toEqual({ attempt: 1 });
  });

  describe('with the database unreachable', () => {
    it('queues and journals every record, then writes them in order once it is back', async () => {
      const db = new SwitchableDb(down);
      const logger = recordingLogger();
      const timers = manualTimers();
      const trail = new PgAuditTrail(db, { logger, clock: timers, retryMs: 1000 });

      // The methods resolve: a call does not fail because of its audit.
      await trail.open(opened('c1'));
      await trail.event('c1', 'lookup', { matches: 1 }, at(1));
      await trail.event('c1', 'attempt', { ok: false }, at(2));
      await trail.close('c1', OUTCOME, at(3));
      expect(trail.pending()).toBe(4);

      // One journal line per record, each enough to rebuild it.
      const journal = logger.entries.filter((e) => typeof e.meta.auditJournal === 'string');
      expect(journal).toHaveLength(4);
      expect(journal.map((e) => parseAuditJournalLine(e.meta.auditJournal as string).op)).toEqual([
        'open',
        'event',
        'event',
        'close',
      ]);
      expect(journal[0]?.meta.error).toMatch(/ECONNREFUSED|connect/);
      expect(timers.active()).toBe(1);

      db.target = pool;
      expect(timers.fireAll()).toBe(1);
      await trail.flush();
      expect(trail.pending()).toBe(0);
      expect(timers.active()).toBe(0);
      expect(await callRow('c1')).toEqual(
        expect.objectContaining({ channel_id: 'chan-c1', result: 'verified' }),
      );
      expect((await eventsOf('c1')).map((e) => e.kind)).toEqual(['lookup', 'attempt']);
      expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'info', meta: { count: 4 } }));
    });

    it('retries on the next write, keeping open before close', async () => {
      const db = new SwitchableDb(down);
      const timers = manualTimers();
      const trail = new PgAuditTrail(db, { logger: recordingLogger(), clock: timers });
      await trail.open(opened('c2'));
      expect(trail.pending()).toBe(1);
      db.target = pool;
      await trail.close('c2', { ...OUTCOME, result: 'failed', reason: 'max_attempts' }, at(9));
      expect(trail.pending()).toBe(0);
      expect(await callRow('c2')).toEqual(
        expect.objectContaining({
          channel_id: 'chan-c2',
          started_at: T0,
          ended_at: at(9),
          reason: 'max_attempts',
        }),
      );
    });

    it('keeps retrying on the timer while the database stays down', async () => {
      const db = new SwitchableDb(down);
      const timers = manualTimers();
      const trail = new PgAuditTrail(db, { logger: recordingLogger(), clock: timers });
      await trail.open(opened('c3'));
      timers.fireAll();
      await trail.flush();
      expect(trail.pending()).toBe(1);
      expect(timers.active()).toBe(1);
      expect(trail.stop()).toBe(1);
      expect(timers.active()).toBe(0);
      db.target = pool;
      expect(await trail.flush()).toBe(0);
      expect(await callRow('c3')).toBeDefined();
    });

    it('bounds the queue, dropping the oldest (already journaled) record', async () => {
      const db = new SwitchableDb(down);
      const logger = recordingLogger();
      const trail = new PgAuditTrail(db, { logger, clock: manualTimers(), maxQueue: 2 });
      await trail.open(opened('c4'));
      await trail.event('c4', 'lookup', {}, at(1));
      await trail.close('c4', OUTCOME, at(2));
      expect(trail.pending()).toBe(2);
      expect(logger.entries).toContainEqual(
        expect.objectContaining({ level: 'error', msg: expect.stringMatching(/full/) as unknown }),
      );
      // The open was dropped from memory; the event and close still get written.
      db.target = pool;
      expect(await trail.flush()).toBe(0);
      expect(await callRow('c4')).toEqual(expect.objectContaining({ channel_id: null, result: 'verified' }));
      expect(await eventsOf('c4')).toHaveLength(1);
    });
  });

  it('journals and skips a record the database rejects, so the queue does not block', async () => {
    const logger = recordingLogger();
    const trail = new PgAuditTrail(pool, { logger });
    await trail.open(opened('c5'));
    // jsonb cannot hold a NUL character: this record can never be written.
    await trail.event('c5', 'error', { text: 'bad\u0000byte' }, at(1));
    await trail.event('c5', 'hangup', {}, at(2));
    expect(trail.pending()).toBe(0);
    expect((await eventsOf('c5')).map((e) => e.kind)).toEqual(['hangup']);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: expect.stringMatching(/rejected/) as unknown,
        meta: expect.objectContaining({
          auditJournal: expect.stringContaining('"kind":"error"') as unknown,
        }) as unknown,
      }),
    );
  });

  it('records events of a call whose open never arrived under a placeholder call row', async () => {
    const trail = new PgAuditTrail(pool);
    await trail.event('orphan', 'hangup', {}, at(5));
    expect(await callRow('orphan')).toEqual(expect.objectContaining({ started_at: at(5), channel_id: null }));
    await trail.open(opened('orphan'));
    expect(await callRow('orphan')).toEqual(
      expect.objectContaining({ started_at: T0, channel_id: 'chan-orphan' }),
    );
  });

  it('replaying the journal is idempotent', async () => {
    const records: AuditRecord[] = [
      { op: 'open', call: opened('c6') },
      {
        op: 'event',
        uid: '6f1c1d8e-7c55-4a43-9f55-0d8a1f5a4e01',
        callId: 'c6',
        kind: 'entered',
        detail: { a: 1 },
        at: at(1),
      },
      { op: 'close', callId: 'c6', outcome: OUTCOME, at: at(2) },
    ];
    const lines = records.map((r) => JSON.stringify({ v: 1, ...r }));
    for (let i = 0; i < 2; i += 1) {
      for (const line of lines) await writeAuditRecord(pool, parseAuditJournalLine(line));
    }
    expect(lines.map(parseAuditJournalLine)).toEqual(records);
    expect(await eventsOf('c6')).toHaveLength(1);
    expect(await callRow('c6')).toEqual(expect.objectContaining({ started_at: T0, ended_at: at(2) }));
    expect(() => parseAuditJournalLine('{"op":"open"}')).toThrow(/not a pinverify audit journal line/);
  });
});
