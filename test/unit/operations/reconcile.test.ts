/**
 * reconcile over real sockets: the Admin API stub behind a local HTTP server,
 * the real HTTP client, the real secrets cache against the emulator's
 * Secrets Manager, and the real DynamoDB store against dynalite, so "already
 * accepted" means what it means in AWS: a conditional write that failed.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import dynalite from 'dynalite';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { findRoute, parseRoutesConfig, type ResolvedRoute, type RoutesConfig } from '../../../shared/config/routes.js';
import { createHttpClient, type HttpClient } from '../../../shared/http.js';
import { acceptEvent } from '../../../shared/ingest.js';
import type { ContactJob, DeliveryJob } from '../../../shared/jobs.js';
import {
  CHECKPOINT_OVERLAP_MS,
  checkpointScope,
  reconcileShopifyRoutes,
  type ReconcileDependencies,
} from '../../../shared/operations/reconcile.js';
import type { JobQueue } from '../../../shared/queue.js';
import { SecretStore } from '../../../shared/secrets.js';
import { fetchOrdersCreatedSince, ShopifyAdminError } from '../../../shared/shopify/admin.js';
import { mapShopifyOrder, ShopifyOrderSchema } from '../../../shared/shopify/orders.js';
import type { AdminOrderNode } from '../../../shared/shopify/admin-orders.js';
import { createDynamoStore, type OutcomeStore } from '../../../shared/store.js';
import { startEmulator, type Emulator } from '../../../local/emulator/server.js';
import { ShopifyAdminStub } from '../../../local/emulator/shopify-admin.js';

const STAGE = 'recon';
const SHOP = 'demo-shop.myshopify.com';
const TOKEN = 'shpat_valid';
const NOW = new Date('2026-11-21T12:00:00.000Z');
const awsCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let dynamo: http.Server;
let dynamoClient: DynamoDBClient;
let emulator: Emulator;
let secretsClient: SecretsManagerClient;
let adminServer: http.Server;
let adminUrl: string;
let client: HttpClient;
let stub: ShopifyAdminStub;
let tables = 0;

beforeAll(async () => {
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  dynamoClient = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: awsCredentials,
  });

  emulator = await startEmulator({
    secrets: {
      [`contact-relay/${STAGE}/shopify-admin/main`]: { shopDomain: SHOP, accessToken: TOKEN },
      [`contact-relay/${STAGE}/shopify-admin/revoked`]: {
        shopDomain: 'other-shop.myshopify.com',
        accessToken: 'shpat_revoked',
      },
      'contact-relay/recon/shopify-admin/custom': { shopDomain: SHOP, accessToken: TOKEN, apiVersion: '2025-10' },
    },
  });
  secretsClient = new SecretsManagerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: awsCredentials,
  });

  // The stub mounted under /shopify, as the emulator mounts it.
  adminServer = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const url = new URL(incoming.url ?? '/', 'http://stub');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        json = undefined;
      }
      const response = url.pathname.startsWith('/shopify/')
        ? stub.handle({
            method: incoming.method ?? 'GET',
            path: url.pathname.slice('/shopify'.length),
            query: url.searchParams,
            headers: incoming.headers,
            rawBody,
            json,
          })
        : { status: 404, body: { errors: 'Not Found' } };
      outgoing.writeHead(response.status, { 'content-type': 'application/json; charset=utf-8', ...response.headers });
      outgoing.end(response.body === undefined ? '' : JSON.stringify(response.body));
    });
  });
  await new Promise<void>((resolve) => adminServer.listen(0, '127.0.0.1', () => resolve()));
  adminUrl = `http://127.0.0.1:${(adminServer.address() as AddressInfo).port}/shopify`;
  client = createHttpClient();
});

afterAll(async () => {
  client.close();
  secretsClient.destroy();
  dynamoClient.destroy();
  adminServer.closeAllConnections();
  await new Promise((resolve) => adminServer.close(resolve));
  await emulator.close();
  await new Promise((resolve) => dynamo.close(resolve));
});

beforeEach(() => {
  stub = new ShopifyAdminStub({ tokens: [TOKEN] });
});

/** A fresh table per test, defined as infra/resources.yml defines it. */
async function freshStore(): Promise<OutcomeStore> {
  const template = parse(readFileSync(new URL('../../../infra/resources.yml', import.meta.url), 'utf8')) as {
    Resources: { EventsTable: { Properties: Record<string, unknown> } };
  };
  const table = template.Resources.EventsTable.Properties;
  const tableName = `contact-relay-${STAGE}-events-${++tables}`;
  await dynamoClient.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: table['BillingMode'] as 'PAY_PER_REQUEST',
      AttributeDefinitions: table['AttributeDefinitions'] as CreateTableCommandInput['AttributeDefinitions'],
      KeySchema: table['KeySchema'] as CreateTableCommandInput['KeySchema'],
      GlobalSecondaryIndexes: table['GlobalSecondaryIndexes'] as CreateTableCommandInput['GlobalSecondaryIndexes'],
    }),
  );
  // dynalite answers CreateTable while the table is still CREATING, even with createTableMs: 0.
  while (
    (await dynamoClient.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE'
  ) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return createDynamoStore({ tableName, client: dynamoClient });
}

