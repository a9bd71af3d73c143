/**
 * Shopify orders and customers → Contact, shared by every way they reach
 * us: the HTTPS webhooks (shopify-webhook.ts), Shopify's Amazon EventBridge
 * delivery (../shopify-events.ts) and the `reconcile` job that pulls orders
 * through the GraphQL Admin API. The GraphQL node is first turned into the
 * REST/webhook shape, so one mapper decides names, phones, consent and the
 * order's dedupe key for all of them; one reader turns a delivery (topic,
 * shop, webhook and event ids, payload) into what ingest accepts, whichever
 * transport carried it.
 *
 * Shopify order and customer ids exceed 2^53: the numeric `id` fields are
 * never part of the schemas (zod drops them unread) and ids are taken from
 * the string `admin_graphql_api_id` / GraphQL `id` instead.
 */
import type { Address, Contact, Origin } from '../contact.js';
import type { ResolvedRoute } from '../config/routes.js';
import type { SourceReading } from '../ingest.js';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';
import { WebhookRejectedError } from '../webhook.js';
import type { MappedContact } from './form.js';
import { addressOf, contactReading, isoTime, mapPerson, orderTotal, present, trimmed, withSkipReason, type Person, type PhoneCandidate } from './mapping.js';

/** Shopify sends `null` for every absent field; absent keys happen too (trimmed payloads, old API versions). */
const text = z.nullish(z.string());

export const ShopifyAddressSchema = z.object({
  first_name: text,
  last_name: text,
  phone: text,
  /** ISO 3166-1 alpha-2: the region of this address's phone. */
  country_code: text,
  address1: text,
  address2: text,
  city: text,
  province: text,
  zip: text,
});
export type ShopifyAddress = z.infer<typeof ShopifyAddressSchema>;

const ShopifyConsentSchema = z.nullish(z.object({ state: text }));

export const ShopifyCustomerSchema = z.object({
  admin_graphql_api_id: text,
  first_name: text,
  last_name: text,
  email: text,
  phone: text,
  default_address: z.nullish(ShopifyAddressSchema),
  email_marketing_consent: ShopifyConsentSchema,
  sms_marketing_consent: ShopifyConsentSchema,
});

export const ORDER_GID = /^gid:\/\/shopify\/Order\/\d+$/;
export const CUSTOMER_GID = /^gid:\/\/shopify\/Customer\/\d+$/;

/**
 * The part of a `customers/create` / `customers/update` payload we read.
 * Since API version 2025-01 Shopify leaves the consent fields out of these
 * payloads (they have topics of their own); older versions still send them.
 */
export const ShopifyCustomerWebhookSchema = z.object({
  admin_graphql_api_id: z.string().check(z.regex(CUSTOMER_GID, 'must be a customer id such as "gid://shopify/Customer/706405506930370084"')),
  first_name: text,
  last_name: text,
  email: text,
  phone: text,
  created_at: text,
  updated_at: text,
  default_address: z.nullish(ShopifyAddressSchema),
  addresses: z.nullish(z.array(ShopifyAddressSchema)),
  email_marketing_consent: ShopifyConsentSchema,
  sms_marketing_consent: ShopifyConsentSchema,
});
export type ShopifyCustomerWebhook = z.infer<typeof ShopifyCustomerWebhookSchema>;

/** The part of a REST/webhook order we read. `id` is deliberately absent: see the module comment. */
export const ShopifyOrderSchema = z.object({
  admin_graphql_api_id: z.string().check(z.regex(ORDER_GID, 'must be an order id such as "gid://shopify/Order/450789469"')),
  name: text,
  email: text,
  phone: text,
  created_at: text,
  /** A decimal string in Shopify's payloads; a number is accepted rather than losing the order over it. */
  total_price: z.nullish(z.union([z.string(), z.number()])),
  currency: text,
  customer: z.nullish(ShopifyCustomerSchema),
  billing_address: z.nullish(ShopifyAddressSchema),
  shipping_address: z.nullish(ShopifyAddressSchema),
});
export type ShopifyOrder = z.infer<typeof ShopifyOrderSchema>;

/**
 * The dedupe key of an order, whichever way it arrives: `orders/create`,
 * `orders/paid`, a webhook retry, the EventBridge copy or `reconcile`.
 * Keyed by the order rather than by the delivery (`X-Shopify-Event-Id`), so
 * `reconcile` finds the order already accepted when its webhook did arrive
 * and the person is not created twice; and `orders/paid` after
 * `orders/create` carries the same contact, so it has nothing new to send.
 */
