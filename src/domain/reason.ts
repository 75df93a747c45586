/** How a verification attempt on a call ended, as the dialplan, the agent and the audit trail see it. */
export type VerificationResult = 'verified' | 'failed';

/**
 * Why a call ended the way it did; written to PINVERIFY_REASON, the AMI event and the audit
 * record (README, "How a call goes", lists each).
 */
export const REASONS = [
  'ok',
  'no_match',
  'multi_match',
  'no_input',
  'caller_bailed',
  'delivery_failed',
  'max_attempts',
  'max_sends',
  // Too many failed checks for this contact in the rolling 24 h: no new code until then or an unlock.
  'locked',
  // A send limit (per destination, per country calling code or overall) refused the code.
  'rate_limited',
  // PIN mode: the caller's contact has no PIN set (an agent verifies by hand, or ops set one).
  'no_pin',
  'abandoned',
  // The app restarted (or shut down) while the call was in it: reclaimed and sent to the failed destination.
  'app_restarted',
  // Shed by admission control (too many calls in the app, event-loop lag, database pool waits).
  'overloaded',
  'unavailable',
  'internal_error',
] as const;

export type Reason = (typeof REASONS)[number];
