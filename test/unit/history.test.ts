/**
 * The history read model on dynalite, over items written as the events table holds them (ingest record
 * with the recent index's keys, outcome records with their history, person index items), and the text
 * and JSON the CLI prints from it.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timelineJson, timelineText, countsText } from '../../cli/timeline-format.js';
import { TraceDocumentSchema } from '../../cli/trace-schema.js';
import {
  buildTimeline,
  countOutcomes,
  createHistoryReader,
  eventStatuses,
  recentPartitions,
  type HistoryReader,
} from '../../shared/history.js';
import { emailHash, phoneHash } from '../../shared/person-key.js';
import { localCredentials as credentials, startDynalite } from '../helpers/dynamo.js';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let client: DynamoDBClient;
let reader: HistoryReader;
const tableName = 'history-test-events';

const T0 = Date.UTC(2025, 0, 2, 23, 59, 0, 0);
const pad = (ms: number) => String(ms).padStart(13, '0');
const day = (ms: number) => `events#${new Date(ms).toISOString().slice(0, 10)}`;

function ingest(eventKey: string, receivedAt: number, more: Record<string, unknown> = {}) {
  return {
    pk: `event#${eventKey}`,
    sk: 'ingest',
    state: 'queued',
    at: receivedAt,
    source: 'shopify',
    route: 'default',
    receivedAt,
    answer: 'accepted',
    queuedAt: receivedAt + 20,
    gsi1pk: day(receivedAt),
    gsi1sk: `${pad(receivedAt)}#${eventKey}`,
    expiresAt: Math.floor(receivedAt / 1000) + 30 * 86400,
    ...more,
  };
}

function outcome(eventKey: string, account: string, provider: string, history: Record<string, unknown>[], more = {}) {
  const last = history.at(-1) as { status: string };
  return {
    pk: `event#${eventKey}`,
    sk: `outcome#${account}`,
    status: last.status,
    provider,
    attempts: history.length,
    history,
    ...more,
  };
}

const KEY = 'k'.repeat(40);
const EVENT = 'shopify:default:1001';

beforeAll(async () => {
  dynamo = await startDynalite();
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
  // The table with the recent index, as the write side declares it in infra/resources.yml.
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk'].map((name) => ({
        AttributeName: name,
        AttributeType: 'S',
      })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'recent',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  while ((await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE')
    await new Promise((resolve) => setTimeout(resolve, 5));
  const documents = DynamoDBDocumentClient.from(client);
  const items = [
    ingest(EVENT, T0, { duplicates: 2, lastDuplicateAt: T0 + 5_000, deadLetters: [T0 + 60_000] }),
    outcome(EVENT, 'kirim', 'kirim', [
      { at: T0 + 1_000, status: 'created', providerContactId: 'k-42', receiveCount: 1 },
    ]),
    outcome(EVENT, 'callbell', 'callbell', [{ at: T0 + 1_100, status: 'skipped', reason: 'no_phone' }]),
    outcome(EVENT, 'twochat', 'twochat', [
      { at: T0 + 1_200, status: 'failed', httpStatus: 400, code: 'invalid_number', message: 'bad number' },
    ]),
    outcome(EVENT, 'chatwoot', 'chatwoot', [
      { at: T0 + 1_300, status: 'transient', httpStatus: 503, message: 'down for ada@example.com', receiveCount: 5 },
      { at: T0 + 120_000, status: 'exists', providerContactId: '7', receiveCount: 1 },
    ]),
    // Parked: dead-lettered after its last attempt.
    ingest('form:default:parked', T0 + 30_000, { source: 'form', deadLetters: [T0 + 90_000] }),
    outcome(
      'form:default:parked',
      'kirim',
      'kirim',
      [{ at: T0 + 31_000, status: 'transient', httpStatus: 502, message: 'bad gateway' }],
      { nextTryAt: T0 + 400_000 },
    ),
    // The next UTC day.
    ingest('shopify:default:1002', T0 + 120_000),
    outcome('shopify:default:1002', 'kirim', 'kirim', [
      { at: T0 + 121_000, status: 'created', providerContactId: 'k-43' },
    ]),
    // An alias has no index keys.
    { pk: 'event#shopify:alias', sk: 'ingest', state: 'queued', alias: true, at: T0 },
    // The person index.
    ...[emailHash(KEY, 'ada@example.com'), phoneHash(KEY, '+14155550132')].flatMap((hash) => [
      {
        pk: `person#${hash}`,
        sk: `${pad(T0)}#${EVENT}`,
        eventKey: EVENT,
        source: 'shopify',
        route: 'default',
        receivedAt: T0,
      },
      {
        pk: `person#${hash}`,
        sk: `${pad(T0 + 120_000)}#shopify:default:1002`,
        eventKey: 'shopify:default:1002',
        source: 'shopify',
        route: 'default',
        receivedAt: T0 + 120_000,
      },
    ]),
  ];
  await documents.send(
    new BatchWriteCommand({ RequestItems: { [tableName]: items.map((Item) => ({ PutRequest: { Item } })) } }),
  );
  reader = createHistoryReader({ client, tableName });
});

afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

describe('an event timeline', () => {
  it('puts received, queued, duplicates, every account attempt, dead-lettered and the inferred redrive in time order', async () => {
    const timeline = await reader.event(EVENT);
    expect(
      timeline?.entries.map((entry) => [entry.kind, entry.at - T0, 'account' in entry ? entry.account : '']),
    ).toEqual([
      ['received', 0, ''],
      ['queued', 20, ''],
      ['attempt', 1_000, 'kirim'],
      ['attempt', 1_100, 'callbell'],
      ['attempt', 1_200, 'twochat'],
      ['attempt', 1_300, 'chatwoot'],
      ['duplicates', 5_000, ''],
      ['dead-lettered', 60_000, ''],
      ['redriven', 120_000, ''],
      ['attempt', 120_000, 'chatwoot'],
    ]);
    expect(timeline?.parked).toBe(false);
  });

  it("gives each account's state now with its outcome details: contact id, skip reason, provider code and message", async () => {
    const timeline = await reader.event(EVENT);
    const accounts = Object.fromEntries((timeline?.accounts ?? []).map((account) => [account.account, account]));
    expect(accounts['kirim']).toMatchObject({ status: 'created', attempts: 1, last: { providerContactId: 'k-42' } });
    expect(accounts['callbell']).toMatchObject({ status: 'skipped', last: { reason: 'no_phone' } });
    expect(accounts['twochat']).toMatchObject({
      status: 'failed',
      last: { httpStatus: 400, code: 'invalid_number', message: 'bad number' },
    });
    expect(accounts['chatwoot']).toMatchObject({ status: 'exists', attempts: 2, last: { providerContactId: '7' } });
  });

  it('a job dead-lettered with no attempt since is parked; a transient outcome carries its next try', async () => {
    const timeline = await reader.event('form:default:parked');
    expect(timeline?.parked).toBe(true);
    expect(timeline?.entries.map((entry) => entry.kind)).toEqual(['received', 'queued', 'attempt', 'dead-lettered']);
    expect(timeline?.accounts[0]?.nextTryAt).toBe(T0 + 400_000);
    expect(eventStatuses(timeline!)).toEqual(new Set(['transient', 'dead-lettered']));
  });

  it('an event the table does not hold is undefined', async () => {
    expect(await reader.event('shopify:default:nope')).toBeUndefined();
  });

  it('a second dead-letter with no attempt after it leaves the job parked, the first one redriven', () => {
    const timeline = buildTimeline({
      eventKey: 'e',
      ingest: { receivedAt: 0, deadLetters: [300, 100] },
      outcomes: [
        {
          account: 'a',
          status: 'transient',
          history: [
            { at: 50, status: 'transient' },
            { at: 200, status: 'transient' },
          ],
        },
      ],
    });
    expect(timeline.entries.map((entry) => `${entry.kind}@${entry.at}`)).toEqual([
      'received@0',
      'attempt@50',
      'dead-lettered@100',
      'redriven@200',
      'attempt@200',
      'dead-lettered@300',
    ]);
    expect(timeline.parked).toBe(true);
  });
});

describe('a person', () => {
  it("finds the person's events, newest first, by the hash of the email whatever its case, and of the phone", async () => {
    const byEmail = await reader.personEvents(emailHash(KEY, '  Ada@Example.COM '));
    expect(byEmail.map((event) => event.eventKey)).toEqual(['shopify:default:1002', EVENT]);
    expect(await reader.personEvents(phoneHash(KEY, '+14155550132'))).toEqual(byEmail);
    expect(await reader.personEvents(emailHash('another key, also long enough!!!', 'ada@example.com'))).toEqual([]);
  });
});

describe('recent events', () => {
  it('reads every UTC day of the window from the recent index, newest first, and nothing before the start', async () => {
    expect(recentPartitions(T0, T0 + 120_000)).toEqual(['events#2025-01-03', 'events#2025-01-02']);
    const all = await reader.recentEvents({ since: T0 - 60_000, until: T0 + 600_000 });
    expect(all.map((event) => event.eventKey)).toEqual(['shopify:default:1002', 'form:default:parked', EVENT]);
    expect(all[1]).toEqual({
      eventKey: 'form:default:parked',
      source: 'form',
      route: 'default',
      receivedAt: T0 + 30_000,
    });
    const later = await reader.recentEvents({ since: T0 + 10_000, until: T0 + 600_000 });
    expect(later.map((event) => event.eventKey)).toEqual(['shopify:default:1002', 'form:default:parked']);
    expect(await reader.recentEvents({ since: T0 - 60_000, until: T0 + 600_000, limit: 1 })).toHaveLength(1);
  });

  it('counts accounts per outcome and provider, and the events dead-lettered', async () => {
    const timelines = await Promise.all(
      [EVENT, 'form:default:parked', 'shopify:default:1002'].map(async (key) => (await reader.event(key))!),
    );
    const counts = countOutcomes(timelines);
    expect(counts).toEqual({
      events: 3,
      deadLettered: 2,
      byStatus: {
        created: { kirim: 2 },
        skipped: { callbell: 1 },
        failed: { twochat: 1 },
        exists: { chatwoot: 1 },
        transient: { kirim: 1 },
      },
    });
    expect(countsText(counts).split('\n')).toEqual([
      '3 events, 2 dead-lettered',
      'Accounts by outcome and provider:',
      '  OUTCOME    callbell  chatwoot  kirim  twochat  TOTAL',
      '  created    0         0         2      0        2',
      '  exists     0         1         0      0        1',
      '  failed     0         0         0      1        1',
      '  skipped    1         0         0      0        1',
      '  transient  0         0         1      0        1',
    ]);
  });
});

describe('as trace prints it', () => {
  it('text: one line per entry with its time, then each account now; an email in a provider message is masked', async () => {
    const text = timelineText((await reader.event(EVENT))!);
    expect(text.split('\n')).toEqual([
      'Event shopify:default:1001 (shopify/default)',
      '  2025-01-02T23:59:00.000Z  received       shopify/default, answered accepted',
      '  2025-01-02T23:59:00.020Z  queued         on the delivery queue',
      '  2025-01-02T23:59:01.000Z  kirim          created: contact k-42 [receive 1]',
      '  2025-01-02T23:59:01.100Z  callbell       skipped: no_phone',
      '  2025-01-02T23:59:01.200Z  twochat        failed: HTTP 400 invalid_number, "bad number"',
      '  2025-01-02T23:59:01.300Z  chatwoot       transient: HTTP 503, "down for a***@example.com" [receive 5]',
      '  2025-01-02T23:59:05.000Z  duplicates     2 later webhooks answered duplicate (the last at this time)',
      '  2025-01-03T00:00:00.000Z  dead-lettered  the job went to the dead-letter queue',
      '  2025-01-03T00:01:00.000Z  redriven       the job came back from the dead-letter queue',
      '  2025-01-03T00:01:00.000Z  chatwoot       exists: contact 7 [receive 1]',
      'Accounts now:',
      '  callbell  callbell  skipped  1 attempt   no_phone',
      '  chatwoot  chatwoot  exists   2 attempts  contact 7',
      '  kirim     kirim     created  1 attempt   contact k-42',
      '  twochat   twochat   failed   1 attempt   HTTP 400 invalid_number, "bad number"',
    ]);
    expect(text).not.toContain('ada@');
  });

  it('a parked job says so, with its next try', async () => {
    const text = timelineText((await reader.event('form:default:parked'))!);
    expect(text).toContain('transient  1 attempt  HTTP 502, "bad gateway", next try 2025-01-03T00:05:40.000Z');
    expect(text).toContain('The job is in the dead-letter queue: contact-relay dlq list; contact-relay dlq redrive');
  });

  it('JSON: the document matches the trace schema, times in ISO 8601, the message masked', async () => {
    const events = await Promise.all(
      [EVENT, 'form:default:parked'].map(async (key) => timelineJson((await reader.event(key))!)),
    );
    const document = { stage: 'test', query: { kind: 'event', value: EVENT }, events };
    expect(TraceDocumentSchema.safeParse(document).success).toBe(true);
    expect(events[0]?.timeline[5]).toEqual({
      kind: 'attempt',
      at: '2025-01-02T23:59:01.300Z',
      account: 'chatwoot',
      provider: 'chatwoot',
      status: 'transient',
      receiveCount: 5,
      httpStatus: 503,
      message: 'down for a***@example.com',
    });
    expect(events[1]?.accounts[0]).toMatchObject({ status: 'transient', nextTryAt: '2025-01-03T00:05:40.000Z' });
    // A document that breaks the contract does not pass.
    expect(TraceDocumentSchema.safeParse({ ...document, events: [{ ...events[0], parked: 'no' }] }).success).toBe(
      false,
    );
  });
});
