/**
 * Last line of defence for error messages: servers like to echo what they refuse ("The 'To'
 * number +4915112345678 is not a valid phone number", "550 <bob@example.com>: unknown user"), and
 * those messages end up in logs and the audit trail, where codes and full addresses must not.
 */
import { maskEmail, maskPhone } from '../log/mask';

export interface Secrets {
  code?: string | null;
  /** Email addresses and phone numbers to mask wherever they appear. */
  addresses?: ReadonlyArray<string | null | undefined>;
}

const EMAIL_RE = /[^\s<>()"'[\]:;,@]+@[^\s<>()"'[\]:;,@]+\.[A-Za-z]{2,}/g;
// An E.164-looking run of digits; shorter runs are left alone so error codes (20003), SMTP
// replies (550 5.1.1) and ports stay readable.
const PHONE_RE = /\+?\d{7,15}/g;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function redactSecrets(text: string, secrets: Secrets = {}): string {
  let out = text;
  for (const address of secrets.addresses ?? []) {
    if (!address) continue;
    if (address.includes('@')) {
      out = out.replace(new RegExp(escapeRegExp(address), 'gi'), maskEmail(address));
    } else {
      const digits = address.replace(/\D/g, '');
      out = out.replace(new RegExp(escapeRegExp(address), 'g'), maskPhone(address));
      if (digits.length >= 4)
        out = out.replace(new RegExp(`(?<!\\d)${digits}(?!\\d)`, 'g'), maskPhone(digits));
    }
  }
  out = out.replace(EMAIL_RE, (m) => (m.includes('***') ? m : maskEmail(m)));
  out = out.replace(PHONE_RE, (m) => maskPhone(m));
  if (secrets.code) {
    // Digit-bounded, so a code of 2525 does not eat part of "127.0.0.1:25250".
    out = out.replace(new RegExp(`(?<!\\d)${escapeRegExp(secrets.code)}(?!\\d)`, 'g'), '[code]');
  }
  return out;
}
