/**
 * Shopify orders → Contact, shared by every way an order reaches us: the
 * order webhooks, Shopify's EventBridge delivery and the `reconcile` job
 * that pulls orders through the GraphQL Admin API. The GraphQL node is first
 * turned into the REST/webhook shape, so one mapper decides names, phones,
 * consent and the dedupe key for all of them.
 *
 * Shopify order and customer ids exceed 2^53: the numeric `id` fields are
 * never part of the schemas (zod drops them unread) and ids are taken from
 * the string `admin_graphql_api_id` / GraphQL `id` instead.
 */
import type { Address, Contact } from '../contact.js';
import type { ResolvedRoute } from '../config/routes.js';
import { normalisePhone } from '../phone.js';
import { z } from '../validation.js';
import type { MappedContact } from './form.js';

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

const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== '';
const trimmed = (value: string | null | undefined): string | undefined => (present(value) ? value.trim() : undefined);

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
  if (address === null || address === undefined) return undefined;
  const result: Address = {};
  const set = (key: keyof Address, value: string | null | undefined) => {
    const clean = trimmed(value);
    if (clean !== undefined) result[key] = key === 'countryCode' ? clean.toUpperCase() : clean;
  };
  set('line1', address.address1);
  set('line2', address.address2);
  set('city', address.city);
  set('region', address.province);
  set('postalCode', address.zip);
  set('countryCode', address.country_code);
  return Object.keys(result).length > 0 ? result : undefined;
}

function isoOrUndefined(value: string | null | undefined): string | undefined {
  if (!present(value)) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

const EmailSchema = z.email();

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

  // First and last name from one place, so a customer's first name is never paired with a recipient's surname.
  const named = [customer, billing, shipping, defaultAddress].find((who) => present(who?.first_name) || present(who?.last_name));
  const firstName = trimmed(named?.first_name);
  const lastName = trimmed(named?.last_name);

  const problems: string[] = [];
  const emails: string[] = [];
  for (const candidate of [customer?.email, order.email]) {
    if (!present(candidate)) continue;
    const email = candidate.trim().toLowerCase();
    if (EmailSchema.safeParse(email).success) {
      emails.push(email);
      break;
    }
    problems.push(`email "${candidate}" is not an email address`);
  }

  // The person's own number has no address of its own: the billing country is where they pay from.
  const personCountry = trimmed(billing?.country_code) ?? trimmed(shipping?.country_code) ?? trimmed(defaultAddress?.country_code);
  const phoneCandidates: Array<{ input: string | null | undefined; country: string | undefined }> = [
    { input: customer?.phone, country: personCountry },
    { input: order.phone, country: personCountry },
    { input: billing?.phone, country: trimmed(billing?.country_code) },
    { input: shipping?.phone, country: trimmed(shipping?.country_code) },
    { input: defaultAddress?.phone, country: trimmed(defaultAddress?.country_code) },
  ];
  const phones: Contact['phones'] = [];
  const rejectedPhones: Contact['rejectedPhones'] = [];
  const tried = new Set<string>();
  for (const { input, country } of phoneCandidates) {
    if (!present(input)) continue;
    const key = `${input.trim()}|${country ?? ''}`;
    if (tried.has(key)) continue;
    tried.add(key);
    const result = normalisePhone(input, { country, defaultRegion: route.defaultRegion });
    if (result.ok) {
      phones.push({ e164: result.e164, ...(route.whatsappNumbers ? { whatsapp: true } : {}) });
      break;
    }
    rejectedPhones.push({ input: input.trim(), reason: result.message });
    problems.push(`phone "${input.trim()}": ${result.message}`);
  }

  const attributes: Record<string, string> = { shopify_shop: shopDomain.trim().toLowerCase() };
  const orderName = trimmed(order.name);
  if (orderName !== undefined) attributes['shopify_order'] = orderName;
  const total = order.total_price === null || order.total_price === undefined ? undefined : String(order.total_price).trim();
  const currency = trimmed(order.currency);
  if (total !== undefined && total !== '') attributes['shopify_total'] = currency === undefined ? total : `${total} ${currency}`;
  const customerId = gidTail(customer?.admin_graphql_api_id);
  if (customerId !== undefined) attributes['shopify_customer_id'] = customerId;

  const emailConsent = consentOf(customer?.email_marketing_consent?.state);
  const smsConsent = consentOf(customer?.sms_marketing_consent?.state);
  const address = toAddress(billing) ?? toAddress(shipping) ?? toAddress(defaultAddress);
  const personKey = trimmed(customer?.admin_graphql_api_id) ?? emails[0] ?? phones[0]?.e164;

  const contact: Contact = {
    ...(firstName !== undefined ? { firstName } : {}),
    ...(lastName !== undefined ? { lastName } : {}),
    emails,
    phones,
    rejectedPhones,
    ...(address !== undefined ? { address } : {}),
    tags: [...new Set(['shopify', ...route.tags])],
    attributes,
    ...(emailConsent !== undefined || smsConsent !== undefined
      ? { consent: { ...(emailConsent !== undefined ? { email: emailConsent } : {}), ...(smsConsent !== undefined ? { sms: smsConsent } : {}) } }
      : {}),
    origin: {
      source: 'shopify',
      route: route.name,
      eventKey,
      occurredAt: isoOrUndefined(order.created_at) ?? now.toISOString(),
      ...(personKey !== undefined ? { personKey } : {}),
    },
  };

  if (emails.length === 0 && phones.length === 0) {
    const why =
      problems.length > 0
        ? problems.join('; ')
        : 'the order carries no email or phone (Shopify leaves them out for apps without protected customer data access)';
    return { contact, skipReason: `no usable email or phone: ${why}` };
  }
  return { contact };
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
