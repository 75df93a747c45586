/**
 * Ids, codes and their hashes (src/verification/verification-code.ts): the code is a keyed
 * pseudo-random function of the id, so every app instance derives the same code without storing
 * it; the stored hash is bound to the id and compared in constant time.
 */
import { createHmac } from 'node:crypto';
import {
  deriveCode,
  destinationKey,
  hashesMatch,
  hashVerificationCode,
  isValidCustomCode,
  newVerificationId,
  sealCode,
  unsealCode,
  VERIFICATION_ID_PATTERN,
} from '../../../src/verification/verification-code';

const SECRET = 'code-test-secret';

/** Deterministic ids in the real format, so every run sees the same codes. */
const idOf = (n: number) => `VE${n.toString(16).padStart(32, '0')}`;

describe('deriveCode', () => {
  it.each([4, 5, 6, 8, 10])('gives exactly %i digits', (length) => {
    for (let n = 1; n <= 50; n++)
      expect(deriveCode(SECRET, idOf(n), length)).toMatch(new RegExp(`^\\d{${length}}$`));
  });

  it('keeps leading zeros (a code starting with 0 still has the full length)', () => {
    // About 1 code in 10 starts with 0: one turns up within a few hundred ids.
    let found: string | undefined;
    for (let n = 1; n <= 500 && !found; n++) {
      const code = deriveCode(SECRET, idOf(n), 6);
      if (code.startsWith('0')) found = code;
    }
    expect(found).toBeDefined();
    expect(found).toHaveLength(6);
    expect(found).toMatch(/^0\d{5}$/);
  });

  it('is the documented construction: HMAC-SHA256(secret, "pinverify-code:" + id), 64 bits mod 10^n', () => {
    // Another instance (or a later version) must derive the same code for a resend to match.
    for (let n = 1; n <= 20; n++) {
      const id = idOf(n);
      const mac = createHmac('sha256', SECRET).update(`pinverify-code:${id}`).digest();
      const expected = (mac.readBigUInt64BE(0) % 1_000_000n).toString().padStart(6, '0');
      expect(deriveCode(SECRET, id, 6)).toBe(expected);
    }
  });

  it('is deterministic per (secret, id)', () => {
    const id = newVerificationId();
    expect(deriveCode(SECRET, id, 6)).toBe(deriveCode(SECRET, id, 6));
  });

  it('differs across ids and across secrets', () => {
    const ids = Array.from({ length: 200 }, (_, i) => idOf(i + 1));
    const codes = new Set(ids.map((id) => deriveCode(SECRET, id, 6)));
    // 200 draws from 10^6: a collision or two is possible, many would mean the id is ignored.
    expect(codes.size).toBeGreaterThanOrEqual(198);
    const differing = ids.filter((id) => deriveCode(SECRET, id, 6) !== deriveCode('other-secret', id, 6));
    expect(differing.length).toBeGreaterThanOrEqual(198);
  });

  it('spreads digits evenly (chi-square over every position of 5,000 codes)', () => {
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    const N = 5000;
    for (let n = 1; n <= N; n++) {
      const code = deriveCode(SECRET, idOf(n), 6);
      [...code].forEach((d, pos) => {
        const row = counts[pos];
        if (row) row[Number(d)] = (row[Number(d)] ?? 0) + 1;
      });
    }
    const expected = N / 10;
    for (const row of counts) {
      const chi2 = row.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
      // 9 degrees of freedom: 27.9 is the 0.1 % critical value; a biased digit blows far past it.
      expect(chi2).toBeLessThan(27.9);
    }
  });

  it.each([3, 11, 0, 6.5, Number.NaN])('refuses length %p', (length) => {
    expect(() => deriveCode(SECRET, idOf(1), length)).toThrow(RangeError);
  });

  it('refuses an empty secret (every code would be public)', () => {
    expect(() => deriveCode('', idOf(1), 6)).toThrow('the secret is empty');
  });
});

describe('hashVerificationCode', () => {
  const id = idOf(1);

  it('is a 64-hex-digit keyed hash, deterministic', () => {
    expect(hashVerificationCode(SECRET, id, '123456')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashVerificationCode(SECRET, id, '123456')).toBe(hashVerificationCode(SECRET, id, '123456'));
  });

  it('is bound to the id: the same code under another id hashes differently', () => {
    expect(hashVerificationCode(SECRET, id, '123456')).not.toBe(
      hashVerificationCode(SECRET, idOf(2), '123456'),
    );
  });

  it('depends on the code and on the secret', () => {
    const h = hashVerificationCode(SECRET, id, '123456');
    expect(hashVerificationCode(SECRET, id, '123457')).not.toBe(h);
    expect(hashVerificationCode('other-secret', id, '123456')).not.toBe(h);
    // Leading zeros matter: "012345" is not "12345".
    expect(hashVerificationCode(SECRET, id, '012345')).not.toBe(hashVerificationCode(SECRET, id, '12345'));
  });

  it('does not contain the code or the id', () => {
    const h = hashVerificationCode(SECRET, id, '987654');
    expect(h).not.toContain('987654');
    expect(h).not.toContain(id);
  });

  it('refuses an empty secret', () => {
    expect(() => hashVerificationCode('', id, '123456')).toThrow('the secret is empty');
  });
});

