/**
 * The pure decisions of src/domain/verification.ts, as tables: what a check, a resend and a
 * cancel do to a verification, when a contact is locked, which send limit refuses a send, and
 * the guess bound the settings must respect. No store, no clock: inputs in, decision out.
 */
import {
  decideCancel,
  decideCheck,
  decideResend,
  guessChancePerDay,
  LOCK_WINDOW_MS,
  lockState,
  MAX_GUESS_CHANCE_PER_DAY,
  safeFailureLimit,
  sendLimitVerdict,
  type LockState,
  type SendCounts,
  type Verification,
  type VerificationLimits,
  type VerificationStatus,
} from '../../../src/domain';
import { DEFAULT_SETTINGS } from '../../../src/store/config-defaults';
import { guessBoundProblem, parseSettings, type SettingIssue } from '../../../src/store/settings-schema';

const T0 = new Date('2025-01-15T09:00:00.000Z');
const HOUR = 3600_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

/** A pending verification created at T0, valid 5 minutes, 3 checks, 5 sends, sent once. */
function pending(overrides: Partial<Verification> = {}): Verification {
  return {
    id: 'VE00000000000000000000000000000001',
    contactId: 7,
    channel: 'email',
    destination: 'alice@example.com',
    destinationMasked: 'a***@e***.com',
    origin: 'api',
    callId: null,
    actor: 'api:test',
    status: 'pending',
    codeHash: 'ab'.repeat(32),
    codeLength: 6,
    customCode: false,
    createdAt: T0,
    expiresAt: at(300_000),
    decidedAt: null,
    lastSentAt: T0,
    sends: 1,
    checks: 0,
    maxSends: 5,
    maxChecks: 3,
    failureReason: null,
    ...overrides,
  };
}

const UNLOCKED: LockState = { locked: false, failures: 0, limit: 10, until: null };
const LOCKED: LockState = { locked: true, failures: 10, limit: 10, until: at(24 * HOUR) };

const LIMITS: VerificationLimits = {
  codeLength: 6,
  codeValiditySeconds: 300,
  maxTriesPerCode: 3,
  maxSendsPerVerification: 5,
  resendCooldownSeconds: 30,
  maxFailedChecksPerContact: 10,
  maxSendsPerDestinationPerHour: 3,
  maxSendsPerDestinationPerDay: 10,
  maxSendsPerCountryPerHour: 200,
  maxSendsPerHour: 1000,
};

