/**
 * The ARI connection supervisor (src/ari/ari-supervisor.ts) over a FakeClock, with an
 * EventEmitter standing in for ari-client's Client and a scripted connect() / onConnected():
 * the backoff table, the first connect retried forever, the connect deadline, the ping/pong
 * heartbeat, ari-client's own reconnect events taken over, abandoned clients ignored, stop().
 */
import { EventEmitter } from 'node:events';
import {
  ARI_SUPERVISOR_DEFAULTS,
  backoffMs,
  superviseAri,
  type AriSupervisorOptions,
  type SupervisedClient,
} from '../../src/ari/ari-supervisor';
import { FakeClock } from '../fakes/fake-clock';
import { flushPromises } from '../fakes/flush-promises';
import { probe } from '../fakes/promise-probe';

/** ari-client's Client as the supervisor sees it: events, ping() and stop(), recorded. */
class FakeClient extends EventEmitter implements SupervisedClient {
  /** Times (ms since the test started) of each ping(). */
  readonly pings: number[] = [];
  stops = 0;
  /** Like ari-client before a websocket was opened: stop() throws. */
  stopThrows = false;
  pingThrows: Error | null = null;

  constructor(
    readonly n: number,
    private readonly elapsed: () => number,
  ) {
    super();
  }

  ping(): void {
    if (this.pingThrows) throw this.pingThrows;
    this.pings.push(this.elapsed());
  }

  stop(): void {
    this.stops += 1;
    if (this.stopThrows) throw new TypeError("Cannot read properties of undefined (reading 'close')");
  }
}

/** What connect() does on its n-th call: fail, hang forever, succeed, or succeed after ms. */
type ConnectPlan = 'ok' | 'fail' | 'hang' | { after: number } | { rejectWith: unknown };
/** What onConnected() does on its n-th call. */
type StartPlan = 'ok' | 'reject' | 'hang' | { after: number; reject?: boolean };

interface RigOptions {
  /** Plans for the first calls; every later call succeeds. */
  connects?: ConnectPlan[];
  starts?: StartPlan[];
  random?: () => number;
  /** Every client's stop() throws (ari-client before its websocket opened). */
  stopThrows?: boolean;
  options?: Partial<AriSupervisorOptions<FakeClient>>;
}

const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);

function rig(opts: RigOptions = {}) {
  const clock = new FakeClock(T0);
  const elapsed = () => clock.now().getTime() - T0;
  const connects = [...(opts.connects ?? [])];
  const starts = [...(opts.starts ?? [])];
  /** Every client connect() produced (including late ones), in order. */
  const clients: FakeClient[] = [];
  /** When connect() was called (ms since the start). */
  const connectTimes: number[] = [];
  /** The clients onConnected() was called with, and when. */
  const started: Array<{ client: FakeClient; at: number; events: Array<string | symbol> }> = [];
  const logs: Array<{ level: 'info' | 'warn' | 'error'; msg: string; meta?: Record<string, unknown> }> = [];

  const newClient = () => {
    const c = new FakeClient(clients.length + 1, elapsed);
    c.stopThrows = opts.stopThrows ?? false;
    clients.push(c);
    return c;
  };

  const sup = superviseAri<FakeClient>({
    connect() {
      connectTimes.push(elapsed());
      const plan = connects.shift() ?? 'ok';
      if (plan === 'ok') return Promise.resolve(newClient());
      if (plan === 'fail') return Promise.reject(new Error(`ECONNREFUSED (try ${connectTimes.length})`));
      if (plan === 'hang') return new Promise<FakeClient>(() => undefined);
      // Not always an Error on purpose: the supervisor must describe whatever it gets.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if ('rejectWith' in plan) return Promise.reject(plan.rejectWith);
      return new Promise<FakeClient>((resolve) => clock.setTimer(plan.after, () => resolve(newClient())));
    },
    onConnected(client) {
      started.push({ client, at: elapsed(), events: client.eventNames() });
      const plan = starts.shift() ?? 'ok';
      if (plan === 'ok') return Promise.resolve();
      if (plan === 'reject') return Promise.reject(new Error('Stasis app registration refused'));
      if (plan === 'hang') return new Promise<void>(() => undefined);
      return new Promise<void>((resolve, reject) =>
        clock.setTimer(plan.after, () => (plan.reject ? reject(new Error('late refusal')) : resolve())),
      );
    },
    clock,
    log: {
      info: (msg, meta) => logs.push({ level: 'info', msg, meta }),
      warn: (msg, meta) => logs.push({ level: 'warn', msg, meta }),
      error: (msg, meta) => logs.push({ level: 'error', msg, meta }),
    },
    random: opts.random ?? (() => 1),
    ...opts.options,
  });
  return { clock, sup, clients, connectTimes, started, logs, elapsed };
}

