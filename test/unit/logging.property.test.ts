/**
 * Property tests for log masking (issue 7, item 4): whatever object is logged,
 * with emails and phone numbers anywhere in its values (alone or inside
 * text, strings or JSON numbers, nested in objects and arrays) and secrets
 * under credential-named keys, the JSON line never holds the raw email, the
 * phone's digits or the secret.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, maskingReplacer } from '../../shared/logging.js';
import { examplePhone, plainEmail } from '../helpers/arbitraries.js';
import { isEmail } from '../../shared/sources/mapping.js';

interface Planted {
  value: unknown;
  emails: string[];
  /** Digits that must not appear: the whole number, and the national number. */
  digits: string[];
  secrets: string[];
}

const none = { emails: [], digits: [], secrets: [] };

/**
 * Keys PII is logged under. Keys that name ids or times (`…id`, `…Id`, `…At`,
 * `…_at`, `eventKey`, `timestamp`) keep digit runs by design, and
 * credential-named keys are redacted whole: these keys are neither, so their
 * values are masked.
 */
const piiKey = fc
  .tuple(fc.constantFrom('phone', 'email', 'reason', 'detail', 'note', 'input', 'contact', 'body', 'text', 'value', 'from', 'error'), fc.string({ unit: fc.constantFrom(...'bcefghjklmnopqrsuvwxyz_'.split('')), maxLength: 5 }))
  .map(([base, suffix]) => `${base}${suffix}`);

const SECRET_WORDS = ['secret', 'token', 'password', 'passwd', 'apiKey', 'api_key', 'api-key', 'authorization', 'Authorization', 'credential', 'credentials', 'signature', 'hmac', 'cookie', 'set-cookie', 'x-shopify-hmac-sha256', 'clientSecret', 'accessToken', 'TOKEN'];
const secretKey = fc.tuple(fc.constantFrom('', 'x-', 'provider_', 'my'), fc.constantFrom(...SECRET_WORDS), fc.constantFrom('', 's', '_value', 'Name')).map((parts) => parts.join(''));
const secretValue = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 16, maxLength: 24 }).map((hex) => `Sx${hex}`);

/** Emails the relay handles: valid addresses (what ContactSchema allows) and typos that keep the local@domain shape. */
const email = fc.oneof(
  plainEmail,
  fc.emailAddress().filter(isEmail),
  plainEmail.map((address) => address.toUpperCase()),
  plainEmail.map((address) => address.replace(/\.[a-z]+$/, '')),
  plainEmail.map((address) => `${address}.`),
);

/** E.164 numbers: real ones (compact and international format) and any `+` with 7 to 15 digits. */
const phone = fc.oneof(
  examplePhone.map((example) => ({ text: example.e164, national: example.nationalNumber })),
  examplePhone.map((example) => ({ text: example.international, national: example.nationalNumber })),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 6, maxLength: 14 })).map(([first, rest]) => ({ text: `+${first}${rest}`, national: rest.slice(2) })),
);

const around = <T extends string>(inner: fc.Arbitrary<T>) =>
  fc.tuple(fc.constantFrom('', 'call ', 'contact: ', '(', 'email "', 'phone "', 'x '), inner, fc.constantFrom('', ' now', ')', '" is not an email address', '": phone number is not a valid number', ', thanks', '.')).map(([before, text, after]) => `${before}${text}${after}`);

