/**
 * The typed-field mapper shared by form tools whose answers carry a type
 * (Typeform, Tally, Webflow, ...), and the small pieces of webhook handling
 * those sources share: their JSON bodies and their signing secrets.
 *
 * Each source turns its payload into a list of TypedFields: one per answer,
 * hidden field or data key, with every name the route config may use for it
 * (id, ref, key, label). `mapTypedFields` then decides name, email, phone,
 * country, tags and attributes in one place, so every tool follows the same
 * precedence:
 *
 *  1. names the route config gives (`fields`), matched without case against
 *     any of a field's names — when the config names a part, nothing else is
 *     tried for it, so a configured form behaves predictably;
 *  2. the tool's own types (an `email` answer is the email, a `phone` answer
 *     the phone);
 *  3. the automatic names of the plain form source (`AUTOMATIC_FIELDS`:
 *     `email`, `phone`, `first_name`, `country`, ...), compared without case,
 *     spaces or punctuation;
 *  4. labels that contain those words ("What is your first name?", "Your
 *     email", "Mobile phone"), because form tools label fields with questions
 *     — only for free-text and hidden fields, so a yes/no question about
 *     email is never read as the address.
 */
import type { SourceName } from '../contact.js';
import type { FieldMapping, ResolvedRoute } from '../config/routes.js';
import type { ReadContext } from '../ingest.js';
import { SecretFormatError } from '../secrets.js';
import type * as z from '../zod.js';
import { describeIssues } from '../validation.js';
import { mediaType, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { AUTOMATIC_FIELDS, MAX_FORM_FIELDS, tooManyFields, type MappedContact } from './form.js';
import { isEmail, isoTime, nameParts, NOT_AN_EMAIL, phoneReader, submittedContact } from './mapping.js';

export type TypedFieldType =
  | 'email'
  | 'phone'
  | 'name'
  | 'first_name'
  | 'last_name'
  | 'country'
  | 'text'
  | 'number'
  | 'choice'
  | 'boolean'
  | 'date'
  | 'url'
  | 'hidden'
  | 'other';

export type TypedFieldValue = string | number | string[] | boolean | null;

export interface TypedField {
  /** Every name the route config may call this field by: id, ref, key, label. */
  names: string[];
  /** What the tool says the field is; undefined when it does not say (Webflow). */
  type?: TypedFieldType;
  value: TypedFieldValue;
}

interface MapTypedFieldsOptions {
  source: SourceName;
  eventKey: string;
  now: Date;
  /** When the person submitted the form (ISO 8601), if the payload says; else `now`. */
  occurredAt?: string | undefined;
}

type Part = keyof typeof AUTOMATIC_FIELDS;

/** The type that marks a field as a given part of the contact. */
const TYPE_OF_PART: Partial<Record<Part, TypedFieldType>> = {
  firstName: 'first_name',
  lastName: 'last_name',
  fullName: 'name',
  email: 'email',
  phone: 'phone',
  country: 'country',
};

/** Word sequences that mark a label as a part of the contact (tier 4); compared word by word. */
const LABEL_PHRASES: Partial<Record<Part, string[][]>> = {
  firstName: [['first', 'name'], ['given', 'name'], ['firstname']],
  lastName: [['last', 'name'], ['family', 'name'], ['surname'], ['lastname']],
  fullName: [['full', 'name'], ['your', 'name'], ['fullname']],
  email: [['email'], ['e', 'mail'], ['email', 'address']],
  phone: [['phone'], ['mobile'], ['whatsapp'], ['telephone'], ['cellphone'], ['phonenumber']],
  country: [['country']],
};

/** Only free text and hidden values are read by label words: a choice, number or yes/no never is. */
const LABEL_READABLE: ReadonlySet<TypedFieldType | undefined> = new Set([undefined, 'text', 'hidden']);

/** Automatic names compare without case, spaces or punctuation: "E-mail:" is `email`, "Phone Number" `phone_number`. */
const squash = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
const exact = (name: string) => name.trim().toLowerCase();
const words = (name: string) =>
  name
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);