/** The queue is not what is tested here: a fake that records jobs and can be told to fail. */
function recordingQueue(): JobQueue & { jobs: DeliveryJob[]; failOn?: (job: DeliveryJob, count: number) => boolean } {
  let sends = 0;
  const queue: JobQueue & { jobs: DeliveryJob[]; failOn?: (job: DeliveryJob, count: number) => boolean } = {
    jobs: [],
    async send(job) {
      sends++;
      if (queue.failOn?.(job, sends) === true) throw new Error('queue unavailable');
      queue.jobs.push(job);
    },
  };
  return queue;
}

function routesConfig(shopify: Record<string, unknown>): RoutesConfig {
  return parseRoutesConfig({ accounts: { twochat: { provider: 'twochat' } }, sources: { shopify } });
}

const MAIN = { main: { deliverTo: ['twochat'], reconcile: { lookbackHours: 24 } } };

const minutesAgo = (minutes: number, from = NOW) => new Date(from.getTime() - minutes * 60_000).toISOString();

/** An order node as the GraphQL Admin API returns it; ids beyond 2^53. */
function orderNode(n: number, createdAt: string, overrides: Partial<AdminOrderNode> = {}): AdminOrderNode {
  return {
    id: `gid://shopify/Order/56789012345678${String(n).padStart(5, '0')}`,
    name: `#${1000 + n}`,
    email: `buyer${n}@example.com`,
    phone: null,
    createdAt,
    totalPriceSet: { shopMoney: { amount: '12.50', currencyCode: 'EUR' } },
    customer: {
      id: `gid://shopify/Customer/72345678901234${String(n).padStart(5, '0')}`,
      firstName: `Buyer${n}`,
      lastName: 'Example',
      email: `buyer${n}@example.com`,
      phone: null,
      defaultAddress: null,
      emailMarketingConsent: { marketingState: 'SUBSCRIBED' },
      smsMarketingConsent: null,
    },
    billingAddress: {
      firstName: `Buyer${n}`,
      lastName: 'Example',
      phone: '030 901820',
      countryCodeV2: 'DE',
      address1: null,
      address2: null,
      city: 'Berlin',
      province: null,
      zip: null,
    },
    shippingAddress: null,
    ...overrides,
  };
}

function orders(count: number, startMinutesAgo: number): AdminOrderNode[] {
  return Array.from({ length: count }, (_, i) => orderNode(i + 1, minutesAgo(startMinutesAgo - i)));
}

function dependencies(
  store: OutcomeStore,
  queue: JobQueue,
  overrides: Partial<ReconcileDependencies> = {},
): ReconcileDependencies {
  return {
    routes: routesConfig(MAIN),
    stage: STAGE,
    secrets: new SecretStore({ client: secretsClient }),
    http: client,
    store,
    accept: (contact, route, eventKey) => acceptEvent(contact, route, eventKey, { store, queue }),
    now: () => NOW,
    adminBaseUrl: adminUrl,
    admin: { sleep: async () => undefined },
    ...overrides,
  };
}

