/**
 * The words an agent reads on the desk: a call's outcome as a headline ("Verified by text
 * message"), how strong the proof is, and a verification's status. Pure functions, so every
 * wording is a row in a test table and the page never builds sentences of its own.
 */
import type { Verification } from '../domain';

export type ProofStrength = 'strong' | 'weaker';

const METHOD_WORDS: Record<string, string> = {
  sms: 'text message',
  email: 'email',
  pin: 'security PIN',
  'pin+sms': 'security PIN and text message',
  'pin+email': 'security PIN and email',
  call: 'phone call',
};

export function methodWords(method: string | null): string | null {
  return method === null ? null : (METHOD_WORDS[method] ?? method);
}

const FAILED_BECAUSE: Record<string, string> = {
  no_match: 'the caller’s number is not on file: search for the contact',
  multi_match: 'two contacts share this number: pick one',
  no_input: 'the caller pressed nothing',
  caller_bailed: 'the caller pressed * (could not receive a code)',
  delivery_failed: 'the code could not be sent',
  max_attempts: 'wrong code too many times',
  max_sends: 'too many codes sent on this call',
  locked: 'the contact is locked after too many wrong codes',
  rate_limited: 'a sending limit refused the code',
  no_pin: 'the contact has no security PIN set',
  abandoned: 'the caller hung up during verification',
  app_restarted: 'pinverify restarted during the call',
  overloaded: 'pinverify was too busy to verify this call',
  unavailable: 'pinverify was unavailable',
  internal_error: 'pinverify hit an error',
};

export interface OutcomeWords {
  headline: string;
  strength: ProofStrength | null;
  strengthText: string | null;
}

/**
 * Email is weaker proof than a text message: anyone who can read the mailbox (a shared inbox, a
 * forwarded account, a phished password) reads the code, while an SMS needs the phone itself.
 * A PIN is something the caller knows; with a code on top it is the strongest we have.
 */
export function proofStrength(method: string | null): { strength: ProofStrength; text: string } | null {
  if (method === null) return null;
  if (method === 'email' || method === 'pin')
    return {
      strength: 'weaker',
      text:
        method === 'email'
          ? 'Weaker proof: anyone who reads the mailbox could read the code'
          : 'Weaker proof: a PIN can be shared or overheard',
    };
  return { strength: 'strong', text: 'Strong proof: the code reached the phone on file' };
}

/** A call's outcome in the words of the screen pop. `result` null: the call's record is still being written. */
export function describeCallOutcome(
  result: string | null,
  reason: string | null,
  method: string | null,
): OutcomeWords {
  if (result === null) return { headline: 'Call still being recorded', strength: null, strengthText: null };
  if (result === 'verified') {
    const how = methodWords(method);
    const s = proofStrength(method);
    return {
      headline: how ? `Verified by ${how}` : 'Verified',
      strength: s?.strength ?? null,
      strengthText: s?.text ?? null,
    };
  }
  if (reason === 'multi_match')
    return { headline: 'Two contacts share this number: pick one', strength: null, strengthText: null };
  const why = reason === null ? null : (FAILED_BECAUSE[reason] ?? reason);
  return { headline: why ? `Not verified: ${why}` : 'Not verified', strength: null, strengthText: null };
}

const CHANNEL_WORDS: Record<string, string> = {
  sms: 'text message',
  email: 'email',
  call: 'phone call',
  pin: 'PIN',
};

/** A verification's state in words, for the history and the tool. */
export function verificationStatusText(
  v: Pick<Verification, 'status' | 'channel' | 'failureReason' | 'checks' | 'maxChecks'>,
): string {
  const by = CHANNEL_WORDS[v.channel] ?? v.channel;
  switch (v.status) {
    case 'pending':
      return v.checks === 0
        ? `Code sent by ${by}, waiting for the caller to read it back`
        : `Wrong code ${v.checks} time${v.checks === 1 ? '' : 's'}; ${v.maxChecks - v.checks} tr${v.maxChecks - v.checks === 1 ? 'y' : 'ies'} left`;
    case 'approved':
      return 'Right code: verified';
    case 'max_attempts_reached':
      return `Wrong code ${v.checks} times: no tries left`;
    case 'expired':
      return 'The code expired before it was read back';
    case 'canceled':
      return v.failureReason === 'agent_incomplete'
        ? 'Marked Incomplete before the code was read back'
        : 'Canceled';
    case 'failed':
      if (v.failureReason === 'delivery_failed') return `The ${by} could not be sent`;
      if (v.failureReason === 'locked') return 'Refused: the contact is locked after too many wrong codes';
      return v.failureReason ? `Failed: ${v.failureReason.replace(/_/g, ' ')}` : 'Failed';
  }
}
