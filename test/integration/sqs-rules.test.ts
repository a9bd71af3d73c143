/**
 * The local SQS refuses exactly what SQS refuses: the characters and the
 * size of SendMessage
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
 * sent with the SDK to the emulator's endpoint as the functions send them;
 * and webhooks whose text SQS would refuse, or that repeat a field 60,000
 * times, still become jobs the queue takes, through the local pipeline.
 */
import { readFileSync } from 'node:fs';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REJECTED_PHONES } from '../../shared/contact.js';
import { parseDeliveryJob } from '../../shared/jobs.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, PROVIDERS, SOURCE_SECRET, startPipeline, type Pipeline } from '../helpers/pipeline.js';

let pipeline: Pipeline;
let queueUrl: string;
beforeAll(async () => {
  pipeline = await startPipeline();
  const created = (await pipeline.sqs.send(new CreateQueueCommand({ QueueName: 'sqs-rules' }))).QueueUrl as string;
  // The SDK sends each call to its queue URL's host: keep it on the emulator (see provision.ts).
  queueUrl = `${pipeline.emulator.url}${new URL(created).pathname}`;
});
afterAll(() => pipeline.close());

const send = (body: string) => pipeline.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

async function receiveAll(): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const receive = new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 });
    const { Messages = [] } = await pipeline.sqs.send(receive);
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((message) => message.Body ?? ''));
  }
}

describe('Local SQS: SendMessage characters', () => {
  it('accepts an emoji (a surrogate pair in UTF-16) and hands it back unchanged', async () => {
    const bodies = ['{"name":"Ada 😀 Lovelace"}', '\u{10FFFF} and \u{10000}, the ends of the astral range'];
    for (const body of bodies) await send(body);
    expect(await receiveAll()).toEqual(bodies);
  });

  it('accepts tab, line feed, carriage return and the ends of the other ranges', async () => {
    await send('\t\n\r \uD7FF\uE000\uFFFD');
    expect(await receiveAll()).toEqual(['\t\n\r \uD7FF\uE000\uFFFD']);
  });

  for (const [what, body] of [
    ['U+FFFF', 'Ada\uFFFF'],
    ['U+FFFE', 'Ada\uFFFE'],
    ['a lone high surrogate', 'Ada\uD83D'],
    ['a lone low surrogate', '\uDE00Ada'],
    ['a control character other than tab, LF and CR', 'Ada\u0001'],
    ['NUL', 'Ada\u0000'],
  ] as const) {
    it(`refuses ${what} with InvalidMessageContents, as SQS does`, async () => {
      const error = await send(body).then(
        () => undefined,
        (caught: unknown) => caught as { name: string; $fault: string; $metadata: { httpStatusCode?: number } },
      );
      expect(error?.name).toBe('InvalidMessageContents');
      expect(error?.$fault).toBe('client');
      expect(error?.$metadata.httpStatusCode).toBe(400);
    });
  }

  it('SendMessageBatch: the entry with a refused character fails alone, the emoji entry is sent', async () => {
    const entries = [
      { Id: 'emoji', MessageBody: '🎉 party' },
      { Id: 'bad', MessageBody: 'x\uFFFF' },
    ];
    const result = await pipeline.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    expect(result.Successful?.map((entry) => entry.Id)).toEqual(['emoji']);
    const failed = expect.objectContaining({ Id: 'bad', Code: 'InvalidMessageContents', SenderFault: true });
    expect(result.Failed).toEqual([failed]);
    expect(await receiveAll()).toEqual(['🎉 party']);
  });
});

describe('Local SQS: SendMessage size', () => {
  // The queue has SQS's default MaximumMessageSize, 1 MiB (CreateQueue:
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
  const MAX = 1_048_576;

  it('accepts a body of exactly 1 MiB', async () => {
    await send('a'.repeat(MAX));
    expect((await receiveAll()).map((body) => body.length)).toEqual([MAX]);
  });

  // SQS's answer, as the SDK reads it: InvalidParameterValue, "Message must be shorter than 1048576 bytes".
  it('refuses a body one byte over 1 MiB with InvalidParameterValue', async () => {
    await expect(send('a'.repeat(MAX + 1))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining(`Message must be shorter than ${MAX} bytes`) as string,
      $metadata: { httpStatusCode: 400 },
    });
  });

  // Assumption: SQS measures the body in UTF-8 bytes, its wire encoding; no page says which encoding counts.
  it('counts UTF-8 bytes: 1 MiB − 3 ASCII characters and one emoji (4 bytes) is over', async () => {
    await expect(send(`${'a'.repeat(MAX - 3)}😀`)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await send(`${'a'.repeat(MAX - 4)}😀`);
    expect((await receiveAll()).map((body) => Buffer.byteLength(body))).toEqual([MAX]);
  });
});