// The Unicode regexes above dominated per-event time (npm run bench): automatic
// names are squashed once at load, and each field's names once per field.
const AUTOMATIC_SQUASHED = Object.fromEntries(
  Object.entries(AUTOMATIC_FIELDS).map(([part, names]) => [part, names.map(squash)]),
) as Record<keyof typeof AUTOMATIC_FIELDS, string[]>;
const squashedNamesOf = new WeakMap<TypedField, string[]>();
const wordsOf = new WeakMap<TypedField, string[][]>();
function squashedNames(field: TypedField): string[] {
  const cached = squashedNamesOf.get(field);
  if (cached !== undefined) return cached;
  const names = field.names.map(squash);
  squashedNamesOf.set(field, names);
  return names;
}
function nameWords(field: TypedField): string[][] {
  const cached = wordsOf.get(field);
  if (cached !== undefined) return cached;
  const list = field.names.map(words);
  wordsOf.set(field, list);
  return list;
}

function containsPhrase(label: string[], phrase: string[]): boolean {
  for (let start = 0; start + phrase.length <= label.length; start += 1) {
    if (phrase.every((word, offset) => label[start + offset] === word)) return true;
  }
  return false;
}

/** The non-empty values of a field as text; booleans carry no contact detail. */
function textValues(value: TypedFieldValue): string[] {
  if (typeof value === 'string') return value.trim() === '' ? [] : [value.trim()];
  if (typeof value === 'number') return Number.isFinite(value) ? [String(value)] : [];
  if (Array.isArray(value)) return value.map((item) => item.trim()).filter((item) => item !== '');
  return [];
}

/** Phone values keep JSON numbers as numbers: normalisePhone reads those without guessing a format. */
function phoneValues(value: TypedFieldValue): Array<string | number> {
  return typeof value === 'number' ? (Number.isFinite(value) ? [value] : []) : textValues(value);
}

/** Attributes keep what the person chose or ticked, booleans included. */
function attributeText(value: TypedFieldValue): string | undefined {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const values = textValues(value);
  return values.length > 0 ? values.join(', ') : undefined;
}

/**
 * The fields that may hold a part, in the order they are tried. With a
 * configured name list, only fields it names (in the list's order);
 * otherwise typed fields, then automatic names, then label words.
 */
function candidates(fields: readonly TypedField[], part: Part, mapping: FieldMapping): TypedField[] {
  const configured = mapping[part];
  if (configured !== undefined) {
    return configured.flatMap((name) =>
      fields.filter((field) => field.names.some((own) => exact(own) === exact(name))),
    );
  }
  const ordered: TypedField[] = [];
  // A set, not `ordered.includes`: thousands of fields of one type would make that quadratic.
  const seen = new Set<TypedField>();
  const add = (field: TypedField) => {
    if (seen.has(field) || typeof field.value === 'boolean') return;
    seen.add(field);
    ordered.push(field);
  };
  const type = TYPE_OF_PART[part];
  if (type !== undefined) fields.filter((field) => field.type === type).forEach(add);
  for (const name of AUTOMATIC_SQUASHED[part]) {
    fields.filter((field) => squashedNames(field).includes(name)).forEach(add);
  }
  for (const phrase of LABEL_PHRASES[part] ?? []) {
    fields
      .filter((field) => LABEL_READABLE.has(field.type) && nameWords(field).some((own) => containsPhrase(own, phrase)))
      .forEach(add);
  }
  return ordered;
}

const firstText = (fields: readonly TypedField[]) =>
  fields.map((field) => textValues(field.value)[0]).find((value) => value !== undefined);

/**
 * 413 `too_many_fields` past the plain form's cap: fields and list items each count, as each may be read as a
 * phone or an email. Typed senders sign their bodies, but Tally may post unsigned to an `auth: none` route.
 */
function checkFieldCount(fields: readonly TypedField[]): void {
  let count = 0;
  for (const field of fields) {
    count += Array.isArray(field.value) ? Math.max(1, field.value.length) : 1;
    if (count > MAX_FORM_FIELDS) throw tooManyFields();
  }
}