const CONNECT_DEADLINE_MSG = `connecting to ARI did not finish within ${ARI_SUPERVISOR_DEFAULTS.connectTimeoutMs} ms`;
const START_DEADLINE_MSG = `starting the ARI application did not finish within ${ARI_SUPERVISOR_DEFAULTS.connectTimeoutMs} ms`;

describe('backoffMs', () => {
  it.each([
    [1, 500],
    [2, 1000],
    [3, 2000],
    [4, 4000],
    [5, 8000],
    [6, 10_000],
    [7, 10_000],
    [30, 10_000],
    [1000, 10_000],
  ])('doubles from the initial wait and caps it: attempt %i waits %i ms at full jitter', (n, ms) => {
    expect(backoffMs(n, 500, 10_000, () => 1)).toBe(ms);
  });

  it.each([
    [1, 250],
    [2, 500],
    [5, 4000],
    [6, 5000],
    [40, 5000],
  ])('with random 0, attempt %i waits half: %i ms', (n, ms) => {
    expect(backoffMs(n, 500, 10_000, () => 0)).toBe(ms);
  });

  it('takes attempt 0 (or less) as the first', () => {
    expect(backoffMs(0, 500, 10_000, () => 1)).toBe(500);
    expect(backoffMs(-3, 500, 10_000, () => 1)).toBe(500);
  });

  it('jitters linearly into [50%, 100%] of the capped wait', () => {
    expect(backoffMs(3, 500, 10_000, () => 0.5)).toBe(1500);
    expect(backoffMs(9, 500, 10_000, () => 0.25)).toBe(6250);
    let previous = 0;
    for (let i = 0; i < 100; i++) {
      const r = i / 100;
      const wait = backoffMs(6, 500, 10_000, () => r);
      expect(wait).toBeGreaterThanOrEqual(5000);
      expect(wait).toBeLessThanOrEqual(10_000);
      expect(wait).toBeGreaterThanOrEqual(previous);
      previous = wait;
    }
  });

  it('rounds to whole milliseconds', () => {
    expect(backoffMs(1, 333, 10_000, () => 0)).toBe(167);
    expect(backoffMs(1, 333, 10_000, () => 0.3)).toBe(216);
  });

  it('never waits longer than the cap, even when the initial wait is above it', () => {
    expect(backoffMs(1, 20_000, 10_000, () => 1)).toBe(10_000);
  });
});

