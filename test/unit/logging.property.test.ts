/**
 * Property tests for log masking: whatever object is logged, with emails and
 * phone numbers anywhere in its values (alone or inside text, strings or JSON
 * numbers, nested in objects and arrays, written with any separator and in
 * any digits a person types) and secrets under credential-named keys, the
 * JSON line never holds the raw email, the phone's digits or the secret —
 * not even once its separators are read past.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, maskingReplacer } from '../../shared/logging.js';
import { examplePhone, plainEmail } from '../helpers/arbitraries/fields.js';
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
 * `…_at`, `eventKey`, `timestamp`) keep bare ASCII digit runs by design (see
 * `idKey` below), and credential-named keys are redacted whole: these keys
 * are neither, so all their values are masked.
 */
const piiKey = fc
  .tuple(
    fc.constantFrom(
      'phone',
      'email',
      'reason',
      'detail',
      'note',
      'input',
      'contact',
      'body',
      'text',
      'value',
      'from',
      'error',
    ),
    fc.string({ unit: fc.constantFrom(...'bcefghjklmnopqrsuvwxyz_'.split('')), maxLength: 5 }),
  )
  .map(([base, suffix]) => `${base}${suffix}`);

const SECRET_WORDS = [
  'secret',
  'token',
  'password',
  'passwd',
  'apiKey',
  'api_key',
  'api-key',
  'authorization',
  'Authorization',
  'credential',
  'credentials',
  'signature',
  'hmac',
  'cookie',
  'set-cookie',
  'x-shopify-hmac-sha256',
  'clientSecret',
  'accessToken',
  'TOKEN',
];
const secretKey = fc
  .tuple(
    fc.constantFrom('', 'x-', 'provider_', 'my'),
    fc.constantFrom(...SECRET_WORDS),
    fc.constantFrom('', 's', '_value', 'Name'),
  )
  .map((parts) => parts.join(''));
const secretValue = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 16, maxLength: 24 })
  .map((hex) => `Sx${hex}`);

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
  fc
    .tuple(
      fc.integer({ min: 1, max: 9 }),
      fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 6, maxLength: 14 }),
    )
    .map(([first, rest]) => ({ text: `+${first}${rest}`, national: rest.slice(2) })),
);

/** The zero of each digit set a number may be typed in: ASCII, full-width, Arabic-Indic, Persian, Devanagari, bold. */
const DIGIT_ZEROS = [0x30, 0xff10, 0x660, 0x6f0, 0x966, 0x1d7ce];
/** What people and form tools put between digit groups: slashes, underscores, dashes, spaces, dots, brackets. */
const TYPED_SEPARATORS = [
  ...['/', ' / ', '\uFF0F', '_', '~', '(', ') ', '[', '] ', '{', '} ', '.', '. ', '\uFF0E'],
  ...['-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212', '\uFF0D', '\u30FC'],
  ...[' ', '\u00A0', '\u202F', '\u2009', '\u3000', '\u200B', '\u2060', '\u00AD'],
];
/**
 * A real number as a person may type it: digit groups of 2 to 4 with one of
 * the separators above between them, in any digit set, with or without a
 * (full-width) `+`.
 */
const typedPhone = fc
  .tuple(
    examplePhone,
    fc.array(fc.constantFrom(...TYPED_SEPARATORS), { minLength: 1, maxLength: 3 }),
    fc.constantFrom(...DIGIT_ZEROS),
    fc.constantFrom('+', '\uFF0B', ''),
    fc.integer({ min: 2, max: 4 }),
  )
  .map(([example, separators, zero, plus, size]) => {
    const digits = example.e164.slice(1);
    const groups = (digits.match(new RegExp(`.{1,${size}}`, 'g')) ?? []).map((group) =>
      [...group].map((digit) => String.fromCodePoint(zero + Number(digit))).join(''),
    );
    const between = (index: number) => (index === 0 ? '' : separators[index % separators.length]);
    const text = plus + groups.map((group, index) => `${between(index)}${group}`).join('');
    return { text, digits: [digits, example.nationalNumber, groups.join('')] };
  });

/** Keys naming ids or times keep a bare ASCII digit run (an id), so what is planted under them is what people type. */
const idKey = fc.constantFrom(
  'eventKey',
  'providerContactId',
  'contact_id',
  'messageId',
  'createdAt',
  'updated_at',
  'at',
);
const idLeaf: fc.Arbitrary<Planted> = fc
  .tuple(
    fc.constantFrom('', 'form:default:', 'typeform:abc:', 'tally:w4X:'),
    fc.oneof(
      typedPhone.map(({ text, digits }) => ({ text, emails: [], digits })),
      email.map((address) => ({ text: address, emails: [address], digits: [] })),
    ),
  )
  .map(([prefix, { text, emails, digits }]) => ({ ...none, value: `${prefix}${text}`, emails, digits }));

const plainPhone = phone.map(({ text, national }) => ({ text, digits: [text.replace(/\D/g, ''), national] }));

/** Digit runs long enough to name a number (a national number can be as short as a few digits). */
const longRuns = (runs: string[]) => runs.filter((run) => run.length >= 6);

