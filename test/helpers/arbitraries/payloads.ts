/** fast-check arbitraries for each source's payload shape, and junk mixed into well-shaped payloads. */
import fc from 'fast-check';
import {
  countryText,
  dateText,
  digitRun,
  emailText,
  fieldName,
  fieldText,
  flatFields,
  formValue,
  jsonLeaf,
  nameText,
  phoneNumber,
  phoneText,
  roleFields,
  type Role,
} from './fields.js';

const nullable = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.option(arbitrary, { nil: null, freq: 4 });
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
    {
      weight: 1,
      arbitrary: fc
        .tuple(shaped, fc.nat(), fc.jsonValue({ maxDepth: 2 }))
        .map(([value, index, replacement]) => replaceNode(value, index, replacement)),
    },
  );
}

// ---------------------------------------------------------------------------
// Each source's payload shape

const typeformField = fc.record({
  id: fc.constantFrom('q1', 'q2', 'q3', 'q4', 'q5'),
  ref: nullable(fieldName),
  type: fc.constantFrom('short_text', 'email', 'phone_number'),
});
const typeformAnswer = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('email'), field: typeformField, email: nullable(emailText) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('phone_number'),
      field: typeformField,
      phone_number: nullable(phoneText),
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('text'), field: typeformField, text: nullable(fieldText) }) },
  fc.record({ type: fc.constant('number'), field: typeformField, number: nullable(phoneNumber) }),
  fc.record({ type: fc.constant('boolean'), field: typeformField, boolean: nullable(fc.boolean()) }),
  fc.record({
    type: fc.constant('choice'),
    field: typeformField,
    choice: nullable(fc.record({ label: nullable(fieldText), other: nullable(fieldText) }, { requiredKeys: [] })),
  }),
  fc.record({
    type: fc.constant('choices'),
    field: typeformField,
    choices: nullable(
      fc.record(
        { labels: nullable(fc.array(fieldText, { maxLength: 3 })), other: nullable(fieldText) },
        { requiredKeys: [] },
      ),
    ),
  }),
  fc.record(
    {
      type: fc.constantFrom('date', 'url', 'file_url'),
      field: typeformField,
      date: nullable(dateText),
      url: nullable(fc.constantFrom('https://example.com/', 'not a url')),
      file_url: nullable(fc.constantFrom('https://example.com/f.pdf')),
    },
    { requiredKeys: ['type', 'field'] },
  ),
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
  .chain(([roles, others]) =>
    fc.shuffledSubarray([...roles, ...others] as unknown[], { minLength: roles.length + others.length }),
  );

export const typeformPayload: fc.Arbitrary<unknown> = fc.record(
  {
    event_id: nullable(idText),
    event_type: fc.oneof(
      { weight: 9, arbitrary: fc.constant('form_response') },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    ),
    form_response: fc.record(
      {
        form_id: idText,
        token: nullable(idText),
        submitted_at: nullable(dateText),
        hidden: nullable(fc.dictionary(fieldName, fc.oneof(fieldText, phoneNumber, fc.constant(null)), { maxKeys: 4 })),
        definition: nullable(
          fc.record({
            fields: nullable(
              fc.array(
                fc.record({
                  id: fc.constantFrom('q1', 'q2', 'q3', 'q4', 'q5'),
                  ref: nullable(fieldName),
                  title: nullable(fieldName),
                }),
                { maxLength: 5 },
              ),
            ),
          }),
        ),
        answers: nullable(typeformAnswers),
      },
      { requiredKeys: ['form_id'] },
    ),
  },
  { requiredKeys: ['event_id', 'event_type', 'form_response'] },
);

const TALLY_TYPES = [
  'INPUT_EMAIL',
  'INPUT_PHONE_NUMBER',
  'HIDDEN_FIELDS',
  'INPUT_TEXT',
  'TEXTAREA',
  'INPUT_NUMBER',
  'MULTIPLE_CHOICE',
  'CHECKBOXES',
  'DROPDOWN',
  'INPUT_DATE',
  'INPUT_LINK',
  'FILE_UPLOAD',
  'MATRIX',
  'CALCULATED_FIELDS',
  'PAYMENT',
];
const tallyOptionId = fc.constantFrom('opt-1', 'opt-2', 'opt-3');
const tallyField = fc.record(
  {
    key: fc.oneof(fc.constantFrom('question_1', 'question_2', 'question_3'), fieldName),
    label: nullable(fieldName),
    type: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...TALLY_TYPES) },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    ),
    value: fc.oneof(
      jsonLeaf,
      tallyOptionId,
      fc.array(
        fc.oneof(
          tallyOptionId,
          fieldText,
          fc.record({ url: fc.constantFrom('https://storage.tally.so/private/cv.pdf', 'https://example.com/a.png') }),
        ),
        { maxLength: 3 },
      ),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }), {
        maxKeys: 2,
      }),
    ),
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
  .tuple(
    roleFields.chain((roles) =>
      fc.tuple(
        ...roles.map(([role, label, value]) =>
          fc
            .tuple(
              fc.constantFrom(...TALLY_ROLE_TYPES[role]),
              fc
                .string({ unit: fc.constantFrom(...'abcdefXYZ0123'.split('')), minLength: 6, maxLength: 6 })
                .map((id) => `question_${id}`),
            )
            .map(([type, key]) => ({ key, label, type, value })),
        ),
      ),
    ),
    fc.array(tallyField, { maxLength: 3 }),
  )
  .chain(([roles, others]) =>
    fc.shuffledSubarray([...roles, ...others] as unknown[], { minLength: roles.length + others.length }),
  );

