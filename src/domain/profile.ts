/**
 * A call profile: one named configuration of outbound OTP voice calls (seed 003's "named
 * configurations"; Twilio Verify's service with channel=call). A client's backend names the
 * profile when it starts a call verification; the profile decides what the call does.
 */
export const CALL_MODES = ['read', 'input'] as const;
/** `read`: the call says the code; `input`: the call asks the person to key the code they were shown. */
export type CallMode = (typeof CALL_MODES)[number];

export const CODE_SOURCES = ['auto', 'manual'] as const;
/** `auto`: pinverify makes the code; `manual`: the client sends its own (customCode). */
export type CodeSource = (typeof CODE_SOURCES)[number];

export const SMS_AFTER_CALL = ['off', 'always', 'not_answered'] as const;
export type SmsAfterCall = (typeof SMS_AFTER_CALL)[number];

export interface CallProfile {
  id: number;
  /** Unique, used by API clients: lower case letters, digits and "-", at most 40, not digits only. */
  name: string;
  /** A name for people. */
  title: string;
  /** A disabled profile starts no calls (default true). */
  enabled: boolean;
  /** Default read. */
  mode: CallMode;
  /** Default auto. */
  codeSource: CodeSource;
  /** Digits in a generated code, 4 to 10 (default 6). */
  codeLength: number;
  /** The caller ID the called person sees, E.164. */
  callerId: string;
  /**
   * The number (DID or extension) a person who missed the call dials back: digits, *, # and +, at
   * most 40; '' when none (the default). Unique among profiles: it identifies the profile.
   */
  callbackNumber: string;
  /** How many times the code is said (read mode) or the question asked (input mode); 1 to 5, default 3. */
  repeats: number;
  /** "Press any key to hear your code" before the code is read: no code for a voicemail box (default true). */
  keyBeforeCode: boolean;
  /** Whether the code also goes by SMS after the call (default off). */
  smsAfterCall: SmsAfterCall;
  /** The prompt set: a language, or language_COUNTRY (en, en_US; default en). */
  locale: string;
  /** Seconds the call rings before it counts as not answered (5 to 120, default 30). */
  ringTimeoutSeconds: number;
  /** Further attempts after no answer or busy (0 to 3, default 0). */
  retriesOnNoAnswer: number;
  /** Whether the number called must belong to a contact on file (default true). */
  requireContact: boolean;
}

/** How an outbound call attempt ended, before or after it was answered. */
export const CALL_ATTEMPT_STATUSES = [
  'queued',
  'calling',
  'answered',
  /** Read mode: the code was said at least once. */
  'delivered',
  /** Input mode: the person keyed the right code. */
  'approved',
  /** Answered, but the person hung up or never pressed a key before the code. */
  'not_delivered',
  'busy',
  'no_answer',
  'rejected',
  'failed',
] as const;
export type CallAttemptStatus = (typeof CALL_ATTEMPT_STATUSES)[number];
