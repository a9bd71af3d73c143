/**
 * Dedupe keys against replays and lost jobs, in the local pipeline: a signed
 * body is a key of its event besides the ids its unsigned headers carry, and
 * a Shopify order's alias (the key reconcile looks for) is written only once
 * its job is on the queue. SQS failing is the shops function's role losing
 * sqs:SendMessage, which the local stack enforces as AWS does.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../shared/config/routes.js';
import { acceptEvent, NotAcceptedError, signedBodyKey } from '../../shared/ingest.js';
import { createSqsQueue } from '../../shared/queue.js';
import { mapShopifyOrder, ShopifyOrderSchema, shopifyOrderEventKey } from '../../shared/shopify/orders.js';
import type { AdminOrderNode } from '../../shared/shopify/admin-orders.js';
import { createDynamoStore, type OutcomeStore } from '../../shared/store.js';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { loadFunctionRoles, type FunctionRole, type FunctionRoles } from '../../local/emulator/iam.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { SHOP, SOURCE_SECRET, STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

const roles: FunctionRoles = loadFunctionRoles(STAGE);
const shopsRole = roles['shops'] as FunctionRole;
/** The shops role without sqs:SendMessage: every job it queues is refused, as SQS refuses it in AWS. */
const queueRefused: FunctionRole = {
  ...shopsRole,
  statements: shopsRole.statements.map((statement) => ({
    ...statement,
    actions: statement.actions.filter((action) => action !== 'sqs:SendMessage'),
  })),
};

let pipeline: Pipeline;
let store: OutcomeStore;
let dynamo: DynamoDBClient;
beforeAll(async () => {
  pipeline = await startPipeline({ roles });
  pipeline.emulator.shopify.tokens.add('itest-shopify-token');
  // Not a function's key: the local IAM leaves these calls alone, as the test's own.
  const credentials = { accessKeyId: 't', secretAccessKey: 't' };
  dynamo = new DynamoDBClient({ endpoint: pipeline.emulator.url, region: 'us-east-1', credentials });
  store = createDynamoStore({ tableName: pipeline.resources.tableName, client: dynamo });
});
afterAll(async () => {
  roles['shops'] = shopsRole;
  dynamo.destroy();
  await pipeline.close();
});

const route = findRoute(parseRoutesConfig(routesFile), 'shopify', 'default') as ResolvedRoute;
const sign = (body: Buffer) => createHmac('sha256', SOURCE_SECRET.secret).update(body).digest('base64');
const fixture = (name: string) => readFileSync(new URL(`../fixtures/shopify/${name}`, import.meta.url), 'utf8');

/** The billing-phone order sample as another order of the reconciled shop. */
function order(number: number): { gid: string; body: Buffer } {
  const gid = `gid://shopify/Order/61000000000000000${number}`;
  const payload = JSON.parse(fixture('orders-create-billing-phone.json')) as Record<string, unknown>;
  const body = Buffer.from(JSON.stringify({ ...payload, admin_graphql_api_id: gid, name: `#${3000 + number}` }));
  return { gid, body };
}

async function postShopify(body: Buffer, topic = 'orders/create', eventId = randomUUID()) {
  const headers = {
    'content-type': 'application/json',
    'x-shopify-topic': topic,
    'x-shopify-shop-domain': SHOP,
    'x-shopify-webhook-id': randomUUID(),
    'x-shopify-event-id': eventId,
    'x-shopify-triggered-at': new Date().toISOString(),
    'x-shopify-hmac-sha256': sign(body),
  };
  const event = { ...httpApiEvent('shopify', 'default', body.toString('base64'), headers), isBase64Encoded: true };
  const result = await pipeline.shops(event, lambdaContext('contact-relay-itest-shops'));
  return { statusCode: result.statusCode, body: JSON.parse(result.body as string) as Record<string, unknown> };
}

/** The order as reconcile reads it from the Admin API: the same order, created a minute ago. */
function adminNode(gid: string): AdminOrderNode {
  return {
    id: gid,
    name: '#3001',
    email: 'john@example.com',
    phone: null,
    createdAt: new Date(Date.now() - 60_000).toISOString(),
    totalPriceSet: { shopMoney: { amount: '10.00', currencyCode: 'USD' } },
    customer: null,
    billingAddress: {
      firstName: 'John',
      lastName: 'Smith',
      phone: '(415) 555-0132',
      countryCodeV2: 'US',
      address1: null,
      address2: null,
      city: null,
      province: null,
      zip: null,
    },
    shippingAddress: null,
  };
}

/** The ingest record of `key`, as the table holds it; undefined when there is none. */
async function record(key: string): Promise<string | undefined> {
  const Key = { pk: { S: `event#${key}` }, sk: { S: 'ingest' } };
  const read = new GetItemCommand({ TableName: pipeline.resources.tableName, Key, ConsistentRead: true });
  const { Item } = await dynamo.send(read);
  return Item?.['state']?.S;
}

