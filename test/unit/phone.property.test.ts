/**
 * Property tests for `normalisePhone`: it never throws,
 * says why it refuses, reads a number the same however it is written, and
 * what it makes of an international number is valid E.164 and stays the same
 * when read again.
 */
import fc from 'fast-check';
import { parsePhoneNumber } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { normalisePhone, type PhoneRejection } from '../../shared/phone.js';
import { digitRun, examplePhone, phoneText, REGIONS } from '../helpers/arbitraries/fields.js';
import { E164 } from '../helpers/arbitraries/inspection.js';

const REASONS: PhoneRejection[] = [
  'EMPTY',
  'NOT_A_NUMBER',
  'NO_REGION',
  'TOO_SHORT',
  'TOO_LONG',
  'INVALID_COUNTRY',
  'INVALID',
];

/** Region hints as payloads carry them: codes in any case, names, junk, nothing. */
const hint = fc.option(
  fc.oneof(
    fc.constantFrom(...REGIONS),
    fc.constantFrom(...REGIONS).map((region) => ` ${region.toLowerCase()} `),
    fc.string({ maxLength: 4 }),
  ),
  { nil: undefined },
);

const anyInput: fc.Arbitrary<string | number> = fc.oneof(
  phoneText,
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.constantFrom(...'0123456789 +-().'.split('')), maxLength: 30 }),
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 53, 1e21),
);

describe('Property: normalisePhone', () => {
  it('never throws on any text or number with any hints; every answer is ok with an international number, or a documented refusal', () => {
    fc.assert(
      fc.property(anyInput, hint, hint, (input, country, defaultRegion) => {
        const result = normalisePhone(input, { country, defaultRegion });
        if (result.ok) {
          expect(result.e164).toMatch(E164);
          if (result.country !== undefined) expect(REGIONS).toContain(result.country);
        } else {
          expect(REASONS).toContain(result.reason);
          expect(result.message).toMatch(/^phone number (is|has) /);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a national number of any length, in any region, to E.164 that reads back the same, or refuses it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REGIONS), digitRun(1, 18), (region, text) => {
        const result = normalisePhone(text, { defaultRegion: region });
        if (result.ok) {
          expect(result.e164).toMatch(E164);
          expect(normalisePhone(result.e164)).toMatchObject({ ok: true, e164: result.e164 });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads an international number (+ or 00, up to 15 digits) to valid E.164 that reads back the same, whatever the hints', () => {
    const international = fc
      .tuple(fc.constantFrom('+', '00', '+ ', '00 ', '(00)', ' +'), fc.integer({ min: 1, max: 9 }), digitRun(1, 14))
      .filter(([, , digits]) => digits.replace(/\D/g, '').length <= 14)
      .map(([prefix, first, digits]) => `${prefix}${first}${digits}`);
    fc.assert(
      fc.property(international, hint, hint, hint, (text, country, defaultRegion, again) => {
        const result = normalisePhone(text, { country, defaultRegion });
        if (!result.ok) return;
        expect(result.e164).toMatch(E164);
        expect(parsePhoneNumber(result.e164).isValid()).toBe(true);
        const reread = normalisePhone(result.e164, { country: again });
        expect(reread).toMatchObject({ ok: true, e164: result.e164 });
      }),
      { numRuns: 3000 },
    );
  });

  it("reads a valid number to the same E.164 however it is written: E.164, international, national (with the payload's country or the route's region), 00", () => {
    const wrongRegion = fc.constantFrom('US', 'GB', 'DE', 'IN', 'BR', 'JP');
    fc.assert(
      fc.property(examplePhone, wrongRegion, (phone, other) => {
        const forms: Array<[string, { country?: string; defaultRegion?: string }]> = [
          [phone.e164, {}],
          [phone.international, { defaultRegion: other }],
          [` ${phone.international} `, { country: other }],
          [`00${phone.e164.slice(1)}`, { defaultRegion: other }],
          [`00 ${phone.international.slice(1)}`, {}],
          [phone.national, { country: phone.country, defaultRegion: other }],
          [phone.national, { defaultRegion: phone.country }],
          [phone.national, { country: phone.country.toLowerCase() }],
        ];
        for (const [text, hints] of forms) {
          const result = normalisePhone(text, hints);
          expect(result, `${JSON.stringify(text)} ${JSON.stringify(hints)}`).toMatchObject({
            ok: true,
            e164: phone.e164,
          });
          if (result.ok) expect(normalisePhone(result.e164)).toMatchObject({ ok: true, e164: phone.e164 });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reads a JSON number as its digits when it is a safe integer, and refuses any other number as empty', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.maxSafeInteger(),
          fc.integer(),
          fc.double(),
          examplePhone.map((phone) => Number(phone.e164.slice(1))),
        ),
        hint,
        hint,
        (number, country, defaultRegion) => {
          const result = normalisePhone(number, { country, defaultRegion });
          if (Number.isSafeInteger(number))
            expect(result).toEqual(normalisePhone(String(number), { country, defaultRegion }));
          else expect(result).toMatchObject({ ok: false, reason: 'EMPTY' });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never guesses a region: a national number without any region is refused', () => {
    fc.assert(
      fc.property(
        fc.oneof(phoneText, fc.string({ maxLength: 20 })),
        fc.option(
          fc.string({ maxLength: 4 }).filter((text) => !REGIONS.includes(text.trim().toUpperCase() as never)),
          { nil: undefined },
        ),
        (text, junkHint) => {
          const international = text.trim().startsWith('+') || /^00[1-9]/.test(text.replace(/[\s().-]/g, ''));
          fc.pre(!international);
          expect(normalisePhone(text, { country: junkHint, defaultRegion: junkHint }).ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
