/**
 * `pinverify verifications ...` and `pinverify contacts unlock` run in-process against the test
 * database, sending through the real senders (nodemailer, twilio) to in-process sinks, where the
 * test reads each code as the person would on their phone. Proves start (--json), check (exit 0
 * only when approved), resend and its cooldown, cancel, show and list (addresses masked), the
 * lockout and an operator's unlock, the secret and sender failures as exit 2 and 3 naming the
 * cause, and that settings refuse a code length the lockout no longer makes safe. No output
 * ever carries a code or a full address.
 */
import { createServer } from 'node:net';
import type { Pool } from 'pg';
import { extractCode } from '../../../src/lab/sink-client';
import type { VerificationView } from '../../../src/ops/verification-admin';
import { DEMO_NUMBERS, loadDemoData } from '../../../src/store/demo-data';
import { freshDatabase, reseedConfig } from '../helpers';
import { senderEnv, startLabSinks, type LabSinks } from '../senders/start-lab-sinks';
import { cli, CLI_ENV, type CliRun } from './cli-harness';

const ALICE_EMAIL = 'alice@example.com';
const ALICE_MOBILE = DEMO_NUMBERS.emailAndSms;
const FULL_ADDRESSES = [ALICE_EMAIL, ALICE_MOBILE, ALICE_MOBILE.slice(2)];
const SECRET = 'cli-verifications-test-secret';