describe('decideCheck', () => {
  // Each row: the verification before, the time, whether the code matched, the lock, and what
  // the check must decide (outcome, the new status and checks, whether a failure is counted).
  it.each<{
    name: string;
    before: Partial<Verification>;
    now: Date;
    matches: boolean;
    lock: LockState;
    outcome: Record<string, unknown>;
    status: VerificationStatus;
    checks: number;
    countFailure: boolean;
    failureReason?: string | null;
  }>([
    {
      name: 'pending + right code -> approved',
      before: {},
      now: at(10_000),
      matches: true,
      lock: UNLOCKED,
      outcome: { kind: 'approved' },
      status: 'approved',
      checks: 1,
      countFailure: false,
    },
    {
      name: 'first wrong code -> still pending, 2 checks left, counted',
      before: {},
      now: at(10_000),
      matches: false,
      lock: UNLOCKED,
      outcome: { kind: 'wrong', checksLeft: 2 },
      status: 'pending',
      checks: 1,
      countFailure: true,
    },
    {
      name: 'second wrong code -> 1 check left',
      before: { checks: 1 },
      now: at(10_000),
      matches: false,
      lock: UNLOCKED,
      outcome: { kind: 'wrong', checksLeft: 1 },
      status: 'pending',
      checks: 2,
      countFailure: true,
    },
    {
      name: 'last wrong code -> max_attempts_reached, counted',
      before: { checks: 2 },
      now: at(10_000),
      matches: false,
      lock: UNLOCKED,
      outcome: { kind: 'max_attempts_reached' },
      status: 'max_attempts_reached',
      checks: 3,
      countFailure: true,
    },
    {
      name: 'right code on the last check still approves',
      before: { checks: 2 },
      now: at(10_000),
      matches: true,
      lock: UNLOCKED,
      outcome: { kind: 'approved' },
      status: 'approved',
      checks: 3,
      countFailure: false,
    },
    {
      name: 'right code 1 ms before expiresAt -> approved',
      before: {},
      now: at(299_999),
      matches: true,
      lock: UNLOCKED,
      outcome: { kind: 'approved' },
      status: 'approved',
      checks: 1,
      countFailure: false,
    },
    {
      name: 'right code at exactly expiresAt -> expired, not counted',
      before: {},
      now: at(300_000),
      matches: true,
      lock: UNLOCKED,
      outcome: { kind: 'expired' },
      status: 'expired',
      checks: 0,
      countFailure: false,
    },
    {
      name: 'wrong code after expiry -> expired, not counted as a failure',
      before: {},
      now: at(400_000),
      matches: false,
      lock: UNLOCKED,
      outcome: { kind: 'expired' },
      status: 'expired',
      checks: 0,
      countFailure: false,
    },
    {
      name: 'locked contact + right code -> failed (locked), nothing compared or counted',
      before: {},
      now: at(10_000),
      matches: true,
      lock: LOCKED,
      outcome: { kind: 'locked', until: at(24 * HOUR) },
      status: 'failed',
      checks: 0,
      countFailure: false,
      failureReason: 'locked',
    },
    {
      name: 'expiry wins over the lock',
      before: {},
      now: at(300_000),
      matches: true,
      lock: LOCKED,
      outcome: { kind: 'expired' },
      status: 'expired',
      checks: 0,
      countFailure: false,
      failureReason: null,
    },
  ])('$name', ({ before, now, matches, lock, outcome, status, checks, countFailure, failureReason }) => {
    const v = pending(before);
    const d = decideCheck(v, now, matches, lock);
    expect(d.outcome).toEqual(outcome);
    expect(d.next.status).toBe(status);
    expect(d.next.checks).toBe(checks);
    expect(d.countFailure).toBe(countFailure);
    if (failureReason !== undefined) expect(d.next.failureReason).toBe(failureReason);
    if (status === 'pending') {
      // Still open: the hash stays so the next check can compare.
      expect(d.next.codeHash).toBe(v.codeHash);
      expect(d.next.decidedAt).toBeNull();
    } else {
      // Decided: single use, the hash is gone and the time recorded.
      expect(d.next.codeHash).toBeNull();
      expect(d.next.decidedAt).toEqual(now);
    }
    // The input is never mutated.
    expect(v).toEqual(pending(before));
  });

  it.each<VerificationStatus>(['approved', 'canceled', 'expired', 'failed'])(
    'an already %s verification -> decided, unchanged, nothing counted',
    (status) => {
      const v = pending({ status, codeHash: null, decidedAt: at(1000), checks: 1 });
      for (const matches of [true, false]) {
        const d = decideCheck(v, at(2000), matches, LOCKED);
        expect(d.outcome).toEqual({ kind: 'decided', status });
        expect(d.next).toBe(v);
        expect(d.countFailure).toBe(false);
      }
    },
  );

  it('max_attempts_reached -> max_attempts, even with the right code', () => {
    const v = pending({ status: 'max_attempts_reached', codeHash: null, decidedAt: at(1000), checks: 3 });
    const d = decideCheck(v, at(2000), true, UNLOCKED);
    expect(d.outcome).toEqual({ kind: 'max_attempts' });
    expect(d.next).toBe(v);
    expect(d.countFailure).toBe(false);
  });

  it('approval clears the code hash (a second identical check cannot approve again)', () => {
    const first = decideCheck(pending(), at(1000), true, UNLOCKED);
    expect(first.next.codeHash).toBeNull();
    const second = decideCheck(first.next, at(2000), true, UNLOCKED);
    expect(second.outcome).toEqual({ kind: 'decided', status: 'approved' });
  });
});

