/**
 * Connection pool and health check. Timeouts are short on purpose: a caller is waiting on the
 * line, and a database that does not answer within seconds should turn into a clean
 * "unavailable" outcome rather than silence.
 */
import { Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';

export const DEFAULT_DATABASE_URL = 'postgres://pinverify:pinverify@127.0.0.1:5432/pinverify';

/**
 * What a repository needs for single statements. A Pool fits; tests wrap one to simulate an
 * outage. Repositories that need a transaction take the Pool itself.
 */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** The part of the app's logger the store uses (FlowLogger fits). */
export interface StoreLogger {
  warn(msg: string, meta?: Record<string, unknown>): void;
  error?(msg: string, meta?: Record<string, unknown>): void;
  info?(msg: string, meta?: Record<string, unknown>): void;
}

export const silentLogger: StoreLogger = { warn: () => undefined };

export interface CreatePoolOptions {
  logger?: StoreLogger;
  /** Pool size; each active call holds a connection only for the length of one query. */
  max?: number;
  connectionTimeoutMillis?: number;
  statementTimeoutMillis?: number;
  /** How long an unused connection stays open (0: for good). */
  idleTimeoutMillis?: number;
}

export function createPool(databaseUrl: string, options: CreatePoolOptions = {}): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    // Fail fast when the server is down or unreachable instead of hanging a call.
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 2000,
    // Server-side cap for every statement; migrate() lifts it for its own session.
    statement_timeout: options.statementTimeoutMillis ?? 3000,
    // A transaction left open by a bug must not keep a code row locked for other checks.
    idle_in_transaction_session_timeout: 10_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    // Detects a dead server behind a silent network faster than the OS default.
    keepAlive: true,
    application_name: 'pinverify',
  });
  // An idle client whose connection dies emits 'error' on the pool; unhandled, it would crash
  // the process and drop every call in progress. The next query simply gets a new connection.
  pool.on('error', (err) => {
    (options.logger ?? silentLogger).warn('idle database connection lost', { error: err.message });
  });
  return pool;
}

/** The URL with its password replaced, safe to print. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable database URL)';
  }
}

function hostPort(databaseUrl: string | undefined): string {
  if (!databaseUrl) return 'the database server';
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname || 'localhost'}:${url.port || '5432'}`;
  } catch {
    return 'the database server';
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Node reports "localhost" tried over IPv6 and IPv4 as an AggregateError.
  const inner = (err as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errorCode(inner[0]) : undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether an error means Postgres cannot be reached or will not let us in (a network errno, or
 * SQLSTATE class 08 connection, 28 authorization, 3D missing database, 57P shutdown), as opposed
 * to a bad query. The CLI answers these with exit 3, the admin API with 503.
 */
export function isDbUnreachable(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code !== undefined &&
    /^(ECONN|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|08|28|3D|57P)/.test(code)
  );
}

/** One line naming what is wrong, for people reading a terminal or a log. */
export function describeDbError(err: unknown, databaseUrl?: string): string {
  const where = hostPort(databaseUrl);
  const message = errorMessage(err);
  switch (errorCode(err)) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where} (connection refused): is PostgreSQL running?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to ${where}: host name not found`;
    case 'ETIMEDOUT':
      return `cannot connect to ${where}: timed out`;
    case '28P01':
    case '28000':
      return `${where} refused the login: ${message}`;
    case '3D000':
      return `${message} on ${where} (create it with src/store/bootstrap.sql)`;
    case '57P03':
      return `${where} is starting up or shutting down: ${message}`;
    case undefined:
    default:
      // pg reports a refused or dropped handshake (TLS-only server, proxy) and its own
      // connect timeout by message only.
      if (/timeout|terminated/i.test(message)) return `cannot connect to ${where}: ${message}`;
      return `${where}: ${message}`;
  }
}

export type DbCheck =
  | { ok: true; latencyMs: number; serverVersion: string; schemaVersion: string | null }
  | { ok: false; latencyMs: number; error: string };

/** Health check for startup and `pinverify doctor`: reachable, and which migration is the latest applied. */
export async function checkDb(pool: Pool): Promise<DbCheck> {
  const started = Date.now();
  try {
    const info = await pool.query<{ version: string; migrated: boolean }>(
      `SELECT current_setting('server_version') AS version,
              to_regclass('schema_migrations') IS NOT NULL AS migrated`,
    );
    const row = info.rows[0];
    let schemaVersion: string | null = null;
    if (row?.migrated) {
      const latest = await pool.query<{ name: string | null }>(
        'SELECT max(name) AS name FROM schema_migrations',
      );
      schemaVersion = latest.rows[0]?.name ?? null;
    }
    return { ok: true, latencyMs: Date.now() - started, serverVersion: row?.version ?? '', schemaVersion };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Date.now() - started,
      error: describeDbError(err, pool.options.connectionString),
    };
  }
}

/**
 * Runs fn inside BEGIN/COMMIT on one pooled client; rolls back on error. A client that failed
 * mid-transaction is not trusted back into the pool (release(true) destroys it).
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    broken = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(broken);
  }
}