/** A local port nothing listens on: one the OS just handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A code the person did not receive: the right one with its first digit changed. */
function wrongCode(code: string): string {
  return `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
}

describe('pinverify verifications (CLI)', () => {
  let pool: Pool;
  let sinks: LabSinks;
  let env: NodeJS.ProcessEnv;
  let alice: number;
  /** Every run's output, and the codes read from messages: checked after each test. */
  let outputs: string[] = [];
  let codes: string[] = [];

  async function run(argv: readonly string[], runEnv: NodeJS.ProcessEnv = env): Promise<CliRun> {
    const result = await cli(argv, { env: runEnv });
    outputs.push(result.out, result.err);
    return result;
  }

  async function lastMessageId(): Promise<number> {
    return (await sinks.client.listMessages()).at(-1)?.id ?? 0;
  }

  async function codeSentTo(to: string, after: number): Promise<string> {
    const message = await sinks.client.waitForMessage(to, after, 5_000);
    const code = extractCode(message.body, 6);
    if (code === null) throw new Error(`no code in the message to ${to}: ${message.body}`);
    codes.push(code);
    return code;
  }

  /** `verifications start --json` (expecting exit 0) and the code sent. */
  async function start(
    args: readonly string[],
    to: string,
  ): Promise<{ view: VerificationView; code: string }> {
    const mark = await lastMessageId();
    const started = await run(['--json', 'verifications', 'start', ...args]);
    expect(started.err).toBe('');
    expect(started.code).toBe(0);
    return { view: started.json<VerificationView>(), code: await codeSentTo(to, mark) };
  }

  async function statusOf(id: string): Promise<{ status: string; failure_reason: string | null }> {
    const { rows } = await pool.query<{ status: string; failure_reason: string | null }>(
      'SELECT status, failure_reason FROM verifications WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw new Error(`no verification ${id}`);
    return rows[0];
  }

  beforeAll(async () => {
    pool = await freshDatabase();
    sinks = await startLabSinks();
    env = {
      ...CLI_ENV,
      PINVERIFY_CODE_SECRET: SECRET,
      ...senderEnv(sinks),
    };
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE contacts, config_changes CASCADE');
    await pool.query(
      'DELETE FROM verifications; DELETE FROM verification_sends; DELETE FROM verification_failures',
    );
    await reseedConfig(pool);
    await loadDemoData(pool);
    const { rows } = await pool.query<{ id: number }>(`SELECT id FROM contacts WHERE name = 'Alice Example'`);
    alice = rows[0]?.id ?? 0;
    await sinks.client.clear();
    outputs = [];
    codes = [];
  });
  afterEach(() => {
    const leaks: string[] = [];
    for (const text of outputs) {
      const withoutIds = text.replace(/VE[0-9a-f]{32}/g, 'VE<id>');
      for (const code of codes)
        if (new RegExp(`(?<!\\d)${code}(?!\\d)`).test(withoutIds)) leaks.push(`code ${code} in ${text}`);
      for (const address of FULL_ADDRESSES)
        if (text.toLowerCase().includes(address)) leaks.push(`${address} in ${text}`);
    }
    expect(leaks).toEqual([]);
  });
  afterAll(async () => {
    await sinks.close();
    await pool.end();
  });

  it('starts with --json, and a check with the code from the message exits 0 approved', async () => {
    const { view, code } = await start(['--channel', 'sms', '--contact', String(alice)], ALICE_MOBILE);
    expect(view).toMatchObject({
      id: expect.stringMatching(/^VE[0-9a-f]{32}$/) as unknown,
      status: 'pending',
      channel: 'sms',
      to: '+*******0101',
      contactId: alice,
      actor: 'cli:ops-test',
      sends: 1,
      checks: 0,
    });
    const checked = await run(['verifications', 'check', view.id, code]);
    expect(checked).toMatchObject({ code: 0, out: `${view.id}: approved`, err: '' });
    expect(await statusOf(view.id)).toEqual({ status: 'approved', failure_reason: null });
    // Single use: the same code again is refused.
    const again = await run(['verifications', 'check', view.id, code]);
    expect(again.code).toBe(1);
    expect(again.err).toBe(`pinverify: verification ${view.id} is already approved`);
  });

  it('exits 1 for a wrong code, saying how many checks are left; the last one is max_attempts_reached', async () => {
    const { view, code } = await start(['--channel', 'email', '--to', 'Alice@Example.com'], ALICE_EMAIL);
    expect(view).toMatchObject({ contactId: alice, channel: 'email', to: 'a***@e***.com' });
    const wrong = wrongCode(code);
    expect(await run(['verifications', 'check', view.id, wrong])).toMatchObject({
      code: 1,
      out: `${view.id}: wrong code, 2 checks left`,
    });
    const json = await run(['--json', 'verifications', 'check', view.id, wrong]);
    expect(json.code).toBe(1);
    expect(json.json()).toEqual({ id: view.id, status: 'pending', checksLeft: 1 });
    expect(await run(['verifications', 'check', view.id, wrong])).toMatchObject({
      code: 1,
      out: `${view.id}: max_attempts_reached`,
    });
    const fourth = await run(['verifications', 'check', view.id, code]);
    expect(fourth.code).toBe(1);
    expect(fourth.err).toBe(`pinverify: max_attempts: verification ${view.id} had 3 checks`);
  });

  it('resends the same code only after the cooldown', async () => {
    const { view, code } = await start(['--channel', 'sms', '--to', ALICE_MOBILE], ALICE_MOBILE);
    const early = await run(['verifications', 'resend', view.id]);
    expect(early.code).toBe(1);
    expect(early.err).toMatch(
      /^pinverify: rate_limited: wait \d+ s before sending this code again \(cooldown 30 s\)$/,
    );
    expect((await run(['settings', 'set', 'resendCooldownSeconds', '0'])).code).toBe(0);
    const mark = await lastMessageId();
    const resent = await run(['verifications', 'resend', view.id]);
    expect(resent.code).toBe(0);
    expect(resent.out).toContain(`sent again: ${view.id}: pending`);
    expect(resent.out).toContain('sends 2/5');
    expect(await codeSentTo(ALICE_MOBILE, mark)).toBe(code);
  });

  it('shows and lists verifications with the destination masked', async () => {
    const sms = await start(['--channel', 'sms', '--contact', String(alice)], ALICE_MOBILE);
    const email = await start(['--channel', 'email', '--contact', String(alice)], ALICE_EMAIL);

    const shown = await run(['verifications', 'show', sms.view.id]);
    expect(shown.code).toBe(0);
    expect(shown.out.split('\n')).toEqual([
      `${sms.view.id}: pending`,
      `  channel sms to +*******0101, contact ${alice}, origin api by cli:ops-test`,
      expect.stringMatching(/^ {2}created \S+ \S+, expires \S+ \S+$/) as unknown,
      '  sends 1/5, checks 0/3',
    ]);

    const listed = await run(['verifications', 'list']);
    expect(listed.code).toBe(0);
    const lines = listed.out.split('\n');
    expect(lines[0]).toMatch(/^CREATED\s+ID\s+STATUS\s+CHANNEL\s+TO\s+CONTACT\s+ORIGIN\s+SENDS\s+CHECKS$/);
    // Newest first.
    expect(lines.slice(1).map((l) => l.split(/\s+/)[2])).toEqual([email.view.id, sms.view.id]);
    expect(listed.out).toContain('a***@e***.com');
    expect(listed.out).toContain('+*******0101');

    const filtered = await run([
      '--json',
      'verifications',
      'list',
      '--contact',
      String(alice),
      '--status',
      'pending',
      '--limit',
      '1',
    ]);
    expect(filtered.json<VerificationView[]>().map((v) => v.id)).toEqual([email.view.id]);
    const none = await run(['verifications', 'list', '--status', 'approved']);
    expect(none).toMatchObject({ code: 0, out: 'no verifications' });
    const bad = await run(['verifications', 'list', '--status', 'done']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('status');

    const missing = await run(['verifications', 'show', `VE${'0'.repeat(32)}`]);
    expect(missing).toMatchObject({ code: 1, err: `pinverify: no verification VE${'0'.repeat(32)}` });
  });

  it('cancels a pending verification; a check then exits 1 naming it canceled', async () => {
    const { view, code } = await start(['--channel', 'email', '--contact', String(alice)], ALICE_EMAIL);
    const canceled = await run(['verifications', 'cancel', view.id]);
    expect(canceled.code).toBe(0);
    expect(canceled.out).toMatch(new RegExp(`^canceled: ${view.id}: canceled\\n`));
    expect(await statusOf(view.id)).toEqual({
      status: 'canceled',
      failure_reason: 'canceled by cli:ops-test',
    });
    const late = await run(['verifications', 'check', view.id, code]);
    expect(late).toMatchObject({ code: 1, err: `pinverify: verification ${view.id} is already canceled` });
    expect((await run(['verifications', 'cancel', view.id])).code).toBe(1);
  });

  it('refuses a start for a locked contact; `contacts unlock` clears the lockout', async () => {
    expect((await run(['settings', 'set', 'maxFailedChecksPerContact', '3'])).code).toBe(0);
    const first = await start(['--channel', 'sms', '--contact', String(alice)], ALICE_MOBILE);
    const second = await start(['--channel', 'email', '--contact', String(alice)], ALICE_EMAIL);
    for (const [v, code] of [
      [first.view.id, first.code],
      [first.view.id, first.code],
      [second.view.id, second.code],
    ] as const)
      expect((await run(['verifications', 'check', v, wrongCode(code)])).code).toBe(1);

    const mark = await lastMessageId();
    const locked = await run(['verifications', 'start', '--channel', 'sms', '--contact', String(alice)]);
    expect(locked.code).toBe(1);
    expect(locked.err).toMatch(
      /^pinverify: locked: 3 failed checks in 24 h \(limit 3\); unlocks at \S+ or with "pinverify contacts unlock"$/,
    );
    expect(await lastMessageId()).toBe(mark);
    const right = await run(['verifications', 'check', second.view.id, second.code]);
    expect(right.code).toBe(1);
    expect(right.err).toMatch(/^pinverify: locked: the contact is locked by failed checks until \S+$/);

    const unlocked = await run(['contacts', 'unlock', String(alice)]);
    expect(unlocked).toMatchObject({
      code: 0,
      out: `contact ${alice} unlocked: 3 failed checks and 2 sends cleared`,
      err: '',
    });
    const { rows } = await pool.query(
      'SELECT actor, action, subject FROM config_changes ORDER BY id DESC LIMIT 1',
    );
    expect(rows).toEqual([{ actor: 'cli:ops-test', action: 'contact.unlock', subject: String(alice) }]);
    const again = await start(['--channel', 'sms', '--contact', String(alice)], ALICE_MOBILE);
    expect((await run(['verifications', 'check', again.view.id, again.code])).code).toBe(0);

    const nothing = await run(['contacts', 'unlock', String(alice)]);
    expect(nothing).toMatchObject({
      code: 0,
      out: `contact ${alice} unlocked: 0 failed checks and 1 sends cleared`,
    });
  });

  it('exits 1 for an unlock of an unknown contact', async () => {
    const res = await run(['contacts', 'unlock', '99999']);
    expect(res).toMatchObject({ code: 1, out: '', err: 'pinverify: no contact with id 99999' });
  });

  it('exits 2 with one line naming PINVERIFY_CODE_SECRET when it is missing or too short, sending nothing', async () => {
    for (const secret of [undefined, 'short']) {
      const runEnv: NodeJS.ProcessEnv = { ...env };
      if (secret === undefined) delete runEnv.PINVERIFY_CODE_SECRET;
      else runEnv.PINVERIFY_CODE_SECRET = secret;
      const res = await run(
        ['verifications', 'start', '--channel', 'sms', '--contact', String(alice)],
        runEnv,
      );
      expect(res.code).toBe(2);
      expect(res.out).toBe('');
      expect(res.err).toBe(
        'pinverify: PINVERIFY_CODE_SECRET is not set (at least 16 characters, the same as the app)',
      );
    }
    expect(await sinks.client.listMessages()).toEqual([]);
    expect((await pool.query('SELECT 1 FROM verifications')).rowCount).toBe(0);
  });

  it('exits 3 naming delivery_failed when the mail server is not listening; the verification is failed', async () => {
    const port = await closedPort();
    const res = await run(['verifications', 'start', '--channel', 'email', '--contact', String(alice)], {
      ...env,
      SMTP_PORT: String(port),
    });
    expect(res.code).toBe(3);
    expect(res.err.split('\n')).toHaveLength(1);
    expect(res.err).toMatch(new RegExp(`^pinverify: delivery_failed: .*SMTP 127\\.0\\.0\\.1:${port}`));
    const { rows } = await pool.query<{ status: string; failure_reason: string }>(
      'SELECT status, failure_reason FROM verifications WHERE contact_id = $1',
      [alice],
    );
    expect(rows).toEqual([{ status: 'failed', failure_reason: 'delivery_failed' }]);

    const json = await run(
      ['--json', 'verifications', 'start', '--channel', 'email', '--contact', String(alice)],
      {
        ...env,
        SMTP_PORT: String(port),
      },
    );
    expect(json.code).toBe(3);
    expect(json.json()).toMatchObject({ error: 'delivery_failed' });
  });

  it('refuses codeLength 4 while the lockout allows 10 failures, naming both settings and "1 in 10,000"', async () => {
    const res = await run(['settings', 'set', 'codeLength', '4']);
    expect(res.code).toBe(1);
    expect(res.out).toBe('');
    const lines = res.err.split('\n');
    expect(lines[0]).toBe('pinverify: refused:');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('codeLength');
    expect(lines[1]).toContain('maxFailedChecksPerContact 10');
    expect(lines[1]).toContain('1 in 10,000');
    expect(lines[1]).toBe(
      '  codeLength: maxFailedChecksPerContact 10 with codeLength 4 gives a guesser 1 in 1,000 per contact per day; ' +
        'at most 1 in 10,000 is allowed (lower maxFailedChecksPerContact to 1 or raise codeLength)',
    );
    const { rows } = await pool.query(`SELECT value FROM settings WHERE key = 'codeLength'`);
    expect(rows).toEqual([{ value: 6 }]);
    // Together with a lockout that keeps the bound, the same code length is accepted.
    const both = await run(['settings', 'set', 'codeLength', '4', 'maxFailedChecksPerContact', '1']);
    expect(both).toMatchObject({ code: 0, err: '' });
  });
});
