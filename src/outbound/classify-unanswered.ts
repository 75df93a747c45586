/**
 * Why an outbound call that was never answered ended, from what Asterisk says when its channel
 * is destroyed: the Q.850 cause, the SIP response (tech_cause, Asterisk 22.x), the last channel
 * state, and whether our own ring timer gave up. Busy, no answer, rejected and failed are told
 * apart because clients act differently on each (retry later, send an SMS, give up).
 *
 *   486/600, cause 17 (user busy)                    -> busy
 *   480/408, cause 19 or 18, our timer, or cause 0 from a ringing channel  -> no_answer
 *   403/603, cause 21 (call rejected)                -> rejected
 *   anything else (34 congestion, 1 unallocated, 38, 5xx...) -> failed
 */
import type { CallAttemptStatus } from '../domain';

export interface UnansweredEnd {
  cause?: number;
  /** The SIP response code, when Asterisk reports one. */
  techCause?: number;
  /** The channel's last state before it went: Ringing, Ring, Down... */
  lastState?: string;
  /** Our ring timeout hung the call up. */
  timedOut: boolean;
}

export type UnansweredStatus = Extract<CallAttemptStatus, 'busy' | 'no_answer' | 'rejected' | 'failed'>;

export function classifyUnanswered(end: UnansweredEnd): UnansweredStatus {
  const { cause, techCause: sip, lastState, timedOut } = end;
  if (sip === 486 || sip === 600 || cause === 17) return 'busy';
  if (sip === 403 || sip === 603 || cause === 21) return 'rejected';
  if (timedOut || sip === 480 || sip === 408 || cause === 19 || cause === 18) return 'no_answer';
  // Asterisk reports cause 0 when the originate's own timeout cancels a ringing call.
  if ((cause === 0 || cause === undefined) && /^ring/i.test(lastState ?? '')) return 'no_answer';
  return 'failed';
}
