/**
 * Property tests for the mappers: whatever fields a sender
 * sends — random names and values, phones typed nationally or with `00`,
 * emails with junk — the contact validates against ContactSchema, its phones
 * are E.164, no phone is invented (each is the normalisation of a value the
 * sender sent), a rejected phone keeps the sender's text, and the contact is
 * skipped exactly when it has neither email nor phone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContactSchema, type Contact } from '../../../shared/contact.js';
import type { ResolvedRoute } from '../../../shared/config/routes.js';
import { isRegion, normalisePhone } from '../../../shared/phone.js';
import { mapTypedFields, type TypedField, type TypedFieldType } from '../../../shared/sources/fields.js';
import { mapFormToContact, regionOf, type FormFields, type MappedContact } from '../../../shared/sources/form.js';
import { GoogleFormsResponseSchema, mapGoogleFormsResponse } from '../../../shared/sources/google-forms.js';
import { jotformFields, mapJotformSubmission } from '../../../shared/sources/jotform.js';
import { isEmail } from '../../../shared/sources/mapping.js';
import {
  mapShopifyCustomer,
  mapShopifyOrder,
  ShopifyCustomerWebhookSchema,
  ShopifyOrderSchema,
} from '../../../shared/shopify/orders.js';
import { tallyFields, TallyWebhookSchema } from '../../../shared/sources/tally.js';
import { typeformFields, TypeformWebhookSchema } from '../../../shared/sources/typeform.js';
import { webflowFields, WebflowFormSubmissionSchema } from '../../../shared/sources/webflow.js';
import { mapWooCustomer, mapWooOrder, WooCustomerSchema, WooOrderSchema } from '../../../shared/sources/woocommerce.js';
import { NOW } from '../../helpers/arbitraries/clock-and-secret.js';
import {
  dateText,
  fieldName,
  fieldText,
  formValue,
  phoneNumber,
  phoneText,
  roleFields,
} from '../../helpers/arbitraries/fields.js';
import {
  googleFormsPayload,
  jotformRawRequest,
  shopifyCustomerPayload,
  shopifyOrderPayload,
  tallyPayload,
  typeformPayload,
  webflowPayload,
  wooCustomerPayload,
  wooOrderPayload,
} from '../../helpers/arbitraries/payloads.js';
import { routeOf } from '../../helpers/arbitraries/routes.js';
import { E164, leaves } from '../../helpers/arbitraries/inspection.js';
import { testRoute } from '../../helpers/routes.js';

/** Every region a mapper may read a phone in: none, and each value that names a country (a code or an English name). */
function regionsIn(values: ReadonlyArray<string | number>): Array<string | undefined> {
  const regions = new Set<string | undefined>([undefined]);
  for (const value of values) {
    if (typeof value !== 'string') continue;
    if (isRegion(value.trim())) regions.add(value.trim().toUpperCase());
    const named = regionOf(value);
    if (named !== undefined) regions.add(named);
  }
  return [...regions];
}

/** The phone is what normalisePhone makes of one of the values the sender sent, read in one of the regions the payload names. */
function madeFromInput(
  e164: string,
  values: ReadonlyArray<string | number>,
  regions: ReadonlyArray<string | undefined>,
  defaultRegion: string | undefined,
): boolean {
  return values.some((value) =>
    regions.some((country) => {
      const result = normalisePhone(typeof value === 'string' ? value.trim() : value, { country, defaultRegion });
      return result.ok && result.e164 === e164;
    }),
  );
}

/**
 * The contract every mapper keeps, judged against the raw values the sender
 * sent (`inputs`: every string and number in them).
 */
function expectSoundContact({ contact, skipReason }: MappedContact, route: ResolvedRoute, inputs: unknown): Contact {
  const parsed = ContactSchema.safeParse(contact);
  expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
  expect(parsed.data).toEqual(contact);

  const values = leaves(inputs);
  const texts = new Set(values.flatMap((value) => [String(value), String(value).trim()]));
  const regions = regionsIn(values);

  for (const phone of contact.phones) {
    expect(phone.e164).toMatch(E164);
    expect(
      madeFromInput(phone.e164, values, regions, route.defaultRegion),
      `phone ${phone.e164} is not the normalisation of any input`,
    ).toBe(true);
    expect(phone.whatsapp === true).toBe(route.whatsappNumbers);
  }
  expect(new Set(contact.phones.map((phone) => phone.e164)).size).toBe(contact.phones.length);
  for (const rejected of contact.rejectedPhones) {
    expect(texts.has(rejected.input), `rejected phone ${JSON.stringify(rejected.input)} is not an input`).toBe(true);
    expect(rejected.reason).toMatch(/^phone number /);
  }
  for (const email of contact.emails) {
    expect(isEmail(email)).toBe(true);
    expect(email).toBe(email.toLowerCase());
    expect(
      values.some((value) => typeof value === 'string' && value.trim().toLowerCase() === email),
      `email ${email} is not an input`,
    ).toBe(true);
  }
  expect(skipReason === undefined).toBe(contact.emails.length > 0 || contact.phones.length > 0);
  if (skipReason !== undefined) expect(skipReason).toMatch(/^no usable email or phone: ./);
  expect(new Set(contact.tags).size).toBe(contact.tags.length);
  return contact;
}

