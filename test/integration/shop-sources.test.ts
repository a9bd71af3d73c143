/**
 * Shop webhooks end to end: Shopify over HTTPS and over EventBridge, and
 * WooCommerce, through the shops (or shopify-events) function, the queue and
 * the deliver function to the four emulated providers.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ShopifyEventBridgeEvent } from '../../shared/adapters/eventbridge.js';
import { MAX_JOB_BYTES } from '../../shared/jobs.js';
import type { AdminOrderNode } from '../../shared/shopify/admin-orders.js';
import type { QueuePoller } from '../../local/emulator/queue-poller.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, PROVIDERS, SOURCE_SECRET, startPipeline, type Pipeline } from '../helpers/pipeline.js';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const sign = (body: Buffer) => createHmac('sha256', SOURCE_SECRET.secret).update(body).digest('base64');

let pipeline: Pipeline;
let poller: QueuePoller;
beforeAll(async () => {
  pipeline = await startPipeline();
  poller = pipeline.startPoller();
});
afterAll(async () => {
  await poller.stop();
  await pipeline.close();
});
beforeEach(() => pipeline.emulator.state.reset());

async function post(source: 'shopify' | 'woocommerce', body: Buffer, headers: Record<string, string>) {
  const result = await pipeline.shops(
    { ...httpApiEvent(source, 'default', body.toString('base64'), headers), isBase64Encoded: true },
    lambdaContext(),
  );
  return { statusCode: result.statusCode, body: JSON.parse(result.body as string) as Record<string, unknown> };
}

const shopifyHeaders = (body: Buffer, eventId: string) => ({
  'content-type': 'application/json',
  'x-shopify-topic': 'orders/create',
  'x-shopify-shop-domain': 'jsmith.myshopify.com',
  'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  'x-shopify-event-id': eventId,
  'x-shopify-api-version': '2026-07',
  'x-shopify-hmac-sha256': sign(body),
});

const providerRequests = () =>
  pipeline.emulator.state.requests.filter((request) => (PROVIDERS as readonly string[]).includes(request.provider));
const createBodies = () =>
  Object.fromEntries(
    PROVIDERS.map((provider) => [
      provider,
      pipeline.emulator.state.requests.find((request) => request.provider === provider && request.method === 'POST')
        ?.body,
    ]),
  );

async function contactsAtEveryProvider(): Promise<void> {
  await eventually(() => {
    for (const provider of PROVIDERS)
      expect(
        pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider),
        provider,
      ).toHaveLength(1);
  });
}

describe('Shop sources through the local pipeline', () => {
  let httpContact: Record<string, unknown> = {};

  // Shopify counts a 200-range answer as delivered; WooCommerce 200 to 302 (see test/contracts/sources.md).
  it('Shopify orders/create, signed, is answered 200 and becomes one contact per provider; again, duplicate', async () => {
    const body = fixture('shopify/orders-create-billing-phone.json');
    const headers = shopifyHeaders(body, '98880550-7158-44d4-b7cd-2c97c8a091b5');
    const answer = await post('shopify', body, headers);
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'accepted', eventKey: 'shopify:jsmith.myshopify.com:event:98880550-7158-44d4-b7cd-2c97c8a091b5' },
    });
    await contactsAtEveryProvider();
    httpContact = createBodies();
    expect(httpContact['kirim']).toMatchObject({
      name: 'John Smith',
      email: 'john@example.com',
      phone_number: '+14155550132',
    });
    expect(httpContact['twochat']).toMatchObject({
      first_name: 'John',
      last_name: 'Smith',
      contact_detail: [
        { type: 'PH', value: '+14155550132' },
        { type: 'E', value: 'john@example.com' },
      ],
    });

    const before = providerRequests().length;
    const again = await post('shopify', body, headers);
    expect(again).toEqual({
      statusCode: 200,
      body: {
        status: 'duplicate',
        eventKey: 'shopify:jsmith.myshopify.com:event:98880550-7158-44d4-b7cd-2c97c8a091b5',
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(providerRequests()).toHaveLength(before);
  });

  it('the same order delivered through EventBridge gives the same contact', async () => {
    const payload = JSON.parse(fixture('shopify/orders-create-billing-phone.json').toString('utf8')) as Record<
      string,
      unknown
    >;
    const envelope = JSON.parse(
      fixture('shopify/eventbridge-orders-create.json').toString('utf8'),
    ) as ShopifyEventBridgeEvent;
    // A fresh pipeline state and a new event id: the contact is created from the bus event alone.
    const event = {
      ...envelope,
      detail: { payload, metadata: { ...envelope.detail.metadata, 'X-Shopify-Event-Id': randomUUID() } },
    } as ShopifyEventBridgeEvent;
    const outcome = await pipeline.shopifyEvents(event, lambdaContext('contact-relay-itest-shopifyEvents'));
    expect(outcome).toMatchObject({ status: 'accepted' });
    await contactsAtEveryProvider();
    expect(createBodies()).toEqual(httpContact);
  });

  it('WooCommerce order.created, signed, is answered 200 and becomes one contact per provider', async () => {
    const body = fixture('woocommerce/order-billing-phone.json');
    const answer = await post('woocommerce', body, {
      'content-type': 'application/json',
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-source': 'https://shop.example.com/',
      'x-wc-webhook-id': '12',
      'x-wc-webhook-delivery-id': 'b1c2d3',
      'x-wc-webhook-signature': sign(body),
    });
    expect(answer).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
    await contactsAtEveryProvider();
    expect(createBodies()['kirim']).toMatchObject({
      name: 'John Doe',
      email: 'john.doe@example.com',
      phone_number: '+14155550132',
    });
  });

  it('WooCommerce: the unsigned creation ping gets exactly 200, and nothing is queued', async () => {
    const answer = await post('woocommerce', Buffer.from('webhook_id=12'), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(answer).toEqual({ statusCode: 200, body: { status: 'ignored', reason: 'webhook creation ping' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(providerRequests()).toEqual([]);
  });

  it('Shopify: a body changed after signing gets 401 and reaches no provider', async () => {
    const body = fixture('shopify/orders-create-billing-phone.json');
    const headers = shopifyHeaders(body, randomUUID());
    const tampered = Buffer.from(body.toString('utf8').replace('john@example.com', 'eve@example.com'));
    const answer = await post('shopify', tampered, headers);
    expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'invalid_signature' } } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(providerRequests()).toEqual([]);
  });
});

/** The orders/create fixture with the customer's first name replaced. */
function orderWithFirstName(firstName: string): Record<string, unknown> {
  const text = fixture('shopify/orders-create-billing-phone.json').toString('utf8');
  const payload = JSON.parse(text) as { customer: Record<string, unknown> };
  payload.customer['first_name'] = firstName;
  return payload;
}

