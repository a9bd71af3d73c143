/**
 * Structured JSON logs through Powertools Logger, with one rule applied to
 * every value of every line (message, attributes, errors): secrets are
 * removed, emails and phone numbers are masked. Doing it in the JSON replacer
 * means no call site can forget it.
 */
import { Logger } from '@aws-lambda-powertools/logger';

/** Keys whose values are credentials: never printed, whatever they hold. */
const SECRET_KEY = /(secret|token|password|passwd|api[-_]?key|authorization|credential|signature|hmac|cookie)/i;
/** Keys that hold machine ids or times: digit runs there are not phones. */
const ID_KEY = /(^timestamp$|^level$|id$|_id$|Id$|^eventKey$|^at$|At$|_at$|^x-ray|xray|^sampling_rate$|^function_)/;

// Anything around an @, valid or not — doubled @, a space either side, quotes in
// the local part: an address a sender mistyped is still personal data.
const EMAIL_CHAR = String.raw`[^\s"<>,;()[\]\\@]`;
const EMAIL = new RegExp(String.raw`(${EMAIL_CHAR}*) ?@+ ?(${EMAIL_CHAR}*)`, 'g');
// International (+...) or national numbers of 7+ digits with common separators,
// not glued to letters or digits (so uuids and request ids keep their shape).
const PHONE = /(?<![\w+])\+?\d(?:[\s().-]{0,2}\d){6,16}(?![\w])/g;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;

export function maskEmail(email: string): string {
  return maskText(email, true);
}

export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length < 4) return '***';
  const headDigits = phone.trim().startsWith('+') ? 2 : 0;
  const head = headDigits > 0 ? `+${digits.slice(0, headDigits)}` : '';
  return `${head}${'*'.repeat(Math.max(3, digits.length - headDigits - 2))}${digits.slice(-2)}`;
}

export function maskText(text: string, allowDigitRuns = false): string {
  const withoutEmails = text.replace(EMAIL, (match, local: string, domain: string) => (local === '' && domain === '' ? match : `${local.slice(0, 1)}***@${domain}`));
  if (allowDigitRuns) return withoutEmails;
  return withoutEmails.replace(PHONE, (match) => (ISO_DATE.test(match) ? match : maskPhone(match)));
}

/** JSON replacer: the single place personal data and secrets are taken out of logs. */
export function maskingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && SECRET_KEY.test(key) && value !== undefined && value !== null && value !== false) return '[redacted]';
  if (typeof value === 'string') return maskText(value, ID_KEY.test(key));
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) >= 1_000_000 && !ID_KEY.test(key)) {
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