describe('ARI supervisor: the first connect', () => {
  it('connects at once and reports connected', async () => {
    const r = rig();
    expect(r.connectTimes).toEqual([0]);
    expect(r.sup.state).toBe('connecting');
    await flushPromises();
    expect(r.sup.state).toBe('connected');
    expect(r.sup.client).toBe(r.clients[0]);
    expect(r.sup.failures).toBe(0);
    expect(r.sup.lastError).toBeNull();
    expect(r.started.map((s) => s.client)).toEqual([r.clients[0]]);
    await expect(r.sup.ready()).resolves.toBeUndefined();
    // Nothing to say "back" about after a first connect that worked.
    expect(r.logs.map((l) => l.msg)).not.toContain('ARI connection back');
  });

  it('retries forever (20 failures) with doubling, capped waits, then connects', async () => {
    const r = rig({ connects: Array<ConnectPlan>(20).fill('fail') });
    const ready = probe(r.sup.ready());
    await flushPromises();
    const waits = [500, 1000, 2000, 4000, 8000, ...Array<number>(15).fill(10_000)];
    for (let i = 0; i < waits.length; i++) {
      // After failure i+1: waiting to retry, with the count and the error for /v1/health.
      expect(r.sup.state).toBe('connecting');
      expect(r.sup.client).toBeNull();
      expect(r.sup.failures).toBe(i + 1);
      expect(r.sup.lastError).toBe(`ECONNREFUSED (try ${i + 1})`);
      expect(r.clock.nextTimerIn()).toBe(waits[i]);
      expect(ready.settled).toBe(false);
      await r.clock.advance(waits[i] ?? 0);
    }
    let at = 0;
    const expectedTimes = [0, ...waits.map((w) => (at += w))];
    expect(r.connectTimes).toEqual(expectedTimes);
    expect(r.connectTimes).toHaveLength(21);
    expect(r.sup.state).toBe('connected');
    expect(r.sup.client).toBe(r.clients[0]);
    expect(r.sup.failures).toBe(0);
    expect(r.sup.lastError).toBeNull();
    expect(ready.settled).toBe(true);
    expect(r.logs).toContainEqual({ level: 'info', msg: 'ARI connection back', meta: { after: 20 } });
    expect(r.logs.filter((l) => l.msg === 'ARI not reachable; will retry')).toHaveLength(20);
  });

  it('waits only half with random 0 (jitter)', async () => {
    const r = rig({ connects: ['fail', 'fail', 'fail', 'fail', 'fail', 'fail'], random: () => 0 });
    await flushPromises();
    await r.clock.advance(12_750);
    expect(r.connectTimes).toEqual([0, 250, 750, 1750, 3750, 7750, 12_750]);
    expect(r.sup.state).toBe('connected');
  });

  it('uses Math.random for the jitter when no random is given', async () => {
    const spy = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const r = rig({ connects: ['fail'], options: { random: undefined } });
      await flushPromises();
      expect(r.clock.nextTimerIn()).toBe(250);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('honours initialBackoffMs and maxBackoffMs', async () => {
    const r = rig({
      connects: ['fail', 'fail', 'fail', 'fail'],
      options: { initialBackoffMs: 100, maxBackoffMs: 300 },
    });
    await flushPromises();
    await r.clock.advance(5000);
    expect(r.connectTimes).toEqual([0, 100, 300, 600, 900]);
  });

  it('ready() resolves only once connected, and stays resolved', async () => {
    const r = rig({ connects: ['fail', 'fail'] });
    const first = probe(r.sup.ready());
    await flushPromises();
    await r.clock.advance(1499);
    expect(r.connectTimes).toEqual([0, 500]);
    expect(first.settled).toBe(false);
    await r.clock.advance(1);
    expect(first.settled).toBe(true);
    expect(first.error).toBeUndefined();
    await expect(r.sup.ready()).resolves.toBeUndefined();
  });

  it('is not connected before onConnected resolved', async () => {
    const r = rig({ starts: [{ after: 300 }] });
    const ready = probe(r.sup.ready());
    await r.clock.advance(299);
    expect(r.started).toHaveLength(1);
    expect(r.sup.state).toBe('connecting');
    expect(r.sup.client).toBeNull();
    expect(ready.settled).toBe(false);
    await r.clock.advance(1);
    expect(r.sup.state).toBe('connected');
    expect(r.sup.client).toBe(r.clients[0]);
    expect(ready.settled).toBe(true);
  });

  it('registers its handlers on the client before onConnected runs', async () => {
    const r = rig();
    await flushPromises();
    expect(r.started[0]?.events).toEqual(['pong', 'WebSocketReconnecting', 'WebSocketMaxRetries']);
    expect(r.started[0]?.at).toBe(0);
  });
});

describe('ARI supervisor: the connect deadline', () => {
  it('abandons a connect that hangs after connectTimeoutMs and retries', async () => {
    const r = rig({ connects: ['hang'] });
    await r.clock.advance(9999);
    expect(r.connectTimes).toEqual([0]);
    expect(r.sup.failures).toBe(0);
    expect(r.sup.state).toBe('connecting');
    await r.clock.advance(1);
    expect(r.sup.failures).toBe(1);
    expect(r.sup.lastError).toBe(CONNECT_DEADLINE_MSG);
    expect(r.sup.state).toBe('connecting');
    await r.clock.advance(500);
    expect(r.connectTimes).toEqual([0, 10_500]);
    expect(r.sup.state).toBe('connected');
    expect(r.sup.client).toBe(r.clients[0]);
  });

  it('keeps abandoning hanging connects, with the backoff growing', async () => {
    const r = rig({ connects: ['hang', 'hang', 'hang'] });
    await r.clock.advance(33_500);
    expect(r.connectTimes).toEqual([0, 10_500, 21_500, 33_500]);
    expect(r.sup.state).toBe('connected');
  });

  it('reports a connect rejecting with a non-Error as its text', async () => {
    const r = rig({ connects: [{ rejectWith: 'socket hang up' }] });
    await flushPromises();
    expect(r.sup.failures).toBe(1);
    expect(r.sup.lastError).toBe('socket hang up');
  });

  it('honours connectTimeoutMs', async () => {
    const r = rig({ connects: ['hang'], options: { connectTimeoutMs: 2000 } });
    await r.clock.advance(1999);
    expect(r.sup.failures).toBe(0);
    await r.clock.advance(1);
    expect(r.sup.lastError).toBe('connecting to ARI did not finish within 2000 ms');
  });

  it('never uses a client whose connect was abandoned and answered late', async () => {
    const r = rig({ connects: [{ after: 15_000 }] });
    await r.clock.advance(10_500);
    // The retry at 10.5 s connected a fresh client.
    expect(r.clients).toHaveLength(1);
    expect(r.sup.client).toBe(r.clients[0]);
    await r.clock.advance(5000);
    expect(r.clients).toHaveLength(2);
    expect(r.sup.client).toBe(r.clients[0]);
    expect(r.started.map((s) => s.client)).toEqual([r.clients[0]]);
    expect(r.sup.state).toBe('connected');
  });

  it('counts onConnected rejecting as a failed connect: the client is stopped and a new one tried', async () => {
    const r = rig({ starts: ['reject'] });
    const ready = probe(r.sup.ready());
    await flushPromises();
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.sup.state).toBe('connecting');
    expect(r.sup.client).toBeNull();
    expect(r.sup.failures).toBe(1);
    expect(r.sup.lastError).toBe('Stasis app registration refused');
    expect(ready.settled).toBe(false);
    await r.clock.advance(500);
    expect(r.connectTimes).toEqual([0, 500]);
    expect(r.started.map((s) => s.client)).toEqual([r.clients[0], r.clients[1]]);
    expect(r.sup.client).toBe(r.clients[1]);
    expect(r.sup.state).toBe('connected');
    expect(r.clients[1]?.stops).toBe(0);
    expect(ready.settled).toBe(true);
  });

  it('counts onConnected hanging past connectTimeoutMs as a failed connect', async () => {
    const r = rig({ starts: ['hang'] });
    await r.clock.advance(9999);
    expect(r.clients[0]?.stops).toBe(0);
    expect(r.sup.state).toBe('connecting');
    await r.clock.advance(1);
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.sup.failures).toBe(1);
    expect(r.sup.lastError).toBe(START_DEADLINE_MSG);
    await r.clock.advance(500);
    expect(r.sup.client).toBe(r.clients[1]);
    expect(r.started).toHaveLength(2);
  });

  it('keeps going when stopping the failed client throws (no websocket opened yet)', async () => {
    const r = rig({ starts: ['reject'], stopThrows: true });
    await flushPromises();
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.sup.failures).toBe(1);
    expect(r.sup.state).toBe('connecting');
    await r.clock.advance(500);
    expect(r.sup.state).toBe('connected');
    expect(r.sup.client).toBe(r.clients[1]);
  });

  it('has no connect deadline timer left once connected', async () => {
    const r = rig();
    await flushPromises();
    // Only the heartbeat's ping timer.
    expect(r.clock.pendingTimers).toBe(1);
    expect(r.clock.nextTimerIn()).toBe(ARI_SUPERVISOR_DEFAULTS.pingIntervalMs);
  });

  // One deadline for both: a slow connect leaves onConnected only the rest of it (not a fresh
  // connectTimeoutMs, which would let one attempt stall the loop for twice as long).
  it('bounds connect and onConnected together by connectTimeoutMs', async () => {
    const r = rig({ connects: [{ after: 6000 }], starts: ['hang'] });
    await r.clock.advance(6000);
    expect(r.started).toHaveLength(1);
    await r.clock.advance(3999);
    expect(r.clients[0]?.stops).toBe(0);
    expect(r.sup.failures).toBe(0);
    await r.clock.advance(1);
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.sup.failures).toBe(1);
    expect(r.sup.lastError).toBe(START_DEADLINE_MSG);
  });
});

