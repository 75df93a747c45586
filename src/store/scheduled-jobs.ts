/**
 * Jobs that must run once per period across every app instance on one database. The schedule
 * lives in Postgres (table scheduled_jobs): an instance runs a job only if its UPDATE moves the
 * job's next_run_at forward, which exactly one concurrent UPDATE can do. A job that crashes is
 * simply due again next period. One conditional UPDATE is all this needs; a job-queue library
 * (pg-boss, graphile-worker) would add its own schema and workers for one periodic job.
 */
import type { Pool } from 'pg';

export interface JobRun {
  ran: boolean;
  result?: Record<string, unknown>;
}

/** Runs `job` if it is due and this caller claimed it. Uses the database's clock, which all instances share. */
export async function runIfDue(
  pool: Pool,
  name: string,
  everySeconds: number,
  runner: string,
  job: () => Promise<Record<string, unknown>>,
): Promise<JobRun> {
  await pool.query(
    'INSERT INTO scheduled_jobs (name, next_run_at) VALUES ($1, now()) ON CONFLICT (name) DO NOTHING',
    [name],
  );
  const claimed = await pool.query(
    `UPDATE scheduled_jobs
        SET next_run_at = now() + make_interval(secs => $2), last_run_at = now(), last_runner = $3
      WHERE name = $1 AND next_run_at <= now()
      RETURNING name`,
    [name, everySeconds, runner],
  );
  if (claimed.rowCount !== 1) return { ran: false };
  const result = await job();
  await pool.query('UPDATE scheduled_jobs SET last_result = $2 WHERE name = $1', [
    name,
    JSON.stringify(result),
  ]);
  return { ran: true, result };
}
