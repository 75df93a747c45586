import type { Channel } from 'ari-client';
import type { Pool } from 'pg';
import { connectTestCaller, env, listenAmi, openDb, run, startAgentAbsorber, waitUntil } from './lab-harness';

/**
 * The app frozen (SIGSTOP) with two callers at the menu, then thawed: nothing the PBX sent
 * meanwhile is lost (the websocket's backlog arrives), the callers' keys are acted on, both
 * reach their failed destination as caller_bailed, and nobody is left in Stasis.
 *
 * Frozen for FREEZE_MS (5 s in npm test; `npm run faults` freezes it for 30 s).
 */
const FREEZE_MS = Number(process.env.FREEZE_MS ?? 5000);
jest.setTimeout(FREEZE_MS + 90_000);

let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let ami: ReturnType<typeof listenAmi>;
const legs: Channel[] = [];
let appPid = '';

let absorber: ReturnType<typeof startAgentAbsorber>;
let db: Pool;
beforeAll(async () => {
  db = openDb();
  // The callers are routed to agent destinations no test waits at.
  absorber = startAgentAbsorber();
  ami = listenAmi();
  caller = await connectTestCaller('pinverify-tester-frozen');
  appPid = (await run('cat', ['.lab/app.pid'], 5000)).output.trim();
});
afterAll(async () => {
  if (appPid) await run('kill', ['-CONT', appPid], 5000);
  for (const leg of legs) await caller.client.channels.hangup({ channelId: leg.id }).catch(() => undefined);
  caller.close();
  ami.close();
  await db.end();
  await absorber.stop();
});

async function callsInApp(): Promise<number> {
  const a = await caller.client.applications.get({ applicationName: env.ariApp }).catch(() => null);
  return a ? a.channel_ids.length : 0;
}

test(`frozen for ${FREEZE_MS / 1000} s with callers in the app: thawed, it acts on their keys and routes them`, async () => {
  const placedAt = new Date();
  for (const [number, service] of [
    ['+12025550101', '7001'],
    ['+12025550103', '7002'],
  ] as const) {
    const leg = await caller.placeCall(number, service);
    legs.push(leg);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
  }
  await waitUntil('two calls in the app', async () => (await callsInApp()) === 2, 20_000);
  // Frozen at the menu, not while still reading its configuration: both callers looked up.
  await waitUntil(
    'both callers at the menu',
    async () => {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(DISTINCT call_id) AS n FROM call_events WHERE kind = 'lookup' AND at >= $1`,
        [placedAt],
      );
      return Number(rows[0]?.n) >= 2;
    },
    20_000,
  );
  const mark = ami.events.length;
  expect((await run('kill', ['-STOP', appPid], 5000)).code).toBe(0);
  try {
    await new Promise((r) => setTimeout(r, FREEZE_MS / 2));
    // Keys pressed while the app cannot hear them: they wait in the websocket.
    for (const leg of legs) await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '*' });
    await new Promise((r) => setTimeout(r, FREEZE_MS / 2));
  } finally {
    await run('kill', ['-CONT', appPid], 5000);
  }
  await waitUntil(
    'both callers routed',
    async () => ami.events.slice(mark).filter((e) => e.reason === 'caller_bailed').length === 2,
    30_000,
  );
  expect(
    ami.events
      .slice(mark)
      .map((e) => [e.route, e.destination])
      .sort(),
  ).toEqual([
    ['pinverify-accounting-autopin', '2902@pinverify-destinations:1'],
    ['pinverify-support-autopin', '2901@pinverify-destinations:1'],
  ]);
  await waitUntil('nobody left in Stasis', async () => (await callsInApp()) === 0, 10_000);
});
