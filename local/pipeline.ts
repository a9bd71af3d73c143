/**
 * The whole pipeline in one process: the emulator with its AWS backends
 * (dynalite, fauxqs), the table and queues of infra/resources.yml, the real
 * handlers with their environment pointed at loopback, each calling AWS as
 * its own function and refused what its role in infra/ does not grant
 * (local/emulator/function-identity.ts), and a poller feeding the queue to
 * the deliver handler with deliver's role, as Lambda's event source mapping
 * does. The integration tests (test/helpers/pipeline.ts) and the soak
 * (scripts/soak.ts) drive it; they differ only in how the environment is set
 * (vitest stubs it, a plain process writes process.env) and in their secrets.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import type { ShopifyEventBridgeEvent } from '../shared/adapters/eventbridge.js';
import { SOURCES } from '../shared/contact.js';
import type { RouteReconcileReport } from '../shared/operations/reconcile.js';
import type { RedriveReport } from '../shared/operations/redrive.js';
import type { ShopifyEventOutcome } from '../shared/shopify/events.js';
import { asFunction, useFunctionCredentials } from './emulator/function-identity.js';
import { functionAccessKeyId, type FunctionRoles } from './emulator/iam.js';
import { localFunctionEnv } from './emulator/local-env.js';
import { provisionLocal, type LocalResources } from './emulator/provision.js';
import { startQueuePoller, type QueuePoller } from './emulator/queue-poller.js';
import { startEmulator, type Emulator } from './emulator/server.js';
import { lambdaContext } from './lambda.js';

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** The secret of every source's routes: `secret` signs HMAC sources, `token` is the token of token sources. */
export interface PipelineSourceSecret {
  secret: string;
  token: string;
}

export interface LocalPipeline {
  /** Every secret value the pipeline's secrets hold (for leak checks). */
  secretValues: string[];
  /** What every source's secret holds: webhooks are signed with it. */
  sourceSecret: PipelineSourceSecret;
  emulator: Emulator;
  resources: LocalResources;
  /** An SQS client with no function's role (it may do anything). */
  sqs: SQSClient;
  forms: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  shops: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  shopifyEvents: Handler<ShopifyEventBridgeEvent, ShopifyEventOutcome>;
  deliver: Handler<SQSEvent, SQSBatchResponse>;
  redrive: Handler<unknown, RedriveReport>;
  reconcile: Handler<unknown, RouteReconcileReport[]>;
  /**
   * A fresh instance of the deliver function's module, as a new execution environment would load it
   * (its own cold start: runtime, secrets cache, HTTP client, batch processor). `key` names the instance.
   */
  deliverInstance(key: string | number): Promise<Handler<SQSEvent, SQSBatchResponse>>;
  /** A poller handing the delivery queue to the deliver handler, with deliver's role; stopped on close. */
  startPoller(): QueuePoller;
  close(): Promise<void>;
}

export interface LocalPipelineOptions {
  stage: string;
  sourceSecret: PipelineSourceSecret;
  /** Each provider's key: its secret holds it and the emulated provider accepts it. */
  providerKeys: { twochat: string; kirim: string; callbell: string; chatwoot: string };
  /** Secrets besides the sources' and the providers', by their full name (they replace a source's of the same name). */
  moreSecrets?: Record<string, unknown>;
  visibilityTimeoutSeconds: number;
  /** The functions' log level; SILENT unless DEBUG_LOGS is set. */
  logLevel?: 'DEBUG' | 'INFO' | 'SILENT';
  /** The roles the functions' AWS calls are evaluated against; the project's own by default. */
  roles?: FunctionRoles;
  /**
   * Puts the functions' environment in place before their handlers are imported (each reads it once, at
   * cold start) and returns its undo. By default it is written to process.env and left there.
   */
  setEnv?: (env: Record<string, string>) => () => void;
}

function writeProcessEnv(env: Record<string, string>): () => void {
  Object.assign(process.env, env);
  return () => undefined;
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { stage, sourceSecret, providerKeys: keys } = options;
  const emulator = await startEmulator({
    aws: true,
    iam: { stage, ...(options.roles !== undefined ? { roles: options.roles } : {}) },
    secrets: {
      ...Object.fromEntries(SOURCES.map((source) => [`contact-relay/${stage}/source/${source}`, sourceSecret])),
      [`contact-relay/${stage}/provider/twochat`]: { apiKey: keys.twochat },
      [`contact-relay/${stage}/provider/kirim`]: { token: keys.kirim, phoneNumberId: '106540352242922' },
      [`contact-relay/${stage}/provider/callbell`]: { token: keys.callbell },
      [`contact-relay/${stage}/provider/chatwoot`]: {
        baseUrl: 'https://online.99digital.co.il',
        accountId: 1,
        inboxId: 1,
        accessToken: keys.chatwoot,
      },
      ...options.moreSecrets,
    },
    credentials: { twochat: [keys.twochat], kirim: [keys.kirim], callbell: [keys.callbell], chatwoot: [keys.chatwoot] },
  });
  const resources = await provisionLocal({
    endpoint: emulator.url,
    stage,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
  });
  const restoreEnv = (options.setEnv ?? writeProcessEnv)({
    ...localFunctionEnv(stage, emulator.url, resources),
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? (process.env['DEBUG_LOGS'] ? 'DEBUG' : 'SILENT'),
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const restoreCredentials = useFunctionCredentials();
  // Imported only now: each handler reads its environment once, at cold start.
  const forms = asFunction('forms', (await import('../functions/forms/handler.js')).handler);
  const shops = asFunction('shops', (await import('../functions/shops/handler.js')).handler);
  const shopifyEvents = asFunction('shopifyEvents', (await import('../functions/shopify-events/handler.js')).handler);
  const deliver = asFunction('deliver', (await import('../functions/deliver/handler.js')).handler);
  const redrive = asFunction('redrive', (await import('../functions/redrive/handler.js')).handler);
  const reconcile = asFunction('reconcile', (await import('../functions/reconcile/handler.js')).handler);
  const sqs = new SQSClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
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
      .filter(
        (value): value is string =>
          typeof value === 'string' && !value.startsWith('http') && !value.endsWith('.myshopify.com'),
      ),
    sourceSecret,
    emulator,
    resources,
    sqs,
    forms,
    shops,
    shopifyEvents,
    deliver,
    redrive,
    reconcile,
    async deliverInstance(key) {
      // The query string makes the module loader (Node's, and vitest's) evaluate the handler module again;
      // the environment it reads at cold start is the pipeline's, already set.
      const specifier = `../functions/deliver/handler.js?instance=${key}`;
      const module = (await import(/* @vite-ignore */ specifier)) as { handler: Handler<SQSEvent, SQSBatchResponse> };
      return asFunction('deliver', module.handler);
    },
    startPoller() {
      const poller = startQueuePoller({
        sqs: deliverSqs,
        queueUrl: resources.queueUrl,
        queueArn: resources.queueArn,
        invoke: (event) => deliver(event, lambdaContext(`contact-relay-${stage}-deliver`)),
      });
      pollers.push(poller);
      return poller;
    },
    async close() {
      await Promise.all(pollers.map((poller) => poller.stop()));
      sqs.destroy();
      deliverSqs.destroy();
      restoreCredentials();
      restoreEnv();
      await emulator.close();
    },
  };
}

/** Every value a secret holds, nested ones included (a Meta secret's page tokens). */
function leafValues(value: unknown): unknown[] {
  return typeof value === 'object' && value !== null ? Object.values(value).flatMap(leafValues) : [value];
}
