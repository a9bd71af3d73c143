/**
 * The pipeline of test/helpers/pipeline.ts for a plain `tsx` process: the
 * emulator with dynalite and fauxqs, the table and queues of
 * infra/resources.yml, and the real forms, shops, deliver and redrive
 * handlers with their environment pointed at loopback. The test helper sets
 * the environment through vitest (`vi.stubEnv`), which only works inside
 * vitest; here it is set on process.env before the handlers are imported,
 * which is when they read it. Each handler calls AWS as its own function and
 * gets what its role in infra/ grants (local/emulator/function-identity.ts).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SOURCES } from '../../shared/contact.js';
import type { RedriveReport } from '../../shared/operations/redrive.js';
import { asFunction, useFunctionCredentials } from '../../local/emulator/function-identity.js';
import { provisionLocal, type LocalResources } from '../../local/emulator/provision.js';
import { localFunctionEnv } from '../../local/emulator/local-env.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';
import type { SourceSecret } from './webhooks.js';

export const SOAK_STAGE = 'soak';
export const SOAK_SOURCE_SECRET: SourceSecret = { secret: 'soak-signing-secret', token: 'soak-token' };
const KEYS = { twochat: 'soak-2chat-key', kirim: 'soak-kirim-key', callbell: 'soak-callbell-key', chatwoot: 'soak-chatwoot-key' };

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** What the soak drives: the same shape as test/helpers/pipeline.ts's Pipeline, plus the secret webhooks are signed with. */
export interface SoakPipeline {
  emulator: Emulator;
  resources: LocalResources;
  sqs: SQSClient;
  forms: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  shops: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  deliver: Handler<SQSEvent, SQSBatchResponse>;
  redrive: Handler<unknown, RedriveReport>;
  sourceSecret: SourceSecret;
  close(): Promise<void>;
}

export async function startSoakPipeline(options: { visibilityTimeoutSeconds: number }): Promise<SoakPipeline> {
  const emulator = await startEmulator({
    aws: true,
    iam: { stage: SOAK_STAGE },
    secrets: {
      ...Object.fromEntries(SOURCES.map((source) => [`contact-relay/${SOAK_STAGE}/source/${source}`, SOAK_SOURCE_SECRET])),
      [`contact-relay/${SOAK_STAGE}/provider/twochat`]: { apiKey: KEYS.twochat },
      [`contact-relay/${SOAK_STAGE}/provider/kirim`]: { token: KEYS.kirim, phoneNumberId: '106540352242922' },
      [`contact-relay/${SOAK_STAGE}/provider/callbell`]: { token: KEYS.callbell },
      [`contact-relay/${SOAK_STAGE}/provider/chatwoot`]: { baseUrl: 'https://online.99digital.co.il', accountId: 1, inboxId: 1, accessToken: KEYS.chatwoot },
    },
    credentials: { twochat: [KEYS.twochat], kirim: [KEYS.kirim], callbell: [KEYS.callbell], chatwoot: [KEYS.chatwoot] },
  });
  const resources = await provisionLocal({ endpoint: emulator.url, stage: SOAK_STAGE, visibilityTimeoutSeconds: options.visibilityTimeoutSeconds });
  const env: Record<string, string> = {
    ...localFunctionEnv(SOAK_STAGE, emulator.url, resources),
    POWERTOOLS_LOG_LEVEL: process.env['DEBUG_LOGS'] ? 'DEBUG' : 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  Object.assign(process.env, env);
  const restoreEnv = useFunctionCredentials();
  // Imported only now: each handler reads its environment once, at cold start.
  const forms = asFunction('forms', (await import('../../functions/forms/handler.js')).handler);
  const shops = asFunction('shops', (await import('../../functions/shops/handler.js')).handler);
  const deliver = asFunction('deliver', (await import('../../functions/deliver/handler.js')).handler);
  const redrive = asFunction('redrive', (await import('../../functions/redrive/handler.js')).handler);
  const sqs = new SQSClient({ endpoint: emulator.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    emulator,
    resources,
    sqs,
    forms,
    shops,
    deliver,
    redrive,
    sourceSecret: SOAK_SOURCE_SECRET,
    async close() {
      sqs.destroy();
      restoreEnv();
      await emulator.close();
    },
  };
}
