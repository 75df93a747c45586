import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { checkDb, createPool, describeDbError } from '../../src/store/db';
import { loadMigrations, migrate, migrationsDir } from '../../src/store/migrate';
import { recordingLogger, resetSchema, testPool, UNREACHABLE_DATABASE_URL } from './helpers';

const ALL = loadMigrations().map((m) => m.name);

async function tables(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

async function appliedNames(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
  return rows.map((r) => r.name);
}

describe('migrate', () => {
  let pool: Pool;
  let tmp: string | null = null;

  beforeAll(() => {
    pool = testPool();
  });
  beforeEach(async () => {
    await resetSchema(pool);
  });
  afterEach(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = null;
  });
  afterAll(async () => {
    await pool.end();
  });

  function copyMigrations(): string {
    tmp = mkdtempSync(path.join(tmpdir(), 'pinverify-migrations-'));
    for (const file of readdirSync(migrationsDir()))
      copyFileSync(path.join(migrationsDir(), file), path.join(tmp, file));
    return tmp;
  }

  it('creates every table, and a second run is a no-op', async () => {
    const first = await migrate(pool);
    expect(first.applied).toEqual(ALL);
    expect(first.current).toBe(ALL[ALL.length - 1]);
    expect(await tables(pool)).toEqual(
      expect.arrayContaining([
        'call_events',
        'calls',
        'contact_phones',
        'contacts',
        'routes',
        'schema_migrations',
        'settings',
        'templates',
        'verifications',
        'verification_sends',
        'verification_failures',
        'scheduled_jobs',
      ]),
    );
    // The per-call code table of the first schema is superseded by verifications.
    expect(await tables(pool)).not.toContain('call_codes');

    const second = await migrate(pool);
    expect(second).toEqual({ applied: [], current: first.current });
    expect(await appliedNames(pool)).toEqual(ALL);
  });

  it('lets concurrent instances race: each migration is applied exactly once', async () => {
    const other = testPool();
    try {
      const results = await Promise.all([migrate(pool), migrate(other), migrate(pool), migrate(other)]);
      expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL);
      for (const r of results) expect(r.current).toBe(ALL[ALL.length - 1]);
      expect(await appliedNames(pool)).toEqual(ALL);
    } finally {
      await other.end();
    }
  });

  it('rolls back a failing migration and names it', async () => {
    const dir = copyMigrations();
    writeFileSync(
      path.join(dir, '900_broken.sql'),
      'CREATE TABLE half_done (id int); SELECT * FROM no_such_table;',
    );
    await expect(migrate(pool, { dir })).rejects.toThrow(/migration 900_broken failed: .*no_such_table/);
    expect(await tables(pool)).not.toContain('half_done');
    expect(await appliedNames(pool)).toEqual(ALL);
    // The lock was released: the next run is not blocked.
    await expect(migrate(pool)).resolves.toEqual({ applied: [], current: ALL[ALL.length - 1] });
  });

  it('warns when an applied migration file was edited afterwards', async () => {
    await migrate(pool);
    const dir = copyMigrations();
    const first = ALL[0] ?? '';
    writeFileSync(path.join(dir, `${first}.sql`), '-- edited\n', { flag: 'a' });
    const logger = recordingLogger();
    await migrate(pool, { dir, logger });
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', meta: { migration: first } }),
    );
  });

  it('leaves pooled connections with the normal statement timeout', async () => {
    await migrate(pool);
    const clients = await Promise.all(Array.from({ length: 3 }, () => pool.connect()));
    try {
      for (const c of clients) {
        const { rows } = await c.query<{ statement_timeout: string }>('SHOW statement_timeout');
        expect(rows[0]?.statement_timeout).toBe('3s');
      }
    } finally {
      for (const c of clients) c.release();
    }
  });
});

describe('checkDb', () => {
  it('reports the server version and the schema version', async () => {
    const pool = testPool();
    try {
      await resetSchema(pool);
      expect(await checkDb(pool)).toEqual(expect.objectContaining({ ok: true, schemaVersion: null }));
      await migrate(pool);
      expect(await checkDb(pool)).toEqual(
        expect.objectContaining({
          ok: true,
          schemaVersion: ALL[ALL.length - 1],
          serverVersion: expect.any(String) as unknown,
        }),
      );
    } finally {
      await pool.end();
    }
  });

  it('names the address it cannot reach', async () => {
    const pool = createPool(UNREACHABLE_DATABASE_URL);
    try {
      const result = await checkDb(pool);
      expect(result).toEqual(
        expect.objectContaining({
          ok: false,
          error: expect.stringContaining('cannot connect to 127.0.0.1:1') as unknown,
        }),
      );
    } finally {
      await pool.end();
    }
  });

  it('describes login and missing database errors', () => {
    expect(
      describeDbError(
        Object.assign(new Error('database "x" does not exist'), { code: '3D000' }),
        'postgres://h:5/x',
      ),
    ).toMatch(/database "x" does not exist on h:5/);
  });
});
