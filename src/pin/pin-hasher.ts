/**
 * PINs as argon2id hashes (the maintained `argon2` package, prebuilt binaries in the package:
 * nothing to compile). A PIN has a few thousand values, so a fast keyed hash of it would be
 * brute-forced offline in microseconds by anyone holding the database and the key; argon2id
 * makes every guess cost memory and time. Parameters are OWASP's minimum for argon2id
 * (19 MiB, 2 passes, 1 lane: about 25 ms here, off the event loop in libuv's pool); they are
 * stored in each hash, so raising them later re-hashes PINs as callers use them.
 */
import * as argon2 from 'argon2';

export const PIN_HASH_OPTIONS = Object.freeze({
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

export interface PinHasher {
  hash(pin: string): Promise<string>;
  /**
   * Whether `pin` matches `hash`. With no hash (unknown caller, no PIN set) a dummy hash is
   * checked all the same, so the answer takes as long either way and says nothing about
   * whether the number is known.
   */
  verify(hash: string | null, pin: string): Promise<boolean>;
  /** The hash was made with weaker parameters than today's: re-hash on the next match. */
  needsRehash(hash: string): boolean;
}

/** argon2id cost parameters (memory in KiB). */
export interface PinHashOptions {
  type: typeof argon2.argon2id;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export function createArgon2PinHasher(options: PinHashOptions = PIN_HASH_OPTIONS): PinHasher {
  let dummy: Promise<string> | null = null;
  return {
    hash: (pin) => argon2.hash(pin, options),
    async verify(hash, pin) {
      if (hash === null) {
        dummy ??= argon2.hash('not-a-pin', options);
        await argon2.verify(await dummy, pin);
        return false;
      }
      try {
        return await argon2.verify(hash, pin);
      } catch {
        // A malformed stored hash (edited by hand) matches nothing.
        return false;
      }
    },
    needsRehash: (hash) => argon2.needsRehash(hash, options),
  };
}
