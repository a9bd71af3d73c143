import { createHash, createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { ContactSchema } from '../../../shared/contact.js';
import { parseRoutesConfig, findRoute, type ResolvedRoute } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies } from '../../../shared/ingest.js';
import {
  mapShopifyCustomer,
  ShopifyCustomerWebhookSchema,
  shopifyOrderEventKey,
} from '../../../shared/shopify/orders.js';
import {
  readShopifyDelivery,
  shopifyDeliveryEventKey,
  shopifyDeliveryFromHeaders,
} from '../../../shared/shopify/deliveries.js';
import { shopifySource } from '../../../shared/shopify/webhook.js';
import { MAX_BODY_BYTES, WebhookRejectedError, type WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent, lambdaContext } from '../../../local/lambda.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

const SECRET = 'shpss_local_shopify_secret';
const SHOP = 'jsmith.myshopify.com';
const WEBHOOK_ID = 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043';
const EVENT_ID = '98880550-7158-44d4-b7cd-2c97c8a091b5';
const now = new Date('2026-11-21T10:00:00.000Z');
const TRIGGERED_AT = '2026-11-21T09:59:58.110521905Z';

/** Fixtures are read as text: the signature covers these exact bytes, and their int64 ids must stay unparsed. */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/shopify/${name}`, import.meta.url), 'utf8');
const ORDER = fixture('orders-create.json');
const CUSTOMER = fixture('customers-create.json');

const sign = (body: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');

/** Headers as Shopify sends them (lower-cased, as API Gateway hands them over); `undefined` removes one. */
function shopifyHeaders(
  body: string | Buffer,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'x-shopify-hmac-sha256': sign(body),
    'x-shopify-topic': 'orders/create',
    'x-shopify-shop-domain': SHOP,
    'x-shopify-webhook-id': WEBHOOK_ID,
    'x-shopify-event-id': EVENT_ID,
    'x-shopify-api-version': '2026-07',
    // Shopify writes nanoseconds; two seconds before the tests' clock.
    'x-shopify-triggered-at': TRIGGERED_AT,
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function shopifyRequest(
  body: string | Buffer,
  overrides: Record<string, string | undefined> = {},
  routeName = 'default',
): WebhookRequest {
  return {
    source: 'shopify',
    routeName,
    headers: shopifyHeaders(body, overrides),
    query: {},
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  };
}

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    shopify: {
      default: { deliverTo: ['twochat'], tags: ['vip'] },
      'main-shop': { deliverTo: ['twochat'], shopDomains: ['main-shop.myshopify.com'] },
      'two-hours': { deliverTo: ['twochat'], maxDeliveryAgeHours: 2 },
    },
  },
});
const route = findRoute(routes, 'shopify', 'default') as ResolvedRoute;
const quietLogger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };

function deps(options: { accept?: IngestDependencies['accept']; secret?: { secret?: string; token?: string } } = {}) {
  return {
    routes,
    accept: options.accept ?? vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: vi.fn(async () => options.secret ?? { secret: SECRET }),
    logger: quietLogger,
    now: () => now,
  };
}

/** The contact and keys handed to accept by the one call a test expects. */
function accepted(d: ReturnType<typeof deps>) {
  const calls = vi.mocked(d.accept).mock.calls;
  expect(calls).toHaveLength(1);
  const [contact, acceptedRoute, eventKey, aliases, bodyKey] = calls[0] as Parameters<IngestDependencies['accept']>;
  return { contact, route: acceptedRoute, eventKey, aliases, bodyKey };
}

const EVENT_KEY = `shopify:${SHOP}:event:${EVENT_ID}`;
const ORDER_KEY = shopifyOrderEventKey(SHOP, 'gid://shopify/Order/820982911946154508');

describe('Source: shopifySource through ingestWebhook', () => {
  it("accepts Shopify's orders/create sample: 200, keyed by X-Shopify-Event-Id, marking the order's own key as seen", async () => {
    const d = deps();
    const answer = await ingestWebhook(shopifyRequest(ORDER), shopifySource, d);
    expect(answer).toEqual({ statusCode: 200, body: { status: 'accepted', eventKey: EVENT_KEY } });
    const { contact, route: acceptedRoute, eventKey, aliases } = accepted(d);
    expect(acceptedRoute.name).toBe('default');
    expect(eventKey).toBe(EVENT_KEY);
    expect(aliases).toEqual([ORDER_KEY]);
    expect(ContactSchema.parse(contact)).toEqual(contact);
    expect(contact).toEqual({
      firstName: 'John',
      lastName: 'Smith',
      emails: ['john@example.com'],
      // Shopify's sample numbers (555-555-SHIP, 123-123-1234) are not assigned numbers: kept with the reason, not guessed.
      phones: [],
      rejectedPhones: [
        { input: '555-555-SHIP', reason: 'phone number is not a valid number (region US)' },
        { input: '123-123-1234', reason: 'phone number is not a valid number (region CA)' },
      ],
      address: {
        line1: '123 Shipping Street',
        city: 'Shippington',
        region: 'Kentucky',
        postalCode: '40003',
        countryCode: 'US',
      },
      tags: ['shopify', 'vip'],
      attributes: {
        shopify_shop: SHOP,
        shopify_order: '#9999',
        shopify_total: '404.95 USD',
        shopify_customer_id: '115310627314723954',
      },
      origin: {
        source: 'shopify',
        route: 'default',
        eventKey: EVENT_KEY,
        occurredAt: '2022-01-01T00:00:00.000Z',
        personKey: 'gid://shopify/Customer/115310627314723954',
      },
    });
  });

  it('keys by X-Shopify-Webhook-Id when the delivery has no X-Shopify-Event-Id', async () => {
    const d = deps();
    const answer = await ingestWebhook(shopifyRequest(ORDER, { 'x-shopify-event-id': undefined }), shopifySource, d);
    expect(answer.body).toEqual({ status: 'accepted', eventKey: `shopify:${SHOP}:webhook:${WEBHOOK_ID}` });
    expect(accepted(d).contact.origin.eventKey).toBe(`shopify:${SHOP}:webhook:${WEBHOOK_ID}`);
  });

  it('answers 200 duplicate for a delivery accepted before (a Shopify retry), queueing nothing new', async () => {
    const d = deps({ accept: vi.fn<IngestDependencies['accept']>(async () => 'duplicate') });
    expect(await ingestWebhook(shopifyRequest(ORDER), shopifySource, d)).toEqual({
      statusCode: 200,
      body: { status: 'duplicate', eventKey: EVENT_KEY },
    });
  });

  it('reads orders/paid like orders/create, with the same order alias', async () => {
    const d = deps();
    const answer = await ingestWebhook(
      shopifyRequest(ORDER, { 'x-shopify-topic': 'orders/paid', 'x-shopify-event-id': 'paid-event-1' }),
      shopifySource,
      d,
    );
    expect(answer).toMatchObject(ACCEPTED);
    const { contact, aliases } = accepted(d);
    expect(aliases).toEqual([ORDER_KEY]);
    expect(contact.emails).toEqual(['john@example.com']);
  });

  it('takes the billing phone when the customer has none, as E.164 in the billing country', async () => {
    const d = deps();
    const body = fixture('orders-create-billing-phone.json');
    expect(await ingestWebhook(shopifyRequest(body), shopifySource, d)).toMatchObject(ACCEPTED);
    expect(accepted(d).contact).toMatchObject({
      firstName: 'John',
      lastName: 'Smith',
      emails: ['john@example.com'],
      phones: [{ e164: '+14155550132' }],
      rejectedPhones: [],
    });
  });

  it("reads a national number with its address's country code: 020 7946 0018 on a GB address", async () => {
    const d = deps();
    expect(
      await ingestWebhook(shopifyRequest(fixture('orders-create-national-phone.json')), shopifySource, d),
    ).toMatchObject(ACCEPTED);
    expect(accepted(d).contact).toMatchObject({
      phones: [{ e164: '+442079460018' }],
      address: { line1: '1 Dorset Street', city: 'London', countryCode: 'GB' },
    });
  });

  it('answers 200 skipped with the reason for an order with no email and no phone, queueing nothing', async () => {
    const d = deps();
    const answer = await ingestWebhook(shopifyRequest(fixture('orders-create-no-contact.json')), shopifySource, d);
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'skipped',
        eventKey: EVENT_KEY,
        reason:
          'no usable email or phone: the order carries no email or phone (Shopify leaves them out for apps without protected customer data access)',
      },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('maps ids above 2^53 exactly: they are read from the gid strings, never from the rounded numbers', async () => {
    const body = fixture('orders-create-big-ids.json');
    // JSON.parse rounds them; the mapping must not depend on them.
    const raw = JSON.parse(body) as { id: number; customer: { id: number } };
    expect(String(raw.id)).not.toBe('9223372036854775807');
    expect(String(raw.customer.id)).toBe('9007199254740992');
    const d = deps();
    expect(await ingestWebhook(shopifyRequest(body), shopifySource, d)).toMatchObject(ACCEPTED);
    const { contact, aliases } = accepted(d);
    expect(aliases).toEqual([`shopify:${SHOP}:order:gid://shopify/Order/9223372036854775807`]);
    expect(contact.attributes['shopify_customer_id']).toBe('9007199254740993');
    expect(contact.origin.personKey).toBe('gid://shopify/Customer/9007199254740993');
    expect(JSON.stringify(contact)).not.toMatch(/9223372036854776000|9007199254740992/);
  });

  it("accepts Shopify's customers/create sample with no order alias", async () => {
    const d = deps();
    const answer = await ingestWebhook(
      shopifyRequest(CUSTOMER, { 'x-shopify-topic': 'customers/create' }),
      shopifySource,
      d,
    );
    expect(answer).toEqual({ statusCode: 200, body: { status: 'accepted', eventKey: EVENT_KEY } });
    const { contact, aliases } = accepted(d);
    expect(aliases).toBeUndefined();
    expect(contact).toEqual({
      firstName: 'Bob',
      lastName: 'Biller',
      emails: ['bob@biller.com'],
      phones: [],
      rejectedPhones: [{ input: '555-555-5555', reason: 'phone number is not a valid number (region CA)' }],
      address: { line1: "151 O'Connor Street", city: 'Ottawa', region: 'ON', postalCode: 'K2P 2L8', countryCode: 'CA' },
      tags: ['shopify', 'vip'],
      attributes: { shopify_shop: SHOP, shopify_customer_id: '706405506930370084' },
      origin: {
        source: 'shopify',
        route: 'default',
        eventKey: EVENT_KEY,
        occurredAt: '2022-01-01T00:00:00.000Z',
        personKey: 'gid://shopify/Customer/706405506930370084',
      },
    });
  });

  it('maps customers/update with the address phone in the address country, dated by updated_at', async () => {
    const d = deps();
    await ingestWebhook(
      shopifyRequest(fixture('customers-update-address-phone.json'), { 'x-shopify-topic': 'customers/update' }),
      shopifySource,
      d,
    );
    expect(accepted(d).contact).toMatchObject({
      emails: ['bob@biller.com'],
      phones: [{ e164: '+16135550134' }],
      origin: { occurredAt: '2022-01-02T14:30:00.000Z' },
    });
  });

  it('reads a body API Gateway handed over base64-encoded, verifying the decoded bytes', async () => {
    // Non-ASCII text makes the difference between bytes and characters visible.
    const body = ORDER.replace('"first_name": "John"', '"first_name": "Zoë"');
    const event = httpApiEvent('shopify', 'default', body, shopifyHeaders(body), true);
    expect(event.body).not.toContain('Zoë');
    const d = deps();
    const answer = await ingestWebhook(fromHttpApiEvent(event, 'shopify'), shopifySource, d);
    expect(answer).toMatchObject(ACCEPTED);
    expect(accepted(d).contact.firstName).toBe('Zoë');
  });

  it('ignores other topics with 200, without parsing the body', async () => {
    const d = deps();
    const answer = await ingestWebhook(
      shopifyRequest('not json at all', { 'x-shopify-topic': 'products/update' }),
      shopifySource,
      d,
    );
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'ignored',
        reason:
          'topic "products/update" carries no contact (orders/create, orders/paid, customers/create, customers/update do)',
      },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });
});

