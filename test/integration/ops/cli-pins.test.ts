/**
 * `pinverify pins set | status | clear`, the `pin` column of `contacts import`, and
 * `routes --mode`, run in-process against the test database with the demo data (Alice, Bob,
 * Dan and Erin have demo PINs, Carol has none). The PIN is read from standard input only;
 * the policy refuses with exit 1 naming the reason, an empty stdin is a usage error (exit 2);
 * PINs are stored as argon2id hashes only, and no output, change record or other row ever
 * holds one in clear. A dry-run import hashes nothing and writes nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as argon2 from 'argon2';
import type { Pool } from 'pg';
import { EXIT } from '../../../src/cli/exit-codes';
import type { Route } from '../../../src/domain';
import type { ImportReport } from '../../../src/ops/contact-admin';
import { DEMO_PINS, DEMO_ROUTES, loadDemoData } from '../../../src/store/demo-data';
import { freshDatabase, reseedConfig } from '../helpers';
import { cli, CLI_ENV, type CliRun } from './cli-harness';

/** PINs of six digits, which no id, count or timestamp in an output holds as a whole number. */
const NEW_PIN = '583920';
const OTHER_PIN = '704261';
const TRIVIAL_PIN = '345678';
/** The end of Olga's mobile in the import below. */
const OWN_NUMBER_PIN = '550163';
const LEAKABLE = [NEW_PIN, OTHER_PIN, TRIVIAL_PIN, OWN_NUMBER_PIN];

const ENV: NodeJS.ProcessEnv = { ...CLI_ENV, PINVERIFY_CODE_SECRET: 'cli-pins-test-code-secret' };
/** No AMI listens here: commands that check nothing against the dialplan must not need it. */
const AMI_DOWN: NodeJS.ProcessEnv = { ...ENV, AMI_PORT: '1' };
const SUPPORT = DEMO_ROUTES.support.previousHop;
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

interface PinRow {
  contact_id: number;
  pin_hash: string;
  set_by: string;
}

interface ChangeRow {
  actor: string;
  action: string;
  subject: string;
  detail: unknown;
}

