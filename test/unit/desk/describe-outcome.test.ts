/**
 * The desk's words, as tables: what a screen pop says for each call outcome, how strong each
 * method's proof is, and a verification's status in the history.
 */
import {
  describeCallOutcome,
  proofStrength,
  verificationStatusText,
} from '../../../src/desk/describe-outcome';
import { REASONS } from '../../../src/domain';

describe('describeCallOutcome', () => {
  it.each([
    ['verified', 'ok', 'sms', 'Verified by text message', 'strong'],
    ['verified', 'ok', 'email', 'Verified by email', 'weaker'],
    ['verified', 'ok', 'pin', 'Verified by security PIN', 'weaker'],
    ['verified', 'ok', 'pin+sms', 'Verified by security PIN and text message', 'strong'],
    ['failed', 'caller_bailed', null, 'Not verified: the caller pressed * (could not receive a code)', null],
    ['failed', 'multi_match', null, 'Two contacts share this number: pick one', null],
    [
      'failed',
      'no_match',
      null,
      'Not verified: the caller’s number is not on file: search for the contact',
      null,
    ],
    ['failed', 'max_attempts', 'sms', 'Not verified: wrong code too many times', null],
    ['failed', 'locked', null, 'Not verified: the contact is locked after too many wrong codes', null],
    [null, null, null, 'Call still being recorded', null],
  ])('%s/%s/%s -> %s', (result, reason, method, headline, strength) => {
    const words = describeCallOutcome(result, reason, method);
    expect(words.headline).toBe(headline);
    expect(words.strength).toBe(strength);
  });

  it('has words of its own for every reason a call can end with', () => {
    for (const reason of REASONS.filter((r) => r !== 'ok' && r !== 'multi_match'))
      expect(describeCallOutcome('failed', reason, null).headline).not.toMatch(/_/);
  });
});

describe('proofStrength', () => {
  it('calls email weaker than a text message and says why', () => {
    expect(proofStrength('email')).toEqual({
      strength: 'weaker',
      text: expect.stringMatching(/mailbox/) as unknown,
    });
    expect(proofStrength('sms')?.strength).toBe('strong');
    expect(proofStrength(null)).toBeNull();
  });
});

describe('verificationStatusText', () => {
  const base = { channel: 'sms' as const, failureReason: null, checks: 0, maxChecks: 3 };
  it.each([
    [
      { ...base, status: 'pending' as const },
      'Code sent by text message, waiting for the caller to read it back',
    ],
    [{ ...base, status: 'pending' as const, checks: 1 }, 'Wrong code 1 time; 2 tries left'],
    [{ ...base, status: 'pending' as const, checks: 2 }, 'Wrong code 2 times; 1 try left'],
    [{ ...base, status: 'approved' as const, checks: 1 }, 'Right code: verified'],
    [{ ...base, status: 'max_attempts_reached' as const, checks: 3 }, 'Wrong code 3 times: no tries left'],
    [{ ...base, status: 'expired' as const }, 'The code expired before it was read back'],
    [
      { ...base, status: 'canceled' as const, failureReason: 'agent_incomplete' },
      'Marked Incomplete before the code was read back',
    ],
    [
      { ...base, status: 'failed' as const, failureReason: 'delivery_failed', channel: 'email' as const },
      'The email could not be sent',
    ],
    [{ ...base, status: 'failed' as const, failureReason: 'call_ended' }, 'Failed: call ended'],
  ])('%o -> %s', (v, text) => {
    expect(verificationStatusText(v)).toBe(text);
  });
});
