import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { DEMO_NEW_DEPARTMENT_HOP } from '../../src/store/demo-data';
import { openDb, parseAgentLine, REPO, run, startAgent } from './lab-harness';

/**
 * README's "Adding a department", done the way ops do it, against the running lab: the Sales
 * sub-IVR (7004) exists in the dialplan but has no route; `pinverify routes add` gives it one
 * while the app runs; `pinverify test-call` then calls in as a demo caller, is verified, and
 * the agent phone is called at the new route's success destination. The app's process is the
 * same before and after: no restart. A second edit (`routes update`) reaches the next call too.
 */
jest.setTimeout(180_000);

const HOP = DEMO_NEW_DEPARTMENT_HOP;
let db: Pool;

function cli(args: string[]) {
  return run('node', ['dist/cli/main.js', ...args], 120_000);
}

/**
 * An agent phone answers every call these tests send to a destination: an INVITE to a phone
 * that is not running is retransmitted by Asterisk for 32 s (SIP timer B) and would be
 * answered by the next test's agent phone instead.
 */
async function withAgent<T>(fn: () => Promise<T>): Promise<[T, Record<string, string>]> {
  const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-e2e-')));
  await new Promise((r) => setTimeout(r, 300)); // let the agent phone bind its port
  const result = await fn();
  return [result, parseAgentLine((await agent).line)];
}

function appPid(): string {
  return readFileSync(path.join(REPO, '.lab', 'app.pid'), 'utf8').trim();
}

beforeAll(async () => {
  db = openDb();
  await db.query('DELETE FROM routes WHERE previous_hop = $1', [HOP]);
});
afterAll(async () => {
  await db.query('DELETE FROM routes WHERE previous_hop = $1', [HOP]);
  await db.end();
  // The last calls reach 2904 with no agent phone running. Asterisk retransmits such an INVITE
  // until SIP timer B (32 s) expires; let that pass, or the next test's agent phone would
  // answer a stale INVITE instead of its own call.
  await new Promise((resolve) => setTimeout(resolve, 33_000));
}, 60_000);

test('a route added with the CLI while the app runs is used by the next call through the new sub-IVR', async () => {
  const pidBefore = appPid();

  // A destination that is not in the dialplan is refused, naming it; nothing is saved.
  const refused = await cli([
    'routes',
    'add',
    '--title',
    'Sales',
    '--previous-hop',
    HOP,
    '--success',
    '2003',
    '--failed',
    '9999',
  ]);
  expect(refused.code).toBe(1);
  expect(refused.output).toMatch(
    /failedDestination: extension 9999 is not in context "pinverify-destinations"/,
  );
  expect((await db.query('SELECT 1 FROM routes WHERE previous_hop = $1', [HOP])).rowCount).toBe(0);

  const added = await cli([
    '--json',
    'routes',
    'add',
    '--title',
    'Sales',
    '--previous-hop',
    HOP,
    '--success',
    '2003',
    '--failed',
    '2903',
  ]);
  expect(added.code).toBe(0);
  expect(JSON.parse(added.output)).toMatchObject({
    previousHop: HOP,
    successDestination: '2003',
    warnings: [],
  });

  const [call, agentSaw] = await withAgent(() =>
    cli([
      '--json',
      'test-call',
      '--caller',
      '+12025550102',
      '--via',
      '7004@pinverify-lab-inbound',
      '--press',
      '1',
      '--expect',
      'verified',
      '--expect-destination',
      '2003@pinverify-destinations',
      '--hold',
      '2',
    ]),
  );
  // With the CLI's output, so a failure says what the test call saw.
  expect({ code: call.code, output: call.code === 0 ? '' : call.output.slice(-3000) }).toEqual({
    code: 0,
    output: '',
  });
  const report = JSON.parse(call.output.slice(call.output.indexOf('{'))) as {
    matched: boolean;
    outcome: { result: string; route: string; reached: unknown };
  };
  expect(report.matched).toBe(true);
  expect(report.outcome).toMatchObject({
    result: 'verified',
    route: HOP,
    reached: { exten: '2003', context: 'pinverify-destinations', priority: 1 },
  });
  // The agent's phone rang at the new destination with the result in the SIP headers.
  expect(agentSaw).toMatchObject({ exten: '2003', result: 'verified', method: 'email', route: HOP });

  // A second change, again without a restart: the next call goes to the new failed destination.
  const updated = await cli(['routes', 'update', HOP, '--failed', '2904']);
  expect(updated.code).toBe(0);
  const bail = await cli([
    'test-call',
    '--caller',
    '+12025550102',
    '--sub-ivr',
    HOP,
    '--method',
    'bail',
    '--expect',
    'failed:caller_bailed',
    '--expect-destination',
    '2904',
    '--hold',
    '2',
  ]);
  expect(bail.output).toMatch(/as expected/);
  expect(bail.code).toBe(0);

  // And test-call fails (exit 1) when the call does not end as expected.
  const wrong = await cli([
    'test-call',
    '--caller',
    '+12025550102',
    '--sub-ivr',
    HOP,
    '--method',
    'bail',
    '--expect',
    'verified',
  ]);
  expect(wrong.code).toBe(1);
  expect(wrong.output).toMatch(/NOT as expected/);

  expect(appPid()).toBe(pidBefore);
  const changes = await db.query<{ action: string }>(
    `SELECT action FROM config_changes WHERE subject = $1 ORDER BY id`,
    [HOP],
  );
  expect(changes.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['route.add', 'route.update']));
});
