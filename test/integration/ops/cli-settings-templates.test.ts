/**
 * `pinverify settings ...` and `pinverify templates ...` run in-process against the test
 * database and the lab's AMI: show and set with --json, typos of keys answered with the key
 * meant, values refused with the setting named, destination settings checked against the
 * running dialplan, templates refused for an unknown placeholder or a missing {code} (nothing
 * saved), and preview of a draft with sample values that saves nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import type { SettingView } from '../../../src/ops/settings-admin';
import type { TemplateView } from '../../../src/ops/template-admin';
import type { RenderedMessage, TemplateValues } from '../../../src/senders/render-template';
import { DEFAULT_SETTINGS, DEFAULT_TEMPLATES } from '../../../src/store/config-defaults';
import { freshDatabase, reseedConfig } from '../helpers';
import { cli } from './cli-harness';

async function storedSetting(pool: Pool, key: string): Promise<unknown> {
  const { rows } = await pool.query<{ value: unknown }>('SELECT value FROM settings WHERE key = $1', [key]);
  return rows[0]?.value;
}

async function storedTemplate(pool: Pool, channel: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool.query('SELECT channel, subject, text, html FROM templates WHERE channel = $1', [
    channel,
  ]);
  return rows[0] as Record<string, unknown> | undefined;
}

async function changeCount(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM config_changes');
  return rows[0]?.n ?? -1;
}

describe('pinverify settings and templates (CLI)', () => {
  let pool: Pool;
  let dir: string;

  beforeAll(async () => {
    pool = await freshDatabase();
    dir = mkdtempSync(join(tmpdir(), 'pinverify-cli-'));
  });
  beforeEach(async () => {
    // Back to the seeded settings and templates.
    await pool.query('TRUNCATE config_changes');
    await reseedConfig(pool);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pool.end();
  });

  describe('settings show', () => {
    it('shows every setting with its value, default and meaning', async () => {
      const run = await cli(['settings', 'show']);
      expect(run.code).toBe(0);
      expect(run.out.split('\n')[0]).toMatch(/^KEY\s+VALUE\s+DEFAULT\s+MEANING$/);
      expect(run.out).toMatch(/^codeLength\s+6\s+6\s+digits in a one-time code \(4-10\)$/m);
      expect(run.out).toContain('"pinverify-destinations"');
    });

    it('gives every setting as JSON, and says when a stored value is not used', async () => {
      await pool.query(`UPDATE settings SET value = '99' WHERE key = 'codeLength'`);
      const run = await cli(['--json', 'settings', 'show']);
      expect(run.code).toBe(0);
      const all = run.json<SettingView[]>();
      expect(all.map((s) => s.key).sort()).toEqual(Object.keys(DEFAULT_SETTINGS).sort());
      expect(all.find((s) => s.key === 'companyName')).toEqual({
        key: 'companyName',
        value: 'Example Corp',
        defaultValue: 'Example Corp',
        source: 'stored',
        problem: null,
        description: expect.stringContaining('{company}') as unknown,
      });
      expect(all.find((s) => s.key === 'codeLength')).toMatchObject({
        value: 6,
        source: 'default',
        problem: expect.stringContaining('10') as unknown,
      });
      const text = await cli(['settings', 'show', 'codeLength']);
      expect(text.out).toContain('(default used: stored value');
    });

    it('shows one setting, and refuses an unknown key as a usage error', async () => {
      const one = await cli(['--json', 'settings', 'show', 'codeLength']);
      expect(one.json()).toMatchObject({ key: 'codeLength', value: 6, source: 'stored' });
      const unknown = await cli(['settings', 'show', 'codelenght']);
      expect(unknown.code).toBe(2);
      expect(unknown.err).toContain('unknown setting codelenght (known: defaultSuccessDestination,');
    });
  });

  describe('settings set', () => {
    it('sets several keys at once, typed as numbers where they are numbers', async () => {
      const run = await cli(['--json', 'settings', 'set', 'codeLength', '8', 'companyName', 'ACME 42']);
      expect(run.code).toBe(0);
      const result = run.json<{ changed: string[]; settings: Record<string, unknown>; warnings: string[] }>();
      expect(result.changed).toEqual(['codeLength', 'companyName']);
      expect(result.settings).toMatchObject({ codeLength: 8, companyName: 'ACME 42', maxTriesPerCode: 3 });
      expect(result.warnings).toEqual([]);
      expect(await storedSetting(pool, 'codeLength')).toBe(8);
      expect(await storedSetting(pool, 'companyName')).toBe('ACME 42');
      const { rows } = await pool.query('SELECT actor, action, subject, detail FROM config_changes');
      expect(rows).toEqual([
        {
          actor: 'cli:ops-test',
          action: 'settings.set',
          subject: 'codeLength,companyName',
          detail: {
            before: { codeLength: 6, companyName: 'Example Corp' },
            after: { codeLength: 8, companyName: 'ACME 42' },
            forced: false,
          },
        },
      ]);
      const text = await cli(['settings', 'set', 'maxTriesPerCode', '5']);
      expect(text).toMatchObject({ code: 0, out: 'maxTriesPerCode = 5' });
    });

    it('answers a misspelt key with the key it probably meant, saving nothing', async () => {
      const run = await cli(['settings', 'set', 'codelenght', '5']);
      expect(run.code).toBe(1);
      expect(run.err).toBe('pinverify: refused:\n  codelenght: unknown setting (did you mean codeLength?)');
      expect(await storedSetting(pool, 'codelenght')).toBeUndefined();
      expect(await storedSetting(pool, 'codeLength')).toBe(6);
      expect(await changeCount(pool)).toBe(0);
    });

    it('lists the known keys when nothing is close', async () => {
      const run = await cli(['settings', 'set', 'colour', 'blue']);
      expect(run.code).toBe(1);
      expect(run.err).toContain('colour: unknown setting (known: defaultSuccessDestination,');
    });

    it('refuses a number setting given a word, naming the setting and the value', async () => {
      const run = await cli(['settings', 'set', 'codeLength', 'abc']);
      expect(run.code).toBe(1);
      expect(run.err).toContain('codeLength: expected a whole number, got "abc"');
      expect(await storedSetting(pool, 'codeLength')).toBe(6);
    });

    it('names every bad value of one command and saves none of the good ones', async () => {
      const run = await cli([
        '--json',
        'settings',
        'set',
        'codeLength',
        '3',
        'maxTriesPerCode',
        '7',
        'companyName',
        '{x}',
      ]);
      expect(run.code).toBe(1);
      const error = run.json<{ error: string; problems: { field: string }[] }>();
      expect(error.error).toBe('invalid');
      expect(error.problems.map((p) => p.field)).toEqual(['codeLength', 'companyName']);
      expect(run.err).toContain('companyName: braces would be read as template placeholders');
      expect(await storedSetting(pool, 'maxTriesPerCode')).toBe(3);
    });

    it('refuses a key without a value as a usage error', async () => {
      const run = await cli(['settings', 'set', 'codeLength', '8', 'maxTriesPerCode']);
      expect(run.code).toBe(2);
      expect(run.err).toContain('"maxTriesPerCode" has no value');
      expect(await storedSetting(pool, 'codeLength')).toBe(6);
    });

    it('checks destination settings against the running dialplan; --force saves with a warning', async () => {
      const ok = await cli(['settings', 'set', 'defaultFailedDestination', '2903']);
      expect(ok).toMatchObject({ code: 0, err: '' });
      expect(await storedSetting(pool, 'defaultFailedDestination')).toBe('2903');

      const refused = await cli(['settings', 'set', 'defaultFailedDestination', '9999']);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(
        'defaultFailedDestination: extension 9999 is not in context "pinverify-destinations"',
      );
      expect(await storedSetting(pool, 'defaultFailedDestination')).toBe('2903');

      const forced = await cli(['settings', 'set', 'defaultFailedDestination', '9999', '--force']);
      expect(forced.code).toBe(0);
      expect(forced.err).toMatch(/^warning: defaultFailedDestination: extension 9999 .*--force\)$/);
      expect(await storedSetting(pool, 'defaultFailedDestination')).toBe('9999');
    });

    it('re-checks both default destinations when the default context changes', async () => {
      const run = await cli(['settings', 'set', 'defaultContext', 'no-such-context']);
      expect(run.code).toBe(1);
      expect(run.err).toContain('defaultSuccessDestination: context "no-such-context" does not exist');
      expect(run.err).toContain('defaultFailedDestination: context "no-such-context" does not exist');
      expect(await storedSetting(pool, 'defaultContext')).toBe('pinverify-destinations');
    });
  });

  describe('templates show', () => {
    it('shows both templates as text', async () => {
      const run = await cli(['templates', 'show']);
      expect(run.code).toBe(0);
      expect(run.out).toContain('[sms]\ntext:\n  {company}: your verification code is {code}.');
      expect(run.out).toContain('[email]\nsubject: {company}: your verification code');
      expect(run.out).toContain('html:\n  <p>Hello {name},</p>');
    });

    it('shows one as JSON, and says when the built-in one is used', async () => {
      const run = await cli(['--json', 'templates', 'show', 'sms']);
      expect(run.code).toBe(0);
      expect(run.json()).toEqual({
        ...DEFAULT_TEMPLATES.sms,
        stored: true,
        placeholders: ['code', 'name', 'company', 'minutes'],
        problems: [],
      });
      await pool.query(`DELETE FROM templates WHERE channel = 'email'`);
      const missing = await cli(['templates', 'show', 'email']);
      expect(missing.out).toContain('[email] (not in the database: the built-in template is used)');
    });

    it('refuses an unknown channel', async () => {
      const run = await cli(['templates', 'show', 'fax']);
      expect(run.code).toBe(1);
      expect(run.err).toContain('channel: expected email or sms');
    });
  });

  describe('templates set', () => {
    it('saves a new SMS text and records the change', async () => {
      const run = await cli(['--json', 'templates', 'set', 'sms', '--text', '{company} code: {code}']);
      expect(run.code).toBe(0);
      expect(run.json<TemplateView>()).toMatchObject({
        channel: 'sms',
        text: '{company} code: {code}',
        stored: true,
      });
      expect(await storedTemplate(pool, 'sms')).toEqual({
        channel: 'sms',
        subject: null,
        text: '{company} code: {code}',
        html: null,
      });
      const { rows } = await pool.query('SELECT actor, action, subject FROM config_changes');
      expect(rows).toEqual([{ actor: 'cli:ops-test', action: 'template.set', subject: 'sms' }]);
    });

    it('refuses an unknown placeholder, naming it, and saves nothing', async () => {
      const run = await cli(['templates', 'set', 'sms', '--text', 'Hello {nmae}, your code is {code}']);
      expect(run.code).toBe(1);
      expect(run.err).toBe(
        'pinverify: refused:\n  text: unknown placeholder {nmae} (known: {code} {name} {company} {minutes})',
      );
      expect(await storedTemplate(pool, 'sms')).toMatchObject({ text: DEFAULT_TEMPLATES.sms.text });
      expect(await changeCount(pool)).toBe(0);
    });

    it('refuses a text without {code}', async () => {
      const run = await cli(['templates', 'set', 'sms', '--text', 'Please call us back']);
      expect(run.code).toBe(1);
      expect(run.err).toContain('text: missing the {code} placeholder');
      expect(await storedTemplate(pool, 'sms')).toMatchObject({ text: DEFAULT_TEMPLATES.sms.text });
    });

    it('refuses a subject for SMS and an empty email subject', async () => {
      const sms = await cli(['templates', 'set', 'sms', '--subject', 'Hi']);
      expect(sms.code).toBe(1);
      expect(sms.err).toContain('subject: an SMS template has only a text');
      const email = await cli(['templates', 'set', 'email', '--subject', ' ']);
      expect(email.code).toBe(1);
      expect(email.err).toContain('subject: email template has no subject');
    });

    it('removes the HTML part with --no-html and reads a body from a file', async () => {
      const noHtml = await cli(['--json', 'templates', 'set', 'email', '--no-html']);
      expect(noHtml.code).toBe(0);
      expect(await storedTemplate(pool, 'email')).toMatchObject({
        html: null,
        subject: DEFAULT_TEMPLATES.email.subject,
      });
      const file = join(dir, 'text.txt');
      writeFileSync(file, 'Dear {name},\nyour code is {code}.\n');
      const fromFile = await cli(['templates', 'set', 'email', '--text-file', file]);
      expect(fromFile.code).toBe(0);
      expect(fromFile.out).toContain('saved\n[email]');
      expect(await storedTemplate(pool, 'email')).toMatchObject({
        text: 'Dear {name},\nyour code is {code}.\n',
      });
    });

    it('refuses an HTML part without {code}', async () => {
      const run = await cli(['templates', 'set', 'email', '--html', '<p>Hello {name}</p>']);
      expect(run.code).toBe(1);
      expect(run.err).toContain('html: missing the {code} placeholder');
    });

    it('treats nothing to change, both --text and --text-file, and a missing file as usage errors', async () => {
      const nothing = await cli(['templates', 'set', 'email']);
      expect(nothing.code).toBe(2);
      expect(nothing.err).toContain('nothing to change');
      const both = await cli(['templates', 'set', 'sms', '--text', '{code}', '--text-file', join(dir, 'x')]);
      expect(both.code).toBe(2);
      expect(both.err).toContain('give --text or --text-file, not both');
      const missing = await cli(['templates', 'set', 'sms', '--text-file', join(dir, 'does-not-exist.txt')]);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain('cannot read --text-file');
    });
  });

  describe('templates preview', () => {
    it('renders a draft with the sample values given, without saving it', async () => {
      const run = await cli([
        'templates',
        'preview',
        'sms',
        '--text',
        'Hi {name}, {company} code {code}, {minutes} min',
        '--code',
        '4242',
        '--name',
        'Zoe',
      ]);
      expect(run.code).toBe(0);
      expect(run.out).toBe('Hi Zoe, Example Corp code 4242, 5 min');
      expect(await storedTemplate(pool, 'sms')).toMatchObject({ text: DEFAULT_TEMPLATES.sms.text });
      expect(await changeCount(pool)).toBe(0);
    });

    it('renders the stored email with values from the settings, as JSON', async () => {
      await pool.query(`UPDATE settings SET value = '8' WHERE key = 'codeLength'`);
      await pool.query(`UPDATE settings SET value = '120' WHERE key = 'codeValiditySeconds'`);
      const run = await cli(['--json', 'templates', 'preview', 'email']);
      expect(run.code).toBe(0);
      const preview = run.json<{ values: TemplateValues; rendered: RenderedMessage }>();
      expect(preview.values).toEqual({
        code: '12345678',
        name: 'Alex Example',
        company: 'Example Corp',
        minutes: '2',
      });
      expect(preview.rendered.subject).toBe('Example Corp: your verification code');
      expect(preview.rendered.text).toContain('Your Example Corp verification code is 12345678.');
      expect(preview.rendered.html).toContain('<strong>12345678</strong>');
      const text = await cli(['templates', 'preview', 'email']);
      expect(text.out).toMatch(/^Subject: Example Corp: your verification code\n\nHello Alex Example,/);
      expect(text.out).toContain('--- html ---');
    });

    it('refuses a broken draft and a bad sample value, naming them', async () => {
      const draft = await cli(['templates', 'preview', 'sms', '--text', 'Hi {nmae} {code}']);
      expect(draft.code).toBe(1);
      expect(draft.err).toContain('unknown placeholder {nmae}');
      const code = await cli(['templates', 'preview', 'sms', '--code', '12ab']);
      expect(code.code).toBe(1);
      expect(code.err).toContain('values.code: digits only');
    });
  });
});