const filler = fc.oneof(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnop XYZ-_.:/'.split('')), maxLength: 12 }), fc.integer({ min: -999, max: 999 }), fc.boolean(), fc.constant(null));

const leaf: fc.Arbitrary<Planted> = fc.oneof(
  fc.tuple(email, fc.boolean()).chain(([address, inText]) => (inText ? around(fc.constant(address)) : fc.constant(address)).map((value) => ({ ...none, value, emails: [address] }))),
  fc.tuple(phone, fc.boolean()).chain(([number, inText]) =>
    (inText ? around(fc.constant(number.text)) : fc.constant(number.text)).map((value) => ({ ...none, value, digits: [number.text.replace(/\D/g, ''), ...(number.national.length >= 6 ? [number.national] : [])] })),
  ),
  // A phone sent as a JSON number (Webflow): its digits.
  phone.map((number) => ({ ...none, value: Number(number.text.replace(/\D/g, '')), digits: [number.text.replace(/\D/g, '')] })),
  filler.map((value) => ({ ...none, value })),
);

function merge(all: Array<[string, Planted]>, asArray: boolean): Planted {
  // A secret is a secret by its key: in an array it would have none, so secrets go in objects only.
  const entries = asArray ? all.filter(([, planted]) => planted.secrets.length === 0) : all;
  return {
    value: asArray ? entries.map(([, planted]) => planted.value) : Object.fromEntries(entries.map(([key, planted]) => [key, planted.value])),
    emails: entries.flatMap(([, planted]) => planted.emails),
    digits: entries.flatMap(([, planted]) => planted.digits),
    secrets: entries.flatMap(([, planted]) => planted.secrets),
  };
}

/** Objects and arrays of the leaves above, nested, with secrets under credential-named keys (whatever shape the secret has). */
const planted: fc.Arbitrary<Planted> = fc.letrec<{ node: Planted }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(fc.array(fc.oneof(fc.tuple(piiKey, tie('node')), fc.tuple(secretKey, secretValue.chain((secret) => fc.constantFrom<unknown>(secret, [secret], { value: secret }, { nested: [secret] })).map((value) => ({ ...none, value, secrets: leavesOf(value) })))), { maxLength: 5 }), fc.boolean()).map(([entries, asArray]) => merge(entries, asArray)),
  ),
})).node;

function leavesOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(leavesOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leavesOf);
  return [];
}

function expectNothingLeaks(line: string, { emails, digits, secrets }: Pick<Planted, 'emails' | 'digits' | 'secrets'>) {
  const lower = line.toLowerCase();
  for (const address of emails) {
    expect(lower.includes(address.trim().toLowerCase()), `email ${address} leaked: ${line}`).toBe(false);
    expect(lower.includes(JSON.stringify(address.trim().toLowerCase()).slice(1, -1)), `email ${address} leaked: ${line}`).toBe(false);
  }
  for (const run of digits) expect(line.includes(run), `phone digits ${run} leaked: ${line}`).toBe(false);
  for (const secret of secrets) expect(line.includes(secret), `secret ${secret} leaked: ${line}`).toBe(false);
}

describe('Property: maskingReplacer', () => {
  it('leaves no raw email, phone digits or secret in the JSON of any object', () => {
    fc.assert(
      fc.property(planted, (object) => {
        expectNothingLeaks(JSON.stringify({ root: object.value }, maskingReplacer), object);
      }),
      { numRuns: 1000 },
    );
  });

  it('is stable: masking a masked line again changes nothing', () => {
    fc.assert(
      fc.property(planted, (object) => {
        const once = JSON.stringify({ root: object.value }, maskingReplacer);
        expect(JSON.stringify(JSON.parse(once) as unknown, maskingReplacer)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Property: the logger', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes lines holding no raw email, phone digits or secret, from the message, the attributes or an error', () => {
    const lines: string[] = [];
    // Warnings and errors go to stderr, the rest to stdout.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
      });
    }
    const logger = createLogger('property-test');
    fc.assert(
      fc.property(planted, leaf, leaf, (attributes, inMessage, inError) => {
        lines.length = 0;
        const message = `webhook skipped: ${String(inMessage.value)}`;
        const error = new Error(`not delivered: ${String(inError.value)}`, { cause: new Error(String(inMessage.value)) });
        logger.info(message, { attributes: attributes.value });
        logger.warn(message, { attributes: attributes.value, error });
        logger.error(message, error);
        expect(lines.length).toBeGreaterThan(0);
        expectNothingLeaks(lines.join(''), {
          emails: [...attributes.emails, ...inMessage.emails, ...inError.emails],
          digits: [...attributes.digits, ...inMessage.digits, ...inError.digits],
          secrets: attributes.secrets,
        });
      }),
      { numRuns: 300 },
    );
  });
});
