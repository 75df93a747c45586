import type { Channel } from 'ari-client';
import {
  connectTestCaller,
  env,
  listenAmi,
  run,
  startAgentAbsorber,
  startAppByHand,
  waitUntil,
} from './lab-harness';

/**
 * Admission control on the live lab: the app run with a ceiling of two calls in verification.
 * Two callers sit at the menu; the third is shed straight to its route's failed destination
 * with reason overloaded, in under a second, without a prompt; once a call leaves, calls are
 * taken again.
 */
jest.setTimeout(120_000);

let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let ami: ReturnType<typeof listenAmi>;
const legs: Channel[] = [];

function lab(command: string) {
  return run('bash', ['scripts/lab.sh', command], 60_000);
}

async function callsInApp(): Promise<number> {
  const a = await caller.client.applications.get({ applicationName: env.ariApp }).catch(() => null);
  return a ? a.channel_ids.length : 0;
}

let absorber: ReturnType<typeof startAgentAbsorber>;
beforeAll(async () => {
  // The callers are routed to agent destinations no test waits at.
  absorber = startAgentAbsorber();
  ami = listenAmi();
  caller = await connectTestCaller('pinverify-tester-overload');
  expect((await lab('app-stop')).code).toBe(0);
  // The lab's app, with a ceiling of two calls (started by hand: lab.sh starts it with defaults).
  startAppByHand({ MAX_CALLS_IN_APP: '2' });
  await waitUntil(
    'the app registered with ARI',
    async () => (await caller.client.applications.list()).some((a) => a.name === env.ariApp),
    30_000,
  );
});
afterAll(async () => {
  for (const leg of legs) await caller.client.channels.hangup({ channelId: leg.id }).catch(() => undefined);
  // Back to the lab's own app with its defaults.
  await lab('app-start');
  caller.close();
  ami.close();
  await absorber.stop();
});

test('beyond the ceiling a caller is shed to the failed destination as overloaded, in under a second', async () => {
  for (const [number, service] of [
    ['+12025550101', '7001'],
    ['+12025550103', '7002'],
  ] as const) {
    const leg = await caller.placeCall(number, service);
    legs.push(leg);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
  }
  await waitUntil('two calls in the app', async () => (await callsInApp()) === 2, 20_000);

  const mark = ami.events.length;
  const third = await caller.placeCall('+12025550102', '7005');
  legs.push(third);
  const enteredAt = Date.now();
  await caller.client.channels.sendDTMF({ channelId: third.id, dtmf: '1' });
  const ev = await ami.waitFor((e) => ami.events.indexOf(e) >= mark && e.reason === 'overloaded', 10_000);
  expect(ev).toMatchObject({
    result: 'failed',
    reason: 'overloaded',
    route: 'pinverify-billing-pin',
    destination: '2905@pinverify-destinations:1',
  });
  // From the key that sends the call into the app (the sub-IVR's prompt is over by then).
  expect(Date.now() - enteredAt).toBeLessThan(1000);
  const log = (
    await run('grep', ['-c', 'overloaded: shedding new calls', '.lab/app.log'], 5000)
  ).output.trim();
  expect(Number(log)).toBeGreaterThan(0);

  // One call leaves; the next one is taken into verification again.
  await caller.client.channels.hangup({ channelId: legs[0]?.id ?? '' });
  await waitUntil('one call left', async () => (await callsInApp()) === 1, 10_000);
  const fourth = await caller.placeCall('+12025550101', '7001');
  legs.push(fourth);
  await caller.client.channels.sendDTMF({ channelId: fourth.id, dtmf: '1' });
  await waitUntil('two calls in the app again', async () => (await callsInApp()) === 2, 20_000);
});
