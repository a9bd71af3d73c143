/**
 * Property tests for Shopify's EventBridge delivery: any
 * event at all is either read or refused with the documented
 * MalformedEventError (which dead-letters it), never another error; and
 * `ingestShopifyEvent` accepts only contacts that validate.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { fromShopifyEventBridgeEvent, MalformedEventError } from '../../../shared/adapters/eventbridge.js';
import { ContactSchema } from '../../../shared/contact.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import type { IngestDependencies } from '../../../shared/ingest.js';
import { ingestShopifyEvent } from '../../../shared/shopify/events.js';
import { NOW } from '../../helpers/arbitraries/clock-and-secret.js';
import { shopifyCustomerPayload, shopifyOrderPayload, withJunk } from '../../helpers/arbitraries/payloads.js';
import { E164 } from '../../helpers/arbitraries/inspection.js';

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    shopify: {
      default: { deliverTo: ['twochat'], defaultRegion: 'US' },
      'one-shop': { deliverTo: ['twochat'], shopDomains: ['jsmith.myshopify.com'] },
    },
  },
});
const route = (name: string) => findRoute(routes, 'shopify', name) as ResolvedRoute;

/** Anything the runtime could hand over: every kind of JS value, deeply nested. */
const anything = fc.anything({
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withObjectString: true,
  withBoxedValues: true,
  maxDepth: 4,
});

const headerKey = (name: string) =>
  fc.constantFrom(
    `X-Shopify-${name}`,
    `x-shopify-${name.toLowerCase()}`,
    `shopify-${name.toLowerCase()}`,
    ` X-SHOPIFY-${name.toUpperCase()} `,
  );
const metadataValue = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 12, arbitrary: valid },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
    },
  );

/** Shopify's metadata for `topic`, with its keys in every spelling, values sometimes wrong or of the wrong type, keys missing, and other keys. */
const metadata = (topic: string) =>
  fc
    .tuple(
      fc.tuple(headerKey('Topic'), metadataValue(fc.constant(topic))),
      fc.tuple(
        headerKey('Shop-Domain'),
        metadataValue(
          fc.constantFrom(
            'jsmith.myshopify.com',
            'jsmith.myshopify.com',
            'Other-Shop.myshopify.com',
            'evil.example.com',
          ),
        ),
      ),
      fc.tuple(headerKey('Webhook-Id'), metadataValue(fc.uuid())),
      fc.tuple(headerKey('Event-Id'), metadataValue(fc.uuid())),
      fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 }),
    )
    .chain(([topicEntry, shop, webhook, event, extra]) =>
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc.subarray([event, ...extra]).map((optional) => [topicEntry, shop, webhook, ...optional]),
        },
        { weight: 1, arbitrary: fc.subarray([topicEntry, shop, webhook, event, ...extra]) },
      ),
    )
    .map((entries) => Object.fromEntries(entries));

/** A topic and its payload (an order, a customer, anything for other topics), both sometimes with junk. */
const detail = fc
  .oneof(
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('orders/create', 'orders/paid'), withJunk(shopifyOrderPayload)) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom('customers/create', 'customers/update'), withJunk(shopifyCustomerPayload)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom('products/update', 'orders/create', 'customers/update'),
        fc.jsonValue({ maxDepth: 3 }),
      ),
    },
  )
  .chain(([topic, payload]) => metadata(topic).map((meta) => ({ payload, metadata: meta })));

/** Events shaped like Shopify's, with junk anywhere: a missing `detail`, a payload that is not an object, ... */
const shapedEvent = withJunk(
  fc.record(
    {
      version: fc.constant('0'),
      id: fc.uuid(),
      'detail-type': fc.constant('shopifyWebhook'),
      source: fc.constant('aws.partner/shopify.com/1830279/contact-relay'),
      detail,
    },
    { requiredKeys: ['detail'] },
  ),
);

describe('Property: fromShopifyEventBridgeEvent', () => {
  it('reads any value as a delivery or throws MalformedEventError, and nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(anything, shapedEvent), (event) => {
        let delivery: ReturnType<typeof fromShopifyEventBridgeEvent> | undefined;
        try {
          delivery = fromShopifyEventBridgeEvent(event);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedEventError);
          expect((error as Error).message).toMatch(/^not a Shopify EventBridge event: ./);
          return;
        }
        expect(delivery.delivery.shopDomain).toMatch(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/);
        expect(delivery.delivery.topic).toMatch(/^[\x21-\x7e]{1,100}$/);
        expect(delivery.delivery.webhookId).toMatch(/^[\x21-\x7e]{1,200}$/);
        expect(
          typeof delivery.payload === 'object' && delivery.payload !== null && !Array.isArray(delivery.payload),
        ).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Property: ingestShopifyEvent', () => {
  it('settles any event as accepted, skipped or ignored, or rejects it with MalformedEventError; what it accepts validates', async () => {
    const numRuns = 500;
    const seen = { accepted: 0, skipped: 0, ignored: 0, malformed: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 1, arbitrary: anything }, { weight: 4, arbitrary: shapedEvent }),
        fc.constantFrom('default', 'one-shop'),
        async (event, routeName) => {
          const accept = vi.fn<IngestDependencies['accept']>(async () => 'accepted');
          const deps = {
            route: route(routeName),
            accept,
            logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
            now: () => NOW,
          };
          let outcome: Awaited<ReturnType<typeof ingestShopifyEvent>>;
          try {
            outcome = await ingestShopifyEvent(event, deps);
          } catch (error) {
            expect(error).toBeInstanceOf(MalformedEventError);
            expect(accept).not.toHaveBeenCalled();
            seen.malformed += 1;
            return;
          }
          expect(['accepted', 'skipped', 'ignored']).toContain(outcome.status);
          seen[outcome.status as 'accepted' | 'skipped' | 'ignored'] += 1;
          if (outcome.status !== 'accepted') {
            expect(accept).not.toHaveBeenCalled();
            return;
          }
          expect(accept).toHaveBeenCalledTimes(1);
          const [contact, acceptedRoute, eventKey] = accept.mock.calls[0] as Parameters<IngestDependencies['accept']>;
          expect(ContactSchema.parse(contact)).toEqual(contact);
          for (const phone of contact.phones) expect(phone.e164).toMatch(E164);
          expect(contact.origin).toMatchObject({ source: 'shopify', route: routeName, eventKey });
          expect(acceptedRoute.name).toBe(routeName);
          expect(outcome.eventKey).toBe(eventKey);
        },
      ),
      { numRuns },
    );
    // The events reach the mapper, not only the envelope's refusals.
    expect(seen.accepted).toBeGreaterThanOrEqual(numRuns / 20);
  });
});
