/**
 * Ingest → queue → deliver over real sockets: the real handlers, DynamoDB
 * (dynalite) and SQS (fauxqs) behind the emulator, the emulated providers.
 */
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoStore } from '../../shared/store.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, PROVIDERS, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { QueuePoller } from '../../local/emulator/queue-poller.js';

let pipeline: Pipeline;
let poller: QueuePoller | undefined;

beforeAll(async () => {
  pipeline = await startPipeline();
});
afterAll(() => pipeline.close());
beforeEach(async () => {
  await poller?.stop();
  poller = undefined;
  pipeline.emulator.state.reset();
  for (const QueueUrl of [pipeline.resources.queueUrl, pipeline.resources.dlqUrl])
    await pipeline.sqs.send(new PurgeQueueCommand({ QueueUrl }));
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  pipeline.forms(
    httpApiEvent('form', 'default', JSON.stringify(body), { 'content-type': 'application/json', ...headers }),
    lambdaContext(),
  );
const creates = (provider: string) =>
  pipeline.emulator.state.requests.filter(
    (request) => request.provider === provider && request.method === 'POST' && request.status < 300,
  );
const contactsAt = (provider: string) =>
  pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider);

/** DynamoDB operations the functions made since the last reset, by name. */
const dynamoCalls = () =>
  Object.fromEntries(
    [...pipeline.emulator.state.awsCalls]
      .filter(([target]) => target.startsWith('DynamoDB_'))
      .map(([target, count]) => [target.split('.')[1], count]),
  );

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await pipeline.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes['ApproximateNumberOfMessages'] ?? 0) +
    Number(Attributes['ApproximateNumberOfMessagesNotVisible'] ?? 0)
  );
}