describe('ARI supervisor: heartbeat', () => {
  it('pings every pingIntervalMs while pongs come back, and stays connected', async () => {
    const r = rig();
    await flushPromises();
    const c = r.clients[0];
    if (!c) throw new Error('no client');
    for (let i = 1; i <= 5; i++) {
      await r.clock.advance(4000);
      expect(c.pings).toHaveLength(i);
      c.emit('pong');
      await flushPromises();
    }
    expect(c.pings).toEqual([4000, 8000, 12_000, 16_000, 20_000]);
    expect(r.sup.state).toBe('connected');
    expect(r.connectTimes).toEqual([0]);
    expect(c.stops).toBe(0);
    expect(r.clock.pendingTimers).toBe(1);
  });

  it('a pong re-arms: the next ping comes pingIntervalMs after the pong, no drop at the old deadline', async () => {
    const r = rig();
    await flushPromises();
    const c = r.clients[0];
    if (!c) throw new Error('no client');
    await r.clock.advance(4100);
    c.emit('pong');
    await r.clock.advance(4900); // t = 9000: when the first ping's deadline would have been
    expect(r.sup.state).toBe('connected');
    expect(c.pings).toEqual([4000, 8100]);
    expect(c.stops).toBe(0);
  });

  it('no pong within pongDeadlineMs: the old client is stopped and a new one connected (within 10 s)', async () => {
    expect(
      ARI_SUPERVISOR_DEFAULTS.pingIntervalMs + ARI_SUPERVISOR_DEFAULTS.pongDeadlineMs,
    ).toBeLessThanOrEqual(10_000);
    const r = rig();
    await flushPromises();
    const old = r.clients[0];
    await r.clock.advance(8999);
    expect(old?.pings).toEqual([4000]);
    expect(r.sup.state).toBe('connected');
    await r.clock.advance(1);
    // Noticed at ping interval + pong deadline = 9 s after the last sign of life.
    expect(old?.stops).toBe(1);
    expect(r.sup.state).toBe('connecting');
    expect(r.sup.client).toBeNull();
    expect(r.sup.failures).toBe(1);
    expect(r.sup.lastError).toBe('no pong within 5000 ms (half-open websocket)');
    expect(r.logs).toContainEqual({
      level: 'warn',
      msg: 'ARI connection lost; reconnecting',
      meta: { problem: 'no pong within 5000 ms (half-open websocket)' },
    });
    await r.clock.advance(500);
    expect(r.connectTimes).toEqual([0, 9500]);
    expect(r.sup.state).toBe('connected');
    expect(r.sup.client).toBe(r.clients[1]);
    expect(r.started.map((s) => s.client)).toEqual([old, r.clients[1]]);
    expect(r.sup.failures).toBe(0);
    expect(r.sup.lastError).toBeNull();
    // The new client is the one pinged from now on.
    await r.clock.advance(4000);
    expect(r.clients[1]?.pings).toEqual([13_500]);
    expect(old?.pings).toEqual([4000]);
  });

  it('honours pingIntervalMs and pongDeadlineMs', async () => {
    const r = rig({ options: { pingIntervalMs: 1000, pongDeadlineMs: 300 } });
    await flushPromises();
    await r.clock.advance(1299);
    expect(r.clients[0]?.pings).toEqual([1000]);
    expect(r.sup.state).toBe('connected');
    await r.clock.advance(1);
    expect(r.sup.state).toBe('connecting');
    expect(r.sup.lastError).toBe('no pong within 300 ms (half-open websocket)');
  });

  it('a ping that throws is a lost connection at once', async () => {
    const r = rig();
    await flushPromises();
    const c = r.clients[0];
    if (!c) throw new Error('no client');
    c.pingThrows = new Error('WebSocket is not open: readyState 3 (CLOSED)');
    await r.clock.advance(4000);
    expect(c.stops).toBe(1);
    expect(r.sup.state).toBe('connecting');
    expect(r.sup.lastError).toBe('websocket ping failed: WebSocket is not open: readyState 3 (CLOSED)');
    await r.clock.advance(500);
    expect(r.sup.client).toBe(r.clients[1]);
  });
});

