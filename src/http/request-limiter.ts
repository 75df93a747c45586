/**
 * Rate limits of the admin API, kept in Postgres by rate-limiter-flexible's RateLimiterPostgres
 * (a maintained limiter with a Postgres store: one count per client across every app instance,
 * fixed one-minute windows are fine for a request budget). Two limits:
 *
 * - requests per minute per client: the API key (by its public prefix) or, without one, the
 *   address it comes from;
 * - failed authentications per minute per address, so keys cannot be guessed at speed.
 *
 * A limiter that cannot reach Postgres lets the request through (the request itself will then
 * meet the same dead database and answer 503); it is logged.
 */
import type { Pool } from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

export interface RequestLimiter {
  /** One request by `client`; refused with the seconds to wait when over the budget. */
  request(client: string): Promise<LimitAnswer>;
  /** One failed authentication from `address`. */
  authFailure(address: string): Promise<LimitAnswer>;
  /** Whether `address` spent its failed authentications for this minute (then even a good key waits). */
  authBlocked(address: string): Promise<LimitAnswer>;
}

export type LimitAnswer = { ok: true } | { ok: false; retryAfterSeconds: number; limit: number };

export interface PgRequestLimiterOptions {
  pool: Pool;
  requestsPerMinute: number;
  authFailuresPerMinute: number;
  onError?(err: unknown): void;
}

export const RATE_LIMIT_TABLE = 'api_rate_limits';

export function createPgRequestLimiter(o: PgRequestLimiterOptions): RequestLimiter {
  const make = (keyPrefix: string, points: number) =>
    new RateLimiterPostgres({
      storeClient: o.pool,
      storeType: 'pool',
      tableName: RATE_LIMIT_TABLE,
      // Created by migration 010; expired rows are dropped by housekeeping.
      tableCreated: true,
      clearExpiredByTimeout: false,
      keyPrefix,
      points,
      duration: 60,
    });
  const requests = make('req', o.requestsPerMinute);
  const failures = make('authfail', o.authFailuresPerMinute);

  async function consume(limiter: RateLimiterPostgres, key: string, limit: number): Promise<LimitAnswer> {
    try {
      await limiter.consume(key);
      return { ok: true };
    } catch (err) {
      if (err instanceof RateLimiterRes)
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)), limit };
      o.onError?.(err);
      return { ok: true };
    }
  }

  return {
    request: (client) => consume(requests, client, o.requestsPerMinute),
    authFailure: (address) => consume(failures, address, o.authFailuresPerMinute),
    async authBlocked(address) {
      try {
        const res = await failures.get(address);
        if (res && res.consumedPoints > o.authFailuresPerMinute)
          return {
            ok: false,
            retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
            limit: o.authFailuresPerMinute,
          };
      } catch (err) {
        o.onError?.(err);
      }
      return { ok: true };
    },
  };
}