describe('Pipeline: form webhook → queue → four providers', () => {
  it('answers 200 accepted before any provider is called, then creates the contact at every provider', async () => {
    const answer = await post({ name: 'Ada Lovelace', email: 'ada@example.com', phone: '(415) 555-0132' });
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body as string)).toEqual({
      status: 'accepted',
      eventKey: expect.stringMatching(/^form:default:sha256:/) as string,
    });
    // The answer does not wait for providers: nothing has reached them yet.
    expect(pipeline.emulator.state.requests.filter((request) => request.provider !== 'secretsmanager')).toEqual([]);

    // Ingest cost: one conditional put (pending), one update (queued), one SendMessage, and the person index in
    // one BatchWriteItem (a put per email and phone).
    expect(dynamoCalls()).toEqual({ PutItem: 1, UpdateItem: 1, BatchWriteItem: 1 });

    pipeline.emulator.state.awsCalls.clear();
    poller = pipeline.startPoller();
    await eventually(() => {
      for (const provider of PROVIDERS) expect(contactsAt(provider), provider).toHaveLength(1);
    });
    await eventually(async () => expect(await queueDepth(pipeline.resources.queueUrl)).toBe(0));
    // Delivery cost: per provider account a token from its bucket, one conditional claim and one outcome write.
    expect(dynamoCalls()).toEqual({ UpdateItem: 3 * PROVIDERS.length });
  });

  it('answers a re-sent webhook 200 duplicate and queues nothing', async () => {
    const body = { email: 'dup@example.com', phone: '+14155550111' };
    expect((await post(body, { 'idempotency-key': 'dup-1' })).statusCode).toBe(200);
    const again = await post(body, { 'idempotency-key': 'dup-1' });
    expect([again.statusCode, JSON.parse(again.body as string)]).toEqual([
      200,
      { status: 'duplicate', eventKey: 'form:default:dup-1' },
    ]);
    expect(await queueDepth(pipeline.resources.queueUrl)).toBe(1);
    poller = pipeline.startPoller();
    await eventually(() => expect(creates('twochat')).toHaveLength(1));
  });

  it('answers 503, not duplicate, while an earlier attempt of the same event is still being queued', async () => {
    // Found by the soak: a duplicate answer here would lose the event if that earlier attempt then failed.
    const store = createDynamoStore({
      tableName: pipeline.resources.tableName,
      client: new DynamoDBClient({
        endpoint: pipeline.emulator.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 't', secretAccessKey: 't' },
      }),
    });
    expect(await store.beginIngest('form:default:pending-1')).toBe('new');
    const meanwhile = await post({ email: 'pending@example.com' }, { 'idempotency-key': 'pending-1' });
    expect([meanwhile.statusCode, JSON.parse(meanwhile.body as string)]).toEqual([
      503,
      { error: { code: 'not_accepted', message: 'the event could not be stored; retry the webhook later' } },
    ]);
    await store.completeIngest('form:default:pending-1');
    expect((await post({ email: 'pending@example.com' }, { 'idempotency-key': 'pending-1' })).statusCode).toBe(200);
  });

  it('calls each provider once when the same job is delivered twice, even concurrently', async () => {
    const answer = await post({ email: 'twice@example.com', phone: '+14155550122' }, { 'idempotency-key': 'twice-1' });
    expect(answer.statusCode).toBe(200);
    // Take the job off the queue and hand it to two deliver invocations at once, plus a third later.
    const { Messages = [] } = await pipeline.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.resources.queueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 30 }),
    );
    expect(Messages).toHaveLength(1);
    const record = {
      messageId: 'm1',
      receiptHandle: 'r',
      body: Messages[0]?.Body ?? '',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'x',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: pipeline.resources.queueArn,
      awsRegion: 'us-east-1',
    };
    const results = await Promise.all([
      pipeline.deliver({ Records: [record] }, lambdaContext()),
      pipeline.deliver({ Records: [{ ...record, messageId: 'm2' }] }, lambdaContext()),
    ]);
    // One of the two may have found the other mid-call and asked for a retry; the retry settles it.
    const retried = results.some((result) => result.batchItemFailures.length > 0);
    const third = await pipeline.deliver({ Records: [{ ...record, messageId: 'm3' }] }, lambdaContext());
    expect(third.batchItemFailures).toEqual([]);
    for (const provider of PROVIDERS) expect(contactsAt(provider), provider).toHaveLength(1);
    for (const provider of ['twochat', 'kirim', 'callbell'] as const)
      expect(creates(provider), provider).toHaveLength(1);
    expect(typeof retried).toBe('boolean');
    await pipeline.sqs.send(
      new DeleteMessageCommand({ QueueUrl: pipeline.resources.queueUrl, ReceiptHandle: Messages[0]?.ReceiptHandle }),
    );
  });

  it('parks a job in the dead-letter queue when a provider fails past the retries, with the others delivered, and redrives it once the provider is back', async () => {
    pipeline.emulator.state.faults.push({ provider: 'kirim', status: 500, times: 10_000 });
    expect(
      (await post({ email: 'outage@example.com', phone: '+14155550133' }, { 'idempotency-key': 'outage-1' }))
        .statusCode,
    ).toBe(200);
    poller = pipeline.startPoller();
    await eventually(async () => expect(await queueDepth(pipeline.resources.dlqUrl)).toBe(1), 60_000);
    expect(await queueDepth(pipeline.resources.queueUrl)).toBe(0);
    for (const provider of ['twochat', 'callbell', 'chatwoot']) expect(contactsAt(provider), provider).toHaveLength(1);
    expect(contactsAt('kirim')).toHaveLength(0);
    // The providers that succeeded were called once, however often the job came back.
    const postsTo = (provider: string) =>
      pipeline.emulator.state.requests.filter((request) => request.provider === provider && request.method === 'POST');
    for (const provider of ['twochat', 'callbell', 'chatwoot']) expect(postsTo(provider), provider).toHaveLength(1);

    // While Kirim still fails, redrive leaves the job where it is.
    const held = await pipeline.redrive({}, lambdaContext());
    expect(held).toMatchObject({ started: false, dlqMessages: 1 });
    expect(await queueDepth(pipeline.resources.dlqUrl)).toBe(1);

    // Kirim answers again: redrive moves the job back, and only Kirim is called, once.
    pipeline.emulator.state.faults = [];
    const moved = await pipeline.redrive({}, lambdaContext());
    expect(moved).toMatchObject({ started: true, dlqMessages: 1 });
    await eventually(() => expect(contactsAt('kirim')).toHaveLength(1));
    await eventually(async () =>
      expect((await queueDepth(pipeline.resources.queueUrl)) + (await queueDepth(pipeline.resources.dlqUrl))).toBe(0),
    );
    expect(creates('kirim')).toHaveLength(1);
    for (const provider of ['twochat', 'callbell', 'chatwoot']) expect(postsTo(provider), provider).toHaveLength(1);
  }, 90_000);

  it('rejects a malformed job to the dead-letter queue without touching its neighbours', async () => {
    await pipeline.sqs.send(
      new SendMessageCommand({ QueueUrl: pipeline.resources.queueUrl, MessageBody: '{"not":"a job"}' }),
    );
    expect((await post({ email: 'neighbour@example.com' }, { 'idempotency-key': 'neighbour-1' })).statusCode).toBe(200);
    poller = pipeline.startPoller();
    await eventually(() => expect(creates('twochat')).toHaveLength(1));
    await eventually(async () => expect(await queueDepth(pipeline.resources.dlqUrl)).toBe(1), 60_000);
    const { Messages = [] } = await pipeline.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.resources.dlqUrl }),
    );
    expect(Messages.map((message) => message.Body)).toEqual(['{"not":"a job"}']);
    expect(creates('twochat')).toHaveLength(1);
  }, 90_000);
});
