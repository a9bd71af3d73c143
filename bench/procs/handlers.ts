/**
 * The whole functions, as bundled for AWS, in one warm container each: the
 * `shops` and `forms` handlers take signed Shopify orders and Typeform
 * responses (API Gateway events), their table and queue calls answered by the
 * emulator's local DynamoDB and SQS; the `deliver` handler then takes the
 * queued jobs as SQS batches (one job per invocation, then full batches), its
 * outcome records in the same table and its provider calls at the emulators.
 * Reports per-invocation durations and CPU time, and the GetSecretValue calls
 * each function made (counted at the emulator).
 *
 * The floor of an ingest: the same signed bodies through HMAC-SHA256 +
 * JSON.parse and the same three AWS calls made with the SDK directly (a
 * conditional PutItem, a SendMessage — to the dead-letter queue, so the
 * delivery queue holds only real jobs — and an UpdateItem), nothing of ours.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { pathToFileURL } from 'node:url';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import type { LocalResources } from '../../local/emulator/provision.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { reportResult } from '../lib/children.js';
import { shopifyHeaders, SOURCE_SECRETS, typeformHeaders, usPhone } from '../lib/fixtures.js';
import { summarize } from '../lib/stats.js';

interface Input {
  bundles: { shops: string; forms: string; deliver: string };
  shopifyBody: string;
  typeformBody: string;
  /** Invocations per ingest source. */
  ingestPerSource: number;
  /** Deliver invocations with one job each; the rest of the jobs go in full batches. */
  deliverSingles: number;
  batchSize: number;
  providers: Record<string, string>;
  aws: string;
  resources: LocalResources;
}

const input = JSON.parse(readFileSync(process.env['BENCH_INPUT'] as string, 'utf8')) as Input;

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

async function secretCalls(): Promise<Record<string, number>> {
  const response = await fetch(`${input.aws}/_emulator/requests?provider=secretsmanager`);
  const requests = (await response.json()) as Array<{ body?: { SecretId?: string } }>;
  const counts: Record<string, number> = {};
  for (const request of requests)
    counts[request.body?.SecretId ?? '?'] = (counts[request.body?.SecretId ?? '?'] ?? 0) + 1;
  return counts;
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([name, count]) => [name, count - (before[name] ?? 0)])
      .filter(([, count]) => (count as number) > 0),
  );

interface Invocations {
  invocations: number;
  ms: ReturnType<typeof summarize>;
  cpuMsPerInvocation: number;
  /** Answers that were not what a healthy run gives. */
  unexpected: number;
  secretCalls: Record<string, number>;
  coldImportMs: number;
}

async function importHandler<T>(file: string): Promise<{ handler: T; ms: number }> {
  const started = performance.now();
  const mod = (await import(pathToFileURL(file).href)) as { handler: T };
  return { handler: mod.handler, ms: performance.now() - started };
}

async function invokeAll<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  events: E[],
  context: Context,
  ok: (result: R) => boolean,
  coldImportMs: number,
): Promise<Invocations> {
  const before = await secretCalls();
  const times: number[] = [];
  let unexpected = 0;
  const cpu = process.cpuUsage();
  for (const event of events) {
    const started = performance.now();
    const result = await handler(event, context);
    times.push(performance.now() - started);
    if (!ok(result)) unexpected++;
  }
  const used = process.cpuUsage(cpu);
  return {
    invocations: events.length,
    ms: summarize(times),
    cpuMsPerInvocation: (used.user + used.system) / 1000 / events.length,
    unexpected,
    secretCalls: diff(await secretCalls(), before),
    coldImportMs,
  };
}

// Shopify orders: a different order event and a different billing phone each, signed.
const shopifyEvents = Array.from({ length: input.ingestPerSource }, (_, i) => {
  const body = input.shopifyBody.replace('(415) 555-0132', usPhone(i).national);
  return httpApiEvent('shopify', 'default', body, shopifyHeaders(body, `bench-order-event-${i}`));
});
// Typeform responses: a different event id and phone each.
const typeformEvents = Array.from({ length: input.ingestPerSource }, (_, i) => {
  const body = input.typeformBody
    .replace('01HQ3V7Y8K2M4N6P8R0T2V4X6Z', `bench-typeform-${i}`)
    .replace('+14155550132', usPhone(input.ingestPerSource + i).e164);
  return httpApiEvent('typeform', 'default', body, typeformHeaders(body));
});

const accepted = (result: APIGatewayProxyStructuredResultV2) =>
  result.statusCode === 200 && (JSON.parse(String(result.body)) as { status?: unknown }).status === 'accepted';

