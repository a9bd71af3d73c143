/**
 * fast-check arbitraries and oracles shared by the property tests
 * (`*.property.test.ts`): what senders send (phones, emails, names, field
 * sets, each source's payload shape, with junk mixed in), how each source's
 * sender authenticates a body, and an independent judgement of whether a
 * request was authenticated, so properties can say "accept is only ever
 * called for an authenticated request" without trusting the code under test.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, vi } from 'vitest';
import { getCountries, getExampleNumber, type CountryCode } from 'libphonenumber-js';
import examples from 'libphonenumber-js/mobile/examples';
import { ContactSchema, type Contact, type SourceName } from '../../shared/contact.js';
import { findRoute, parseRoutesConfig, routeAuth, type FieldMapping, type ResolvedRoute, type RoutesConfig } from '../../shared/config/routes.js';
import type { IngestDependencies, Source } from '../../shared/ingest.js';
import { formSource } from '../../shared/sources/form.js';
import { googleFormsSource } from '../../shared/sources/google-forms.js';
import { jotformSource } from '../../shared/sources/jotform.js';
import { shopifySource } from '../../shared/shopify/webhook.js';
import { tallySource } from '../../shared/sources/tally.js';
import { typeformSource } from '../../shared/sources/typeform.js';
import { webflowSource } from '../../shared/sources/webflow.js';
import { woocommerceSource } from '../../shared/sources/woocommerce.js';
import { MAX_BODY_BYTES, type WebhookAnswer, type WebhookRequest } from '../../shared/webhook.js';
import { testRoute } from './routes.js';

/** The clock every property runs at, and the route secret `{ secret: 's', token: 't' }`. */
export const NOW = new Date('2026-11-21T10:00:00.000Z');
export const SECRET = 's';
export const TOKEN = 't';
export const WEBFLOW_MAX_SKEW_MS = 5 * 60 * 1000;

// ---------------------------------------------------------------------------
// Values senders put in fields

export const REGIONS: CountryCode[] = getCountries();

export interface ExamplePhone {
  country: CountryCode;
  e164: string;
  national: string;
  international: string;
  nationalNumber: string;
}

/** One valid mobile number per region libphonenumber knows, in the formats people type. */
export const EXAMPLE_PHONES: ExamplePhone[] = REGIONS.flatMap((country) => {
  const example = getExampleNumber(country, examples);
  if (example === undefined) return [];
  return [{ country, e164: example.number, national: example.formatNational(), international: example.formatInternational(), nationalNumber: example.nationalNumber }];
});

export const examplePhone: fc.Arbitrary<ExamplePhone> = fc.constantFrom(...EXAMPLE_PHONES);

const SEPARATORS = ['', '', '', ' ', '-', '.', ' (', ') ', '/', '  ', ' - '];
/** Digits with the separators people type between them. */
export const digitRun = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom(...SEPARATORS)), { minLength, maxLength })
    .map((parts) => parts.map(([digit, separator]) => `${digit}${separator}`).join('').trim());

/** A phone as typed: valid numbers in every format (E.164, international, national, `00`), near misses, digit soup and junk. */
export const phoneText: fc.Arbitrary<string> = fc.oneof(
  examplePhone.map((phone) => phone.e164),
  examplePhone.map((phone) => phone.international),
  examplePhone.map((phone) => phone.national),
  examplePhone.map((phone) => `00${phone.e164.slice(1)}`),
  examplePhone.map((phone) => `00 ${phone.international.slice(1)}`),
  // A valid number with its last digits changed: valid or not, depending on the plan.
  fc.tuple(examplePhone, fc.integer({ min: 0, max: 999 })).map(([phone, tail]) => `${phone.e164.slice(0, -3)}${String(tail).padStart(3, '0')}`),
  // At most 12 digits in all: longer ones meet the open normalisePhone finding (numbers of more than 15 digits accepted as valid in
  // DE, NG, ID, JP, e.g. normalisePhone('10000000000000', { defaultRegion: 'DE' }) gives '+4910000000000000'), which would fail every
  // contact property. phone.property.test.ts pins everything else about normalisePhone.
  fc.tuple(fc.constantFrom('', '', '+', '00', '0', '011', '+00', '(0)'), digitRun(1, 9)).map(([prefix, digits]) => `${prefix}${digits}`),
  fc.constantFrom(
    '',
    ' ',
    '+',
    '00',
    'n/a',
    '12',
    '(415) 555-0132',
    '+1 415 555 0132 ext. 12',
    '1-800-FLOWERS',
    '+44 (0) 20 7946 0018',
    '0044 20 7946 0018',
    '020 7946 0018',
    '+49 151 23456789',
    '011 15 2345-6789',
    '+999 1234 5678',
    '+1 000 555 0132',
    'tel:+14155550132',
  ),
  fc.string({ maxLength: 24 }),
);

/** A phone sent as a JSON number (Webflow, spreadsheets): digits of real numbers, and numbers that are not phones. */
export const phoneNumber: fc.Arbitrary<number> = fc.oneof(
  // At most 12 digits, as for phoneText: the international digits of a 13-digit number read nationally in Nigeria or Germany
  // meet the same finding (8801812345678 read in NG gives '+2348801812345678').
  examplePhone.map((phone) => Number(phone.e164.slice(1))).filter((number) => number <= 999_999_999_999),
  examplePhone.map((phone) => Number(phone.nationalNumber)),
  fc.integer(),
  fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 2 ** 60, Number.MAX_SAFE_INTEGER + 2, 4155550132, 14155550132),
);

/** Addresses of the everyday kind (`ada.lovelace+news@mail.example.co.uk`). */
export const plainEmail: fc.Arbitrary<string> = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]([a-z0-9._+-]{0,10}[a-z0-9])?$/).filter((local) => !local.includes('..')),
    fc.array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/), { minLength: 1, maxLength: 2 }),
    fc.constantFrom('com', 'de', 'co', 'org', 'io', 'example'),
  )
  .map(([local, labels, tld]) => `${local}@${labels.join('.')}.${tld}`);

/** Emails as typed: valid ones in any case and with spaces around, near misses and junk. */
export const emailText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: plainEmail },
  { weight: 1, arbitrary: plainEmail.map((email) => ` ${email.toUpperCase()}  `) },
  fc.emailAddress(),
  fc.emailAddress().map((email) => email.toUpperCase()),
  fc.emailAddress().map((email) => `  ${email} `),
  fc.constantFrom(
    'ada@example.com',
    'Ada.Lovelace+tag@Example.co.uk',
    "o'brien@example.ie",
    'ada@',
    '@example.com',
    'ada@example',
    'ada example.com',
    'ada@@example.com',
    'ada@exa mple.com',
    'ada.@example.com',
    'ada..b@example.com',
    'adä@example.com',
    'ada@example.com, bob@example.com',
    'mailto:ada@example.com',
    '<ada@example.com>',
    'ada@example.c',
  ),
  fc.string({ maxLength: 24 }),
);

