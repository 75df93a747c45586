import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { createSinkClient, extractCode } from '../../src/lab/sink-client';
import {
  env,
  auditEventsSince,
  latestCall,
  listenAmi,
  openDb,
  parseAgentLine,
  startAgent,
  connectTestCaller,
  waitUntil,
} from './lab-harness';

/**
 * The successful path, live: a test caller enters the lab PBX on a Local channel that this test
 * drives over ARI (its own Stasis app, "pinverify-tester"), chooses email or SMS, reads the code
 * from the lab's mail or SMS sink while the call is up, keys it in as DTMF, and the agent phone
 * (SIPp) must be called at the route's success destination with X-PinVerify-Result: verified.
 */
jest.setTimeout(120_000);

const TESTER_APP = 'pinverify-tester';
let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let db: Pool;
let ami: ReturnType<typeof listenAmi>;
const sinks = createSinkClient(env.sinkUrl);

beforeAll(async () => {
  db = openDb();
  ami = listenAmi();
  caller = await connectTestCaller(TESTER_APP);
});
afterAll(async () => {
  caller.close();
  ami.close();
  await db.end();
});

const cases = [
  {
    channel: 'email',
    key: '1',
    caller: '+12025550102',
    to: 'bob@example.com',
    service: '7001',
    exten: '2001',
    route: 'pinverify-support-autopin',
  },
  {
    channel: 'sms',
    key: '2',
    caller: '+12025550103',
    to: '+12025550103',
    service: '7002',
    exten: '2002',
    route: 'pinverify-accounting-autopin',
  },
];

describe('verified by a code entered during the live call', () => {
  test.each(cases)('by $channel: reaches $exten as verified', async (c) => {
    const since = new Date();
    const before = (await sinks.listMessages(c.to)).at(-1)?.id ?? 0;
    const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-e2e-')));
    await new Promise((r) => setTimeout(r, 300)); // let the agent phone bind its port

    const leg = await caller.placeCall(c.caller, c.service);
    // Press 1 at the sub-IVR (the menu-option way into the app), then wait until the app has it.
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
    await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: c.key });

    const msg = await sinks.waitForMessage(c.to, before, 30_000);
    const code = extractCode(msg.body);
    expect(code).toMatch(/^[0-9]{6}$/);
    expect(msg.body).toMatch(/never ask/i);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: `${code ?? ''}#`, between: 150 });

    const seen = await agent;
    expect(seen.code).toBe(0);
    expect(parseAgentLine(seen.line)).toMatchObject({
      exten: c.exten,
      result: 'verified',
      reason: 'ok',
      method: c.channel,
      route: c.route,
    });

    const call = await latestCall(db, c.caller.slice(-4), since);
    expect(call).toMatchObject({ result: 'verified', reason: 'ok', method: c.channel, route: c.route });
    expect(call?.kinds).toEqual(expect.arrayContaining(['code_sent', 'attempt', 'outcome']));
    const ev = await ami.waitFor((e) => e.uniqueid === call?.channel_id, 5000);
    expect(ev).toMatchObject({ result: 'verified', reason: 'ok', method: c.channel });

    // The call's verification is approved, and its code hash is gone (single use).
    const v = await db.query<{ status: string; code_hash: string | null; origin: string }>(
      'SELECT status, code_hash, origin FROM verifications WHERE call_id = $1',
      [call?.call_id],
    );
    expect(v.rows).toEqual([{ status: 'approved', code_hash: null, origin: 'inbound_call' }]);
  });
});

describe('a failing SMS provider', () => {
  afterEach(async () => {
    await sinks.setFaults({ sms: 'ok' });
  });

  test('is told to the caller, who is offered email instead and is verified by it', async () => {
    await sinks.setFaults({ sms: 'fail' });
    const since = new Date();
    const before = (await sinks.listMessages('alice@example.com')).at(-1)?.id ?? 0;
    const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-e2e-')));
    await new Promise((r) => setTimeout(r, 300));

    const leg = await caller.placeCall('+12025550101', '7001');
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
    await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '2' });
    // The Twilio stand-in answers 500; the flow says so and offers the other channel.
    await waitUntil(
      'the failed send to be audited',
      async () => (await auditEventsSince(db, 'send_failed', since)) === 1,
      20_000,
    );
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
    const msg = await sinks.waitForMessage('alice@example.com', before, 30_000);
    await caller.client.channels.sendDTMF({
      channelId: leg.id,
      dtmf: `${extractCode(msg.body) ?? ''}#`,
      between: 150,
    });

    const seen = await agent;
    expect(parseAgentLine(seen.line)).toMatchObject({ exten: '2001', result: 'verified', method: 'email' });
    const call = await latestCall(db, '0101', since);
    expect(call).toMatchObject({ result: 'verified', reason: 'ok', method: 'email' });
    expect(call?.kinds).toEqual(expect.arrayContaining(['send_failed', 'code_sent']));
  });
});
