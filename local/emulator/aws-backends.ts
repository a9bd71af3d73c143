/**
 * The AWS services behind the emulator's single endpoint, run in-process:
 * DynamoDB by dynalite, SQS by fauxqs. The emulator forwards each AWS call
 * by its `X-Amz-Target` to the right one, so functions set one endpoint for
 * every service. fauxqs has no message-move tasks (SQS's native redrive), so
 * the emulator performs StartMessageMoveTask itself with ordinary receives,
 * sends and deletes; that is the one place the local queue is not SQS. Its
 * character check and its error codes are corrected to SQS's (sqs-rules.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { isRecord, json, type EmulatedResponse } from './http-kit.js';
import { applySqsCharacterRule, sqsQueryErrorHeader } from './sqs-rules.js';

export interface AwsBackends {
  dynamodbUrl: string;
  sqsUrl: string;
  sqs: SQSClient;
  moveTasks: MoveTask[];
  close(): Promise<void>;
}

interface MoveTask {
  TaskHandle: string;
  SourceArn: string;
  DestinationArn: string;
  Status: 'COMPLETED' | 'FAILED';
  ApproximateNumberOfMessagesMoved: number;
  StartedTimestamp: number;
  FailureReason?: string;
}

export async function startAwsBackends(): Promise<AwsBackends> {
  // Imported here: fauxqs needs Node 22 (node:sqlite), and only the stack and pipeline tests need it.
  const [{ default: dynalite }, { startFauxqs }] = await Promise.all([import('dynalite'), import('fauxqs')]);
  // fauxqs refuses every emoji, which SQS accepts: see sqs-rules.ts.
  await applySqsCharacterRule();
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const sqs = new SQSClient({
    endpoint: fauxqs.address,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    dynamodbUrl: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    sqsUrl: fauxqs.address,
    sqs,
    moveTasks: [],
    async close() {
      sqs.destroy();
      await Promise.all([new Promise((resolve) => dynamo.close(resolve)), fauxqs.stop()]);
    },
  };
}

/**
 * Pass one AWS call through to a backend unchanged (signature and all) and
 * relay its answer; an SQS error's `x-amzn-query-error` is given SQS's code.
 */
export function forward(
  target: string,
  request: http.IncomingMessage,
  body: string,
): Promise<EmulatedResponse & { raw: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(target);
    const headers = { ...request.headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) };
    const outgoing = http.request(url, { method: request.method, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const responseHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (value !== undefined && name !== 'content-length' && name !== 'connection' && name !== 'transfer-encoding')
            responseHeaders[name] = String(value);
        }
        const queryError = responseHeaders['x-amzn-query-error'];
        if (queryError !== undefined && String(request.headers['x-amz-target']).startsWith('AmazonSQS.')) {
          responseHeaders['x-amzn-query-error'] = sqsQueryErrorHeader(queryError);
        }
        resolve({ status: incoming.statusCode ?? 500, headers: responseHeaders, raw });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const queueName = (arn: string) => arn.split(':').at(-1) ?? arn;

/** SQS `StartMessageMoveTask`, done at once: every message of the source queue goes to the destination. */
export async function startMessageMoveTask(backends: AwsBackends, body: unknown): Promise<EmulatedResponse> {
  if (!isRecord(body) || typeof body['SourceArn'] !== 'string')
    return json(400, { __type: 'com.amazonaws.sqs#InvalidParameterValue', message: 'SourceArn is required' });
  const sourceArn = body['SourceArn'];
  const destinationArn = typeof body['DestinationArn'] === 'string' ? body['DestinationArn'] : undefined;
  if (destinationArn === undefined) {
    return json(400, {
      __type: 'com.amazonaws.sqs#InvalidParameterValue',
      message: 'the emulator needs DestinationArn (it cannot infer the original source queue)',
    });
  }
  const task: MoveTask = {
    TaskHandle: `task-${backends.moveTasks.length + 1}`,
    SourceArn: sourceArn,
    DestinationArn: destinationArn,
    Status: 'COMPLETED',
    ApproximateNumberOfMessagesMoved: 0,
    StartedTimestamp: Date.now(),
  };
  try {
    const source = (await backends.sqs.send(new GetQueueUrlCommand({ QueueName: queueName(sourceArn) }))).QueueUrl;
    const destination = (await backends.sqs.send(new GetQueueUrlCommand({ QueueName: queueName(destinationArn) })))
      .QueueUrl;
    for (;;) {
      const { Messages = [] } = await backends.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: source,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 30,
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages.length === 0) break;
      await backends.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: destination,
          Entries: Messages.map((message, index) => ({ Id: String(index), MessageBody: message.Body ?? '' })),
        }),
      );
      await backends.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: source,
          Entries: Messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        }),
      );
      task.ApproximateNumberOfMessagesMoved += Messages.length;
    }
  } catch (error) {
    task.Status = 'FAILED';
    task.FailureReason = (error as Error).message;
  }
  backends.moveTasks.push(task);
  return json(200, { TaskHandle: task.TaskHandle }, { 'content-type': 'application/x-amz-json-1.0' });
}

export function listMessageMoveTasks(backends: AwsBackends, body: unknown): EmulatedResponse {
  const sourceArn = isRecord(body) ? body['SourceArn'] : undefined;
  const results = backends.moveTasks.filter((task) => task.SourceArn === sourceArn).reverse();
  return json(200, { Results: results }, { 'content-type': 'application/x-amz-json-1.0' });
}
