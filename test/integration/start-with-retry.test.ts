/**
 * startWithRetry (src/store/start-with-retry.ts) against the real Postgres: the webhook
 * dispatcher, started while the database cannot be reached, starts by itself once it can and
 * delivers the events that waited meanwhile, with no restart. The database is "down" behind a
 * TCP proxy of the test's own that drops every connection until told to forward them. A start
 * that fails half-way (pg-boss started, its queue not created) stops its pg-boss before the next
 * try. Run with
 * DATABASE_URL=postgres://pinverify:pinverify@127.0.0.1:5432/pinverify_test_retry.
 */
import PgBoss from 'pg-boss';
import type { Pool } from 'pg';
import { systemClock } from '../../src/call/clock';
import type { WebhookSink } from '../../src/lab/webhook-sink';
import { createPool, describeDbError } from '../../src/store/db';
import { startWithRetry, type RetryingStart } from '../../src/store/start-with-retry';
import { startWebhookDispatcher, type WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher';
import { startDbProxy, type DbProxy } from './db-proxy';
import { freshDatabase, recordingLogger, TEST_DATABASE_URL, waitFor } from './helpers';
import {
  clearWebhookTables,
  deliveryRows,
  eventIdsFor,
  insertVerification,
  setStatus,
  sinkDeliveries,
  startSink,
  subscribe,
} from './webhooks/webhook-harness';

jest.setTimeout(60_000);

let direct: Pool;
let sink: WebhookSink;
let proxy: DbProxy;
let proxied: Pool;
let retrying: RetryingStart<WebhookDispatcher> | null = null;
let seq = 0;

beforeAll(async () => {
  direct = await freshDatabase();
  await direct.query('DROP SCHEMA IF EXISTS pgboss CASCADE');
});
afterAll(async () => {
  await direct.end();
});
beforeEach(async () => {
  await clearWebhookTables(direct);
  sink = await startSink();
  proxy = await startDbProxy(TEST_DATABASE_URL);
  proxied = createPool(proxy.url);
});
afterEach(async () => {
  await retrying?.stop();
  retrying = null;
  await proxied.end();
  await proxy.close();
  await sink.close();
});

/** The dispatcher as main.ts starts it, on a queue of this test's own and with short waits. */
function startDispatcher(pool: Pool, log: ReturnType<typeof recordingLogger>) {
  const queue = `pinverify-webhook-drain-retry-test-${++seq}-${process.pid}`;
  return startWithRetry({
    name: 'webhook dispatcher',
    meanwhile: 'webhook events wait in Postgres',
    start: () =>
      startWebhookDispatcher({ pool, log, queue, sweepIntervalMs: 500, pollingIntervalSeconds: 0.5 }),
    clock: systemClock,
    log,
    describe: (err) => describeDbError(err, proxy.url),
    initialBackoffMs: 100,
    maxBackoffMs: 400,
  });
}

it('starts the webhook dispatcher by itself once the database can be reached, and delivers what waited', async () => {
  const endpoint = await subscribe(direct, sink);
  const log = recordingLogger();
  retrying = startDispatcher(proxied, log);
  const r = retrying;

  // Events keep arriving while the dispatcher cannot start: they wait in Postgres.
  const id = await insertVerification(direct);
  await waitFor(() => r.failures >= 3, 10_000);
  await setStatus(direct, id, 'approved');
  expect(r.state).toBe('starting');
  expect(r.current()).toBeNull();
  expect(proxy.dropped).toBeGreaterThanOrEqual(3);
  const port = new URL(proxy.url).port;
  expect(r.lastError).toBe(`cannot connect to 127.0.0.1:${port}: Connection terminated unexpectedly`);
  const warnings = log.entries.filter((e) => e.msg === 'webhook dispatcher not started; retrying');
  expect(warnings.length).toBeGreaterThanOrEqual(3);
  expect(warnings.every((w) => w.level === 'warn')).toBe(true);
  expect(warnings[0]?.meta).toMatchObject({
    problem: r.lastError,
    failures: 1,
    meanwhile: 'webhook events wait in Postgres',
  });
  // Capped: no wait above maxBackoffMs, however many tries.
  expect(warnings.every((w) => Number(w.meta.retryInMs) <= 400)).toBe(true);
  expect(sink.deliveries()).toHaveLength(0);

  // The database is back: no restart, no call from outside.
  proxy.forward();
  const dispatcher = await r.ready();
  expect(r.current()).toBe(dispatcher);
  expect(r.state).toBe('started');
  const started = log.entries.filter((e) => e.msg === 'webhook dispatcher started');
  expect(started).toHaveLength(1);
  expect(started[0]).toMatchObject({ level: 'info' });
  expect(Number(started[0]?.meta.afterFailures)).toBeGreaterThanOrEqual(3);

  await waitFor(() => sink.deliveries().length >= 2, 20_000);
  const expected = await eventIdsFor(direct, endpoint);
  expect(expected).toHaveLength(2);
  expect((await sinkDeliveries(sink)).map((d) => d.id)).toEqual(expected);
  // The row is marked after the receiver answered: wait for that too.
  await waitFor(
    async () => (await deliveryRows(direct, endpoint)).every((d) => d.status === 'delivered'),
    5000,
  );
});

it('stops the pg-boss of a start that failed half-way before it tries again', async () => {
  proxy.forward();
  const endpoint = await subscribe(direct, sink);
  // A database lost just after pg-boss started: the queue's creation fails, once.
  let failCreateQueue = 1;
  const realQuery = proxied.query.bind(proxied) as (text: string, values?: unknown[]) => Promise<unknown>;
  proxied.query = ((text: string, values?: unknown[]) => {
    if (typeof text === 'string' && text.includes('.create_queue(') && failCreateQueue > 0) {
      failCreateQueue -= 1;
      return Promise.reject(
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      );
    }
    return realQuery(text, values);
  }) as Pool['query'];
  const stops: unknown[] = [];
  const realStop = PgBoss.prototype.stop;
  const spy = jest.spyOn(PgBoss.prototype, 'stop').mockImplementation(function (
    this: PgBoss,
    options?: PgBoss.StopOptions,
  ) {
    stops.push(options);
    return realStop.call(this, options);
  });
  try {
    const log = recordingLogger();
    retrying = startDispatcher(proxied, log);
    await retrying.ready();
    expect(retrying.failures).toBe(0);
    expect(log.entries.filter((e) => e.msg === 'webhook dispatcher not started; retrying')).toEqual([
      expect.objectContaining({
        meta: expect.objectContaining({
          failures: 1,
          problem: expect.stringContaining('terminating connection due to administrator command') as unknown,
        }) as unknown,
      }),
    ]);
    // The failed start's pg-boss, stopped at once (not gracefully: it has nothing to finish).
    expect(stops).toEqual([expect.objectContaining({ graceful: false, close: false })]);

    await insertVerification(direct);
    await waitFor(() => sink.deliveries().length >= 1, 20_000);
    await waitFor(
      async () => (await deliveryRows(direct, endpoint)).every((d) => d.status === 'delivered'),
      5000,
    );
  } finally {
    spy.mockRestore();
  }
});
