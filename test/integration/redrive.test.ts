/**
 * Redrive against the local queue over real sockets: fauxqs behind the
 * emulator's AWS endpoint (the emulator performs StartMessageMoveTask itself,
 * see local/emulator/aws-backends.ts), and the real provider health check
 * against the emulated providers. The last case runs the whole local
 * pipeline: a refused provider key parks the job, redrive brings it back.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testContact } from '../helpers/contacts.js';
import { lambdaContext } from '../../local/lambda.js';
import { eventually, KEYS, STAGE as PIPELINE_STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { findRoute, parseRoutesConfig, PROVIDERS, type ResolvedRoute } from '../../shared/config/routes.js';
import { encodeDeliveryJob, toDeliveryJob } from '../../shared/jobs.js';
import { createHttpClient, type HttpClient } from '../../shared/http.js';
import { checkProviderAccounts, type AccountHealth } from '../../shared/operations/healthcheck.js';
import { redriveDeadLetters } from '../../shared/operations/redrive.js';
import { SecretStore } from '../../shared/secrets.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';

const STAGE = 'redrive';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const routes = parseRoutesConfig({
  accounts: Object.fromEntries(PROVIDERS.map((provider) => [provider, { provider }])),
  sources: { form: { default: { deliverTo: [...PROVIDERS] } } },
});

let emulator: Emulator;
let sqs: SQSClient;
let secretsClient: SecretsManagerClient;
let http: HttpClient;
let queue: { queueUrl: string; queueArn: string; dlqUrl: string; dlqArn: string };

async function arnOf(queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return Attributes?.['QueueArn'] as string;
}

async function countIn(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.['ApproximateNumberOfMessages']);
}

async function receiveAll(queueUrl: string, expected: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let round = 0; round < 10 && bodies.length < expected; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    bodies.push(...Messages.map((message) => message.Body ?? ''));
  }
  return bodies;
}

function checkHealth(): () => Promise<AccountHealth[]> {
  const baseUrls = Object.fromEntries(PROVIDERS.map((provider) => [provider, `${emulator.url}/${provider}`]));
  return () =>
    checkProviderAccounts(routes, {
      stage: STAGE,
      secrets: new SecretStore({ client: secretsClient }),
      http,
      baseUrls,
    });
}

const jobs = Array.from({ length: 13 }, (_, index) => JSON.stringify({ job: index }));

beforeAll(async () => {
  emulator = await startEmulator({
    aws: true,
    secrets: {
      [`contact-relay/${STAGE}/provider/twochat`]: { apiKey: 'rd-2chat' },
      [`contact-relay/${STAGE}/provider/kirim`]: { token: 'rd-kirim', phoneNumberId: '106540352242922' },
      [`contact-relay/${STAGE}/provider/callbell`]: { token: 'rd-callbell' },
      [`contact-relay/${STAGE}/provider/chatwoot`]: {
        baseUrl: 'https://online.99digital.co.il',
        accountId: 1,
        inboxId: 1,
        accessToken: 'rd-chatwoot',
      },
    },
    credentials: { twochat: ['rd-2chat'], kirim: ['rd-kirim'], callbell: ['rd-callbell'], chatwoot: ['rd-chatwoot'] },
  });
  sqs = new SQSClient({ endpoint: emulator.url, region: 'us-east-1', credentials });
  secretsClient = new SecretsManagerClient({ endpoint: emulator.url, region: 'us-east-1', credentials });
  http = createHttpClient({ connectTimeoutMs: 1000, responseTimeoutMs: 1000 });

  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'redrive-test-delivery-dlq' })))
    .QueueUrl as string;
  const dlqArn = await arnOf(dlqUrl);
  const queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: 'redrive-test-delivery',
        Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
      }),
    )
  ).QueueUrl as string;
  queue = { queueUrl, queueArn: await arnOf(queueUrl), dlqUrl, dlqArn };
});
afterAll(async () => {
  http.close();
  sqs.destroy();
  secretsClient.destroy();
  await emulator.close();
});
beforeEach(async () => {
  emulator.state.reset();
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queue.queueUrl }));
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queue.dlqUrl }));
});

async function deadLetter(bodies: string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: body }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.dlqUrl, Entries: entries }));
  }
}

describe('Function: redriveDeadLetters', () => {
  it('reports an empty dead-letter queue without asking providers', async () => {
    const report = await redriveDeadLetters({ sqs, ...queue, checkHealth: checkHealth() });
    expect(report).toEqual({ dlqMessages: 0, started: false, reason: 'dead-letter queue is empty' });
    expect(emulator.state.requests).toHaveLength(0);
  });

  it('moves nothing while a provider account is unhealthy, and names it', async () => {
    await deadLetter(jobs);
    emulator.state.faults.push({ provider: 'kirim', status: 503, times: 10 });
    const report = await redriveDeadLetters({ sqs, ...queue, checkHealth: checkHealth() });
    expect(report).toMatchObject({
      dlqMessages: jobs.length,
      started: false,
      unhealthy: [{ account: 'kirim', provider: 'kirim', status: 'unreachable' }],
    });
    expect(!report.started && report.reason).toMatch(/kirim \(unreachable\).*providers answer again/);
    expect(emulator.aws?.moveTasks).toHaveLength(0);
    expect(await countIn(queue.dlqUrl)).toBe(jobs.length);
    expect(await countIn(queue.queueUrl)).toBe(0);
  });

  it('moves every dead-lettered job back to the delivery queue once providers are healthy', async () => {
    await deadLetter(jobs);
    const report = await redriveDeadLetters({ sqs, ...queue, checkHealth: checkHealth() });
    expect(report).toMatchObject({ dlqMessages: jobs.length, started: true, taskHandle: expect.any(String) });
    expect(emulator.aws?.moveTasks.at(-1)).toMatchObject({
      SourceArn: queue.dlqArn,
      DestinationArn: queue.queueArn,
      Status: 'COMPLETED',
    });
    expect((await receiveAll(queue.queueUrl, jobs.length)).sort()).toEqual([...jobs].sort());
    expect(await countIn(queue.dlqUrl)).toBe(0);

    // The next scheduled run finds nothing to do.
    expect(await redriveDeadLetters({ sqs, ...queue, checkHealth: checkHealth() })).toMatchObject({
      dlqMessages: 0,
      started: false,
      reason: 'dead-letter queue is empty',
    });
  });
});

describe('Pipeline: a provider key refused while contacts arrive', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline();
  });
  afterAll(() => pipeline.close());

  const KIRIM_SECRET = `contact-relay/${PIPELINE_STAGE}/provider/kirim`;
  const kirimSecret = (token: string) => JSON.stringify({ token, phoneNumberId: '106540352242922' });
  const depth = async (queueUrl: string) => {
    const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] as const;
    const attributes = new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...names] });
    const { Attributes = {} } = await pipeline.sqs.send(attributes);
    return names.reduce((sum, name) => sum + Number(Attributes[name] ?? 0), 0);
  };
  const contactsAt = (provider: string) =>
    pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider);
  const createsAt = (provider: string) =>
    pipeline.emulator.state.requests.filter(
      (request) => request.provider === provider && request.method === 'POST' && request.status < 300,
    );
  const bothQueues = async () => (await depth(pipeline.resources.queueUrl)) + (await depth(pipeline.resources.dlqUrl));

  it('parks the contact in the dead-letter queue; after the key is fixed redrive delivers it once', async () => {
    const { state } = pipeline.emulator;
    state.reset();
    // The secret holds a key Kirim.chat does not know (a typo): every call is refused with 401.
    state.secrets.set(KIRIM_SECRET, kirimSecret('itest-kirim-typo'));
    try {
      // The job as ingest queues it, for the form route of the deployed config (all four accounts).
      const route = findRoute(parseRoutesConfig(routesFile), 'form', 'default') as ResolvedRoute;
      const contact = testContact({ origin: { ...testContact().origin, eventKey: 'form:default:keyfix-1' } });
      const job = encodeDeliveryJob(toDeliveryJob(contact, route, contact.origin.eventKey, new Date()));
      await pipeline.sqs.send(new SendMessageCommand({ QueueUrl: pipeline.resources.queueUrl, MessageBody: job }));
      const poller = pipeline.startPoller();

      // Retried at each receive, then parked: the job rests in the dead-letter queue (its alarm's metric).
      await eventually(async () => expect(await depth(pipeline.resources.dlqUrl)).toBe(1), 60_000);
      expect(await depth(pipeline.resources.queueUrl)).toBe(0);
      const refused = state.requests.filter((request) => request.provider === 'kirim' && request.status === 401);
      expect(refused.length).toBeGreaterThan(1);
      expect(contactsAt('kirim')).toHaveLength(0);
      for (const provider of ['twochat', 'callbell', 'chatwoot']) {
        expect(contactsAt(provider), provider).toHaveLength(1);
      }

      // While the key is still wrong, redrive leaves the job where it is, naming the account.
      const held = await pipeline.redrive({}, lambdaContext());
      expect(held).toMatchObject({
        started: false,
        dlqMessages: 1,
        unhealthy: [{ account: 'kirim', status: 'unauthorized' }],
      });

      // The operator puts the right key in the secret; the next redrive moves the job back.
      state.secrets.set(KIRIM_SECRET, kirimSecret(KEYS.kirim));
      expect(await pipeline.redrive({}, lambdaContext())).toMatchObject({ started: true, dlqMessages: 1 });
      await eventually(() => expect(contactsAt('kirim')).toHaveLength(1));
      await eventually(async () => expect(await bothQueues()).toBe(0));
      await poller.stop();

      // Once at every provider: Kirim created after the fix, the others never called again.
      for (const provider of ['twochat', 'kirim', 'callbell', 'chatwoot']) {
        expect(contactsAt(provider), provider).toHaveLength(1);
        expect(createsAt(provider), provider).toHaveLength(1);
      }
    } finally {
      state.secrets.set(KIRIM_SECRET, kirimSecret(KEYS.kirim));
    }
  }, 90_000);
});