describe("ARI supervisor: taking over from ari-client's reconnect", () => {
  it.each([
    ['WebSocketReconnecting', 'websocket closed'],
    ['WebSocketMaxRetries', 'websocket retries exhausted'],
  ])('%s: the client is stopped and a new one connected and handed to onConnected', async (event, why) => {
    const r = rig();
    await flushPromises();
    const old = r.clients[0];
    if (!old) throw new Error('no client');
    await r.clock.advance(1000);
    old.emit(event, new Error('socket hang up'));
    expect(old.stops).toBe(1);
    expect(r.sup.state).toBe('connecting');
    expect(r.sup.client).toBeNull();
    expect(r.sup.lastError).toBe(why);
    expect(r.sup.failures).toBe(1);
    // The old heartbeat is gone: only the retry timer is left.
    expect(r.clock.pendingTimers).toBe(1);
    expect(r.clock.nextTimerIn()).toBe(500);
    await r.clock.advance(500);
    expect(r.connectTimes).toEqual([0, 1500]);
    expect(r.started.map((s) => s.client)).toEqual([old, r.clients[1]]);
    expect(r.sup.client).toBe(r.clients[1]);
    expect(r.sup.state).toBe('connected');
    expect(r.sup.failures).toBe(0);
    expect(r.sup.lastError).toBeNull();
  });

  it('backs off further while reconnects fail, and keeps the failure count', async () => {
    const r = rig({ connects: ['ok', 'fail', 'fail'] });
    await flushPromises();
    r.clients[0]?.emit('WebSocketReconnecting');
    await r.clock.advance(500);
    expect(r.sup.failures).toBe(2);
    await r.clock.advance(1000);
    expect(r.sup.failures).toBe(3);
    await r.clock.advance(2000);
    expect(r.connectTimes).toEqual([0, 500, 1500, 3500]);
    expect(r.sup.state).toBe('connected');
    expect(r.logs).toContainEqual({ level: 'info', msg: 'ARI connection back', meta: { after: 3 } });
  });

  it('a second sign of loss before the reconnect schedules nothing more', async () => {
    const r = rig();
    await flushPromises();
    const old = r.clients[0];
    old?.emit('WebSocketReconnecting');
    old?.emit('WebSocketMaxRetries');
    expect(old?.stops).toBe(1);
    expect(r.sup.lastError).toBe('websocket closed');
    expect(r.clock.pendingTimers).toBe(1);
    await r.clock.advance(3000);
    expect(r.connectTimes).toEqual([0, 500]);
    expect(r.sup.client).toBe(r.clients[1]);
  });

  it('a loss while onConnected runs, then onConnected rejecting: the rejection is not a second failure', async () => {
    const r = rig({ starts: [{ after: 2000, reject: true }, 'hang'] });
    await r.clock.advance(1000);
    r.clients[0]?.emit('WebSocketMaxRetries');
    expect(r.sup.failures).toBe(1);
    await r.clock.advance(500);
    // The retry's client is now in its own (hanging) onConnected.
    expect(r.started).toHaveLength(2);
    await r.clock.advance(1500);
    expect(r.sup.failures).toBe(1);
    expect(r.sup.lastError).toBe('websocket retries exhausted');
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.clients[1]?.stops).toBe(0);
    expect(r.connectTimes).toEqual([0, 1500]);
  });

  it('a loss while onConnected still runs stops that client and never adopts it', async () => {
    const r = rig({ starts: [{ after: 2000 }] });
    await r.clock.advance(1000);
    const candidate = r.clients[0];
    candidate?.emit('WebSocketReconnecting');
    expect(candidate?.stops).toBe(1);
    expect(r.sup.state).toBe('connecting');
    await r.clock.advance(500);
    // The retry connected a second client; the first one's onConnected then finishes late.
    expect(r.sup.client).toBe(r.clients[1]);
    await r.clock.advance(2000);
    expect(r.sup.client).toBe(r.clients[1]);
    expect(r.sup.state).toBe('connected');
    expect(candidate?.stops).toBe(1);
  });
});

