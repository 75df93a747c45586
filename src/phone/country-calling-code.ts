import { parsePhoneNumberFromString } from 'libphonenumber-js';

/** "1" for +1 202..., "44" for +44 20...; null when the number cannot be read. */
export function countryCallingCode(e164: string): string | null {
  return parsePhoneNumberFromString(e164)?.countryCallingCode ?? null;
}