export const tallyPayload: fc.Arbitrary<unknown> = fc.record(
  {
    eventId: nullable(idText),
    eventType: fc.oneof(
      { weight: 9, arbitrary: fc.constant('FORM_RESPONSE') },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    ),
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
    triggerType: fc.oneof(
      { weight: 9, arbitrary: fc.constant('form_submission') },
      { weight: 1, arbitrary: fc.constantFrom('site_publish', 'page_created', '') },
    ),
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
    answers: fc
      .tuple(roleFields, fc.dictionary(fieldName, formValue, { maxKeys: 2 }))
      .map(([roles, extra]) => ({ ...extra, ...Object.fromEntries(roles.map(([, name, value]) => [name, value])) })),
  },
  { requiredKeys: ['formId', 'responseId', 'submittedAt', 'answers'] },
);

/** The plain form: field name → text, number, list, or something a form field is not. */
export const formPayload: fc.Arbitrary<Record<string, unknown>> = flatFields.map((entries) =>
  Object.fromEntries(entries),
);

const JOTFORM_NAMES = [
  'fullName',
  'name',
  'yourName',
  'email',
  'eMail',
  'phoneNumber',
  'phone',
  'rueckruf',
  'address',
  'land',
  'country',
  'kampagne',
  'typeA',
];
const jotformAnswerKey = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 40 }), fc.oneof(fc.constantFrom(...JOTFORM_NAMES), fieldName))
      .map(([n, name]) => `q${n}_${name}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('slug', 'event_id', 'path', 'jsExecutionTracker', 'submitSource') },
);
const jotformAnswer = fc.oneof(
  { weight: 4, arbitrary: jsonLeaf },
  { weight: 1, arbitrary: fc.record({ first: nameText, middle: nameText, last: nameText }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ full: phoneText }) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        country: fc.oneof(fc.constantFrom('44', '+49', '1', ''), fc.string({ maxLength: 4 })),
        area: digitRun(0, 4),
        phone: digitRun(0, 8),
      },
      { requiredKeys: [] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        addr_line1: fc.string({ maxLength: 12 }),
        city: fc.string({ maxLength: 8 }),
        postal: fc.string({ maxLength: 6 }),
        country: countryText,
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), jsonLeaf, { maxKeys: 3 }) },
);
/** Answers under `q<N>_<name>`: the contact parts under names the detection knows, compound controls, bookkeeping keys. */
export const jotformRawRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(roleFields, fc.array(fc.tuple(jotformAnswerKey, jotformAnswer), { maxLength: 4 }))
  .map(([roles, others]) =>
    Object.fromEntries([
      ...roles.map(([, name, value], index): [string, unknown] => [
        `q${index + 1}_${name.replace(/[^A-Za-z0-9_]/g, '')}`,
        value,
      ]),
      ...others,
    ]),
  );

const jotformId = fc.oneof(
  { weight: 30, arbitrary: fc.stringMatching(/^[0-9]{1,19}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
/** Jotform's envelope: ids, title, and `rawRequest` as the JSON text of the answers (rarely not JSON at all). */
export const jotformEnvelope = (
  rawRequest: fc.Arbitrary<unknown> = jotformRawRequest,
): fc.Arbitrary<Record<string, string>> =>
  fc.record(
    {
      formID: jotformId,
      submissionID: jotformId,
      formTitle: fc.string({ maxLength: 12 }),
      rawRequest: fc.oneof(
        { weight: 12, arbitrary: rawRequest.map((value) => JSON.stringify(value) ?? 'null') },
        { weight: 1, arbitrary: fc.string({ maxLength: 16 }) },
      ),
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
const consent = nullable(
  fc.record({
    state: nullable(
      fc.constantFrom('subscribed', 'unsubscribed', 'not_subscribed', 'pending', 'SUBSCRIBED', 'redacted', ''),
    ),
  }),
);
const gid = (kind: 'Order' | 'Customer') =>
  fc.oneof(
    { weight: 9, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 63n }).map((id) => `gid://shopify/${kind}/${id}`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );

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
const wooId = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) },
);

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
