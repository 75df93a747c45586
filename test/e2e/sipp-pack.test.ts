import type { Pool } from 'pg';
import { latestCall, listenAmi, openDb, run, runSippScenario } from './lab-harness';

/**
 * Real SIP calls from SIPp through the lab Asterisk into the pinverify app and out to the agent
 * phone. Each case runs one scenario of the tester pack (test/sipp/run.sh), which asserts the
 * agent's request URI and X-PinVerify-* headers; here we also check the AMI event a CRM
 * connector would see and the audit trail in Postgres.
 */
jest.setTimeout(200_000);

function cli(args: string[]) {
  return run('node', ['dist/cli/main.js', ...args], 60_000);
}

let db: Pool;
let ami: ReturnType<typeof listenAmi>;
beforeAll(() => {
  db = openDb();
  ami = listenAmi();
});
afterAll(async () => {
  ami.close();
  await db.end();
});

const cases: Array<{
  scenario: string;
  last4: string;
  reason: string;
  destination: string;
  route: string;
  kinds: string[];
  /** Audit kinds the call must not have. */
  absent?: string[];
  /** Settings changed for this case only (pinverify settings set), restored after it. */
  settings?: Record<string, string>;
}> = [
  {
    scenario: 'bail-out',
    last4: '0101',
    reason: 'caller_bailed',
    destination: '2901',
    route: 'pinverify-support-autopin',
    kinds: ['lookup', 'outcome'],
  },
  {
    // * in the dialplan's greeting: the app takes the call only to route it (no lookup, no menu).
    scenario: 'star-in-greeting',
    last4: '0101',
    reason: 'caller_bailed',
    destination: '2901',
    route: 'pinverify-support-autopin',
    kinds: ['route', 'choice', 'outcome'],
    absent: ['lookup', 'code_sent'],
  },
  {
    scenario: 'bail-out-info',
    last4: '0101',
    reason: 'caller_bailed',
    destination: '2902',
    route: 'pinverify-accounting-autopin',
    kinds: ['outcome'],
  },
  {
    scenario: 'no-match',
    last4: '0199',
    reason: 'no_match',
    destination: '2901',
    route: 'pinverify-support-autopin',
    kinds: ['lookup', 'outcome'],
  },
  {
    scenario: 'multi-match',
    last4: '0104',
    reason: 'multi_match',
    destination: '2902',
    route: 'pinverify-accounting-autopin',
    kinds: ['lookup', 'outcome'],
  },
  {
    scenario: 'no-route-bail-out',
    last4: '0101',
    reason: 'caller_bailed',
    destination: '2900',
    route: 'default',
    kinds: ['route', 'outcome'],
  },
  {
    // One menu prompt instead of the default three: the same no_input path, 28 s sooner.
    scenario: 'no-input',
    settings: { maxMenuPrompts: '1' },
    last4: '0101',
    reason: 'no_input',
    destination: '2901',
    route: 'pinverify-support-autopin',
    kinds: ['outcome'],
  },
  {
    scenario: 'wrong-code',
    last4: '0101',
    reason: 'max_attempts',
    destination: '2902',
    route: 'pinverify-accounting-autopin',
    kinds: ['code_sent', 'attempt', 'outcome'],
  },
];

describe('SIPp pack through the lab PBX', () => {
  test.each(cases)('$scenario ends at $destination with $reason', async (c) => {
    const since = new Date();
    const restore: Array<[string, string]> = [];
    for (const [key, value] of Object.entries(c.settings ?? {})) {
      const shown = await cli(['settings', 'show', key, '--json']);
      restore.push([key, String((JSON.parse(shown.output) as { value: unknown }).value)]);
      expect((await cli(['settings', 'set', key, value])).code).toBe(0);
    }
    let r: Awaited<ReturnType<typeof runSippScenario>>;
    try {
      r = await runSippScenario(c.scenario);
    } finally {
      for (const [key, value] of restore) await cli(['settings', 'set', key, value]);
    }
    expect(r.output).toContain('sipp: PASS');
    expect(r.code).toBe(0);

    const call = await latestCall(db, c.last4, since);
    expect(call).not.toBeNull();
    expect(call?.result).toBe('failed');
    expect(call?.reason).toBe(c.reason);
    expect(call?.route).toBe(c.route);
    expect(call?.destination).toMatch(new RegExp(`^${c.destination}@pinverify-destinations`));
    for (const k of c.kinds) expect(call?.kinds).toContain(k);
    for (const k of c.absent ?? []) expect(call?.kinds).not.toContain(k);
    // Masked in the audit trail: never the full number.
    expect(call?.caller_masked).not.toContain('202555');

    const ev = await ami.waitFor((e) => e.uniqueid === call?.channel_id, 5000);
    expect(ev).toMatchObject({ result: 'failed', reason: c.reason, route: c.route });
    if (c.scenario === 'wrong-code') {
      expect(call?.kinds.filter((k) => k === 'attempt')).toHaveLength(3);
      expect(call?.method).toBe('sms');
    }
  });

  // The benchmark compares the app with these twins: a twin that ended elsewhere, or with other
  // headers or event, would make its numbers meaningless.
  test.each([
    {
      scenario: 'twin-bail-out',
      service: '7801',
      route: 'pinverify-support-autopin',
      reason: 'caller_bailed',
      destination: '2901',
    },
    {
      scenario: 'twin-wrong-code',
      service: '7802',
      route: 'pinverify-accounting-autopin',
      reason: 'max_attempts',
      destination: '2902',
    },
  ])(
    "the benchmark's dialplan twin $service ends as the app does: $destination, $reason, same headers and event",
    async (c) => {
      const mark = ami.events.length;
      const r = await runSippScenario(c.scenario);
      expect(r.output).toContain('sipp: PASS');
      const ev = await ami.waitFor((e) => ami.events.indexOf(e) >= mark && e.route === c.route, 5000);
      expect(ev).toMatchObject({
        result: 'failed',
        reason: c.reason,
        destination: `${c.destination}@pinverify-destinations:1`,
      });
    },
  );

  test('a caller who hangs up mid-entry is audited as abandoned and no agent is called', async () => {
    const since = new Date();
    const r = await runSippScenario('hangup-mid-entry');
    expect(r.output).toContain('sipp: PASS: no agent was called');
    const call = await latestCall(db, '0102', since);
    expect(call).toMatchObject({ result: 'failed', reason: 'abandoned', destination: '' });
    expect(call?.kinds).toEqual(expect.arrayContaining(['code_sent', 'hangup']));
    const ev = await ami.waitFor((e) => e.uniqueid === call?.channel_id, 5000);
    expect(ev.reason).toBe('abandoned');
  });

  test('with the app stopped, the dialplan sends the caller to the failed destination as unavailable', async () => {
    const stop = await run('bash', ['scripts/lab.sh', 'app-stop'], 30_000);
    expect(stop.code).toBe(0);
    try {
      const r = await runSippScenario('app-down');
      expect(r.output).toContain('sipp: PASS');
      const ev = await ami.waitFor((e) => e.reason === 'unavailable', 5000);
      // The dialplan's event names the destination as the app's does.
      expect(ev).toMatchObject({
        result: 'failed',
        destination: '2901@pinverify-destinations:1',
        route: 'pinverify-support-autopin',
      });
    } finally {
      const start = await run('bash', ['scripts/lab.sh', 'app-start'], 60_000);
      expect(start.code).toBe(0);
    }
  });
});
