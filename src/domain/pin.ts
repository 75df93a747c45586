/**
 * The static security PIN policy, as pure functions: which PINs may be set, and how short the
 * shortest may be given how many failures a contact is allowed per day.
 *
 * A PIN is a low-entropy secret that does not change between calls, so it is weaker proof than
 * a one-time code (README, "PIN or code"). What keeps guessing in check is the per-contact
 * failure limit shared with the codes (maxFailedChecksPerContact over a rolling 24 h).
 */
import type { FlowSettings } from './settings';

/**
 * A guesser may have at most this chance per contact per day against the shortest PIN allowed.
 * Looser than the one-time code's 1 in 10,000 (a code is one of a million and changes): the
 * seed's and the commercial products' 4-digit PIN with 10 failures a day is 1 in 1,000, the
 * least we accept; raising the failure limit raises the shortest PIN length with it.
 */
export const PIN_MAX_GUESS_CHANCE_PER_DAY = 1 / 1000;
/** Below this a PIN is no secret at all, whatever the failure limit. */
export const PIN_ABSOLUTE_MIN_LENGTH = 4;
export const PIN_ABSOLUTE_MAX_LENGTH = 10;

/** The shortest PIN the failure limit makes safe (at least 4 digits). */
export function pinLengthFloor(maxFailedChecksPerContact: number): number {
  let length = PIN_ABSOLUTE_MIN_LENGTH;
  while (maxFailedChecksPerContact / 10 ** length > PIN_MAX_GUESS_CHANCE_PER_DAY) length += 1;
  return length;
}

/** The most failures a day a shortest PIN of `pinMinLength` digits allows. */
export function safePinFailureLimit(pinMinLength: number): number {
  return Math.max(1, Math.floor(10 ** pinMinLength * PIN_MAX_GUESS_CHANCE_PER_DAY));
}

/** Why the PIN settings together are unsafe, or null. Names both settings, as ops must change one. */
export function pinPolicyProblem(
  s: Pick<FlowSettings, 'pinMinLength' | 'pinMaxLength' | 'maxFailedChecksPerContact'>,
): string | null {
  if (s.pinMaxLength < s.pinMinLength)
    return `pinMaxLength ${s.pinMaxLength} is below pinMinLength ${s.pinMinLength}`;
  const floor = pinLengthFloor(s.maxFailedChecksPerContact);
  if (s.pinMinLength >= floor) return null;
  return (
    `pinMinLength ${s.pinMinLength} with maxFailedChecksPerContact ${s.maxFailedChecksPerContact} gives a PIN ` +
    `guesser more than 1 in 1,000 per contact per day (raise pinMinLength to ${floor} or lower ` +
    `maxFailedChecksPerContact to ${safePinFailureLimit(s.pinMinLength)})`
  );
}

/**
 * Why a PIN may not be set, or null. Refuses the PINs people pick first and attackers try
 * first: one digit repeated (0000), a run up or down the digits (1234, 9876), a pair repeated
 * (1212), and the end of the contact's own numbers (anyone who knows the number knows it).
 */
export function pinProblem(
  pin: string,
  policy: Pick<FlowSettings, 'pinMinLength' | 'pinMaxLength'>,
  ownNumbers: readonly string[] = [],
): string | null {
  if (!/^[0-9]+$/.test(pin)) return 'a PIN is digits only';
  if (pin.length < policy.pinMinLength || pin.length > policy.pinMaxLength)
    return policy.pinMinLength === policy.pinMaxLength
      ? `a PIN has ${policy.pinMinLength} digits`
      : `a PIN has ${policy.pinMinLength} to ${policy.pinMaxLength} digits`;
  const digits = [...pin].map(Number);
  if (digits.every((d) => d === digits[0])) return 'too easy to guess: one digit repeated';
  const steps = digits.slice(1).map((d, i) => d - (digits[i] ?? 0));
  if (steps.every((s) => s === 1) || steps.every((s) => s === -1))
    return 'too easy to guess: a run of digits up or down';
  if (pin.length % 2 === 0 && pin.slice(0, 2).repeat(pin.length / 2) === pin)
    return 'too easy to guess: a pair of digits repeated';
  if (ownNumbers.some((n) => n.replace(/\D/g, '').endsWith(pin)))
    return "too easy to guess: the end of the contact's own phone number";
  return null;
}
