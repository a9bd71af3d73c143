/**
 * Phone normalisation to E.164 with libphonenumber-js. A national number
 * needs a region: the payload's own country first, then the route's default.
 * Nothing is guessed: a number that does not parse to a valid number in that
 * region is reported with the reason.
 */
import {
  isSupportedCountry,
  parsePhoneNumberWithError,
  ParseError,
  validatePhoneNumberLength,
  type CountryCode,
} from 'libphonenumber-js';

const E164 = /^\+[1-9]\d{1,14}$/;

type PhoneNormalisation =
  | { ok: true; e164: string; country: string | undefined }
  | { ok: false; reason: PhoneRejection; message: string };

export type PhoneRejection =
  | 'EMPTY'
  | 'NOT_A_NUMBER'
  | 'NO_REGION'
  | 'TOO_SHORT'
  | 'TOO_LONG'
  | 'INVALID_COUNTRY'
  | 'INVALID';

interface PhoneHints {
  /** ISO 3166-1 alpha-2 country of the payload (billing address, hidden field). */
  country?: string | undefined;
  /** The route's default region, used when the payload names no country. */
  defaultRegion?: string | undefined;
}

export function isRegion(value: string): boolean {
  return isSupportedCountry(value.toUpperCase());
}

function toRegion(value: string | undefined): CountryCode | undefined {
  if (value === undefined) return undefined;
  const upper = value.trim().toUpperCase();
  return isSupportedCountry(upper) ? upper : undefined;
}

const REASON_TEXT: Record<PhoneRejection, string> = {
  EMPTY: 'is empty',
  NOT_A_NUMBER: 'is not a phone number',
  NO_REGION: 'is a national number and no country is known for it',
  TOO_SHORT: 'is too short',
  TOO_LONG: 'is too long',
  INVALID_COUNTRY: 'has an unknown country calling code',
  INVALID: 'is not a valid number',
};

function reject(reason: PhoneRejection, region?: string): PhoneNormalisation {
  return {
    ok: false,
    reason,
    message: `phone number ${REASON_TEXT[reason]}${region && reason !== 'NO_REGION' ? ` (region ${region})` : ''}`,
  };
}

export function normalisePhone(input: string | number, hints: PhoneHints = {}): PhoneNormalisation {
  // Webflow and spreadsheets hand phones over as JSON numbers.
  let text = typeof input === 'number' ? (Number.isSafeInteger(input) ? String(input) : '') : input.trim();
  if (text === '') return reject('EMPTY');
  // "00" is the international prefix nearly everywhere outside North America;
  // libphonenumber only knows it for regions that use it, so say it plainly.
  if (/^00[1-9]/.test(text.replace(/[\s().-]/g, ''))) text = `+${text.replace(/[\s().-]/g, '').slice(2)}`;
  const region = toRegion(hints.country) ?? toRegion(hints.defaultRegion);
  if (!text.startsWith('+') && region === undefined) return reject('NO_REGION');
  try {
    const parsed = parsePhoneNumberWithError(text, region === undefined ? undefined : { defaultCountry: region });
    if (!parsed.isValid()) {
      // Say why when the length is the problem; otherwise the number is simply not assigned.
      const length = validatePhoneNumberLength(text, region === undefined ? undefined : { defaultCountry: region });
      return reject(length === 'TOO_SHORT' || length === 'TOO_LONG' ? length : 'INVALID', region);
    }
    // libphonenumber's small metadata accepts a few national numbers whose international form is
    // longer than E.164 allows, or is not valid when read back (shared calling codes): refuse both,
    // so every number we hand a provider is one it will accept and one we read the same way again.
    if (!E164.test(parsed.number)) return reject('TOO_LONG', region);
    // Read back, it must be valid and the same number: carrier codes (Brazil's "0 xx") can
    // otherwise be stripped again, turning one person's number into another's. A number given in
    // E.164 already was just read that way: defaultCountry "will be ignored when parsing numbers
    // written in international form" (parsePhoneNumber, https://www.npmjs.com/package/libphonenumber-js).
    if (text === parsed.number) return { ok: true, e164: parsed.number, country: parsed.country };
    const readBack = parsePhoneNumberWithError(parsed.number);
    if (readBack.number !== parsed.number || !readBack.isValid()) return reject('INVALID', region);
    return { ok: true, e164: parsed.number, country: parsed.country };
  } catch (error) {
    if (error instanceof ParseError) {
      switch (error.message) {
        case 'TOO_SHORT':
        case 'TOO_LONG':
        case 'INVALID_COUNTRY':
        case 'NOT_A_NUMBER':
          return reject(error.message, region);
        default:
          return reject('INVALID', region);
      }
    }
    throw error;
  }
}