const keyOf = (n: number) => `shopify:${SHOP}:order:gid://shopify/Order/56789012345678${String(n).padStart(5, '0')}`;

describe('Function: reconcileShopifyRoutes', () => {
  it('skips an order whose webhook already arrived and accepts one whose webhook never did', async () => {
    const store = await freshStore();
    const queue = recordingQueue();
    const deps = dependencies(store, queue);
    const route = findRoute(deps.routes, 'shopify', 'main') as ResolvedRoute;

    // The orders/create webhook of order 1 arrived: the body Shopify sent, numeric id and all.
    const webhookBody = `{"id": 5678901234567800001, "admin_graphql_api_id": "gid://shopify/Order/5678901234567800001", "name": "#1001",
      "email": "buyer1@example.com", "created_at": "${minutesAgo(90)}", "total_price": "12.50", "currency": "EUR",
      "customer": {"id": 7234567890123400001, "admin_graphql_api_id": "gid://shopify/Customer/7234567890123400001", "email": "buyer1@example.com"}}`;
    const { contact } = mapShopifyOrder(ShopifyOrderSchema.parse(JSON.parse(webhookBody)), route, SHOP, NOW);
    expect(await acceptEvent(contact, route, contact.origin.eventKey, { store, queue })).toBe('accepted');
    expect(contact.origin.eventKey).toBe(keyOf(1));

    stub.orders = [
      orderNode(1, minutesAgo(90)),
      orderNode(2, minutesAgo(60)),
      orderNode(3, minutesAgo(30), { email: null, customer: null, billingAddress: null }),
    ];
    const [report] = await reconcileShopifyRoutes(deps);

    expect(report).toEqual({
      route: 'main',
      fetched: 3,
      accepted: 1,
      duplicates: 1,
      skipped: 1,
      since: minutesAgo(24 * 60),
      checkpoint: minutesAgo(30),
    });
    // One job per order that has a contact: the webhook's and reconcile's, never a second for order 1.
    expect(queue.jobs.map((job) => job.eventKey)).toEqual([keyOf(1), keyOf(2)]);
    expect((queue.jobs[1] as ContactJob | undefined)?.contact).toMatchObject({
      emails: ['buyer2@example.com'],
      phones: [{ e164: '+4930901820' }],
      tags: ['shopify'],
    });
    expect((queue.jobs[1] as ContactJob | undefined)?.contact.attributes).toMatchObject({
      shopify_customer_id: '7234567890123400002',
      shopify_shop: SHOP,
    });

    // The next run reads the overlap again and delivers nothing new.
    const [again] = await reconcileShopifyRoutes(deps);
    expect(again).toMatchObject({ fetched: 1, accepted: 0, duplicates: 0, skipped: 1, checkpoint: minutesAgo(30) });
    expect(queue.jobs).toHaveLength(2);
  });

  it('reads every page: 120 orders in pages of 50', async () => {
    const store = await freshStore();
    const queue = recordingQueue();
    stub.orders = orders(120, 600).reverse();
    const [report] = await reconcileShopifyRoutes(dependencies(store, queue));

    expect(report).toMatchObject({
      fetched: 120,
      accepted: 120,
      duplicates: 0,
      skipped: 0,
      checkpoint: minutesAgo(600 - 119),
    });
    expect(stub.requests).toBe(3);
    expect(new Set(queue.jobs.map((job) => job.eventKey)).size).toBe(120);
    expect(stub.searches).toEqual(Array(3).fill(`created_at:>='${minutesAgo(24 * 60)}'`));
  });

  it('keeps the checkpoint when accepting fails part-way, and the next run finishes the job', async () => {
    const store = await freshStore();
    const queue = recordingQueue();
    stub.orders = orders(30, 300);
    queue.failOn = (_job, count) => count === 3;

    const [failed] = await reconcileShopifyRoutes(dependencies(store, queue));
    expect(failed?.error).toMatch(/^the delivery job could not be queued: queue unavailable$/);
    expect(failed?.errorCode).toBe('NotAcceptedError');
    expect(failed?.checkpoint).toBeUndefined();
    expect(await store.getCheckpoint('reconcile', checkpointScope('main'))).toBeUndefined();
    const acceptedBefore = queue.jobs.length;
    expect(acceptedBefore).toBeGreaterThan(0);
    expect(acceptedBefore).toBeLessThan(30);

    queue.failOn = undefined;
    const [retried] = await reconcileShopifyRoutes(dependencies(store, queue));
    expect(retried).toMatchObject({
      fetched: 30,
      accepted: 30 - acceptedBefore,
      duplicates: acceptedBefore,
      checkpoint: minutesAgo(300 - 29),
    });
    expect(new Set(queue.jobs.map((job) => job.eventKey)).size).toBe(30);
    expect(queue.jobs).toHaveLength(30);
  });

  it('keeps the checkpoint when a later page fails, though the first page was accepted', async () => {
    const store = await freshStore();
    await store.putCheckpoint('reconcile', checkpointScope('main'), minutesAgo(1000));
    const queue = recordingQueue();
    stub.orders = orders(70, 500);
    const deps = dependencies(store, queue);
    let accepted = 0;
    const failing = dependencies(store, queue, {
      accept: async (contact, route, eventKey) => {
        const result = await deps.accept(contact, route, eventKey);
        // The token is revoked while the first page is being accepted.
        if (++accepted === 50) stub.tokens.clear();
        return result;
      },
    });

    const [failed] = await reconcileShopifyRoutes(failing);
    expect(failed).toMatchObject({
      fetched: 50,
      accepted: 50,
      errorCode: 'unauthorized',
      checkpoint: minutesAgo(1000),
      since: new Date(Date.parse(minutesAgo(1000)) - CHECKPOINT_OVERLAP_MS).toISOString(),
    });
    expect(await store.getCheckpoint('reconcile', checkpointScope('main'))).toBe(minutesAgo(1000));

    stub.tokens.add(TOKEN);
    const [retried] = await reconcileShopifyRoutes(deps);
    expect(retried).toMatchObject({ fetched: 70, accepted: 20, duplicates: 50, checkpoint: minutesAgo(500 - 69) });
    expect(retried?.error).toBeUndefined();
  });

  it('reports a route whose token is refused (401) and still reconciles the others', async () => {
    const store = await freshStore();
    const queue = recordingQueue();
    stub.orders = orders(3, 60);
    const routes = routesConfig({
      revoked: { deliverTo: ['twochat'], reconcile: {} },
      missing: { deliverTo: ['twochat'], reconcile: {} },
      'webhook-only': { deliverTo: ['twochat'] },
      ...MAIN,
    });
    const reports = await reconcileShopifyRoutes(dependencies(store, queue, { routes }));

    expect(reports.map((report) => report.route)).toEqual(['revoked', 'missing', 'main']);
    expect(reports[0]).toMatchObject({ fetched: 0, accepted: 0, errorCode: 'unauthorized' });
    expect(reports[0]?.error).toBe(
      `Shopify Admin API refused the access token for other-shop.myshopify.com (401): [API] Invalid API key or access token (unrecognized login or wrong password) (token from secret "contact-relay/${STAGE}/shopify-admin/revoked")`,
    );
    expect(reports[1]?.errorCode).toBe('SecretNotFoundError');
    expect(reports[1]?.error).toContain(`secret "contact-relay/${STAGE}/shopify-admin/missing" does not exist`);
    expect(reports[2]).toMatchObject({ fetched: 3, accepted: 3, checkpoint: minutesAgo(58) });
    expect(reports[2]?.error).toBeUndefined();
  });

  it('looks back lookbackHours on its first run, then from the checkpoint less the overlap', async () => {
    const store = await freshStore();
    const queue = recordingQueue();
    const routes = routesConfig({ main: { deliverTo: ['twochat'], reconcile: { lookbackHours: 6 } } });
    stub.orders = [orderNode(1, minutesAgo(7 * 60)), orderNode(2, minutesAgo(5 * 60)), orderNode(3, minutesAgo(60))];

    const [first] = await reconcileShopifyRoutes(dependencies(store, queue, { routes }));
    expect(first).toMatchObject({ since: minutesAgo(6 * 60), fetched: 2, accepted: 2, checkpoint: minutesAgo(60) });
    expect(stub.searches).toEqual([`created_at:>='${minutesAgo(6 * 60)}'`]);
    expect(queue.jobs.map((job) => job.eventKey)).toEqual([keyOf(2), keyOf(3)]);

    const later = new Date(NOW.getTime() + 3600_000);
    stub.orders.push(orderNode(4, minutesAgo(10, later)));
    const [second] = await reconcileShopifyRoutes(dependencies(store, queue, { routes, now: () => later }));
    const since = new Date(Date.parse(minutesAgo(60)) - CHECKPOINT_OVERLAP_MS).toISOString();
    expect(second).toMatchObject({ since, fetched: 2, accepted: 1, duplicates: 1, checkpoint: minutesAgo(10, later) });
    expect(stub.searches[1]).toBe(`created_at:>='${since}'`);
  });

  it('waits out a THROTTLED answer as long as the cost bucket needs, then carries on', async () => {
    const store = await freshStore();
    const queue = recordingQueue();
    stub.orders = orders(2, 30);
    stub.throttleNext = 1;
    const sleep = vi.fn(async () => undefined);
    const [report] = await reconcileShopifyRoutes(dependencies(store, queue, { admin: { sleep } }));

    expect(report).toMatchObject({ fetched: 2, accepted: 2 });
    // (requested 252 − available 52) points at 100 points/s.
    expect(sleep).toHaveBeenCalledExactlyOnceWith(2000);
    expect(stub.requests).toBe(2);
  });

  it('reports throttling that does not clear, leaving the checkpoint alone', async () => {
    const store = await freshStore();
    stub.orders = orders(2, 30);
    stub.throttleNext = 10;
    const [report] = await reconcileShopifyRoutes(dependencies(store, recordingQueue()));
    expect(report).toMatchObject({ fetched: 0, errorCode: 'throttled' });
    expect(report?.error).toMatch(/throttled the orders query: Throttled/);
    expect(report?.checkpoint).toBeUndefined();
  });

  it("reads the route's own secret and API version when reconcile names one", async () => {
    const store = await freshStore();
    stub.orders = orders(1, 30);
    const routes = routesConfig({
      main: { deliverTo: ['twochat'], reconcile: { secretName: 'contact-relay/recon/shopify-admin/custom' } },
    });
    const requests = vi.spyOn(client, 'request');
    try {
      const [report] = await reconcileShopifyRoutes(dependencies(store, recordingQueue(), { routes }));
      expect(report).toMatchObject({ fetched: 1, accepted: 1 });
      expect(requests.mock.calls[0]?.[0].url).toBe(`${adminUrl}/admin/api/2025-10/graphql.json`);
      expect(requests.mock.calls[0]?.[0].headers).toMatchObject({ 'x-shopify-access-token': TOKEN });
    } finally {
      requests.mockRestore();
    }
  });

  it('stops between pages when time runs short, checkpointing what was done; the next run continues', async () => {
    const store = await freshStore();
    const queue = recordingQueue();
    stub.orders = orders(120, 600);
    const [partial] = await reconcileShopifyRoutes(dependencies(store, queue, { shouldStop: () => true }));
    expect(partial).toMatchObject({ fetched: 50, accepted: 50, partial: true, checkpoint: minutesAgo(600 - 49) });
    expect(stub.requests).toBe(1);

    const [rest] = await reconcileShopifyRoutes(dependencies(store, queue));
    // Orders within the 5-minute overlap before the checkpoint come again as duplicates.
    expect(rest).toMatchObject({ fetched: 76, accepted: 70, duplicates: 6, checkpoint: minutesAgo(600 - 119) });
    expect(new Set(queue.jobs.map((job) => job.eventKey)).size).toBe(120);
  });
});

