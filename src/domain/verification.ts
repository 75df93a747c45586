/**
 * A verification: one attempt to prove a person is who they claim, by a code sent to them (and,
 * with later modes, a call or a PIN). It is a record of its own, outliving the call or the API
 * request that started it, so limits per person can span calls, channels and app instances.
 * Status words are Twilio Verify's (and Somleng's), which API users already know.
 */

import type { FlowSettings } from './settings';

export const VERIFICATION_CHANNELS = ['email', 'sms', 'call', 'pin'] as const;
/** `call` and `pin` are reserved for the outbound-call and static-PIN modes. */
export type VerificationChannel = (typeof VERIFICATION_CHANNELS)[number];

export const VERIFICATION_ORIGINS = ['inbound_call', 'api', 'agent', 'outbound_call'] as const;
export type VerificationOrigin = (typeof VERIFICATION_ORIGINS)[number];

export const VERIFICATION_STATUSES = [
  'pending',
  'approved',
  'canceled',
  'expired',
  'max_attempts_reached',
  'failed',
] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

export interface Verification {
  /** Opaque and unguessable: "VE" + 32 hex digits (128 random bits). */
  id: string;
  contactId: number | null;
  channel: VerificationChannel;
  /** Normalised (E.164 or lower-case email). Never logged: show `destinationMasked`. */
  destination: string;
  destinationMasked: string;
  origin: VerificationOrigin;
  /** The call that started it (origin inbound_call). */
  callId: string | null;
  /** Who started it otherwise: "api:<key name>", "cli:<user>". */
  actor: string | null;
  status: VerificationStatus;
  /** Keyed hash of the code, bound to the id; null once decided (single use). */
  codeHash: string | null;
  codeLength: number;
  /** The client supplied the code (customCode); a resend then needs it again. */
  customCode: boolean;
  createdAt: Date;
  expiresAt: Date;
  decidedAt: Date | null;
  lastSentAt: Date | null;
  sends: number;
  checks: number;
  maxSends: number;
  maxChecks: number;
  /** Why it was failed or canceled: delivery_failed, locked, call_ended, ... */
  failureReason: string | null;
}

/** The settings a verification service enforces (names as ops set them). */
export type VerificationLimits = Pick<
  FlowSettings,
  | 'codeLength'
  | 'codeValiditySeconds'
  /** Checks per verification. */
  | 'maxTriesPerCode'
  /** Sends per verification, first send and resends. */
  | 'maxSendsPerVerification'
  | 'resendCooldownSeconds'
  | 'maxFailedChecksPerContact'
  | 'maxSendsPerDestinationPerHour'
  | 'maxSendsPerDestinationPerDay'
  | 'maxSendsPerCountryPerHour'
  | 'maxSendsPerHour'
>;

/** The limits on sends across verifications (the store applies them under one lock). */
export type SendLimits = Pick<
  VerificationLimits,
  | 'maxSendsPerHour'
  | 'maxSendsPerCountryPerHour'
  | 'maxSendsPerDestinationPerHour'
  | 'maxSendsPerDestinationPerDay'
>;

export const LOCK_WINDOW_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;

export type SendLimitName =
  | 'destination_per_hour'
  | 'destination_per_day'
  | 'country_per_hour'
  | 'overall_per_hour'
  | 'resend_cooldown';

/** Why the service said no. `error` is the API's error word. */
export type Refusal =
  | { error: 'locked'; message: string; until: Date }
  | { error: 'rate_limited'; limit: SendLimitName; message: string; retryAfterSeconds: number }
  | { error: 'max_sends'; message: string }
  | { error: 'max_attempts'; message: string };

export interface LockState {
  locked: boolean;
  /** Failed checks in the window. */
  failures: number;
  limit: number;
  /** When the contact unlocks by itself (null when not locked). */
  until: Date | null;
}

/**
 * Whether a contact is locked, from the times of its failed checks (any order). The lock lifts
 * when enough failures have aged out of the rolling window that fewer than `limit` remain.
 */