const RUNS = 300;

describe('Property: form-like mappers (plain form, Jotform, Google Forms)', () => {
  const formFields: fc.Arbitrary<FormFields> = fc
    .tuple(roleFields, fc.dictionary(fieldName, formValue, { maxKeys: 3 }))
    .map(([roles, extra]) => ({ ...extra, ...Object.fromEntries(roles.map(([, name, value]) => [name, value])) }));

  it('mapFormToContact: any field set gives a sound contact', () => {
    fc.assert(
      fc.property(formFields, routeOf('form'), (fields, route) => {
        expectSoundContact(mapFormToContact(fields, route, 'form:default:k', NOW), route, fields);
      }),
      { numRuns: RUNS },
    );
  });

  it('mapJotformSubmission: any answers (compound name, phone and address controls included) give a sound contact', () => {
    fc.assert(
      fc.property(jotformRawRequest, routeOf('jotform'), (rawRequest, route) => {
        const mapped = mapJotformSubmission(
          { formID: '241692120026345', submissionID: '5945194041717462825', rawRequest },
          route,
          NOW,
        );
        // Jotform's compound controls are read as the text they combine to: those texts are the inputs.
        const contact = expectSoundContact(mapped, route, jotformFields(rawRequest).fields);
        expect(contact.tags[0]).toBe('jotform');
        expect(mapped.eventKey).toBe('jotform:241692120026345:5945194041717462825');
      }),
      { numRuns: RUNS },
    );
  });

  it('mapGoogleFormsResponse: any answers and respondent email give a sound contact', () => {
    const response = googleFormsPayload
      .map((payload) => GoogleFormsResponseSchema.safeParse(payload))
      .filter((parsed) => parsed.success);
    fc.assert(
      fc.property(response, routeOf('google-forms'), (parsed, route) => {
        const mapped = mapGoogleFormsResponse(parsed.data!, route, NOW);
        const contact = expectSoundContact(mapped, route, parsed.data);
        expect(contact.tags[0]).toBe('google-forms');
      }),
      { numRuns: RUNS },
    );
  });
});

const TYPES: TypedFieldType[] = [
  'email',
  'phone',
  'name',
  'first_name',
  'last_name',
  'country',
  'text',
  'number',
  'choice',
  'boolean',
  'date',
  'url',
  'hidden',
  'other',
];
const typedField: fc.Arbitrary<TypedField> = fc.record(
  {
    names: fc.array(fieldName, { minLength: 1, maxLength: 3 }),
    type: fc.constantFrom(...TYPES),
    value: fc.oneof(fieldText, phoneNumber, fc.array(fieldText, { maxLength: 3 }), fc.boolean(), fc.constant(null)),
  },
  { requiredKeys: ['names', 'value'] },
);

const sourceAndRoute = fc
  .constantFrom('typeform' as const, 'tally' as const, 'webflow' as const)
  .chain((source) => fc.tuple(fc.constant(source), routeOf(source)));

