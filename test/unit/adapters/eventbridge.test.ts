import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  fromShopifyEventBridgeEvent,
  MalformedEventError,
  metadataAsHeaders,
} from '../../../shared/adapters/eventbridge.js';
import { EnvConfigError, loadEnv } from '../../../shared/config/env.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies } from '../../../shared/ingest.js';
import { ingestShopifyEvent, shopifyEventsRoute } from '../../../shared/shopify/events.js';
import { shopifySource } from '../../../shared/shopify/webhook.js';
import { lambdaContext } from '../../../local/lambda.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/shopify/${name}`, import.meta.url), 'utf8');
/** The Lambda runtime hands the function the event as JSON.parse made it; so do these tests. */
const EVENT_TEXT = fixture('eventbridge-orders-create.json');
const SHOP = 'jsmith.myshopify.com';
const WEBHOOK_ID = 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043';
const EVENT_ID = '98880550-7158-44d4-b7cd-2c97c8a091b5';
const EVENT_KEY = `shopify:${SHOP}:event:${EVENT_ID}`;
const now = new Date('2026-11-21T10:00:00.000Z');

const METADATA = {
  'Content-Type': 'application/json',
  'X-Shopify-Topic': 'orders/create',
  'X-Shopify-Shop-Domain': SHOP,
  'X-Shopify-Webhook-Id': WEBHOOK_ID,
  'X-Shopify-API-Version': '2026-07',
  'X-Shopify-Event-Id': EVENT_ID,
  'X-Shopify-Triggered-At': '2022-01-01T00:00:01.000000Z',
};

/** An EventBridge event around a payload kept as text, as Shopify's partner event source delivers it. */
function shopifyEvent(payloadText: string, metadata: Record<string, unknown> = METADATA): unknown {
  return JSON.parse(
    `{"version":"0","id":"6f5b2e3c-0d3c-4f0e-9f55-0c1b7d2a9e41","detail-type":"shopifyWebhook","source":"aws.partner/shopify.com/1830279/contact-relay",` +
      `"account":"123456789012","time":"2022-01-01T00:00:02Z","region":"us-east-1","resources":[],"detail":{"payload":${payloadText},"metadata":${JSON.stringify(metadata)}}}`,
  );
}

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    shopify: {
      default: { deliverTo: ['twochat'], tags: ['vip'] },
      'main-shop': { deliverTo: ['twochat'], shopDomains: ['main-shop.myshopify.com'] },
    },
  },
});
const route = findRoute(routes, 'shopify', 'default') as ResolvedRoute;

function deps(
  accept: IngestDependencies['accept'] = vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
  onRoute = route,
) {
  return { route: onRoute, accept, logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() }, now: () => now };
}

describe('Adapter: fromShopifyEventBridgeEvent', () => {
  it("reads Shopify's delivery from detail.metadata and the body from detail.payload", () => {
    const { delivery, payload, eventBridgeId } = fromShopifyEventBridgeEvent(JSON.parse(EVENT_TEXT));
    expect(delivery).toEqual({
      topic: 'orders/create',
      shopDomain: SHOP,
      webhookId: WEBHOOK_ID,
      eventId: EVENT_ID,
      apiVersion: '2026-07',
      triggeredAt: '2022-01-01T00:00:01.000000Z',
    });
    expect(payload['admin_graphql_api_id']).toBe('gid://shopify/Order/820982911946154508');
    expect(eventBridgeId).toBe('6f5b2e3c-0d3c-4f0e-9f55-0c1b7d2a9e41');
  });

  it('reads metadata keys in any case, with or without the X- prefix', () => {
    expect(
      metadataAsHeaders({
        'X-Shopify-Topic': 'a',
        'shopify-shop-domain': 'b',
        'SHOPIFY-WEBHOOK-ID': 'c',
        'X-Shopify-Order-Id': 5,
      }),
    ).toEqual({
      'x-shopify-topic': 'a',
      'x-shopify-shop-domain': 'b',
      'x-shopify-webhook-id': 'c',
    });
  });

  it.each([
    ['no detail', { 'detail-type': 'shopifyWebhook' }, /^not a Shopify EventBridge event: detail: /],
    [
      'a payload that is not an object',
      { detail: { payload: 'text', metadata: METADATA } },
      /^not a Shopify EventBridge event: detail\.payload: /,
    ],
    ['no metadata', { detail: { payload: {} } }, /^not a Shopify EventBridge event: detail\.metadata: /],
    [
      'no topic',
      { detail: { payload: {}, metadata: { ...METADATA, 'X-Shopify-Topic': undefined } } },
      'detail.metadata: the X-Shopify-Topic header is missing',
    ],
    [
      'a webhook id that is a number',
      { detail: { payload: {}, metadata: { ...METADATA, 'X-Shopify-Webhook-Id': 123 } } },
      'detail.metadata: the X-Shopify-Webhook-Id header is missing',
    ],
  ])('throws MalformedEventError for an event with %s', (_what, event, message) => {
    expect(() => fromShopifyEventBridgeEvent(event)).toThrow(MalformedEventError);
    expect(() => fromShopifyEventBridgeEvent(event)).toThrow(message);
  });
});

