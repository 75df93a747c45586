import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { createSinkClient, extractCode } from '../../src/lab/sink-client';
import {
  connectTestCaller,
  env,
  latestCall,
  listenAmi,
  openDb,
  parseAgentLine,
  run,
  runSippScenario,
  startAgent,
  waitUntil,
} from './lab-harness';

/**
 * The security-PIN departments of the lab, reached the way callers reach them: real SIP calls
 * from SIPp into 7005 (route mode pin: success 2005, failed 2905) and a test caller driven over
 * ARI into 7006 (pin_then_otp: success 2006, failed 2906), checked at the agent phone (the
 * X-PinVerify-* headers), in the AMI event and in the audit trail.
 */
jest.setTimeout(240_000);

const ALICE = { caller: '+12025550101', last4: '0101', pin: '4721' };
const BOB = '+12025550102';
const PIN_ROUTE = 'pinverify-billing-pin';
let db: Pool;
let ami: ReturnType<typeof listenAmi>;
let ids: Record<string, number> = {};
let originalLimit = '10';
const sinks = createSinkClient(env.sinkUrl);

function cli(args: string[], stdin?: string) {
  return run('node', ['dist/cli/main.js', ...args], 60_000, stdin);
}

async function contactId(e164: string): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    'SELECT contact_id AS id FROM contact_phones WHERE e164 = $1',
    [e164],
  );
  return rows[0]?.id ?? 0;
}

beforeAll(async () => {
  db = openDb();
  ami = listenAmi();
  ids = { alice: await contactId(ALICE.caller), bob: await contactId(BOB) };
  const shown = await cli(['settings', 'show', 'maxFailedChecksPerContact', '--json']);
  originalLimit = String((JSON.parse(shown.output) as { value: number }).value);
  for (const id of Object.values(ids)) expect((await cli(['contacts', 'unlock', String(id)])).code).toBe(0);
});
afterAll(async () => {
  // Test runs call as Alice and Bob all day: leave them as the lab had them.
  await cli(['settings', 'set', 'maxFailedChecksPerContact', originalLimit]);
  for (const id of Object.values(ids)) await cli(['contacts', 'unlock', String(id)]);
  ami.close();
  await db.end();
});

