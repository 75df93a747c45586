import type { Pool } from 'pg';
import * as argon2 from 'argon2';
import {
  DEMO_CONTACTS,
  DEMO_NO_ROUTE_HOP,
  DEMO_PINS,
  DEMO_NUMBERS,
  DEMO_ROUTES,
  loadDemoData,
} from '../../src/store/demo-data';
import { PgConfigStore } from '../../src/store/pg-config-store';
import { PgContactAdmin } from '../../src/store/pg-contact-admin';
import { PgContactDirectory } from '../../src/store/pg-contact-directory';
import { freshDatabase } from './helpers';

describe('contacts', () => {
  let pool: Pool;
  let directory: PgContactDirectory;
  let admin: PgContactAdmin;

  beforeAll(async () => {
    pool = await freshDatabase();
    directory = new PgContactDirectory(pool);
    admin = new PgContactAdmin(pool);
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE contacts CASCADE');
  });
  afterAll(async () => {
    await pool.end();
  });

  describe('PgContactDirectory.findByPhone', () => {
    it('finds nobody, one contact, or every contact sharing a number', async () => {
      const alice = await admin.addContact({
        name: 'Alice',
        email: 'alice@example.com',
        mobile: '+12025550101',
        phones: ['+12025550101', '+12025550111'],
      });
      const dan = await admin.addContact({ name: 'Dan', email: 'dan@example.com', phones: ['+12025550104'] });
      const erin = await admin.addContact({
        name: 'Erin',
        email: 'erin@example.com',
        phones: ['+12025550104'],
      });

      expect(await directory.findByPhone('+12025550199', 5)).toEqual([]);
      expect(await directory.findByPhone('+12025550111', 5)).toEqual([
        { id: alice, name: 'Alice', email: 'alice@example.com', mobile: '+12025550101' },
      ]);
      expect(await directory.findByPhone('+12025550104', 5)).toEqual([
        { id: dan, name: 'Dan', email: 'dan@example.com', mobile: null },
        { id: erin, name: 'Erin', email: 'erin@example.com', mobile: null },
      ]);
    });

    it('returns at most `limit` contacts', async () => {
      for (const name of ['A', 'B', 'C']) await admin.addContact({ name, phones: ['+12025550104'] });
      expect(await directory.findByPhone('+12025550104', 2)).toHaveLength(2);
      expect(await directory.findByPhone('+12025550104', 1)).toHaveLength(1);
    });

    it('does not match on the SMS mobile alone, only on the numbers the contact calls from', async () => {
      await admin.addContact({ name: 'Mobile only', mobile: '+12025550120', phones: [] });
      expect(await directory.findByPhone('+12025550120', 5)).toEqual([]);
    });
  });

  describe('PgContactAdmin', () => {
    it('adds, lists and removes contacts with their phones', async () => {
      const id = await admin.addContact({
        name: '  Alice  ',
        email: 'alice@example.com',
        mobile: '+12025550101',
        phones: ['+12025550101', '+12025550101', '+12025550111'],
      });
      expect(await admin.listContacts()).toEqual([
        {
          id,
          name: 'Alice',
          email: 'alice@example.com',
          mobile: '+12025550101',
          phones: ['+12025550101', '+12025550111'],
        },
      ]);
      expect(await admin.removeContact(id)).toBe(true);
      expect(await admin.removeContact(id)).toBe(false);
      expect(await admin.listContacts()).toEqual([]);
      const { rows } = await pool.query('SELECT * FROM contact_phones');
      expect(rows).toEqual([]);
    });

    it('lists a contact without phones with an empty list', async () => {
      await admin.addContact({ name: 'Nobody', phones: [] });
      expect(await admin.listContacts()).toEqual([expect.objectContaining({ name: 'Nobody', phones: [] })]);
    });

    it.each([
      [{ name: ' ', phones: [] }, /name is empty/],
      [{ name: 'X', email: 'not-an-email', phones: [] }, /not an email/],
      [{ name: 'X', mobile: '2025550101', phones: [] }, /not an E\.164 number.*2025550101/],
      [{ name: 'X', phones: ['+1 202 555 0101'] }, /not an E\.164 number/],
    ])('rejects %j', async (contact, message) => {
      await expect(admin.addContact(contact)).rejects.toThrow(message);
      expect(await admin.listContacts()).toEqual([]);
    });
  });
});

