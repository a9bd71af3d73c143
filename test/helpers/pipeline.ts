/**
 * The whole pipeline in one test process: the emulator with its AWS
 * backends (dynalite, fauxqs), the table and queues of infra/resources.yml,
 * the real handlers with their environment pointed at loopback, each calling
 * AWS as its own function and refused what its role in infra/ does not grant,
 * and a poller feeding the queue to the deliver handler with deliver's role,
 * as Lambda's event source mapping does.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { vi } from 'vitest';
import { SOURCES } from '../../shared/contact.js';
import { asFunction, useFunctionCredentials } from '../../local/emulator/function-identity.js';
import { functionAccessKeyId, type FunctionRoles } from '../../local/emulator/iam.js';
import { localFunctionEnv } from '../../local/emulator/local-env.js';
import { provisionLocal, type LocalResources } from '../../local/emulator/provision.js';
import { startQueuePoller, type QueuePoller } from '../../local/emulator/queue-poller.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';
import type { RedriveReport } from '../../shared/operations/redrive.js';
import type { ShopifyEventBridgeEvent } from '../../shared/adapters/eventbridge.js';
import type { ShopifyEventOutcome } from '../../shared/shopify/events.js';
import type { RouteReconcileReport } from '../../shared/operations/reconcile.js';
import { lambdaContext } from '../../local/lambda.js';

export const STAGE = 'itest';
export const SHOP = 'itest-shop.myshopify.com';
/** Every source's secret in the pipeline: signs HMAC sources, and is the token of token sources. */
export const SOURCE_SECRET = { secret: 'itest-signing-secret', token: 'itest-token' };
/** Meta Lead Ads routes' secret: the app secret signs webhooks, the page token reads the page's leads from Graph. */
export const META_PAGE_ID = '100000000000001';
export const META_SECRET = {
  appSecret: SOURCE_SECRET.secret,
  verifyToken: 'itest-verify-token',
  pageAccessTokens: { [META_PAGE_ID]: 'itest-page-token' },
};
export const PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;
export const KEYS = { twochat: 'itest-2chat-key', kirim: 'itest-kirim-key', callbell: 'itest-callbell-key', chatwoot: 'itest-chatwoot-key' };

export interface Pipeline {
  /** Every secret value the pipeline's secrets hold (for leak checks). */
  secretValues: string[];
  emulator: Emulator;
  resources: LocalResources;
  sqs: SQSClient;
  forms: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  shops: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  shopifyEvents: (event: ShopifyEventBridgeEvent, context: Context) => Promise<ShopifyEventOutcome>;
  deliver: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  redrive: (event: unknown, context: Context) => Promise<RedriveReport>;
  reconcile: (event: unknown, context: Context) => Promise<RouteReconcileReport[]>;
  startPoller(): QueuePoller;
  close(): Promise<void>;
}

export interface PipelineOptions {
  visibilityTimeoutSeconds?: number;
  logLevel?: 'DEBUG' | 'INFO' | 'SILENT';
  /** The roles the functions' AWS calls are evaluated against; the project's own by default. */
  roles?: FunctionRoles;
  /** The route config the functions load instead of config/routes.json (validated as at cold start). */
  routes?: unknown;
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const emulator = await startEmulator({
    aws: true,
    iam: { stage: STAGE, ...(options.roles !== undefined ? { roles: options.roles } : {}) },
    secrets: {
      [`contact-relay/${STAGE}/provider/twochat`]: { apiKey: KEYS.twochat },
      [`contact-relay/${STAGE}/shopify-admin/default`]: { shopDomain: SHOP, accessToken: 'itest-shopify-token' },
      ...Object.fromEntries(SOURCES.map((source) => [`contact-relay/${STAGE}/source/${source}`, SOURCE_SECRET])),
      [`contact-relay/${STAGE}/source/meta-leads`]: META_SECRET,
      [`contact-relay/${STAGE}/provider/kirim`]: { token: KEYS.kirim, phoneNumberId: '106540352242922' },
      [`contact-relay/${STAGE}/provider/callbell`]: { token: KEYS.callbell },
      [`contact-relay/${STAGE}/provider/chatwoot`]: { baseUrl: 'https://online.99digital.co.il', accountId: 1, inboxId: 1, accessToken: KEYS.chatwoot },
    },
    credentials: { twochat: [KEYS.twochat], kirim: [KEYS.kirim], callbell: [KEYS.callbell], chatwoot: [KEYS.chatwoot] },
  });
  const resources = await provisionLocal({ endpoint: emulator.url, stage: STAGE, visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 1 });
  const env: Record<string, string> = {
    ...localFunctionEnv(STAGE, emulator.url, resources),
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? (process.env['DEBUG_LOGS'] ? 'DEBUG' : 'SILENT'),
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const restoreEnv = useFunctionCredentials();
  vi.resetModules();
  if (options.routes !== undefined) vi.doMock('../../config/routes.json', () => ({ default: options.routes }));
  const forms = asFunction('forms', (await import('../../functions/forms/handler.js')).handler);
  const shops = asFunction('shops', (await import('../../functions/shops/handler.js')).handler);
  const { handler: shopifyEventsHandler } = await import('../../functions/shopify-events/handler.js');
  const shopifyEvents = asFunction('shopifyEvents', shopifyEventsHandler);
  const deliver = asFunction('deliver', (await import('../../functions/deliver/handler.js')).handler);
  const redrive = asFunction('redrive', (await import('../../functions/redrive/handler.js')).handler);
  const reconcile = asFunction('reconcile', (await import('../../functions/reconcile/handler.js')).handler);
  const sqs = new SQSClient({ endpoint: emulator.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  // The event source mapping receives and deletes with the function's role.
  const deliverSqs = new SQSClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: functionAccessKeyId('deliver'), secretAccessKey: 'local' },
  });
  const pollers: QueuePoller[] = [];

  return {
    secretValues: [...emulator.state.secrets.values()]
      .flatMap((text) => leafValues(JSON.parse(text)))
      .filter((value): value is string => typeof value === 'string' && !value.startsWith('http') && !value.endsWith('.myshopify.com')),
    emulator,
    resources,
    sqs,
    forms,
    shops,
    shopifyEvents,
    deliver,
    redrive,
    reconcile,
    startPoller() {
      const poller = startQueuePoller({
        sqs: deliverSqs,
        queueUrl: resources.queueUrl,
        queueArn: resources.queueArn,
        invoke: (event) => deliver(event, lambdaContext('contact-relay-itest-deliver')),
      });
      pollers.push(poller);
      return poller;
    },
    async close() {
      await Promise.all(pollers.map((poller) => poller.stop()));
      sqs.destroy();
      deliverSqs.destroy();
      restoreEnv();
      vi.unstubAllEnvs();
      if (options.routes !== undefined) vi.doUnmock('../../config/routes.json');
      await emulator.close();
    },
  };
}

/** Every value a secret holds, nested ones included (a Meta secret's page tokens). */
function leafValues(value: unknown): unknown[] {
  return typeof value === 'object' && value !== null ? Object.values(value).flatMap(leafValues) : [value];
}

/** Poll until `check` passes or the time is up (the queue is asynchronous). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
