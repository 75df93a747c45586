/**
 * Applies src/store/migrations/NNN_name.sql in name order, each in its own transaction, and
 * records them in schema_migrations. Safe to call on every start: already applied files are
 * skipped, and a session advisory lock serialises app instances that start at the same time
 * (the second waits, then finds nothing left to do).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { errorMessage, silentLogger, type StoreLogger } from './db';

/** Fixed, arbitrary key: every pinverify instance must use the same one. */
const MIGRATION_LOCK_KEY = '7486172301';

const FILE_PATTERN = /^\d{3}_[a-z0-9_]+\.sql$/;

export interface Migration {
  name: string;
  sql: string;
  /** sha256 of the file, recorded to notice an applied migration edited afterwards. */
  checksum: string;
}

export interface MigrateOptions {
  /** Directory of the .sql files; defaults to migrationsDir(). */
  dir?: string;
  logger?: StoreLogger;
}

export interface MigrateResult {
  /** Migrations applied by this call, in order (empty when the schema was up to date). */
  applied: string[];
  /** Latest migration now in the database. */
  current: string | null;
}

/**
 * tsc does not copy .sql files, so a build run from dist/store finds them in the source tree
 * unless the build copies them next to the compiled file.
 */
export function migrationsDir(): string {
  const candidates = [
    path.join(__dirname, 'migrations'),
    path.resolve(__dirname, '..', '..', 'src', 'store', 'migrations'),
  ];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`migrations directory not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function loadMigrations(dir: string = migrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      if (!FILE_PATTERN.test(file))
        throw new Error(`bad migration file name ${file} (expected NNN_name.sql)`);
      const sql = readFileSync(path.join(dir, file), 'utf8');
      return {
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const logger = options.logger ?? silentLogger;
  const migrations = loadMigrations(options.dir);
  const client = await pool.connect();
  let broken = false;
  try {
    // The pool's 3 s statement timeout suits call handling, not DDL or waiting for another
    // instance to finish migrating. Still bounded, so a stuck lock fails loudly.
    await client.query(`SET statement_timeout = '10min'; SET lock_timeout = '2min'`);
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await applyPending(client, migrations, logger);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    if (broken) {
      // Destroying the connection also drops the session lock and settings for sure.
      client.release(true);
    } else {
      await client.query('RESET statement_timeout; RESET lock_timeout').then(
        () => client.release(),
        () => client.release(true),
      );
    }
  }
}

async function applyPending(
  client: PoolClient,
  migrations: Migration[],
  logger: StoreLogger,
): Promise<MigrateResult> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      name        text PRIMARY KEY,
      checksum    text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
  const done = await client.query<{ name: string; checksum: string }>(
    'SELECT name, checksum FROM schema_migrations',
  );
  const appliedBefore = new Map(done.rows.map((row) => [row.name, row.checksum]));
  const known = new Set(migrations.map((m) => m.name));
  for (const name of appliedBefore.keys()) {
    if (!known.has(name))
      logger.warn('database has a migration this version does not know', { migration: name });
  }

  const applied: string[] = [];
  for (const migration of migrations) {
    const checksum = appliedBefore.get(migration.name);
    if (checksum !== undefined) {
      // Warn rather than fail: a harmless edit (a comment) must not stop the app from starting.
      if (checksum !== migration.checksum) {
        logger.warn('applied migration file has changed since; edit schema with a new migration', {
          migration: migration.name,
        });
      }
      continue;
    }
    await client.query('BEGIN');
    try {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [
        migration.name,
        migration.checksum,
      ]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`migration ${migration.name} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    applied.push(migration.name);
    logger.info?.('migration applied', { migration: migration.name });
  }
  const names = [...appliedBefore.keys(), ...applied].sort();
  return { applied, current: names[names.length - 1] ?? null };
}