const accepted = { statusCode: 200, body: { status: 'accepted' } };

/** What a captured delivery replayed under fresh ids answers: the same signed bytes, new unsigned headers. */
describe('Shop webhooks replayed under fresh ids', () => {
  const waitForStragglers = () => new Promise((resolve) => setTimeout(resolve, 1500));

  it('Shopify: the same signed body under fresh event and webhook ids is 200 duplicate, 3 times of 3', async () => {
    const body = Buffer.from(JSON.stringify(orderWithFirstName('Replayed')));
    expect(await post('shopify', body, shopifyHeaders(body, randomUUID()))).toMatchObject(accepted);
    await contactsAtEveryProvider();
    const before = providerRequests().length;
    for (let replay = 0; replay < 3; replay++) {
      const eventId = randomUUID();
      const headers = { ...shopifyHeaders(body, eventId), 'x-shopify-webhook-id': randomUUID() };
      const eventKey = `shopify:jsmith.myshopify.com:event:${eventId}`;
      const duplicate = { statusCode: 200, body: { status: 'duplicate', eventKey } };
      expect(await post('shopify', body, headers)).toEqual(duplicate);
    }
    await waitForStragglers();
    expect(providerRequests()).toHaveLength(before);
  });

  it('WooCommerce: the same signed body under another store URL, topic and delivery id is 200 duplicate', async () => {
    const order = JSON.parse(fixture('woocommerce/order-billing-phone.json').toString('utf8')) as { id: number };
    const body = Buffer.from(JSON.stringify({ ...order, id: order.id + 1000 }));
    const headers = (source: string, topic: string) => ({
      'content-type': 'application/json',
      'x-wc-webhook-topic': topic,
      'x-wc-webhook-source': source,
      'x-wc-webhook-id': '12',
      'x-wc-webhook-delivery-id': randomUUID().replace(/-/g, ''),
      'x-wc-webhook-signature': sign(body),
    });
    const first = headers('https://shop.example.com/', 'order.created');
    expect(await post('woocommerce', body, first)).toMatchObject(accepted);
    await contactsAtEveryProvider();
    const before = providerRequests().length;
    for (const [source, topic] of [
      ['https://shop.example.com/', 'order.updated'],
      ['https://replayed.example.net/', 'order.created'],
      ['https://shop.example.com/shop', 'order.created'],
    ] as const) {
      const duplicate = { statusCode: 200, body: { status: 'duplicate' } };
      expect(await post('woocommerce', body, headers(source, topic))).toMatchObject(duplicate);
    }
    await waitForStragglers();
    expect(providerRequests()).toHaveLength(before);
  });

  it('Shopify: a delivery triggered more than 48 hours ago is 401 stale_delivery and reaches no provider', async () => {
    const body = Buffer.from(JSON.stringify(orderWithFirstName('Stale')));
    const triggeredAt = new Date(Date.now() - 49 * 3_600_000).toISOString();
    const headers = { ...shopifyHeaders(body, randomUUID()), 'x-shopify-triggered-at': triggeredAt };
    const answer = await post('shopify', body, headers);
    expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'stale_delivery' } } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(providerRequests()).toEqual([]);
  });
});

