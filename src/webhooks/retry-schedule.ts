/**
 * When a failed webhook delivery is tried again. The delays are Standard Webhooks' (Svix's):
 * immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure, 8 attempts
 * over about 27.5 h, so a receiver that is down for most of a day still gets everything.
 *
 * Pure: the caller says when the attempt was made, so these are tested as tables.
 */

/** Delay before attempt n+1 (index n); the first entry is the first attempt's (immediately). */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/**
 * When to try again after the `attempts`-th attempt (1 = the first) failed at `failedAt`.
 * Past the end of the schedule the last delay repeats: an endpoint is never given up on by the
 * schedule alone, only disabled by shouldDisableEndpoint, so its events stay queued in order.
 */
export function nextAttemptAt(
  attempts: number,
  failedAt: Date,
  schedule: readonly number[] = RETRY_SCHEDULE_MS,
): Date {
  if (schedule.length === 0) throw new Error('a retry schedule needs at least one entry');
  const delay = schedule[Math.min(Math.max(attempts, 1), schedule.length - 1)] ?? 0;
  return new Date(failedAt.getTime() + delay);
}

/** Whether `attempts` attempts have used the whole schedule. */
export function scheduleExhausted(
  attempts: number,
  schedule: readonly number[] = RETRY_SCHEDULE_MS,
): boolean {
  return attempts >= schedule.length;
}
