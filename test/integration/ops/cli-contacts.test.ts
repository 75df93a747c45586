/**
 * `pinverify contacts ...` run in-process against the test database with the demo contacts:
 * add (numbers normalised with the defaultCountry setting), list, find (why a caller number is
 * verify, no_match or multi_match), remove, and CSV import: all-or-nothing with a per-line
 * report naming each bad field (nothing written, checked in the database), --partial writing
 * the good lines, --dry-run writing nothing, and `import -` reading standard input.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import type { ImportReport, NumberLookup } from '../../../src/ops/contact-admin';
import { DEMO_NUMBERS, loadDemoData } from '../../../src/store/demo-data';
import type { ContactWithPhones } from '../../../src/store/pg-contact-admin';
import { freshDatabase } from '../helpers';
import { cli } from './cli-harness';

interface ContactRow {
  id: number;
  name: string;
  email: string | null;
  mobile: string | null;
  phones: string[];
}

async function contacts(pool: Pool): Promise<ContactRow[]> {
  const { rows } = await pool.query<ContactRow>(
    `SELECT c.id, c.name, c.email, c.mobile,
            COALESCE(array_agg(p.e164 ORDER BY p.e164) FILTER (WHERE p.e164 IS NOT NULL), '{}') AS phones
       FROM contacts c LEFT JOIN contact_phones p ON p.contact_id = c.id
      GROUP BY c.id ORDER BY c.id`,
  );
  return rows;
}

async function byName(pool: Pool, name: string): Promise<ContactRow | undefined> {
  return (await contacts(pool)).find((c) => c.name === name);
}

async function actions(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ action: string }>('SELECT action FROM config_changes ORDER BY id');
  return rows.map((r) => r.action);
}

/**
 * One line of each kind: a new contact, an update of a demo contact (same email as Alice), a
 * bad number, a bad email, and a line with one field too many.
 */
const MIXED_CSV = [
  'name,email,mobile,phones',
  'Nora New,nora@example.com,(202) 555-0150,',
  'Alice Renamed,ALICE@example.com,+12025550101,+12025550101;202-555-0111',
  'Bad Number,badnum@example.com,12345,',
  'Bad Email,not-an-email,+12025550151,',
  'Too Many,many@example.com,+12025550152,+12025550152,extra',
].join('\n');

