import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Pool } from 'pg';
import { createArgon2PinHasher } from '../../src/pin/pin-hasher';
import { createPool } from '../../src/store/db';
import { loadMigrations, migrate } from '../../src/store/migrate';
import { PgConfigStore } from '../../src/store/pg-config-store';
import { PgContactDirectory } from '../../src/store/pg-contact-directory';
import { PgPinStore } from '../../src/store/pg-pin-store';
import { PgVerificationStore } from '../../src/store/pg-verification-store';
import { recordingLogger, resetSchema, TEST_DATABASE_URL, testPool } from './helpers';

/**
 * Upgrades: a database made by the previous release, with data in it (test/fixtures/), is
 * brought to this version by the same migrate() the app runs on start. Nothing is lost, every
 * kind of record still reads, no released migration was edited, and two instances upgrading at
 * once apply each migration exactly once.
 */
jest.setTimeout(60_000);

/** Each released version, the fixture made by it, and the last migration it shipped. */
const RELEASES = [
  { version: '0.1.0', fixture: 'db-release-0.1.0.sql', lastMigration: '010_api_rate_limits' },
];

function loadFixture(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const psql = spawn(
      'psql',
      [TEST_DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-q', '-f', path.join(__dirname, '..', 'fixtures', file)],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    psql.stderr.on('data', (d: Buffer) => (err += d.toString()));
    psql.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql ${file}: ${err}`))));
  });
}

async function rowCounts(pool: Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of rows) {
    const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}"`);
    counts[name] = Number(r.rows[0]?.n ?? 0);
  }
  return counts;
}

describe.each(RELEASES)('upgrading a database made by release $version', (release) => {
  let pool: Pool;
  let before: Record<string, number>;

  beforeAll(async () => {
    pool = testPool();
    await resetSchema(pool);
    await loadFixture(release.fixture);
    before = await rowCounts(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  test('the fixture is what the release left: its migrations, and data in every kind of table', async () => {
    const { rows } = await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    const names = rows.map((r) => r.name);
    expect(names[names.length - 1]).toBe(release.lastMigration);
    for (const table of ['contacts', 'contact_phones', 'contact_pins', 'routes', 'calls', 'call_events'])
      expect(before[table]).toBeGreaterThan(0);
    for (const table of ['verifications', 'verification_sends', 'verification_failures', 'api_keys'])
      expect(before[table]).toBeGreaterThan(0);
  });

  test('migrate applies exactly the newer migrations, warns of no edited released one, and loses no row', async () => {
    const log = recordingLogger();
    const expected = loadMigrations()
      .map((m) => m.name)
      .filter((name) => name > release.lastMigration);
    // Two instances starting at once after the upgrade: each migration runs once.
    const other = createPool(TEST_DATABASE_URL);
    try {
      const [a, b] = await Promise.all([migrate(pool, { logger: log }), migrate(other)]);
      expect([...a.applied, ...b.applied].sort()).toEqual(expected);
      expect(a.current).toBe(loadMigrations().at(-1)?.name);
    } finally {
      await other.end();
    }
    // A warning here means a migration shipped in a release was edited afterwards.
    expect(log.entries.filter((e) => e.level === 'warn')).toEqual([]);
    const after = await rowCounts(pool);
    for (const [table, n] of Object.entries(before)) {
      // Housekeeping-free: a migration may add rows (new settings), never remove them.
      expect({ table, rows: after[table] ?? 0 }).toEqual({ table, rows: Math.max(n, after[table] ?? 0) });
    }
    const dup = await pool.query('SELECT name FROM schema_migrations GROUP BY name HAVING count(*) > 1');
    expect(dup.rows).toEqual([]);
  });

  test('the upgraded data reads as before: settings, routes, contacts, PINs and verifications', async () => {
    const config = new PgConfigStore(pool, { ttlSeconds: 0 });
    const settings = await config.getSettings();
    expect(settings.companyName).toBe('Example Help Desk');
    expect(settings.codeValiditySeconds).toBe(240);
    expect(await config.findRoute('pinverify-support-autopin')).toMatchObject({
      successDestination: '2001',
      failedDestination: '2901',
      mode: 'otp',
    });
    expect((await config.findRoute('pinverify-billing-pin'))?.mode).toBe('pin');

    const contacts = new PgContactDirectory(pool);
    const alice = await contacts.findByPhone('+12025550101', 2);
    expect(alice.map((c) => c.name)).toEqual(['Alice Example']);

    // The PIN set through the CLI before the upgrade still matches; a wrong one still does not.
    const pins = new PgPinStore(pool);
    const frank = (await contacts.findByDestination('frank@example.com', 2))[0];
    expect(frank).toBeDefined();
    const record = await pins.get(frank?.id ?? -1);
    const hasher = createArgon2PinHasher();
    expect(await hasher.verify(record?.hash ?? null, '7391')).toBe(true);
    expect(await hasher.verify(record?.hash ?? null, '7392')).toBe(false);

    const verifications = new PgVerificationStore(pool);
    const list = await verifications.list({ contactId: frank?.id, limit: 10 });
    expect(list.map((v) => [v.channel, v.status])).toContainEqual(['email', 'pending']);

    const calls = await pool.query<{ reason: string }>('SELECT reason FROM calls ORDER BY started_at');
    expect(calls.rows.map((r) => r.reason)).toEqual(
      expect.arrayContaining(['ok', 'max_attempts', 'no_match']),
    );
  });
});
