/**
 * The verbs a call flow runs on a call (the vocabulary follows jambonz: answer, play, gather...).
 * The verification flow depends on this interface only, so it can run over the real CallSession
 * (src/call/call-session.ts) on a fake channel, or over anything simpler in a test.
 *
 * Every verb rejects with CallGoneError once the caller has hung up; that is the normal end of
 * a call, so flows treat it as "stop quietly", not as a fault.
 */
import { CallGoneError, type DialplanTarget } from './channel-control';

export interface PlayOptions {
  /** The first DTMF digit stops the playback; play() then resolves with that digit. */
  bargeIn?: boolean;
}

export interface GatherOptions {
  /** Media URIs played (with barge-in) before and while collecting digits. */
  prompts: string[];
  /** The gather completes as soon as this many digits were collected. */
  maxDigits: number;
  /** How long to wait for the first digit once the prompts have finished. */
  firstDigitTimeoutMs: number;
  /** How long to wait for each further digit. */
  interDigitTimeoutMs: number;
  /** Ends the gather; not included in the digits (usually '#'). */
  terminator?: string;
  /** Ends the gather at once with ended 'bail', whatever was collected (usually '*'). */
  bailKey?: string;
}

export type GatherEnd = 'max' | 'terminator' | 'inter_digit_timeout' | 'no_input' | 'bail';

export interface GatherResult {
  /** Digits collected, without the terminator or the bail key. */
  digits: string;
  ended: GatherEnd;
}

export interface CallVerbs {
  /** True once the caller hung up (or the channel vanished). */
  readonly gone: boolean;
  /** Resolves when the caller hangs up. Never rejects; never resolves if the call leaves normally. */
  whenGone(): Promise<void>;
  answer(): Promise<void>;
  /** Plays the media in order. Resolves with the barge-in digit, or null when playback finished. */
  play(prompts: string[], opts?: PlayOptions): Promise<string | null>;
  gather(opts: GatherOptions): Promise<GatherResult>;
  setVariable(name: string, value: string): Promise<void>;
  /** Hands the call back to the dialplan; no verb may run after it. */
  continueTo(target: DialplanTarget): Promise<void>;
  hangup(): Promise<void>;
}

/**
 * True for the "caller hung up" error. Also matches by name, so an error re-created by another
 * copy of the module (or serialised across a boundary) is still recognised.
 */
export function isCallGone(err: unknown): boolean {
  return err instanceof CallGoneError || (err instanceof Error && err.name === 'CallGoneError');
}

export function isCallInterrupted(err: unknown): boolean {
  return err instanceof Error && err.name === 'CallInterruptedError';
}
