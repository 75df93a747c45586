/**
 * `pinverify profiles ...` run in-process against the test database: every subcommand's happy
 * path, text and --json output, the defaults of a new profile, each refusal with its exit code
 * and a message naming the field (bounds, formats, a duplicate name or call-back number, an
 * unknown profile), and the config_changes record of every write (actor cli:<actor>).
 */
import { Client, type Pool } from 'pg';
import type { CallProfile } from '../../../src/domain';
import { DEMO_PROFILES, loadDemoData } from '../../../src/store/demo-data';
import { CONFIG_CHANNEL } from '../../../src/store/pg-config-store';
import { freshDatabase, TEST_DATABASE_URL, waitFor } from '../helpers';
import { cli } from './cli-harness';

const INPUT = DEMO_PROFILES.input;
const READ = DEMO_PROFILES.read;

async function profileRow(pool: Pool, name: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query('SELECT * FROM call_profiles WHERE name = $1', [name]);
  return rows[0] as Record<string, unknown> | undefined;
}

async function lastChange(pool: Pool): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query('SELECT * FROM config_changes ORDER BY id DESC LIMIT 1');
  return rows[0] as Record<string, unknown> | undefined;
}

async function changeCount(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM config_changes');
  return rows[0]?.n ?? -1;
}

const addLogin = (...extra: string[]) => [
  'profiles',
  'add',
  '--name',
  'login-call',
  '--title',
  'Login by phone',
  '--caller-id',
  '+12025550123',
  ...extra,
];

/** What a profile added with only the required options holds. */
const LOGIN_DEFAULTS = {
  name: 'login-call',
  title: 'Login by phone',
  enabled: true,
  mode: 'read',
  codeSource: 'auto',
  codeLength: 6,
  callerId: '+12025550123',
  callbackNumber: '',
  repeats: 3,
  keyBeforeCode: true,
  smsAfterCall: 'off',
  locale: 'en',
  ringTimeoutSeconds: 30,
  retriesOnNoAnswer: 0,
  requireContact: true,
};