describe('pinverify contacts (CLI)', () => {
  let pool: Pool;
  let dir: string;
  let csvFile: string;

  beforeAll(async () => {
    pool = await freshDatabase();
    dir = mkdtempSync(join(tmpdir(), 'pinverify-cli-'));
    csvFile = join(dir, 'contacts.csv');
    writeFileSync(csvFile, MIXED_CSV);
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE contacts, config_changes CASCADE');
    await loadDemoData(pool);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pool.end();
  });

  describe('add', () => {
    it('adds a contact with numbers normalised to E.164', async () => {
      const run = await cli([
        '--json',
        'contacts',
        'add',
        '--name',
        'Zoe Zed',
        '--email',
        'zoe@example.com',
        '--mobile',
        '(202) 555-0160',
        '--phone',
        '202-555-0161',
        '--phone',
        '+1 202 555 0162',
      ]);
      expect(run.code).toBe(0);
      const added = run.json<ContactWithPhones>();
      expect(added).toEqual({
        id: expect.any(Number) as unknown,
        name: 'Zoe Zed',
        email: 'zoe@example.com',
        mobile: '+12025550160',
        phones: ['+12025550161', '+12025550162'],
      });
      expect(await byName(pool, 'Zoe Zed')).toEqual(added);
      const { rows } = await pool.query('SELECT actor, action, subject FROM config_changes');
      expect(rows).toEqual([{ actor: 'cli:ops-test', action: 'contact.add', subject: String(added.id) }]);
    });

    it('uses the mobile as the calling number when no --phone is given', async () => {
      const run = await cli(['contacts', 'add', '--name', 'Sam Sms', '--mobile', '+12025550163']);
      expect(run.code).toBe(0);
      expect(run.out).toMatch(/^added contact \d+\nID\s+NAME\s+EMAIL\s+MOBILE \(SMS\)\s+CALLS FROM\n/);
      expect(await byName(pool, 'Sam Sms')).toMatchObject({ phones: ['+12025550163'] });
    });

    it('refuses a contact nobody could be recognised by, a bad email and a bad number', async () => {
      const noNumber = await cli(['contacts', 'add', '--name', 'Nobody', '--email', 'nobody@example.com']);
      expect(noNumber.code).toBe(1);
      expect(noNumber.err).toContain('phones: no number to recognise the caller by (give phones or mobile)');
      const badEmail = await cli([
        'contacts',
        'add',
        '--name',
        'X',
        '--email',
        'x@',
        '--phone',
        '+12025550164',
      ]);
      expect(badEmail.code).toBe(1);
      expect(badEmail.err).toContain('email: not an email address');
      const badNumber = await cli(['contacts', 'add', '--name', 'X', '--phone', '555']);
      expect(badNumber.code).toBe(1);
      expect(badNumber.err).toContain('phones: "555" is not a valid phone number');
      expect(await contacts(pool)).toHaveLength(5);
    });

    it('requires --name', async () => {
      const run = await cli(['contacts', 'add', '--phone', '+12025550164']);
      expect(run.code).toBe(2);
      expect(run.err).toContain("required option '--name <name>' not specified");
    });
  });

  describe('list', () => {
    it('lists every contact, or those matching --search', async () => {
      const all = await cli(['--json', 'contacts', 'list']);
      expect(all.code).toBe(0);
      expect(all.json<ContactWithPhones[]>().map((c) => c.name)).toEqual([
        'Alice Example',
        'Bob Email',
        'Carol Sms',
        'Dan Shared',
        'Erin Shared',
      ]);
      const shared = await cli(['--json', 'contacts', 'list', '--search', 'shared']);
      expect(shared.json<ContactWithPhones[]>().map((c) => c.name)).toEqual(['Dan Shared', 'Erin Shared']);
      const byNumber = await cli(['contacts', 'list', '--search', '5550103']);
      expect(byNumber.out).toMatch(/Carol Sms\s+-\s+\+12025550103\s+\+12025550103$/m);
      expect(byNumber.out).not.toContain('Alice');
      const none = await cli(['contacts', 'list', '--search', '100%_']);
      expect(none.out).toBe('no contacts');
    });
  });

  describe('find', () => {
    it('shows multi_match and both contacts for the shared demo number', async () => {
      const run = await cli(['--json', 'contacts', 'find', DEMO_NUMBERS.shared]);
      expect(run.code).toBe(0);
      const lookup = run.json<NumberLookup>();
      expect(lookup).toMatchObject({ kind: 'ok', e164: DEMO_NUMBERS.shared, verdict: 'multi_match' });
      expect(lookup.matches.map((c) => c.name)).toEqual(['Dan Shared', 'Erin Shared']);
      const text = await cli(['contacts', 'find', '(202) 555-0104']);
      expect(text.out).toContain(`normalized:  ${DEMO_NUMBERS.shared}  (default country US)`);
      expect(text.out).toContain('multi_match');
      expect(text.out).toContain('Dan Shared');
      expect(text.out).toContain('Erin Shared');
    });

    it('shows verify, no_match and invalid for the other cases', async () => {
      const alice = (await cli(['--json', 'contacts', 'find', '202-555-0101'])).json<NumberLookup>();
      expect(alice).toMatchObject({ verdict: 'verify', matches: [{ name: 'Alice Example' }] });
      const nobody = (await cli(['--json', 'contacts', 'find', DEMO_NUMBERS.unknown])).json<NumberLookup>();
      expect(nobody).toMatchObject({ verdict: 'no_match', matches: [] });
      const invalid = await cli(['contacts', 'find', 'abc']);
      expect(invalid.code).toBe(0);
      expect(invalid.out).toContain('not a valid phone number as caller ID');
    });

    it("notes a number that is someone's SMS number but not a number they call from", async () => {
      await pool.query(`UPDATE contacts SET mobile = '+12025550170' WHERE name = 'Bob Email'`);
      const run = await cli(['contacts', 'find', '+12025550170']);
      expect(run.out).toMatch(/note: this is the SMS number of contact \d+ \(Bob Email\)/);
      expect(run.out).toContain('no_match');
    });
  });

  describe('remove', () => {
    it('removes a contact and its numbers, and refuses an unknown or malformed id', async () => {
      const carol = await byName(pool, 'Carol Sms');
      const run = await cli(['contacts', 'remove', String(carol?.id)]);
      expect(run).toMatchObject({ code: 0, out: `removed contact ${carol?.id} (Carol Sms)` });
      expect(await byName(pool, 'Carol Sms')).toBeUndefined();
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM contact_phones WHERE e164 = $1', [
        DEMO_NUMBERS.smsOnly,
      ]);
      expect(rows[0]).toEqual({ n: 0 });
      expect(await actions(pool)).toEqual(['contact.remove']);
      const again = await cli(['contacts', 'remove', String(carol?.id)]);
      expect(again.code).toBe(1);
      expect(again.err).toBe(`pinverify: no contact with id ${carol?.id}`);
      const malformed = await cli(['contacts', 'remove', 'carol']);
      expect(malformed.code).toBe(1);
      expect(malformed.err).toContain('id:');
    });
  });

  describe('import', () => {
    it('writes nothing when a line is rejected, reporting every line', async () => {
      const before = await contacts(pool);
      const run = await cli(['contacts', 'import', csvFile]);
      expect(run.code).toBe(1);
      const alice = before.find((c) => c.name === 'Alice Example');
      expect(run.out.split('\n')).toEqual([
        'line 2: would be added Nora New',
        `line 3: would be updated Alice Renamed #${alice?.id}`,
        'line 4: rejected Bad Number',
        '    mobile: "12345" is not a valid phone number (write +<country code><number>, or a US number)',
        'line 5: rejected Bad Email',
        '    email: not an email address',
        'line 6: rejected Too Many',
        '    line: has 5 fields, the header has 4',
        'nothing written: 3 line(s) rejected (fix them, or --partial to import the rest)',
      ]);
      expect(await contacts(pool)).toEqual(before);
      expect(await actions(pool)).toEqual([]);
    });

    it('reports the same as JSON', async () => {
      const run = await cli(['--json', 'contacts', 'import', csvFile]);
      expect(run.code).toBe(1);
      const report = run.json<ImportReport>();
      expect(report).toMatchObject({ added: 1, updated: 1, unchanged: 0, rejected: 3, written: false });
      expect(report.lines.map((l) => [l.line, l.status, l.problems.map((p) => p.field)])).toEqual([
        [2, 'added', []],
        [3, 'updated', []],
        [4, 'rejected', ['mobile']],
        [5, 'rejected', ['email']],
        [6, 'rejected', ['line']],
      ]);
    });

    it('writes the good lines with --partial', async () => {
      const aliceId = (await byName(pool, 'Alice Example'))?.id;
      const run = await cli(['contacts', 'import', csvFile, '--partial']);
      expect(run.code).toBe(0);
      expect(run.out).toMatch(/^line 2: added Nora New #\d+$/m);
      expect(run.out).toContain(`line 3: updated Alice Renamed #${aliceId}`);
      expect(run.out).toContain('line 6: rejected Too Many');
      expect(run.out.split('\n').at(-1)).toBe('imported: 1 added, 1 updated, 0 unchanged, 3 rejected');
      expect(await byName(pool, 'Nora New')).toMatchObject({
        email: 'nora@example.com',
        mobile: '+12025550150',
        phones: ['+12025550150'],
      });
      expect(await byName(pool, 'Alice Renamed')).toEqual({
        id: aliceId,
        name: 'Alice Renamed',
        email: 'ALICE@example.com',
        mobile: '+12025550101',
        phones: ['+12025550101', '+12025550111'],
      });
      expect(await byName(pool, 'Bad Number')).toBeUndefined();
      expect(await contacts(pool)).toHaveLength(6);
      const { rows } = await pool.query('SELECT actor, action, detail FROM config_changes');
      expect(rows).toEqual([
        {
          actor: 'cli:ops-test',
          action: 'contact.import',
          detail: { added: 1, updated: 1, rejected: 3, pinsSet: 0 },
        },
      ]);

      // Importing the same file again changes nothing more.
      const again = await cli(['--json', 'contacts', 'import', csvFile, '--partial']);
      expect(again.json<ImportReport>()).toMatchObject({ added: 0, updated: 0, unchanged: 2, rejected: 3 });
      expect(await contacts(pool)).toHaveLength(6);
    });

    it('writes nothing with --dry-run, even when every line is good', async () => {
      const before = await contacts(pool);
      const good = join(dir, 'good.csv');
      writeFileSync(good, 'name,email,phones\nGina Good,gina@example.com,+12025550180\n');
      const run = await cli(['contacts', 'import', good, '--dry-run']);
      expect(run.code).toBe(0);
      expect(run.out).toBe(
        'line 2: would be added Gina Good\ndry run, nothing written: 1 added, 0 updated, 0 unchanged, 0 rejected',
      );
      expect(await contacts(pool)).toEqual(before);
      // Without --dry-run the same file is imported.
      expect((await cli(['contacts', 'import', good])).code).toBe(0);
      expect(await byName(pool, 'Gina Good')).toMatchObject({ phones: ['+12025550180'] });
    });

    it('reads standard input for "-"', async () => {
      const run = await cli(['--json', 'contacts', 'import', '-'], {
        stdin: 'name,mobile\nHank Stdin,+12025550181\n',
      });
      expect(run.code).toBe(0);
      expect(run.json<ImportReport>()).toMatchObject({ added: 1, written: true });
      expect(await byName(pool, 'Hank Stdin')).toMatchObject({
        mobile: '+12025550181',
        phones: ['+12025550181'],
      });
    });

    it('refuses a header it does not understand, and a file it cannot read', async () => {
      const header = await cli(['contacts', 'import', '-'], { stdin: 'fullname,email\nX,x@example.com\n' });
      expect(header.code).toBe(1);
      expect(header.err).toContain(
        'header: unknown column "fullname" (known: id, name, email, mobile, phones, pin)',
      );
      expect(header.err).toContain('header: a "name" column is required');
      const missing = await cli(['contacts', 'import', join(dir, 'nope.csv')]);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain(`cannot read ${join(dir, 'nope.csv')}`);
      expect(await contacts(pool)).toHaveLength(5);
    });
  });
});
