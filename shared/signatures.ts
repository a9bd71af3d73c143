/**
 * Signature checks shared by the sources. Every comparison of a secret or a
 * signature is constant-time (`timingSafeEqual` over equal-length digests),
 * so a forged signature learns nothing from how long the refusal took.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookRejectedError } from './webhook.js';

export function hmacSha256(secret: string, data: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/** Equal strings, compared in constant time whatever their lengths. */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  // Hashing first gives equal lengths, so the comparison never short-cuts on size.
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && Buffer.byteLength(a) === Buffer.byteLength(b);
}

/** The signature the sender gave, decoded from base64 or hex; undefined when it is not that encoding. */
export function decodeSignature(value: string, encoding: 'base64' | 'hex'): Buffer | undefined {
  const text = value.trim();
  if (encoding === 'hex') return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === 32 ? decoded : undefined;
}

/**
 * Throws 401 unless `given` is the HMAC-SHA256 of `signed` under `secret`.
 * `header` names the header in the error so the sender knows what was wrong.
 */
export function requireHmac(options: {
  given: string | undefined;
  header: string;
  secret: string;
  signed: Buffer | string;
  encoding: 'base64' | 'hex';
}): void {
  if (options.given === undefined || options.given.trim() === '') {
    throw new WebhookRejectedError(401, 'missing_signature', `the ${options.header} header is missing`);
  }
  const given = decodeSignature(options.given, options.encoding);
  const expected = hmacSha256(options.secret, options.signed);
  if (given === undefined || !constantTimeEqual(given, expected)) {
    throw new WebhookRejectedError(
      401,
      'invalid_signature',
      `the ${options.header} header does not match the body signed with this route's secret`,
    );
  }
}