describe('demo data', () => {
  let pool: Pool;

  beforeAll(async () => {
    pool = await freshDatabase();
  });
  afterAll(async () => {
    await pool.end();
  });

  async function counts(): Promise<{ contacts: number; phones: number; routes: number }> {
    const { rows } = await pool.query<{ contacts: number; phones: number; routes: number }>(
      `SELECT (SELECT count(*)::int FROM contacts) AS contacts,
              (SELECT count(*)::int FROM contact_phones) AS phones,
              (SELECT count(*)::int FROM routes) AS routes`,
    );
    return rows[0] ?? { contacts: -1, phones: -1, routes: -1 };
  }

  it('can be loaded again and again (and concurrently) with the same result', async () => {
    expect(await loadDemoData(pool)).toEqual({
      routes: 4,
      contacts: DEMO_CONTACTS.length,
      profiles: 2,
    });
    const first = await counts();
    expect(first).toEqual({ contacts: 5, phones: 5, routes: 4 });
    // Every demo PIN as an argon2id hash of its contact; Carol (no PIN) shows no_pin in the lab.
    const { rows } = await pool.query<{ name: string; pin_hash: string }>(
      'SELECT c.name, p.pin_hash FROM contact_pins p JOIN contacts c ON c.id = p.contact_id ORDER BY c.name',
    );
    expect(rows.map((r) => r.name)).toEqual(Object.keys(DEMO_PINS).sort());
    for (const r of rows) {
      expect(r.pin_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      expect(await argon2.verify(r.pin_hash, DEMO_PINS[r.name] ?? '')).toBe(true);
    }
    await Promise.all([loadDemoData(pool), loadDemoData(pool)]);
    expect(await counts()).toEqual(first);
  });

  it('restores edited demo routes, removes a route on the no-route hop, and leaves other data alone', async () => {
    const admin = new PgContactAdmin(pool);
    const realId = await admin.addContact({ name: 'Alice Example', phones: ['+12025550177'] });
    await pool.query(`UPDATE routes SET success_destination = '9999', enabled = false`);
    await pool.query(
      `INSERT INTO routes (title, previous_hop, success_destination, failed_destination) VALUES ('x', $1, '1', '2')`,
      [DEMO_NO_ROUTE_HOP],
    );
    await loadDemoData(pool);
    const store = new PgConfigStore(pool);
    try {
      expect(await store.findRoute(DEMO_ROUTES.support.previousHop)).toEqual(
        expect.objectContaining({ ...DEMO_ROUTES.support, enabled: true }),
      );
      expect(await store.findRoute(DEMO_ROUTES.accounting.previousHop)).toEqual(
        expect.objectContaining({ successDestination: '2002', failedDestination: '2902' }),
      );
      expect(await store.findRoute(DEMO_NO_ROUTE_HOP)).toBeNull();
    } finally {
      store.close();
    }
    expect((await admin.listContacts()).map((c) => c.id)).toContain(realId);
    await admin.removeContact(realId);
  });

  it('covers every lookup case by number', async () => {
    await loadDemoData(pool);
    const directory = new PgContactDirectory(pool);
    const find = (n: string) => directory.findByPhone(n, 5);
    expect(await find(DEMO_NUMBERS.emailAndSms)).toEqual([
      expect.objectContaining({ name: 'Alice Example', email: 'alice@example.com', mobile: '+12025550101' }),
    ]);
    expect(await find(DEMO_NUMBERS.emailOnly)).toEqual([
      expect.objectContaining({ name: 'Bob Email', email: 'bob@example.com', mobile: null }),
    ]);
    expect(await find(DEMO_NUMBERS.smsOnly)).toEqual([
      expect.objectContaining({ name: 'Carol Sms', email: null, mobile: '+12025550103' }),
    ]);
    expect((await find(DEMO_NUMBERS.shared)).map((c) => c.name)).toEqual(['Dan Shared', 'Erin Shared']);
    expect(await find(DEMO_NUMBERS.unknown)).toEqual([]);
  });
});
