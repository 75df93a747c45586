/**
 * Masking for logs and the audit trail: enough to tell two callers apart when reading a log,
 * not enough to contact them. Codes are never passed here: they are never logged at all.
 */
export function maskPhone(phone: string | null | undefined): string {
  if (!phone) return '';
  const digits = phone.replace(/[^0-9+]/g, '');
  if (digits.length <= 4) return '*'.repeat(digits.length);
  return `${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`.replace(
    /^\*/,
    digits.startsWith('+') ? '+' : '*',
  );
}

export function maskEmail(email: string | null | undefined): string {
  if (!email) return '';
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const tld = dot >= 0 ? domain.slice(dot) : '';
  return `${local[0] ?? ''}***@${domain[0] ?? ''}***${tld}`;
}
