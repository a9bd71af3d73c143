import { describe, expect, it } from 'vitest';
import { ContactSchema } from '../../../shared/contact.js';
import {
  AdminOrderNodeSchema,
  fromAdminGraphqlOrder,
  type AdminOrderNode,
} from '../../../shared/shopify/admin-orders.js';
import {
  gidTail,
  mapShopifyOrder,
  ShopifyOrderSchema,
  shopifyOrderEventKey,
  type ShopifyOrder,
} from '../../../shared/shopify/orders.js';
import { testRoute } from '../../helpers/routes.js';

const shop = 'demo-shop.myshopify.com';
const route = testRoute({ source: 'shopify', tags: ['vip'] });
const now = new Date('2026-11-21T10:00:00.000Z');

/** An orders/create body as Shopify sends it: numeric ids beyond 2^53, nulls for absent fields. */
const ORDER_JSON = `{
  "id": 5678901234567890123,
  "admin_graphql_api_id": "gid://shopify/Order/5678901234567890123",
  "name": "#1042",
  "email": "Ada.Lovelace@Example.com",
  "phone": null,
  "created_at": "2026-11-21T11:59:00+02:00",
  "total_price": "12.50",
  "currency": "EUR",
  "customer": {
    "id": 7234567890123456789,
    "admin_graphql_api_id": "gid://shopify/Customer/7234567890123456789",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada.lovelace@example.com",
    "phone": null,
    "email_marketing_consent": { "state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": null },
    "sms_marketing_consent": { "state": "not_subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": null, "consent_collected_from": "OTHER" },
    "default_address": { "id": 8234567890123456789, "first_name": "Ada", "last_name": "Lovelace", "phone": null, "country_code": "DE", "address1": "Unter den Linden 1", "city": "Berlin", "zip": "10117" }
  },
  "billing_address": {
    "first_name": "Ada", "last_name": "Lovelace", "phone": "030 901820", "country_code": "DE",
    "address1": "Unter den Linden 1", "address2": null, "city": "Berlin", "province": null, "zip": "10117"
  },
  "shipping_address": {
    "first_name": "Charles", "last_name": "Babbage", "phone": "020 7946 0018", "country_code": "GB",
    "address1": "1 Dorset Street", "address2": null, "city": "London", "province": "England", "zip": "W1U 4EG"
  },
  "line_items": [{ "id": 9234567890123456789, "title": "Analytical Engine", "price": "12.50" }]
}`;

function order(overrides: Partial<ShopifyOrder> = {}): ShopifyOrder {
  return { ...ShopifyOrderSchema.parse(JSON.parse(ORDER_JSON)), ...overrides };
}