export function lockState(failureTimes: readonly Date[], now: Date, limit: number): LockState {
  const since = now.getTime() - LOCK_WINDOW_MS;
  const inWindow = failureTimes
    .map((d) => d.getTime())
    // Failures stamped a moment after `now` (a concurrent check on another instance that read
    // its clock later but committed first) count too.
    .filter((t) => t > since)
    .sort((a, b) => a - b);
  const failures = inWindow.length;
  if (failures < limit) return { locked: false, failures, limit, until: null };
  const oldestThatMustAge = inWindow[failures - limit] ?? now.getTime();
  return { locked: true, failures, limit, until: new Date(oldestThatMustAge + LOCK_WINDOW_MS) };
}

export function lockedRefusal(lock: LockState): Refusal {
  return {
    error: 'locked',
    message: `locked: ${lock.failures} failed checks in 24 h (limit ${lock.limit}); unlocks at ${lock.until?.toISOString() ?? '?'} or with "pinverify contacts unlock"`,
    until: lock.until ?? new Date(0),
  };
}

/** Sends already made, counted over the windows the limits use. */
export interface SendCounts {
  destinationLastHour: number;
  destinationLastDay: number;
  /** Null when the destination has no country calling code (email). */
  countryLastHour: number | null;
  overallLastHour: number;
  /** Sends of this destination in the windows, oldest first: for "retry after". */
  oldestDestinationSendLastHour: Date | null;
  oldestDestinationSendLastDay: Date | null;
}

export interface SendLimitVerdict {
  refusal: Refusal | null;
  /** A prefix or overall limit tripped: an operator should look (possible SMS pumping). */
  alarm: boolean;
}

/** The refusal when the overall hourly limit is reached. */
export function overallLimitRefusal(limits: Pick<SendLimits, 'maxSendsPerHour'>): Refusal {
  return {
    error: 'rate_limited',
    limit: 'overall_per_hour',
    message: `rate_limited: overall limit of ${limits.maxSendsPerHour} codes per hour reached`,
    retryAfterSeconds: 60,
  };
}

/** Whether one more send may go out, given what was sent already. The first limit hit names the refusal. */
export function sendLimitVerdict(
  counts: SendCounts,
  limits: SendLimits,
  countryCode: string | null,
  now: Date,
): SendLimitVerdict {
  const retryAfter = (oldest: Date | null, windowMs: number) =>
    oldest ? Math.max(1, Math.ceil((oldest.getTime() + windowMs - now.getTime()) / 1000)) : 1;
  if (counts.overallLastHour >= limits.maxSendsPerHour)
    return { alarm: true, refusal: overallLimitRefusal(limits) };
  if (
    countryCode !== null &&
    counts.countryLastHour !== null &&
    counts.countryLastHour >= limits.maxSendsPerCountryPerHour
  )
    return {
      alarm: true,
      refusal: {
        error: 'rate_limited',
        limit: 'country_per_hour',
        message: `rate_limited: limit of ${limits.maxSendsPerCountryPerHour} codes per hour to country calling code +${countryCode} reached`,
        retryAfterSeconds: 60,
      },
    };
  if (counts.destinationLastHour >= limits.maxSendsPerDestinationPerHour)
    return {
      alarm: false,
      refusal: {
        error: 'rate_limited',
        limit: 'destination_per_hour',
        message: `rate_limited: limit of ${limits.maxSendsPerDestinationPerHour} codes per hour to this destination reached`,
        retryAfterSeconds: retryAfter(counts.oldestDestinationSendLastHour, HOUR_MS),
      },
    };
  if (counts.destinationLastDay >= limits.maxSendsPerDestinationPerDay)
    return {
      alarm: false,
      refusal: {
        error: 'rate_limited',
        limit: 'destination_per_day',
        message: `rate_limited: limit of ${limits.maxSendsPerDestinationPerDay} codes per day to this destination reached`,
        retryAfterSeconds: retryAfter(counts.oldestDestinationSendLastDay, LOCK_WINDOW_MS),
      },
    };
  return { refusal: null, alarm: false };
}

/** What a check did. `wrong` leaves the verification pending with `checksLeft`. */
export type CheckOutcome =
  | { kind: 'approved' }
  | { kind: 'wrong'; checksLeft: number }
  | { kind: 'max_attempts_reached' }
  | { kind: 'expired' }
  /** The contact is locked by failures elsewhere: nothing compared, the verification fails. */
  | { kind: 'locked'; until: Date }
  /** Already decided before this check (approved, canceled, ...): nothing compared or counted. */
  | { kind: 'decided'; status: VerificationStatus }
  /** max_attempts_reached already: a further check is refused. */
  | { kind: 'max_attempts' };

