/**
 * Shared setup for the integration tests: a real Postgres (DATABASE_URL, default the lab's
 * pinverify_test database), reset to an empty schema and migrated at the start of each file.
 */
import type { Pool } from 'pg';
import type { TimerHandle } from '../../src/call/clock';
import { createPool } from '../../src/store/db';
import { migrate } from '../../src/store/migrate';

export const TEST_DATABASE_URL =
  process.env.DATABASE_URL || 'postgres://pinverify:pinverify@127.0.0.1:5432/pinverify_test';

/** A port where nothing listens, for "database unreachable". */
export const UNREACHABLE_DATABASE_URL = 'postgres://pinverify:pinverify@127.0.0.1:1/pinverify_test';

export function testPool(): Pool {
  return createPool(TEST_DATABASE_URL);
}

/**
 * Drops everything in schema public. Refuses databases whose name does not say "test", so a
 * DATABASE_URL left pointing at the lab or production database cannot be wiped by a test run.
 */
export async function resetSchema(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
  const db = rows[0]?.db ?? '';
  if (!/test/i.test(db))
    throw new Error(`refusing to reset database "${db}": its name does not contain "test"`);
  await pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
}

/** A pool on a freshly reset and migrated database. */
export async function freshDatabase(): Promise<Pool> {
  const pool = testPool();
  await resetSchema(pool);
  await migrate(pool);
  return pool;
}

/** The migrations that seed default settings and templates (ON CONFLICT DO NOTHING). */
const SEED_MIGRATIONS = [
  '002_default_config',
  '006_verification_settings',
  '008_pin_settings',
  '017_desk_settings',
];

/** Settings and templates back to what a fresh install seeds: deleted, then the seed migrations run again. */
export async function reseedConfig(pool: Pool): Promise<void> {
  await pool.query('DELETE FROM settings; DELETE FROM templates');
  await pool.query('DELETE FROM schema_migrations WHERE name = ANY($1::text[])', [SEED_MIGRATIONS]);
  await migrate(pool);
}

/** Polls until `check` returns true; fails after timeoutMs. For asynchronous effects such as NOTIFY. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 1000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  meta: Record<string, unknown>;
}

/** A logger that remembers what it was told. */
export function recordingLogger() {
  const entries: LogEntry[] = [];
  const log =
    (level: LogEntry['level']) =>
    (msg: string, meta: Record<string, unknown> = {}) => {
      entries.push({ level, msg, meta });
    };
  return { entries, info: log('info'), warn: log('warn'), error: log('error') };
}

/** Timers that fire only when the test says so. */
export function manualTimers() {
  const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  return {
    timers,
    setTimer(ms: number, fn: () => void): TimerHandle {
      const timer = { ms, fn, cancelled: false };
      timers.push(timer);
      return {
        cancel: () => {
          timer.cancelled = true;
        },
      };
    },
    /** Runs the timers due (not cancelled) and returns how many ran. */
    fireAll(): number {
      const due = timers.filter((t) => !t.cancelled);
      timers.length = 0;
      for (const t of due) t.fn();
      return due.length;
    },
    active(): number {
      return timers.filter((t) => !t.cancelled).length;
    },
  };
}
