/**
 * Ids, codes and their hashes.
 *
 * The id has 128 bits from the CSPRNG. The code is HMAC-SHA256 under the server secret of the id
 * (a pseudo-random function of a random value), so any app instance can send the same code again
 * while it is valid without the code ever being stored: only a keyed hash bound to the id is
 * kept, compared in constant time. Someone holding the secret and the database could recover a
 * code either way (six digits are brute-forced in milliseconds against a keyed hash), so
 * deriving adds no exposure; what it removes is a second copy of the code anywhere.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

export const MIN_CODE_LENGTH = 4;
export const MAX_CODE_LENGTH = 10;

export function newVerificationId(): string {
  return `VE${randomBytes(16).toString('hex')}`;
}

export const VERIFICATION_ID_PATTERN = /^VE[0-9a-f]{32}$/;

export function deriveCode(secret: string, id: string, length: number): string {
  if (secret === '') throw new Error('deriveCode: the secret is empty');
  if (!Number.isInteger(length) || length < MIN_CODE_LENGTH || length > MAX_CODE_LENGTH)
    throw new RangeError(`code length must be ${MIN_CODE_LENGTH}-${MAX_CODE_LENGTH}, got ${length}`);
  const mac = createHmac('sha256', secret).update(`pinverify-code:${id}`).digest();
  // 64 bits reduced mod 10^length: the bias is below 1 in 10^9.
  const n = mac.readBigUInt64BE(0) % 10n ** BigInt(length);
  return n.toString().padStart(length, '0');
}

export function hashVerificationCode(secret: string, id: string, code: string): string {
  if (secret === '') throw new Error('hashVerificationCode: the secret is empty');
  return createHmac('sha256', secret).update(`pinverify-check:${id}:${code}`).digest('hex');
}

/** Constant-time comparison of two hex hashes (a length mismatch is simply "no"). */
export function hashesMatch(a: string, b: string): boolean {
  // Buffer.from(…, 'hex') silently drops an odd last digit or anything after a non-hex one, so
  // the shape is checked first: two well-formed hashes of one length, or "no".
  const HEX = /^(?:[0-9a-f]{2})+$/;
  if (a.length !== b.length || !HEX.test(a) || !HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** Keyed hash of a destination for the send-limit tables, which must hold no number or address. */
export function destinationKey(secret: string, destination: string): string {
  return createHmac('sha256', secret).update(`pinverify-destination:${destination}`).digest('hex');
}

export function isValidCustomCode(code: string): boolean {
  return new RegExp(`^[0-9]{${MIN_CODE_LENGTH},${MAX_CODE_LENGTH}}$`).test(code);
}

/**
 * A client's own code, sealed for the one process that must say it aloud (an outbound call in
 * read mode, or the SMS after the call): AES-256-GCM under a key derived from the code secret,
 * bound to the verification id. It travels only in the call queue's job and is worthless once
 * the verification is decided or expired (10 minutes at most); the verification itself keeps
 * only the hash, as for every code.
 */
export function sealCode(secret: string, id: string, code: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(secret), iv);
  cipher.setAAD(Buffer.from(id));
  const sealed = Buffer.concat([cipher.update(code, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), sealed].map((b) => b.toString('base64url')).join('.');
}

/** The code sealed by sealCode for this verification; throws if it was not, or was altered. */
export function unsealCode(secret: string, id: string, sealed: string): string {
  const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !tag || !data) throw new Error('not a sealed code');
  const decipher = createDecipheriv('aes-256-gcm', sealKey(secret), iv);
  decipher.setAAD(Buffer.from(id));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
}

function sealKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'pinverify', 'sealed call code', 32));
}