export const nameText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('Ada', 'Ada Lovelace', '  Grace   Brewster Hopper ', 'O&#039;Brien', 'Zoë', 'Ng', ''),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

export const countryText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...REGIONS),
  fc.constantFrom(...REGIONS).map((region) => region.toLowerCase()),
  fc.constantFrom('United Kingdom', 'Germany', 'united states', 'usa', 'UK', 'Deutschland', 'XX', ' gb ', ''),
  fc.string({ maxLength: 5 }),
);

/** Any value a text field may hold. */
export const fieldText: fc.Arbitrary<string> = fc.oneof(phoneText, emailText, nameText, countryText, fc.string({ maxLength: 16 }));

export const dateText: fc.Arbitrary<string> = fc.oneof(
  fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom('2017-03-22T19:28:02', '2026-11-21', 'yesterday', '', '0', '2026-13-45T99:99:99Z'),
  fc.string({ maxLength: 12 }),
);

/** Field names the automatic detection knows, question-style labels, configured names, prototype keys and random names. */
export const FIELD_NAMES = [
  'email',
  'Email',
  'E-mail:',
  'email_address',
  'your_email',
  'mail',
  'phone',
  'Phone Number',
  'phone_number',
  'mobile',
  'Mobile phone (WhatsApp)',
  'whatsapp',
  'tel',
  'cell',
  'first_name',
  'First Name',
  'firstname',
  'fname',
  'last_name',
  'surname',
  'Last-Name',
  'name',
  'full_name',
  'Your name',
  'What is your first name?',
  'Your e-mail',
  'May we phone you?',
  'country',
  'Country',
  'country_code',
  'Land',
  'tags',
  'Tags',
  'utm_source',
  'plan',
  'Kampagne',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
] as const;

export const fieldName: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });

/** Names a field holding one part of a contact goes by, in the forms senders use. */
export const ROLE_NAMES = {
  email: ['email', 'Email', 'E-mail:', 'email_address', 'your_email', 'mail', 'Your e-mail'],
  phone: ['phone', 'Phone Number', 'phone_number', 'mobile', 'whatsapp', 'tel', 'cell', 'Mobile phone (WhatsApp)'],
  firstName: ['first_name', 'First Name', 'firstname', 'fname', 'What is your first name?'],
  lastName: ['last_name', 'surname', 'Last-Name'],
  fullName: ['name', 'full_name', 'Your name'],
  country: ['country', 'Country', 'country_code', 'Land'],
  tags: ['tags', 'Tags'],
} as const;
export type Role = keyof typeof ROLE_NAMES;

const ROLE_VALUES: Record<Role, fc.Arbitrary<string>> = { email: emailText, phone: phoneText, firstName: nameText, lastName: nameText, fullName: nameText, country: countryText, tags: fc.string({ maxLength: 16 }) };

/** The contact parts a submission carries (each at most once), each under one of its usual names: role, field name, text. */
export const roleFields: fc.Arbitrary<Array<[Role, string, string]>> = fc
  .subarray(Object.keys(ROLE_NAMES) as Role[])
  .chain((roles) => fc.tuple(...roles.map((role) => fc.tuple(fc.constant(role), fc.constantFrom(...ROLE_NAMES[role]), ROLE_VALUES[role]))))
  .map((parts) => parts as Array<[Role, string, string]>);

/** What a flat form field may hold once parsed: text or a list of texts. */
export const formValue: fc.Arbitrary<string | string[]> = fc.oneof({ weight: 4, arbitrary: fieldText }, { weight: 1, arbitrary: fc.array(fieldText, { maxLength: 3 }) });

/** A JSON leaf a sender may put where text is expected. */
export const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fieldText },
  { weight: 2, arbitrary: phoneNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fieldText, phoneNumber), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A flat submission: its contact parts, a phone sometimes as a JSON number, and other fields of any name and value; in random order. */
export const flatFields: fc.Arbitrary<Array<[string, unknown]>> = fc
  .tuple(roleFields, phoneNumber, fc.boolean(), fc.array(fc.tuple(fieldName, jsonLeaf), { maxLength: 3 }))
  .chain(([roles, number, numeric, extra]) =>
    fc.shuffledSubarray(
      [...roles.map(([role, name, value]): [string, unknown] => [name, role === 'phone' && numeric ? number : value]), ...extra],
      { minLength: roles.length + extra.length },
    ),
  );

const nullable = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arbitrary, { nil: null, freq: 4 });
const idText = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/), fc.uuid());

// ---------------------------------------------------------------------------
// Junk mixed into well-shaped payloads

/** `value` with its `index`-th node (depth first, the root being 0) replaced by `replacement`. */
export function replaceNode(value: unknown, index: number, replacement: unknown): unknown {
  const nodes: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number } | undefined> = [undefined];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      node.forEach((child, key) => {
        nodes.push({ parent: node, key });
        walk(child);
      });
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        nodes.push({ parent: node as Record<string, unknown>, key });
        walk(child);
      }
    }
  };
  const copy = structuredClone(value);
  walk(copy);
  const target = nodes[index % nodes.length];
  if (target === undefined) return replacement;
  (target.parent as Record<string | number, unknown>)[target.key] = replacement;
  return copy;
}

/** Mostly `shaped`, sometimes with one node replaced by arbitrary JSON (a wrong type, a missing object, ...). */
export function withJunk<T>(shaped: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: shaped },
    { weight: 1, arbitrary: fc.tuple(shaped, fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(([value, index, replacement]) => replaceNode(value, index, replacement)) },
  );
}

// ---------------------------------------------------------------------------
// Each source's payload shape