describe('Function: fetchOrdersCreatedSince (answers classified)', () => {
  const credentials = { shopDomain: SHOP, accessToken: TOKEN, apiVersion: '2025-07' };
  const page = { data: { orders: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } } };

  /** Canned answers in order; the classification, not the socket, is under test here. */
  function canned(
    ...answers: Array<{ status: number; body: unknown; headers?: Record<string, string> }>
  ): HttpClient & { urls: string[] } {
    const urls: string[] = [];
    return {
      urls,
      async request(request) {
        urls.push(request.url);
        const answer = answers.shift();
        if (answer === undefined) throw new Error('no more canned answers');
        return {
          status: answer.status,
          headers: answer.headers ?? {},
          body: typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body),
        };
      },
      connectionsOpened: () => ({}),
      close: () => undefined,
    };
  }

  async function drain(client: HttpClient, sleep = vi.fn(async (_ms: number) => undefined)) {
    const pages = [];
    for await (const each of fetchOrdersCreatedSince(client, credentials, '2026-11-20T12:00:00.000Z', undefined, {
      sleep,
    }))
      pages.push(each);
    return pages;
  }

  async function failure(client: HttpClient): Promise<ShopifyAdminError> {
    const error = await drain(client).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ShopifyAdminError);
    return error as ShopifyAdminError;
  }

  it("calls the shop's own GraphQL endpoint when no override is set", async () => {
    const client = canned({ status: 200, body: page });
    await drain(client);
    expect(client.urls).toEqual([`https://${SHOP}/admin/api/2025-07/graphql.json`]);
  });

  it('retries a 503 after its Retry-After', async () => {
    const sleep = vi.fn(async (_ms: number) => undefined);
    await drain(
      canned(
        { status: 503, body: { errors: 'Service Unavailable' }, headers: { 'retry-after': '2.0' } },
        { status: 200, body: page },
      ),
      sleep,
    );
    expect(sleep).toHaveBeenCalledExactlyOnceWith(2000);
  });

  it('gives up on 5xx after the attempts, as a transient error', async () => {
    const error = await failure(
      canned(...Array.from({ length: 4 }, () => ({ status: 502, body: '<html>Bad Gateway</html>' }))),
    );
    expect([error.code, error.transient, error.details.httpStatus]).toEqual(['unavailable', true, 502]);
    expect(error.message).toBe(`Shopify Admin API of ${SHOP} answered 502`);
  });

  it('does not wait longer than maxWaitMs: a long Retry-After ends the run for the next schedule', async () => {
    const error = await failure(
      canned({ status: 429, body: { errors: 'Exceeded' }, headers: { 'retry-after': '60' } }),
    );
    expect([error.code, error.transient, error.details.retryAfterMs]).toEqual(['throttled', true, 60_000]);
  });

  it('names the missing scope on 403 and on ACCESS_DENIED, permanently', async () => {
    const forbidden = await failure(canned({ status: 403, body: { errors: 'Forbidden' } }));
    expect([forbidden.code, forbidden.transient]).toEqual(['forbidden', false]);
    expect(forbidden.message).toContain('read_orders');
    const denied = await failure(
      canned({
        status: 200,
        body: {
          errors: [
            {
              message: 'Access denied for orders field. Required access: `read_orders` access scope.',
              extensions: { code: 'ACCESS_DENIED' },
            },
          ],
        },
      }),
    );
    expect([denied.code, denied.transient]).toEqual(['forbidden', false]);
    expect(denied.message).toContain('Access denied for orders field');
  });

  it('reports other GraphQL errors and unexpected shapes as permanent', async () => {
    const graphql = await failure(
      canned({
        status: 200,
        body: {
          errors: [{ message: "Field 'bogus' doesn't exist on type 'Order'", extensions: { code: 'undefinedField' } }],
        },
      }),
    );
    expect([graphql.code, graphql.transient]).toEqual(['graphql', false]);
    const shape = await failure(
      canned({
        status: 200,
        body: {
          data: {
            // biome-ignore lint/correctness/noPrecisionLoss: the point is an id no JS number holds, as Shopify's are.
            orders: { edges: [{ cursor: '0', node: { id: 5678901234567890123 } }], pageInfo: { hasNextPage: false } },
          },
        },
      }),
    );
    expect(shape.code).toBe('malformed_response');
    expect(shape.message).toMatch(/data\.orders\.edges\[0\]\.node\.id/);
    const notFound = await failure(canned({ status: 404, body: { errors: 'Not Found' } }));
    expect([notFound.code, notFound.transient]).toEqual(['http', false]);
  });
});
