/**
 * startWithRetry (src/store/start-with-retry.ts) over a FakeClock with a scripted start(): a
 * first start that works, failures retried on the ARI supervisor's backoff (capped, jittered),
 * problems named in the log, use() telling its callers why there is no service yet, stop()
 * during the backoff, after the start and during an attempt, and no unhandled rejection on any of
 * these paths.
 */
import { backoffMs } from '../../src/ari/ari-supervisor';
import { describeDbError } from '../../src/store/db';
import {
  ServiceNotStartedError,
  START_WITH_RETRY_DEFAULTS,
  startWithRetry,
  type StartWithRetryOptions,
} from '../../src/store/start-with-retry';
import { FakeClock } from '../fakes/fake-clock';
import { FakeFlowLogger } from '../fakes/fake-flow-logger';
import { flushPromises } from '../fakes/flush-promises';
import { probe } from '../fakes/promise-probe';

/** A started service as the queues are: something with stop(). */
class FakeService {
  stops = 0;
  stopFails: Error | null = null;
  constructor(readonly n: number) {}
  stop(): Promise<void> {
    this.stops += 1;
    return this.stopFails ? Promise.reject(this.stopFails) : Promise.resolve();
  }
}

/** What start() does on its n-th call: fail, hang until the test settles it, or succeed. */
type StartPlan = 'ok' | 'fail' | 'throw' | 'held';

const DB_URL = 'postgres://pinverify:secret@db.example:5433/pinverify';

/** pg's error for a server where nothing listens. */
function refused(n: number): Error {
  return Object.assign(new Error(`connect ECONNREFUSED 10.0.0.9:5433 (try ${n})`), { code: 'ECONNREFUSED' });
}

function rig(plans: StartPlan[] = [], options: Partial<StartWithRetryOptions<FakeService>> = {}) {
  const clock = new FakeClock();
  const t0 = clock.now().getTime();
  const log = new FakeFlowLogger();
  const services: FakeService[] = [];
  /** When start() was called (ms since the rig was built). */
  const calls: number[] = [];
  /** Settles the attempt of a 'held' plan. */
  const held: Array<{ resolve(stopFails?: Error): void; reject(err: Error): void }> = [];
  const retrying = startWithRetry<FakeService>({
    name: 'test queue',
    start() {
      calls.push(clock.now().getTime() - t0);
      const plan = plans.shift() ?? 'ok';
      const service = (stopFails: Error | null = null) => {
        const s = new FakeService(services.length + 1);
        s.stopFails = stopFails;
        services.push(s);
        return s;
      };
      if (plan === 'ok') return Promise.resolve(service());
      if (plan === 'fail') return Promise.reject(refused(calls.length));
      // A start() that is not an async function and throws before it returns a promise.
      if (plan === 'throw') throw new TypeError('pool is not configured');
      return new Promise<FakeService>((resolve, reject) =>
        held.push({ resolve: (stopFails) => resolve(service(stopFails)), reject }),
      );
    },
    clock,
    log,
    describe: (err) => describeDbError(err, DB_URL),
    random: () => 1,
    ...options,
  });
  return { clock, log, services, calls, held, retrying };
}

// No unhandled rejection: jest-circus fails the running test on any (its handler replaces the
// process's), so every path below is checked by simply running it. A rejection is reported only
// after the microtasks that could have handled it: let them run before the test ends.
afterEach(async () => {
  await flushPromises();
  await flushPromises();
});

describe('startWithRetry: a start that works', () => {
  it('starts once, at once, and says nothing', async () => {
    const r = rig();
    expect(r.calls).toEqual([0]);
    expect(r.retrying.state).toBe('starting');
    expect(r.retrying.current()).toBeNull();
    await r.retrying.firstAttempt();
    expect(r.retrying.state).toBe('started');
    expect(r.retrying.current()).toBe(r.services[0]);
    await expect(r.retrying.ready()).resolves.toBe(r.services[0]);
    expect(r.retrying.failures).toBe(0);
    expect(r.retrying.lastError).toBeNull();
    expect(r.clock.pendingTimers).toBe(0);
    expect(r.log.entries).toEqual([]);
  });
});

