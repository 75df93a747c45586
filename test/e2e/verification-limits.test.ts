import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { createSinkClient, extractCode } from '../../src/lab/sink-client';
import {
  env,
  latestCall,
  listenAmi,
  openDb,
  parseAgentLine,
  run,
  startAgent,
  connectTestCaller,
  createApiKey,
  waitUntil,
} from './lab-harness';

/**
 * The verification limits and the verifications API, live on the lab, reached only the way
 * users reach them: calls through the PBX (a test caller driven over ARI, keys as DTMF, codes
 * read from the lab's mail sink), the agent phone (SIPp), AMI, the admin HTTP API and the CLI.
 *
 * Bob (email only) calls twice and keys wrong codes; the failures add up across the calls
 * until his contact is locked, and his next call goes straight to the failed destination with
 * PINVERIFY_REASON=locked, which the agent phone sees in X-PinVerify-Reason.
 */
jest.setTimeout(240_000);

const TESTER_APP = 'pinverify-tester-limits';
const BOB = { caller: '+12025550102', email: 'bob@example.com' };
const LOCK_AFTER = 5;
let caller: Awaited<ReturnType<typeof connectTestCaller>>;
let db: Pool;
let ami: ReturnType<typeof listenAmi>;
let bobId = 0;
let originalLimit = '10';
const sinks = createSinkClient(env.sinkUrl);

function cli(args: string[]) {
  return run('node', ['dist/cli/main.js', ...args], 60_000);
}

beforeAll(async () => {
  db = openDb();
  ami = listenAmi();
  const { rows } = await db.query<{ id: number }>(
    `SELECT c.id FROM contacts c JOIN contact_phones p ON p.contact_id = c.id WHERE p.e164 = $1`,
    [BOB.caller],
  );
  bobId = rows[0]?.id ?? 0;
  expect(bobId).toBeGreaterThan(0);
  const shown = await cli(['settings', 'show', 'maxFailedChecksPerContact', '--json']);
  originalLimit = String((JSON.parse(shown.output) as { value: number }).value);
  // A lower lockout keeps the test short; lowering it is always allowed (safer).
  expect((await cli(['settings', 'set', 'maxFailedChecksPerContact', String(LOCK_AFTER)])).code).toBe(0);
  expect((await cli(['contacts', 'unlock', String(bobId)])).code).toBe(0);
  caller = await connectTestCaller(TESTER_APP);
});
afterAll(async () => {
  await cli(['settings', 'set', 'maxFailedChecksPerContact', originalLimit]);
  await cli(['contacts', 'unlock', String(bobId)]);
  caller.close();
  ami.close();
  await db.end();
});

/** A six-digit code that is certainly not `code`. */
function wrongFor(code: string): string {
  return `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
}

async function failures(): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM verification_failures
      WHERE contact_id = $1 AND cleared_at IS NULL AND at > now() - interval '1 day'`,
    [bobId],
  );
  return Number(rows[0]?.n);
}

/** One call as Bob into Support (7001) keying `wrong` wrong codes; returns what the agent phone saw. */
async function callKeyingWrongCodes(wrong: number, keyMore: boolean): Promise<Record<string, string>> {
  const before = (await sinks.listMessages(BOB.email)).at(-1)?.id ?? 0;
  const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-e2e-')));
  await new Promise((r) => setTimeout(r, 300)); // let the agent phone bind its port
  const leg = await caller.placeCall(BOB.caller, '7001');
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
  await waitUntil('the call to enter the app', () => caller.appHasCall(), 15_000);
  await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' }); // email
  const msg = await sinks.waitForMessage(BOB.email, before, 30_000);
  const code = extractCode(msg.body) ?? '';
  const start = await failures();
  for (let i = 1; i <= wrong; i++) {
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: `${wrongFor(code)}#`, between: 120 });
    await waitUntil(`wrong code ${i} to count`, async () => (await failures()) === start + i, 20_000);
  }
  // Even the right code is refused once the contact is locked.
  if (keyMore) await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: `${code}#`, between: 120 });
  const seen = await agent;
  expect(seen.code).toBe(0);
  return parseAgentLine(seen.line);
}

