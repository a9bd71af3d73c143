/**
 * Reconcile in the pipeline: orders from the (stubbed) Shopify Admin API go
 * through the same dedupe and queue as webhooks. An order whose webhook
 * arrived is not queued again; one whose webhook never came is delivered.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../shared/config/routes.js';
import { acceptEvent } from '../../shared/ingest.js';
import { createSqsQueue } from '../../shared/queue.js';
import { fromAdminGraphqlOrder, type AdminOrderNode } from '../../shared/shopify/admin-orders.js';
import { mapShopifyOrder, shopifyOrderEventKey } from '../../shared/shopify/orders.js';
import { createDynamoStore } from '../../shared/store.js';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { lambdaContext } from '../../local/lambda.js';
import { eventually, PROVIDERS, SHOP, startPipeline, type Pipeline } from '../helpers/pipeline.js';

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline();
  pipeline.emulator.shopify.tokens.add('itest-shopify-token');
});
afterAll(() => pipeline.close());

const order = (number: number, phone: string, email: string): AdminOrderNode => ({
  // Shopify ids exceed 2^53: built as text, never as numbers.
  id: `gid://shopify/Order/56789012345678901${number}`,
  name: `#${1000 + number}`,
  email,
  phone: null,
  createdAt: new Date(Date.now() - number * 60_000).toISOString(),
  totalPriceSet: { shopMoney: { amount: '25.00', currencyCode: 'EUR' } },
  customer: {
    id: `gid://shopify/Customer/70000000000000${number}`,
    firstName: 'Order',
    lastName: `Number${number}`,
    email,
    phone: null,
    defaultAddress: null,
    emailMarketingConsent: null,
    smsMarketingConsent: null,
  },
  billingAddress: {
    firstName: 'Order',
    lastName: `Number${number}`,
    phone,
    countryCodeV2: 'DE',
    address1: null,
    address2: null,
    city: 'Berlin',
    province: null,
    zip: null,
  },
  shippingAddress: null,
});

async function queueDepth(): Promise<number> {
  const { Attributes = {} } = await pipeline.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: pipeline.resources.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(Attributes['ApproximateNumberOfMessages'] ?? 0);
}

describe('Function: reconcile handler (local pipeline)', () => {
  it('queues the order whose webhook never arrived and skips the one that did', async () => {
    const arrived = order(1, '030 901820', 'arrived@example.com');
    const missed = order(2, '0151 23456789', 'missed@example.com');
    pipeline.emulator.shopify.orders.push(arrived, missed);

    // The webhook of the first order was accepted earlier, under the order's event key.
    const route = findRoute(parseRoutesConfig(routesFile), 'shopify', 'default') as ResolvedRoute;
    const endpoint = {
      endpoint: pipeline.emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
    };
    const store = createDynamoStore({ tableName: pipeline.resources.tableName, client: new DynamoDBClient(endpoint) });
    const queue = createSqsQueue(pipeline.resources.queueUrl, pipeline.sqs);
    const { contact } = mapShopifyOrder(fromAdminGraphqlOrder(arrived), route, SHOP, new Date());
    expect(await acceptEvent(contact, route, shopifyOrderEventKey(SHOP, arrived.id), { store, queue })).toBe(
      'accepted',
    );
    expect(await queueDepth()).toBe(1);

    const [report] = await pipeline.reconcile({}, lambdaContext('contact-relay-itest-reconcile'));
    expect(report).toMatchObject({ route: 'default', fetched: 2, accepted: 1, duplicates: 1, skipped: 0 });
    expect(report?.error).toBeUndefined();
    expect(await queueDepth()).toBe(2);

    // Both orders reach every provider, each once; the missed one with its German number made E.164.
    const poller = pipeline.startPoller();
    await eventually(() => {
      for (const provider of PROVIDERS)
        expect(
          pipeline.emulator.state.contacts.filter((c) => c.provider === provider),
          provider,
        ).toHaveLength(2);
    });
    await poller.stop();
    const phones = pipeline.emulator.state.contacts
      .filter((c) => c.provider === 'kirim')
      .map((c) => c.phone)
      .sort();
    expect(phones).toEqual(['+4915123456789', '+4930901820']);

    // A second run finds nothing new: the checkpoint moved and dedupe holds both orders.
    const [again] = await pipeline.reconcile({}, lambdaContext('contact-relay-itest-reconcile'));
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
  }, 60_000);
});