describe('route mode pin over SIP (SIPp)', () => {
  test.each([
    { scenario: 'pin-right', last4: '0101', result: 'verified', reason: 'ok', destination: '2005', tries: 1 },
    {
      scenario: 'pin-wrong',
      last4: '0101',
      result: 'failed',
      reason: 'max_attempts',
      destination: '2905',
      tries: 3,
    },
    // Asked and answered like anyone else, so nobody can tell an unknown number from a wrong PIN.
    {
      scenario: 'pin-unknown',
      last4: '0199',
      result: 'failed',
      reason: 'no_match',
      destination: '2905',
      tries: 3,
    },
    {
      scenario: 'pin-not-set',
      last4: '0103',
      result: 'failed',
      reason: 'no_pin',
      destination: '2905',
      tries: 0,
    },
  ])('$scenario reaches $destination: $result, $reason', async (c) => {
    const since = new Date();
    const r = await runSippScenario(c.scenario);
    expect(r.output).toContain('sipp: PASS');
    expect(r.code).toBe(0);
    const call = await latestCall(db, c.last4, since);
    expect(call).toMatchObject({ result: c.result, reason: c.reason, route: PIN_ROUTE });
    expect(call?.destination).toMatch(new RegExp(`^${c.destination}@pinverify-destinations`));
    expect(call?.method).toBe(c.tries > 0 ? 'pin' : null);
    expect(call?.kinds.filter((k) => k === 'pin_check')).toHaveLength(c.tries);
    const ev = await ami.waitFor((e) => e.uniqueid === call?.channel_id, 5000);
    expect(ev).toMatchObject({ result: c.result, reason: c.reason, route: PIN_ROUTE });
    // Never the PIN, anywhere in the call's audit trail.
    const { rows } = await db.query<{ detail: string }>(
      'SELECT detail::text AS detail FROM call_events WHERE call_id = $1',
      [call?.call_id],
    );
    expect(rows.map((x) => x.detail).join('\n')).not.toMatch(/4721|1357/);
  });

  test('wrong PINs spread over two calls lock the contact; the next call is refused as locked', async () => {
    expect((await cli(['settings', 'set', 'maxFailedChecksPerContact', '4'])).code).toBe(0);
    try {
      await lockBobOverCalls();
    } finally {
      await cli(['settings', 'set', 'maxFailedChecksPerContact', originalLimit]);
    }
  });

  async function lockBobOverCalls(): Promise<void> {
    const bob = ['--caller', BOB];
    // Call 1: three wrong PINs (3 failures). Call 2: the fourth locks him, the next try is refused.
    let r = await runSippScenario('pin-wrong', [
      ...bob,
      '--expect',
      'exten=2905 result=failed reason=max_attempts',
    ]);
    expect(r.output).toContain('sipp: PASS');
    r = await runSippScenario('pin-wrong', [...bob, '--expect', 'exten=2905 result=failed reason=locked']);
    expect(r.output).toContain('sipp: PASS');
    // Call 3: asked nothing (the caller keys nothing), refused at once.
    const since = new Date();
    r = await runSippScenario('pin-not-set', [
      ...bob,
      '--expect',
      'exten=2905 result=failed reason=locked method=none',
    ]);
    expect(r.output).toContain('sipp: PASS');
    const call = await latestCall(db, '0102', since);
    expect(call?.kinds).toContain('refused');
    expect(call?.kinds).not.toContain('pin_check');

    const status = await cli(['pins', 'status', String(ids.bob), '--json']);
    expect(JSON.parse(status.output)).toMatchObject({ pinSet: true, locked: true, failedChecks: 4 });
    const unlocked = await cli(['contacts', 'unlock', String(ids.bob)]);
    expect(unlocked.output).toMatch(/unlocked: 4 failed checks/);
    r = await runSippScenario('pin-right', [
      ...bob,
      '--pin',
      '3856',
      '--expect',
      'exten=2005 result=verified',
    ]);
    expect(r.output).toContain('sipp: PASS');
  }

  test('a PIN set with the CLI is the one the next call needs', async () => {
    await cli(['contacts', 'unlock', String(ids.alice)]);
    const set = await cli(['pins', 'set', String(ids.alice)], '6093\n');
    expect(set.code).toBe(0);
    expect(set.output).not.toContain('6093');
    try {
      // The old PIN no longer opens the door; the new one does.
      let r = await runSippScenario('pin-wrong', [
        '--pin',
        ALICE.pin,
        '--expect',
        'exten=2905 reason=max_attempts',
      ]);
      expect(r.output).toContain('sipp: PASS');
      r = await runSippScenario('pin-right', ['--pin', '6093', '--expect', 'exten=2005 result=verified']);
      expect(r.output).toContain('sipp: PASS');
    } finally {
      await cli(['pins', 'set', String(ids.alice)], `${ALICE.pin}\n`);
      await cli(['contacts', 'unlock', String(ids.alice)]);
    }
  });
});

describe('route mode pin_then_otp (a test caller over ARI)', () => {
  let caller: Awaited<ReturnType<typeof connectTestCaller>>;
  beforeAll(async () => {
    caller = await connectTestCaller('pinverify-tester-pin');
  });
  afterAll(() => caller.close());

  async function callFraudDesk(pin: string, codeToo: boolean) {
    const before = (await sinks.listMessages(ALICE.caller)).at(-1)?.id ?? 0;
    const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-e2e-')));
    await new Promise((r) => setTimeout(r, 300)); // let the agent phone bind its port
    const leg = await caller.placeCall(ALICE.caller, '7006');
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
    await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: `${pin}#`, between: 150 });
    if (codeToo) {
      await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '2' }); // SMS
      const msg = await sinks.waitForMessage(ALICE.caller, before, 30_000);
      const code = extractCode(msg.body) ?? '';
      await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: `${code}#`, between: 150 });
    } else {
      for (let i = 0; i < 2; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: `${pin}#`, between: 150 });
      }
    }
    const seen = await agent;
    expect(seen.code).toBe(0);
    return {
      agent: parseAgentLine(seen.line),
      sentSince: (await sinks.listMessages(ALICE.caller)).filter((m) => m.id > before),
    };
  }

  test('the right PIN and then the right code: 2006, verified, method pin+sms', async () => {
    const since = new Date();
    const { agent } = await callFraudDesk(ALICE.pin, true);
    expect(agent).toMatchObject({ exten: '2006', result: 'verified', reason: 'ok', method: 'pin+sms' });
    const call = await latestCall(db, ALICE.last4, since);
    expect(call?.kinds).toEqual(expect.arrayContaining(['pin_check', 'choice', 'code_sent', 'attempt']));
  });

  test('a wrong PIN three times: 2906, max_attempts, and no code is ever sent', async () => {
    const { agent, sentSince } = await callFraudDesk('1357', false);
    expect(agent).toMatchObject({ exten: '2906', result: 'failed', reason: 'max_attempts', method: 'pin' });
    expect(sentSince).toEqual([]);
  });
});
