import type { Pool } from 'pg';
import {
  LAB_ZENDESK_API_TOKEN,
  LAB_ZENDESK_EMAIL,
  startTicketStandIns,
  type TicketStandIns,
} from '../../../src/lab/ticket-stand-ins';
import { createPool } from '../../../src/store/db';
import { migrate } from '../../../src/store/migrate';
import type { TicketNote } from '../../../src/tickets/ticket-connector';
import {
  startTicketNoteQueue,
  TICKET_NOTE_QUEUE,
  type TicketNoteQueue,
  type TicketNoteQueueOptions,
} from '../../../src/tickets/ticket-note-queue';
import { createZendeskConnector } from '../../../src/tickets/zendesk-connector';
import { readBacklog } from '../../../src/webhooks/read-backlog';
import { recordingLogger, TEST_DATABASE_URL, testPool, waitFor } from '../helpers';

/**
 * The ticket note queue on the real Postgres (pg-boss), delivering to the lab's Zendesk stand-in
 * over HTTP: notes arrive, a system that is down for a while gets the note later, a refusal is
 * not retried, and two app instances deliver each note once. Run with
 * DATABASE_URL=postgres://pinverify:pinverify@127.0.0.1:5432/pinverify_test_tickets.
 */
jest.setTimeout(60_000);

const CODE = '482913';

let pool: Pool;
let other: Pool;
let standIn: TicketStandIns;
const running: TicketNoteQueue[] = [];
let seq = 0;

beforeAll(async () => {
  pool = testPool();
  const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
  if (!/test/i.test(rows[0]?.db ?? '')) throw new Error(`refusing to use database "${rows[0]?.db}"`);
  await pool.query('DROP SCHEMA IF EXISTS pgboss CASCADE');
  other = createPool(TEST_DATABASE_URL);
  standIn = await startTicketStandIns({ port: 0 });
});
afterAll(async () => {
  await standIn.close();
  await other.end();
  await pool.end();
});
beforeEach(() => standIn.clear());
afterEach(async () => {
  for (const q of running.splice(0)) await q.stop();
  // Notes a test left queued (an enqueue-only instance) must not reach the next test's workers.
  if ((await pool.query<{ t: string | null }>(`SELECT to_regclass('pgboss.job') AS t`)).rows[0]?.t) {
    await pool.query('DELETE FROM pgboss.job WHERE name = $1', [TICKET_NOTE_QUEUE]);
  }
});

const zendesk = (apiToken = LAB_ZENDESK_API_TOKEN) =>
  createZendeskConnector({ baseUrl: standIn.url, email: LAB_ZENDESK_EMAIL, apiToken });

async function start(o: Partial<TicketNoteQueueOptions> & Pick<TicketNoteQueueOptions, 'log'>) {
  const q = await startTicketNoteQueue({
    pool,
    connector: zendesk(),
    worker: true,
    pollingIntervalSeconds: 0.5,
    retry: { limit: 3, delaySeconds: 1, backoff: false },
    ...o,
  });
  running.push(q);
  return q;
}

function note(overrides: Partial<TicketNote> = {}): TicketNote {
  seq++;
  return {
    ticketRef: String(100 + seq),
    event: 'code_sent',
    agentLogin: 'alice',
    agentName: 'Alice Agent',
    contactName: 'Bob Caller',
    channel: 'sms',
    destinationMasked: '+*********0123',
    verificationId: `VE${seq.toString(16).padStart(32, '0')}`,
    status: 'pending',
    override: null,
    code: null,
    at: new Date('2025-05-01T10:00:00.000Z'),
    ...overrides,
  };
}

async function job(verificationId: string) {
  const { rows } = await pool.query<{ state: string; retry_count: number; data: Record<string, unknown> }>(
    `SELECT state, retry_count, data FROM pgboss.job WHERE name = $1 AND data->>'verificationId' = $2`,
    [TICKET_NOTE_QUEUE, verificationId],
  );
  return rows[0];
}

async function jobState(verificationId: string, state: string): Promise<void> {
  await waitFor(async () => (await job(verificationId))?.state === state, 20_000, 100);
}

test('a queued note reaches the ticket; the code leaves the job row once delivered', async () => {
  const log = recordingLogger();
  const q = await start({ log });
  const n = note({ code: CODE, ticketRef: '#4242' });
  await q.enqueue(n);
  await waitFor(() => standIn.requests('zendesk').length === 1, 20_000, 100);
  const [req] = standIn.requests('zendesk');
  expect(req?.path).toBe('/api/v2/tickets/4242.json');
  expect(JSON.stringify(req?.body)).toContain(`Code: ${CODE}`);
  await jobState(n.verificationId, 'completed');
  const row = await job(n.verificationId);
  expect(row?.data).not.toHaveProperty('code');
  expect(row?.data.at).toBe('2025-05-01T10:00:00.000Z');
  expect(log.entries).toEqual([
    expect.objectContaining({ level: 'info', msg: 'ticket note added to ticket #4242' }),
  ]);
  expect(JSON.stringify(log.entries)).not.toContain(CODE);
});