describe('Property: typed-field mappers (Typeform, Tally, Webflow)', () => {
  it('mapTypedFields: any typed fields give a sound contact', () => {
    fc.assert(
      fc.property(
        fc.array(typedField, { maxLength: 8 }),
        sourceAndRoute,
        fc.option(dateText, { nil: undefined }),
        (fields, [source, route], occurredAt) => {
          const contact = expectSoundContact(
            mapTypedFields(fields, route, { source, eventKey: `${source}:f:e`, now: NOW, occurredAt }),
            route,
            fields.map((field) => field.value),
          );
          expect(contact.tags[0]).toBe(source);
          expect(contact.origin.eventKey).toBe(`${source}:f:e`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it.each([
    [
      'typeform',
      typeformPayload
        .map((payload) => TypeformWebhookSchema.safeParse(payload))
        .filter((parsed) => parsed.success)
        .map((parsed) => typeformFields(parsed.data!.form_response)),
    ],
    [
      'tally',
      tallyPayload
        .map((payload) => TallyWebhookSchema.safeParse(payload))
        .filter((parsed) => parsed.success)
        .map((parsed) => tallyFields(parsed.data!)),
    ],
    [
      'webflow',
      webflowPayload
        .map((payload) => WebflowFormSubmissionSchema.safeParse(payload))
        .filter((parsed) => parsed.success)
        .map((parsed) => webflowFields(parsed.data!)),
    ],
  ] as const)('%s payloads: their fields give a sound contact', (source, fieldsOfPayload) => {
    fc.assert(
      fc.property(fieldsOfPayload, routeOf(source), (fields, route) => {
        expectSoundContact(
          mapTypedFields(fields, route, { source, eventKey: `${source}:f:e`, now: NOW }),
          route,
          fields.map((field) => field.value),
        );
      }),
      { numRuns: RUNS },
    );
  });
});

describe('Property: shop mappers (Shopify, WooCommerce)', () => {
  it('mapShopifyOrder / mapShopifyCustomer: any order or customer gives a sound contact', () => {
    const orders = shopifyOrderPayload
      .map((payload) => ShopifyOrderSchema.safeParse(payload))
      .filter((parsed) => parsed.success);
    const customers = shopifyCustomerPayload
      .map((payload) => ShopifyCustomerWebhookSchema.safeParse(payload))
      .filter((parsed) => parsed.success);
    fc.assert(
      fc.property(orders, customers, routeOf('shopify'), (order, customer, route) => {
        const fromOrder = expectSoundContact(
          mapShopifyOrder(order.data!, route, 'jsmith.myshopify.com', NOW),
          route,
          order.data,
        );
        expect(fromOrder.origin.eventKey).toBe(
          `shopify:jsmith.myshopify.com:order:${order.data!.admin_graphql_api_id}`,
        );
        expectSoundContact(
          mapShopifyCustomer(customer.data!, route, 'jsmith.myshopify.com', 'shopify:k', NOW),
          route,
          customer.data,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('mapWooOrder / mapWooCustomer: any order or customer gives a sound contact', () => {
    const orders = wooOrderPayload
      .map((payload) => WooOrderSchema.safeParse(payload))
      .filter((parsed) => parsed.success);
    const customers = wooCustomerPayload
      .map((payload) => WooCustomerSchema.safeParse(payload))
      .filter((parsed) => parsed.success);
    fc.assert(
      fc.property(orders, customers, routeOf('woocommerce'), (order, customer, route) => {
        expectSoundContact(mapWooOrder(order.data!, route, 'example.com', 'woocommerce:k', NOW), route, order.data);
        expectSoundContact(
          mapWooCustomer(customer.data!, route, 'example.com', 'woocommerce:k', NOW),
          route,
          customer.data,
        );
      }),
      { numRuns: RUNS },
    );
  });
});

describe('Property: a lone phone is kept, either normalised or rejected with the text the sender typed', () => {
  const settings = fc.record({
    defaultRegion: fc.option(fc.constantFrom('US', 'GB', 'DE', 'IN', 'BR'), { nil: undefined }),
    whatsappNumbers: fc.boolean(),
  });

  const mappers: Array<[string, (raw: string, route: ResolvedRoute) => MappedContact]> = [
    ['plain form', (raw, route) => mapFormToContact({ phone: raw }, route, 'k', NOW)],
    [
      'typed fields',
      (raw, route) =>
        mapTypedFields([{ names: ['q1', 'Phone'], type: 'phone', value: raw }], route, {
          source: 'tally',
          eventKey: 'k',
          now: NOW,
        }),
    ],
    [
      'Shopify order',
      (raw, route) =>
        mapShopifyOrder(
          ShopifyOrderSchema.parse({ admin_graphql_api_id: 'gid://shopify/Order/1', phone: raw }),
          route,
          'jsmith.myshopify.com',
          NOW,
        ),
    ],
    [
      'WooCommerce order',
      (raw, route) =>
        mapWooOrder(WooOrderSchema.parse({ id: 1, billing: { phone: raw } }), route, 'example.com', 'k', NOW),
    ],
  ];

  it.each(mappers)('%s', (_name, map) => {
    fc.assert(
      fc.property(phoneText, settings, (raw, { defaultRegion, whatsappNumbers }) => {
        fc.pre(raw.trim() !== '');
        const route = testRoute({
          source: 'form',
          whatsappNumbers,
          ...(defaultRegion !== undefined ? { defaultRegion } : {}),
        });
        const { contact } = map(raw, route);
        const expected = normalisePhone(raw.trim(), { defaultRegion });
        if (expected.ok) {
          expect(contact.phones).toEqual([{ e164: expected.e164, ...(whatsappNumbers ? { whatsapp: true } : {}) }]);
          expect(contact.rejectedPhones).toEqual([]);
        } else {
          expect(contact.phones).toEqual([]);
          expect(contact.rejectedPhones).toEqual([{ input: raw.trim(), reason: expected.message }]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a phone sent as a JSON number (Webflow) is read as that number', () => {
    fc.assert(
      fc.property(phoneNumber, settings, (number, { defaultRegion, whatsappNumbers }) => {
        const route = testRoute({
          source: 'webflow',
          whatsappNumbers,
          ...(defaultRegion !== undefined ? { defaultRegion } : {}),
        });
        const { contact } = mapTypedFields([{ names: ['Phone Number'], value: number }], route, {
          source: 'webflow',
          eventKey: 'k',
          now: NOW,
        });
        const expected = normalisePhone(number, { defaultRegion });
        if (!Number.isFinite(number)) {
          expect([contact.phones, contact.rejectedPhones]).toEqual([[], []]);
        } else if (expected.ok) {
          expect(contact.phones.map((phone) => phone.e164)).toEqual([expected.e164]);
        } else {
          expect(contact.rejectedPhones).toEqual([{ input: String(number), reason: expected.message }]);
        }
      }),
      { numRuns: 500 },
    );
  });
});