export function shopifyOrderEventKey(shopDomain: string, orderGid: string): string {
  return `shopify:${shopDomain.trim().toLowerCase()}:order:${orderGid}`;
}

/** `gid://shopify/Customer/7234567890123456789` → `"7234567890123456789"`, as text: it does not fit a double. */
export function gidTail(gid: string | null | undefined): string | undefined {
  return gid?.match(/\/(\d+)(?:\?.*)?$/)?.[1];
}

/** REST says `subscribed`, GraphQL `SUBSCRIBED`; `PENDING`, `REDACTED`, `INVALID` say nothing either way. */
function consentOf(state: string | null | undefined): boolean | undefined {
  switch (state?.trim().toUpperCase()) {
    case 'SUBSCRIBED':
      return true;
    case 'UNSUBSCRIBED':
    case 'NOT_SUBSCRIBED':
      return false;
    default:
      return undefined;
  }
}

function toAddress(address: ShopifyAddress | null | undefined): Address | undefined {
  return address ? addressOf({ line1: address.address1, line2: address.address2, city: address.city, region: address.province, postalCode: address.zip, countryCode: address.country_code }) : undefined;
}

/** The candidates that hold a number, without repeats: the same text in the same region is tried once. */
function distinctPhones(candidates: PhoneCandidate[]): PhoneCandidate[] {
  const tried = new Set<string>();
  return candidates.filter(({ input, country }) => {
    if (!present(input)) return false;
    const key = `${input.trim()}|${country ?? ''}`;
    if (tried.has(key)) return false;
    tried.add(key);
    return true;
  });
}

type ShopifyConsents = Pick<ShopifyCustomerWebhook, 'email_marketing_consent' | 'sms_marketing_consent'>;

/** Email and SMS marketing consent, when the payload says either way. */
function consentOfCustomer(customer: ShopifyConsents | undefined): Pick<Contact, 'consent'> {
  const email = consentOf(customer?.email_marketing_consent?.state);
  const sms = consentOf(customer?.sms_marketing_consent?.state);
  if (email === undefined && sms === undefined) return {};
  return { consent: { ...(email !== undefined ? { email } : {}), ...(sms !== undefined ? { sms } : {}) } };
}

/** The person as a Shopify contact: tagged `shopify` and the route's tags, with the customer's marketing consent. */
function shopifyContact(person: Person, customer: ShopifyConsents | undefined, route: ResolvedRoute, attributes: Record<string, string>, origin: Pick<Origin, 'eventKey' | 'occurredAt' | 'personKey'>): Contact {
  return {
    ...person,
    tags: [...new Set(['shopify', ...route.tags])],
    attributes,
    ...consentOfCustomer(customer),
    origin: { source: 'shopify', route: route.name, ...origin },
  };
}

/**
 * Map an order to a Contact. Names and email come from the customer, else
 * the order, else the billing then shipping address. The phone is the first
 * valid one of: the customer's, the order's, the billing, shipping and
 * default address's — each read with the country of the address it sits on
 * (the customer's and the order's with the billing country), falling back
 * to the route's default region. No email and no valid phone → skipReason.
 */
export function mapShopifyOrder(order: ShopifyOrder, route: ResolvedRoute, shopDomain: string, now = new Date()): MappedContact {
  const eventKey = shopifyOrderEventKey(shopDomain, order.admin_graphql_api_id);
  const customer = order.customer ?? undefined;
  const billing = order.billing_address ?? undefined;
  const shipping = order.shipping_address ?? undefined;
  const defaultAddress = customer?.default_address ?? undefined;

  // The person's own number has no address of its own: the billing country is where they pay from.
  const personCountry = trimmed(billing?.country_code) ?? trimmed(shipping?.country_code) ?? trimmed(defaultAddress?.country_code);
  const { person, problems } = mapPerson(
    {
      names: [customer, billing, shipping, defaultAddress],
      emails: [customer?.email, order.email],
      phones: distinctPhones([
        { input: customer?.phone, country: personCountry },
        { input: order.phone, country: personCountry },
        { input: billing?.phone, country: trimmed(billing?.country_code) },
        { input: shipping?.phone, country: trimmed(shipping?.country_code) },
        { input: defaultAddress?.phone, country: trimmed(defaultAddress?.country_code) },
      ]),
      addresses: [toAddress(billing), toAddress(shipping), toAddress(defaultAddress)],
    },
    route,
  );

  const attributes: Record<string, string> = { shopify_shop: shopDomain.trim().toLowerCase() };
  const orderName = trimmed(order.name);
  if (orderName !== undefined) attributes['shopify_order'] = orderName;
  const total = orderTotal(order.total_price, order.currency);
  if (total !== undefined) attributes['shopify_total'] = total;
  const customerId = gidTail(customer?.admin_graphql_api_id);
  if (customerId !== undefined) attributes['shopify_customer_id'] = customerId;

  const personKey = trimmed(customer?.admin_graphql_api_id) ?? person.emails[0] ?? person.phones[0]?.e164;
  const contact = shopifyContact(person, customer, route, attributes, {
    eventKey,
    occurredAt: isoTime(order.created_at) ?? now.toISOString(),
    ...(personKey !== undefined ? { personKey } : {}),
  });
  return withSkipReason(contact, problems, 'the order carries no email or phone (Shopify leaves them out for apps without protected customer data access)');
}

