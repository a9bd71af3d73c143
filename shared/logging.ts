/**
 * Structured JSON logs through Powertools Logger, with one rule applied to
 * every value of every line (message, attributes, errors): secrets are
 * removed, emails and phone numbers are masked. Doing it in the JSON replacer
 * means no call site can forget it.
 */
import { Logger } from '@aws-lambda-powertools/logger';

/** Keys whose values are credentials: never printed, whatever they hold. */
const SECRET_KEY = /(secret|token|password|passwd|api[-_]?key|authorization|credential|signature|hmac|cookie)/i;
/**
 * Keys that hold machine ids or times (event keys, provider contact ids,
 * `…At` times, X-Ray and request ids). A bare run of ASCII digits there is an
 * id or an epoch, not a phone: order and contact ids are 7 to 19 digits, and
 * masking them would make a delivery impossible to trace. Everything else in
 * them is masked as in any text: an email, a number with a `+`, separators or
 * non-ASCII digits is written the way people write phones, not the way
 * systems write ids.
 */
const ID_KEY = /(^timestamp$|^level$|id$|_id$|Id$|^eventKey$|^at$|At$|_at$|^x-ray|xray|^sampling_rate$|^function_)/;

// Anything around an @, valid or not — doubled @, a space either side, quotes in
// the local part: an address a sender mistyped is still personal data.
const EMAIL_CHAR = String.raw`[^\s"<>,;()[\]\\@]`;
// Starting only where a run of such characters starts keeps the scan linear on long text without an @.
const EMAIL = new RegExp(`(?<!${EMAIL_CHAR})(${EMAIL_CHAR}*) ?@+ ?(${EMAIL_CHAR}*)`, 'g');
/**
 * What may stand between the digits of a phone: every separator the phone
 * parser we use accepts (VALID_PUNCTUATION: dashes, slashes, dots, brackets,
 * tildes, soft hyphen, zero-width space, word joiner and their full-width
 * forms, https://github.com/catamphetamine/libphonenumber-js/blob/master/source/constants.js),
 * widened to any Unicode space, dash, format character or combining mark
 * (each invisible, or read as a dash by a person), underscores and braces.
 */
const SEPARATOR = String.raw`[\s\p{Pd}\p{Cf}\p{Mn}\p{Me}\u2212\u30FC~\u2053\u223C./\\_()[\]{}]`;
// A run of digits of any script, up to four separators apart, with or without a `+`, that does not start
// glued to a letter or digit. The whole run is read at once (no backtracking, so long text stays linear); it
// is a phone when it has 7 digits or more and is not glued to a letter after either (ids keep their shape).
const DIGIT_RUN = String.raw`(?<![\p{L}\p{N}])(?:\+${SEPARATOR}{0,4})?\p{Nd}(?:${SEPARATOR}{0,4}\p{Nd})*`;
const PHONE_DIGITS = 7;
/**
 * Machine shapes whose digit groups could pass for a phone: ISO 8601 dates
 * and times, UUIDs (https://www.rfc-editor.org/rfc/rfc9562) and X-Ray trace
 * ids (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-traceids).
 * Matched first, they are left as they are.
 */
const KEPT = [
  String.raw`\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\p{N})`,
  '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
  String.raw`\d-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}`,
].join('|');
const DIGIT_RUN_OR_KEPT = new RegExp(`(${KEPT})|${DIGIT_RUN}`, 'gu');
const NOT_DIGIT = /\P{Nd}/gu;
const GLUED = /^[\p{L}\p{N}]/u;
const ASCII_DIGITS = /^\d+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function maskEmail(email: string): string {
  return maskText(email, true);
}

export function maskPhone(phone: string): string {
  const digits = [...phone.normalize('NFKC').replace(NOT_DIGIT, '')];
  if (digits.length < 4) return '***';
  const headDigits = phone.trim().startsWith('+') ? 2 : 0;
  const head = headDigits > 0 ? `+${digits.slice(0, headDigits).join('')}` : '';
  return `${head}${'*'.repeat(Math.max(3, digits.length - headDigits - 2))}${digits.slice(-2).join('')}`;
}

/**
 * Emails and phones in `text` masked. The text is read in NFKC first, so
 * full-width digits, compatibility dashes and spaces are read as what they
 * look like. `keepBareDigits`: a run of plain ASCII digits is an id (see ID_KEY).
 */
export function maskText(text: string, keepBareDigits = false): string {
  const normalised = PRINTABLE_ASCII.test(text) ? text : text.normalize('NFKC');
  const withoutEmails = normalised.replace(EMAIL, (match, local: string, domain: string) =>
    local === '' && domain === '' ? match : `${local.slice(0, 1)}***@${domain}`,
  );
  return withoutEmails.replace(DIGIT_RUN_OR_KEPT, (match: string, kept: string | undefined, at: number) => {
    if (kept !== undefined || (keepBareDigits && ASCII_DIGITS.test(match))) return match;
    const tooShort = match.replace(NOT_DIGIT, '').length < PHONE_DIGITS;
    return tooShort || GLUED.test(withoutEmails.slice(at + match.length)) ? match : maskPhone(match);
  });
}

/** JSON replacer: the single place personal data and secrets are taken out of logs. */
export function maskingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && SECRET_KEY.test(key) && value !== undefined && value !== null && value !== false)
    return '[redacted]';
  const idKey = ID_KEY.test(key);
  // An id is ASCII: text with anything else under an id-named key was typed by a person.
  if (typeof value === 'string') return maskText(value, idKey && PRINTABLE_ASCII.test(value));
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) >= 1_000_000 && !idKey) {
    // A phone sent as a JSON number (Webflow) must not slip through unmasked.
    return maskPhone(String(value));
  }
  return value;
}

export function createLogger(serviceName = process.env['POWERTOOLS_SERVICE_NAME'] ?? 'contact-relay'): Logger {
  return new Logger({ serviceName, jsonReplacerFn: maskingReplacer });
}

/**
 * The namespace of a stage's custom metrics (EMF and log metric filters alike):
 * one per stage, so two stages in one account never add up in one metric or
 * trip each other's alarms. infra/monitoring.yml writes the same. A stage is
 * letters, digits and dashes, all allowed in a namespace:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
 */
export const metricsNamespace = (stage: string) => `ContactRelay/${stage}`;

/** The process-wide logger the functions share. */
export const logger = createLogger();