describe('pinverify pins and PIN columns (CLI)', () => {
  let pool: Pool;
  let dir: string;
  let ids: Record<'alice' | 'bob' | 'carol', number>;
  /** Every run's output: no PIN may appear in any of it (checked after each test). */
  let outputs: string[] = [];

  async function run(argv: readonly string[], stdin?: string, env: NodeJS.ProcessEnv = ENV): Promise<CliRun> {
    const result = await cli(argv, { env, ...(stdin === undefined ? {} : { stdin }) });
    outputs.push(result.out, result.err);
    return result;
  }

  async function pinRow(contactId: number): Promise<PinRow | undefined> {
    const { rows } = await pool.query<PinRow>(
      'SELECT contact_id, pin_hash, set_by FROM contact_pins WHERE contact_id = $1',
      [contactId],
    );
    return rows[0];
  }

  async function allPins(): Promise<PinRow[]> {
    const { rows } = await pool.query<PinRow>(
      'SELECT contact_id, pin_hash, set_by FROM contact_pins ORDER BY contact_id',
    );
    return rows;
  }

  async function changes(): Promise<ChangeRow[]> {
    const { rows } = await pool.query<ChangeRow>(
      'SELECT actor, action, subject, detail FROM config_changes ORDER BY id',
    );
    return rows;
  }

  async function contactId(name: string): Promise<number | undefined> {
    const { rows } = await pool.query<{ id: number }>('SELECT id FROM contacts WHERE name = $1', [name]);
    return rows[0]?.id;
  }

  async function addFailures(id: number, n: number): Promise<void> {
    await pool.query(
      `INSERT INTO verification_failures (contact_id, verification_id, at)
       SELECT $1, 'VE' || md5(g::text), now() - g * interval '1 minute' FROM generate_series(1, $2) g`,
      [id, n],
    );
  }

  function csv(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  beforeAll(async () => {
    pool = await freshDatabase();
    dir = mkdtempSync(join(tmpdir(), 'pinverify-cli-pins-'));
  });
  beforeEach(async () => {
    await pool.query(
      'TRUNCATE contacts, contact_pins, config_changes, routes, verifications, verification_failures CASCADE',
    );
    await reseedConfig(pool);
    await loadDemoData(pool);
    ids = {
      alice: (await contactId('Alice Example')) ?? 0,
      bob: (await contactId('Bob Email')) ?? 0,
      carol: (await contactId('Carol Sms')) ?? 0,
    };
    outputs = [];
  });
  afterEach(async () => {
    const leaks: string[] = [];
    for (const text of outputs)
      for (const pin of LEAKABLE)
        if (new RegExp(`(?<!\\d)${pin}(?!\\d)`).test(text)) leaks.push(`${pin} in ${text}`);
    // Neither the change log nor any other row: only contact_pins holds anything of a PIN, its hash.
    const { rows } = await pool.query<{ t: string }>(
      `SELECT concat_ws(' ', (SELECT json_agg(c)::text FROM config_changes c),
                             (SELECT json_agg(v)::text FROM verifications v),
                             (SELECT json_agg(s)::text FROM settings s)) AS t`,
    );
    for (const pin of LEAKABLE)
      if (new RegExp(`(?<![0-9A-Za-z+/$])${pin}(?![0-9A-Za-z+/])`).test(rows[0]?.t ?? ''))
        leaks.push(`${pin} in the database`);
    const hashes = (await allPins()).map((p) => p.pin_hash);
    for (const hash of hashes) {
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      for (const text of outputs) if (text.includes(hash)) leaks.push(`a PIN hash in ${text}`);
    }
    expect(leaks).toEqual([]);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pool.end();
  });

  describe('pins set', () => {
    it('sets a PIN read from standard input, recording the change without the PIN', async () => {
      expect(await pinRow(ids.carol)).toBeUndefined();
      const set = await run(['pins', 'set', String(ids.carol)], `${NEW_PIN}\n`);
      expect(set).toMatchObject({ code: EXIT.ok, out: `PIN set for contact ${ids.carol}`, err: '' });
      const row = await pinRow(ids.carol);
      expect(row).toMatchObject({ set_by: 'cli:ops-test' });
      expect(await argon2.verify(row?.pin_hash ?? '', NEW_PIN)).toBe(true);
      expect(await argon2.verify(row?.pin_hash ?? '', OTHER_PIN)).toBe(false);
      expect(await changes()).toEqual([
        {
          actor: 'cli:ops-test',
          action: 'contact.pin.set',
          subject: String(ids.carol),
          detail: { replaced: false },
        },
      ]);
    });

    it('replaces a PIN, answering --json with the status and never the PIN or its hash', async () => {
      const demo = DEMO_PINS['Alice Example'] ?? '';
      expect(await argon2.verify((await pinRow(ids.alice))?.pin_hash ?? '', demo)).toBe(true);
      const set = await run(['--json', 'pins', 'set', String(ids.alice)], OTHER_PIN);
      expect(set.code).toBe(EXIT.ok);
      expect(set.err).toBe('');
      expect(set.json()).toEqual({
        contactId: ids.alice,
        pinSet: true,
        setAt: expect.stringMatching(ISO) as unknown,
        setBy: 'cli:ops-test',
        pinSource: 'database',
        locked: false,
        failedChecks: 0,
        lockedUntil: null,
        warnings: [],
      });
      const hash = (await pinRow(ids.alice))?.pin_hash ?? '';
      expect(await argon2.verify(hash, OTHER_PIN)).toBe(true);
      expect(await argon2.verify(hash, demo)).toBe(false);
      expect(await changes()).toMatchObject([{ action: 'contact.pin.set', detail: { replaced: true } }]);
    });

    it('refuses a PIN against the policy with exit 1 and the reason, writing nothing', async () => {
      const cases: [string, string][] = [
        [TRIVIAL_PIN, 'too easy to guess: a run of digits up or down'],
        ['383838', 'too easy to guess: a pair of digits repeated'],
        ['550103', "too easy to guess: the end of the contact's own phone number"],
        ['583', 'a PIN has 4 to 8 digits'],
        ['583920174', 'a PIN has 4 to 8 digits'],
        ['58-3920', 'a PIN is digits only'],
      ];
      for (const [pin, reason] of cases) {
        const refused = await run(['pins', 'set', String(ids.carol)], `${pin}\n`);
        expect({ pin, code: refused.code, out: refused.out, err: refused.err }).toEqual({
          pin,
          code: EXIT.refused,
          out: '',
          err: `pinverify: refused:\n  pin: ${reason}`,
        });
      }
      const json = await run(['--json', 'pins', 'set', String(ids.carol)], TRIVIAL_PIN);
      expect(json.code).toBe(EXIT.refused);
      expect(json.json()).toEqual({
        error: 'invalid',
        message: 'pin: too easy to guess: a run of digits up or down',
        problems: [{ field: 'pin', message: 'too easy to guess: a run of digits up or down' }],
      });
      expect(await pinRow(ids.carol)).toBeUndefined();
      expect(await changes()).toEqual([]);
    });

    it('refuses an empty standard input as a usage error', async () => {
      for (const stdin of ['', '\n', '  \n\t']) {
        const refused = await run(['pins', 'set', String(ids.carol)], stdin);
        expect(refused).toMatchObject({
          code: EXIT.usage,
          out: '',
          err: 'pinverify: no PIN on standard input (printf %s "$PIN" | pinverify pins set <contact>)',
        });
      }
      expect(EXIT.usage).toBe(2);
      // No contact argument at all: commander's usage error, before stdin is read.
      const missing = await run(['pins', 'set']);
      expect(missing.code).toBe(EXIT.usage);
      expect(missing.err).toContain("missing required argument 'contact'");
      expect(await pinRow(ids.carol)).toBeUndefined();
    });

    it('refuses an unknown or malformed contact with exit 1', async () => {
      const unknown = await run(['pins', 'set', '999999'], NEW_PIN);
      expect(unknown).toMatchObject({ code: EXIT.refused, err: 'pinverify: no contact with id 999999' });
      const malformed = await run(['pins', 'set', 'carol'], NEW_PIN);
      expect(malformed.code).toBe(EXIT.refused);
      expect(malformed.err).toMatch(/^pinverify: refused:\n {2}id: /);
      expect(await changes()).toEqual([]);
    });

    it('warns that a PIN set while pinSource is webhook is not used by calls', async () => {
      await pool.query(`UPDATE settings SET value = $2 WHERE key = $1`, [
        'pinWebhookUrl',
        JSON.stringify('https://crm.example/pin'),
      ]);
      await pool.query(`UPDATE settings SET value = '"webhook"' WHERE key = 'pinSource'`);
      const set = await run(['pins', 'set', String(ids.carol)], NEW_PIN);
      expect(set.code).toBe(EXIT.ok);
      expect(set.out).toBe(`PIN set for contact ${ids.carol}`);
      expect(set.err).toBe(
        "warning: pinSource is webhook: calls check PINs in the customer's CRM; this PIN is used once pinSource is database",
      );
      const status = await run(['pins', 'status', String(ids.carol)]);
      expect(status.out.split('\n')[1]).toBe(
        "note: pinSource is webhook: calls check PINs in the customer's CRM, not these",
      );
    });
  });

  describe('pins status', () => {
    it('says whether a contact has a PIN and who set it, as text and --json', async () => {
      const demo = await run(['pins', 'status', String(ids.alice)]);
      expect(demo.code).toBe(EXIT.ok);
      expect(demo.out).toMatch(new RegExp(`^contact ${ids.alice}: PIN set ${ISO.source} by demo-data$`));
      const none = await run(['pins', 'status', String(ids.carol)]);
      expect(none).toMatchObject({
        code: EXIT.ok,
        out: `contact ${ids.carol}: no PIN (a caller on a PIN route gets reason no_pin)`,
        err: '',
      });

      expect((await run(['pins', 'set', String(ids.carol)], NEW_PIN)).code).toBe(EXIT.ok);
      const text = await run(['pins', 'status', String(ids.carol)]);
      expect(text.out).toMatch(new RegExp(`^contact ${ids.carol}: PIN set ${ISO.source} by cli:ops-test$`));
      const json = await run(['--json', 'pins', 'status', String(ids.carol)]);
      expect(json.json()).toEqual({
        contactId: ids.carol,
        pinSet: true,
        setAt: expect.stringMatching(ISO) as unknown,
        setBy: 'cli:ops-test',
        pinSource: 'database',
        locked: false,
        failedChecks: 0,
        lockedUntil: null,
      });
      expect((await run(['--json', 'pins', 'status', String(ids.bob)])).json()).toMatchObject({
        pinSet: true,
        setBy: 'demo-data',
      });
      const unknown = await run(['pins', 'status', '999999']);
      expect(unknown).toMatchObject({ code: EXIT.refused, err: 'pinverify: no contact with id 999999' });
    });

    it("shows the contact's failed checks and lockout, cleared by contacts unlock", async () => {
      await addFailures(ids.alice, 3);
      const some = await run(['pins', 'status', String(ids.alice)]);
      expect(some.out.split('\n')[1]).toBe('3 failed checks in the last 24 h');
      // The default limit is 10 failures a day.
      await addFailures(ids.alice, 7);
      const locked = await run(['pins', 'status', String(ids.alice)]);
      expect(locked.out.split('\n')[1]).toMatch(
        new RegExp(
          `^locked: 10 failed checks in 24 h, until ${ISO.source} \\(pinverify contacts unlock ${ids.alice}\\)$`,
        ),
      );
      expect((await run(['--json', 'pins', 'status', String(ids.alice)])).json()).toMatchObject({
        pinSet: true,
        locked: true,
        failedChecks: 10,
        lockedUntil: expect.stringMatching(ISO) as unknown,
      });

      const unlock = await run(['contacts', 'unlock', String(ids.alice)]);
      expect(unlock.code).toBe(EXIT.ok);
      expect(unlock.out).toMatch(new RegExp(`^contact ${ids.alice} unlocked: 10 failed checks`));
      expect((await run(['--json', 'pins', 'status', String(ids.alice)])).json()).toMatchObject({
        pinSet: true,
        locked: false,
        failedChecks: 0,
        lockedUntil: null,
      });
    });
  });

  describe('pins clear', () => {
    it('removes a PIN, recording it, and says so when there was none', async () => {
      const cleared = await run(['pins', 'clear', String(ids.alice)]);
      expect(cleared).toMatchObject({ code: EXIT.ok, out: `PIN cleared for contact ${ids.alice}`, err: '' });
      expect(await pinRow(ids.alice)).toBeUndefined();
      expect(await changes()).toEqual([
        { actor: 'cli:ops-test', action: 'contact.pin.clear', subject: String(ids.alice), detail: {} },
      ]);
      const again = await run(['pins', 'clear', String(ids.alice)]);
      expect(again).toMatchObject({ code: EXIT.ok, out: `contact ${ids.alice} had no PIN` });
      expect((await run(['--json', 'pins', 'clear', String(ids.alice)])).json()).toMatchObject({
        contactId: ids.alice,
        cleared: false,
        pinSet: false,
      });
      expect(await changes()).toHaveLength(1);
      expect((await run(['pins', 'status', String(ids.alice)])).out).toBe(
        `contact ${ids.alice}: no PIN (a caller on a PIN route gets reason no_pin)`,
      );
      // Other contacts keep theirs.
      expect(await pinRow(ids.bob)).toBeDefined();
      const unknown = await run(['pins', 'clear', '999999']);
      expect(unknown).toMatchObject({ code: EXIT.refused, err: 'pinverify: no contact with id 999999' });
    });
  });

  describe('contacts import with a pin column', () => {
    it('sets the PINs given, leaves a PIN alone where the cell is empty, and counts pinsSet', async () => {
      const bobBefore = await pinRow(ids.bob);
      const file = csv(
        'pins.csv',
        [
          'name,email,mobile,phones,pin',
          `Nora New,nora@example.com,+12025550150,,${NEW_PIN}`,
          `Alice Example,alice@example.com,+12025550101,+12025550101,${OTHER_PIN}`,
          'Bob Renamed,bob@example.com,,+12025550102,',
        ].join('\n'),
      );
      const imported = await run(['--json', 'contacts', 'import', file]);
      expect(imported.code).toBe(EXIT.ok);
      const report = imported.json<ImportReport>();
      expect(report).toMatchObject({
        added: 1,
        updated: 2,
        unchanged: 0,
        rejected: 0,
        pinsSet: 2,
        written: true,
      });
      // Alice's line changes nothing but the PIN: still an update (a PIN cannot be compared).
      expect(report.lines.map((l) => [l.line, l.status, l.name])).toEqual([
        [2, 'added', 'Nora New'],
        [3, 'updated', 'Alice Example'],
        [4, 'updated', 'Bob Renamed'],
      ]);
      const nora = (await contactId('Nora New')) ?? 0;
      const noraPin = await pinRow(nora);
      expect(noraPin?.set_by).toBe('cli:ops-test');
      expect(await argon2.verify(noraPin?.pin_hash ?? '', NEW_PIN)).toBe(true);
      const alicePin = (await pinRow(ids.alice))?.pin_hash ?? '';
      expect(await argon2.verify(alicePin, OTHER_PIN)).toBe(true);
      expect(await argon2.verify(alicePin, DEMO_PINS['Alice Example'] ?? '')).toBe(false);
      // Bob's empty cell: his PIN is exactly as it was.
      expect(await contactId('Bob Renamed')).toBe(ids.bob);
      expect(await pinRow(ids.bob)).toEqual(bobBefore);
      expect(await changes()).toEqual([
        {
          actor: 'cli:ops-test',
          action: 'contact.import',
          subject: '3 contacts',
          detail: { added: 1, updated: 2, rejected: 0, pinsSet: 2 },
        },
      ]);
    });

    it('says how many PINs were set in the text summary', async () => {
      const run1 = await run(
        ['contacts', 'import', '-'],
        `name,mobile,pin\nPia Pin,+12025550155,${NEW_PIN}\n`,
      );
      expect(run1.code).toBe(EXIT.ok);
      expect(run1.out.split('\n')).toEqual([
        expect.stringMatching(/^line 2: added Pia Pin #\d+$/) as unknown,
        'imported: 1 added, 0 updated, 0 unchanged, 0 rejected; 1 PIN set',
      ]);
      expect(
        await argon2.verify((await pinRow((await contactId('Pia Pin')) ?? 0))?.pin_hash ?? '', NEW_PIN),
      ).toBe(true);
    });

    it('rejects a line with a trivial PIN or the end of its own number, naming column pin, never the PIN', async () => {
      const pinsBefore = await allPins();
      const file = csv(
        'bad-pins.csv',
        [
          'name,email,mobile,pin',
          `Nora New,nora@example.com,+12025550150,${NEW_PIN}`,
          `Tom Trivial,tom@example.com,+12025550151,${TRIVIAL_PIN}`,
          `Olga Own,olga@example.com,+12025550163,${OWN_NUMBER_PIN}`,
        ].join('\n'),
      );
      const refused = await run(['contacts', 'import', file]);
      expect(refused.code).toBe(EXIT.refused);
      expect(refused.out.split('\n')).toEqual([
        'line 2: would be added Nora New',
        'line 3: rejected Tom Trivial',
        '    pin: too easy to guess: a run of digits up or down',
        'line 4: rejected Olga Own',
        "    pin: too easy to guess: the end of the contact's own phone number",
        'nothing written: 2 line(s) rejected (fix them, or --partial to import the rest)',
      ]);
      const json = await run(['--json', 'contacts', 'import', file]);
      expect(json.code).toBe(EXIT.refused);
      const report = json.json<ImportReport>();
      expect(report).toMatchObject({ added: 1, rejected: 2, written: false });
      expect(report.lines.map((l) => l.problems.map((p) => p.field))).toEqual([[], ['pin'], ['pin']]);
      expect(await contactId('Nora New')).toBeUndefined();
      expect(await allPins()).toEqual(pinsBefore);
      expect(await changes()).toEqual([]);

      // --partial writes the good line with its PIN.
      const partial = await run(['--json', 'contacts', 'import', file, '--partial']);
      expect(partial.json<ImportReport>()).toMatchObject({
        added: 1,
        rejected: 2,
        pinsSet: 1,
        written: true,
      });
      const nora = (await contactId('Nora New')) ?? 0;
      expect(await argon2.verify((await pinRow(nora))?.pin_hash ?? '', NEW_PIN)).toBe(true);
      expect(await contactId('Tom Trivial')).toBeUndefined();
    });

    it('hashes and writes nothing with --dry-run', async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const argon2Module = require('argon2') as typeof import('argon2');
      const hash = jest.spyOn(argon2Module, 'hash');
      try {
        const pinsBefore = await allPins();
        const file = csv(
          'dry.csv',
          [
            'id,name,email,mobile,phones,pin',
            `${ids.carol},Carol Sms,,+12025550103,+12025550103,${NEW_PIN}`,
            `,Nora New,nora@example.com,+12025550150,,${OTHER_PIN}`,
          ].join('\n'),
        );
        const dry = await run(['contacts', 'import', file, '--dry-run']);
        expect(dry.code).toBe(EXIT.ok);
        expect(dry.out.split('\n')).toEqual([
          `line 2: would be updated Carol Sms #${ids.carol}`,
          'line 3: would be added Nora New',
          'dry run, nothing written: 1 added, 1 updated, 0 unchanged, 0 rejected; 2 PINs set',
        ]);
        expect(hash).not.toHaveBeenCalled();
        expect(await allPins()).toEqual(pinsBefore);
        expect(await contactId('Nora New')).toBeUndefined();
        expect(await changes()).toEqual([]);

        // The same file for real: both PINs hashed (the spy sees the import's hashing) and written.
        const real = await run(['contacts', 'import', file]);
        expect(real.code).toBe(EXIT.ok);
        expect(hash).toHaveBeenCalledTimes(2);
        expect(await argon2.verify((await pinRow(ids.carol))?.pin_hash ?? '', NEW_PIN)).toBe(true);
      } finally {
        hash.mockRestore();
      }
    });
  });

  describe('routes --mode', () => {
    it('switches a route to mode pin and back, checking nothing against the PBX', async () => {
      const update = await run(['routes', 'update', SUPPORT, '--mode', 'pin'], undefined, AMI_DOWN);
      expect(update).toMatchObject({ code: EXIT.ok, err: '' });
      expect(update.out).toMatch(
        new RegExp(
          `^updated route \\d+ "Support PIN verification": ${SUPPORT} \\(pin\\) -> success 2001, failed 2901$`,
        ),
      );
      const { rows } = await pool.query<{ mode: string }>('SELECT mode FROM routes WHERE previous_hop = $1', [
        SUPPORT,
      ]);
      expect(rows).toEqual([{ mode: 'pin' }]);
      expect(await changes()).toMatchObject([
        {
          actor: 'cli:ops-test',
          action: 'route.update',
          subject: SUPPORT,
          detail: { changed: { mode: 'pin' } },
        },
      ]);
      const json = await run(
        ['--json', 'routes', 'update', SUPPORT, '--mode', 'pin_then_otp'],
        undefined,
        AMI_DOWN,
      );
      expect(json.json<Route>()).toMatchObject({ previousHop: SUPPORT, mode: 'pin_then_otp', warnings: [] });
      const list = await run(['routes', 'list'], undefined, AMI_DOWN);
      expect(list.out).toMatch(new RegExp(`${SUPPORT}\\s+pin_then_otp\\s+2001`));
      expect((await run(['routes', 'update', SUPPORT, '--mode', 'otp'], undefined, AMI_DOWN)).code).toBe(
        EXIT.ok,
      );
    });

    it('refuses an unknown mode with exit 1, on update and add, changing nothing', async () => {
      const bad = await run(['routes', 'update', SUPPORT, '--mode', 'sms'], undefined, AMI_DOWN);
      expect(bad).toMatchObject({
        code: EXIT.refused,
        out: '',
        err: 'pinverify: refused:\n  mode: mode must be one of otp, pin, pin_then_otp',
      });
      const upper = await run(['routes', 'update', SUPPORT, '--mode', 'PIN'], undefined, AMI_DOWN);
      expect(upper.code).toBe(EXIT.refused);
      const add = await run(
        [
          'routes',
          'add',
          '--title',
          'Sales',
          '--previous-hop',
          'pinverify-sales-autopin',
          '--success',
          '2003',
          '--failed',
          '2903',
          '--mode',
          'code',
        ],
        undefined,
        AMI_DOWN,
      );
      expect(add.code).toBe(EXIT.refused);
      expect(add.err).toContain('mode: mode must be one of otp, pin, pin_then_otp');
      const noValue = await run(['routes', 'update', SUPPORT, '--mode'], undefined, AMI_DOWN);
      expect(noValue.code).toBe(EXIT.usage);
      const { rows } = await pool.query<{ previous_hop: string; mode: string }>(
        'SELECT previous_hop, mode FROM routes ORDER BY previous_hop',
      );
      expect(rows.find((r) => r.previous_hop === SUPPORT)?.mode).toBe('otp');
      expect(rows.map((r) => r.previous_hop)).not.toContain('pinverify-sales-autopin');
      expect(await changes()).toEqual([]);
    });
  });
});