const typeformField = fc.record({ id: fc.constantFrom('q1', 'q2', 'q3', 'q4', 'q5'), ref: nullable(fieldName), type: fc.constantFrom('short_text', 'email', 'phone_number') });
const typeformAnswer = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('email'), field: typeformField, email: nullable(emailText) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('phone_number'), field: typeformField, phone_number: nullable(phoneText) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('text'), field: typeformField, text: nullable(fieldText) }) },
  fc.record({ type: fc.constant('number'), field: typeformField, number: nullable(phoneNumber) }),
  fc.record({ type: fc.constant('boolean'), field: typeformField, boolean: nullable(fc.boolean()) }),
  fc.record({ type: fc.constant('choice'), field: typeformField, choice: nullable(fc.record({ label: nullable(fieldText), other: nullable(fieldText) }, { requiredKeys: [] })) }),
  fc.record({ type: fc.constant('choices'), field: typeformField, choices: nullable(fc.record({ labels: nullable(fc.array(fieldText, { maxLength: 3 })), other: nullable(fieldText) }, { requiredKeys: [] })) }),
  fc.record({ type: fc.constantFrom('date', 'url', 'file_url'), field: typeformField, date: nullable(dateText), url: nullable(fc.constantFrom('https://example.com/', 'not a url')), file_url: nullable(fc.constantFrom('https://example.com/f.pdf')) }, { requiredKeys: ['type', 'field'] }),
  fc.record({ type: fc.constantFrom('payment', 'multi_format', 'something_new'), field: typeformField }),
);

/** Typeform answers for the contact parts (an `email` answer, a `phone_number` answer, text answers titled like the part), among other answers. */
const typeformAnswers = fc
  .tuple(
    roleFields.chain((roles) =>
      fc.tuple(
        ...roles.map(([role, title, value]) =>
          fc.tuple(fc.constantFrom('q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7'), fc.boolean()).map(([id, typed]) => {
            const field = { id, ref: title, type: 'short_text' };
            if (typed && role === 'email') return { type: 'email', field, email: value };
            if (typed && role === 'phone') return { type: 'phone_number', field, phone_number: value };
            return { type: 'text', field, text: value };
          }),
        ),
      ),
    ),
    fc.array(typeformAnswer, { maxLength: 3 }),
  )
  .chain(([roles, others]) => fc.shuffledSubarray([...roles, ...others] as unknown[], { minLength: roles.length + others.length }));

export const typeformPayload: fc.Arbitrary<unknown> = fc.record(
  {
    event_id: nullable(idText),
    event_type: fc.oneof({ weight: 9, arbitrary: fc.constant('form_response') }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
    form_response: fc.record(
      {
        form_id: idText,
        token: nullable(idText),
        submitted_at: nullable(dateText),
        hidden: nullable(fc.dictionary(fieldName, fc.oneof(fieldText, phoneNumber, fc.constant(null)), { maxKeys: 4 })),
        definition: nullable(fc.record({ fields: nullable(fc.array(fc.record({ id: fc.constantFrom('q1', 'q2', 'q3', 'q4', 'q5'), ref: nullable(fieldName), title: nullable(fieldName) }), { maxLength: 5 })) })),
        answers: nullable(typeformAnswers),
      },
      { requiredKeys: ['form_id'] },
    ),
  },
  { requiredKeys: ['event_id', 'event_type', 'form_response'] },
);

const TALLY_TYPES = ['INPUT_EMAIL', 'INPUT_PHONE_NUMBER', 'HIDDEN_FIELDS', 'INPUT_TEXT', 'TEXTAREA', 'INPUT_NUMBER', 'MULTIPLE_CHOICE', 'CHECKBOXES', 'DROPDOWN', 'INPUT_DATE', 'INPUT_LINK', 'FILE_UPLOAD', 'MATRIX', 'CALCULATED_FIELDS', 'PAYMENT'];
const tallyOptionId = fc.constantFrom('opt-1', 'opt-2', 'opt-3');
const tallyField = fc.record(
  {
    key: fc.oneof(fc.constantFrom('question_1', 'question_2', 'question_3'), fieldName),
    label: nullable(fieldName),
    type: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TALLY_TYPES) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }),
    value: fc.oneof(jsonLeaf, tallyOptionId, fc.array(fc.oneof(tallyOptionId, fieldText, fc.record({ url: fc.constantFrom('https://storage.tally.so/private/cv.pdf', 'https://example.com/a.png') })), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }), { maxKeys: 2 })),
    options: nullable(fc.array(fc.record({ id: tallyOptionId, text: nullable(fieldText) }), { maxLength: 3 })),
  },
  { requiredKeys: ['key', 'type', 'value'] },
);

const TALLY_ROLE_TYPES: Record<Role, string[]> = {
  email: ['INPUT_EMAIL', 'INPUT_TEXT', 'HIDDEN_FIELDS'],
  phone: ['INPUT_PHONE_NUMBER', 'INPUT_TEXT', 'HIDDEN_FIELDS', 'INPUT_NUMBER'],
  firstName: ['INPUT_TEXT'],
  lastName: ['INPUT_TEXT'],
  fullName: ['INPUT_TEXT'],
  country: ['HIDDEN_FIELDS', 'DROPDOWN'],
  tags: ['CHECKBOXES', 'INPUT_TEXT'],
};
/** Tally questions for the contact parts, typed as Tally types them, among other questions. */
const tallyFields = fc
  .tuple(roleFields.chain((roles) => fc.tuple(...roles.map(([role, label, value]) => fc.tuple(fc.constantFrom(...TALLY_ROLE_TYPES[role]), fc.string({ unit: fc.constantFrom(...'abcdefXYZ0123'.split('')), minLength: 6, maxLength: 6 }).map((id) => `question_${id}`)).map(([type, key]) => ({ key, label, type, value }))))), fc.array(tallyField, { maxLength: 3 }))
  .chain(([roles, others]) => fc.shuffledSubarray([...roles, ...others] as unknown[], { minLength: roles.length + others.length }));

