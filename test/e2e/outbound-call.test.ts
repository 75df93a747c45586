import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { createSinkClient, extractCode } from '../../src/lab/sink-client';
import { createApiKey, env, openDb, REPO, run, waitUntil } from './lab-harness';

/**
 * Outbound verification calls (#12) through the lab: the admin API starts a verification of
 * channel call, the app originates over ARI through the lab's PSTN stand-in (lab-pstn, to
 * sip:<number>@127.0.0.1:5090), where a SIPp UAS plays the person called: answers and keys the
 * code (input mode: approved), is busy (486: busy), or never answers (the profile's ring timeout:
 * no_answer). Each attempt is recorded in verification_calls.
 */
jest.setTimeout(180_000);

const ADMIN = `http://127.0.0.1:${process.env.ADMIN_PORT ?? '8090'}`;
const ALICE = '+12025550101';
let key: string;
let db: Pool;
let tmp: string;

interface Answer {
  status: number;
  body: {
    id?: string;
    status?: string;
    code?: string;
    channel?: string;
    to?: string;
    contactId?: number | null;
  } | null;
}

async function api(method: string, url: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${ADMIN}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Answer['body'] };
}

/** The person called: a SIPp UAS on 127.0.0.1:5090 running one scenario, once; listening when this resolves. */
async function callee(
  scenario: string,
  keys: string[] = [],
): Promise<{ proc: ChildProcess; exit: Promise<number | null>; log: string }> {
  const log = path.join(tmp, `${scenario}.log`);
  const proc = spawn(
    'sipp',
    [
      '-sf',
      path.join(REPO, 'test/sipp', `${scenario}.xml`),
      '-i',
      '127.0.0.1',
      '-p',
      '5090',
      '-mi',
      '127.0.0.1',
      '-mp',
      '16300',
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '120',
      '-trace_logs',
      '-log_file',
      log,
      ...keys,
    ],
    { stdio: 'ignore' },
  );
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  // SIPp binds its port a moment after it starts.
  await new Promise((r) => setTimeout(r, 300));
  return { proc, exit, log };
}

async function attempts(verificationId: string) {
  const { rows } = await db.query<{ attempt: number; status: string; cause: number | null; checks: number }>(
    'SELECT attempt, status, cause, checks FROM verification_calls WHERE verification_id = $1 ORDER BY attempt',
    [verificationId],
  );
  return rows;
}

async function endedAttempt(verificationId: string) {
  await waitUntil(
    'the call attempt ended',
    async () =>
      (
        await db.query(
          'SELECT 1 FROM verification_calls WHERE verification_id = $1 AND ended_at IS NOT NULL',
          [verificationId],
        )
      ).rowCount !== 0,
    60_000,
  );
  return (await attempts(verificationId))[0];
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'pinverify-outbound-'));
  db = openDb();
  key = await createApiKey('e2e-outbound');
  // Profiles for the test: the client's own code (known to the scripted callee), a short ring.
  for (const p of [
    { name: 'e2e-input-own-code', mode: 'input', codeSource: 'manual' },
    { name: 'e2e-short-ring', mode: 'input', codeSource: 'auto', ringTimeoutSeconds: 5 },
  ]) {
    await api('DELETE', `/v1/profiles/${p.name}`);
    const made = await api('POST', '/v1/profiles', { title: p.name, callerId: '+12025550100', ...p });
    expect(made.status).toBe(201);
  }
});

afterAll(async () => {
  await db.end();
  rmSync(tmp, { recursive: true, force: true });
});