describe('decideResend', () => {
  it('sends: sends + 1 and lastSentAt = now, once the cooldown has passed', () => {
    const v = pending({ sends: 2, lastSentAt: at(60_000) });
    const d = decideResend(v, at(90_000), LIMITS, UNLOCKED);
    expect(d).toEqual({ kind: 'send', next: { ...v, sends: 3, lastSentAt: at(90_000) } });
  });

  it('sends without a cooldown check when nothing was sent yet', () => {
    const d = decideResend(pending({ lastSentAt: null }), at(1), LIMITS, UNLOCKED);
    expect(d).toMatchObject({ kind: 'send', next: { sends: 2, lastSentAt: at(1) } });
  });

  // Cooldown 30 s from lastSentAt T0: refused with the seconds left (rounded up), until exactly 30 s.
  it.each([
    { after: 0, retry: 30 },
    { after: 10_000, retry: 20 },
    { after: 29_001, retry: 1 },
    { after: 29_999, retry: 1 },
  ])('refuses $after ms after the last send (cooldown): retry after $retry s', ({ after, retry }) => {
    const d = decideResend(pending(), at(after), LIMITS, UNLOCKED);
    expect(d).toEqual({
      kind: 'refused',
      refusal: {
        error: 'rate_limited',
        limit: 'resend_cooldown',
        message: expect.stringContaining(`wait ${retry} s`) as unknown,
        retryAfterSeconds: retry,
      },
    });
  });

  it('sends at exactly the end of the cooldown', () => {
    expect(decideResend(pending(), at(30_000), LIMITS, UNLOCKED).kind).toBe('send');
  });

  it('a cooldown of 0 never refuses', () => {
    expect(decideResend(pending(), T0, { resendCooldownSeconds: 0 }, UNLOCKED).kind).toBe('send');
  });

  it('refuses with max_sends when the verification was sent maxSends times', () => {
    const d = decideResend(pending({ sends: 5, maxSends: 5 }), at(60_000), LIMITS, UNLOCKED);
    expect(d).toEqual({
      kind: 'refused',
      refusal: { error: 'max_sends', message: 'max_sends: this verification was sent 5 times (limit 5)' },
    });
    expect(decideResend(pending({ sends: 4, maxSends: 5 }), at(60_000), LIMITS, UNLOCKED).kind).toBe('send');
  });

  it('expires a verification past expiresAt instead of sending it', () => {
    const v = pending();
    const d = decideResend(v, at(300_000), LIMITS, UNLOCKED);
    expect(d).toEqual({
      kind: 'expired',
      next: { ...v, status: 'expired', decidedAt: at(300_000), codeHash: null, failureReason: null },
    });
  });

  it.each<VerificationStatus>(['approved', 'canceled', 'expired', 'failed', 'max_attempts_reached'])(
    'refuses to send a %s verification (decided)',
    (status) => {
      const d = decideResend(pending({ status, codeHash: null }), at(60_000), LIMITS, UNLOCKED);
      expect(d).toEqual({ kind: 'decided', status });
    },
  );

  it('refuses a locked contact, naming the limit and when it unlocks', () => {
    const d = decideResend(pending(), at(60_000), LIMITS, LOCKED);
    expect(d).toEqual({
      kind: 'refused',
      refusal: {
        error: 'locked',
        until: at(24 * HOUR),
        message: expect.stringMatching(
          /10 failed checks in 24 h \(limit 10\); unlocks at 2025-01-16T09:00:00.000Z/,
        ) as unknown,
      },
    });
  });
});

describe('decideCancel', () => {
  it('cancels a pending verification with the reason, dropping the hash', () => {
    const v = pending();
    expect(decideCancel(v, at(5000), 'call_ended')).toEqual({
      ...v,
      status: 'canceled',
      decidedAt: at(5000),
      codeHash: null,
      failureReason: 'call_ended',
    });
  });

  it.each<VerificationStatus>(['approved', 'canceled', 'expired', 'failed', 'max_attempts_reached'])(
    'leaves a %s verification alone (null)',
    (status) => {
      expect(decideCancel(pending({ status }), at(5000), 'call_ended')).toBeNull();
    },
  );
});

