import type { Pool } from 'pg';
import { env, openDb, run, runSippScenario } from './lab-harness';

/**
 * PostgreSQL made slow (not stopped) under the running app, on the live lab: every database
 * process is frozen for 1.5 s out of every 2 s (SIGSTOP/SIGCONT), so connections stay open and
 * each query waits instead of failing. Callers of two departments arriving meanwhile still reach
 * their own department's failed destination (never the default one, never silence); once the
 * database is quick again, their audit records are there, nobody is left in the Stasis app, and
 * the next call goes as usual.
 *
 * The slow spell lasts PG_SLOW_MS (12 s in npm test; `npm run faults` runs it for 60 s).
 */
const SLOW_MS = Number(process.env.PG_SLOW_MS ?? 12_000);
jest.setTimeout(SLOW_MS + 150_000);

let db: Pool;
let slow = false;
const lab = (command: string) => run('bash', ['scripts/lab.sh', command], 30_000);

/** Slow until `slow` is cleared, and for at least `minMs`. */
async function slowDatabase(minMs: number): Promise<void> {
  const until = Date.now() + minMs;
  slow = true;
  try {
    while (slow || Date.now() < until) {
      await lab('postgres-freeze');
      await new Promise((r) => setTimeout(r, 1500));
      await lab('postgres-thaw');
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await lab('postgres-thaw');
  }
}

afterAll(async () => {
  slow = false;
  await lab('postgres-thaw');
  await db?.end().catch(() => undefined);
});

async function appChannels(): Promise<string[]> {
  const auth = Buffer.from(`${env.ariUser}:${env.ariPassword}`).toString('base64');
  const res = await fetch(`${env.ariUrl}/ari/applications/${env.ariApp}`, {
    headers: { authorization: `Basic ${auth}` },
  });
  return ((await res.json()) as { channel_ids: string[] }).channel_ids;
}

test(`PostgreSQL slow for ${SLOW_MS / 1000} s: callers reach their own department, audited, none left in the app`, async () => {
  // A call before, so the app has read routes and settings.
  expect((await runSippScenario('bail-out')).output).toContain('sipp: PASS');
  db = openDb();
  const since = new Date();
  const spell = slowDatabase(SLOW_MS);
  // One after the other (the agent phone is one port). Whether the database answered in time
  // decides the reason (caller_bailed, or internal_error after a deadline); the department is
  // never in doubt.
  const support = await runSippScenario('bail-out', [
    '--expect',
    'exten=2901 result=failed route=pinverify-support-autopin',
  ]);
  const accounting = await runSippScenario('bail-out-info', [
    '--expect',
    'exten=2902 result=failed route=pinverify-accounting-autopin',
  ]);
  slow = false;
  await spell;
  expect(support.output).toContain('sipp: PASS');
  expect(accounting.output).toContain('sipp: PASS');

  // Both calls are in the audit trail once the database keeps up (the audit queue retries).
  let routes: string[] = [];
  for (let i = 0; i < 60; i++) {
    const { rows } = await db.query<{ route: string }>(
      `SELECT route FROM calls WHERE started_at >= $1 AND result = 'failed' ORDER BY route`,
      [since],
    );
    routes = rows.map((r) => r.route);
    if (routes.length >= 2) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(routes).toEqual(['pinverify-accounting-autopin', 'pinverify-support-autopin']);
  expect(await appChannels()).toEqual([]);
  expect((await runSippScenario('bail-out')).output).toContain('sipp: PASS');
});