describe('hashesMatch', () => {
  const a = hashVerificationCode(SECRET, idOf(1), '123456');
  const b = hashVerificationCode(SECRET, idOf(1), '654321');
  // The module is compiled to CommonJS and calls timingSafeEqual through node:crypto's exports,
  // so a spy on the module object sees its calls.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cryptoModule = require('node:crypto') as typeof import('node:crypto');
  let spy: jest.SpyInstance;

  beforeEach(() => {
    spy = jest.spyOn(cryptoModule, 'timingSafeEqual');
  });
  afterEach(() => spy.mockRestore());

  it('matches equal hashes, comparing in constant time', () => {
    expect(hashesMatch(a, a.slice())).toBe(true);
    expect(spy).toHaveBeenCalledTimes(1);
    const [x, y] = spy.mock.calls[0] as [Buffer, Buffer];
    expect(x.toString('hex')).toBe(a);
    expect(y.toString('hex')).toBe(a);
  });

  it('rejects different hashes of the same length, also in constant time', () => {
    expect(hashesMatch(a, b)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['a shorter hash', a, a.slice(0, 62)],
    ['a longer hash', a, `${a}00`],
    ['an empty hash', a, ''],
    ['two empty strings', '', ''],
    ['non-hex text', 'not-a-hash', 'not-a-hash'],
  ])('rejects %s without comparing', (_name, x, y) => {
    expect(hashesMatch(x, y)).toBe(false);
    expect(hashesMatch(y, x)).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });

  // Buffer.from(s, 'hex') alone would drop a trailing odd digit or everything after a non-hex
  // character, so differently long strings could compare equal; the shape is checked first.
  it('rejects strings that differ only by a trailing odd digit or junk', () => {
    expect(hashesMatch(a, `${a}0`)).toBe(false);
    expect(hashesMatch(a, `${a}zz`)).toBe(false);
    expect(hashesMatch('ab', 'abc')).toBe(false);
  });
});

describe('newVerificationId', () => {
  it('is "VE" + 32 lower-case hex digits (128 random bits)', () => {
    const id = newVerificationId();
    expect(id).toMatch(/^VE[0-9a-f]{32}$/);
    expect(VERIFICATION_ID_PATTERN.test(id)).toBe(true);
  });

  it('is unique over many draws', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newVerificationId()));
    expect(ids.size).toBe(1000);
  });
});

describe('destinationKey', () => {
  it('is a keyed hash per destination that holds no trace of the address', () => {
    const k = destinationKey(SECRET, '+12025550188');
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(k).not.toContain('2025550188');
    expect(destinationKey(SECRET, '+12025550188')).toBe(k);
    expect(destinationKey(SECRET, '+12025550189')).not.toBe(k);
    expect(destinationKey('other-secret', '+12025550188')).not.toBe(k);
  });
});

describe('isValidCustomCode', () => {
  it.each([
    ['1234', true],
    ['0000', true],
    ['1234567890', true],
    ['0123456789', true],
    ['123', false], // too short
    ['12345678901', false], // too long
    ['', false],
    ['12a4', false],
    ['12 34', false],
    [' 1234', false],
    ['1234\n', false],
    ['-1234', false],
    ['12.34', false],
    ['١٢٣٤', false], // Arabic-Indic digits: not keypad digits
  ])('%p -> %p', (code, valid) => {
    expect(isValidCustomCode(code)).toBe(valid);
  });
});

describe('sealCode / unsealCode', () => {
  it('opens only with the same secret and verification id, and never shows the code', () => {
    const sealed = sealCode(SECRET, idOf(1), '4711');
    expect(sealed).not.toContain('4711');
    expect(sealCode(SECRET, idOf(1), '4711')).not.toBe(sealed); // a fresh IV each time
    expect(unsealCode(SECRET, idOf(1), sealed)).toBe('4711');
    expect(() => unsealCode(SECRET, idOf(2), sealed)).toThrow();
    expect(() => unsealCode('another-secret', idOf(1), sealed)).toThrow();
  });

  it('refuses an altered or malformed seal', () => {
    const [iv, tag, data] = sealCode(SECRET, idOf(1), '123456').split('.');
    const flipped = Buffer.from(data ?? '', 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => unsealCode(SECRET, idOf(1), [iv, tag, flipped.toString('base64url')].join('.'))).toThrow();
    expect(() => unsealCode(SECRET, idOf(1), 'not-sealed')).toThrow('not a sealed code');
  });
});
