/**
 * When an endpoint that keeps failing is disabled (and the operator told, by an error in the
 * log): when the oldest event it has not accepted has been failing for at least a day
 * (DISABLE_AFTER_MS, measured from that delivery's first attempt) AND every attempt of the
 * retry schedule has been made. Both, so neither a short custom schedule (a test's) nor a slow
 * clock disables an endpoint early; with the default schedule the last attempt (about 27.5 h
 * after the first) is the one that decides.
 *
 * Deliveries are head-of-line (one endpoint's events in order), so while the oldest fails
 * nothing after it is sent: "failing since" is when that endpoint last worked.
 *
 * Pure: `now` is given.
 */
import { RETRY_SCHEDULE_MS, scheduleExhausted } from './retry-schedule';

export const DISABLE_AFTER_MS = 24 * 3_600_000;

export interface DisableRuleInput {
  /** Attempts made of the oldest undelivered event, the one that just failed included. */
  attempts: number;
  /** Its first attempt. */
  failingSince: Date;
  now: Date;
  schedule?: readonly number[];
  disableAfterMs?: number;
}

export function shouldDisableEndpoint(i: DisableRuleInput): boolean {
  const window = i.disableAfterMs ?? DISABLE_AFTER_MS;
  return (
    scheduleExhausted(i.attempts, i.schedule ?? RETRY_SCHEDULE_MS) &&
    i.now.getTime() - i.failingSince.getTime() >= window
  );
}