describe('Use case: ingestShopifyEvent', () => {
  it('accepts the orders/create event under its event key, marking the order key as seen', async () => {
    const d = deps();
    expect(await ingestShopifyEvent(JSON.parse(EVENT_TEXT), d)).toEqual({ status: 'accepted', eventKey: EVENT_KEY });
    expect(d.accept).toHaveBeenCalledWith(expect.objectContaining({ emails: ['john@example.com'] }), route, EVENT_KEY, [
      `shopify:${SHOP}:order:gid://shopify/Order/820982911946154508`,
    ]);
  });

  it('gives the same contact and keys as the HTTPS delivery of the same event', async () => {
    const order = fixture('orders-create-billing-phone.json');
    const viaBus = deps();
    await ingestShopifyEvent(shopifyEvent(order), viaBus);
    const viaHttp = {
      routes,
      accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
      sourceSecret: async () => ({ secret: 's' }),
      logger: viaBus.logger,
      now: () => now,
    };
    const headers = Object.fromEntries(Object.entries(METADATA).map(([name, value]) => [name.toLowerCase(), value]));
    headers['x-shopify-hmac-sha256'] = createHmac('sha256', 's').update(order).digest('base64');
    // Over HTTPS a delivery triggered more than 48 hours before our clock is refused as stale.
    headers['x-shopify-triggered-at'] = now.toISOString();
    await ingestWebhook(
      { source: 'shopify', routeName: 'default', headers, query: {}, rawBody: Buffer.from(order) },
      shopifySource,
      viaHttp,
    );
    expect(viaBus.accept).toHaveBeenCalledTimes(1);
    // HTTPS adds a key over the signed bytes; the bus carries no bytes to hash.
    const [httpCall] = viaHttp.accept.mock.calls;
    expect(vi.mocked(viaBus.accept).mock.calls[0]).toEqual(httpCall?.slice(0, 4));
    expect(httpCall?.[4]).toMatch(/^shopify:body:sha256:[0-9a-f]{64}$/);
    expect(vi.mocked(viaBus.accept).mock.calls[0]?.[0]).toMatchObject({
      firstName: 'John',
      lastName: 'Smith',
      emails: ['john@example.com'],
      phones: [{ e164: '+14155550132' }],
    });
  });

  it('returns duplicate for an event accepted before', async () => {
    expect(
      await ingestShopifyEvent(
        JSON.parse(EVENT_TEXT),
        deps(vi.fn<IngestDependencies['accept']>(async () => 'duplicate')),
      ),
    ).toEqual({ status: 'duplicate', eventKey: EVENT_KEY });
  });

  it('maps ids above 2^53 exactly from an event the runtime already parsed', async () => {
    const d = deps();
    await ingestShopifyEvent(shopifyEvent(fixture('orders-create-big-ids.json')), d);
    const [contact, , , aliases] = vi.mocked(d.accept).mock.calls[0] as Parameters<IngestDependencies['accept']>;
    expect(aliases).toEqual([`shopify:${SHOP}:order:gid://shopify/Order/9223372036854775807`]);
    expect(contact.attributes['shopify_customer_id']).toBe('9007199254740993');
  });

  it('logs and returns skipped for an order with no usable contact: retrying would not help', async () => {
    const d = deps();
    const outcome = await ingestShopifyEvent(shopifyEvent(fixture('orders-create-no-contact.json')), d);
    expect(outcome).toEqual({
      status: 'skipped',
      eventKey: EVENT_KEY,
      reason: expect.stringMatching(/^no usable email or phone: /) as string,
    });
    expect(d.accept).not.toHaveBeenCalled();
    expect(d.logger.info).toHaveBeenCalledWith(
      'shopify event skipped',
      expect.objectContaining({ eventKey: EVENT_KEY, transport: 'eventbridge' }),
    );
  });

  it('returns ignored for another topic, and for a shop the route does not list', async () => {
    const d = deps();
    expect(
      await ingestShopifyEvent(shopifyEvent('{}', { ...METADATA, 'X-Shopify-Topic': 'products/update' }), d),
    ).toMatchObject({ status: 'ignored' });
    const other = deps(undefined, findRoute(routes, 'shopify', 'main-shop') as ResolvedRoute);
    expect(await ingestShopifyEvent(JSON.parse(EVENT_TEXT), other)).toEqual({
      status: 'ignored',
      reason: `shop "${SHOP}" is not in this route's shopDomains`,
    });
    expect(d.accept).not.toHaveBeenCalled();
    expect(other.accept).not.toHaveBeenCalled();
  });

  it('throws MalformedEventError for a malformed event or payload, so EventBridge dead-letters it', async () => {
    await expect(ingestShopifyEvent({ detail: {} }, deps())).rejects.toBeInstanceOf(MalformedEventError);
    await expect(ingestShopifyEvent(shopifyEvent('{"id": 1}'), deps())).rejects.toThrow(
      /^not a Shopify orders\/create payload: admin_graphql_api_id: /,
    );
  });

  it('throws when the event cannot be accepted, so EventBridge retries it', async () => {
    const down = new Error('queue down');
    const d = deps(vi.fn(async () => Promise.reject(down)));
    await expect(ingestShopifyEvent(JSON.parse(EVENT_TEXT), d)).rejects.toBe(down);
    expect(d.logger.error).toHaveBeenCalledWith(
      'shopify event not accepted',
      expect.objectContaining({ eventKey: EVENT_KEY }),
    );
  });
});