describe('Function: acceptEvent when the queue refuses a Shopify order (local pipeline)', () => {
  it('leaves no order alias, so reconcile queues the order later', async () => {
    const { gid, body } = order(1);
    roles['shops'] = queueRefused;
    try {
      const message = 'the event could not be stored; retry the webhook later';
      expect(await postShopify(body)).toEqual({ statusCode: 503, body: { error: { code: 'not_accepted', message } } });
    } finally {
      roles['shops'] = shopsRole;
    }
    expect(await record(shopifyOrderEventKey(SHOP, gid))).toBeUndefined();

    // Shopify's retries ran out: reconcile finds the order and, with no alias in the way, queues it.
    pipeline.emulator.shopify.orders.push(adminNode(gid));
    const [report] = await pipeline.reconcile({}, lambdaContext('contact-relay-itest-reconcile'));
    expect(report).toMatchObject({ route: 'default', fetched: 1, accepted: 1, duplicates: 0 });
    expect(report?.error).toBeUndefined();
  });

  it("releases its keys: Shopify's retry is accepted once the queue works; then a replay is a duplicate", async () => {
    // Another customer than any other test's: its body key is its own.
    const text = fixture('customers-create.json').replace('"id": 706405506930370084', '"id": 706405506930370085');
    const body = Buffer.from(text);
    const eventId = randomUUID();
    roles['shops'] = queueRefused;
    try {
      expect((await postShopify(body, 'customers/create', eventId)).statusCode).toBe(503);
    } finally {
      roles['shops'] = shopsRole;
    }
    expect(await record(signedBodyKey('shopify', body))).toBeUndefined();
    const answer = (status: string) => ({ statusCode: 200, body: { status } });
    expect(await postShopify(body, 'customers/create', eventId)).toMatchObject(answer('accepted'));
    expect(await postShopify(body, 'customers/create')).toMatchObject(answer('duplicate'));
  });
});

describe('Function: acceptEvent with a body key (local table and queue)', () => {
  const contactOf = (body: Buffer, eventKey: string) => {
    const payload = ShopifyOrderSchema.parse(JSON.parse(body.toString('utf8')));
    const { contact } = mapShopifyOrder(payload, route, SHOP, new Date());
    return { ...contact, origin: { ...contact.origin, eventKey } };
  };
  interface Keys {
    aliases?: string[];
    bodyKey?: string;
    store?: OutcomeStore;
  }
  /** The order `body` accepted under `eventKey`, as ingest accepts it. */
  const accept = (body: Buffer, eventKey: string, keys: Keys = {}) => {
    const deps = { store: keys.store ?? store, queue: createSqsQueue(pipeline.resources.queueUrl, pipeline.sqs) };
    return acceptEvent(contactOf(body, eventKey), route, eventKey, deps, keys.aliases ?? [], keys.bodyKey);
  };
  const freshEventKey = () => `shopify:${SHOP}:event:${randomUUID()}`;

  it('marks the bytes of an event accepted under its event key alone: a replay of them is a duplicate', async () => {
    const { body } = order(2);
    const eventKey = freshEventKey();
    const bodyKey = signedBodyKey('shopify', body);
    // EventBridge carries no raw bytes: its copy is accepted under the event key alone.
    expect(await accept(body, eventKey)).toBe('accepted');
    expect(await accept(body, eventKey, { bodyKey })).toBe('duplicate');
    expect(await record(bodyKey)).toBe('queued');
    const fresh = freshEventKey();
    expect(await accept(body, fresh, { bodyKey })).toBe('duplicate');
    // The replay stopped at the body key: its fresh event key was never written.
    expect(await record(fresh)).toBeUndefined();
  });

  it('tells a replay racing the first delivery to retry, and keeps none of it', async () => {
    const { body } = order(3);
    const bodyKey = signedBodyKey('shopify', body);
    expect(await store.beginIngest(bodyKey)).toBe('new');
    const fresh = freshEventKey();
    await expect(accept(body, fresh, { bodyKey })).rejects.toThrow(NotAcceptedError);
    expect(await record(fresh)).toBeUndefined();
    expect(await record(bodyKey)).toBe('pending');
  });

  it('writes an order alias that failed after queueing when the sender retries, so reconcile finds it', async () => {
    const { gid, body } = order(4);
    const eventKey = freshEventKey();
    const alias = shopifyOrderEventKey(SHOP, gid);
    const bodyKey = signedBodyKey('shopify', body);
    let failures = 1;
    const flaky: OutcomeStore = {
      ...store,
      markSeen: (key) => (failures-- > 0 ? Promise.reject(new Error('table unreachable')) : store.markSeen(key)),
    };
    const failing = accept(body, eventKey, { aliases: [alias], bodyKey, store: flaky });
    await expect(failing).rejects.toThrow('table unreachable');
    expect(await record(alias)).toBeUndefined();
    // The 5xx makes Shopify retry: the event is a duplicate, and its alias is written now.
    expect(await accept(body, eventKey, { aliases: [alias], bodyKey, store: flaky })).toBe('duplicate');
    expect(await record(alias)).toBe('queued');
    // What reconcile does with the order.
    expect(await accept(body, alias)).toBe('duplicate');
  });
});