/**
 * Map a `customers/create` or `customers/update` payload to a Contact.
 * Names come from the customer, else from its default address, else from
 * the first named address in its address book. The phone is the first
 * valid one of the customer's own (read with the default address's
 * country), the default address's and each address's, each read with the
 * country of the address it sits on. `eventKey` is the delivery's key: a
 * customer has no single event to dedupe on, every update is an event.
 */
export function mapShopifyCustomer(customer: ShopifyCustomerWebhook, route: ResolvedRoute, shopDomain: string, eventKey: string, now = new Date()): MappedContact {
  const addresses = [customer.default_address, ...(customer.addresses ?? [])].filter((address): address is ShopifyAddress => address !== null && address !== undefined);

  // The person's own number has no address: the country they live in (default address first) is its region.
  const personCountry = addresses.map((address) => trimmed(address.country_code)).find((country) => country !== undefined);
  const { person, problems } = mapPerson(
    {
      names: [customer, ...addresses],
      emails: [customer.email],
      phones: distinctPhones([{ input: customer.phone, country: personCountry }, ...addresses.map((address) => ({ input: address.phone, country: trimmed(address.country_code) }))]),
      addresses: addresses.map(toAddress),
    },
    route,
  );

  const attributes: Record<string, string> = { shopify_shop: shopDomain.trim().toLowerCase() };
  const customerId = gidTail(customer.admin_graphql_api_id);
  if (customerId !== undefined) attributes['shopify_customer_id'] = customerId;

  const contact = shopifyContact(person, customer, route, attributes, {
    eventKey,
    occurredAt: isoTime(customer.updated_at) ?? isoTime(customer.created_at) ?? now.toISOString(),
    personKey: customer.admin_graphql_api_id,
  });
  return withSkipReason(contact, problems, 'the customer has no email or phone (Shopify leaves them out for apps without protected customer data access)');
}

// ---------------------------------------------------------------------------
// Webhook deliveries, over HTTPS or Amazon EventBridge

/** Topics whose payload is an order. `orders/paid` carries the same person as `orders/create`. */
export const SHOPIFY_ORDER_TOPICS: readonly string[] = ['orders/create', 'orders/paid'];
/** Topics whose payload is a customer. */
export const SHOPIFY_CUSTOMER_TOPICS: readonly string[] = ['customers/create', 'customers/update'];

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