describe('Function: shopifyEventsRoute', () => {
  it('uses the route named by SHOPIFY_EVENTS_ROUTE, "default" when unset or empty', () => {
    expect(shopifyEventsRoute(routes, loadEnv({ STAGE: 'test' })).name).toBe('default');
    expect(shopifyEventsRoute(routes, loadEnv({ STAGE: 'test', SHOPIFY_EVENTS_ROUTE: '' })).name).toBe('default');
    expect(shopifyEventsRoute(routes, loadEnv({ STAGE: 'test', SHOPIFY_EVENTS_ROUTE: 'main-shop' })).name).toBe(
      'main-shop',
    );
  });

  it('fails naming the variable for a route that does not exist or is not a route name', () => {
    expect(() => shopifyEventsRoute(routes, { SHOPIFY_EVENTS_ROUTE: 'nope' })).toThrow(EnvConfigError);
    expect(() => shopifyEventsRoute(routes, { SHOPIFY_EVENTS_ROUTE: 'nope' })).toThrow(
      'invalid environment: SHOPIFY_EVENTS_ROUTE names route "nope", which config/routes.json does not define under sources.shopify (defined: default, main-shop)',
    );
    expect(() => loadEnv({ STAGE: 'test', SHOPIFY_EVENTS_ROUTE: 'Main Shop' })).toThrow(EnvConfigError);
    expect(() => loadEnv({ STAGE: 'test', SHOPIFY_EVENTS_ROUTE: 'Main Shop' })).toThrow(
      /SHOPIFY_EVENTS_ROUTE: must be a route name/,
    );
  });
});

describe('Handler: functions/shopify-events', () => {
  const env = {
    STAGE: 'test',
    AWS_REGION: 'us-east-1',
    TABLE_NAME: 'contact-relay-test-events',
    QUEUE_URL: 'http://127.0.0.1:9/000000000000/delivery',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  type Handler = (event: unknown, context: unknown) => Promise<unknown>;
  async function load(extra: Record<string, string> = {}): Promise<Handler> {
    for (const [name, value] of Object.entries({ ...env, ...extra })) vi.stubEnv(name, value);
    vi.resetModules();
    return ((await import('../../../functions/shopify-events/handler.js')) as unknown as { handler: Handler }).handler;
  }
  afterEach(() => vi.unstubAllEnvs());

  it('returns ignored for a topic that carries no contact, touching nothing', async () => {
    const handler = await load();
    expect(
      await handler(
        shopifyEvent('{}', { ...METADATA, 'X-Shopify-Topic': 'app/uninstalled' }),
        lambdaContext('contact-relay-test-shopify-events'),
      ),
    ).toMatchObject({ status: 'ignored' });
  });

  it('throws for a malformed event', async () => {
    const handler = await load();
    // The handler was loaded after resetModules: its error class is a fresh copy, so compare by name.
    await expect(
      handler({ detail: { payload: {} } }, lambdaContext('contact-relay-test-shopify-events')),
    ).rejects.toMatchObject({
      name: 'MalformedEventError',
      message: expect.stringMatching(/^not a Shopify EventBridge event: detail\.metadata: /) as string,
    });
  });

  it('fails its cold start when SHOPIFY_EVENTS_ROUTE names no Shopify route', async () => {
    await expect(load({ SHOPIFY_EVENTS_ROUTE: 'nope' })).rejects.toThrow(/SHOPIFY_EVENTS_ROUTE names route "nope"/);
  });
});