describe('lockState (rolling 24 h window)', () => {
  const now = at(48 * HOUR);
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it.each([
    { name: 'no failures', failures: [], locked: false, count: 0 },
    { name: 'one below the limit', failures: [ago(1), ago(2)], locked: false, count: 2 },
    { name: 'exactly the limit', failures: [ago(1), ago(2), ago(3)], locked: true, count: 3 },
    {
      name: 'a failure exactly 24 h old has aged out',
      failures: [ago(LOCK_WINDOW_MS), ago(1), ago(2)],
      locked: false,
      count: 2,
    },
    {
      name: 'a failure 1 ms younger than 24 h still counts',
      failures: [ago(LOCK_WINDOW_MS - 1), ago(1), ago(2)],
      locked: true,
      count: 3,
    },
    {
      name: 'failures older than the window are ignored',
      failures: [ago(25 * HOUR), ago(30 * HOUR), ago(47 * HOUR), ago(1)],
      locked: false,
      count: 1,
    },
    {
      // Another instance read its clock a moment later and committed first: it still counts.
      name: 'a failure stamped just after now counts',
      failures: [new Date(now.getTime() + 1), ago(1), ago(2)],
      locked: true,
      count: 3,
    },
    { name: 'a failure at exactly now counts', failures: [now, ago(1), ago(2)], locked: true, count: 3 },
  ])('$name', ({ failures, locked, count }) => {
    const s = lockState(failures, now, 3);
    expect(s).toMatchObject({ locked, failures: count, limit: 3 });
    if (!locked) expect(s.until).toBeNull();
  });

  it('at exactly the limit, unlocks 24 h after the oldest failure', () => {
    const s = lockState([ago(5 * HOUR), ago(2 * HOUR), ago(HOUR)], now, 3);
    expect(s.until).toEqual(new Date(ago(5 * HOUR).getTime() + LOCK_WINDOW_MS));
  });

  it('above the limit, unlocks when enough failures aged out to leave limit - 1', () => {
    // Five failures, limit 3: the lock lifts once only 2 remain, i.e. once the three oldest have
    // aged out: 24 h after the third oldest.
    const times = [ago(10 * HOUR), ago(8 * HOUR), ago(6 * HOUR), ago(4 * HOUR), ago(2 * HOUR)];
    const s = lockState(times, now, 3);
    expect(s).toMatchObject({ locked: true, failures: 5 });
    expect(s.until).toEqual(new Date(ago(6 * HOUR).getTime() + LOCK_WINDOW_MS));
  });

  it('`until` is exactly when it unlocks: locked 1 ms before, unlocked at it', () => {
    const times = [ago(10 * HOUR), ago(8 * HOUR), ago(6 * HOUR), ago(4 * HOUR), ago(2 * HOUR)];
    const until = lockState(times, now, 3).until;
    if (!until) throw new Error('expected a lock');
    expect(lockState(times, new Date(until.getTime() - 1), 3).locked).toBe(true);
    expect(lockState(times, until, 3)).toMatchObject({ locked: false, failures: 2, until: null });
  });

  it('takes its input in any order', () => {
    const sorted = [ago(10 * HOUR), ago(8 * HOUR), ago(6 * HOUR), ago(4 * HOUR)];
    const shuffled = [sorted[2], sorted[0], sorted[3], sorted[1]] as Date[];
    expect(lockState(shuffled, now, 3)).toEqual(lockState(sorted, now, 3));
    expect(lockState(shuffled, now, 3).until).toEqual(new Date(ago(8 * HOUR).getTime() + LOCK_WINDOW_MS));
  });

  it('a limit of 1 locks on the first failure', () => {
    expect(lockState([ago(HOUR)], now, 1)).toEqual({
      locked: true,
      failures: 1,
      limit: 1,
      until: new Date(ago(HOUR).getTime() + LOCK_WINDOW_MS),
    });
  });
});

