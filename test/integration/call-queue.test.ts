import type { Pool } from 'pg';
import type { QueuedCall } from '../../src/outbound/outbound-caller';
import { startPgCallQueue, workerPolling } from '../../src/outbound/pg-call-queue';
import { createPool } from '../../src/store/db';
import { PgCallAttemptStore } from '../../src/store/pg-call-attempts';
import { freshDatabase, TEST_DATABASE_URL } from './helpers';

/**
 * The outbound call queue and its limits on the real Postgres, as two app instances share them:
 * every queued attempt runs exactly once over both, a queued call outlives the process that
 * queued it, the pace of calls holds over both, and so does the cap on calls at once.
 */
jest.setTimeout(60_000);

const quiet = { warn: () => undefined };
const call = (n: number): QueuedCall => ({
  verificationId: `VE${n.toString(16).padStart(32, '0')}`,
  profile: 'lab-input',
  to: '+12025550101',
  codeLength: 6,
  attempt: 1,
});

let pool: Pool;
let other: Pool;

beforeAll(async () => {
  pool = await freshDatabase();
  await pool.query('DROP SCHEMA IF EXISTS pgboss CASCADE');
  other = createPool(TEST_DATABASE_URL);
});
afterAll(async () => {
  await other.end();
  await pool.end();
});

async function until(what: string, pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('two instances work one queue: every attempt runs once, in one of them', async () => {
  const ran: Array<{ by: string; id: string }> = [];
  const worker = (by: string) => ({
    concurrency: 2,
    run: async (c: QueuedCall) => {
      ran.push({ by, id: c.verificationId });
      await new Promise((r) => setTimeout(r, 50));
    },
  });
  const a = await startPgCallQueue({ pool, log: quiet, worker: worker('a') });
  const b = await startPgCallQueue({ pool: other, log: quiet, worker: worker('b') });
  try {
    for (let i = 1; i <= 12; i++) await (i % 2 ? a : b).enqueue(call(i), 0);
    await until('12 attempts', () => ran.length >= 12);
    await new Promise((r) => setTimeout(r, 1500));
    expect(ran).toHaveLength(12);
    expect(new Set(ran.map((r) => r.id)).size).toBe(12);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a call queued in this process wakes an idle worker at once instead of waiting for its poll', async () => {
  const ran: number[] = [];
  // 3 workers polling together every 20 s: each polls once a minute.
  const q = await startPgCallQueue({
    pool,
    log: quiet,
    pollingIntervalSeconds: 20,
    worker: { concurrency: 3, run: async () => void ran.push(Date.now()) },
  });
  try {
    await new Promise((r) => setTimeout(r, 1000)); // the workers' first fetches are over
    const queuedAt = Date.now();
    await q.enqueue(call(150), 0);
    await until('the call', () => ran.length > 0, 10_000);
    expect(ran[0]! - queuedAt).toBeLessThan(1500);
  } finally {
    await q.stop();
  }
});

test('idle workers poll together at the combined interval, spread out, not each at it', async () => {
  expect(workerPolling(0.5, 10)).toEqual({
    everySeconds: 5,
    offsetsMs: [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500],
  });
  expect(workerPolling(0.5, 1).everySeconds).toBe(0.5);
  expect(workerPolling(0.01, 2).everySeconds).toBe(0.5); // pg-boss's floor
  const fetches: number[] = [];
  const counting = {
    query: (text: string, values?: unknown[]) => {
      if (/SKIP LOCKED/.test(text)) fetches.push(Date.now());
      return pool.query(text, values);
    },
  } as unknown as Pool;
  const q = await startPgCallQueue({
    pool: counting,
    log: quiet,
    worker: { concurrency: 10, run: async () => undefined },
  });
  try {
    await new Promise((r) => setTimeout(r, 6000)); // one whole period and the start's fetches
    const from = Date.now();
    const before = fetches.length;
    await new Promise((r) => setTimeout(r, 5000));
    const polls = fetches.slice(before).filter((t) => t >= from);
    // Each worker alone at 0.5 s would be 100 in 5 s; together they are about 10.
    expect(polls.length).toBeGreaterThanOrEqual(7);
    expect(polls.length).toBeLessThanOrEqual(14);
    // Spread: no second without a poll.
    for (let s = 0; s < 5; s++)
      expect(polls.some((t) => t >= from + s * 1000 && t < from + (s + 1) * 1000)).toBe(true);
  } finally {
    await q.stop();
  }
});

test('a call queued by a process that has stopped (the CLI, a restarted app) is run by the next worker', async () => {
  const sender = await startPgCallQueue({ pool, log: quiet });
  await sender.enqueue(call(100), 0);
  await sender.stop();
  const ran: string[] = [];
  const worker = await startPgCallQueue({
    pool: other,
    log: quiet,
    worker: { concurrency: 1, run: async (c) => void ran.push(c.verificationId) },
  });
  try {
    await until('the queued call', () => ran.includes(call(100).verificationId));
  } finally {
    await worker.stop();
  }
});

test('a retry queued for later does not run before its time', async () => {
  const ran: number[] = [];
  const q = await startPgCallQueue({
    pool,
    log: quiet,
    worker: { concurrency: 1, run: async () => void ran.push(Date.now()) },
  });
  try {
    const queuedAt = Date.now();
    await q.enqueue({ ...call(200), attempt: 2 }, 3);
    await until('the retry', () => ran.length > 0, 15_000);
    expect(ran[0]! - queuedAt).toBeGreaterThanOrEqual(2900);
  } finally {
    await q.stop();
  }
});

test('the pace holds over two instances: concurrent slots are one interval apart', async () => {
  const a = new PgCallAttemptStore(pool);
  const b = new PgCallAttemptStore(other);
  await pool.query('UPDATE outbound_pacing SET next_at = now()');
  const waits = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).nextSlotIn(200)));
  const sorted = [...waits].sort((x, y) => x - y);
  expect(sorted[0]).toBeLessThan(100);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThan(150);
  expect(sorted[5]).toBeGreaterThan(900);
});

test('the cap on calls at once holds over two instances racing for the last places', async () => {
  await pool.query('DELETE FROM verification_calls');
  const a = new PgCallAttemptStore(pool);
  const b = new PgCallAttemptStore(other);
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      (i % 2 ? a : b).startBelow(
        {
          verificationId: call(300 + i).verificationId,
          profile: 'lab-input',
          attempt: 1,
          channelId: `c${i}`,
        },
        3,
      ),
    ),
  );
  expect(results.filter(Boolean)).toHaveLength(3);
  // An ended call frees its place.
  const { rows } = await pool.query<{ verification_id: string }>(
    'SELECT verification_id FROM verification_calls LIMIT 1',
  );
  await a.ended(rows[0]!.verification_id, 1, { status: 'delivered' });
  expect(
    await b.startBelow(
      { verificationId: call(400).verificationId, profile: 'p', attempt: 1, channelId: 'x' },
      3,
    ),
  ).toBe(true);
  expect(
    await b.startBelow(
      { verificationId: call(401).verificationId, profile: 'p', attempt: 1, channelId: 'y' },
      3,
    ),
  ).toBe(false);
});
