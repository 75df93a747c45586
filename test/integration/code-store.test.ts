import { createHmac } from 'node:crypto';
import type { Pool } from 'pg';
import type { CodeCheck } from '../../src/flow/ports';
import { PgCodeStore } from '../../src/store/pg-code-store';
import { freshDatabase } from './helpers';

// The flow hashes codes with a secret key; any keyed hash will do for the store.
const hash = (code: string) => createHmac('sha256', 'test-key').update(code).digest('hex');

const T0 = new Date('2030-01-01T12:00:00Z');
const EXPIRES = new Date(T0.getTime() + 300_000);
const RIGHT = hash('123456');
const WRONG = hash('654321');

describe('PgCodeStore', () => {
  let pool: Pool;
  let codes: PgCodeStore;

  beforeAll(async () => {
    pool = await freshDatabase();
    codes = new PgCodeStore(pool);
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE call_codes');
  });
  afterAll(async () => {
    await pool.end();
  });

  it('stores the keyed hash, never the code', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    const { rows } = await pool.query<Record<string, unknown>>('SELECT * FROM call_codes');
    expect(rows).toEqual([expect.objectContaining({ call_id: 'call-1', code_hash: RIGHT, tries_left: 3 })]);
    expect(JSON.stringify(rows)).not.toContain('123456');
  });

  it('accepts the right code once: it is consumed', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'ok' });
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'missing' });
  });

  it('counts wrong tries down to zero, then refuses even the right code', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    expect(await codes.check('call-1', WRONG, T0)).toEqual({ kind: 'wrong', triesLeft: 2 });
    expect(await codes.check('call-1', WRONG, T0)).toEqual({ kind: 'wrong', triesLeft: 1 });
    expect(await codes.check('call-1', WRONG, T0)).toEqual({ kind: 'wrong', triesLeft: 0 });
    expect(await codes.check('call-1', WRONG, T0)).toEqual({ kind: 'exhausted' });
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'exhausted' });
  });

  it('accepts the right code after some wrong tries', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    await codes.check('call-1', WRONG, T0);
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'ok' });
  });

  it('expires at expires_at, judged by the `now` given', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    expect(await codes.check('call-1', RIGHT, EXPIRES)).toEqual({ kind: 'expired' });
    expect(await codes.check('call-1', WRONG, new Date(EXPIRES.getTime() + 1))).toEqual({ kind: 'expired' });
    // An expired check does not spend a try or the code.
    expect(await codes.check('call-1', RIGHT, new Date(EXPIRES.getTime() - 1))).toEqual({ kind: 'ok' });
  });

  it('replacing the code (resend) resets the tries and kills the old code', async () => {
    const second = hash('111111');
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    await codes.check('call-1', WRONG, T0);
    await codes.check('call-1', WRONG, T0);
    await codes.put('call-1', second, EXPIRES, 3);
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'wrong', triesLeft: 2 });
    expect(await codes.check('call-1', second, T0)).toEqual({ kind: 'ok' });
  });

  it('a resend after a consumed or exhausted code gives a live code again', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 1);
    await codes.check('call-1', WRONG, T0);
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'exhausted' });
    await codes.put('call-1', RIGHT, EXPIRES, 1);
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'ok' });
    await codes.put('call-1', RIGHT, EXPIRES, 1);
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'ok' });
  });

  it('discard removes the code; unknown calls are missing', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    await codes.discard('call-1');
    expect(await codes.check('call-1', RIGHT, T0)).toEqual({ kind: 'missing' });
    expect(await codes.check('never-seen', RIGHT, T0)).toEqual({ kind: 'missing' });
    await expect(codes.discard('never-seen')).resolves.toBeUndefined();
  });

  it('keeps calls apart', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    await codes.put('call-2', WRONG, EXPIRES, 3);
    expect(await codes.check('call-1', WRONG, T0)).toEqual({ kind: 'wrong', triesLeft: 2 });
    expect(await codes.check('call-2', WRONG, T0)).toEqual({ kind: 'ok' });
  });

  it('spends each try once under concurrent checks', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    const results = await Promise.all(Array.from({ length: 8 }, () => codes.check('call-1', WRONG, T0)));
    const wrong = results.filter((r): r is Extract<CodeCheck, { kind: 'wrong' }> => r.kind === 'wrong');
    expect(wrong.map((r) => r.triesLeft).sort()).toEqual([0, 1, 2]);
    expect(results.filter((r) => r.kind === 'exhausted')).toHaveLength(5);
  });

  it('lets only one of concurrent right checks through', async () => {
    await codes.put('call-1', RIGHT, EXPIRES, 3);
    const results = await Promise.all(Array.from({ length: 8 }, () => codes.check('call-1', RIGHT, T0)));
    expect(results.filter((r) => r.kind === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'missing')).toHaveLength(7);
  });

  it('refuses a code without tries', async () => {
    await expect(codes.put('call-1', RIGHT, EXPIRES, 0)).rejects.toThrow(RangeError);
  });

  it('purges codes left behind by calls that never discarded them', async () => {
    await codes.put('old', RIGHT, new Date(T0.getTime() - 1000), 3);
    await codes.put('live', RIGHT, EXPIRES, 3);
    expect(await codes.purgeExpired(T0)).toBe(1);
    expect(await codes.check('live', RIGHT, T0)).toEqual({ kind: 'ok' });
  });
});
