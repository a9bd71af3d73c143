/**
 * Shopify webhook deliveries, over HTTPS (webhook.ts) or Amazon EventBridge
 * (events.ts): the topics that carry a person, the headers (or EventBridge
 * metadata) a delivery names itself with, and how one becomes what ingest
 * accepts, whichever transport carried it.
 */
import type { Contact } from '../contact.js';
import type { ResolvedRoute } from '../config/routes.js';
import type { SourceReading } from '../ingest.js';
import { contactReading } from '../sources/mapping.js';
import { describeIssues } from '../validation.js';
import { WebhookRejectedError } from '../webhook.js';
import { SHOP_DOMAIN } from './domain.js';
import {
  mapShopifyCustomer,
  mapShopifyOrder,
  ShopifyCustomerWebhookSchema,
  ShopifyOrderSchema,
  shopifyOrderEventKey,
} from './orders.js';

/** Topics whose payload is an order. `orders/paid` carries the same person as `orders/create`. */
const SHOPIFY_ORDER_TOPICS: readonly string[] = ['orders/create', 'orders/paid'];
/** Topics whose payload is a customer. */
const SHOPIFY_CUSTOMER_TOPICS: readonly string[] = ['customers/create', 'customers/update'];

export function isShopifyContactTopic(topic: string): boolean {
  return SHOPIFY_ORDER_TOPICS.includes(topic) || SHOPIFY_CUSTOMER_TOPICS.includes(topic);
}

/** The headers Shopify sends with every delivery, as Shopify spells them (errors name them this way). */
export const SHOPIFY_HEADERS = {
  hmac: 'X-Shopify-Hmac-Sha256',
  topic: 'X-Shopify-Topic',
  shopDomain: 'X-Shopify-Shop-Domain',
  webhookId: 'X-Shopify-Webhook-Id',
  eventId: 'X-Shopify-Event-Id',
  apiVersion: 'X-Shopify-API-Version',
  triggeredAt: 'X-Shopify-Triggered-At',
} as const;

/** What a delivery says about itself, whichever transport carried it (HTTP headers or EventBridge metadata). */
export interface ShopifyDelivery {
  topic: string;
  /** `my-shop.myshopify.com`, lower-cased. */
  shopDomain: string;
  /** Unique per delivery: a retry of the same delivery keeps it. */
  webhookId: string;
  /** Shared by every delivery of one merchant action (all subscriptions, HTTPS and EventBridge alike). */
  eventId?: string;
  apiVersion?: string;
  triggeredAt?: string;
}

/** Shopify's ids are UUIDs; anything printable and short enough to sit in a table key is accepted. */
const DELIVERY_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Read the delivery headers (names lower-cased). A missing one is a 401 like
 * a missing signature: a request without them did not come from Shopify. A
 * malformed one is a 400 (they are not covered by the signature, which
 * signs the body only).
 */
export function shopifyDeliveryFromHeaders(headers: Record<string, string | undefined>): ShopifyDelivery {
  const get = (name: string, required: boolean, pattern?: RegExp): string | undefined => {
    const value = headers[name.toLowerCase()]?.trim();
    if (value === undefined || value === '') {
      if (required) throw new WebhookRejectedError(401, 'missing_header', `the ${name} header is missing`);
      return undefined;
    }
    if (pattern !== undefined && !pattern.test(value))
      throw new WebhookRejectedError(400, 'invalid_header', `the ${name} header is not valid`);
    return value;
  };
  const topic = get(SHOPIFY_HEADERS.topic, true, /^[\x21-\x7e]{1,100}$/) as string;
  const shopDomain = (get(SHOPIFY_HEADERS.shopDomain, true) as string).toLowerCase();
  if (!SHOP_DOMAIN.test(shopDomain))
    throw new WebhookRejectedError(
      400,
      'invalid_header',
      `the ${SHOPIFY_HEADERS.shopDomain} header must be a shop domain such as "my-shop.myshopify.com"`,
    );
  const webhookId = get(SHOPIFY_HEADERS.webhookId, true, DELIVERY_ID) as string;
  const eventId = get(SHOPIFY_HEADERS.eventId, false, DELIVERY_ID);
  const apiVersion = get(SHOPIFY_HEADERS.apiVersion, false);
  const triggeredAt = get(SHOPIFY_HEADERS.triggeredAt, false);
  return {
    topic,
    shopDomain,
    webhookId,
    ...(eventId !== undefined ? { eventId } : {}),
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    ...(triggeredAt !== undefined ? { triggeredAt } : {}),
  };
}