async function postForm(source: 'form' | 'jotform', body: Buffer, contentType: string, query = '') {
  const event = {
    ...httpApiEvent(source, 'default', '', { 'content-type': contentType }),
    body: body.toString('base64'),
    isBase64Encoded: true,
    rawQueryString: query,
    queryStringParameters: Object.fromEntries(new URLSearchParams(query)),
  };
  const result = await pipeline.forms(event, lambdaContext());
  return { statusCode: result.statusCode, body: JSON.parse(result.body as string) as Record<string, unknown> };
}

const created = (provider: string) =>
  pipeline.emulator.state.requests.find((request) => request.provider === provider && request.method === 'POST')?.body;

/** Run the poller until every one of `providers` holds one contact. */
async function deliveredTo(providers: readonly string[]): Promise<void> {
  const poller = pipeline.startPoller();
  try {
    await eventually(() => {
      for (const provider of providers) {
        const contacts = pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider);
        expect(contacts, provider).toHaveLength(1);
      }
    });
  } finally {
    await poller.stop();
  }
}

const accepted = { statusCode: 200, body: { status: 'accepted' } };

describe('Webhooks whose jobs SQS would refuse, through the local pipeline', () => {
  beforeEach(() => pipeline.emulator.state.reset());

  /** Jotform's example submission, under a submission id of its own, with the first name's answer replaced. */
  function jotformWithFirstName(first: string, submissionID: string): { body: Buffer; contentType: string } {
    const fixture = readFileSync(new URL('../fixtures/jotform/submission.multipart', import.meta.url), 'utf8');
    const boundary = fixture.slice(2, fixture.indexOf('\r\n'));
    const body = fixture.replace('"first":"Ada"', `"first":"${first}"`).replaceAll('5945194041717462825', submissionID);
    return { body: Buffer.from(body), contentType: `multipart/form-data; boundary=${boundary}` };
  }

  for (const [what, first, name, submissionID] of [
    // Jotform HTML-escapes answer text; our parser decodes the escapes, so this one becomes U+FFFF.
    ['`&#65535;` (U+FFFF once decoded) in a name', 'Ada&#65535;', 'Ada Lovelace', '5945194041717460001'],
    ['an emoji in a name', 'Ada 😀', 'Ada 😀 Lovelace', '5945194041717460002'],
  ] as const) {
    it(`Jotform: ${what} is accepted and reaches every provider as ${name}`, async () => {
      const { body, contentType } = jotformWithFirstName(first, submissionID);
      expect(body.toString()).toContain(first);
      expect(await postForm('jotform', body, contentType, `token=${SOURCE_SECRET.token}`)).toMatchObject(accepted);
      await deliveredTo(PROVIDERS);
      expect(created('kirim')).toMatchObject({ name, email: 'ada@example.com' });
      expect(created('chatwoot')).toMatchObject({ name });
    });
  }

  // Under the form's 1,000-value cap (60,000 are refused 413 too_many_fields before any mapping), far over
  // what a contact keeps.
  const manyPhones = Array.from({ length: 900 }, () => '1');

  it('900 invalid phones beside an email: accepted, the job keeps 10, the contact is delivered', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', phone: manyPhones }));
    expect(body.length).toBeLessThan(256 * 1024);
    expect(await postForm('form', body, 'application/json')).toMatchObject(accepted);

    // Read the job without taking it (visible again at once), then let the poller deliver it.
    const { queueUrl: deliveryQueue } = pipeline.resources;
    const receive = new ReceiveMessageCommand({ QueueUrl: deliveryQueue, VisibilityTimeout: 0, WaitTimeSeconds: 1 });
    const message = (await pipeline.sqs.send(receive)).Messages?.[0]?.Body ?? '';
    expect(Buffer.byteLength(message)).toBeLessThan(4096);
    const job = parseDeliveryJob(message);
    expect('contact' in job ? job.contact.rejectedPhones : []).toHaveLength(MAX_REJECTED_PHONES);

    // The providers that take an email get the person; Kirim and Callbell need a phone and skip.
    await deliveredTo(['twochat', 'chatwoot']);
    expect(created('chatwoot')).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com' });
    expect(created('kirim')).toBeUndefined();
  });

  it('900 invalid phones and nothing else: skipped, the reason naming 10 and counting the rest', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'Ada Lovelace', phone: manyPhones }));
    const answer = await postForm('form', body, 'application/json');
    const reason = expect.stringContaining('; and 890 more') as string;
    expect(answer).toMatchObject({ statusCode: 200, body: { status: 'skipped', reason } });
    expect(String(answer.body['reason']).length).toBeLessThan(1000);
  });
});