/** Map a form tool's typed fields to a Contact; `skipReason` when it has no usable email or phone. */
export function mapTypedFields(
  fields: readonly TypedField[],
  route: ResolvedRoute,
  options: MapTypedFieldsOptions,
): MappedContact {
  checkFieldCount(fields);
  const mapping = route.fields ?? {};
  const find = (part: Part) => candidates(fields, part, mapping);

  const contactName = nameParts(firstText(find('firstName')), firstText(find('lastName')), firstText(find('fullName')));

  // Fields are tried in order until one gives a valid value, so a typed
  // answer wins over a field that merely looks like one; invalid values seen
  // on the way are kept to explain a skip.
  const problems: string[] = [];
  const emails: string[] = [];
  const seenEmails = new Set<string>();
  let emailField: TypedField | undefined;
  for (const field of find('email')) {
    for (const input of textValues(field.value)) {
      const email = input.toLowerCase();
      if (!isEmail(email)) problems.push(NOT_AN_EMAIL);
      else if (!seenEmails.has(email)) {
        seenEmails.add(email);
        emails.push(email);
      }
    }
    if (emails.length > 0) {
      emailField = field;
      break;
    }
  }

  const country = firstText(find('country'));
  const { phones, rejectedPhones, read: readPhone } = phoneReader(route, problems);
  for (const field of find('phone')) {
    // A field labelled "Email or phone" that gave the email is not also read as a phone.
    if (field === emailField) continue;
    for (const input of phoneValues(field.value)) readPhone(input, country);
    if (phones.length > 0) break;
  }

  // Every field the tags part finds contributes: a checkbox list gives its ticked labels, a text field comma-separated tags.
  const formTags = find('tags').flatMap((field) =>
    textValues(field.value).flatMap((value) => value.split(',').map((tag) => tag.trim())),
  );
  const tags = [...new Set([options.source, ...route.tags, ...formTags].filter(Boolean))];

  const attributes: Record<string, string> = {};
  for (const name of mapping.attributes ?? []) {
    const text = fields
      .filter((field) => field.names.some((own) => exact(own) === exact(name)))
      .map((field) => attributeText(field.value))
      .find((value) => value !== undefined);
    if (text !== undefined) attributes[name] = text;
  }

  const occurredAt = isoTime(options.occurredAt) ?? options.now.toISOString();
  const origin = { source: options.source, route: route.name, eventKey: options.eventKey, occurredAt };
  const read = { ...contactName, emails, phones, rejectedPhones, tags, attributes };
  return submittedContact(read, origin, problems, 'no email or phone field found');
}

// ---------------------------------------------------------------------------
// Shared by the typed form sources: JSON bodies and signing secrets.

/**
 * The JSON of a webhook body: 415 for another media type, 400
 * `malformed_body` for invalid JSON. Call it only after the signature has
 * been checked, so nothing unauthenticated is parsed.
 */
export function readJsonBody(request: WebhookRequest, what: string): unknown {
  const type = mediaType(request);
  if (type !== 'application/json' && !type?.endsWith('+json')) {
    throw new WebhookRejectedError(
      415,
      'unsupported_content_type',
      `content type ${type === undefined ? '(none)' : `"${type}"`} is not supported; ${what} webhooks are application/json`,
    );
  }
  try {
    return JSON.parse(request.rawBody.toString('utf8')) as unknown;
  } catch (error) {
    throw new WebhookRejectedError(400, 'malformed_body', `body is not valid JSON: ${(error as Error).message}`);
  }
}

/** `body` checked against `schema`; 400 `malformed_body` naming every field that is wrong. */
export function checkBody<S extends z.ZodMiniType>(schema: S, body: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new WebhookRejectedError(
      400,
      'malformed_body',
      `body is not a ${what} webhook: ${describeIssues(result.error)}`,
    );
  return result.data as z.infer<S>;
}

/**
 * The route's HMAC signing secret. A secret holding only a `token` cannot
 * check a signature: that is our configuration, so it is a secret error
 * (500, the sender retries until it is fixed), not the sender's fault.
 */
export async function signingSecret(context: ReadContext, route: ResolvedRoute): Promise<string> {
  const { secret } = await context.secret();
  if (secret === undefined) {
    throw new SecretFormatError(
      route.secretName ?? `contact-relay/{stage}/source/${route.source}`,
      `needs "secret" (the signing secret ${route.source} uses)`,
    );
  }
  return secret;
}

/** The time the person submitted, as ISO 8601, from the first of `values` that is a date. */
export function firstTimestamp(...values: Array<string | null | undefined>): string | undefined {
  return values.map(isoTime).find((value) => value !== undefined);
}
