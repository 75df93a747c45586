import { createHmac } from 'node:crypto';
import { generateCode, hashCode } from '../../src/flow/code-hasher';

describe('generateCode', () => {
  it.each([4, 6, 10])('makes %i digits', (length) => {
    const code = generateCode(length);
    expect(code).toMatch(new RegExp(`^[0-9]{${length}}$`));
  });

  it('draws each digit from the random source', () => {
    const draws = [3, 0, 9, 1, 4, 1];
    const seen: number[] = [];
    const code = generateCode(6, (max) => {
      seen.push(max);
      return draws.shift() ?? 0;
    });
    expect(code).toBe('309141');
    expect(seen).toEqual([10, 10, 10, 10, 10, 10]);
  });

  it('keeps leading zeros', () => {
    expect(generateCode(4, () => 0)).toBe('0000');
  });

  it('varies (CSPRNG by default)', () => {
    const codes = new Set(Array.from({ length: 50 }, () => generateCode(10)));
    expect(codes.size).toBeGreaterThan(45);
  });

  it.each([3, 11, 0, -6, 4.5, Number.NaN])('rejects length %p', (length) => {
    expect(() => generateCode(length)).toThrow(RangeError);
  });

  it('rejects a random source that leaves 0..9', () => {
    expect(() => generateCode(4, () => 10)).toThrow(RangeError);
    expect(() => generateCode(4, () => 1.5)).toThrow(RangeError);
  });
});

describe('hashCode', () => {
  it('is HMAC-SHA256 hex over "callId:code"', () => {
    const expected = createHmac('sha256', 'k').update('call-1:123456').digest('hex');
    expect(hashCode('k', 'call-1', '123456')).toBe(expected);
    expect(hashCode('k', 'call-1', '123456')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is bound to the secret, the call and the code', () => {
    const base = hashCode('k', 'call-1', '123456');
    expect(hashCode('other', 'call-1', '123456')).not.toBe(base);
    expect(hashCode('k', 'call-2', '123456')).not.toBe(base);
    expect(hashCode('k', 'call-1', '123457')).not.toBe(base);
    expect(hashCode('k', 'call-1', '123456')).toBe(base);
  });

  it('refuses an empty secret', () => {
    expect(() => hashCode('', 'call-1', '1234')).toThrow(/secret is empty/);
  });
});
