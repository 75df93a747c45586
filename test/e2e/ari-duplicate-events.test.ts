import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { createSinkClient, extractCode } from '../../src/lab/sink-client';
import { startDuplicatingAriProxy } from './ari-duplicating-proxy';
import {
  connectTestCaller,
  env,
  auditEventsSince,
  latestCall,
  listenAmi,
  openDb,
  parseAgentLine,
  run,
  startAgent,
  startAppByHand,
  waitUntil,
} from './lab-harness';

/**
 * Duplicate ARI events, live: the lab's app is started with its ARI URL on a proxy that passes
 * REST through and delivers every websocket event twice (startDuplicatingAriProxy). A caller
 * keys a six-digit SMS code through it: every key arrives twice, yet the code is read as typed
 * and the caller reaches the department's success destination verified; each call has one
 * flow, one audit record and one AMI event, and nobody is left in Stasis.
 */
jest.setTimeout(120_000);

let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let proxy: Awaited<ReturnType<typeof startDuplicatingAriProxy>>;
let db: Pool;
let ami: ReturnType<typeof listenAmi>;
const sinks = createSinkClient(env.sinkUrl);

function lab(command: string) {
  return run('bash', ['scripts/lab.sh', command], 60_000);
}

beforeAll(async () => {
  db = openDb();
  ami = listenAmi();
  caller = await connectTestCaller('pinverify-tester-dup');
  proxy = await startDuplicatingAriProxy(env.ariUrl);
  expect((await lab('app-stop')).code).toBe(0);
  startAppByHand({ ARI_URL: proxy.url });
  await waitUntil(
    'the app registered with ARI through the proxy',
    async () => (await caller.client.applications.list()).some((a) => a.name === env.ariApp),
    30_000,
  );
});
afterAll(async () => {
  // Back to the lab's own app, on ARI directly.
  await lab('app-start');
  await proxy.close();
  caller.close();
  ami.close();
  await db.end();
});

async function callsInApp(): Promise<number> {
  const a = await caller.client.applications.get({ applicationName: env.ariApp });
  return a.channel_ids.length;
}

test('every event delivered twice: the code keyed once is read once, one flow, one audit record, one AMI event', async () => {
  const since = new Date();
  const before = (await sinks.listMessages('+12025550103')).at(-1)?.id ?? 0;
  const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-e2e-')));
  await new Promise((r) => setTimeout(r, 300));

  const leg = await caller.placeCall('+12025550103', '7002');
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
  await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '2' });
  const msg = await sinks.waitForMessage('+12025550103', before, 30_000);
  const code = extractCode(msg.body) ?? '';
  expect(code).toMatch(/^[0-9]{6}$/);
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: `${code}#`, between: 150 });

  const seen = await agent;
  expect(parseAgentLine(seen.line)).toMatchObject({ exten: '2002', result: 'verified', method: 'sms' });
  const call = await latestCall(db, '0103', since);
  expect(call).toMatchObject({ result: 'verified', reason: 'ok', method: 'sms' });
  // One attempt (the code as typed), one record for the channel, one verification.
  expect(call?.kinds.filter((k) => k === 'attempt')).toHaveLength(1);
  const records = await db.query('SELECT 1 FROM calls WHERE channel_id = $1', [call?.channel_id]);
  expect(records.rowCount).toBe(1);
  const v = await db.query('SELECT status FROM verifications WHERE call_id = $1', [call?.call_id]);
  expect(v.rows).toEqual([{ status: 'approved' }]);
  await ami.waitFor((e) => e.uniqueid === call?.channel_id, 5000);
  await new Promise((r) => setTimeout(r, 1000)); // a second event would have come by now
  expect(ami.events.filter((e) => e.uniqueid === call?.channel_id)).toHaveLength(1);

  // The fault really happened: the start, the keys and the prompts' ends all came twice.
  for (const type of ['StasisStart', 'ChannelDtmfReceived', 'PlaybackFinished'])
    expect(proxy.doubled.get(type) ?? 0).toBeGreaterThan(0);
  expect(proxy.doubled.get('ChannelDtmfReceived')).toBeGreaterThanOrEqual(code.length + 2);
  await waitUntil('nobody left in the app', async () => (await callsInApp()) === 0, 10_000);
});

test('a caller who hangs up mid-code, every event twice: audited once as hung up, nobody left in Stasis', async () => {
  const since = new Date();
  const leg = await caller.placeCall('+12025550101', '7001');
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
  await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '2' });
  await waitUntil(
    'the code to be sent',
    async () => (await auditEventsSince(db, 'code_sent', since)) === 1,
    20_000,
  );
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '12', between: 150 });
  await new Promise((r) => setTimeout(r, 500));
  await caller.client.channels.hangup({ channelId: leg.id });
  const call = await latestCall(db, '0101', since);
  expect(call).toMatchObject({ result: 'failed', reason: 'abandoned' });
  const records = await db.query('SELECT 1 FROM calls WHERE started_at >= $1', [since]);
  expect(records.rowCount).toBe(1);
  await waitUntil('nobody left in the app', async () => (await callsInApp()) === 0, 10_000);
});
