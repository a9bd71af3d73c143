/**
 * Requests as each sender makes them: per source, its routes, the headers it
 * authenticates with, and its genuine deliveries (generated and real fixtures).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { SourceName } from '../../../shared/contact.js';
import {
  findRoute,
  parseRoutesConfig,
  type FieldMapping,
  type ResolvedRoute,
  type RoutesConfig,
} from '../../../shared/config/routes.js';
import type { Source } from '../../../shared/ingest.js';
import { formSource } from '../../../shared/sources/form.js';
import { googleFormsSource } from '../../../shared/sources/google-forms.js';
import { jotformSource } from '../../../shared/sources/jotform.js';
import { shopifySource } from '../../../shared/shopify/webhook.js';
import { tallySource } from '../../../shared/sources/tally.js';
import { typeformSource } from '../../../shared/sources/typeform.js';
import { webflowSource } from '../../../shared/sources/webflow.js';
import { woocommerceSource } from '../../../shared/sources/woocommerce.js';
import {
  formPayload,
  googleFormsPayload,
  jotformEnvelope,
  jotformRawRequest,
  shopifyCustomerPayload,
  shopifyOrderPayload,
  tallyPayload,
  typeformPayload,
  webflowPayload,
  withJunk,
  wooCustomerPayload,
  wooOrderPayload,
} from './payloads.js';

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
const fixture = (path: string): Buffer => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url));
export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
const jsonGenuine =
  (headers: Record<string, string> = {}) =>
  (value: unknown): Genuine => ({ headers, contentType: 'application/json', body: json(value) });

/** Configured field names for the `mapped` routes. */
const MAPPED_FIELDS: FieldMapping = {
  fullName: ['Your name', 'name'],
  email: ['mail', 'Email'],
  phone: ['mobile', 'Phone Number'],
  country: ['Land'],
  tags: ['tags'],
  attributes: ['utm_source', 'plan', 'Kampagne'],
};

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
export function multipartBody(
  fields: Record<string, string>,
  boundary = 'fcboundary7d3a91c2e4',
): { body: Buffer; contentType: string } {
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return {
    body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`, 'utf8'),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

export function urlencoded(fields: Record<string, unknown>): Buffer {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value))
      for (const item of value)
        params.append(`${name}[]`, typeof item === 'string' ? item : (JSON.stringify(item) ?? ''));
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
      'x-wc-webhook-delivery-id': fc.string({
        unit: fc.constantFrom(...'0123456789abcdef'.split('')),
        minLength: 32,
        maxLength: 32,
      }),
    },
    { requiredKeys: ['x-wc-webhook-topic'] },
  );

const SHOPIFY_FIXTURE_HEADERS = {
  'x-shopify-shop-domain': 'jsmith.myshopify.com',
  'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
};
const WOO_FIXTURE_HEADERS = {
  'x-wc-webhook-source': 'https://example.com/',
  'x-wc-webhook-delivery-id': 'f0c3a6a1d1f2e4c8b9a7d6e5c4b3a291',
};
const JOTFORM_BOUNDARY = '------------------------d74496d66958873e';

export const SOURCE_CASES: SourceCase[] = [
  {
    name: 'form',
    source: formSource,
    routes: routesFor('form', {
      default: { deliverTo: ['twochat'], auth: 'hmac' },
      tokened: { deliverTo: ['twochat'], auth: 'token' },
      open: { deliverTo: ['twochat'], auth: 'none', defaultRegion: 'US' },
    }),
    routeNames: ['default', 'regional', 'mapped', 'tokened', 'open'],
    authHeaders: ['x-contact-relay-signature', 'x-contact-relay-token'],
    genuine: fc.tuple(withJunk(formPayload), fc.boolean()).map(([payload, asForm]): Genuine => {
      const flat = typeof payload === 'object' && payload !== null && !Array.isArray(payload);
      return asForm && flat
        ? {
            headers: {},
            contentType: 'application/x-www-form-urlencoded',
            body: urlencoded(payload as Record<string, unknown>),
          }
        : jsonGenuine()(payload);
    }),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: [
      jsonGenuine()({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+14155550132' }),
      {
        headers: {},
        contentType: 'application/x-www-form-urlencoded',
        body: Buffer.from('name=Grace+Hopper&email=grace%40example.com&phone=%2B442079460018'),
      },
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
    fixtures: ['example', 'with-phone', 'national-phone'].map((name) => ({
      headers: {},
      contentType: 'application/json',
      body: fixture(`typeform/${name}.json`),
    })),
  },
  {
    name: 'tally',
    source: tallySource,
    routes: routesFor('tally', { open: { deliverTo: ['twochat'], auth: 'none' } }),
    routeNames: ['default', 'regional', 'mapped', 'open'],
    authHeaders: ['tally-signature'],
    genuine: withJunk(tallyPayload).map(jsonGenuine()),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: ['example', 'national-phone'].map((name) => ({
      headers: {},
      contentType: 'application/json',
      body: fixture(`tally/${name}.json`),
    })),
  },
  {
    name: 'jotform',
    source: jotformSource,
    routes: routesFor('jotform'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-contact-relay-token'],
    genuine: fc
      .tuple(jotformEnvelope(withJunk(jotformRawRequest)), fc.boolean())
      .map(([envelope, asMultipart]): Genuine => {
        if (!asMultipart)
          return { headers: {}, contentType: 'application/x-www-form-urlencoded', body: urlencoded(envelope) };
        const { body, contentType } = multipartBody(envelope);
        return { headers: {}, contentType, body };
      }),
    arbitraryJson: fc.oneof(
      jotformEnvelope(fc.jsonValue()).map((envelope): Genuine => ({ headers: {}, ...multipartBody(envelope) })),
      fc.jsonValue().map(jsonGenuine()),
    ),
    fixtures: [
      {
        headers: {},
        contentType: `multipart/form-data; boundary=${JOTFORM_BOUNDARY}`,
        body: fixture('jotform/submission.multipart'),
      },
    ],
  },
  {
    name: 'webflow',
    source: webflowSource,
    routes: routesFor('webflow'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-webflow-signature', 'x-webflow-timestamp'],
    genuine: withJunk(webflowPayload).map(jsonGenuine()),
    arbitraryJson: fc.jsonValue().map(jsonGenuine()),
    fixtures: ['example', 'national-phone'].map((name) => ({
      headers: {},
      contentType: 'application/json',
      body: fixture(`webflow/${name}.json`),
    })),
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
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom('orders/create', 'orders/paid'), withJunk(shopifyOrderPayload))
          .chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom('customers/create', 'customers/update'), withJunk(shopifyCustomerPayload))
          .chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('products/update', 'app/uninstalled'), fc.jsonValue())
          .chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
      },
    ),
    arbitraryJson: fc
      .tuple(fc.constantFrom('orders/create', 'orders/paid', 'customers/create', 'customers/update'), fc.jsonValue())
      .chain(([topic, payload]) => shopifyHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
    fixtures: [
      {
        headers: { ...SHOPIFY_FIXTURE_HEADERS, 'x-shopify-topic': 'orders/create' },
        contentType: 'application/json',
        body: fixture('shopify/orders-create.json'),
      },
      {
        headers: { ...SHOPIFY_FIXTURE_HEADERS, 'x-shopify-topic': 'customers/create' },
        contentType: 'application/json',
        body: fixture('shopify/customers-create.json'),
      },
    ],
  },
  {
    name: 'woocommerce',
    source: woocommerceSource,
    routes: routesFor('woocommerce'),
    routeNames: ['default', 'regional', 'mapped'],
    authHeaders: ['x-wc-webhook-signature'],
    genuine: fc.oneof(
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom('order.created', 'order.updated'), withJunk(wooOrderPayload))
          .chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constant('customer.created'), withJunk(wooCustomerPayload))
          .chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('product.created', 'coupon.updated'), fc.jsonValue())
          .chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
      },
    ),
    arbitraryJson: fc
      .tuple(fc.constantFrom('order.created', 'order.updated', 'customer.created'), fc.jsonValue())
      .chain(([topic, payload]) => wooHeaders(topic).map((headers) => jsonGenuine(headers)(payload))),
    fixtures: [
      {
        headers: { ...WOO_FIXTURE_HEADERS, 'x-wc-webhook-topic': 'order.created' },
        contentType: 'application/json',
        body: fixture('woocommerce/order.json'),
      },
      {
        headers: { ...WOO_FIXTURE_HEADERS, 'x-wc-webhook-topic': 'customer.created' },
        contentType: 'application/json',
        body: fixture('woocommerce/customer.json'),
      },
    ],
  },
];

export function routeOfCase(sourceCase: SourceCase, routeName: string): ResolvedRoute {
  const route = findRoute(sourceCase.routes, sourceCase.name, routeName);
  if (route === undefined) throw new Error(`no route ${routeName} for ${sourceCase.name}`);
  return route;
}