describe('outbound verification calls through the lab', () => {
  test('input mode: the person answers, presses a key and keys the code: approved', async () => {
    const person = await callee('uas-callee-keys-code', [
      '-key',
      'p1',
      '4',
      '-key',
      'p2',
      '7',
      '-key',
      'p3',
      '1',
      '-key',
      'p4',
      '1',
    ]);
    const started = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: ALICE,
      profile: 'e2e-input-own-code',
      customCode: '4711',
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ channel: 'call', status: 'pending' });
    // Masked, as everywhere else.
    expect(started.body?.to).not.toContain('5550101');
    expect(started.body?.code).toBeUndefined();
    const id = started.body?.id ?? '';
    expect(await person.exit).toBe(0);
    expect(readFileSync(person.log, 'utf8')).toContain(`CALLEE number=${ALICE}`);
    await waitUntil(
      'approved',
      async () => (await api('GET', `/v1/verifications/${id}`)).body?.status === 'approved',
      20_000,
    );
    expect(await endedAttempt(id)).toMatchObject({ attempt: 1, status: 'approved', checks: 1 });
  });

  test('input mode: a wrong code three times: max_attempts_reached, and the call ends', async () => {
    const person = await callee('uas-callee-keys-wrong-three-times', [
      '-key',
      'p1',
      '0',
      '-key',
      'p2',
      '0',
      '-key',
      'p3',
      '0',
      '-key',
      'p4',
      '0',
    ]);
    const started = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: ALICE,
      profile: 'e2e-input-own-code',
      customCode: '4711',
    });
    const id = started.body?.id ?? '';
    expect(await person.exit).toBe(0);
    await waitUntil(
      'max_attempts_reached',
      async () => (await api('GET', `/v1/verifications/${id}`)).body?.status === 'max_attempts_reached',
      20_000,
    );
    expect(await endedAttempt(id)).toMatchObject({ status: 'answered', checks: 3 });
    // The wrong codes count toward Alice's lockout: clear them for the tests after this one.
    await run(
      'node',
      ['dist/cli/main.js', 'contacts', 'unlock', String(started.body?.contactId ?? '')],
      30_000,
    );
  });

  test('input mode with a generated code: the code comes back once in the answer', async () => {
    const person = await callee('uas-callee-busy-486');
    const started = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: ALICE,
      profile: 'lab-input',
    });
    expect(started.status).toBe(201);
    expect(started.body?.code).toMatch(/^[0-9]{6}$/);
    const shown = await api('GET', `/v1/verifications/${started.body?.id ?? ''}`);
    expect(shown.body?.code).toBeUndefined();
    // The line was busy: the call says so, the verification stays pending for a retry.
    expect(await person.exit).toBe(0);
    expect(await endedAttempt(started.body?.id ?? '')).toMatchObject({ status: 'busy', cause: 17 });
    expect(shown.body?.status).toBe('pending');
  });

  test('nobody answers within the ring timeout: no_answer', async () => {
    const person = await callee('uas-callee-never-answers');
    const started = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: ALICE,
      profile: 'e2e-short-ring',
    });
    expect(started.status).toBe(201);
    expect(await endedAttempt(started.body?.id ?? '')).toMatchObject({ status: 'no_answer' });
    expect(await person.exit).toBe(0);
  });

  test('a missed read-mode call sends the code by SMS (lab-read: SMS when not answered), and it approves', async () => {
    const sinks = createSinkClient(env.sinkUrl);
    const before = Math.max(0, ...(await sinks.listMessages(ALICE)).map((m) => m.id));
    const person = await callee('uas-callee-busy-486');
    const started = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: ALICE,
      profile: 'lab-read',
    });
    expect(started.status).toBe(201);
    expect(started.body?.code).toBeUndefined();
    const id = started.body?.id ?? '';
    expect(await person.exit).toBe(0);
    expect(await endedAttempt(id)).toMatchObject({ status: 'busy' });
    const sms = await sinks.waitForMessage(ALICE, before, 20_000);
    const code = extractCode(sms.body) ?? '';
    expect(code).toMatch(/^[0-9]{6}$/);
    const checked = await api('POST', `/v1/verifications/${id}/check`, { code });
    expect(checked.body?.status).toBe('approved');
  });

  test('a call-back to 7100 from the number with a pending call verification gets the call and approves it', async () => {
    // The call goes unanswered (busy); the person calls back and keys the code they were shown.
    const person = await callee('uas-callee-busy-486');
    const started = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: ALICE,
      profile: 'lab-input',
    });
    const id = started.body?.id ?? '';
    const code = started.body?.code ?? '';
    expect(await person.exit).toBe(0);
    await endedAttempt(id);
    const keys = [...code].flatMap((d, i) => ['-key', `c${i + 1}`, d]);
    const back = await run(
      'sipp',
      [
        '127.0.0.1:5060',
        '-sf',
        'test/sipp/uac-call-back-keys-code.xml',
        '-s',
        '7100',
        '-key',
        'caller',
        ALICE,
        ...keys,
        '-i',
        '127.0.0.1',
        '-p',
        '5070',
        '-m',
        '1',
        '-nostdin',
        '-timeout',
        '60',
      ],
      90_000,
    );
    expect(back.code).toBe(0);
    await waitUntil(
      'approved by the call-back',
      async () => (await api('GET', `/v1/verifications/${id}`)).body?.status === 'approved',
      10_000,
    );
    expect((await attempts(id)).map((a) => [a.attempt, a.status])).toEqual([
      [1, 'busy'],
      [2, 'approved'],
    ]);
  });

  test('a call-back from anyone else hears "Invalid request" and is hung up on', async () => {
    const started = Date.now();
    const r = await run(
      'sipp',
      [
        '127.0.0.1:5060',
        '-sf',
        'test/sipp/uac-call-back-unknown-expect-hangup.xml',
        '-s',
        '7100',
        '-key',
        'caller',
        '+12025550199',
        '-i',
        '127.0.0.1',
        '-p',
        '5070',
        '-m',
        '1',
        '-nostdin',
        '-timeout',
        '30',
      ],
      60_000,
    );
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test('the CLI queues a call and the running app places it (the queue is shared through Postgres)', async () => {
    const person = await callee('uas-callee-busy-486');
    const r = await run(
      'node',
      [
        'dist/cli/main.js',
        '--json',
        'verifications',
        'start',
        '--channel',
        'call',
        '--to',
        ALICE,
        '--profile',
        'lab-input',
      ],
      60_000,
    );
    expect(r.code).toBe(0);
    const started = JSON.parse(r.output.slice(r.output.indexOf('{'))) as { id: string; code?: string };
    expect(started.code).toMatch(/^[0-9]{6}$/);
    expect(await person.exit).toBe(0);
    expect(await endedAttempt(started.id)).toMatchObject({ status: 'busy' });
  });

  test('a profile that allows unknown numbers calls one not on file; the verification has no contact', async () => {
    await api('DELETE', '/v1/profiles/e2e-any-number');
    const made = await api('POST', '/v1/profiles', {
      name: 'e2e-any-number',
      title: 'any number',
      callerId: '+12025550100',
      mode: 'input',
      codeSource: 'auto',
      requireContact: false,
    });
    expect(made.status).toBe(201);
    const person = await callee('uas-callee-busy-486');
    const started = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: '+12025550142',
      profile: 'e2e-any-number',
    });
    expect(started.status).toBe(201);
    expect(started.body?.contactId).toBeNull();
    expect(await person.exit).toBe(0);
    expect(readFileSync(person.log, 'utf8')).toContain('CALLEE number=+12025550142');
    expect(await endedAttempt(started.body?.id ?? '')).toMatchObject({ status: 'busy' });
  });

  test('refusals name the problem: unknown profile, a number not on file, a manual profile without its code', async () => {
    expect(
      (await api('POST', '/v1/verifications', { channel: 'call', to: ALICE, profile: 'nope' })).status,
    ).toBe(404);
    const stranger = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: '+12025550199',
      profile: 'lab-input',
    });
    expect(stranger.status).toBe(404);
    expect(JSON.stringify(stranger.body)).toContain('no contact has this number on file');
    const noCode = await api('POST', '/v1/verifications', {
      channel: 'call',
      to: ALICE,
      profile: 'e2e-input-own-code',
    });
    expect(noCode.status).toBe(400);
    expect(JSON.stringify(noCode.body)).toContain('customCode');
  });
});