describe('Source: shopifySource refusals', () => {
  async function refusal(request: WebhookRequest, d = deps()) {
    const answer = await ingestWebhook(request, shopifySource, d);
    expect(d.accept).not.toHaveBeenCalled();
    return answer;
  }

  it('answers 401 missing_signature without X-Shopify-Hmac-Sha256, before fetching the secret', async () => {
    const d = deps();
    expect(await refusal(shopifyRequest(ORDER, { 'x-shopify-hmac-sha256': undefined }), d)).toEqual({
      statusCode: 401,
      body: { error: { code: 'missing_signature', message: 'the X-Shopify-Hmac-Sha256 header is missing' } },
    });
    expect(d.sourceSecret).not.toHaveBeenCalled();
  });

  it.each([
    ['x-shopify-topic', 'X-Shopify-Topic'],
    ['x-shopify-shop-domain', 'X-Shopify-Shop-Domain'],
    ['x-shopify-webhook-id', 'X-Shopify-Webhook-Id'],
  ])('answers 401 missing_header naming %s when it is missing', async (header, name) => {
    expect(await refusal(shopifyRequest(ORDER, { [header]: undefined }))).toEqual({
      statusCode: 401,
      body: { error: { code: 'missing_header', message: `the ${name} header is missing` } },
    });
  });

  it('answers 401 invalid_signature for a body signed with another secret', async () => {
    const answer = await refusal(
      shopifyRequest(ORDER, { 'x-shopify-hmac-sha256': sign(ORDER, 'some-other-app-secret') }),
    );
    expect(answer).toEqual({
      statusCode: 401,
      body: {
        error: {
          code: 'invalid_signature',
          message: "the X-Shopify-Hmac-Sha256 header does not match the body signed with this route's secret",
        },
      },
    });
  });

  it('answers 401 for a body changed after signing, even only re-serialised', async () => {
    const tampered = ORDER.replace('john@example.com', 'mallory@example.com');
    expect((await refusal(shopifyRequest(tampered, { 'x-shopify-hmac-sha256': sign(ORDER) }))).statusCode).toBe(401);
    const reserialised = JSON.stringify(JSON.parse(ORDER));
    expect((await refusal(shopifyRequest(reserialised, { 'x-shopify-hmac-sha256': sign(ORDER) }))).statusCode).toBe(
      401,
    );
  });

  it('answers 401 for a signature that is hex, or not a signature at all', async () => {
    const hex = createHmac('sha256', SECRET).update(ORDER).digest('hex');
    expect((await refusal(shopifyRequest(ORDER, { 'x-shopify-hmac-sha256': hex }))).statusCode).toBe(401);
    expect((await refusal(shopifyRequest(ORDER, { 'x-shopify-hmac-sha256': 'sha256=abc' }))).statusCode).toBe(401);
  });

  it('answers 400 malformed_body for malformed JSON under a valid signature', async () => {
    const answer = await refusal(shopifyRequest('{"id": 1, "admin_graphql_api_id": '));
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toEqual({
      error: { code: 'malformed_body', message: expect.stringMatching(/^body is not valid JSON: /) as string },
    });
  });

  it('answers 400 for signed JSON that is not an object, or not an order', async () => {
    expect((await refusal(shopifyRequest('[1,2,3]'))).body).toEqual({
      error: {
        code: 'malformed_body',
        message: expect.stringMatching(/^not a Shopify orders\/create payload: \(root\): /) as string,
      },
    });
    const noGid = JSON.stringify({ id: 1, email: 'a@example.com' });
    expect((await refusal(shopifyRequest(noGid))).body).toEqual({
      error: {
        code: 'malformed_body',
        message: expect.stringMatching(/^not a Shopify orders\/create payload: admin_graphql_api_id: /) as string,
      },
    });
  });

  it('answers 404 unknown_route for a route that is not configured, before any secret is read', async () => {
    const d = deps();
    expect(await refusal(shopifyRequest(ORDER, {}, 'no-such-route'), d)).toEqual({
      statusCode: 404,
      body: {
        error: { code: 'unknown_route', message: 'no route "no-such-route" is configured for source "shopify"' },
      },
    });
    expect(d.sourceSecret).not.toHaveBeenCalled();
  });

  it("answers 401 shop_not_allowed for a shop outside the route's shopDomains, and accepts the listed one", async () => {
    expect(await refusal(shopifyRequest(ORDER, {}, 'main-shop'))).toEqual({
      statusCode: 401,
      body: { error: { code: 'shop_not_allowed', message: `shop "${SHOP}" is not in this route's shopDomains` } },
    });
    const d = deps();
    expect(
      await ingestWebhook(
        shopifyRequest(ORDER, { 'x-shopify-shop-domain': 'Main-Shop.myshopify.com' }, 'main-shop'),
        shopifySource,
        d,
      ),
    ).toMatchObject(ACCEPTED);
  });

  it('answers 400 invalid_header for a shop domain that is not a myshopify.com domain', async () => {
    expect((await refusal(shopifyRequest(ORDER, { 'x-shopify-shop-domain': 'evil.example.com' }))).body).toEqual({
      error: {
        code: 'invalid_header',
        message: 'the X-Shopify-Shop-Domain header must be a shop domain such as "my-shop.myshopify.com"',
      },
    });
  });

  it('answers 415 for a subscription in XML format', async () => {
    const xml = '<?xml version="1.0"?><order></order>';
    expect((await refusal(shopifyRequest(xml, { 'content-type': 'application/xml' }))).body).toEqual({
      error: {
        code: 'unsupported_content_type',
        message: 'content type "application/xml" is not supported; Shopify webhooks are application/json',
      },
    });
  });

  it('answers 413 for a body over the limit', async () => {
    expect((await refusal(shopifyRequest(' '.repeat(MAX_BODY_BYTES + 1)))).statusCode).toBe(413);
  });

  it('answers 500 when the route secret holds only a token: our configuration, so Shopify keeps retrying', async () => {
    const answer = await refusal(shopifyRequest(ORDER), deps({ secret: { token: 'a-token' } }));
    expect(answer.statusCode).toBe(500);
    const message = 'the webhook could not be processed; try again later';
    expect(answer.body).toEqual({ error: { code: 'internal_error', message } });
  });

  it('answers 503 when the event cannot be stored, so Shopify retries', async () => {
    const answer = await ingestWebhook(
      shopifyRequest(ORDER),
      shopifySource,
      deps({ accept: vi.fn(async () => Promise.reject(new Error('table down'))) }),
    );
    expect(answer).toEqual({
      statusCode: 503,
      body: { error: { code: 'not_accepted', message: 'the event could not be stored; retry the webhook later' } },
    });
  });
});

