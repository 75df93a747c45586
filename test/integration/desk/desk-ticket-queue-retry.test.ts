/**
 * The desk while the ticket-note queue has not started (the database was unreachable when the
 * app started), against the real Postgres, wired as src/main.ts wires it: the agent who sends a
 * code is told in words that the code went out but the note did not, and why; once the database
 * can be reached the queue starts by itself and the next note is queued and delivered. The
 * queue's database is "down" behind a TCP proxy (db-proxy.ts); the desk's own pool is not. Run
 * with DATABASE_URL=postgres://pinverify:pinverify@127.0.0.1:5432/pinverify_test_retry.
 */
import type { Pool } from 'pg';
import { systemClock } from '../../../src/call/clock';
import { createDeskService } from '../../../src/desk/desk-service';
import { PgAgentStore } from '../../../src/desk/pg-agent-store';
import { OpsError } from '../../../src/ops/ops-error';
import { createPool, describeDbError } from '../../../src/store/db';
import { loadDemoData } from '../../../src/store/demo-data';
import { PgConfigStore, readSettings } from '../../../src/store/pg-config-store';
import { startWithRetry, type RetryingStart } from '../../../src/store/start-with-retry';
import type { TicketConnector, TicketNote } from '../../../src/tickets/ticket-connector';
import { startTicketNoteQueue, type TicketNoteQueue } from '../../../src/tickets/ticket-note-queue';
import { createPgVerificationService } from '../../../src/verification/create-pg-verification-service';
import { FakeCodeDelivery } from '../../fakes/fake-code-delivery';
import { startDbProxy, type DbProxy } from '../db-proxy';
import { freshDatabase, recordingLogger, TEST_DATABASE_URL, waitFor } from '../helpers';

jest.setTimeout(60_000);

const SECRET = 'desk-retry-test-secret-0123456789abcdef';

let pool: Pool;
let proxy: DbProxy;
let queuePool: Pool;
let ticketNotes: RetryingStart<TicketNoteQueue> | null = null;

beforeAll(async () => {
  pool = await freshDatabase();
  await pool.query('DROP SCHEMA IF EXISTS pgboss CASCADE');
  await loadDemoData(pool);
  proxy = await startDbProxy(TEST_DATABASE_URL);
  queuePool = createPool(proxy.url);
});
afterAll(async () => {
  await ticketNotes?.stop();
  await queuePool.end();
  await proxy.close();
  await pool.end();
});

it('tells the agent the code went out but the note did not, and why; queues notes once the queue starts by itself', async () => {
  const log = recordingLogger();
  const added: TicketNote[] = [];
  const connector: TicketConnector = {
    system: 'zendesk',
    validateRef: (ref) => (/^#?\d{1,12}$/.test(ref) ? null : 'a Zendesk ticket number, such as 4711'),
    addNote: async (note) => {
      added.push(note);
    },
  };
  // As src/main.ts starts the queue and hands it to the desk.
  const notes = startWithRetry({
    name: 'ticket-note queue',
    start: () =>
      startTicketNoteQueue({
        pool: queuePool,
        connector,
        log,
        worker: true,
        pollingIntervalSeconds: 0.5,
      }),
    clock: systemClock,
    log,
    describe: (err) => describeDbError(err, proxy.url),
    initialBackoffMs: 100,
    maxBackoffMs: 400,
  });
  ticketNotes = notes;
  await notes.firstAttempt();
  expect(notes.state).toBe('starting');

  const delivery = new FakeCodeDelivery();
  const agents = new PgAgentStore(pool);
  const desk = createDeskService({
    pool,
    verifications: createPgVerificationService({
      pool,
      config: new PgConfigStore(pool),
      delivery,
      secret: SECRET,
      log,
    }),
    agents,
    settings: () => readSettings(pool),
    tickets: { connector, enqueue: (note) => notes.use((q) => q.enqueue(note)) },
    clock: systemClock,
    secret: SECRET,
    log,
  });
  const agent = await agents.byLogin('sam');
  if (!agent) throw new Error('the demo agent sam is missing');
  const { rows } = await pool.query<{ id: number }>('SELECT id FROM contacts WHERE name = $1', [
    'Alice Example',
  ]);
  const alice = rows[0]?.id ?? 0;

  // The queue is not started: the code goes out, the agent is told the note did not, in words.
  const failed = await desk.send(agent, { contactId: alice, channel: 'sms', ticketRef: '4711' }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(failed).toBeInstanceOf(OpsError);
  expect(failed).toMatchObject({
    kind: 'unavailable',
    code: 'ticket_note_failed',
    message:
      'The code was sent, but the ticket note for 4711 could not be queued: the ticket-note queue is not ' +
      'started yet because the database could not be reached (pinverify keeps trying). Add it by hand.',
  });
  expect(delivery.sent).toHaveLength(1);
  expect(log.entries).toContainEqual(
    expect.objectContaining({
      level: 'error',
      msg: 'ticket note not queued',
      meta: expect.objectContaining({ ticket: '4711' }) as unknown,
    }),
  );
  expect(log.entries.filter((e) => e.msg === 'ticket-note queue not started; retrying')[0]).toMatchObject({
    level: 'warn',
    meta: {
      problem: `cannot connect to 127.0.0.1:${new URL(proxy.url).port}: Connection terminated unexpectedly`,
    },
  });

  // The database can be reached: the queue starts by itself; the next note goes.
  proxy.forward();
  await notes.ready();
  const sent = await desk.send(agent, { contactId: alice, channel: 'email', ticketRef: '4712' });
  expect(sent.message).toMatch(/^Code sent by email to /);
  await waitFor(() => added.length >= 1, 20_000);
  expect(added).toEqual([
    expect.objectContaining({ ticketRef: '4712', event: 'code_sent', agentLogin: 'sam' }),
  ]);
});
