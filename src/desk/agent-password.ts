/**
 * Agents' passwords as argon2id hashes (the maintained `argon2` package, as for PINs: OWASP's
 * argon2id minimum, 19 MiB and 2 passes). An unknown login is checked against a dummy hash, so
 * the answer takes as long either way and does not tell which logins exist.
 */
import * as argon2 from 'argon2';
import { PIN_HASH_OPTIONS } from '../pin/pin-hasher';

/** NIST SP 800-63B: at least 8 characters, allow long passphrases. We ask 10. */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

export function passwordProblem(password: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH)
    return `a password needs at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH)
    return `a password has at most ${PASSWORD_MAX_LENGTH} characters`;
  if (password.trim() !== password) return 'a password may not start or end with white space';
  return null;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string | null, password: string): Promise<boolean>;
}

export function createPasswordHasher(options = PIN_HASH_OPTIONS): PasswordHasher {
  let dummy: Promise<string> | null = null;
  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      if (hash === null) {
        dummy ??= argon2.hash('not-a-password', options);
        await argon2.verify(await dummy, password);
        return false;
      }
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
  };
}