describe('pinverify profiles (CLI)', () => {
  let pool: Pool;

  beforeAll(async () => {
    pool = await freshDatabase();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE call_profiles, config_changes');
    await loadDemoData(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  describe('list and show', () => {
    it('lists the profiles as a table, by name', async () => {
      const run = await cli(['profiles', 'list']);
      expect(run).toMatchObject({ code: 0, err: '' });
      const lines = run.out.split('\n');
      expect(lines[0]).toMatch(
        /^ID\s+NAME\s+TITLE\s+MODE\s+CODE\s+CALLER ID\s+CALL-BACK\s+SMS AFTER\s+ENABLED$/,
      );
      expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(1))).toEqual([
        ['lab-input', 'Lab input mode', 'input', 'auto 6', '+12025550100', '7100', 'off', 'yes'],
        ['lab-read', 'Lab read mode', 'read', 'auto 6', '+12025550100', '7101', 'not_answered', 'yes'],
      ]);
    });

    it('lists them as JSON with --json (before or after the command)', async () => {
      for (const argv of [
        ['--json', 'profiles', 'list'],
        ['profiles', 'list', '--json'],
      ]) {
        const run = await cli(argv);
        expect(run.code).toBe(0);
        expect(run.json<CallProfile[]>()).toEqual(
          [INPUT, READ].map((p) => ({ id: expect.any(Number) as unknown, ...p })),
        );
      }
    });

    it('says so when there are none', async () => {
      await pool.query('TRUNCATE call_profiles');
      const run = await cli(['profiles', 'list']);
      expect(run.code).toBe(0);
      expect(run.out).toContain('no call profiles');
      expect((await cli(['--json', 'profiles', 'list'])).json()).toEqual([]);
    });

    it('shows one profile by name or by id, every field one a line', async () => {
      const byName = await cli(['--json', 'profiles', 'show', 'lab-read']);
      expect(byName.code).toBe(0);
      const profile = byName.json<CallProfile>();
      expect(profile).toEqual({ id: expect.any(Number) as unknown, ...READ });
      expect((await cli(['--json', 'profiles', 'show', String(profile.id)])).json()).toEqual(profile);
      const text = await cli(['profiles', 'show', ` ${profile.id} `]);
      expect(text.out.split('\n')).toEqual([
        `profile ${profile.id} lab-read "Lab read mode"`,
        '  mode:                 read (the call says the code)',
        '  code:                 auto, 6 digits',
        '  caller ID:            +12025550100',
        '  call-back number:     7101',
        '  repeats:              3',
        '  key before code:      yes',
        '  SMS after call:       not_answered',
        '  locale:               en',
        '  ring timeout:         30 s',
        '  retries on no answer: 0',
        '  require contact:      yes',
      ]);
    });

    it('refuses an unknown profile with exit 1, saying how it was looked up', async () => {
      const byId = await cli(['profiles', 'show', '9999']);
      expect(byId).toMatchObject({ code: 1, out: '', err: 'pinverify: no profile with id 9999' });
      // More digits than an id can have: still "not found", not a database error.
      const huge = await cli(['profiles', 'show', '99999999999999']);
      expect(huge.err).toBe('pinverify: no profile with id 99999999999999');
      const byName = await cli(['profiles', 'show', 'no-such-profile']);
      expect(byName).toMatchObject({ code: 1, err: 'pinverify: no profile named no-such-profile' });
      const json = await cli(['--json', 'profiles', 'show', 'no-such-profile']);
      expect(json.code).toBe(1);
      expect(json.json()).toEqual({
        error: 'not_found',
        message: 'no profile named no-such-profile',
        problems: [],
      });
    });

    it('explains profiles with an example in the help', async () => {
      const help = await cli(['profiles', '--help']);
      expect(help.code).toBe(0);
      expect(help.out).toContain('Usage: pinverify profiles');
      expect(help.out).toContain('Examples:');
      expect(help.out).toContain('pinverify profiles add --name login-call');
      const add = await cli(['profiles', 'add', '--help']);
      expect(add.out).toContain('--no-key-before-code');
      expect(add.out).toContain('--allow-unknown-numbers');
      const update = await cli(['profiles', 'update', '--help']);
      expect(update.out).toContain('--require-contact');
      expect(update.out).toContain('--enable');
    });
  });

  describe('add', () => {
    it('adds a profile with the defaults for every option left out, and records it', async () => {
      const before = await changeCount(pool);
      const run = await cli(addLogin('--json'));
      expect(run).toMatchObject({ code: 0, err: '' });
      const saved = run.json<CallProfile>();
      expect(saved).toEqual({ id: expect.any(Number) as unknown, ...LOGIN_DEFAULTS });
      expect(await profileRow(pool, 'login-call')).toMatchObject({
        id: saved.id,
        caller_id: '+12025550123',
        callback_number: '',
        code_length: 6,
      });
      expect(await changeCount(pool)).toBe(before + 1);
      expect(await lastChange(pool)).toMatchObject({
        actor: 'cli:ops-test',
        action: 'profile.add',
        subject: 'login-call',
        detail: { profile: saved },
      });
    });

    it('takes every option, and prints the profile without --json', async () => {
      const run = await cli(
        addLogin(
          '--mode',
          'input',
          '--code-source',
          'manual',
          '--code-length',
          '8',
          '--callback-number',
          '*7200#',
          '--repeats',
          '2',
          '--no-key-before-code',
          '--sms-after-call',
          'always',
          '--locale',
          'en_US',
          '--ring-timeout',
          '45',
          '--retries',
          '3',
          '--allow-unknown-numbers',
          '--disabled',
        ),
      );
      expect(run).toMatchObject({ code: 0, err: '' });
      expect(run.out).toMatch(
        /^added profile \d+ login-call "Login by phone" \(disabled\)\n {2}mode: +input/,
      );
      expect(run.out).toContain('code:                 manual, 8 digits');
      expect(await profileRow(pool, 'login-call')).toMatchObject({
        enabled: false,
        mode: 'input',
        code_source: 'manual',
        code_length: 8,
        callback_number: '*7200#',
        repeats: 2,
        key_before_code: false,
        sms_after_call: 'always',
        locale: 'en_US',
        ring_timeout_seconds: 45,
        retries_on_no_answer: 3,
        require_contact: false,
      });
    });

    it('accepts a manual code source with a key press before the code, and the bounds themselves', async () => {
      const low = await cli(
        addLogin('--code-source', 'manual', '--code-length', '4', '--repeats', '1', '--ring-timeout', '5'),
      );
      expect(low.code).toBe(0);
      expect(await profileRow(pool, 'login-call')).toMatchObject({
        code_source: 'manual',
        key_before_code: true,
        code_length: 4,
        repeats: 1,
        ring_timeout_seconds: 5,
      });
      const high = await cli([
        ...addLogin('--code-length', '10', '--repeats', '5', '--ring-timeout', '120', '--retries', '0'),
        '--name',
        'login-call-2',
      ]);
      expect(high.code).toBe(0);
    });

    it('refuses values out of bounds or in the wrong format, naming every field at once', async () => {
      const before = await changeCount(pool);
      const run = await cli([
        'profiles',
        'add',
        '--name',
        'Login Call',
        '--title',
        ' ',
        '--caller-id',
        '12025550123',
        '--mode',
        'voice',
        '--code-source',
        'client',
        '--code-length',
        '12',
        '--callback-number',
        '71 00',
        '--repeats',
        '0',
        '--sms-after-call',
        'sometimes',
        '--locale',
        'english',
        '--ring-timeout',
        '300',
        '--retries',
        'two',
      ]);
      expect(run).toMatchObject({ code: 1, out: '' });
      expect(run.err.split('\n')).toEqual([
        'pinverify: refused:',
        '  name: lower case letters, digits and "-", at most 40 characters, starting with a letter or digit',
        '  title: must not be empty',
        '  mode: must be one of read, input',
        '  codeSource: must be one of auto, manual',
        '  codeLength: must be a whole number from 4 to 10',
        '  callerId: must be an E.164 number like +12025550100',
        '  callbackNumber: digits, *, # and + only, at most 40 (empty for none)',
        '  repeats: must be a whole number from 1 to 5',
        '  smsAfterCall: must be one of off, always, not_answered',
        '  locale: a language like en, or language_COUNTRY like en_US',
        '  ringTimeoutSeconds: must be a whole number from 5 to 120',
        '  retriesOnNoAnswer: must be a whole number from 0 to 3',
      ]);
      expect(await profileRow(pool, 'Login Call')).toBeUndefined();
      expect(await changeCount(pool)).toBe(before);
    });

    it('refuses a name of digits only (it would read as an id) and one too long', async () => {
      const digits = await cli([
        'profiles',
        'add',
        '--name',
        '7100',
        '--title',
        'X',
        '--caller-id',
        '+12025550123',
      ]);
      expect(digits.code).toBe(1);
      expect(digits.err).toContain('name: must not be digits only (it would read as an id)');
      const long = await cli(addLogin('--name', `a${'b'.repeat(40)}`));
      expect(long.code).toBe(1);
      expect(long.err).toContain('name: lower case letters, digits and "-", at most 40 characters');
      const json = await cli(['--json', ...addLogin('--caller-id', '+0123')]);
      expect(json.json()).toEqual({
        error: 'invalid',
        message: 'callerId: must be an E.164 number like +12025550100',
        problems: [{ field: 'callerId', message: 'must be an E.164 number like +12025550100' }],
      });
    });

    it('refuses a missing required option as a usage error (exit 2)', async () => {
      const run = await cli(['profiles', 'add', '--name', 'login-call', '--title', 'X']);
      expect(run.code).toBe(2);
      expect(run.err).toContain("required option '--caller-id <number>' not specified");
      expect(await profileRow(pool, 'login-call')).toBeUndefined();
    });

    it('refuses a second profile with the same name as a conflict', async () => {
      const run = await cli(addLogin('--name', 'lab-input'));
      expect(run).toMatchObject({ code: 1, out: '' });
      expect(run.err).toBe('pinverify: name: a profile named lab-input already exists');
      expect(await profileRow(pool, 'lab-input')).toMatchObject({ title: INPUT.title });
      const json = await cli(['--json', ...addLogin('--name', 'lab-input')]);
      expect(json.json()).toEqual({
        error: 'conflict',
        message: 'name: a profile named lab-input already exists',
        problems: [{ field: 'name', message: 'a profile named lab-input already exists' }],
      });
    });

    it("refuses another profile's call-back number, naming the profile that has it", async () => {
      const before = await changeCount(pool);
      const run = await cli(addLogin('--callback-number', '7101'));
      expect(run).toMatchObject({ code: 1, out: '' });
      expect(run.err).toBe(
        'pinverify: callbackNumber: 7101 is already the call-back number of profile lab-read',
      );
      const json = await cli(['--json', ...addLogin('--callback-number', '7101')]);
      expect(json.json()).toMatchObject({
        error: 'conflict',
        problems: [{ field: 'callbackNumber', message: 'already the call-back number of profile lab-read' }],
      });
      expect(await profileRow(pool, 'login-call')).toBeUndefined();
      expect(await changeCount(pool)).toBe(before);
    });

    it('lets any number of profiles go without a call-back number', async () => {
      expect((await cli(addLogin())).code).toBe(0);
      expect((await cli(addLogin('--name', 'login-call-2'))).code).toBe(0);
      const { rows } = await pool.query(
        `SELECT name FROM call_profiles WHERE callback_number = '' ORDER BY name`,
      );
      expect(rows).toEqual([{ name: 'login-call' }, { name: 'login-call-2' }]);
    });
  });

  describe('update', () => {
    it('changes only the option given, and records what changed', async () => {
      const run = await cli(['--json', 'profiles', 'update', 'lab-input', '--repeats', '2']);
      expect(run).toMatchObject({ code: 0, err: '' });
      const updated = run.json<CallProfile>();
      expect(updated).toEqual({ id: expect.any(Number) as unknown, ...INPUT, repeats: 2 });
      expect(await profileRow(pool, 'lab-input')).toMatchObject({
        repeats: 2,
        title: INPUT.title,
        mode: 'input',
        callback_number: '7100',
      });
      expect(await profileRow(pool, 'lab-read')).toMatchObject({ repeats: 3 });
      expect(await lastChange(pool)).toMatchObject({
        actor: 'cli:ops-test',
        action: 'profile.update',
        subject: 'lab-input',
        detail: { before: { ...INPUT, id: updated.id }, changed: { repeats: 2 } },
      });
      const text = await cli(['profiles', 'update', String(updated.id), '--title', 'Input']);
      expect(text.out).toMatch(new RegExp(`^updated profile ${updated.id} lab-input "Input"\n`));
    });

    it('switches each flag off and on again', async () => {
      const off = await cli([
        '--json',
        'profiles',
        'update',
        'lab-read',
        '--disable',
        '--no-key-before-code',
        '--allow-unknown-numbers',
      ]);
      expect(off.json()).toMatchObject({ enabled: false, keyBeforeCode: false, requireContact: false });
      const on = await cli([
        '--json',
        'profiles',
        'update',
        'lab-read',
        '--enable',
        '--key-before-code',
        '--require-contact',
      ]);
      expect(on.json()).toMatchObject({ enabled: true, keyBeforeCode: true, requireContact: true });
      // An update without a flag leaves it alone.
      await cli(['profiles', 'update', 'lab-read', '--disable', '--no-key-before-code']);
      expect(
        (await cli(['--json', 'profiles', 'update', 'lab-read', '--locale', 'fr'])).json(),
      ).toMatchObject({
        enabled: false,
        keyBeforeCode: false,
        locale: 'fr',
      });
    });

    it('changes every other option', async () => {
      const run = await cli([
        '--json',
        'profiles',
        'update',
        'lab-input',
        '--name',
        'lab-input-2',
        '--caller-id',
        '+442079460000',
        '--mode',
        'read',
        '--code-source',
        'manual',
        '--code-length',
        '9',
        '--sms-after-call',
        'always',
        '--ring-timeout',
        '20',
        '--retries',
        '1',
      ]);
      expect(run.code).toBe(0);
      expect(run.json()).toMatchObject({
        name: 'lab-input-2',
        callerId: '+442079460000',
        mode: 'read',
        codeSource: 'manual',
        codeLength: 9,
        smsAfterCall: 'always',
        ringTimeoutSeconds: 20,
        retriesOnNoAnswer: 1,
        callbackNumber: '7100',
      });
      expect(await profileRow(pool, 'lab-input')).toBeUndefined();
    });

    it('frees a call-back number with "", which another profile may then take', async () => {
      const taken = await cli(['profiles', 'update', 'lab-read', '--callback-number', '7100']);
      expect(taken.code).toBe(1);
      expect(taken.err).toBe(
        'pinverify: callbackNumber: 7100 is already the call-back number of profile lab-input',
      );
      expect(await profileRow(pool, 'lab-read')).toMatchObject({ callback_number: '7101' });
      expect((await cli(['profiles', 'update', 'lab-input', '--callback-number', ''])).code).toBe(0);
      expect(await profileRow(pool, 'lab-input')).toMatchObject({ callback_number: '' });
      expect((await cli(['profiles', 'update', 'lab-read', '--callback-number', '7100'])).code).toBe(0);
      expect(await profileRow(pool, 'lab-read')).toMatchObject({ callback_number: '7100' });
    });

    it("refuses to rename a profile to another profile's name", async () => {
      const run = await cli(['profiles', 'update', 'lab-read', '--name', 'lab-input']);
      expect(run.code).toBe(1);
      expect(run.err).toBe('pinverify: name: a profile named lab-input already exists');
      expect(await profileRow(pool, 'lab-read')).toBeDefined();
    });

    it('refuses a bad value naming the field, and changes nothing', async () => {
      const before = await changeCount(pool);
      const run = await cli(['profiles', 'update', 'lab-read', '--code-length', '3', '--title', 'Fine']);
      expect(run.code).toBe(1);
      expect(run.err).toBe(
        ['pinverify: refused:', '  codeLength: must be a whole number from 4 to 10'].join('\n'),
      );
      expect(await profileRow(pool, 'lab-read')).toMatchObject({ title: READ.title, code_length: 6 });
      expect(await changeCount(pool)).toBe(before);
    });

    it('refuses an unknown profile, no options, and switches that exclude each other', async () => {
      const unknown = await cli(['profiles', 'update', 'no-such-profile', '--title', 'X']);
      expect(unknown).toMatchObject({ code: 1, err: 'pinverify: no profile named no-such-profile' });
      const nothing = await cli(['profiles', 'update', 'lab-read']);
      expect(nothing.code).toBe(1);
      expect(nothing.err).toContain('body: nothing to change: give at least one field');
      const both = await cli(['profiles', 'update', 'lab-read', '--enable', '--disable']);
      expect(both).toMatchObject({ code: 2, err: 'pinverify: --enable and --disable exclude each other' });
      const contact = await cli([
        'profiles',
        'update',
        'lab-read',
        '--require-contact',
        '--allow-unknown-numbers',
      ]);
      expect(contact).toMatchObject({
        code: 2,
        err: 'pinverify: --require-contact and --allow-unknown-numbers exclude each other',
      });
    });
  });

  describe('remove', () => {
    it('removes by id, records it, and refuses the second time', async () => {
      const id = String((await profileRow(pool, 'lab-input'))?.id);
      const run = await cli(['profiles', 'remove', id]);
      expect(run).toMatchObject({ code: 0, err: '' });
      expect(run.out).toBe(`removed profile ${id} lab-input "Lab input mode"`);
      expect(await profileRow(pool, 'lab-input')).toBeUndefined();
      expect(await lastChange(pool)).toMatchObject({
        actor: 'cli:ops-test',
        action: 'profile.remove',
        subject: 'lab-input',
        detail: { profile: { ...INPUT, id: Number(id) } },
      });
      const again = await cli(['profiles', 'remove', id]);
      expect(again).toMatchObject({ code: 1, err: `pinverify: no profile with id ${id}` });
      // Its call-back number is free again.
      expect((await cli(addLogin('--callback-number', '7100'))).code).toBe(0);
    });

    it('removes by name with --json', async () => {
      const run = await cli(['--json', 'profiles', 'remove', 'lab-read']);
      expect(run.code).toBe(0);
      expect(run.json()).toEqual({ id: expect.any(Number) as unknown, ...READ });
      expect(await profileRow(pool, 'lab-read')).toBeUndefined();
    });
  });

  it('lists its writes in `pinverify changes`', async () => {
    await cli(addLogin());
    await cli(['profiles', 'update', 'login-call', '--repeats', '4']);
    await cli(['profiles', 'remove', 'login-call']);
    const run = await cli(['--json', 'changes', '--limit', '3']);
    expect(run.json<{ action: string; subject: string }[]>().map((c) => [c.action, c.subject])).toEqual([
      ['profile.remove', 'login-call'],
      ['profile.update', 'login-call'],
      ['profile.add', 'login-call'],
    ]);
  });

  it('tells running apps to reload: a change sends NOTIFY pinverify_config naming the table', async () => {
    const listener = new Client({ connectionString: TEST_DATABASE_URL });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => {
        if (n.channel === CONFIG_CHANNEL) heard.push(n.payload ?? '');
      });
      await listener.query(`LISTEN ${CONFIG_CHANNEL}`);
      expect((await cli(['profiles', 'update', 'lab-read', '--repeats', '2'])).code).toBe(0);
      await waitFor(() => heard.includes('call_profiles'));
    } finally {
      await listener.end();
    }
  });

  it('loads the demo profiles again unchanged after edits (idempotent)', async () => {
    await cli(['profiles', 'update', 'lab-input', '--repeats', '5', '--disable', '--callback-number', '']);
    await loadDemoData(pool);
    await loadDemoData(pool);
    const list = (await cli(['--json', 'profiles', 'list'])).json<CallProfile[]>();
    expect(list.map(({ id: _id, ...p }) => p)).toEqual([INPUT, READ]);
  });
});