describe('Function: mapShopifyOrder', () => {
  it('maps a webhook order: customer names and email, billing phone with the billing country, tags, attributes, consent', () => {
    const { contact, skipReason } = mapShopifyOrder(order(), route, shop, now);
    expect(skipReason).toBeUndefined();
    expect(ContactSchema.parse(contact)).toEqual(contact);
    expect(contact).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada.lovelace@example.com'],
      phones: [{ e164: '+4930901820' }],
      rejectedPhones: [],
      address: { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', countryCode: 'DE' },
      tags: ['shopify', 'vip'],
      attributes: {
        shopify_order: '#1042',
        shopify_total: '12.50 EUR',
        shopify_shop: shop,
        shopify_customer_id: '7234567890123456789',
      },
      consent: { email: true, sms: false },
      origin: {
        source: 'shopify',
        route: 'default',
        eventKey: `shopify:${shop}:order:gid://shopify/Order/5678901234567890123`,
        occurredAt: '2026-11-21T09:59:00.000Z',
        personKey: 'gid://shopify/Customer/7234567890123456789',
      },
    });
  });

  it('never reads the numeric ids: they are dropped unread and the gid strings carry the identity', () => {
    const raw = JSON.parse(ORDER_JSON) as Record<string, unknown> & { customer: Record<string, unknown> };
    // JSON.parse already rounded them: reading them anywhere would be a bug.
    expect(raw['id']).not.toBe('5678901234567890123');
    for (const target of [raw, raw.customer]) {
      Object.defineProperty(target, 'id', {
        enumerable: true,
        get() {
          throw new Error('the numeric id was read');
        },
      });
    }
    const parsed = ShopifyOrderSchema.parse(raw);
    expect(parsed).not.toHaveProperty('id');
    expect(parsed.customer).not.toHaveProperty('id');
    const { contact } = mapShopifyOrder(parsed, route, shop, now);
    expect(contact.origin.eventKey).toBe(
      'shopify:demo-shop.myshopify.com:order:gid://shopify/Order/5678901234567890123',
    );
    expect(contact.attributes['shopify_customer_id']).toBe('7234567890123456789');
    expect(JSON.stringify(contact)).not.toMatch(/5678901234567890000|7234567890123456000/);
  });

  it('takes the customer phone first, read with the billing country', () => {
    const base = order();
    const { contact } = mapShopifyOrder(
      { ...base, customer: { ...base.customer, phone: '0171 2345678' } },
      route,
      shop,
      now,
    );
    expect(contact.phones).toEqual([{ e164: '+491712345678' }]);
  });

  it('reads each address phone with that address country: a shipping phone is British when billing has none', () => {
    const base = order();
    const { contact } = mapShopifyOrder(
      { ...base, billing_address: { ...base.billing_address, phone: null } },
      route,
      shop,
      now,
    );
    expect(contact.phones).toEqual([{ e164: '+442079460018' }]);
  });

  it('falls back to the default address phone and its country', () => {
    const base = order();
    const { contact } = mapShopifyOrder(
      {
        ...base,
        billing_address: null,
        shipping_address: null,
        customer: { ...base.customer, default_address: { phone: '(415) 555-0132', country_code: 'US' } },
      },
      route,
      shop,
      now,
    );
    expect(contact.phones).toEqual([{ e164: '+14155550132' }]);
  });

  it('uses the route default region for a national number on an address without a country', () => {
    const base = order();
    const national = {
      ...base,
      billing_address: { phone: '020 7946 0018', country_code: null },
      shipping_address: null,
    };
    expect(
      mapShopifyOrder(national, testRoute({ source: 'shopify', defaultRegion: 'GB' }), shop, now).contact.phones,
    ).toEqual([{ e164: '+442079460018' }]);
    const { contact } = mapShopifyOrder(national, route, shop, now);
    expect(contact.phones).toEqual([]);
    expect(contact.rejectedPhones).toEqual([
      { input: '020 7946 0018', reason: 'phone number is a national number and no country is known for it' },
    ]);
  });

  it('passes an invalid phone over for the next valid one and keeps why', () => {
    const base = order();
    const { contact } = mapShopifyOrder({ ...base, customer: { ...base.customer, phone: '12' } }, route, shop, now);
    expect(contact.phones).toEqual([{ e164: '+4930901820' }]);
    expect(contact.rejectedPhones).toEqual([
      { input: '12', reason: expect.stringMatching(/too short|not a phone number|not a valid/) },
    ]);
  });

  it('marks phones as WhatsApp when the route says so', () => {
    const { contact } = mapShopifyOrder(order(), testRoute({ source: 'shopify', whatsappNumbers: true }), shop, now);
    expect(contact.phones).toEqual([{ e164: '+4930901820', whatsapp: true }]);
  });

  it('takes names and email from the order and billing address when there is no customer', () => {
    const { contact } = mapShopifyOrder(order({ customer: null }), route, shop, now);
    expect(contact).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', emails: ['ada.lovelace@example.com'] });
    expect(contact.attributes).not.toHaveProperty('shopify_customer_id');
    expect(contact.consent).toBeUndefined();
    expect(contact.origin.personKey).toBe('ada.lovelace@example.com');
  });

  it('takes both names from the shipping address when neither customer nor billing names anyone', () => {
    const base = order();
    const { contact } = mapShopifyOrder(
      {
        ...base,
        customer: { ...base.customer, first_name: null, last_name: null, default_address: null },
        billing_address: { ...base.billing_address, first_name: null, last_name: null },
      },
      route,
      shop,
      now,
    );
    expect([contact.firstName, contact.lastName]).toEqual(['Charles', 'Babbage']);
  });

  it('reads GraphQL consent states and ignores PENDING', () => {
    const base = order();
    const consent = (email: string, sms: string) =>
      mapShopifyOrder(
        {
          ...base,
          customer: {
            ...base.customer,
            email_marketing_consent: { state: email },
            sms_marketing_consent: { state: sms },
          },
        },
        route,
        shop,
        now,
      ).contact.consent;
    expect(consent('SUBSCRIBED', 'SUBSCRIBED')).toEqual({ email: true, sms: true });
    expect(consent('UNSUBSCRIBED', 'NOT_SUBSCRIBED')).toEqual({ email: false, sms: false });
    expect(consent('PENDING', 'REDACTED')).toBeUndefined();
  });

  it('keys the person by phone when there is neither customer nor email', () => {
    const { contact } = mapShopifyOrder(order({ customer: null, email: null }), route, shop, now);
    expect(contact.origin.personKey).toBe('+4930901820');
  });

  it('skips an order with no email and no phone, saying Shopify may have withheld them', () => {
    const { skipReason } = mapShopifyOrder(
      order({ customer: null, email: null, billing_address: null, shipping_address: null }),
      route,
      shop,
      now,
    );
    expect(skipReason).toBe(
      'no usable email or phone: the order carries no email or phone (Shopify leaves them out for apps without protected customer data access)',
    );
  });

  it('skips an order whose only details are unusable, naming each', () => {
    const { skipReason } = mapShopifyOrder(
      order({
        customer: null,
        email: 'not-an-email',
        billing_address: { phone: '555', country_code: 'US' },
        shipping_address: null,
      }),
      route,
      shop,
      now,
    );
    expect(skipReason).toMatch(/^no usable email or phone: email is not a valid address; phone number is /);
  });

  it('uses now when the order has no usable created_at', () => {
    expect(mapShopifyOrder(order({ created_at: null }), route, shop, now).contact.origin.occurredAt).toBe(
      now.toISOString(),
    );
  });
});