describe('sendLimitVerdict', () => {
  const now = at(48 * HOUR);
  const NONE: SendCounts = {
    destinationLastHour: 0,
    destinationLastDay: 0,
    countryLastHour: 0,
    overallLastHour: 0,
    oldestDestinationSendLastHour: null,
    oldestDestinationSendLastDay: null,
  };
  /** Every count one below its limit. */
  const JUST_BELOW: SendCounts = {
    destinationLastHour: 2,
    destinationLastDay: 9,
    countryLastHour: 199,
    overallLastHour: 999,
    oldestDestinationSendLastHour: new Date(now.getTime() - 10 * 60_000),
    oldestDestinationSendLastDay: new Date(now.getTime() - 20 * HOUR),
  };

  it('lets a send through with nothing sent, or every count one below its limit', () => {
    expect(sendLimitVerdict(NONE, LIMITS, '1', now)).toEqual({ refusal: null, alarm: false });
    expect(sendLimitVerdict(JUST_BELOW, LIMITS, '1', now)).toEqual({ refusal: null, alarm: false });
  });

  // Each limit reached on its own: the refusal names it; only prefix and overall limits alarm.
  it.each([
    {
      limit: 'destination_per_hour',
      counts: { destinationLastHour: 3 },
      alarm: false,
      retry: 50 * 60, // the oldest send of the hour (10 min ago) ages out in 50 min
      message: 'limit of 3 codes per hour to this destination',
    },
    {
      limit: 'destination_per_day',
      counts: { destinationLastDay: 10 },
      alarm: false,
      retry: 4 * 3600, // the oldest send of the day (20 h ago) ages out in 4 h
      message: 'limit of 10 codes per day to this destination',
    },
    {
      limit: 'country_per_hour',
      counts: { countryLastHour: 200 },
      alarm: true,
      retry: 60,
      message: 'limit of 200 codes per hour to country calling code +1',
    },
    {
      limit: 'overall_per_hour',
      counts: { overallLastHour: 1000 },
      alarm: true,
      retry: 60,
      message: 'overall limit of 1000 codes per hour',
    },
  ])('$limit reached -> refused, alarm $alarm', ({ limit, counts, alarm, retry, message }) => {
    const v = sendLimitVerdict({ ...JUST_BELOW, ...counts }, LIMITS, '1', now);
    expect(v.alarm).toBe(alarm);
    expect(v.refusal).toEqual({
      error: 'rate_limited',
      limit,
      message: expect.stringContaining(message) as unknown,
      retryAfterSeconds: retry,
    });
  });

  it('names the first limit hit: overall, then country, then destination hour, then day', () => {
    const all: SendCounts = {
      ...JUST_BELOW,
      destinationLastHour: 3,
      destinationLastDay: 10,
      countryLastHour: 200,
      overallLastHour: 1000,
    };
    const name = (c: SendCounts) => {
      const r = sendLimitVerdict(c, LIMITS, '1', now).refusal;
      return r && 'limit' in r ? r.limit : null;
    };
    expect(name(all)).toBe('overall_per_hour');
    expect(name({ ...all, overallLastHour: 0 })).toBe('country_per_hour');
    expect(name({ ...all, overallLastHour: 0, countryLastHour: 0 })).toBe('destination_per_hour');
    expect(name({ ...all, overallLastHour: 0, countryLastHour: 0, destinationLastHour: 0 })).toBe(
      'destination_per_day',
    );
  });

  it('an email has no country: no country limit even with a huge count', () => {
    const v = sendLimitVerdict({ ...NONE, countryLastHour: 1_000_000 }, LIMITS, null, now);
    expect(v).toEqual({ refusal: null, alarm: false });
    expect(sendLimitVerdict({ ...NONE, countryLastHour: null }, LIMITS, null, now).refusal).toBeNull();
  });

  it('retryAfterSeconds rounds up and is at least 1 s', () => {
    const almostAged = new Date(now.getTime() - HOUR + 100); // ages out in 0.1 s
    const v = sendLimitVerdict(
      { ...NONE, destinationLastHour: 3, oldestDestinationSendLastHour: almostAged },
      LIMITS,
      null,
      now,
    );
    expect(v.refusal).toMatchObject({ retryAfterSeconds: 1 });
    const unknownOldest = sendLimitVerdict({ ...NONE, destinationLastDay: 10 }, LIMITS, null, now);
    expect(unknownOldest.refusal).toMatchObject({ limit: 'destination_per_day', retryAfterSeconds: 1 });
  });
});

