/**
 * Caller ID to E.164, so it can be matched against the numbers stored for contacts.
 *
 * A number counts only if libphonenumber-js (its default, "min" metadata) says isValid():
 * merely "possible" numbers (right length, unassigned ranges) would match nobody and only make
 * spoofed or garbled caller IDs look plausible. The fictional US range the lab and tests use,
 * +1 NPA 555-0100..0199 (e.g. +1 202 555 0123), is valid under that metadata, so no exception is
 * needed for it (test/unit/normalize-caller.test.ts checks this stays true).
 */
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js';

export type NormalizedCaller = { kind: 'ok'; e164: string } | { kind: 'anonymous' } | { kind: 'invalid' };

// What channel drivers and carriers put in the caller ID when the number is withheld.
const ANONYMOUS = new Set(['', 'anonymous', 'unknown', 'restricted', 'private', 'unavailable']);

export function normalizeCaller(raw: string | null | undefined, defaultCountry: string): NormalizedCaller {
  const text = (raw ?? '').trim();
  if (ANONYMOUS.has(text.toLowerCase())) return { kind: 'anonymous' };
  // Letters would be read as a vanity number (1-800-FLOWERS); a caller ID never has them.
  if (!/^[0-9+()\-. ]+$/.test(text)) return { kind: 'invalid' };

  const country = defaultCountry.toUpperCase();
  // An unknown default country must not throw: numbers in international form still work.
  const parsed = isSupportedCountry(country)
    ? parsePhoneNumberFromString(text, country)
    : parsePhoneNumberFromString(text);
  if (!parsed?.isValid()) return { kind: 'invalid' };
  return { kind: 'ok', e164: parsed.number };
}