describe('startWithRetry: a start that fails', () => {
  it('fails twice, waits the backoff of backoffMs each time, then starts and says so', async () => {
    const r = rig(['fail', 'fail']);
    const ready = probe(r.retrying.ready());
    await r.retrying.firstAttempt();
    const { initialBackoffMs: initial, maxBackoffMs: max } = START_WITH_RETRY_DEFAULTS;
    const first = backoffMs(1, initial, max, () => 1);
    const second = backoffMs(2, initial, max, () => 1);
    expect([first, second]).toEqual([1000, 2000]);

    // Failure 1: the problem named, the next try scheduled.
    expect(r.retrying.state).toBe('starting');
    expect(r.retrying.current()).toBeNull();
    expect(r.retrying.failures).toBe(1);
    expect(r.retrying.lastError).toBe(
      'cannot connect to db.example:5433 (connection refused): is PostgreSQL running?',
    );
    expect(r.clock.nextTimerIn()).toBe(first);
    await r.clock.advance(first - 1);
    expect(r.calls).toEqual([0]);
    await r.clock.advance(1);
    expect(r.calls).toEqual([0, first]);

    // Failure 2: a longer wait.
    expect(r.retrying.failures).toBe(2);
    expect(r.clock.nextTimerIn()).toBe(second);
    expect(ready.settled).toBe(false);
    await r.clock.advance(second);
    expect(r.calls).toEqual([0, first, first + second]);

    expect(r.retrying.state).toBe('started');
    expect(r.retrying.current()).toBe(r.services[0]);
    expect(ready.value).toBe(r.services[0]);
    expect(r.retrying.failures).toBe(0);
    expect(r.retrying.lastError).toBeNull();
    expect(r.clock.pendingTimers).toBe(0);
    expect(r.log.entries).toEqual([
      {
        level: 'warn',
        msg: 'test queue not started; retrying',
        meta: {
          problem: 'cannot connect to db.example:5433 (connection refused): is PostgreSQL running?',
          failures: 1,
          retryInMs: first,
        },
      },
      {
        level: 'warn',
        msg: 'test queue not started; retrying',
        meta: {
          problem: 'cannot connect to db.example:5433 (connection refused): is PostgreSQL running?',
          failures: 2,
          retryInMs: second,
        },
      },
      { level: 'info', msg: 'test queue started', meta: { afterFailures: 2 } },
    ]);
  });

  it('caps the wait and jitters it as backoffMs does, for as long as it takes', async () => {
    const random = [0, 1, 0.5, 0, 1, 0.25, 1, 0];
    let i = 0;
    const r = rig(Array<StartPlan>(random.length).fill('fail'), {
      initialBackoffMs: 500,
      maxBackoffMs: 4000,
      random: () => random[i++ % random.length] ?? 1,
    });
    await r.retrying.firstAttempt();
    const waits: number[] = [];
    for (let n = 1; n <= random.length; n++) {
      const wait = r.clock.nextTimerIn();
      if (wait === null) throw new Error('no retry scheduled');
      waits.push(wait);
      await r.clock.advance(wait);
    }
    const expected = random.map((x, n) => backoffMs(n + 1, 500, 4000, () => x));
    expect(waits).toEqual(expected);
    expect(waits).toEqual([250, 1000, 1500, 2000, 4000, 2500, 4000, 2000]);
    expect(Math.max(...waits)).toBeLessThanOrEqual(4000);
    expect(r.retrying.state).toBe('started');
    expect(r.calls).toHaveLength(random.length + 1);
  });

  it('takes a start() that throws instead of rejecting as a failure, described by its message without describe', async () => {
    const r = rig(['throw'], { describe: undefined });
    await r.retrying.firstAttempt();
    expect(r.retrying.lastError).toBe('pool is not configured');
    expect(r.log.entries[0]).toMatchObject({ level: 'warn', meta: { problem: 'pool is not configured' } });
    await r.clock.advanceToNextTimer();
    expect(r.retrying.current()).toBe(r.services[0]);
  });

  it('logs what does not work meanwhile, when told', async () => {
    const r = rig(['fail'], { meanwhile: 'webhook events wait in Postgres' });
    await r.retrying.firstAttempt();
    expect(r.log.entries[0]?.meta).toMatchObject({ meanwhile: 'webhook events wait in Postgres' });
  });

  it('runs one attempt at a time: a start that hangs is waited for, not piled on', async () => {
    const r = rig(['held']);
    const first = probe(r.retrying.firstAttempt());
    await r.clock.advance(10 * 60_000);
    expect(r.calls).toEqual([0]);
    expect(first.settled).toBe(false);
    expect(r.clock.pendingTimers).toBe(0);
    r.held[0]?.resolve();
    await flushPromises();
    expect(first.settled).toBe(true);
    expect(r.retrying.current()).toBe(r.services[0]);
  });
});

