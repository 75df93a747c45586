import type { Pool } from 'pg';
import { latestCall, listenAmi, openDb, run, runSippScenario } from './lab-harness';

/**
 * PostgreSQL stopped under the running app with calls coming in, on the live lab: callers still
 * reach their own department's failed destination (the app keeps the last good routes), told
 * about a technical problem (reason internal_error), with the AMI event at once; and once the
 * database is back, the audit records of the calls made meanwhile are written: nothing lost.
 *
 * The outage lasts PG_OUTAGE_MS (15 s in npm test; `npm run faults` runs it for 60 s).
 */
const OUTAGE_MS = Number(process.env.PG_OUTAGE_MS ?? 15_000);
jest.setTimeout(OUTAGE_MS + 150_000);

let db: Pool;
afterAll(async () => {
  await run('bash', ['scripts/lab.sh', 'postgres-resume'], 60_000);
  await db?.end().catch(() => undefined);
});

test(`a ${OUTAGE_MS / 1000} s PostgreSQL outage: callers reach their department, the audit trail catches up`, async () => {
  // A call before the outage, so the app has read routes and settings.
  expect((await runSippScenario('bail-out')).output).toContain('sipp: PASS');
  const ami = listenAmi();
  try {
    const since = new Date();
    expect((await run('bash', ['scripts/lab.sh', 'postgres-pause'], 60_000)).code).toBe(0);
    const pausedAt = Date.now();
    // Two departments during the outage: each to its own failed destination, not the default.
    const support = await runSippScenario('bail-out', [
      '--expect',
      'exten=2901 result=failed reason=internal_error',
    ]);
    expect(support.output).toContain('sipp: PASS');
    const accounting = await runSippScenario('bail-out-info', [
      '--expect',
      'exten=2902 result=failed reason=internal_error',
    ]);
    expect(accounting.output).toContain('sipp: PASS');
    const during = ami.events.filter((e) => e.reason === 'internal_error');
    expect(during.map((e) => e.route).sort()).toEqual([
      'pinverify-accounting-autopin',
      'pinverify-support-autopin',
    ]);

    const left = OUTAGE_MS - (Date.now() - pausedAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    expect((await run('bash', ['scripts/lab.sh', 'postgres-resume'], 60_000)).code).toBe(0);

    db = openDb();
    // The audit queue retries every 5 s: both calls of the outage land, closed, with their events.
    for (const last4 of ['0101']) {
      let call = null;
      for (let i = 0; i < 60 && !call; i++) {
        const found = await latestCall(db, last4, since).catch(() => null);
        if (found?.reason === 'internal_error') call = found;
        else await new Promise((r) => setTimeout(r, 500));
      }
      expect(call).toMatchObject({ result: 'failed', reason: 'internal_error' });
      expect(call?.kinds).toEqual(expect.arrayContaining(['entered', 'route', 'error', 'outcome']));
    }
    const { rows } = await db.query<{ route: string }>(
      `SELECT route FROM calls WHERE started_at >= $1 AND reason = 'internal_error' ORDER BY route`,
      [since],
    );
    expect(rows.map((r) => r.route)).toEqual(['pinverify-accounting-autopin', 'pinverify-support-autopin']);
    // And the app takes calls normally again.
    expect((await runSippScenario('bail-out')).output).toContain('sipp: PASS');
  } finally {
    ami.close();
  }
});