// The floor: SDK clients built first (as a function would at init), then the same events.
const floorDynamo = new DynamoDBClient({});
const floorSqs = new SQSClient({});
const floorHandler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const raw = Buffer.from(event.body ?? '', 'utf8');
  createHmac('sha256', SOURCE_SECRETS.shopify).update(raw).digest();
  const order = JSON.parse(raw.toString('utf8')) as { admin_graphql_api_id: string };
  const pk = { S: `floor#${event.headers?.['x-shopify-event-id'] ?? ''}` };
  await floorDynamo.send(
    new PutItemCommand({
      TableName: input.resources.tableName,
      Item: { pk, sk: { S: 'ingest' }, state: { S: 'pending' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  await floorSqs.send(
    new SendMessageCommand({
      QueueUrl: input.resources.dlqUrl,
      MessageBody: JSON.stringify({ v: 1, order: order.admin_graphql_api_id }),
    }),
  );
  await floorDynamo.send(
    new UpdateItemCommand({
      TableName: input.resources.tableName,
      Key: { pk, sk: { S: 'ingest' } },
      UpdateExpression: 'SET #s = :q',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':q': { S: 'queued' } },
    }),
  );
  return { statusCode: 200, body: '{"status":"accepted"}' };
};
const floorRun = await invokeAll(
  (event: APIGatewayProxyEventV2) => floorHandler(event),
  shopifyEvents,
  lambdaContext('floor'),
  accepted,
  0,
);
floorDynamo.destroy();
floorSqs.destroy();

const shops = await importHandler<HttpHandler>(input.bundles.shops);
const shopsRun = await invokeAll(
  shops.handler,
  shopifyEvents,
  lambdaContext('contact-relay-bench-shops'),
  accepted,
  shops.ms,
);
const forms = await importHandler<HttpHandler>(input.bundles.forms);
const formsRun = await invokeAll(
  forms.handler,
  typeformEvents,
  lambdaContext('contact-relay-bench-forms'),
  accepted,
  forms.ms,
);

// The jobs the two ingest runs queued, as Lambda's event source mapping hands them over.
const sqs = new SQSClient({
  endpoint: input.aws,
  region: 'us-east-1',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});
const messages: Message[] = [];
for (let empty = 0; empty < 3 && messages.length < input.ingestPerSource * 2; ) {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: input.resources.queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 600,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  if (Messages.length === 0) empty++;
  messages.push(...Messages);
}
sqs.destroy();

const toRecord = (message: Message): SQSEvent['Records'][number] => ({
  messageId: message.MessageId ?? '',
  receiptHandle: message.ReceiptHandle ?? '',
  body: message.Body ?? '',
  attributes: {
    ApproximateReceiveCount: message.Attributes?.['ApproximateReceiveCount'] ?? '1',
    SentTimestamp: message.Attributes?.['SentTimestamp'] ?? String(Date.now()),
    SenderId: 'bench',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: message.MD5OfBody ?? '',
  eventSource: 'aws:sqs',
  eventSourceARN: input.resources.queueArn,
  awsRegion: 'us-east-1',
});
const records = messages.map(toRecord);
const singles = records.slice(0, input.deliverSingles).map((record): SQSEvent => ({ Records: [record] }));
const batches: SQSEvent[] = [];
for (let i = input.deliverSingles; i < records.length; i += input.batchSize)
  batches.push({ Records: records.slice(i, i + input.batchSize) });

const deliver = await importHandler<SqsHandler>(input.bundles.deliver);
const delivered = (result: SQSBatchResponse) => result.batchItemFailures.length === 0;
const deliverContext = lambdaContext('contact-relay-bench-deliver');
const singleRun = await invokeAll(deliver.handler, singles, deliverContext, delivered, deliver.ms);
const batchRun = await invokeAll(deliver.handler, batches, deliverContext, delivered, deliver.ms);

reportResult({
  floor: floorRun,
  shops: shopsRun,
  forms: formsRun,
  deliverSingle: singleRun,
  deliverBatch: { ...batchRun, batchSize: input.batchSize },
  jobsQueued: messages.length,
  deliverSecretCalls: Object.fromEntries(
    [...new Set([...Object.keys(singleRun.secretCalls), ...Object.keys(batchRun.secretCalls)])].map((name) => [
      name,
      (singleRun.secretCalls[name] ?? 0) + (batchRun.secretCalls[name] ?? 0),
    ]),
  ),
  maxRssMb: process.resourceUsage().maxRSS / 1024,
});