describe('Source: shopifySource against a replayed body', () => {
  const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');
  const ingest = (request: WebhookRequest, d = deps()) => ingestWebhook(request, shopifySource, d);
  const triggered = (at: string | undefined) => ({ 'x-shopify-triggered-at': at });

  it('keys the event also by a hash of the signed bytes, whatever ids the headers carry', async () => {
    const first = deps();
    await ingest(shopifyRequest(ORDER), first);
    const replay = deps();
    const eventId = randomUUID();
    const freshIds = { 'x-shopify-event-id': eventId, 'x-shopify-webhook-id': randomUUID() };
    await ingest(shopifyRequest(ORDER, freshIds), replay);
    expect(accepted(first).bodyKey).toBe(`shopify:body:sha256:${sha256(ORDER)}`);
    const { bodyKey } = accepted(first);
    expect(accepted(replay)).toMatchObject({ eventKey: `shopify:${SHOP}:event:${eventId}`, bodyKey });
  });

  it('gives other bytes another body key: one changed character is another event', async () => {
    const d = deps();
    const body = ORDER.replace('"name": "#9999"', '"name": "#9998"');
    expect(body).not.toBe(ORDER);
    await ingest(shopifyRequest(body), d);
    expect(accepted(d).bodyKey).toBe(`shopify:body:sha256:${sha256(body)}`);
  });

  it('answers 401 stale_delivery when X-Shopify-Triggered-At is more than 48 hours old, queueing nothing', async () => {
    const d = deps();
    const answer = await ingest(shopifyRequest(ORDER, triggered('2026-11-19T09:59:59.000Z')), d);
    const message =
      'this delivery was triggered 2 days ago (X-Shopify-Triggered-At); ' +
      'this route takes deliveries up to 48 hours old (maxDeliveryAgeHours)';
    expect(answer).toEqual({ statusCode: 401, body: { error: { code: 'stale_delivery', message } } });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('accepts a delivery exactly 48 hours old, and one with no X-Shopify-Triggered-At', async () => {
    expect(await ingest(shopifyRequest(ORDER, triggered('2026-11-19T10:00:00Z')))).toMatchObject(ACCEPTED);
    expect(await ingest(shopifyRequest(ORDER, triggered(undefined)))).toMatchObject(ACCEPTED);
  });

  it("uses the route's maxDeliveryAgeHours: 3 hours is too old for a route that allows 2", async () => {
    const threeHours = triggered('2026-11-21T07:00:00Z');
    const answer = await ingest(shopifyRequest(ORDER, threeHours, 'two-hours'));
    expect(answer.statusCode).toBe(401);
    const message = expect.stringContaining('triggered 3 hours ago') as string;
    expect(answer.body).toMatchObject({ error: { code: 'stale_delivery', message } });
    expect(await ingest(shopifyRequest(ORDER, threeHours))).toMatchObject(ACCEPTED);
  });

  it('takes maxDeliveryAgeHours on Shopify routes only, up to the 720 hours dedupe keys are kept', () => {
    const config = (source: string, hours: number) => ({
      accounts: { a: { provider: 'twochat' } },
      sources: { [source]: { r: { deliverTo: ['a'], maxDeliveryAgeHours: hours } } },
    });
    const notShopify = 'maxDeliveryAgeHours: only Shopify routes say when a delivery was triggered';
    expect(() => parseRoutesConfig(config('woocommerce', 24))).toThrow(notShopify);
    expect(() => parseRoutesConfig(config('shopify', 721))).toThrow('sources.shopify.r.maxDeliveryAgeHours');
    expect(findRoute(parseRoutesConfig(config('shopify', 720)), 'shopify', 'r')?.maxDeliveryAgeHours).toBe(720);
  });

  it('answers 400 invalid_header for an X-Shopify-Triggered-At that is not a time', async () => {
    const error = { code: 'invalid_header', message: 'the X-Shopify-Triggered-At header is not a time' };
    expect(await ingest(shopifyRequest(ORDER, triggered('yesterday')))).toEqual({ statusCode: 400, body: { error } });
  });

  it('checks the signature before the age: an unsigned stale delivery is a 401 missing_signature', async () => {
    const headers = { ...triggered('2020-01-01T00:00:00Z'), 'x-shopify-hmac-sha256': undefined };
    expect((await ingest(shopifyRequest(ORDER, headers))).body).toMatchObject({ error: { code: 'missing_signature' } });
  });

  it('answers a stale delivery of a topic that carries no contact 200 ignored, as any other', async () => {
    const headers = { ...triggered('2020-01-01T00:00:00Z'), 'x-shopify-topic': 'products/update' };
    expect((await ingest(shopifyRequest('{}', headers))).body).toMatchObject({ status: 'ignored' });
  });
});

describe('Function: shopifyDeliveryFromHeaders', () => {
  it('reads the delivery headers, lower-casing the shop domain', () => {
    expect(
      shopifyDeliveryFromHeaders(shopifyHeaders(ORDER, { 'x-shopify-shop-domain': 'JSmith.myshopify.com' })),
    ).toEqual({
      topic: 'orders/create',
      shopDomain: SHOP,
      webhookId: WEBHOOK_ID,
      eventId: EVENT_ID,
      apiVersion: '2026-07',
      triggeredAt: TRIGGERED_AT,
    });
  });

  it('rejects ids with spaces or of unbounded length (they become table keys)', () => {
    expect(() => shopifyDeliveryFromHeaders(shopifyHeaders(ORDER, { 'x-shopify-webhook-id': 'a b' }))).toThrow(
      WebhookRejectedError,
    );
    expect(() => shopifyDeliveryFromHeaders(shopifyHeaders(ORDER, { 'x-shopify-event-id': 'x'.repeat(201) }))).toThrow(
      'the X-Shopify-Event-Id header is not valid',
    );
  });
});

describe('Function: shopifyDeliveryEventKey', () => {
  it('prefers the event id, shared by every delivery of one merchant action', () => {
    expect(shopifyDeliveryEventKey({ shopDomain: 'Shop.myshopify.com', webhookId: 'w-1', eventId: 'e-1' })).toBe(
      'shopify:shop.myshopify.com:event:e-1',
    );
    expect(shopifyDeliveryEventKey({ shopDomain: 'shop.myshopify.com', webhookId: 'w-1' })).toBe(
      'shopify:shop.myshopify.com:webhook:w-1',
    );
  });
});

describe('Function: readShopifyDelivery', () => {
  const delivery = { topic: 'orders/create', shopDomain: SHOP, webhookId: WEBHOOK_ID, eventId: EVENT_ID };

  it("gives the order's contact the delivery's key, and the order key as alias for reconcile", () => {
    const reading = readShopifyDelivery(delivery, JSON.parse(ORDER), route, now);
    expect(reading).toMatchObject({
      kind: 'contact',
      eventKey: EVENT_KEY,
      aliases: [ORDER_KEY],
      contact: { origin: { eventKey: EVENT_KEY } },
    });
  });

  it('throws a 400 naming the fields when a customer payload lacks its gid', () => {
    expect(() =>
      readShopifyDelivery({ ...delivery, topic: 'customers/create' }, { id: 1, email: 'a@example.com' }, route, now),
    ).toThrow(/^not a Shopify customers\/create payload: admin_graphql_api_id: /);
  });
});

describe('Function: mapShopifyCustomer', () => {
  const base = ShopifyCustomerWebhookSchema.parse(JSON.parse(CUSTOMER));

  it('takes the names from the default address when the customer has none', () => {
    const { contact } = mapShopifyCustomer({ ...base, first_name: null, last_name: null }, route, SHOP, 'k', now);
    expect([contact.firstName, contact.lastName]).toEqual(['Bob', 'Biller']);
  });

  it("reads the customer's own phone with the default address's country", () => {
    const { contact } = mapShopifyCustomer({ ...base, phone: '(613) 555-0199' }, route, SHOP, 'k', now);
    expect(contact.phones).toEqual([{ e164: '+16135550199' }]);
  });

  it('reads the consent older API versions still send', () => {
    const { contact } = mapShopifyCustomer(
      { ...base, email_marketing_consent: { state: 'subscribed' }, sms_marketing_consent: null },
      route,
      SHOP,
      'k',
      now,
    );
    expect(contact.consent).toEqual({ email: true });
  });

  it('skips a customer with no email and no phone, saying Shopify may have withheld them', () => {
    const { skipReason } = mapShopifyCustomer(
      { ...base, email: null, default_address: null, addresses: [] },
      route,
      SHOP,
      'k',
      now,
    );
    expect(skipReason).toBe(
      'no usable email or phone: the customer has no email or phone (Shopify leaves them out for apps without protected customer data access)',
    );
  });
});

describe('Handler: functions/shops', () => {
  let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

  beforeAll(async () => {
    // Cold start builds its AWS clients but calls nothing; these cases never reach AWS.
    for (const [name, value] of Object.entries({
      STAGE: 'test',
      AWS_REGION: 'us-east-1',
      TABLE_NAME: 'contact-relay-test-events',
      QUEUE_URL: 'http://127.0.0.1:9/000000000000/delivery',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    })) {
      vi.stubEnv(name, value);
    }
    vi.resetModules();
    ({ handler } = (await import('../../../functions/shops/handler.js')) as unknown as { handler: typeof handler });
  });
  afterAll(() => vi.unstubAllEnvs());

  it('routes /hooks/shopify/{route} to the Shopify source: an unsigned order is a 401', async () => {
    const headers = shopifyHeaders(ORDER, { 'x-shopify-hmac-sha256': undefined });
    const result = await handler(
      httpApiEvent('shopify', 'default', ORDER, headers),
      lambdaContext('contact-relay-test-shops'),
    );
    expect(result).toEqual({
      statusCode: 401,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        error: { code: 'missing_signature', message: 'the X-Shopify-Hmac-Sha256 header is missing' },
      }),
    });
  });

  it('routes /hooks/woocommerce/{route} to the WooCommerce source: the creation ping is a 200', async () => {
    const result = await handler(
      httpApiEvent('woocommerce', 'default', 'webhook_id=7', { 'content-type': 'application/x-www-form-urlencoded' }),
      lambdaContext('contact-relay-test-shops'),
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body as string)).toEqual({ status: 'ignored', reason: 'webhook creation ping' });
  });

  it('answers 404 for a route the config does not have, and for a path that is not a shop source', async () => {
    expect(
      (await handler(httpApiEvent('shopify', 'nope', ORDER, shopifyHeaders(ORDER)), lambdaContext())).statusCode,
    ).toBe(404);
    const other = await handler(httpApiEvent('typeform', 'default', '{}', {}), lambdaContext());
    expect(other.statusCode).toBe(404);
    expect(JSON.parse(other.body as string)).toEqual({
      error: { code: 'unknown_source', message: 'no shop source at /hooks/typeform/default' },
    });
  });
});
