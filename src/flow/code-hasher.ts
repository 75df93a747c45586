/**
 * One-time codes: drawn from the CSPRNG, stored only as a keyed hash. The hash is bound to the
 * call, so a leaked code-store row is useless without the secret and cannot be replayed against
 * another call.
 */
import { createHmac, randomInt as cryptoRandomInt } from 'node:crypto';

export const MIN_CODE_LENGTH = 4;
export const MAX_CODE_LENGTH = 10;

/** Returns an integer in [0, maxExclusive). */
export type RandomInt = (maxExclusive: number) => number;

const secureRandomInt: RandomInt = (maxExclusive) => cryptoRandomInt(maxExclusive);

export function generateCode(length: number, randomInt: RandomInt = secureRandomInt): string {
  if (!Number.isInteger(length) || length < MIN_CODE_LENGTH || length > MAX_CODE_LENGTH) {
    throw new RangeError(
      `code length must be an integer from ${MIN_CODE_LENGTH} to ${MAX_CODE_LENGTH}, got ${length}`,
    );
  }
  let code = '';
  for (let i = 0; i < length; i++) {
    const digit = randomInt(10);
    if (!Number.isInteger(digit) || digit < 0 || digit > 9) {
      throw new RangeError(`randomInt(10) returned ${digit}`);
    }
    code += String(digit);
  }
  return code;
}

/** HMAC-SHA256 (hex) of "callId:code" under the secret. */
export function hashCode(secret: string, callId: string, code: string): string {
  if (secret === '') throw new Error('hashCode: the secret is empty');
  return createHmac('sha256', secret).update(`${callId}:${code}`).digest('hex');
}
