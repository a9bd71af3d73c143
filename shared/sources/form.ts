/**
 * The plain form source: JSON or urlencoded bodies posted by an HTML form, a
 * site builder or a script, open or checked by token or HMAC (see auth.ts).
 * Field names are found automatically (`name`, `first_name`, `email`,
 * `phone`, ...) or named by the route config. `mapFormToContact` also serves
 * the other flat key/value senders (Jotform, Google Forms).
 */
import { createHash } from 'node:crypto';
import type { Contact } from '../contact.js';
import { signedBodyKey, type Source } from '../ingest.js';
import { routeAuth, type FieldMapping, type ResolvedRoute } from '../config/routes.js';
import { isRegion } from '../phone.js';
import { checkBodySize, mediaType, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { requireRouteAuth } from './auth.js';
import { protectForm } from './protection.js';
import { contactReading, isEmail, nameParts, NOT_AN_EMAIL, phoneReader, submittedContact } from './mapping.js';

export type FormFields = Record<string, string | string[]>;

/**
 * Name/value pairs one submission may hold: each repeat of a name and each item of a JSON list counts. A contact
 * form has tens of fields and a long checkbox list a few hundred values, so 1,000 leaves room for any real form,
 * while every value may cost a phone or email check later (about 30 µs for a phone): a 256 KB body of 60,000
 * one-letter values is refused here instead of being read value by value.
 * Assumption: no sender we take documents a limit on fields; this one is ours.
 */
export const MAX_FORM_FIELDS = 1000;

/**
 * Characters in one field name or value. A message box holds a few thousand characters and a captcha token up to
 * 2,048 (Turnstile: https://developers.cloudflare.com/turnstile/get-started/server-side-validation/), hCaptcha's
 * somewhat more; a contact keeps at most 1,000 characters of any attribute anyway. Assumption: hCaptcha and
 * reCAPTCHA document no token length; their tokens are a few thousand characters, well below 16,384.
 */
export const MAX_FIELD_CHARS = 16_384;

/** 413 `too_many_fields`: the submission holds more name/value pairs than MAX_FORM_FIELDS. */
export function tooManyFields(what = 'fields or values'): WebhookRejectedError {
  const message = `the submission has more than ${MAX_FORM_FIELDS} ${what}; a form may send at most ${MAX_FORM_FIELDS}`;
  return new WebhookRejectedError(413, 'too_many_fields', message);
}

/** 413 `too_many_fields` when fields read elsewhere (Google Forms' answers) hold more values than MAX_FORM_FIELDS. */
export function checkFieldCount(fields: FormFields): void {
  let count = 0;
  for (const value of Object.values(fields)) {
    count += Array.isArray(value) ? Math.max(1, value.length) : 1;
    if (count > MAX_FORM_FIELDS) throw tooManyFields();
  }
}

/** Counts a submission's fields as they are read and refuses it at the first one past a cap. */
function fieldCounter(): (name: string, value: string) => void {
  let count = 0;
  return (name, value) => {
    count += 1;
    if (count > MAX_FORM_FIELDS) throw tooManyFields();
    // Neither is echoed: the name or value may be anything the caller chose.
    for (const [what, text] of [
      ['a field name', name],
      ['a field value', value],
    ] as const) {
      if (text.length <= MAX_FIELD_CHARS) continue;
      const message = `${what} is ${text.length} characters long; at most ${MAX_FIELD_CHARS} are accepted`;
      throw new WebhookRejectedError(413, 'field_too_long', message);
    }
  };
}

/**
 * Parse the body by its content type; reject what is not a flat form, and a form over the caps above. Linear in
 * the body: repeated names are collected in place, never copied per repeat.
 */
export function parseFormBody(request: WebhookRequest): FormFields {
  checkBodySize(request);
  const type = mediaType(request);
  const count = fieldCounter();
  if (type === 'application/x-www-form-urlencoded') {
    const values = new Map<string, string[]>();
    for (const [key, value] of new URLSearchParams(request.rawBody.toString('utf8'))) {
      count(key, value);
      const name = key.endsWith('[]') ? key.slice(0, -2) : key;
      const list = values.get(name);
      if (list === undefined) values.set(name, [value]);
      else list.push(value);
    }
    // fromEntries defines own properties: a field named "__proto__" is a field like any other.
    const single = ([name, list]: [string, string[]]) =>
      [name, list.length === 1 ? (list[0] as string) : list] as const;
    return Object.fromEntries([...values].map(single));
  }
  if (type === 'application/json' || type?.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.rawBody.toString('utf8'));
    } catch (error) {
      throw new WebhookRejectedError(400, 'malformed_body', `body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new WebhookRejectedError(400, 'malformed_body', 'body must be a JSON object of form fields');
    }
    const entries: Array<[string, string | string[]]> = [];
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        count(key, String(value));
        entries.push([key, String(value)]);
      } else if (Array.isArray(value)) {
        const items = value.filter((item) => typeof item === 'string' || typeof item === 'number').map(String);
        for (const item of items) count(key, item);
        entries.push([key, items]);
      } else {
        // Nested objects and nulls carry no form field: ignored, but counted, as reading each is still a step.
        count(key, '');
      }
    }
    return Object.fromEntries(entries);
  }
  throw new WebhookRejectedError(
    415,
    'unsupported_content_type',
    `content type ${type === undefined ? '(none)' : `"${type}"`} is not supported; send application/json or application/x-www-form-urlencoded`,
  );
}

export type ContactField = keyof Required<Omit<FieldMapping, 'attributes'>>;

/**
 * Field names tried, in order, when the route names none. Compared without
 * case, spaces or punctuation, so a question titled "E-mail address:" is
 * `email_address`.
 */
export const AUTOMATIC_FIELDS: Record<ContactField, string[]> = {
  firstName: ['first_name', 'firstname', 'fname', 'given_name'],
  lastName: ['last_name', 'lastname', 'lname', 'surname', 'family_name'],
  fullName: ['name', 'full_name', 'your_name', 'your_full_name', 'contact_name'],
  email: ['email', 'email_address', 'your_email', 'mail'],
  phone: [
    'phone',
    'phone_number',
    'phone_no',
    'mobile',
    'mobile_phone',
    'mobile_number',
    'tel',
    'telephone',
    'whatsapp',
    'whatsapp_number',
    'cell',
    'cell_phone',
    'contact_number',
  ],
  country: ['country', 'country_code'],
  tags: ['tags'],
};

const squash = (key: string) => key.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

function pick(fields: FormFields, names: readonly string[], exact: boolean): string[] {
  const index = exact ? undefined : new Map(Object.keys(fields).map((key) => [squash(key), key]));
  for (const name of names) {
    const key = exact ? name : index?.get(squash(name));
    if (key === undefined || !Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    const values = (Array.isArray(value) ? value : [value])
      .map((item) => (item ?? '').trim())
      .filter((item) => item !== '');
    if (values.length > 0) return values;
  }
  return [];
}

export interface MappedContact {
  contact: Contact;
  /** Why the payload gives no usable contact; set when there is nothing to deliver. */
  skipReason?: string;
}

interface FormMappingOptions {
  /**
   * Keys whose kind the sender's payload shows (a Jotform name control's
   * `.first`, a phone control): tried before the automatic names when the
   * route names none for that field.
   */
  typed?: Partial<Record<ContactField, readonly string[]>>;
  /** Values used when neither the route's names nor the automatic ones find any (Google Forms' collected respondent email). */
  fallback?: Partial<Record<ContactField, readonly string[]>>;
  /** Tag naming the sender (`jotform`), first among the route's tags, as Shopify contacts carry `shopify`. */
  sourceTag?: string;
}

const clean = (values: readonly string[]) => values.map((value) => value.trim()).filter((value) => value !== '');

/**
 * Map form fields to a Contact: for each contact field, the route's field
 * names (exact keys) when it gives them; else the typed keys, then the
 * automatic names; then the fallback values. `occurredAt` is the submission
 * time when the sender states it, else when we received it.
 */
export function mapFormToContact(
  fields: FormFields,
  route: ResolvedRoute,
  eventKey: string,
  occurredAt = new Date(),
  options: FormMappingOptions = {},
): MappedContact {
  const names = route.fields ?? {};
  const get = (field: ContactField): string[] => {
    const explicit = names[field];
    const found =
      explicit !== undefined
        ? pick(fields, explicit, true)
        : ([pick(fields, options.typed?.[field] ?? [], true), pick(fields, AUTOMATIC_FIELDS[field], false)].find(
            (values) => values.length > 0,
          ) ?? []);
    return found.length > 0 ? found : clean(options.fallback?.[field] ?? []);
  };

  // A route that names only the full name means that field: detected first and last names must not win over it.
  const fullNameOnly = names.fullName !== undefined && names.firstName === undefined && names.lastName === undefined;
  const contactName = nameParts(
    fullNameOnly ? undefined : get('firstName')[0],
    fullNameOnly ? undefined : get('lastName')[0],
    get('fullName')[0],
  );

  const problems: string[] = [];
  const emails: string[] = [];
  for (const email of get('email')) {
    if (isEmail(email)) emails.push(email.toLowerCase());
    else problems.push(NOT_AN_EMAIL);
  }

  const countryInput = get('country')[0];
  const country = countryInput === undefined ? undefined : (regionOf(countryInput) ?? countryInput);
  const { phones, rejectedPhones, read: readPhone } = phoneReader(route, problems);
  for (const input of get('phone')) readPhone(input, country);

  const tags = [
    ...new Set(
      [
        ...(options.sourceTag !== undefined ? [options.sourceTag] : []),
        ...route.tags,
        ...get('tags').flatMap((value) => value.split(',').map((tag) => tag.trim())),
      ].filter(Boolean),
    ),
  ];
  const attributes: Record<string, string> = {};
  for (const name of names.attributes ?? []) {
    const values = pick(fields, [name], true);
    if (values.length > 0) attributes[name] = values.join(', ');
  }

  const origin = { source: route.source, route: route.name, eventKey, occurredAt: occurredAt.toISOString() };
  const read = { ...contactName, emails, phones, rejectedPhones, tags, attributes };
  return submittedContact(read, origin, problems, 'no email or phone field found');
}

/** Common English names that are not the names `Intl.DisplayNames` gives (those are covered by it). */
const COUNTRY_ALIASES: Record<string, string> = {
  usa: 'US',
  unitedstatesofamerica: 'US',
  uk: 'GB',
  greatbritain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
};

let countryNames: Map<string, string> | undefined;

/**
 * The ISO region of a country field: a code (`gb`) or an English name
 * (`United Kingdom`, as Jotform's country and address controls send it);
 * undefined when it is neither. Names come from ICU via `Intl.DisplayNames`,
 * so no country list is kept here.
 */
export function regionOf(value: string): string | undefined {
  const text = value.trim();
  if (/^[A-Za-z]{2}$/.test(text) && isRegion(text)) return text.toUpperCase();
  if (countryNames === undefined) {
    countryNames = new Map(Object.entries(COUNTRY_ALIASES));
    const display = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    for (let first = 65; first <= 90; first += 1) {
      for (let second = 65; second <= 90; second += 1) {
        const code = String.fromCharCode(first, second);
        const name = isRegion(code) ? display.of(code) : undefined;
        if (name !== undefined && !countryNames.has(squash(name))) countryNames.set(squash(name), code);
      }
    }
  }
  return countryNames.get(squash(text));
}

/** `Idempotency-Key` when the sender gives one, else a hash of the exact body. */
export function formEventKey(request: WebhookRequest): string {
  const given = request.headers['idempotency-key']?.trim();
  const key = given ? given.slice(0, 200) : `sha256:${createHash('sha256').update(request.rawBody).digest('hex')}`;
  return `form:${request.routeName}:${key}`;
}

/**
 * `POST /hooks/form/{route}`: JSON or urlencoded, fields found by name; open, or checked by token or HMAC as the
 * route says, then by the route's protection (honeypot, captcha, origins, rate limits: protection.ts).
 */
export const formSource: Source = {
  name: 'form',
  unknownRouteStatus: 404,
  async read(request, route, context) {
    const { now, secret } = context;
    await requireRouteAuth(request, route, secret);
    const fields = parseFormBody(request);
    const eventKey = formEventKey(request);
    const verdict = await protectForm(request, route, fields, context);
    if (verdict.kind === 'decoy') return { kind: 'ignored', reason: verdict.reason, decoyEventKey: eventKey };
    const reading = contactReading(eventKey, mapFormToContact(fields, route, eventKey, now));
    // The HMAC covers the body, not the Idempotency-Key header: the signed bytes are a key of the event too, so a
    // captured body sent again under a fresh key is a duplicate. Without the header the key is that hash already.
    const signedWithKey = routeAuth(route) === 'hmac' && request.headers['idempotency-key']?.trim();
    return signedWithKey && reading.kind === 'contact'
      ? { ...reading, bodyKey: signedBodyKey('form', request.rawBody) }
      : reading;
  },
};
