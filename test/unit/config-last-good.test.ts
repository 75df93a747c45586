import type { QueryResult, QueryResultRow } from 'pg';
import { PgConfigStore } from '../../src/store/pg-config-store';
import type { Queryable } from '../../src/store/db';
import { FakeClock } from '../fakes/fake-clock';

/** A database that answers, fails, or never answers, as the test says. */
class FlakyDb implements Queryable {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  route = { success: '2005', failed: '2905' };
  queries = 0;
  async query<R extends QueryResultRow = QueryResultRow>(text: string): Promise<QueryResult<R>> {
    this.queries += 1;
    if (this.mode === 'fail')
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    if (this.mode === 'hang') await new Promise<never>(() => undefined);
    const rows = text.includes('FROM routes')
      ? [
          {
            id: 1,
            title: 'Billing',
            previous_hop: 'billing',
            success_destination: this.route.success,
            failed_destination: this.route.failed,
            enabled: true,
            mode: 'pin',
          },
        ]
      : [];
    return {
      rows,
      rowCount: rows.length,
      command: 'SELECT',
      oid: 0,
      fields: [],
    } as unknown as QueryResult<R>;
  }
}

function setup() {
  const db = new FlakyDb();
  const warnings: string[] = [];
  const clock = new FakeClock();
  const store = new PgConfigStore(db, {
    staleAfterMs: 50,
    clock,
    logger: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined },
  });
  return { db, store, warnings, clock };
}

describe('the config store keeps the last good routes and settings', () => {
  test('a dead database gives the last good route, not the defaults (the right department), said once', async () => {
    const { db, store, warnings } = setup();
    expect(await store.findRoute('billing')).toMatchObject({ failedDestination: '2905', mode: 'pin' });
    db.mode = 'fail';
    store.invalidate(); // a change notification, then the database dies
    expect(await store.findRoute('billing')).toMatchObject({ failedDestination: '2905' });
    expect(await store.findRoute('billing')).toMatchObject({ failedDestination: '2905' });
    expect(warnings.filter((w) => w.startsWith('database unreachable'))).toHaveLength(1);
    expect(warnings[warnings.length - 1]).toMatch(/using the last good routes read at 20\d\d-/);
  });

  test('a slow database gives the last good value after staleAfterMs, and the fresh one once it answers', async () => {
    const { db, store, warnings, clock } = setup();
    await store.findRoute('billing');
    db.mode = 'hang';
    store.invalidate();
    let got: unknown = null;
    void store.findRoute('billing').then((r) => (got = r));
    await clock.advance(49);
    expect(got).toBeNull();
    await clock.advance(1);
    expect(got).toMatchObject({ failedDestination: '2905' });
    expect(warnings.some((w) => w.startsWith('database slower than 50 ms'))).toBe(true);
    db.mode = 'ok';
    db.route = { success: '2006', failed: '2906' };
    store.invalidate();
    expect(await store.findRoute('billing')).toMatchObject({ failedDestination: '2906' });
  });

  test('with nothing read yet, a dead database is an error (the flow routes by the defaults then)', async () => {
    const { db, store } = setup();
    db.mode = 'fail';
    await expect(store.getSettings()).rejects.toThrow(/ECONNREFUSED/);
  });
});