describe('lockout across calls', () => {
  it('locks Bob after wrong codes over two calls; his next call reaches the failed destination as locked', async () => {
    const since = new Date();
    // Call 1: three wrong codes end the call's verification (max_attempts).
    expect(await callKeyingWrongCodes(3, false)).toMatchObject({ exten: '2901', reason: 'max_attempts' });
    // Call 2: a fresh code, but the count goes on: two more wrong codes lock the contact, and
    // the right code keyed after that is refused.
    expect(await callKeyingWrongCodes(2, true)).toMatchObject({
      exten: '2901',
      result: 'failed',
      reason: 'locked',
    });
    expect(await failures()).toBe(LOCK_AFTER);

    // Call 3: no menu, no code; the agent sees the reason.
    const agent = startAgent(mkdtempSync(path.join(tmpdir(), 'pinverify-e2e-')));
    await new Promise((r) => setTimeout(r, 300));
    const sentBefore = (await sinks.listMessages(BOB.email)).length;
    const leg = await caller.placeCall(BOB.caller, '7001');
    await caller.client.channels.sendDTMF({ channelId: leg.id, dtmf: '1' });
    const seen = await agent;
    expect(parseAgentLine(seen.line)).toMatchObject({
      exten: '2901',
      result: 'failed',
      reason: 'locked',
      method: 'none',
      route: 'pinverify-support-autopin',
    });
    expect((await sinks.listMessages(BOB.email)).length).toBe(sentBefore);
    const call = await latestCall(db, '0102', since);
    expect(call).toMatchObject({
      result: 'failed',
      reason: 'locked',
      destination: '2901@pinverify-destinations:1',
    });
    expect(call?.kinds).toEqual(expect.arrayContaining(['lookup', 'refused', 'outcome']));
    expect(call?.kinds).not.toContain('choice');
    const ev = await ami.waitFor((e) => e.uniqueid === call?.channel_id, 5000);
    expect(ev).toMatchObject({ result: 'failed', reason: 'locked' });

    // The API refuses Bob too, with the same limit named (one service for calls and the API).
    const key = await apiKey();
    const refused = await api(key, 'POST', '/v1/verifications', { contactId: bobId, channel: 'email' });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'locked' });
    expect(String(refused.body.message)).toMatch(/5 failed checks in 24 h \(limit 5\)/);

    // An operator unlocks him from the CLI; the API may verify him again at once.
    const unlocked = await cli(['contacts', 'unlock', String(bobId)]);
    expect(unlocked.code).toBe(0);
    expect(unlocked.output).toMatch(/unlocked: 5 failed checks/);
    const again = await api(key, 'POST', '/v1/verifications', { contactId: bobId, channel: 'email' });
    expect(again.status).toBe(201);
    await api(key, 'POST', `/v1/verifications/${String(again.body.id)}/cancel`);
  });
});

let keyCache: string | null = null;
async function apiKey(): Promise<string> {
  if (keyCache) return keyCache;
  const key = await createApiKey('e2e-limits');
  keyCache = key;
  return key;
}

async function api(
  key: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(`http://127.0.0.1:${process.env.ADMIN_PORT ?? '8090'}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

describe('the verifications API on the running app', () => {
  it('start -> the code read from the SMS sink -> check: approved', async () => {
    const key = await apiKey();
    const to = '+12025550103'; // Carol: SMS only
    const before = (await sinks.listMessages(to)).at(-1)?.id ?? 0;
    const started = await api(key, 'POST', '/v1/verifications', { to, channel: 'sms' });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      status: 'pending',
      channel: 'sms',
      to: '+*******0103',
      origin: 'api',
    });
    expect(started.text).not.toContain('2025550103');
    const msg = await sinks.waitForMessage(to, before, 30_000);
    const code = extractCode(msg.body) ?? '';
    expect(started.text).not.toContain(code);

    const id = String(started.body.id);
    const wrong = await api(key, 'POST', `/v1/verifications/${id}/check`, { code: wrongFor(code) });
    expect(wrong.body).toMatchObject({ id, status: 'pending', checksLeft: 2 });
    const right = await api(key, 'POST', `/v1/verifications/${id}/check`, { code });
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ id, status: 'approved' });
    expect((await api(key, 'GET', `/v1/verifications/${id}`)).body).toMatchObject({
      status: 'approved',
      checks: 2,
    });
    // Single use.
    expect((await api(key, 'POST', `/v1/verifications/${id}/check`, { code })).status).toBe(409);
    // The CLI sees the same record.
    const shown = await cli(['verifications', 'show', id]);
    expect(shown.output).toMatch(new RegExp(`${id}: approved`));
  });
});