const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;
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
    if (pattern !== undefined && !pattern.test(value)) throw new WebhookRejectedError(400, 'invalid_header', `the ${name} header is not valid`);
    return value;
  };
  const topic = get(SHOPIFY_HEADERS.topic, true, /^[\x21-\x7e]{1,100}$/) as string;
  const shopDomain = (get(SHOPIFY_HEADERS.shopDomain, true) as string).toLowerCase();
  if (!SHOP_DOMAIN.test(shopDomain)) throw new WebhookRejectedError(400, 'invalid_header', `the ${SHOPIFY_HEADERS.shopDomain} header must be a shop domain such as "my-shop.myshopify.com"`);
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
export function shopifyDeliveryEventKey(delivery: Pick<ShopifyDelivery, 'shopDomain' | 'webhookId' | 'eventId'>): string {
  const shop = delivery.shopDomain.trim().toLowerCase();
  return delivery.eventId !== undefined ? `shopify:${shop}:event:${delivery.eventId}` : `shopify:${shop}:webhook:${delivery.webhookId}`;
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
export function readShopifyDelivery(delivery: ShopifyDelivery, payload: unknown, route: ResolvedRoute, now: Date): SourceReading {
  const eventKey = shopifyDeliveryEventKey(delivery);
  if (SHOPIFY_ORDER_TOPICS.includes(delivery.topic)) {
    const parsed = ShopifyOrderSchema.safeParse(payload);
    if (!parsed.success) throw new WebhookRejectedError(400, 'malformed_body', `not a Shopify ${delivery.topic} payload: ${describeIssues(parsed.error)}`);
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
    if (!parsed.success) throw new WebhookRejectedError(400, 'malformed_body', `not a Shopify ${delivery.topic} payload: ${describeIssues(parsed.error)}`);
    return contactReading(eventKey, mapShopifyCustomer(parsed.data, route, delivery.shopDomain, eventKey, now));
  }
  return { kind: 'ignored', reason: ignoredTopicReason(delivery.topic) };
}

export function ignoredTopicReason(topic: string): string {
  return `topic "${topic}" carries no contact (${[...SHOPIFY_ORDER_TOPICS, ...SHOPIFY_CUSTOMER_TOPICS].join(', ')} do)`;
}

// ---------------------------------------------------------------------------
// GraphQL Admin API order nodes (what `reconcile` fetches)

const GraphqlAddressSchema = z.object({
  firstName: text,
  lastName: text,
  phone: text,
  countryCodeV2: text,
  address1: text,
  address2: text,
  city: text,
  province: text,
  zip: text,
});
type GraphqlAddress = z.infer<typeof GraphqlAddressSchema>;

const GraphqlConsentSchema = z.nullish(z.object({ marketingState: text }));

/** The order fields the reconcile query selects, as the GraphQL Admin API returns them. */
export const AdminOrderNodeSchema = z.object({
  id: z.string().check(z.regex(ORDER_GID, 'must be an order id such as "gid://shopify/Order/450789469"')),
  name: text,
  email: text,
  phone: text,
  createdAt: z.string(),
  totalPriceSet: z.nullish(z.object({ shopMoney: z.object({ amount: z.union([z.string(), z.number()]), currencyCode: z.string() }) })),
  customer: z.nullish(
    z.object({
      id: z.string(),
      firstName: text,
      lastName: text,
      email: text,
      phone: text,
      defaultAddress: z.nullish(GraphqlAddressSchema),
      emailMarketingConsent: GraphqlConsentSchema,
      smsMarketingConsent: GraphqlConsentSchema,
    }),
  ),
  billingAddress: z.nullish(GraphqlAddressSchema),
  shippingAddress: z.nullish(GraphqlAddressSchema),
});
export type AdminOrderNode = z.infer<typeof AdminOrderNodeSchema>;

function fromGraphqlAddress(address: GraphqlAddress | null | undefined): ShopifyAddress | null {
  if (address === null || address === undefined) return null;
  return {
    first_name: address.firstName,
    last_name: address.lastName,
    phone: address.phone,
    country_code: address.countryCodeV2,
    address1: address.address1,
    address2: address.address2,
    city: address.city,
    province: address.province,
    zip: address.zip,
  };
}

/** The REST/webhook shape of a GraphQL order node, so `mapShopifyOrder` serves both. */
export function fromAdminGraphqlOrder(node: AdminOrderNode): ShopifyOrder {
  const customer = node.customer ?? undefined;
  const money = node.totalPriceSet?.shopMoney;
  return {
    admin_graphql_api_id: node.id,
    name: node.name,
    email: node.email,
    phone: node.phone,
    created_at: node.createdAt,
    total_price: money === undefined ? null : String(money.amount),
    currency: money?.currencyCode ?? null,
    customer:
      customer === undefined
        ? null
        : {
            admin_graphql_api_id: customer.id,
            first_name: customer.firstName,
            last_name: customer.lastName,
            email: customer.email,
            phone: customer.phone,
            default_address: fromGraphqlAddress(customer.defaultAddress),
            email_marketing_consent: customer.emailMarketingConsent ? { state: customer.emailMarketingConsent.marketingState } : null,
            sms_marketing_consent: customer.smsMarketingConsent ? { state: customer.smsMarketingConsent.marketingState } : null,
          },
    billing_address: fromGraphqlAddress(node.billingAddress),
    shipping_address: fromGraphqlAddress(node.shippingAddress),
  };
}