const around = <T extends string>(inner: fc.Arbitrary<T>) =>
  fc
    .tuple(
      fc.constantFrom('', 'call ', 'contact: ', '(', 'email "', 'phone "', 'x '),
      inner,
      fc.constantFrom(
        '',
        ' now',
        ')',
        '" is not an email address',
        '": phone number is not a valid number',
        ', thanks',
        '.',
      ),
    )
    .map(([before, text, after]) => `${before}${text}${after}`);

const filler = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnop XYZ-_.:/'.split('')), maxLength: 12 }),
  fc.integer({ min: -999, max: 999 }),
  fc.boolean(),
  fc.constant(null),
);

const leaf: fc.Arbitrary<Planted> = fc.oneof(
  fc.tuple(email, fc.boolean()).chain(([address, inText]) =>
    (inText ? around(fc.constant(address)) : fc.constant(address)).map((value) => ({
      ...none,
      value,
      emails: [address],
    })),
  ),
  fc.tuple(phone, fc.boolean()).chain(([number, inText]) =>
    (inText ? around(fc.constant(number.text)) : fc.constant(number.text)).map((value) => ({
      ...none,
      value,
      digits: [number.text.replace(/\D/g, ''), ...(number.national.length >= 6 ? [number.national] : [])],
    })),
  ),
  fc.tuple(typedPhone, fc.boolean()).chain(([number, inText]) =>
    (inText ? around(fc.constant(number.text)) : fc.constant(number.text)).map((value) => ({
      ...none,
      value,
      digits: longRuns(number.digits),
    })),
  ),
  // Several numbers in one text, so a number's digits run on into the next one's.
  fc
    .tuple(
      fc.array(fc.oneof(typedPhone, plainPhone), { minLength: 2, maxLength: 3 }),
      fc.constantFrom(' ', ', ', ' / ', '-', '; '),
    )
    .map(([numbers, between]) => ({
      ...none,
      value: numbers.map(({ text }) => text).join(between),
      digits: longRuns(numbers.flatMap(({ digits }) => digits)),
    })),
  // A phone sent as a JSON number (Webflow): its digits.
  phone.map((number) => ({
    ...none,
    value: Number(number.text.replace(/\D/g, '')),
    digits: [number.text.replace(/\D/g, '')],
  })),
  filler.map((value) => ({ ...none, value })),
);

function merge(all: Array<[string, Planted]>, asArray: boolean): Planted {
  // A secret is a secret by its key: in an array it would have none, so secrets go in objects only.
  const entries = asArray ? all.filter(([, planted]) => planted.secrets.length === 0) : all;
  return {
    value: asArray
      ? entries.map(([, planted]) => planted.value)
      : Object.fromEntries(entries.map(([key, planted]) => [key, planted.value])),
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
    fc
      .tuple(
        fc.array(
          fc.oneof(
            fc.tuple(piiKey, tie('node')),
            fc.tuple(idKey, idLeaf),
            fc.tuple(
              secretKey,
              secretValue
                .chain((secret) => fc.constantFrom<unknown>(secret, [secret], { value: secret }, { nested: [secret] }))
                .map((value) => ({ ...none, value, secrets: leavesOf(value) })),
            ),
          ),
          { maxLength: 5 },
        ),
        fc.boolean(),
      )
      .map(([entries, asArray]) => merge(entries, asArray)),
  ),
})).node;

function leavesOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(leavesOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leavesOf);
  return [];
}

/** Digits of the sets people type in, as ASCII (the full-width and maths ones are folded by NFKC already). */
function asciiDigits(text: string): string {
  return text.replace(/[\u0660-\u0669\u06F0-\u06F9\u0966-\u096F]/g, (digit) => {
    const code = digit.charCodeAt(0);
    const zero = [0x966, 0x6f0, 0x660].find((start) => code >= start) ?? 0x660;
    return String(code - zero);
  });
}

function expectNothingLeaks(line: string, { emails, digits, secrets }: Pick<Planted, 'emails' | 'digits' | 'secrets'>) {
  const lower = line.toLowerCase();
  for (const address of emails) {
    expect(lower.includes(address.trim().toLowerCase()), `email ${address} leaked: ${line}`).toBe(false);
    expect(
      lower.includes(JSON.stringify(address.trim().toLowerCase()).slice(1, -1)),
      `email ${address} leaked: ${line}`,
    ).toBe(false);
  }
  // Read as a person reads it: compatibility forms folded, digits of any set as ASCII, and nothing but
  // letters, digits, asterisks and the JSON punctuation between values left, so separators hide nothing.
  const read = asciiDigits(line.normalize('NFKC')).replace(/[^\p{L}\p{N}*",:]/gu, '');
  for (const run of digits) {
    expect(line.includes(run), `phone digits ${run} leaked: ${line}`).toBe(false);
    expect(read.includes(asciiDigits(run)), `phone digits ${run} leaked between separators: ${line}`).toBe(false);
  }
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
        const error = new Error(`not delivered: ${String(inError.value)}`, {
          cause: new Error(String(inMessage.value)),
        });
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
