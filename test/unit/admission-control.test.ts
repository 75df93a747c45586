import { EventEmitter } from 'node:events';
import type { Client } from 'ari-client';
import { admissionVerdict, createSustainedLevel, estimatePoolWaitMs } from '../../src/call/admission-control';
import { createStasisApp, type StasisEntry } from '../../src/ari/stasis-app';
import { createFlowHarness, SUPPORT_ROUTE } from '../fakes/flow-harness';

const LIMITS = { maxCallsInApp: 3, maxEventLoopLagMs: 200, maxPoolWaitMs: 500 };
const CALM = { callsInApp: 0, eventLoopLagMs: 5, poolWaitMs: 0 };

describe('admissionVerdict', () => {
  test.each([
    [CALM, null],
    [{ ...CALM, callsInApp: 2 }, null],
    [{ ...CALM, callsInApp: 3 }, 'calls in the app at the ceiling of 3'],
    [{ ...CALM, eventLoopLagMs: 200 }, null],
    [{ ...CALM, eventLoopLagMs: 200.4 }, 'event-loop lag 200 ms over 200 ms'],
    [{ ...CALM, poolWaitMs: 500 }, null],
    [
      { ...CALM, poolWaitMs: 730.6 },
      'queries wait about 731 ms for a Postgres connection (over 500 ms for a second)',
    ],
    [
      { ...CALM, poolWaitMs: Number.POSITIVE_INFINITY },
      'queries wait for a Postgres connection and none has finished for a second',
    ],
    // The ceiling is named first when several limits are exceeded.
    [{ callsInApp: 9, eventLoopLagMs: 900, poolWaitMs: 9999 }, 'calls in the app at the ceiling of 3'],
  ])('%j -> %s', (signals, verdict) => {
    expect(admissionVerdict(signals, LIMITS)).toBe(verdict);
  });
});

describe('estimatePoolWaitMs (waiting queries / connections released per second)', () => {
  test.each([
    // Nothing waiting: no wait, whatever the rate.
    [0, 0, 0],
    [0, 500, 0],
    // 60 calls/s on the lab: a long queue that moves fast is a short wait.
    [90, 1200, 75],
    [25, 250, 100],
    // A queue that barely moves is a long wait.
    [30, 20, 1500],
    // Waiting with nothing released: the database does not answer.
    [5, 0, Number.POSITIVE_INFINITY],
  ])('%d waiting, %d released in the last second -> %d ms', (waiting, released, ms) => {
    expect(estimatePoolWaitMs(waiting, released)).toBe(ms);
  });
});

describe('createSustainedLevel (the pool and lag signals: a level held for the whole window, not a blip)', () => {
  test.each([
    [[], 0],
    [[30], 30],
    [[0, 0, 45, 0], 0],
    [[25, 30, 22, 40], 22],
    // Only the last `size` (4) samples count: the early zero has left the window.
    [[0, 25, 30, 22, 40], 22],
    // Event-loop lag p99s per quarter second: one 400 ms stall is not a process falling behind...
    [[3, 400, 5, 4], 3],
    // ...a lag in every quarter of the second is.
    [[250, 310, 220, 400], 220],
  ])('samples %j -> %d', (samples, level) => {
    const l = createSustainedLevel(4);
    for (const v of samples) l.sample(v);
    expect(l.value()).toBe(level);
  });
});

describe('the Stasis app sheds what admission control refuses', () => {
  test('a refused call starts as overloaded; admitted ones as usual; a draining app does not ask', () => {
    const client = new EventEmitter();
    const started: StasisEntry[] = [];
    let refuse: string | null = null;
    const warnings: string[] = [];
    const app = createStasisApp({
      app: 'pinverify',
      client: () => client as unknown as Client,
      log: { info: () => undefined, warn: (m) => warnings.push(m) },
      admit: () => refuse,
      startCall(entry) {
        started.push(entry);
        return { handle: () => undefined, interrupt: () => undefined, done: new Promise(() => undefined) };
      },
    });
    app.attach(client);
    const enter = (id: string) =>
      client.emit(
        'StasisStart',
        { application: 'pinverify', args: [] },
        { id, caller: { number: '1' }, dialplan: { context: 'x' } },
      );
    enter('a');
    refuse = 'calls in the app at the ceiling of 1';
    enter('b');
    app.drain();
    enter('c');
    expect(started.map((e) => [e.channelId, e.overloaded ?? false, e.reclaimed ?? false])).toEqual([
      ['a', false, false],
      ['b', true, false],
      ['c', false, true],
    ]);
    expect(warnings).toEqual(['overloaded: shedding new calls to their failed destination']);
  });
});

describe('an overloaded call', () => {
  test('goes straight to the route failed destination with reason overloaded, nothing asked or sent', async () => {
    const h = createFlowHarness({ entry: { overloaded: true } });
    const call = await h.run();
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'overloaded',
      route: SUPPORT_ROUTE.previousHop,
    });
    expect(call.outcome.destination).toBe('2901@pinverify-destinations:1');
    expect(call.variables).toMatchObject({ __PINVERIFY_RESULT: 'failed', __PINVERIFY_REASON: 'overloaded' });
    expect(call.prompts).toEqual([]);
    expect(h.delivery.sent).toEqual([]);
    expect(h.contacts.lookups).toEqual([]);
    expect(h.audit.details('refused')).toEqual([{ error: 'overloaded' }]);
    expect(h.clock.now().getTime() - Date.UTC(2025, 0, 15, 9, 0, 0)).toBe(0);
  });
});

describe('a caller who pressed * in the sub-IVR greeting (Stasis arg action=bail)', () => {
  test('is not asked anything and goes to the route failed destination as caller_bailed', async () => {
    const h = createFlowHarness({ entry: { args: { action: 'bail' } } });
    const call = await h.run();
    expect(call.outcome).toMatchObject({
      result: 'failed',
      reason: 'caller_bailed',
      route: SUPPORT_ROUTE.previousHop,
      method: null,
    });
    expect(call.outcome.destination).toBe('2901@pinverify-destinations:1');
    expect(call.variables).toMatchObject({
      __PINVERIFY_RESULT: 'failed',
      __PINVERIFY_REASON: 'caller_bailed',
    });
    expect(call.prompts).toEqual(['not-verified']);
    expect(h.delivery.sent).toEqual([]);
    expect(h.contacts.lookups).toEqual([]);
    expect(h.audit.details('choice')).toEqual([{ method: null, bailed: true, during: 'sub-ivr greeting' }]);
  });

  test('other Stasis arguments leave the call to its route mode', async () => {
    const h = createFlowHarness({ entry: { args: { action: 'verify' } } });
    const call = await h.run();
    expect(h.contacts.lookups.length).toBeGreaterThan(0);
    expect(call.prompts).not.toEqual(['not-verified']);
  });
});
