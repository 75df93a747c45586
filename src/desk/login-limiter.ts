/**
 * Failed desk sign-ins, counted in Postgres by rate-limiter-flexible (as the admin API's limits),
 * so every app instance sees one count: per login (someone guessing one agent's password) and
 * per address (someone trying many logins). A good password is refused too while either is
 * spent, so guessing cannot go on slowly through the lucky try.
 */
import type { Pool } from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { RATE_LIMIT_TABLE } from '../http/request-limiter';

export interface LoginLimiter {
  /** Seconds to wait, or 0 when this login from this address may try. */
  blocked(login: string, address: string): Promise<number>;
  failed(login: string, address: string): Promise<void>;
  succeeded(login: string, address: string): Promise<void>;
}

export const LOGIN_FAILURES_PER_LOGIN = 5;
export const LOGIN_FAILURES_PER_ADDRESS = 20;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

export function createLoginLimiter(o: {
  pool: Pool;
  onError?(err: unknown): void;
  perLogin?: number;
  perAddress?: number;
}): LoginLimiter {
  const make = (keyPrefix: string, points: number) =>
    new RateLimiterPostgres({
      storeClient: o.pool,
      storeType: 'pool',
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true,
      clearExpiredByTimeout: false,
      keyPrefix,
      points,
      duration: LOGIN_WINDOW_SECONDS,
    });
  const perLogin = o.perLogin ?? LOGIN_FAILURES_PER_LOGIN;
  const perAddress = o.perAddress ?? LOGIN_FAILURES_PER_ADDRESS;
  const byLogin = make('desklogin', perLogin);
  const byAddress = make('deskaddr', perAddress);
  const wait = (res: RateLimiterRes | null, limit: number) =>
    res && res.consumedPoints >= limit ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
  return {
    async blocked(login, address) {
      try {
        const [l, a] = await Promise.all([byLogin.get(login), byAddress.get(address)]);
        return Math.max(wait(l, perLogin), wait(a, perAddress));
      } catch (err) {
        // No limiter without the database; but then no session can be made either.
        o.onError?.(err);
        return 0;
      }
    },
    async failed(login, address) {
      await Promise.all(
        [byLogin.penalty(login), byAddress.penalty(address)].map((p) =>
          p.catch((err: unknown) => {
            if (!(err instanceof RateLimiterRes)) o.onError?.(err);
          }),
        ),
      );
    },
    async succeeded(login) {
      await byLogin.delete(login).catch((err: unknown) => o.onError?.(err));
    },
  };
}
