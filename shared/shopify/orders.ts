/**
 * Shopify orders and customers → Contact, shared by every way they reach
 * us: the HTTPS webhooks (webhook.ts), Shopify's Amazon EventBridge
 * delivery (events.ts) and the `reconcile` job that pulls orders through the
 * GraphQL Admin API (admin-orders.ts turns its nodes into the REST/webhook
 * shape). One mapper decides names, phones, consent and the order's dedupe
 * key for all of them; deliveries.ts turns a delivery (topic, shop, webhook
 * and event ids, payload) into what ingest accepts, whichever transport
 * carried it.
 *
 * Shopify order and customer ids exceed 2^53: the numeric `id` fields are
 * never part of the schemas (zod drops them unread) and ids are taken from
 * the string `admin_graphql_api_id` / GraphQL `id` instead.
 */
import type { Address, Contact, Origin } from '../contact.js';
import type { ResolvedRoute } from '../config/routes.js';
import * as z from '../zod.js';
import type { MappedContact } from '../sources/form.js';
import {
  addressOf,
  isoTime,
  mapPerson,
  orderTotal,
  present,
  trimmed,
  withSkipReason,
  type Person,
  type PhoneCandidate,
} from '../sources/mapping.js';

/** Shopify sends `null` for every absent field; absent keys happen too (trimmed payloads, old API versions). */
export const text = z.nullish(z.string());

const ShopifyAddressSchema = z.object({
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

const ShopifyCustomerSchema = z.object({
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
const CUSTOMER_GID = /^gid:\/\/shopify\/Customer\/\d+$/;

/**
 * The part of a `customers/create` / `customers/update` payload we read.
 * Since API version 2025-01 Shopify leaves the consent fields out of these
 * payloads (they have topics of their own); older versions still send them.
 */
export const ShopifyCustomerWebhookSchema = z.object({
  admin_graphql_api_id: z
    .string()
    .check(z.regex(CUSTOMER_GID, 'must be a customer id such as "gid://shopify/Customer/706405506930370084"')),
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
type ShopifyCustomerWebhook = z.infer<typeof ShopifyCustomerWebhookSchema>;

/** The part of a REST/webhook order we read. `id` is deliberately absent: see the module comment. */
export const ShopifyOrderSchema = z.object({
  admin_graphql_api_id: z
    .string()
    .check(z.regex(ORDER_GID, 'must be an order id such as "gid://shopify/Order/450789469"')),
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
  return address
    ? addressOf({
        line1: address.address1,
        line2: address.address2,
        city: address.city,
        region: address.province,
        postalCode: address.zip,
        countryCode: address.country_code,
      })
    : undefined;
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
function shopifyContact(
  person: Person,
  customer: ShopifyConsents | undefined,
  route: ResolvedRoute,
  attributes: Record<string, string>,
  origin: Pick<Origin, 'eventKey' | 'occurredAt' | 'personKey'>,
): Contact {
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
export function mapShopifyOrder(
  order: ShopifyOrder,
  route: ResolvedRoute,
  shopDomain: string,
  now = new Date(),
): MappedContact {
  const eventKey = shopifyOrderEventKey(shopDomain, order.admin_graphql_api_id);
  const customer = order.customer ?? undefined;
  const billing = order.billing_address ?? undefined;
  const shipping = order.shipping_address ?? undefined;
  const defaultAddress = customer?.default_address ?? undefined;

  // The person's own number has no address of its own: the billing country is where they pay from.
  const personCountry =
    trimmed(billing?.country_code) ?? trimmed(shipping?.country_code) ?? trimmed(defaultAddress?.country_code);
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
  return withSkipReason(
    contact,
    problems,
    'the order carries no email or phone (Shopify leaves them out for apps without protected customer data access)',
  );
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
export function mapShopifyCustomer(
  customer: ShopifyCustomerWebhook,
  route: ResolvedRoute,
  shopDomain: string,
  eventKey: string,
  now = new Date(),
): MappedContact {
  const addresses = [customer.default_address, ...(customer.addresses ?? [])].filter(
    (address): address is ShopifyAddress => address !== null && address !== undefined,
  );

  // The person's own number has no address: the country they live in (default address first) is its region.
  const personCountry = addresses
    .map((address) => trimmed(address.country_code))
    .find((country) => country !== undefined);
  const { person, problems } = mapPerson(
    {
      names: [customer, ...addresses],
      emails: [customer.email],
      phones: distinctPhones([
        { input: customer.phone, country: personCountry },
        ...addresses.map((address) => ({ input: address.phone, country: trimmed(address.country_code) })),
      ]),
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
  return withSkipReason(
    contact,
    problems,
    'the customer has no email or phone (Shopify leaves them out for apps without protected customer data access)',
  );
}