export const tallyPayload: fc.Arbitrary<unknown> = fc.record(
  {
    eventId: nullable(idText),
    eventType: fc.oneof({ weight: 9, arbitrary: fc.constant('FORM_RESPONSE') }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
    createdAt: nullable(dateText),
    data: fc.record(
      {
        responseId: nullable(idText),
        submissionId: nullable(idText),
        formId: idText,
        formName: nullable(fc.string({ maxLength: 12 })),
        createdAt: nullable(dateText),
        fields: tallyFields,
      },
      { requiredKeys: ['formId', 'fields'] },
    ),
  },
  { requiredKeys: ['eventId', 'eventType', 'data'] },
);

export const webflowPayload: fc.Arbitrary<unknown> = fc.record(
  {
    triggerType: fc.oneof({ weight: 9, arbitrary: fc.constant('form_submission') }, { weight: 1, arbitrary: fc.constantFrom('site_publish', 'page_created', '') }),
    payload: fc.record(
      {
        name: nullable(fc.string({ maxLength: 12 })),
        siteId: idText,
        data: flatFields.map((entries) => Object.fromEntries(entries)),
        submittedAt: nullable(dateText),
        id: idText,
        formId: nullable(idText),
      },
      { requiredKeys: ['siteId', 'data', 'id'] },
    ),
  },
  { requiredKeys: ['triggerType', 'payload'] },
);

const googleId = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
export const googleFormsPayload: fc.Arbitrary<unknown> = fc.record(
  {
    formId: googleId,
    responseId: googleId,
    submittedAt: dateText,
    respondentEmail: nullable(emailText),
    answers: fc.tuple(roleFields, fc.dictionary(fieldName, formValue, { maxKeys: 2 })).map(([roles, extra]) => ({ ...extra, ...Object.fromEntries(roles.map(([, name, value]) => [name, value])) })),
  },
  { requiredKeys: ['formId', 'responseId', 'submittedAt', 'answers'] },
);

/** The plain form: field name → text, number, list, or something a form field is not. */
export const formPayload: fc.Arbitrary<Record<string, unknown>> = flatFields.map((entries) => Object.fromEntries(entries));

const JOTFORM_NAMES = ['fullName', 'name', 'yourName', 'email', 'eMail', 'phoneNumber', 'phone', 'rueckruf', 'address', 'land', 'country', 'kampagne', 'typeA'];
const jotformAnswerKey = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 1, max: 40 }), fc.oneof(fc.constantFrom(...JOTFORM_NAMES), fieldName)).map(([n, name]) => `q${n}_${name}`) },
  { weight: 1, arbitrary: fc.constantFrom('slug', 'event_id', 'path', 'jsExecutionTracker', 'submitSource') },
);
const jotformAnswer = fc.oneof(
  { weight: 4, arbitrary: jsonLeaf },
  { weight: 1, arbitrary: fc.record({ first: nameText, middle: nameText, last: nameText }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ full: phoneText }) },
  { weight: 1, arbitrary: fc.record({ country: fc.oneof(fc.constantFrom('44', '+49', '1', ''), fc.string({ maxLength: 4 })), area: digitRun(0, 4), phone: digitRun(0, 8) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ addr_line1: fc.string({ maxLength: 12 }), city: fc.string({ maxLength: 8 }), postal: fc.string({ maxLength: 6 }), country: countryText }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), jsonLeaf, { maxKeys: 3 }) },
);
/** Answers under `q<N>_<name>`: the contact parts under names the detection knows, compound controls, bookkeeping keys. */
export const jotformRawRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(roleFields, fc.array(fc.tuple(jotformAnswerKey, jotformAnswer), { maxLength: 4 }))
  .map(([roles, others]) =>
    Object.fromEntries([...roles.map(([, name, value], index): [string, unknown] => [`q${index + 1}_${name.replace(/[^A-Za-z0-9_]/g, '')}`, value]), ...others]),
  );

const jotformId = fc.oneof({ weight: 30, arbitrary: fc.stringMatching(/^[0-9]{1,19}$/) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
/** Jotform's envelope: ids, title, and `rawRequest` as the JSON text of the answers (rarely not JSON at all). */
export const jotformEnvelope = (rawRequest: fc.Arbitrary<unknown> = jotformRawRequest): fc.Arbitrary<Record<string, string>> =>
  fc.record(
    {
      formID: jotformId,
      submissionID: jotformId,
      formTitle: fc.string({ maxLength: 12 }),
      rawRequest: fc.oneof({ weight: 12, arbitrary: rawRequest.map((value) => JSON.stringify(value) ?? 'null') }, { weight: 1, arbitrary: fc.string({ maxLength: 16 }) }),
      pretty: fc.string({ maxLength: 16 }),
    },
    { requiredKeys: ['formID', 'submissionID', 'rawRequest'] },
  );

const shopifyAddress = fc.record(
  {
    first_name: nullable(nameText),
    last_name: nullable(nameText),
    phone: nullable(phoneText),
    country_code: nullable(countryText),
    address1: nullable(fc.string({ maxLength: 12 })),
    address2: nullable(fc.string({ maxLength: 12 })),
    city: nullable(fc.string({ maxLength: 8 })),
    province: nullable(fc.string({ maxLength: 8 })),
    zip: nullable(fc.string({ maxLength: 6 })),
  },
  { requiredKeys: [] },
);
const consent = nullable(fc.record({ state: nullable(fc.constantFrom('subscribed', 'unsubscribed', 'not_subscribed', 'pending', 'SUBSCRIBED', 'redacted', '')) }));
const gid = (kind: 'Order' | 'Customer') => fc.oneof({ weight: 9, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 63n }).map((id) => `gid://shopify/${kind}/${id}`) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });

export const shopifyOrderPayload: fc.Arbitrary<unknown> = fc.record(
  {
    id: fc.maxSafeInteger(),
    admin_graphql_api_id: gid('Order'),
    name: nullable(fc.string({ maxLength: 8 })),
    email: nullable(emailText),
    phone: nullable(phoneText),
    created_at: nullable(dateText),
    total_price: nullable(fc.oneof(fc.string({ maxLength: 8 }), fc.double({ noNaN: true, noDefaultInfinity: true }))),
    currency: nullable(fc.constantFrom('EUR', 'USD', '')),
    customer: nullable(
      fc.record(
        {
          id: fc.maxSafeInteger(),
          admin_graphql_api_id: nullable(gid('Customer')),
          first_name: nullable(nameText),
          last_name: nullable(nameText),
          email: nullable(emailText),
          phone: nullable(phoneText),
          default_address: nullable(shopifyAddress),
          email_marketing_consent: consent,
          sms_marketing_consent: consent,
        },
        { requiredKeys: [] },
      ),
    ),
    billing_address: nullable(shopifyAddress),
    shipping_address: nullable(shopifyAddress),
  },
  { requiredKeys: ['admin_graphql_api_id'] },
);

export const shopifyCustomerPayload: fc.Arbitrary<unknown> = fc.record(
  {
    id: fc.maxSafeInteger(),
    admin_graphql_api_id: gid('Customer'),
    first_name: nullable(nameText),
    last_name: nullable(nameText),
    email: nullable(emailText),
    phone: nullable(phoneText),
    created_at: nullable(dateText),
    updated_at: nullable(dateText),
    default_address: nullable(shopifyAddress),
    addresses: nullable(fc.array(shopifyAddress, { maxLength: 3 })),
    email_marketing_consent: consent,
    sms_marketing_consent: consent,
  },
  { requiredKeys: ['admin_graphql_api_id'] },
);