describe('the guess bound: at most 1 in 10,000 per contact per day', () => {
  it.each([
    { failures: 10, length: 6, chance: 1e-5, ok: true },
    { failures: 100, length: 6, chance: 1e-4, ok: true }, // NIST's 100 tries against 6 digits: the bound itself
    { failures: 101, length: 6, chance: 1.01e-4, ok: false },
    { failures: 10, length: 4, chance: 1e-3, ok: false },
    { failures: 1, length: 4, chance: 1e-4, ok: true },
    { failures: 1000, length: 8, chance: 1e-5, ok: true },
  ])('$failures failures against $length digits -> $chance (ok: $ok)', ({ failures, length, chance, ok }) => {
    expect(guessChancePerDay(failures, length)).toBeCloseTo(chance, 12);
    expect(guessChancePerDay(failures, length) <= MAX_GUESS_CHANCE_PER_DAY).toBe(ok);
    expect(guessBoundProblem({ maxFailedChecksPerContact: failures, codeLength: length }) === null).toBe(ok);
  });

  it.each([
    { length: 4, safe: 1 },
    { length: 5, safe: 10 },
    { length: 6, safe: 100 },
    { length: 8, safe: 10_000 },
    { length: 10, safe: 1_000_000 },
  ])('safeFailureLimit($length) = $safe: allowed, and one more is not', ({ length, safe }) => {
    expect(safeFailureLimit(length)).toBe(safe);
    expect(guessBoundProblem({ maxFailedChecksPerContact: safe, codeLength: length })).toBeNull();
    expect(guessBoundProblem({ maxFailedChecksPerContact: safe + 1, codeLength: length })).not.toBeNull();
  });

  it('explains a refused combination and names the safe limit', () => {
    expect(guessBoundProblem({ maxFailedChecksPerContact: 10, codeLength: 4 })).toBe(
      'maxFailedChecksPerContact 10 with codeLength 4 gives a guesser 1 in 1,000 per contact per day; ' +
        'at most 1 in 10,000 is allowed (lower maxFailedChecksPerContact to 1 or raise codeLength)',
    );
  });

  it('parseSettings keeps the code length and tightens the lockout of a refused combination', () => {
    const rows = Object.entries({ ...DEFAULT_SETTINGS, codeLength: 4, maxFailedChecksPerContact: 10 }).map(
      ([key, value]) => ({ key, value: value }),
    );
    const issues: SettingIssue[] = [];
    const s = parseSettings(rows, (i) => issues.push(i));
    expect(s.codeLength).toBe(4);
    expect(s.maxFailedChecksPerContact).toBe(1);
    expect(issues).toEqual([
      {
        key: 'maxFailedChecksPerContact',
        value: 10,
        problem: expect.stringContaining('1 in 1,000') as unknown,
        defaultValue: 1,
      },
    ]);
  });

  it('parseSettings leaves a safe combination alone (the defaults: 6 digits, 10 failures)', () => {
    const rows = Object.entries(DEFAULT_SETTINGS).map(([key, value]) => ({ key, value: value }));
    const issues: SettingIssue[] = [];
    const s = parseSettings(rows, (i) => issues.push(i));
    expect(issues).toEqual([]);
    expect(s.maxFailedChecksPerContact).toBe(10);
    expect(s.codeLength).toBe(6);
  });
});