/**
 * The dedupe key of a delivery: `X-Shopify-Event-Id` when present (it is
 * the same for the HTTPS and the EventBridge copy of one event, and for
 * Shopify's retries), else `X-Shopify-Webhook-Id` (the same across retries
 * of one delivery).
 */
export function shopifyDeliveryEventKey(
  delivery: Pick<ShopifyDelivery, 'shopDomain' | 'webhookId' | 'eventId'>,
): string {
  const shop = delivery.shopDomain.trim().toLowerCase();
  return delivery.eventId !== undefined
    ? `shopify:${shop}:event:${delivery.eventId}`
    : `shopify:${shop}:webhook:${delivery.webhookId}`;
}

/** A route without `shopDomains` takes every shop signed with its secret. */
export function isShopAllowed(route: Pick<ResolvedRoute, 'shopDomains'>, shopDomain: string): boolean {
  return route.shopDomains === undefined || route.shopDomains.includes(shopDomain.trim().toLowerCase());
}

function withEventKey(contact: Contact, eventKey: string): Contact {
  return { ...contact, origin: { ...contact.origin, eventKey } };
}

/**
 * Turn a verified delivery into what ingest accepts. Orders are keyed by
 * the delivery and also mark the order's own key (`shopifyOrderEventKey`)
 * as seen, so `reconcile` does not deliver an order whose webhook arrived.
 * A payload that does not fit the topic's schema is a 400: Shopify retries
 * it, and the error names the fields (an `include_fields` subscription that
 * leaves out `admin_graphql_api_id`, say).
 */
export function readShopifyDelivery(
  delivery: ShopifyDelivery,
  payload: unknown,
  route: ResolvedRoute,
  now: Date,
): SourceReading {
  const eventKey = shopifyDeliveryEventKey(delivery);
  if (SHOPIFY_ORDER_TOPICS.includes(delivery.topic)) {
    const parsed = ShopifyOrderSchema.safeParse(payload);
    if (!parsed.success)
      throw new WebhookRejectedError(
        400,
        'malformed_body',
        `not a Shopify ${delivery.topic} payload: ${describeIssues(parsed.error)}`,
      );
    const { contact, skipReason } = mapShopifyOrder(parsed.data, route, delivery.shopDomain, now);
    return {
      kind: 'contact',
      eventKey,
      contact: withEventKey(contact, eventKey),
      aliases: [shopifyOrderEventKey(delivery.shopDomain, parsed.data.admin_graphql_api_id)],
      ...(skipReason !== undefined ? { skipReason } : {}),
    };
  }
  if (SHOPIFY_CUSTOMER_TOPICS.includes(delivery.topic)) {
    const parsed = ShopifyCustomerWebhookSchema.safeParse(payload);
    if (!parsed.success)
      throw new WebhookRejectedError(
        400,
        'malformed_body',
        `not a Shopify ${delivery.topic} payload: ${describeIssues(parsed.error)}`,
      );
    return contactReading(eventKey, mapShopifyCustomer(parsed.data, route, delivery.shopDomain, eventKey, now));
  }
  return { kind: 'ignored', reason: ignoredTopicReason(delivery.topic) };
}

export function ignoredTopicReason(topic: string): string {
  return `topic "${topic}" carries no contact (${[...SHOPIFY_ORDER_TOPICS, ...SHOPIFY_CUSTOMER_TOPICS].join(', ')} do)`;
}