const wooAddress = fc.record(
  {
    first_name: nullable(nameText),
    last_name: nullable(nameText),
    company: nullable(fc.string({ maxLength: 8 })),
    address_1: nullable(fc.string({ maxLength: 12 })),
    address_2: nullable(fc.string({ maxLength: 12 })),
    city: nullable(fc.string({ maxLength: 8 })),
    state: nullable(fc.string({ maxLength: 4 })),
    postcode: nullable(fc.string({ maxLength: 6 })),
    country: nullable(countryText),
    email: nullable(emailText),
    phone: nullable(phoneText),
  },
  { requiredKeys: [] },
);
const wooId = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) }, { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) });

export const wooOrderPayload: fc.Arbitrary<unknown> = fc.record(
  {
    id: wooId,
    number: nullable(fc.string({ maxLength: 6 })),
    currency: nullable(fc.constantFrom('EUR', 'USD', '')),
    total: nullable(fc.oneof(fc.string({ maxLength: 8 }), fc.double({ noNaN: true, noDefaultInfinity: true }))),
    customer_id: nullable(fc.integer({ min: -1, max: 1000 })),
    date_created_gmt: nullable(dateText),
    date_modified_gmt: nullable(dateText),
    billing: nullable(wooAddress),
    shipping: nullable(wooAddress),
  },
  { requiredKeys: ['id'] },
);

export const wooCustomerPayload: fc.Arbitrary<unknown> = fc.record(
  {
    id: wooId,
    email: nullable(emailText),
    first_name: nullable(nameText),
    last_name: nullable(nameText),
    date_created_gmt: nullable(dateText),
    billing: nullable(wooAddress),
    shipping: nullable(wooAddress),
  },
  { requiredKeys: ['id'] },
);

// ---------------------------------------------------------------------------
// Routes

/** A random route of `source`: region, WhatsApp flag, tags, and sometimes configured field names. */
export function routeOf(source: SourceName): fc.Arbitrary<ResolvedRoute> {
  const names = fc.array(fc.constantFrom(...FIELD_NAMES), { minLength: 1, maxLength: 3 });
  const fields: fc.Arbitrary<FieldMapping> = fc.record(
    { firstName: names, lastName: names, fullName: names, email: names, phone: names, country: names, tags: names, attributes: names },
    { requiredKeys: [] },
  );
  return fc
    .record(
      {
        defaultRegion: fc.constantFrom('US', 'GB', 'DE', 'NL', 'IN', 'BR', 'AR', 'FR', 'JP', 'AU', 'BS', 'VA'),
        whatsappNumbers: fc.boolean(),
        tags: fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 2 }),
        fields,
      },
      { requiredKeys: ['whatsappNumbers', 'tags'] },
    )
    .map((route) => testRoute({ source, ...route }));
}

// ---------------------------------------------------------------------------
// Requests as each sender makes them

export interface Genuine {
  /** Headers a genuine delivery carries besides its content type and authentication (Shopify's and WooCommerce's delivery headers). */
  headers: Record<string, string>;
  contentType: string | undefined;
  body: Buffer;
}

export interface SourceCase {
  name: SourceName;
  source: Source;
  routes: RoutesConfig;
  /** Every route configured for the source; `routeAuth` says which check requests. */
  routeNames: string[];
  /** Header names the source authenticates with, lower-cased. */
  authHeaders: string[];
  /** Well-shaped payloads (with junk mixed in), encoded as the sender sends them. */
  genuine: fc.Arbitrary<Genuine>;
  /** Arbitrary JSON where the sender puts its payload (Jotform: in `rawRequest`; elsewhere the body), and arbitrary JSON as the body itself. */
  arbitraryJson: fc.Arbitrary<Genuine>;
  /** Real deliveries (test/fixtures), each answered 200 `accepted` or `skipped` on route `default`. */
  fixtures: Genuine[];
}

const ACCOUNTS = { twochat: { provider: 'twochat' } } as const;
const fixture = (path: string): Buffer => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
const jsonGenuine = (headers: Record<string, string> = {}) => (value: unknown): Genuine => ({ headers, contentType: 'application/json', body: json(value) });

/** Configured field names for the `mapped` routes. */
const MAPPED_FIELDS: FieldMapping = { fullName: ['Your name', 'name'], email: ['mail', 'Email'], phone: ['mobile', 'Phone Number'], country: ['Land'], tags: ['tags'], attributes: ['utm_source', 'plan', 'Kampagne'] };

function routesFor(source: SourceName, extra: Record<string, Record<string, unknown>> = {}): RoutesConfig {
  return parseRoutesConfig({
    accounts: ACCOUNTS,
    sources: {
      [source]: {
        default: { deliverTo: ['twochat'] },
        regional: { deliverTo: ['twochat'], defaultRegion: 'GB', whatsappNumbers: true, tags: ['lead'] },
        mapped: { deliverTo: ['twochat'], defaultRegion: 'DE', fields: MAPPED_FIELDS },
        ...extra,
      },
    },
  });
}

