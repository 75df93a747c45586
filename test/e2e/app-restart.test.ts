import type { Channel } from 'ari-client';
import type { Pool } from 'pg';
import {
  connectTestCaller,
  env,
  listenAmi,
  openDb,
  type PinVerifyEvent,
  run,
  startAgentAbsorber,
  waitUntil,
} from './lab-harness';

/**
 * The app dying or stopping with callers in it, on the live lab. Three test callers (a Local
 * channel each, driven over ARI) sit at the first prompt of three departments; then:
 *
 * - `kill -9` and a restart: the new process finds them in its Stasis application and routes
 *   each to its own route's failed destination with reason app_restarted (variables, AMI event,
 *   audit), within 5 s of being back;
 * - SIGTERM: calls in progress get SHUTDOWN_DRAIN_MS (5 s in the lab) to finish (a caller
 *   pressing * meanwhile ends as usual), then the rest are routed as app_restarted; nobody is
 *   left in Stasis.
 */
jest.setTimeout(180_000);

const CALLS = [
  { caller: '+12025550101', service: '7001', route: 'pinverify-support-autopin', failed: '2901' },
  { caller: '+12025550103', service: '7002', route: 'pinverify-accounting-autopin', failed: '2902' },
  // Bob has a PIN, so he is asked for it (Carol has none: she would leave at once as no_pin).
  { caller: '+12025550102', service: '7005', route: 'pinverify-billing-pin', failed: '2905' },
];

let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let ami: ReturnType<typeof listenAmi>;
let db: Pool;
const legs: Channel[] = [];

function lab(command: string) {
  return run('bash', ['scripts/lab.sh', command], 60_000);
}

async function callsInApp(): Promise<number> {
  try {
    const a = await caller.client.applications.get({ applicationName: env.ariApp });
    return a.channel_ids.length;
  } catch {
    return 0; // the application is not registered (the app is down)
  }
}

/** Places the three calls and waits until all three sit in the pinverify app. */
async function placeCalls(): Promise<void> {
  for (const c of CALLS) {
    const leg = await caller.placeCall(c.caller, c.service);
    legs.push(leg);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
  }
  await waitUntil('three calls in the app', async () => (await callsInApp()) === CALLS.length, 20_000);
}

async function hangUpLegs(): Promise<void> {
  for (const leg of legs.splice(0))
    await caller.client.channels.hangup({ channelId: leg.id }).catch(() => undefined);
}

function restartedEvents(since: number): PinVerifyEvent[] {
  return ami.events.slice(since).filter((e) => e.reason === 'app_restarted');
}

let absorber: ReturnType<typeof startAgentAbsorber>;
beforeAll(async () => {
  // The callers are routed to agent destinations no test waits at.
  absorber = startAgentAbsorber();
  db = openDb();
  ami = listenAmi();
  caller = await connectTestCaller('pinverify-tester-restart');
});
afterAll(async () => {
  await hangUpLegs();
  // Whatever happened, leave the lab's app running for the next tests.
  await lab('app-start');
  await waitUntil(
    'the app back',
    async () =>
      (await fetch(`http://127.0.0.1:${process.env.ADMIN_PORT ?? '8090'}/v1/health`)
        .then((r) => r.status)
        .catch(() => 0)) > 0,
    30_000,
  ).catch(() => undefined);
  caller.close();
  ami.close();
  await db.end();
  await absorber.stop();
});

describe('the app restarting with callers in it', () => {
  test('kill -9, then a restart: every stranded call is routed to its route failed destination within 5 s', async () => {
    await placeCalls();
    const pid = (await run('cat', ['.lab/app.pid'], 5000)).output.trim();
    expect(pid).toMatch(/^[0-9]+$/);
    expect((await run('kill', ['-9', pid], 5000)).code).toBe(0);
    await waitUntil('the app to die', async () => (await run('kill', ['-0', pid], 5000)).code !== 0, 10_000);
    // Stranded: still in Stasis, in silence, with nobody to route them.
    expect(await callsInApp()).toBe(CALLS.length);

    const mark = ami.events.length;
    const startedAt = Date.now();
    expect((await lab('app-start')).code).toBe(0);
    await waitUntil(
      'three app_restarted events',
      async () => restartedEvents(mark).length >= CALLS.length,
      30_000,
    );
    const backAt = await registeredAt(startedAt);
    const lastEventAt = Date.now();
    // Within 5 s of the app having registered with ARI again (the process's own boot excluded).
    expect(lastEventAt - backAt).toBeLessThan(5000);
    expect(
      restartedEvents(mark)
        .map((e) => [e.route, e.destination, e.result])
        .sort(),
    ).toEqual(CALLS.map((c) => [c.route, `${c.failed}@pinverify-destinations:1`, 'failed']).sort());
    // The audit trail has each of them, closed, with the same reason. It is written in batches
    // (every 50 ms) after the AMI event, so allow it a moment.
    const audited = async () =>
      (
        await db.query<{ reason: string; route: string }>(
          `SELECT reason, route FROM calls WHERE started_at >= $1 AND reason = 'app_restarted' ORDER BY route`,
          [new Date(startedAt)],
        )
      ).rows.map((r) => r.route);
    await waitUntil('the audit records', async () => (await audited()).length >= CALLS.length, 5000).catch(
      () => undefined,
    );
    expect(await audited()).toEqual(CALLS.map((c) => c.route).sort());
    await waitUntil('the app to hold no call', async () => (await callsInApp()) === 0, 10_000);
    await hangUpLegs();
  });

  test('SIGTERM drains: calls in progress may finish, the rest are routed; nobody is left in Stasis', async () => {
    await placeCalls();
    const mark = ami.events.length;
    const stopping = lab('app-stop');
    // During the drain a caller may still finish: Carol presses * (caller_bailed, as always).
    await new Promise((r) => setTimeout(r, 1000));
    await caller.client.channels.sendDTMF({ channelId: legs[1]?.id ?? '', dtmf: '*' });
    expect((await stopping).code).toBe(0);
    const seen = ami.events.slice(mark);
    expect(seen.find((e) => e.route === CALLS[1]?.route)).toMatchObject({ reason: 'caller_bailed' });
    expect(
      seen
        .filter((e) => e.reason === 'app_restarted')
        .map((e) => [e.route, e.destination])
        .sort(),
    ).toEqual([CALLS[0], CALLS[2]].map((c) => [c?.route, `${c?.failed}@pinverify-destinations:1`]).sort());
    expect(await callsInApp()).toBe(0);
    await hangUpLegs();
    expect((await lab('app-start')).code).toBe(0);
  });
});

/** When the app (started after `since`) logged that ARI registered it, from its log file. */
async function registeredAt(since: number): Promise<number> {
  const log = (await run('grep', ['ARI application registered', '.lab/app.log'], 5000)).output;
  const times = log
    .split('\n')
    .filter(Boolean)
    .map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp))
    .filter((t) => t >= since - 1000);
  const t = times.at(-1);
  if (t === undefined) throw new Error('the app never logged "ARI application registered"');
  return t;
}
