/**
 * `POST /hooks/woocommerce/{route}`: WooCommerce webhooks (REST API v3
 * payloads). WooCommerce signs the exact body (`X-WC-Webhook-Signature`,
 * base64 HMAC-SHA256 with the webhook's secret), never retries a failed
 * delivery, and disables a webhook after more than 5 consecutive non-2xx
 * answers — so nothing that merely carries no contact is refused.
 *
 * When a webhook is saved as active, WooCommerce first posts an unsigned
 * ping (`webhook_id=N`, form-encoded, no X-WC headers) and keeps the
 * webhook only if the answer is exactly 200. That one request is recognised
 * strictly and answered 200; any other unsigned request is a 401.
 *
 * The store and topic in the event key come from headers the signature does
 * not cover, so the event is also keyed by a hash of the signed bytes: the
 * same body under another store URL, topic or delivery id is a duplicate.
 * WooCommerce sends each delivery once, so no retry shares those bytes either.
 */
import { createHash } from 'node:crypto';
import type { Address, Contact } from '../contact.js';
import type { ResolvedRoute } from '../config/routes.js';
import { signedBodyKey, type Source, type SourceReading } from '../ingest.js';
import { requireHmac } from '../signatures.js';
import * as z from '../zod.js';
import { checkBodySize, mediaType, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { checkBody, readJsonBody, signingSecret } from './fields.js';
import type { MappedContact } from './form.js';
import {
  addressOf,
  contactReading,
  isoTime,
  mapPerson,
  orderTotal,
  present,
  trimmed,
  withSkipReason,
  type PersonCandidates,
} from './mapping.js';

/** The headers WooCommerce sends with every delivery, as it spells them. */
const WC_HEADERS = {
  signature: 'X-WC-Webhook-Signature',
  topic: 'X-WC-Webhook-Topic',
  /** The store's home URL, `https://shop.example.com/`. */
  source: 'X-WC-Webhook-Source',
  /** A new hash per delivery attempt (`wp_hash(webhook id . time)`): two deliveries of one change differ. */
  deliveryId: 'X-WC-Webhook-Delivery-ID',
  webhookId: 'X-WC-Webhook-ID',
} as const;

const WOO_ORDER_TOPICS: readonly string[] = ['order.created', 'order.updated'];
const WOO_CUSTOMER_TOPICS: readonly string[] = ['customer.created'];

const header = (request: WebhookRequest, name: string) => request.headers[name.toLowerCase()]?.trim() || undefined;

/**
 * The creation ping, and nothing else: no signature, no topic, a body of
 * exactly `webhook_id=<digits>`, sent form-encoded (libcurl's default) or
 * with no content type (WordPress's other HTTP transport).
 */
export function isWooCommercePing(request: WebhookRequest): boolean {
  if (header(request, WC_HEADERS.signature) !== undefined || header(request, WC_HEADERS.topic) !== undefined)
    return false;
  const type = mediaType(request);
  if (type !== undefined && type !== 'application/x-www-form-urlencoded') return false;
  return /^webhook_id=\d{1,20}$/.test(request.rawBody.toString('utf8'));
}

/**
 * The store a delivery comes from, for event keys: host and path of
 * `X-WC-Webhook-Source` (a WordPress may live under a path), else the route,
 * which then stands for one store.
 */
export function wooStoreOf(request: WebhookRequest, route: Pick<ResolvedRoute, 'name'>): string {
  const source = header(request, WC_HEADERS.source);
  if (source !== undefined) {
    try {
      const url = new URL(source);
      if (url.host !== '') return `${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '')}`;
    } catch {
      // Not a URL: fall through to the route.
    }
  }
  return `route-${route.name}`;
}

const text = z.nullish(z.string());
/** WooCommerce ids are database row ids: positive and far below 2^53, but checked rather than assumed. */
const WooIdSchema = z.number().check(z.int(), z.positive());

const WooAddressSchema = z.object({
  first_name: text,
  last_name: text,
  company: text,
  address_1: text,
  address_2: text,
  city: text,
  state: text,
  postcode: text,
  /** ISO 3166-1 alpha-2: the region of this address's phone. */
  country: text,
  email: text,
  phone: text,
});
type WooAddress = z.infer<typeof WooAddressSchema>;

/** The part of a REST API v3 order we read. */
export const WooOrderSchema = z.object({
  id: WooIdSchema,
  number: text,
  currency: text,
  total: z.nullish(z.union([z.string(), z.number()])),
  /** 0 for a guest checkout. */
  customer_id: z.nullish(z.number()),
  date_created_gmt: text,
  date_modified_gmt: text,
  billing: z.nullish(WooAddressSchema),
  shipping: z.nullish(WooAddressSchema),
});
type WooOrder = z.infer<typeof WooOrderSchema>;

/** The part of a REST API v3 customer we read. */
export const WooCustomerSchema = z.object({
  id: WooIdSchema,
  email: text,
  first_name: text,
  last_name: text,
  date_created_gmt: text,
  billing: z.nullish(WooAddressSchema),
  shipping: z.nullish(WooAddressSchema),
});
type WooCustomer = z.infer<typeof WooCustomerSchema>;

/**
 * The dedupe key. The delivery id cannot be it: WooCommerce makes a new one
 * for every delivery attempt, so two deliveries of one change would both be
 * accepted. The resource can: an order is created once; an update is the
 * order at one `date_modified_gmt` (WooCommerce fires `order.updated`
 * several times for one save, all with the same modification time); a
 * customer is created once. The delivery id, then a hash of the body, are
 * used only for an update that carries no modification time.
 */
function wooEventKey(
  store: string,
  topic: string,
  resource: { id: number; date_modified_gmt?: string | null | undefined },
  request: WebhookRequest,
): string {
  const [kind, event] = topic.split('.');
  const base = `woocommerce:${store}:${kind}:${resource.id}:${event}`;
  if (topic !== 'order.updated') return base;
  const modified = resource.date_modified_gmt?.trim();
  if (modified) return `${base}:${modified}`;
  const deliveryId = header(request, WC_HEADERS.deliveryId);
  return deliveryId !== undefined
    ? `${base}:delivery:${deliveryId.slice(0, 200)}`
    : `${base}:sha256:${createHash('sha256').update(request.rawBody).digest('hex')}`;
}

/** WooCommerce's `*_gmt` times are UTC without a zone designator: `2017-03-22T19:28:02`. */
function gmtToIso(value: string | null | undefined): string | undefined {
  if (!present(value)) return undefined;
  return isoTime(/(?:Z|[+-]\d{2}:?\d{2})$/i.test(value.trim()) ? value.trim() : `${value.trim()}Z`);
}

function toAddress(address: WooAddress | null | undefined): Address | undefined {
  return address
    ? addressOf({
        line1: address.address_1,
        line2: address.address_2,
        city: address.city,
        region: address.state,
        postalCode: address.postcode,
        countryCode: address.country,
      })
    : undefined;
}

/** Phones and addresses, billing first. Each phone is read in the country of the address it sits on; WooCommerce's checkout asks for both. */
function billingAndShipping({
  billing,
  shipping,
}: {
  billing?: WooAddress | null | undefined;
  shipping?: WooAddress | null | undefined;
}): Pick<PersonCandidates, 'phones' | 'addresses'> {
  return {
    phones: [billing, shipping].map((address) => ({ input: address?.phone, country: trimmed(address?.country) })),
    addresses: [toAddress(billing), toAddress(shipping)],
  };
}

/** A registered customer is keyed by store and id; a guest by email, else phone. */
function personKeyOf(
  store: string,
  customerId: number | null | undefined,
  contact: Pick<Contact, 'emails' | 'phones'>,
): string | undefined {
  if (typeof customerId === 'number' && customerId > 0) return `woocommerce:${store}:customer:${customerId}`;
  return contact.emails[0] ?? contact.phones[0]?.e164;
}

/**
 * Map an order: names from billing, else shipping; the billing email; the
 * billing phone read with `billing.country`, else the shipping phone with
 * `shipping.country`, falling back to the route's default region.
 */
export function mapWooOrder(
  order: WooOrder,
  route: ResolvedRoute,
  store: string,
  eventKey: string,
  now = new Date(),
): MappedContact {
  const { person, problems } = mapPerson(
    { names: [order.billing, order.shipping], emails: [order.billing?.email], ...billingAndShipping(order) },
    route,
  );
  const attributes: Record<string, string> = {
    woocommerce_store: store,
    woocommerce_order: trimmed(order.number) ?? String(order.id),
  };
  const total = orderTotal(order.total, order.currency);
  if (total !== undefined) attributes['woocommerce_total'] = total;
  if (typeof order.customer_id === 'number' && order.customer_id > 0)
    attributes['woocommerce_customer_id'] = String(order.customer_id);
  const personKey = personKeyOf(store, order.customer_id, person);
  const contact: Contact = {
    ...person,
    tags: [...new Set(['woocommerce', ...route.tags])],
    attributes,
    origin: {
      source: 'woocommerce',
      route: route.name,
      eventKey,
      occurredAt: gmtToIso(order.date_created_gmt) ?? now.toISOString(),
      ...(personKey !== undefined ? { personKey } : {}),
    },
  };
  return withSkipReason(contact, problems, 'the order has no billing email or phone');
}

/** Map a customer: its own names and email first, then the billing (and shipping) details. */
export function mapWooCustomer(
  customer: WooCustomer,
  route: ResolvedRoute,
  store: string,
  eventKey: string,
  now = new Date(),
): MappedContact {
  const { person, problems } = mapPerson(
    {
      names: [customer, customer.billing, customer.shipping],
      emails: [customer.email, customer.billing?.email],
      ...billingAndShipping(customer),
    },
    route,
  );
  const personKey = personKeyOf(store, customer.id, person);
  const contact: Contact = {
    ...person,
    tags: [...new Set(['woocommerce', ...route.tags])],
    attributes: { woocommerce_store: store, woocommerce_customer_id: String(customer.id) },
    origin: {
      source: 'woocommerce',
      route: route.name,
      eventKey,
      occurredAt: gmtToIso(customer.date_created_gmt) ?? now.toISOString(),
      ...(personKey !== undefined ? { personKey } : {}),
    },
  };
  return withSkipReason(contact, problems, 'the customer has no email or phone');
}

/** What ingest accepts for a mapped resource: also keyed by the signed bytes (see the module comment). */
function signedReading(request: WebhookRequest, eventKey: string, mapped: MappedContact): SourceReading {
  const reading = contactReading(eventKey, mapped);
  return reading.kind === 'contact' ? { ...reading, bodyKey: signedBodyKey('woocommerce', request.rawBody) } : reading;
}

export const woocommerceSource: Source = {
  name: 'woocommerce',
  unknownRouteStatus: 404,
  async read(request, route, context): Promise<SourceReading> {
    checkBodySize(request);
    if (isWooCommercePing(request)) return { kind: 'ignored', reason: 'webhook creation ping' };
    // An unsigned request is refused before the secret is fetched.
    if (header(request, WC_HEADERS.signature) === undefined) {
      throw new WebhookRejectedError(401, 'missing_signature', `the ${WC_HEADERS.signature} header is missing`);
    }
    requireHmac({
      given: header(request, WC_HEADERS.signature),
      header: WC_HEADERS.signature,
      secret: await signingSecret(context, route),
      signed: request.rawBody,
      encoding: 'base64',
    });
    const topic = header(request, WC_HEADERS.topic);
    if (topic === undefined)
      throw new WebhookRejectedError(401, 'missing_header', `the ${WC_HEADERS.topic} header is missing`);
    const isOrder = WOO_ORDER_TOPICS.includes(topic);
    if (!isOrder && !WOO_CUSTOMER_TOPICS.includes(topic)) {
      return {
        kind: 'ignored',
        reason: `topic "${topic}" carries no contact (${[...WOO_ORDER_TOPICS, ...WOO_CUSTOMER_TOPICS].join(', ')} do)`,
      };
    }
    const payload = readJsonBody(request, 'WooCommerce');
    const store = wooStoreOf(request, route);
    if (isOrder) {
      const order = checkBody(WooOrderSchema, payload, `WooCommerce ${topic}`);
      const eventKey = wooEventKey(store, topic, order, request);
      return signedReading(request, eventKey, mapWooOrder(order, route, store, eventKey, context.now));
    }
    const customer = checkBody(WooCustomerSchema, payload, `WooCommerce ${topic}`);
    const eventKey = wooEventKey(store, topic, customer, request);
    return signedReading(request, eventKey, mapWooCustomer(customer, route, store, eventKey, context.now));
  },
};