describe('ARI supervisor: events of an abandoned client', () => {
  async function reconnected() {
    const r = rig();
    await flushPromises();
    const old = r.clients[0];
    if (!old) throw new Error('no client');
    old.emit('WebSocketReconnecting');
    await r.clock.advance(500);
    const current = r.clients[1];
    if (!current) throw new Error('no second client');
    expect(r.sup.client).toBe(current);
    return { ...r, old, current };
  }

  it.each(['WebSocketReconnecting', 'WebSocketMaxRetries'])(
    '%s from the old client is ignored',
    async (event) => {
      const r = await reconnected();
      r.old.emit(event);
      await r.clock.advance(3000);
      expect(r.sup.state).toBe('connected');
      expect(r.sup.client).toBe(r.current);
      expect(r.sup.lastError).toBeNull();
      expect(r.current.stops).toBe(0);
      expect(r.connectTimes).toEqual([0, 500]);
    },
  );

  it("a pong from the old client does not answer the new client's ping", async () => {
    const r = await reconnected();
    await r.clock.advance(4000);
    expect(r.current.pings).toEqual([4500]);
    r.old.emit('pong');
    await r.clock.advance(5000);
    expect(r.current.stops).toBe(1);
    expect(r.sup.state).toBe('connecting');
    expect(r.sup.lastError).toBe('no pong within 5000 ms (half-open websocket)');
  });
});