describe('Schema: ShopifyOrderSchema', () => {
  it('accepts the nulls Shopify sends and requires the order gid', () => {
    expect(
      ShopifyOrderSchema.safeParse({
        admin_graphql_api_id: 'gid://shopify/Order/1',
        customer: null,
        email: null,
        billing_address: null,
      }).success,
    ).toBe(true);
    expect(ShopifyOrderSchema.safeParse({ id: 1 }).success).toBe(false);
    expect(ShopifyOrderSchema.safeParse({ admin_graphql_api_id: 'gid://shopify/Customer/1' }).success).toBe(false);
  });
});

describe('Function: shopifyOrderEventKey', () => {
  it('is the same for every topic and for reconcile: shop (lower-cased) and order gid', () => {
    expect(shopifyOrderEventKey('Demo-Shop.myshopify.com', 'gid://shopify/Order/5678901234567890123')).toBe(
      'shopify:demo-shop.myshopify.com:order:gid://shopify/Order/5678901234567890123',
    );
  });
});

describe('Function: gidTail', () => {
  it('returns the numeric tail as text, exactly', () => {
    expect(gidTail('gid://shopify/Customer/9007199254740993')).toBe('9007199254740993');
    expect(gidTail(null)).toBeUndefined();
  });
});

/** A node as the GraphQL Admin API returns it for the reconcile query. */
const NODE: AdminOrderNode = {
  id: 'gid://shopify/Order/5678901234567890123',
  name: '#1042',
  email: 'ada.lovelace@example.com',
  phone: null,
  createdAt: '2026-11-21T09:59:00Z',
  totalPriceSet: { shopMoney: { amount: '12.5', currencyCode: 'EUR' } },
  customer: {
    id: 'gid://shopify/Customer/7234567890123456789',
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: 'ada.lovelace@example.com',
    phone: null,
    defaultAddress: {
      firstName: 'Ada',
      lastName: 'Lovelace',
      phone: null,
      countryCodeV2: 'DE',
      address1: 'Unter den Linden 1',
      address2: null,
      city: 'Berlin',
      province: null,
      zip: '10117',
    },
    emailMarketingConsent: { marketingState: 'SUBSCRIBED' },
    smsMarketingConsent: { marketingState: 'NOT_SUBSCRIBED' },
  },
  billingAddress: {
    firstName: 'Ada',
    lastName: 'Lovelace',
    phone: '030 901820',
    countryCodeV2: 'DE',
    address1: 'Unter den Linden 1',
    address2: null,
    city: 'Berlin',
    province: null,
    zip: '10117',
  },
  shippingAddress: null,
};

describe('Function: fromAdminGraphqlOrder', () => {
  it('converts a GraphQL node to the REST shape field by field', () => {
    expect(fromAdminGraphqlOrder(AdminOrderNodeSchema.parse(NODE))).toEqual({
      admin_graphql_api_id: 'gid://shopify/Order/5678901234567890123',
      name: '#1042',
      email: 'ada.lovelace@example.com',
      phone: null,
      created_at: '2026-11-21T09:59:00Z',
      total_price: '12.5',
      currency: 'EUR',
      customer: {
        admin_graphql_api_id: 'gid://shopify/Customer/7234567890123456789',
        first_name: 'Ada',
        last_name: 'Lovelace',
        email: 'ada.lovelace@example.com',
        phone: null,
        default_address: {
          first_name: 'Ada',
          last_name: 'Lovelace',
          phone: null,
          country_code: 'DE',
          address1: 'Unter den Linden 1',
          address2: null,
          city: 'Berlin',
          province: null,
          zip: '10117',
        },
        email_marketing_consent: { state: 'SUBSCRIBED' },
        sms_marketing_consent: { state: 'NOT_SUBSCRIBED' },
      },
      billing_address: {
        first_name: 'Ada',
        last_name: 'Lovelace',
        phone: '030 901820',
        country_code: 'DE',
        address1: 'Unter den Linden 1',
        address2: null,
        city: 'Berlin',
        province: null,
        zip: '10117',
      },
      shipping_address: null,
    });
  });

  it('gives the same contact and event key as the webhook copy of the order', () => {
    const fromWebhook = mapShopifyOrder(
      order({ shipping_address: null, total_price: '12.5' }),
      route,
      shop,
      now,
    ).contact;
    const fromAdmin = mapShopifyOrder(fromAdminGraphqlOrder(NODE), route, shop, now).contact;
    expect(fromAdmin).toEqual(fromWebhook);
  });

  it('survives a node without customer, money or addresses', () => {
    const bare = fromAdminGraphqlOrder({
      id: 'gid://shopify/Order/1',
      createdAt: '2026-11-21T09:59:00Z',
      email: 'b@example.com',
    });
    expect(bare).toMatchObject({ customer: null, total_price: null, currency: null, billing_address: null });
    expect(mapShopifyOrder(bare, route, shop, now).contact.emails).toEqual(['b@example.com']);
  });
});