test('the job carries no code when the note has none (setting off); dates as ISO strings', async () => {
  const q = await start({ log: recordingLogger(), worker: false });
  const n = note();
  await q.enqueue(n);
  const row = await job(n.verificationId);
  expect(row?.state).toBe('created');
  expect(row?.data).not.toHaveProperty('code');
  expect(row?.data).toMatchObject({ at: '2025-05-01T10:00:00.000Z', ticketRef: n.ticketRef });
});

test('a ticket system down for two attempts (503) gets the note on the third', async () => {
  const log = recordingLogger();
  standIn.failNext('zendesk', 2, 503);
  const q = await start({ log });
  const n = note({ code: CODE });
  await q.enqueue(n);
  await waitFor(() => standIn.requests('zendesk').length === 1, 30_000, 100);
  expect(standIn.attempts().map((a) => [a.ticketId, a.status])).toEqual([
    [n.ticketRef, 503],
    [n.ticketRef, 503],
    [n.ticketRef, 200],
  ]);
  await jobState(n.verificationId, 'completed');
  expect((await job(n.verificationId))?.retry_count).toBe(2);
  expect(log.entries.map((e) => [e.level, e.meta.attempt])).toEqual([
    ['warn', 1],
    ['warn', 2],
    ['info', 3],
  ]);
  expect(log.entries[0]?.meta).toMatchObject({ status: 503, retriesLeft: 3 });
  expect(JSON.stringify(log.entries)).not.toContain(CODE);
});

test('a refusal (401) is not retried: the job fails at once and log.error names the ticket', async () => {
  const log = recordingLogger();
  const q = await start({ log, connector: zendesk('revoked-token') });
  const n = note({ code: CODE, ticketRef: '555' });
  await q.enqueue(n);
  await jobState(n.verificationId, 'failed');
  const row = await job(n.verificationId);
  expect(row?.retry_count).toBe(0);
  expect(row?.data).not.toHaveProperty('code');
  await new Promise((r) => setTimeout(r, 2500)); // longer than the retry delay
  expect(standIn.attempts().map((a) => a.status)).toEqual([401]);
  expect(log.entries).toHaveLength(1);
  expect(log.entries[0]).toMatchObject({
    level: 'error',
    msg: 'ticket note not added to ticket 555; not retrying',
    meta: {
      ticketRef: '555',
      status: 401,
      problem: "Zendesk refused the note for ticket 555: HTTP 401 Couldn't authenticate you",
    },
  });
  expect(JSON.stringify(log.entries)).not.toMatch(/revoked-token|482913/);
});

test('retryable failures past the retry limit: failed, log.error after the last attempt', async () => {
  const log = recordingLogger();
  standIn.failNext('zendesk', 5, 502);
  const q = await start({ log, retry: { limit: 1, delaySeconds: 1, backoff: false } });
  const n = note();
  await q.enqueue(n);
  await jobState(n.verificationId, 'failed');
  expect(standIn.attempts().map((a) => a.status)).toEqual([502, 502]);
  expect(log.entries.map((e) => e.level)).toEqual(['warn', 'error']);
  expect(log.entries[1]?.msg).toBe(
    `ticket note not added to ticket ${n.ticketRef} after 2 attempts; giving up`,
  );
  standIn.failNext('zendesk', 0, 502);
});

test('two app instances share the queue: each note is delivered once', async () => {
  const a = await start({ log: recordingLogger() });
  const b = await start({ log: recordingLogger(), pool: other });
  const notes = Array.from({ length: 10 }, () => note());
  for (const [i, n] of notes.entries()) await (i % 2 ? a : b).enqueue(n);
  await waitFor(() => standIn.requests('zendesk').length >= notes.length, 30_000, 100);
  await new Promise((r) => setTimeout(r, 1500));
  const delivered = standIn.requests('zendesk').map((r) => r.ticketId);
  expect(delivered).toHaveLength(notes.length);
  expect(new Set(delivered)).toEqual(new Set(notes.map((n) => n.ticketRef)));
});

test('enqueue refuses a reference the ticket system cannot have', async () => {
  const q = await start({ log: recordingLogger(), worker: false });
  await expect(q.enqueue(note({ ticketRef: 'ZD-12' }))).rejects.toThrow(
    'ticket reference "ZD-12": Zendesk ticket numbers are digits, like 12345 or #12345',
  );
});

test('a note waiting for a worker shows in the /metrics backlog until it is delivered', async () => {
  await migrate(pool); // the backlog reads pinverify's tables too (this file needs none otherwise)
  const log = recordingLogger();
  const enqueueOnly = await start({ log, worker: false });
  await enqueueOnly.enqueue(note());
  expect((await readBacklog(pool)).ticketNotesWaiting).toBe(1);
  await start({ log });
  await waitFor(() => standIn.requests('zendesk').length === 1, 20_000, 100);
  await waitFor(async () => (await readBacklog(pool)).ticketNotesWaiting === 0, 20_000, 100);
});