describe('ARI supervisor: stop()', () => {
  it('while connected: stops the client, clears every timer, connects no more', async () => {
    const r = rig();
    await flushPromises();
    const c = r.clients[0];
    if (!c) throw new Error('no client');
    r.sup.stop();
    expect(r.sup.state).toBe('stopped');
    expect(r.sup.client).toBeNull();
    expect(c.stops).toBe(1);
    expect(r.clock.pendingTimers).toBe(0);
    // Later signs of loss from the stopped client change nothing.
    c.emit('WebSocketReconnecting');
    c.emit('pong');
    await r.clock.advance(120_000);
    expect(r.connectTimes).toEqual([0]);
    expect(c.pings).toEqual([]);
    expect(c.stops).toBe(1);
    expect(r.sup.state).toBe('stopped');
    expect(r.clock.pendingTimers).toBe(0);
  });

  it('while waiting for the pong: the pong deadline is cleared too', async () => {
    const r = rig();
    await flushPromises();
    await r.clock.advance(4000);
    expect(r.clock.pendingTimers).toBe(1);
    r.sup.stop();
    expect(r.clock.pendingTimers).toBe(0);
    await r.clock.advance(60_000);
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.connectTimes).toEqual([0]);
  });

  it('while waiting to retry: no timer left, no more connects', async () => {
    const r = rig({ connects: ['fail'] });
    await flushPromises();
    expect(r.clock.pendingTimers).toBe(1);
    r.sup.stop();
    expect(r.clock.pendingTimers).toBe(0);
    await r.clock.advance(120_000);
    expect(r.connectTimes).toEqual([0]);
    expect(r.sup.state).toBe('stopped');
  });

  it('after a loss, before the reconnect: no more connects', async () => {
    const r = rig();
    await flushPromises();
    r.clients[0]?.emit('WebSocketMaxRetries');
    r.sup.stop();
    expect(r.clock.pendingTimers).toBe(0);
    await r.clock.advance(60_000);
    expect(r.connectTimes).toEqual([0]);
  });

  it('while a connect is under way: its client is stopped when it arrives, never handed on', async () => {
    const r = rig({ connects: [{ after: 3000 }] });
    await r.clock.advance(1000);
    r.sup.stop();
    await r.clock.advance(2000);
    expect(r.clients).toHaveLength(1);
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.started).toEqual([]);
    await r.clock.advance(60_000);
    expect(r.sup.state).toBe('stopped');
    expect(r.sup.client).toBeNull();
    expect(r.sup.failures).toBe(0);
    expect(r.connectTimes).toEqual([0]);
  });

  it('while a connect hangs: its deadline passing later changes nothing', async () => {
    const r = rig({ connects: ['hang'] });
    await r.clock.advance(1000);
    r.sup.stop();
    await r.clock.advance(60_000);
    expect(r.connectTimes).toEqual([0]);
    expect(r.sup.state).toBe('stopped');
    expect(r.sup.failures).toBe(0);
    expect(r.sup.lastError).toBeNull();
  });

  // A client between connect and the end of onConnected (its app start under way) is not yet
  // `client`, but must be stopped all the same, and never adopted when onConnected finishes.
  it('while onConnected still runs: that client is stopped', async () => {
    const r = rig({ starts: [{ after: 2000 }] });
    await r.clock.advance(1000);
    expect(r.started).toHaveLength(1);
    r.sup.stop();
    expect(r.clients[0]?.stops).toBe(1);
    await r.clock.advance(5000);
    expect(r.sup.state).toBe('stopped');
    expect(r.sup.client).toBeNull();
    expect(r.clients[0]?.stops).toBe(1);
  });

  it('a client whose stop() throws is still let go', async () => {
    const r = rig();
    await flushPromises();
    const c = r.clients[0];
    if (!c) throw new Error('no client');
    c.stopThrows = true;
    expect(() => r.sup.stop()).not.toThrow();
    expect(c.stops).toBe(1);
    expect(r.sup.client).toBeNull();
    expect(r.sup.state).toBe('stopped');
  });

  it('twice is harmless', async () => {
    const r = rig();
    await flushPromises();
    r.sup.stop();
    r.sup.stop();
    expect(r.clients[0]?.stops).toBe(1);
    expect(r.clock.pendingTimers).toBe(0);
  });
});