/** multipart/form-data with text parts, as a browser or libcurl writes it. */
export function multipartBody(fields: Record<string, string>, boundary = 'fcboundary7d3a91c2e4'): { body: Buffer; contentType: string } {
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  return { body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`, 'utf8'), contentType: `multipart/form-data; boundary=${boundary}` };
}

function urlencoded(fields: Record<string, unknown>): Buffer {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value)) for (const item of value) params.append(`${name}[]`, typeof item === 'string' ? item : (JSON.stringify(item) ?? ''));
    else params.append(name, typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
  }
  return Buffer.from(params.toString(), 'utf8');
}

const shopifyHeaders = (topic: string) =>
  fc.record(
    {
      'x-shopify-topic': fc.constant(topic),
      'x-shopify-shop-domain': fc.constantFrom('jsmith.myshopify.com', 'Demo-Shop.myshopify.com'),
      'x-shopify-webhook-id': fc.uuid(),
      'x-shopify-event-id': fc.uuid(),
      'x-shopify-api-version': fc.constant('2026-07'),
    },
    { requiredKeys: ['x-shopify-topic', 'x-shopify-shop-domain', 'x-shopify-webhook-id'] },
  );
const wooHeaders = (topic: string) =>
  fc.record(
    {
      'x-wc-webhook-topic': fc.constant(topic),
      'x-wc-webhook-source': fc.constantFrom('https://example.com/', 'https://shop.example.com/store/', 'not a url'),
      'x-wc-webhook-delivery-id': fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 32, maxLength: 32 }),
    },
    { requiredKeys: ['x-wc-webhook-topic'] },
  );

const SHOPIFY_FIXTURE_HEADERS = { 'x-shopify-shop-domain': 'jsmith.myshopify.com', 'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', 'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5' };
const WOO_FIXTURE_HEADERS = { 'x-wc-webhook-source': 'https://example.com/', 'x-wc-webhook-delivery-id': 'f0c3a6a1d1f2e4c8b9a7d6e5c4b3a291' };
const JOTFORM_BOUNDARY = '------------------------d74496d66958873e';

export const SOURCE_CASES: SourceCase[] = [
  {
    name: 'form',
    source: formSource,
    routes: routesFor('form', { default: { deliverTo: ['twochat'], auth: 'hmac' }, tokened: { deliverTo: ['twochat'], auth: 'token' }, open: { deliverTo: ['twochat'], auth: 'none', defaultRegion: 'US' } }),
    routeNames: ['default', 'regional', 'mapped', 'tokened', 'open'],
    authHeaders: ['x-contact-relay-signature', 'x-contact-relay-token'],
    genuine: fc.tuple(withJunk(formPayload), fc.boolean()).map(([payload, asForm]): Genuine => {
      const flat = typeof payload === 'object' && payload !== null && !Array.isArray(payload);
      return asForm && flat
        ? { headers: {}, contentType: 'application/x-www-form-urlencoded', body: urlencoded(payload as Record<string, unknown>) }
        : jsonGenuine()(payload);
    }),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: [
      jsonGenuine()({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+14155550132' }),
      { headers: {}, contentType: 'application/x-www-form-urlencoded', body: Buffer.from('name=Grace+Hopper&email=grace%40example.com&phone=%2B442079460018') },
    ],
  },
  {
    name: 'typeform',
    source: typeformSource,
    routes: routesFor('typeform'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['typeform-signature'],
    genuine: withJunk(typeformPayload).map(jsonGenuine()),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: ['example', 'with-phone', 'national-phone'].map((name) => ({ headers: {}, contentType: 'application/json', body: fixture(`typeform/${name}.json`) })),
  },
  {
    name: 'tally',
    source: tallySource,
    routes: routesFor('tally', { open: { deliverTo: ['twochat'], auth: 'none' } }),
    routeNames: ['default', 'regional', 'mapped', 'open'],
    authHeaders: ['tally-signature'],
    genuine: withJunk(tallyPayload).map(jsonGenuine()),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: ['example', 'national-phone'].map((name) => ({ headers: {}, contentType: 'application/json', body: fixture(`tally/${name}.json`) })),
  },
  {
    name: 'jotform',
    source: jotformSource,
    routes: routesFor('jotform'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-contact-relay-token'],
    genuine: fc.tuple(jotformEnvelope(withJunk(jotformRawRequest)), fc.boolean()).map(([envelope, asMultipart]): Genuine => {
      if (!asMultipart) return { headers: {}, contentType: 'application/x-www-form-urlencoded', body: urlencoded(envelope) };
      const { body, contentType } = multipartBody(envelope);
      return { headers: {}, contentType, body };
    }),
    arbitraryJson: fc.oneof(
      jotformEnvelope(fc.jsonValue()).map((envelope): Genuine => ({ headers: {}, ...multipartBody(envelope) })),
      fc.jsonValue().map(jsonGenuine()),
    ),
    fixtures: [{ headers: {}, contentType: `multipart/form-data; boundary=${JOTFORM_BOUNDARY}`, body: fixture('jotform/submission.multipart') }],
  },
  {
    name: 'webflow',
    source: webflowSource,
    routes: routesFor('webflow'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-webflow-signature', 'x-webflow-timestamp'],
    genuine: withJunk(webflowPayload).map(jsonGenuine()),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: ['example', 'national-phone'].map((name) => ({ headers: {}, contentType: 'application/json', body: fixture(`webflow/${name}.json`) })),
  },
  {
    name: 'google-forms',
    source: googleFormsSource,
    routes: routesFor('google-forms'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-contact-relay-signature'],
    genuine: withJunk(googleFormsPayload).map(jsonGenuine()),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: [{ headers: {}, contentType: 'application/json', body: fixture('google-forms/response.json') }],
  },
  {
    name: 'shopify',
    source: shopifySource,
    routes: routesFor('shopify'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-shopify-hmac-sha256'],
    genuine: fc.oneof(
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('orders/create', 'orders/paid'), withJunk(shopifyOrderPayload)).chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('customers/create', 'customers/update'), withJunk(shopifyCustomerPayload)).chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('products/update', 'app/uninstalled'), fc.jsonValue()).chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))) },
    ),
    arbitraryJson: fc.tuple(fc.constantFrom('orders/create', 'orders/paid', 'customers/create', 'customers/update'), fc.jsonValue()).chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
    fixtures: [
      { headers: { ...SHOPIFY_FIXTURE_HEADERS, 'x-shopify-topic': 'orders/create' }, contentType: 'application/json', body: fixture('shopify/orders-create.json') },
      { headers: { ...SHOPIFY_FIXTURE_HEADERS, 'x-shopify-topic': 'customers/create' }, contentType: 'application/json', body: fixture('shopify/customers-create.json') },
    ],
  },
  {
    name: 'woocommerce',
    source: woocommerceSource,
    routes: routesFor('woocommerce'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-wc-webhook-signature'],
    genuine: fc.oneof(
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('order.created', 'order.updated'), withJunk(wooOrderPayload)).chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('customer.created'), withJunk(wooCustomerPayload)).chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('product.created', 'coupon.updated'), fc.jsonValue()).chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))) },
    ),
    arbitraryJson: fc.tuple(fc.constantFrom('order.created', 'order.updated', 'customer.created'), fc.jsonValue()).chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
    fixtures: [
      { headers: { ...WOO_FIXTURE_HEADERS, 'x-wc-webhook-topic': 'order.created' }, contentType: 'application/json', body: fixture('woocommerce/order.json') },
      { headers: { ...WOO_FIXTURE_HEADERS, 'x-wc-webhook-topic': 'customer.created' }, contentType: 'application/json', body: fixture('woocommerce/customer.json') },
    ],
  },
];

export function routeOfCase(sourceCase: SourceCase, routeName: string): ResolvedRoute {
  const route = findRoute(sourceCase.routes, sourceCase.name, routeName);
  if (route === undefined) throw new Error(`no route ${routeName} for ${sourceCase.name}`);
  return route;
}

// ---------------------------------------------------------------------------
// Authentication, as the sender does it and as an independent judge sees it

export const hmac = (data: Buffer | string, secret = SECRET): Buffer => createHmac('sha256', secret).update(data).digest();

type SignatureFormat = { header: string; encoding: 'base64' | 'hex'; prefix: string };

/**
 * The header carrying the HMAC of the body, and how its value is written, per source (Webflow signs
 * `timestamp:body`). The lead sources have property tests of their own, beside their unit tests.
 */
export const SIGNATURE_FORMAT: Partial<Record<SourceName, SignatureFormat>> = {
  form: { header: 'x-contact-relay-signature', encoding: 'base64', prefix: 'sha256=' },
  'google-forms': { header: 'x-contact-relay-signature', encoding: 'base64', prefix: 'sha256=' },
  jotform: { header: 'x-contact-relay-signature', encoding: 'base64', prefix: 'sha256=' },
  typeform: { header: 'typeform-signature', encoding: 'base64', prefix: 'sha256=' },
  tally: { header: 'tally-signature', encoding: 'base64', prefix: '' },
  shopify: { header: 'x-shopify-hmac-sha256', encoding: 'base64', prefix: '' },
  woocommerce: { header: 'x-wc-webhook-signature', encoding: 'base64', prefix: '' },
  webflow: { header: 'x-webflow-signature', encoding: 'hex', prefix: '' },
};

export function signatureFormat(name: SourceName): SignatureFormat {
  const format = SIGNATURE_FORMAT[name];
  if (format === undefined) throw new Error(`no signature format for ${name} in SIGNATURE_FORMAT`);
  return format;
}

export interface Credentials {
  headers: Record<string, string>;
  query: Record<string, string>;
}

/**
 * What the sender adds to `body` to authenticate it on `route`: its HMAC
 * header (Webflow: and the timestamp, `at`), or the route's token in the
 * header or the query string; nothing for an open route.
 */
export function credentialsFor(name: SourceName, route: ResolvedRoute, body: Buffer, options: { at?: number; tokenIn?: 'header' | 'query' } = {}): Credentials {
  const mode = routeAuth(route);
  if (mode === 'none') return { headers: {}, query: {} };
  if (mode === 'token') return options.tokenIn === 'query' ? { headers: {}, query: { token: TOKEN } } : { headers: { 'x-contact-relay-token': TOKEN }, query: {} };
  const format = signatureFormat(name);
  if (name === 'webflow') {
    const timestamp = String(options.at ?? NOW.getTime());
    return { headers: { 'x-webflow-timestamp': timestamp, [format.header]: hmac(Buffer.concat([Buffer.from(`${timestamp}:`), body])).toString('hex') }, query: {} };
  }
  return { headers: { [format.header]: `${format.prefix}${hmac(body).toString(format.encoding)}` }, query: {} };
}

export function requestFor(sourceCase: SourceCase, routeName: string, genuine: Genuine, credentials: Credentials): WebhookRequest {
  return {
    source: sourceCase.name,
    routeName,
    headers: { ...(genuine.contentType !== undefined ? { 'content-type': genuine.contentType } : {}), ...genuine.headers, ...credentials.headers },
    query: credentials.query,
    rawBody: genuine.body,
  };
}

/** A request exactly as the genuine sender makes it on `routeName`. */
export function signedRequest(sourceCase: SourceCase, routeName: string, genuine: Genuine, options: { at?: number; tokenIn?: 'header' | 'query' } = {}): WebhookRequest {
  return requestFor(sourceCase, routeName, genuine, credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), genuine.body, options));
}

/**
 * The judge: could this request have come from the holder of the route's
 * secret? Deliberately lenient (a header merely containing the right digest,
 * in either encoding, counts), so it never calls a genuine request forged;
 * a random request still never passes it.
 */
export function isAuthenticated(name: SourceName, route: ResolvedRoute, request: WebhookRequest, now = NOW): boolean {
  const mode = routeAuth(route);
  if (mode === 'none') return true;
  if (mode === 'token') return [request.headers['x-contact-relay-token'], request.query['token']].some((given) => given?.trim() === TOKEN);
  const given = request.headers[signatureFormat(name).header] ?? '';
  const contains = (digest: Buffer) => given.includes(digest.toString('base64').replace(/=+$/, '')) || given.toLowerCase().includes(digest.toString('hex'));
  if (name !== 'webflow') return contains(hmac(request.rawBody));
  const timestamp = request.headers['x-webflow-timestamp'] ?? '';
  const signedAt = [timestamp, timestamp.trim()].some((stamp) => contains(hmac(Buffer.concat([Buffer.from(`${stamp}:`), request.rawBody]))));
  return signedAt && /^\d+$/.test(timestamp.trim()) && Math.abs(now.getTime() - Number(timestamp.trim())) <= WEBFLOW_MAX_SKEW_MS;
}

// ---------------------------------------------------------------------------
// Mutations: one change to bytes or text

export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'append'; bytes: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] };

const someBytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 });

/** One mutation; positions are taken modulo the length, so every mutation applies to every non-empty input. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: someBytes }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: someBytes }),
);

/** `input` with the mutation applied: always different from `input` (an empty input is appended to). */
export function mutate(input: Buffer, change: Mutation): Buffer {
  if (input.length === 0) return Buffer.from(change.kind === 'append' || change.kind === 'insert' ? change.bytes : [0]);
  switch (change.kind) {
    case 'flip': {
      const copy = Buffer.from(input);
      const at = change.at % input.length;
      copy[at] = (copy[at] as number) ^ change.mask;
      return copy;
    }
    case 'append':
      return Buffer.concat([input, Buffer.from(change.bytes)]);
    case 'truncate':
      return input.subarray(0, change.at % input.length);
    case 'insert': {
      const at = change.at % (input.length + 1);
      return Buffer.concat([input.subarray(0, at), Buffer.from(change.bytes), input.subarray(at)]);
    }
  }
}

export interface TextMutation {
  kind: 'flip' | 'append' | 'truncate' | 'insert';
  at: number;
  char: string;
}

/** The same for text: one character of `alphabet` replacing one, appended or inserted; or the text cut short. */
export const textMutation = (alphabet: string): fc.Arbitrary<TextMutation> =>
  fc.record({ kind: fc.constantFrom('flip' as const, 'append' as const, 'truncate' as const, 'insert' as const), at: fc.nat(), char: fc.constantFrom(...alphabet.split('')) });

/** `text` with the mutation applied: always different from `text`. */
export function mutateText(text: string, { kind, at, char }: TextMutation): string {
  if (text === '') return char;
  const index = at % text.length;
  switch (kind) {
    case 'flip': {
      const replacement = text[index] === char ? (char === 'A' ? 'B' : 'A') : char;
      return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
    }
    case 'append':
      return `${text}${char}`;
    case 'truncate':
      return text.slice(0, index);
    case 'insert':
      return `${text.slice(0, index)}${char}${text.slice(index)}`;
  }
}

// ---------------------------------------------------------------------------
// Looking inside payloads

/** Every string and number in a JSON-like value, depth first (object keys excluded). */
export function leaves(value: unknown): Array<string | number> {
  const found: Array<string | number> = [];
  const walk = (node: unknown) => {
    if (typeof node === 'string' || typeof node === 'number') found.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object' && node !== null) Object.values(node).forEach(walk);
  };
  walk(value);
  return found;
}

export const E164 = /^\+[1-9]\d{1,14}$/;

// ---------------------------------------------------------------------------
// Any request at all

/** Bodies a request may carry: random bytes and text, JSON, forms, multipart, the WooCommerce ping, the source's own payloads, and (rarely) more than the limit. */
export function anyBody(sourceCase: SourceCase): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 20, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text, 'utf8')) },
    { weight: 20, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json) },
    { weight: 30, arbitrary: sourceCase.genuine.map((genuine) => genuine.body) },
    { weight: 10, arbitrary: fc.dictionary(fc.oneof(fieldName, fc.constantFrom('formID', 'submissionID', 'rawRequest')), fc.string({ maxLength: 16 }), { maxKeys: 4 }).map(urlencoded) },
    { weight: 10, arbitrary: fc.dictionary(fc.constantFrom('formID', 'submissionID', 'rawRequest', 'x'), fc.string({ maxLength: 16 }), { maxKeys: 4 }).map((fields) => multipartBody(fields).body) },
    { weight: 5, arbitrary: fc.stringMatching(/^webhook_id=\d{1,22}$/).map((text) => Buffer.from(text)) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 64 }).map((extra) => Buffer.alloc(MAX_BODY_BYTES + extra, 0x7b)) },
  );
}

export const contentType: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/vnd.api+json',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'multipart/form-data; boundary=fcboundary7d3a91c2e4',
    'multipart/form-data; boundary=',
    'multipart/form-data; boundary="x"',
    'text/plain',
    'application/xml',
    ' ',
    ';',
    'application/json;;',
  ),
  fc.string({ maxLength: 30 }),
);

export const HEADER_NAMES = [
  'content-type',
  'Content-Type',
  'x-contact-relay-signature',
  'x-contact-relay-token',
  'typeform-signature',
  'tally-signature',
  'x-webflow-signature',
  'x-webflow-timestamp',
  'x-shopify-hmac-sha256',
  'x-shopify-topic',
  'x-shopify-shop-domain',
  'x-shopify-webhook-id',
  'x-shopify-event-id',
  'x-wc-webhook-signature',
  'x-wc-webhook-topic',
  'x-wc-webhook-source',
  'x-wc-webhook-delivery-id',
  'idempotency-key',
  '__proto__',
  'constructor',
] as const;

const randomDigest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));

/** Values for any header: text, random digests in every spelling, timestamps, topics, shop domains, the token itself. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  randomDigest.map((digest) => digest.toString('base64')),
  randomDigest.map((digest) => `sha256=${digest.toString('base64')}`),
  randomDigest.map((digest) => digest.toString('hex')),
  fc.integer({ min: -10 * 60_000, max: 10 * 60_000 }).map((offset) => String(NOW.getTime() + offset)),
  fc.constantFrom('orders/create', 'customers/update', 'order.created', 'customer.created', 'products/update', 'jsmith.myshopify.com', 'evil.example.com', 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043'),
  fc.constantFrom(TOKEN, ` ${TOKEN} `, `${TOKEN}x`, ''),
);

export const headerName: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HEADER_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });

// ---------------------------------------------------------------------------
// Ingest, and what its answers may be

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Ingest's dependencies with a `vi.fn` accept and the route secret `{ secret: 's', token: 't' }`. */
export function ingestDeps(sourceCase: SourceCase) {
  return {
    routes: sourceCase.routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: async () => ({ secret: SECRET, token: TOKEN }),
    logger: QUIET,
    now: () => NOW,
  };
}

const nonEmptyString = (value: unknown): boolean => typeof value === 'string' && value !== '';

/**
 * The answer is one ingest documents: a refusal with exactly
 * `{error: {code, message}}` (both non-empty), or a 200 `ignored`/`skipped`
 * with its reason or `accepted`/`duplicate` with the event key. `statuses`
 * lists the codes this situation allows.
 */
export function expectDocumentedAnswer(answer: WebhookAnswer, statuses: readonly number[]): void {
  expect(statuses).toContain(answer.statusCode);
  const body = answer.body as Record<string, unknown>;
  if (answer.statusCode >= 400) {
    expect(Object.keys(body)).toEqual(['error']);
    const error = body['error'] as Record<string, unknown>;
    expect(Object.keys(error).sort()).toEqual(['code', 'message']);
    expect(nonEmptyString(error['code']) && nonEmptyString(error['message'])).toBe(true);
  } else {
    expect(answer.statusCode).toBe(200);
    expect(['accepted', 'duplicate', 'ignored', 'skipped']).toContain(body['status']);
    if (isAccepted(answer) || body['status'] === 'duplicate') expect(nonEmptyString(body['eventKey'])).toBe(true);
    else expect(nonEmptyString(body['reason'])).toBe(true);
  }
}

/** A 200 that queued the event (the body says so; duplicates, ignored and skipped events are 200 too). */
export function isAccepted(answer: WebhookAnswer): boolean {
  return answer.statusCode === 200 && 'status' in answer.body && answer.body.status === 'accepted';
}

/** The one contact accept was given validates against ContactSchema, its phones are E.164, and it names its event, source and route. */
export function expectAcceptedContact(accept: ReturnType<typeof ingestDeps>['accept'], answer: WebhookAnswer, source: SourceName, routeName: string): Contact {
  expect(accept).toHaveBeenCalledTimes(1);
  const [contact, route, eventKey, aliases] = accept.mock.calls[0] as Parameters<IngestDependencies['accept']>;
  const parsed = ContactSchema.safeParse(contact);
  expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
  expect(parsed.data).toEqual(contact);
  for (const phone of contact.phones) expect(phone.e164).toMatch(E164);
  expect(nonEmptyString(eventKey)).toBe(true);
  expect(contact.origin).toMatchObject({ source, route: routeName, eventKey });
  expect(route).toMatchObject({ source, name: routeName });
  expect(answer.body).toEqual({ status: 'accepted', eventKey });
  if (aliases !== undefined) expect(aliases.every(nonEmptyString)).toBe(true);
  return contact;
}
