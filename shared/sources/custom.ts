/**
 * Any JSON webhook: `POST /hooks/custom/{route}`. The route says where the
 * contact is (`custom.fields`, JSON pointers: json-pointer.ts) and how the
 * sender proves itself (`routeAuth`):
 *
 * - `hmac` (whenever `custom.signature` is set): an HMAC of a signed string
 *   built from the raw body and, optionally, a timestamp header, in the header,
 *   algorithm, encoding and prefix the route names, with the secret's `secret`;
 * - `token` (the default): the secret's `token` in `?token=` or the
 *   `X-Contact-Relay-Token` header (auth.ts);
 * - `none`: nothing, and then the plain form's protection applies as it does
 *   on form routes (protection.ts): refused on a deployed stage unless open
 *   routes are allowed, and honeypot, origins and rate limits as configured.
 *
 * Bodies are JSON. `application/x-www-form-urlencoded` is read too, as a flat
 * object of the names exactly as sent (a repeated name gives an array), so
 * `/Email` or `/fields[email][value]` reach a field: the WordPress form tools
 * in the README's recipes (Elementor Pro's Webhook action, WPForms' "FORM"
 * request format) post form-encoded bodies.
 */
import { createHash, createHmac } from 'node:crypto';
import type { CustomFields, CustomRoute, CustomSignature } from '../config/custom.js';
import { routeAuth, type ResolvedRoute } from '../config/routes.js';
import type { Source } from '../ingest.js';
import { constantTimeEqual } from '../signatures.js';
import { checkBodySize, mediaType, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { requireRouteAuth } from './auth.js';
import { signingSecret } from './fields.js';
import { MAX_FORM_FIELDS, regionOf, tooManyFields, type MappedContact } from './form.js';
import { readPointer } from './json-pointer.js';
import { contactReading, isEmail, nameParts, NOT_AN_EMAIL, phoneReader, submittedContact } from './mapping.js';
import { protectForm } from './protection.js';

/** The tag every contact from this source carries, as Tally's carry `tally`. */
const CUSTOM_SOURCE_TAG = 'custom';

/** Event ids longer than this are hashed into the key, so a sender's huge id cannot make a huge key. */
const MAX_EVENT_ID_CHARS = 200;

// ---------------------------------------------------------------------------
// Signatures

/**
 * The bytes `signedString` names: `{body}` is the raw body exactly as it
 * arrived (never decoded and re-encoded, so the sender's bytes are what is
 * checked), `{timestamp}` the timestamp header's value, and every other
 * character of the template itself, as UTF-8.
 */
export function customSignedBytes(template: string, body: Buffer, timestamp: string | undefined): Buffer {
  return Buffer.concat(
    template.split(/(\{body\}|\{timestamp\})/).map((part) => {
      if (part === '{body}') return body;
      if (part === '{timestamp}' && timestamp !== undefined) return Buffer.from(timestamp, 'utf8');
      return Buffer.from(part, 'utf8');
    }),
  );
}

/** The digest the header carries, decoded; undefined when it is not in the route's encoding or not a digest's length. */
function decodeDigest(text: string, encoding: CustomSignature['encoding'], length: number): Buffer | undefined {
  if (encoding === 'hex') {
    return new RegExp(`^[0-9a-fA-F]{${length * 2}}$`).test(text) ? Buffer.from(text, 'hex') : undefined;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === length ? decoded : undefined;
}

/** A Unix time in seconds, or in milliseconds when it is over 10^12 (a seconds value that large is 33,000 years away). */
function timestampMs(text: string): number {
  const value = Number(text);
  return value > 1e12 ? value : value * 1000;
}

/**
 * Throws 401 unless the request carries the signature `settings` describe:
 * `missing_signature` / `missing_timestamp` without the headers,
 * `invalid_timestamp` for a timestamp that is not a number, `invalid_signature`
 * when it does not match, `stale_signature` for a matching one whose timestamp
 * is further than `toleranceSeconds` from `now` (a captured request replayed
 * later, or a sender's clock far off). The signature is checked before the
 * timestamp's age, so an unsigned request learns nothing about our clock.
 */
function requireCustomSignature(request: WebhookRequest, settings: CustomSignature, secret: string, now: Date): void {
  const given = request.headers[settings.header.toLowerCase()]?.trim();
  if (given === undefined || given === '') {
    throw new WebhookRejectedError(401, 'missing_signature', `the ${settings.header} header is missing`);
  }
  let timestamp: string | undefined;
  if (settings.timestampHeader !== undefined) {
    timestamp = request.headers[settings.timestampHeader.toLowerCase()]?.trim();
    if (timestamp === undefined || timestamp === '') {
      throw new WebhookRejectedError(401, 'missing_timestamp', `the ${settings.timestampHeader} header is missing`);
    }
    if (!/^\d{1,16}$/.test(timestamp)) {
      const message = `the ${settings.timestampHeader} header is not a Unix time in seconds or milliseconds`;
      throw new WebhookRejectedError(401, 'invalid_timestamp', message);
    }
  }

  const expected = createHmac(settings.algorithm, secret)
    .update(customSignedBytes(settings.signedString, request.rawBody, timestamp))
    .digest();
  // The prefix names the scheme (`sha256=`); senders differ in its case, as Typeform's and GitHub's do not.
  const prefix = settings.prefix ?? '';
  const hasPrefix = given.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
  const digestText = given.slice(prefix.length).trim();
  const digest = hasPrefix ? decodeDigest(digestText, settings.encoding, expected.length) : undefined;
  if (digest === undefined || !constantTimeEqual(digest, expected)) {
    const hmacName = `HMAC-${settings.algorithm.toUpperCase()}`;
    const shape = `${prefix ? `"${prefix}" + ` : ''}the ${settings.encoding} ${hmacName}`;
    const what = `${shape} of the signed string under this route's secret`;
    throw new WebhookRejectedError(401, 'invalid_signature', `the ${settings.header} header is not ${what}`);
  }

  if (timestamp !== undefined) {
    const skewSeconds = Math.abs(now.getTime() - timestampMs(timestamp)) / 1000;
    if (skewSeconds > settings.toleranceSeconds) {
      const message =
        `${settings.timestampHeader} is ${Math.round(skewSeconds)} s from our clock; ` +
        `at most ${settings.toleranceSeconds} s is accepted`;
      throw new WebhookRejectedError(401, 'stale_signature', message);
    }
  }
}

// ---------------------------------------------------------------------------
// Bodies

/**
 * The body as a JSON document: parsed JSON, or a form-encoded body as a flat
 * object. 415 for another media type, 400 `malformed_body` for invalid JSON,
 * 413 `too_many_fields` for a form of more than MAX_FORM_FIELDS pairs.
 */
function parseCustomBody(request: WebhookRequest): unknown {
  const type = mediaType(request);
  if (type === 'application/json' || type?.endsWith('+json')) {
    try {
      return JSON.parse(request.rawBody.toString('utf8')) as unknown;
    } catch (error) {
      throw new WebhookRejectedError(400, 'malformed_body', `body is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const values = new Map<string, string[]>();
    let count = 0;
    for (const [name, value] of new URLSearchParams(request.rawBody.toString('utf8'))) {
      count += 1;
      if (count > MAX_FORM_FIELDS) throw tooManyFields();
      const list = values.get(name);
      if (list === undefined) values.set(name, [value]);
      else list.push(value);
    }
    // fromEntries defines own properties: a field named "__proto__" is read like any other.
    return Object.fromEntries([...values].map(([name, list]) => [name, list.length === 1 ? list[0] : list]));
  }
  const given = type === undefined ? '(none)' : `"${type}"`;
  const message = `content type ${given} is not supported; send application/json (or application/x-www-form-urlencoded)`;
  throw new WebhookRejectedError(415, 'unsupported_content_type', message);
}

/** The top-level members a form's protection looks at (its honeypot and captcha fields), as text. */
function topLevelFields(document: unknown): Record<string, string | string[]> {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return {};
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(document)) {
    const text = scalarText(value);
    if (text !== undefined) fields[name] = text;
    else if (Array.isArray(value)) fields[name] = value.map(scalarText).filter((item) => item !== undefined);
  }
  return fields;
}

// ---------------------------------------------------------------------------
// Mapping

/** A string, finite number or boolean as text; undefined for anything else. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return undefined;
}

type Pointers = string | string[] | undefined;

const pointerList = (pointers: Pointers): string[] =>
  pointers === undefined ? [] : typeof pointers === 'string' ? [pointers] : pointers;

/** The values the pointers hold, in the pointers' order, leaving out the ones that name nothing or null. */
function valuesAt(document: unknown, pointers: Pointers): Array<{ pointer: string; value: unknown }> {
  return pointerList(pointers)
    .map((pointer) => ({ pointer, value: readPointer(document, pointer) }))
    .filter(({ value }) => value !== undefined && value !== null);
}

/** The first non-blank string at the pointers, trimmed. */
function firstText(document: unknown, pointers: Pointers): string | undefined {
  for (const { value } of valuesAt(document, pointers)) {
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** Each value names the pointer it came from in problems: the route's own text, never the sender's. */
const notText = (field: string, pointer: string) => `${field} at "${pointer}" is not text`;

/**
 * Map a custom webhook's document to a Contact as `fields` say. Email: the
 * first valid one of the pointers; phone: the first valid one, read in the
 * country at `country` (an ISO code or an English name), else the route's
 * default region; each invalid value met on the way is a problem. Tags: a
 * string (comma-separated) or an array of strings at each pointer. Attributes:
 * the first value of their pointers, strings, numbers and booleans as text; an
 * object or array there is left out, and named as a problem.
 */
function mapCustomDocument(
  document: unknown,
  route: ResolvedRoute,
  fields: CustomFields,
  eventKey: string,
  now: Date,
): MappedContact {
  const problems: string[] = [];

  const textAt = (pointers: Pointers) => firstText(document, pointers);
  const names = nameParts(textAt(fields.firstName), textAt(fields.lastName), textAt(fields.fullName));

  const emails: string[] = [];
  for (const { pointer, value } of valuesAt(document, fields.email)) {
    if (typeof value !== 'string') {
      problems.push(notText('email', pointer));
      continue;
    }
    if (value.trim() === '') continue;
    const email = value.trim().toLowerCase();
    if (isEmail(email)) {
      emails.push(email);
      break;
    }
    problems.push(NOT_AN_EMAIL);
  }

  const countryText = textAt(fields.country);
  const country = countryText === undefined ? undefined : (regionOf(countryText) ?? countryText);
  const { phones, rejectedPhones, read: readPhone } = phoneReader(route, problems);
  for (const { pointer, value } of valuesAt(document, fields.phone)) {
    const finite = typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    const input = typeof value === 'string' ? value.trim() : finite;
    if (input === undefined) {
      problems.push(`phone at "${pointer}" is not text or a number`);
      continue;
    }
    if (input === '') continue;
    if (readPhone(input, country)) break;
  }

  const sentTags: string[] = [];
  for (const { pointer, value } of valuesAt(document, fields.tags)) {
    const items = Array.isArray(value) ? value : [value];
    if (items.length > MAX_FORM_FIELDS) throw tooManyFields('tags');
    for (const item of items) {
      if (typeof item === 'string') sentTags.push(...item.split(',').map((tag) => tag.trim()));
      else problems.push(`tags at "${pointer}" hold something other than text`);
    }
  }
  const tags = [...new Set([CUSTOM_SOURCE_TAG, ...route.tags, ...sentTags].filter((tag) => tag !== ''))];

  const attributes: Record<string, string> = {};
  for (const [name, pointers] of Object.entries(fields.attributes ?? {})) {
    for (const { value } of valuesAt(document, pointers)) {
      const text = scalarText(value)?.trim();
      if (text === undefined) {
        problems.push(`attribute "${name}" is an object or a list, not a single value`);
        continue;
      }
      if (text === '') continue;
      attributes[name] = text;
      break;
    }
  }

  const origin = { source: 'custom' as const, route: route.name, eventKey, occurredAt: now.toISOString() };
  const read = { ...names, emails, phones, rejectedPhones, tags, attributes };
  return submittedContact(read, origin, problems, 'no value at the email or phone pointers');
}

/**
 * `custom:<route>:<the sender's id>` when `eventId` points at a string or a
 * number (an id over MAX_EVENT_ID_CHARS is hashed), else a hash of the exact
 * body, so a sender's retry of the same bytes is a duplicate. Called only
 * after the request is authenticated: the key names verified bytes.
 */
function customEventKey(request: WebhookRequest, document: unknown, eventId: string | undefined): string {
  const value = eventId === undefined ? undefined : readPointer(document, eventId);
  const number = typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
  const id = typeof value === 'string' ? value.trim() : number;
  const hash = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  const idKey = id.length > MAX_EVENT_ID_CHARS ? `id-sha256:${hash(id)}` : id;
  const key = id === '' ? `sha256:${hash(request.rawBody)}` : idKey;
  return `custom:${request.routeName}:${key}`;
}

/** The route's custom options; the route schema refuses a custom route without them: only a wiring fault lands here. */
function customOptions(route: ResolvedRoute): CustomRoute {
  if (route.custom === undefined) {
    throw new Error(`custom route "${route.name}" has no "custom" options; the route config should have refused it`);
  }
  return route.custom;
}

export const customSource: Source = {
  name: 'custom',
  unknownRouteStatus: 404,
  async read(request, route, context) {
    checkBodySize(request);
    const options = customOptions(route);
    if (routeAuth(route) === 'hmac' && options.signature !== undefined) {
      requireCustomSignature(request, options.signature, await signingSecret(context, route), context.now);
    } else {
      // `token` checks the secret's token; `none` checks nothing here, and the protection below decides.
      await requireRouteAuth(request, route, context.secret);
    }

    const document = parseCustomBody(request);
    const eventKey = customEventKey(request, document, options.eventId);
    const verdict = await protectForm(request, route, topLevelFields(document), context);
    if (verdict.kind === 'decoy') return { kind: 'ignored', reason: verdict.reason, decoyEventKey: eventKey };
    return contactReading(eventKey, mapCustomDocument(document, route, options.fields, eventKey, context.now));
  },
};