// SQS refuses a message holding U+FFFF or a lone surrogate and accepts every emoji
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
describe('Shop orders whose text SQS would refuse, or a queue could not hold', () => {
  it('Shopify: a customer name holding U+FFFF is accepted and reaches every provider without it', async () => {
    const body = Buffer.from(JSON.stringify(orderWithFirstName('John\uFFFF')));
    expect(await post('shopify', body, shopifyHeaders(body, randomUUID()))).toMatchObject(accepted);
    await contactsAtEveryProvider();
    expect(createBodies()['kirim']).toMatchObject({ name: 'John Smith' });
    expect(createBodies()['twochat']).toMatchObject({ first_name: 'John', last_name: 'Smith' });
  });

  it('Shopify: a customer name with an emoji is accepted and reaches every provider with the emoji', async () => {
    const body = Buffer.from(JSON.stringify(orderWithFirstName('John 😀')));
    expect(await post('shopify', body, shopifyHeaders(body, randomUUID()))).toMatchObject(accepted);
    await contactsAtEveryProvider();
    expect(createBodies()['kirim']).toMatchObject({ name: 'John 😀 Smith' });
    expect(createBodies()['chatwoot']).toMatchObject({ name: 'John 😀 Smith' });
    expect(createBodies()['twochat']).toMatchObject({ first_name: 'John 😀' });
  });

  it('Shopify: a name escaped as a lone surrogate (half an emoji) is accepted with U+FFFD in its place', async () => {
    // JSON can carry half a surrogate pair as an escape; no UTF-8 text can.
    const order = JSON.stringify(orderWithFirstName('John'));
    const text = order.replace('"first_name":"John"', '"first_name":"John\\ud83d"');
    const body = Buffer.from(text);
    expect(await post('shopify', body, shopifyHeaders(body, randomUUID()))).toMatchObject(accepted);
    await contactsAtEveryProvider();
    expect(createBodies()['kirim']).toMatchObject({ name: 'John\uFFFD Smith' });
  });

  it('Shopify over EventBridge: an order too large to queue is skipped with the reason, not thrown', async () => {
    const envelopeText = fixture('shopify/eventbridge-orders-create.json').toString('utf8');
    const envelope = JSON.parse(envelopeText) as ShopifyEventBridgeEvent;
    const payload = orderWithFirstName('x'.repeat(MAX_JOB_BYTES));
    const metadata = { ...envelope.detail.metadata, 'X-Shopify-Event-Id': randomUUID() };
    const event = { ...envelope, detail: { payload, metadata } } as ShopifyEventBridgeEvent;
    const outcome = await pipeline.shopifyEvents(event, lambdaContext('contact-relay-itest-shopifyEvents'));
    const reason = expect.stringContaining(`the most a delivery job may carry is ${MAX_JOB_BYTES}`) as string;
    expect(outcome).toMatchObject({ status: 'skipped', reason });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(providerRequests()).toEqual([]);
  });

  it('reconcile: an order too large to queue is skipped, the next one delivered, the checkpoint moved', async () => {
    pipeline.emulator.shopify.tokens.add('itest-shopify-token');
    const node = (number: number, firstName: string): AdminOrderNode => ({
      id: `gid://shopify/Order/4567890123456789${number}`,
      name: `#${2000 + number}`,
      email: `order${number}@example.com`,
      phone: null,
      createdAt: new Date(Date.now() - (10 - number) * 60_000).toISOString(),
      totalPriceSet: { shopMoney: { amount: '9.00', currencyCode: 'EUR' } },
      customer: {
        id: `gid://shopify/Customer/8000000000000${number}`,
        firstName,
        lastName: 'Buyer',
        email: `order${number}@example.com`,
        phone: null,
        defaultAddress: null,
        emailMarketingConsent: null,
        smsMarketingConsent: null,
      },
      billingAddress: {
        firstName,
        lastName: 'Buyer',
        phone: `030 90182${number}`,
        countryCodeV2: 'DE',
        address1: null,
        address2: null,
        city: null,
        province: null,
        zip: null,
      },
      shippingAddress: null,
    });
    pipeline.emulator.shopify.orders.push(node(1, 'x'.repeat(MAX_JOB_BYTES)), node(2, 'Grace'));
    const [report] = await pipeline.reconcile({}, lambdaContext('contact-relay-itest-reconcile'));
    expect(report).toMatchObject({ route: 'default', fetched: 2, accepted: 1, skipped: 1 });
    expect(report?.error).toBeUndefined();
    expect(report?.checkpoint).toBeDefined();
    await contactsAtEveryProvider();
    const grace = { name: 'Grace Buyer', email: 'order2@example.com', phone_number: '+4930901822' };
    expect(createBodies()['kirim']).toMatchObject(grace);
  });
});
