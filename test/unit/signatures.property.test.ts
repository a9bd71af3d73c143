/**
 * Property tests for the signature checks:
 * `constantTimeEqual` is equality, and `requireHmac` accepts exactly the
 * HMAC of what was signed, under the secret, in the expected encoding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, decodeSignature, hmacSha256, requireHmac } from '../../shared/signatures.js';
import { WebhookRejectedError } from '../../shared/webhook.js';
import { mutateText, textMutation } from '../helpers/arbitraries/mutations.js';

/** Well-formed strings (no lone surrogates: see the open finding about them), including pairs that are equal or differ by one character. */
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
);
const pairs = fc.oneof(
  fc.tuple(text, text),
  text.map((value) => [value, value] as const),
  fc
    .tuple(text, textMutation('aA0 \u00e9\u4e2d'))
    .map(([value, change]) => [value, mutateText(value, change)] as const),
  fc.tuple(text, fc.string({ maxLength: 3 })).map(([value, suffix]) => [value, `${value}${suffix}`] as const),
);

function outcome(run: () => void): 'accepted' | string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookRejectedError);
    const rejected = error as WebhookRejectedError;
    expect(rejected.statusCode).toBe(401);
    return rejected.code;
  }
}

describe('Property: constantTimeEqual', () => {
  it('agrees with === on any two strings', () => {
    fc.assert(
      fc.property(pairs, ([a, b]) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(b, a)).toBe(a === b);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with Buffer.equals on any two byte strings', () => {
    const bytes = fc.uint8Array({ maxLength: 48 }).map((array) => Buffer.from(array));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(bytes, bytes),
          bytes.map((value) => [value, Buffer.from(value)] as const),
        ),
        ([a, b]) => {
          expect(constantTimeEqual(a, b)).toBe(a.equals(b));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('Property: requireHmac', () => {
  const secret = fc.string({ minLength: 1, maxLength: 40 });
  const data = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((array) => Buffer.from(array)),
    fc.string({ maxLength: 200 }),
  );
  const encoding = fc.constantFrom('base64' as const, 'hex' as const);
  const check = (given: string | undefined, key: string, signed: Buffer | string, as: 'base64' | 'hex') => () =>
    requireHmac({ given, header: 'X-Signature', secret: key, signed, encoding: as });

  it('accepts the HMAC of the signed bytes under the secret, in the encoding asked for (blanks around it allowed)', () => {
    fc.assert(
      fc.property(secret, data, encoding, fc.constantFrom('', ' ', '\t'), (key, signed, as, blank) => {
        const given = `${blank}${hmacSha256(key, signed).toString(as)}${blank}`;
        expect(outcome(check(given, key, signed, as))).toBe('accepted');
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses the HMAC under another secret, of other bytes, or in the other encoding', () => {
    fc.assert(
      fc.property(secret, secret, data, data, encoding, (key, otherKey, signed, otherData, as) => {
        const other = as === 'base64' ? 'hex' : 'base64';
        expect(outcome(check(hmacSha256(key, signed).toString(other), key, signed, as))).toBe('invalid_signature');
        if (otherKey !== key)
          expect(outcome(check(hmacSha256(otherKey, signed).toString(as), key, signed, as))).toBe('invalid_signature');
        if (!Buffer.from(otherData).equals(Buffer.from(signed)))
          expect(outcome(check(hmacSha256(key, otherData).toString(as), key, signed, as))).toBe('invalid_signature');
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts a given value exactly when it decodes to the HMAC: any 32 bytes, any text, a blank header', () => {
    const candidates = fc.oneof(
      fc
        .uint8Array({ minLength: 32, maxLength: 32 })
        .chain((array) => fc.constantFrom(Buffer.from(array).toString('base64'), Buffer.from(array).toString('hex'))),
      fc.string({ maxLength: 70 }),
      fc.constantFrom(undefined, '', '   '),
    );
    fc.assert(
      fc.property(secret, data, encoding, candidates, (key, signed, as, given) => {
        const expected = hmacSha256(key, signed);
        const result = outcome(check(given, key, signed, as));
        if (given === undefined || given.trim() === '') expect(result).toBe('missing_signature');
        else expect(result === 'accepted').toBe(decodeSignature(given, as)?.equals(expected) === true);
        if (result === 'accepted') expect(decodeSignature(given as string, as)).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeSignature reads back any 32 bytes in either encoding, and nothing that is not 32 bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array)),
        encoding,
        (bytes, as) => {
          const decoded = decodeSignature(bytes.toString(as), as);
          if (bytes.length === 32) expect(decoded).toEqual(bytes);
          else expect(decoded).toBeUndefined();
        },
      ),
      { numRuns: 2000 },
    );
  });
});