export interface CheckDecision {
  next: Verification;
  outcome: CheckOutcome;
  /** A failed check to count against the contact. */
  countFailure: boolean;
}

/**
 * One check of a code, as a pure function of the verification, the time, whether the code
 * matched and the contact's lock. The store runs it under the verification's row lock.
 */
export function decideCheck(v: Verification, now: Date, matches: boolean, lock: LockState): CheckDecision {
  if (v.status === 'max_attempts_reached')
    return { next: v, outcome: { kind: 'max_attempts' }, countFailure: false };
  if (v.status !== 'pending')
    return { next: v, outcome: { kind: 'decided', status: v.status }, countFailure: false };
  if (now.getTime() >= v.expiresAt.getTime())
    return { next: decided(v, 'expired', now, null), outcome: { kind: 'expired' }, countFailure: false };
  if (lock.locked)
    return {
      next: decided(v, 'failed', now, 'locked'),
      outcome: { kind: 'locked', until: lock.until ?? now },
      countFailure: false,
    };
  const checks = v.checks + 1;
  if (matches)
    return {
      next: { ...decided(v, 'approved', now, null), checks },
      outcome: { kind: 'approved' },
      countFailure: false,
    };
  if (checks >= v.maxChecks)
    return {
      next: { ...decided(v, 'max_attempts_reached', now, null), checks },
      outcome: { kind: 'max_attempts_reached' },
      countFailure: true,
    };
  return {
    next: { ...v, checks },
    outcome: { kind: 'wrong', checksLeft: v.maxChecks - checks },
    countFailure: true,
  };
}

/** A resend: same code while valid, within the per-verification cap and cooldown. */
export type ResendDecision =
  | { kind: 'send'; next: Verification }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'expired'; next: Verification }
  | { kind: 'decided'; status: VerificationStatus };

export function decideResend(
  v: Verification,
  now: Date,
  limits: Pick<VerificationLimits, 'resendCooldownSeconds'>,
  lock: LockState,
): ResendDecision {
  if (v.status !== 'pending') return { kind: 'decided', status: v.status };
  if (now.getTime() >= v.expiresAt.getTime())
    return { kind: 'expired', next: decided(v, 'expired', now, null) };
  if (lock.locked) return { kind: 'refused', refusal: lockedRefusal(lock) };
  if (v.sends >= v.maxSends)
    return {
      kind: 'refused',
      refusal: {
        error: 'max_sends',
        message: `max_sends: this verification was sent ${v.sends} times (limit ${v.maxSends})`,
      },
    };
  if (v.lastSentAt) {
    const wait = v.lastSentAt.getTime() + limits.resendCooldownSeconds * 1000 - now.getTime();
    if (wait > 0)
      return {
        kind: 'refused',
        refusal: {
          error: 'rate_limited',
          limit: 'resend_cooldown',
          message: `rate_limited: wait ${Math.ceil(wait / 1000)} s before sending this code again (cooldown ${limits.resendCooldownSeconds} s)`,
          retryAfterSeconds: Math.ceil(wait / 1000),
        },
      };
  }
  return { kind: 'send', next: { ...v, sends: v.sends + 1, lastSentAt: now } };
}

/** Cancel: only a pending verification changes. */
export function decideCancel(v: Verification, now: Date, reason: string | null): Verification | null {
  if (v.status !== 'pending') return null;
  return decided(v, 'canceled', now, reason);
}

export function decided(
  v: Verification,
  status: VerificationStatus,
  now: Date,
  failureReason: string | null,
): Verification {
  return { ...v, status, decidedAt: now, codeHash: null, failureReason };
}

/**
 * Settings that give a guesser more than this chance per contact per day are refused: NIST SP
 * 800-63B allows 100 failures against a 6-digit code, which is 1 in 10,000.
 */
export const MAX_GUESS_CHANCE_PER_DAY = 1 / 10_000;

export function guessChancePerDay(maxFailedChecksPerContact: number, codeLength: number): number {
  return maxFailedChecksPerContact / 10 ** codeLength;
}

/** The most daily failures a code length allows under the bound. */
export function safeFailureLimit(codeLength: number): number {
  return Math.max(1, Math.floor(10 ** codeLength * MAX_GUESS_CHANCE_PER_DAY));
}
