import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { ContactSchema, type Contact } from '../../../shared/contact.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies } from '../../../shared/ingest.js';
import {
  isWooCommercePing,
  mapWooCustomer,
  WooCustomerSchema,
  wooStoreOf,
  woocommerceSource,
} from '../../../shared/sources/woocommerce.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

const SECRET = 'local-woocommerce-webhook-secret';
const now = new Date('2026-11-21T10:00:00.000Z');
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/woocommerce/${name}`, import.meta.url), 'utf8');
const ORDER = fixture('order.json');
const CUSTOMER = fixture('customer.json');
const sign = (body: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');

/** Headers as WooCommerce's WC_Webhook::deliver() sets them, lower-cased; `undefined` removes one. */
function wooHeaders(body: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'user-agent': 'WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)',
    'x-wc-webhook-source': 'https://example.com/',
    'x-wc-webhook-topic': 'order.created',
    'x-wc-webhook-resource': 'order',
    'x-wc-webhook-event': 'created',
    'x-wc-webhook-signature': sign(body),
    'x-wc-webhook-id': '12',
    'x-wc-webhook-delivery-id': 'f0c3a6a1d1f2e4c8b9a7d6e5c4b3a291',
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function wooRequest(
  body: string,
  overrides: Record<string, string | undefined> = {},
  routeName = 'default',
): WebhookRequest {
  return {
    source: 'woocommerce',
    routeName,
    headers: wooHeaders(body, overrides),
    query: {},
    rawBody: Buffer.from(body, 'utf8'),
  };
}

/** The creation ping exactly as WC_Webhook::deliver_ping() sends it through libcurl. */
function pingRequest(
  body = 'webhook_id=12',
  headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)',
  },
): WebhookRequest {
  return { source: 'woocommerce', routeName: 'default', headers, query: {}, rawBody: Buffer.from(body) };
}

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: { woocommerce: { default: { deliverTo: ['twochat'], tags: ['store'] } } },
});
const route = findRoute(routes, 'woocommerce', 'default') as ResolvedRoute;
const quietLogger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };

function deps(options: { accept?: IngestDependencies['accept'] } = {}) {
  return {
    routes,
    accept: options.accept ?? vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: vi.fn(async () => ({ secret: SECRET })),
    logger: quietLogger,
    now: () => now,
  };
}

function acceptedContact(d: ReturnType<typeof deps>): { contact: Contact; eventKey: string } {
  const calls = vi.mocked(d.accept).mock.calls;
  expect(calls).toHaveLength(1);
  const [contact, , eventKey] = calls[0] as Parameters<IngestDependencies['accept']>;
  return { contact, eventKey };
}

describe('Source: woocommerceSource through ingestWebhook', () => {
  it("accepts WooCommerce's sample order: 200, keyed by store, order and topic", async () => {
    const d = deps();
    const answer = await ingestWebhook(wooRequest(ORDER), woocommerceSource, d);
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'accepted', eventKey: 'woocommerce:example.com:order:727:created' },
    });
    const { contact, eventKey } = acceptedContact(d);
    expect(eventKey).toBe('woocommerce:example.com:order:727:created');
    expect(ContactSchema.parse(contact)).toEqual(contact);
    expect(contact).toEqual({
      firstName: 'John',
      lastName: 'Doe',
      emails: ['john.doe@example.com'],
      // The docs' (555) 555-5555 is not an assigned number: kept with the reason, not guessed.
      phones: [],
      rejectedPhones: [{ input: '(555) 555-5555', reason: 'phone number is not a valid number (region US)' }],
      address: { line1: '969 Market', city: 'San Francisco', region: 'CA', postalCode: '94103', countryCode: 'US' },
      tags: ['woocommerce', 'store'],
      attributes: { woocommerce_store: 'example.com', woocommerce_order: '727', woocommerce_total: '29.35 USD' },
      origin: {
        source: 'woocommerce',
        route: 'default',
        eventKey: 'woocommerce:example.com:order:727:created',
        occurredAt: '2017-03-22T19:28:02.000Z',
        personKey: 'john.doe@example.com',
      },
    });
  });

  it('normalises the billing phone to E.164 with billing.country', async () => {
    const d = deps();
    await ingestWebhook(wooRequest(fixture('order-billing-phone.json')), woocommerceSource, d);
    expect(acceptedContact(d).contact).toMatchObject({
      emails: ['john.doe@example.com'],
      phones: [{ e164: '+14155550132' }],
      rejectedPhones: [],
    });
  });

  it('reads a national number in the billing country: 030 901820 in DE', async () => {
    const d = deps();
    await ingestWebhook(wooRequest(fixture('order-national-phone.json')), woocommerceSource, d);
    expect(acceptedContact(d).contact).toMatchObject({
      phones: [{ e164: '+4930901820' }],
      address: { city: 'Berlin', countryCode: 'DE' },
      attributes: { woocommerce_total: '29.35 EUR' },
    });
  });

  it('answers 200 skipped with the reason for an order with no email and no phone', async () => {
    const d = deps();
    expect(await ingestWebhook(wooRequest(fixture('order-no-contact.json')), woocommerceSource, d)).toEqual({
      statusCode: 200,
      body: {
        status: 'skipped',
        eventKey: 'woocommerce:example.com:order:727:created',
        reason: 'no usable email or phone: the order has no billing email or phone',
      },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('keys order.updated by the modification time: a second delivery of one change dedupes, a later change does not', async () => {
    const updated = fixture('order-updated.json');
    const keyOf = async (body: string, deliveryId: string) =>
      (
        await ingestWebhook(
          wooRequest(body, {
            'x-wc-webhook-topic': 'order.updated',
            'x-wc-webhook-event': 'updated',
            'x-wc-webhook-delivery-id': deliveryId,
          }),
          woocommerceSource,
          deps(),
        )
      ).body;
    const first = await keyOf(ORDER, 'delivery-a');
    // WooCommerce makes a new delivery id for every delivery; the key must not follow it.
    expect(await keyOf(ORDER, 'delivery-b')).toEqual(first);
    expect(first).toEqual({
      status: 'accepted',
      eventKey: 'woocommerce:example.com:order:727:updated:2017-03-22T19:28:08',
    });
    expect(await keyOf(updated, 'delivery-c')).toEqual({
      status: 'accepted',
      eventKey: 'woocommerce:example.com:order:727:updated:2017-03-23T12:12:40',
    });
  });

  it('answers 200 duplicate when the event was accepted before', async () => {
    const d = deps({ accept: vi.fn<IngestDependencies['accept']>(async () => 'duplicate') });
    expect(await ingestWebhook(wooRequest(ORDER), woocommerceSource, d)).toEqual({
      statusCode: 200,
      body: { status: 'duplicate', eventKey: 'woocommerce:example.com:order:727:created' },
    });
  });

  it("accepts WooCommerce's sample customer, keyed and identified by store and customer id", async () => {
    const d = deps();
    const answer = await ingestWebhook(
      wooRequest(CUSTOMER, { 'x-wc-webhook-topic': 'customer.created', 'x-wc-webhook-resource': 'customer' }),
      woocommerceSource,
      d,
    );
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'accepted', eventKey: 'woocommerce:example.com:customer:25:created' },
    });
    expect(acceptedContact(d).contact).toMatchObject({
      firstName: 'John',
      lastName: 'Doe',
      emails: ['john.doe@example.com'],
      tags: ['woocommerce', 'store'],
      attributes: { woocommerce_store: 'example.com', woocommerce_customer_id: '25' },
      origin: { occurredAt: '2017-03-21T19:09:28.000Z', personKey: 'woocommerce:example.com:customer:25' },
    });
  });

  it('reads a body API Gateway handed over base64-encoded', async () => {
    const event = httpApiEvent('woocommerce', 'default', ORDER, wooHeaders(ORDER), true);
    const d = deps();
    expect(await ingestWebhook(fromHttpApiEvent(event, 'woocommerce'), woocommerceSource, d)).toMatchObject(ACCEPTED);
  });

  it('ignores other topics with 200', async () => {
    const d = deps();
    expect(
      await ingestWebhook(wooRequest('{"id": 93}', { 'x-wc-webhook-topic': 'product.created' }), woocommerceSource, d),
    ).toEqual({
      statusCode: 200,
      body: {
        status: 'ignored',
        reason: 'topic "product.created" carries no contact (order.created, order.updated, customer.created do)',
      },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });
});

describe('Source: woocommerceSource against a replayed body', () => {
  const bodyKeyOf = (d: ReturnType<typeof deps>) => vi.mocked(d.accept).mock.calls[0]?.[4];
  const hashKey = (body: string) => `woocommerce:body:sha256:${createHash('sha256').update(body).digest('hex')}`;

  it('keys the event also by a hash of the signed bytes, which no store URL or delivery id changes', async () => {
    const first = deps();
    await ingestWebhook(wooRequest(ORDER), woocommerceSource, first);
    const replay = deps();
    const rewritten = {
      'x-wc-webhook-source': 'https://elsewhere.example.net/',
      'x-wc-webhook-delivery-id': 'a'.repeat(32),
    };
    await ingestWebhook(wooRequest(ORDER, rewritten), woocommerceSource, replay);
    expect(acceptedContact(replay).eventKey).toBe('woocommerce:elsewhere.example.net:order:727:created');
    expect(bodyKeyOf(first)).toBe(hashKey(ORDER));
    expect(bodyKeyOf(replay)).toBe(bodyKeyOf(first));
  });

  it('gives a customer the key of its own bytes', async () => {
    const d = deps();
    await ingestWebhook(wooRequest(CUSTOMER, { 'x-wc-webhook-topic': 'customer.created' }), woocommerceSource, d);
    expect(bodyKeyOf(d)).toBe(hashKey(CUSTOMER));
  });
});

describe('Source: woocommerceSource and the creation ping', () => {
  it('answers the ping with exactly 200 ignored, without reading the secret', async () => {
    const d = deps();
    expect(await ingestWebhook(pingRequest(), woocommerceSource, d)).toEqual({
      statusCode: 200,
      body: { status: 'ignored', reason: 'webhook creation ping' },
    });
    expect(d.sourceSecret).not.toHaveBeenCalled();
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('recognises the ping sent without a content type (WordPress without cURL)', () => {
    expect(isWooCommercePing(pingRequest('webhook_id=3', {}))).toBe(true);
  });

  it.each([
    ['another form field', pingRequest('webhook_id=12&first_name=Ada')],
    ['a non-numeric id', pingRequest('webhook_id=abc')],
    ['a JSON content type', pingRequest('webhook_id=12', { 'content-type': 'application/json' })],
    [
      'a topic header',
      pingRequest('webhook_id=12', {
        'content-type': 'application/x-www-form-urlencoded',
        'x-wc-webhook-topic': 'order.created',
      }),
    ],
  ])('does not take a request with %s for the ping: unsigned, it is a 401', async (_what, request) => {
    expect(isWooCommercePing(request)).toBe(false);
    expect((await ingestWebhook(request, woocommerceSource, deps())).statusCode).toBe(401);
  });
});

describe('Source: woocommerceSource refusals', () => {
  async function refusal(request: WebhookRequest, d = deps()) {
    const answer = await ingestWebhook(request, woocommerceSource, d);
    expect(d.accept).not.toHaveBeenCalled();
    return answer;
  }

  it('answers 401 missing_signature for an unsigned order', async () => {
    expect(await refusal(wooRequest(ORDER, { 'x-wc-webhook-signature': undefined }))).toEqual({
      statusCode: 401,
      body: { error: { code: 'missing_signature', message: 'the X-WC-Webhook-Signature header is missing' } },
    });
  });

  it('answers 401 invalid_signature for another secret and for a body changed after signing', async () => {
    expect((await refusal(wooRequest(ORDER, { 'x-wc-webhook-signature': sign(ORDER, 'other-secret') }))).body).toEqual({
      error: {
        code: 'invalid_signature',
        message: "the X-WC-Webhook-Signature header does not match the body signed with this route's secret",
      },
    });
    const changed = ORDER.replace('john.doe@example.com', 'mallory@example.com');
    expect((await refusal(wooRequest(changed, { 'x-wc-webhook-signature': sign(ORDER) }))).statusCode).toBe(401);
  });

  it('answers 401 missing_header for a signed body without a topic', async () => {
    expect((await refusal(wooRequest(ORDER, { 'x-wc-webhook-topic': undefined }))).body).toEqual({
      error: { code: 'missing_header', message: 'the X-WC-Webhook-Topic header is missing' },
    });
  });

  it('answers 400 malformed_body for malformed JSON under a valid signature, and for a payload that is not an order', async () => {
    expect((await refusal(wooRequest('{"id": 727,'))).body).toEqual({
      error: { code: 'malformed_body', message: expect.stringMatching(/^body is not valid JSON: /) as string },
    });
    expect((await refusal(wooRequest('{"id": "727"}'))).body).toEqual({
      error: {
        code: 'malformed_body',
        message: expect.stringMatching(/^body is not a WooCommerce order\.created webhook: id: /) as string,
      },
    });
  });

  it('answers 404 unknown_route for a route that is not configured', async () => {
    expect(await refusal(wooRequest(ORDER, {}, 'other-store'))).toEqual({
      statusCode: 404,
      body: {
        error: { code: 'unknown_route', message: 'no route "other-store" is configured for source "woocommerce"' },
      },
    });
  });
});

describe('Function: wooStoreOf', () => {
  it('keeps host and path of X-WC-Webhook-Source, else names the route', () => {
    expect(wooStoreOf(wooRequest('{}', { 'x-wc-webhook-source': 'https://Shop.Example.com/' }), route)).toBe(
      'shop.example.com',
    );
    expect(wooStoreOf(wooRequest('{}', { 'x-wc-webhook-source': 'https://example.com/de/' }), route)).toBe(
      'example.com/de',
    );
    expect(wooStoreOf(wooRequest('{}', { 'x-wc-webhook-source': undefined }), route)).toBe('route-default');
    expect(wooStoreOf(wooRequest('{}', { 'x-wc-webhook-source': 'not a url' }), route)).toBe('route-default');
  });
});

describe('Function: mapWooCustomer', () => {
  const base = WooCustomerSchema.parse(JSON.parse(CUSTOMER));

  it('falls back to the billing names and email when the account has none', () => {
    const { contact } = mapWooCustomer(
      {
        ...base,
        first_name: '',
        last_name: '',
        email: '',
        billing: { ...base.billing, first_name: 'Jo', last_name: 'Dee', email: 'jo@example.com' },
      },
      route,
      'example.com',
      'k',
      now,
    );
    expect(contact).toMatchObject({ firstName: 'Jo', lastName: 'Dee', emails: ['jo@example.com'] });
  });

  it('skips a customer with no email and no phone', () => {
    const empty = { first_name: '', last_name: '', email: '', phone: '', country: '' };
    expect(
      mapWooCustomer({ ...base, email: '', billing: empty, shipping: empty }, route, 'example.com', 'k', now)
        .skipReason,
    ).toBe('no usable email or phone: the customer has no email or phone');
  });
});