describe('startWithRetry: use()', () => {
  const name = (s: FakeService) => Promise.resolve(`service ${s.n}`);

  it('runs fn with the started service', async () => {
    const r = rig();
    await r.retrying.ready();
    await expect(r.retrying.use(name)).resolves.toBe('service 1');
  });

  it('says in words why there is none: still starting, then the database, then shutting down', async () => {
    const r = rig(['held', 'fail']);
    await expect(r.retrying.use(name)).rejects.toThrow(
      new ServiceNotStartedError('the test queue is still starting'),
    );
    r.held[0]?.reject(refused(1));
    await r.retrying.firstAttempt();
    const notYet = r.retrying.use(name);
    await expect(notYet).rejects.toBeInstanceOf(ServiceNotStartedError);
    await expect(notYet).rejects.toThrow(
      'the test queue is not started yet because the database could not be reached (pinverify keeps trying)',
    );
    // Still so while the next try is under way and after it fails too.
    await r.clock.advanceToNextTimer();
    expect(r.retrying.failures).toBe(2);
    await expect(r.retrying.use(name)).rejects.toThrow(/not started yet because the database/);
    await r.retrying.stop();
    await expect(r.retrying.use(name)).rejects.toThrow(
      new ServiceNotStartedError('the test queue is stopped: pinverify is shutting down'),
    );
  });

  it('still reaches a service stopped by stop(), as its users reached it before', async () => {
    const r = rig();
    await r.retrying.ready();
    await r.retrying.stop();
    await expect(r.retrying.use(name)).resolves.toBe('service 1');
  });
});

describe('startWithRetry: stop()', () => {
  it('during the backoff: no further attempt, ready() rejects in words, nothing unhandled', async () => {
    const r = rig(['fail', 'fail']);
    const ready = probe(r.retrying.ready());
    await r.retrying.firstAttempt();
    expect(r.clock.pendingTimers).toBe(1);
    await r.retrying.stop();
    expect(r.retrying.state).toBe('stopped');
    expect(r.clock.pendingTimers).toBe(0);
    await r.clock.advance(60 * 60_000);
    expect(r.calls).toEqual([0]);
    expect(r.retrying.current()).toBeNull();
    expect(ready.error).toBeInstanceOf(ServiceNotStartedError);
    expect(ready.error).toMatchObject({ message: 'the test queue was stopped before it started' });
    await expect(r.retrying.ready()).rejects.toThrow(ServiceNotStartedError);
  });

  it('during the backoff, with nobody waiting on ready(): still no unhandled rejection', async () => {
    const r = rig(['fail']);
    await r.retrying.firstAttempt();
    await r.retrying.stop();
    await r.clock.advance(60_000);
    expect(r.calls).toEqual([0]);
  });

  it('after the start: stops the service once, and keeps it as current()', async () => {
    const r = rig();
    await r.retrying.ready();
    const service = r.services[0];
    await r.retrying.stop();
    await r.retrying.stop();
    expect(service?.stops).toBe(1);
    expect(r.retrying.state).toBe('stopped');
    expect(r.retrying.current()).toBe(service);
    expect(r.clock.pendingTimers).toBe(0);
  });

  it("after the start: passes on the service's failure to stop", async () => {
    const r = rig();
    await r.retrying.ready();
    const service = r.services[0];
    if (!service) throw new Error('not started');
    service.stopFails = new Error('pg-boss did not stop in time');
    await expect(r.retrying.stop()).rejects.toThrow('pg-boss did not stop in time');
  });

  it('after the start of a service without stop(): nothing to stop', async () => {
    const clock = new FakeClock();
    const log = new FakeFlowLogger();
    const plain = { name: 'no stop here' };
    const retrying = startWithRetry({ name: 'plain', start: () => Promise.resolve(plain), clock, log });
    await expect(retrying.ready()).resolves.toBe(plain);
    await expect(retrying.stop()).resolves.toBeUndefined();
  });

  it('during an attempt: does not wait for it, and stops the service it starts after all', async () => {
    const r = rig(['held']);
    const first = probe(r.retrying.firstAttempt());
    await flushPromises();
    await r.retrying.stop();
    expect(first.settled).toBe(true);
    r.held[0]?.resolve();
    await flushPromises();
    expect(r.services[0]?.stops).toBe(1);
    expect(r.retrying.current()).toBeNull();
    expect(r.retrying.state).toBe('stopped');
    expect(r.clock.pendingTimers).toBe(0);
  });

  it('during an attempt that then fails (the pool ended under it): no retry, nothing logged', async () => {
    const r = rig(['held']);
    await flushPromises();
    await r.retrying.stop();
    r.held[0]?.reject(new Error('Cannot use a pool after calling end on the pool'));
    await flushPromises();
    await r.clock.advance(60_000);
    expect(r.calls).toEqual([0]);
    expect(r.log.entries).toEqual([]);
    expect(r.clock.pendingTimers).toBe(0);
  });

  it('during an attempt whose late service does not stop: logged, not thrown', async () => {
    const r = rig(['held']);
    await r.retrying.stop();
    r.held[0]?.resolve(new Error('pg-boss did not stop in time'));
    await flushPromises();
    expect(r.services[0]?.stops).toBe(1);
    expect(r.log.entries).toEqual([
      {
        level: 'warn',
        msg: 'test queue started during shutdown and did not stop',
        meta: { problem: 'db.example:5433: pg-boss did not stop in time' },
      },
    ]);
  });
});
