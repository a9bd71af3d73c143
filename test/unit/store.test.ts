/**
 * The DynamoDB store over real sockets against dynalite, with every call the
 * SDK sends recorded: which DynamoDB actions each method needs (its
 * function's role must allow exactly those), and how a refused conditional
 * write is read without a second call.
 *
 * dynalite ignores ReturnValuesOnConditionCheckFailure (it never puts the
 * refusing item on the error). "As DynamoDB answers" below adds that item the
 * way the API reference describes, so both answers are exercised:
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
 */
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash, personHashes, phoneHash } from '../../shared/person-key.js';
import type { Outcome } from '../../shared/providers/types.js';
import {
  createDynamoStore,
  PersonIndexUnwrittenError,
  STORE_ACTIONS,
  storeDefaults,
  type OutcomeStore,
} from '../../shared/store.js';
import { createEventsTable, localCredentials as credentials, startDynalite } from '../helpers/dynamo.js';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let endpoint: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  endpoint = dynamo.endpoint;
});
afterAll(() => dynamo.close());

interface Call {
  action: string;
  input: Record<string, unknown>;
}

interface Harness {
  store: OutcomeStore;
  calls: Call[];
  clock: { now: number };
}

/** A marshalled put of the person index (strings and numbers only), as the Document client reads it. */
function plainPut(request: unknown): unknown {
  const item = (request as { PutRequest: { Item: Record<string, AttributeValue> } }).PutRequest.Item;
  const values = Object.entries(item).map(([name, value]) => [name, value.S ?? Number(value.N)]);
  return { PutRequest: { Item: Object.fromEntries(values) } };
}

/**
 * A fresh table (as infra/resources.yml defines it) and a store whose client
 * records every call. `asDynamoDb`: a refused write that asked for ALL_OLD
 * gets the refusing item on its error, as DynamoDB does and dynalite does not.
 */
async function harness(options: {
  asDynamoDb: boolean;
  settings?: Partial<typeof storeDefaults>;
  /** Stands in for DynamoDB's answer to a BatchWriteItem: the puts it sends on, the rest left unprocessed. */
  batchWrite?: (requests: unknown[]) => { send: unknown[]; leave: unknown[] };
}): Promise<Harness & { tableName: string }> {
  const tableName = await createEventsTable(endpoint);
  const admin = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });

  const calls: Call[] = [];
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  // The build step sees the marshalled input of every command the store sends.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const action = `dynamodb:${String(context.commandName).replace(/Command$/, '')}`;
      calls.push({ action, input });
      if (action === 'dynamodb:BatchWriteItem' && options.batchWrite !== undefined) {
        const requests = (input['RequestItems'] as Record<string, unknown[]>)[tableName] ?? [];
        const { send, leave } = options.batchWrite(requests);
        // Written past this client (its request is already serialised), and answered as DynamoDB would.
        if (send.length > 0)
          await admin.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: send as WriteRequest[] } }));
        // The Document client reads the answer below this step: its items come back plain, as it would read them.
        const unprocessed = leave.length === 0 ? {} : { [tableName]: leave.map(plainPut) };
        return { response: {}, output: { UnprocessedItems: unprocessed, $metadata: {} } } as Awaited<
          ReturnType<typeof next>
        >;
      }
      try {
        return await next(args);
      } catch (error) {
        const refused = error as { name?: string; Item?: Record<string, AttributeValue> };
        const askedForItem = input['ReturnValuesOnConditionCheckFailure'] === 'ALL_OLD';
        if (options.asDynamoDb && refused.name === 'ConditionalCheckFailedException' && askedForItem) {
          const { pk, sk } = (input['Key'] ?? input['Item']) as Record<string, AttributeValue>;
          const read = new GetItemCommand({ TableName: tableName, Key: { pk: pk!, sk: sk! }, ConsistentRead: true });
          const current = await admin.send(read);
          refused.Item = current.Item;
        }
        throw error;
      }
    },
    { step: 'build', name: 'recordCalls' },
  );
  const clock = { now: Date.parse('2026-11-21T12:00:00.000Z') };
  const settings = options.settings === undefined ? {} : { settings: options.settings };
  return {
    store: createDynamoStore({ tableName, client, now: () => clock.now, ...settings }),
    calls,
    clock,
    tableName,
  };
}

/** The actions one store call sends. */
async function actionsOf<T>(h: Harness, call: () => Promise<T>): Promise<{ result: T; actions: string[] }> {
  h.calls.length = 0;
  const result = await call();
  return { result, actions: h.calls.map((c) => c.action) };
}

const created: Outcome = { account: 'twochat', provider: 'twochat', status: 'created', providerContactId: 'c-1' };
const transient: Outcome = {
  account: 'kirim',
  provider: 'kirim',
  status: 'transient',
  httpStatus: 503,
  message: 'down',
};
const failed: Outcome = {
  account: 'kirim',
  provider: 'kirim',
  status: 'failed',
  httpStatus: 422,
  code: 'invalid_phone',
  message: 'invalid',
};

const ingestDetails = {
  source: 'form',
  route: 'default',
  receivedAt: Date.parse('2026-11-21T12:00:00.000Z'),
  retentionDays: 30,
  listed: true,
};
const personEntry = { source: 'form', route: 'default', receivedAt: ingestDetails.receivedAt, retentionDays: 30 };

/** Every branch of every method, in an order that reaches each; the actions each call sent. */
async function everyBranch(h: Harness): Promise<Record<string, Array<{ result: unknown; actions: string[] }>>> {
  const seen: Record<string, Array<{ result: unknown; actions: string[] }>> = {};
  const step = async (method: keyof OutcomeStore, call: () => Promise<unknown>) => {
    seen[method] = [...(seen[method] ?? []), await actionsOf(h, call)];
  };
  const { store, clock } = h;
  await step('beginIngest', () => store.beginIngest('e1', ingestDetails)); // new
  await step('beginIngest', () => store.beginIngest('e1')); // refused: pending
  await step('markSeen', () => store.markSeen('alias-1')); // new
  await step('markSeen', () => store.markSeen('alias-1')); // refused
  await step('completeIngest', () => store.completeIngest('e1'));
  await step('countDuplicate', () => store.countDuplicate('e1'));
  await step('countDuplicate', () => store.countDuplicate('never-accepted')); // refused: no record
  await step('recordDeadLetter', () => store.recordDeadLetter('e1', clock.now));
  await step('indexPerson', () => store.indexPerson('e1', ['hash-a', 'hash-b'], personEntry));
  await step('beginIngest', () => store.beginIngest('e1')); // refused: queued
  await step('abandonIngest', () => store.abandonIngest('e1')); // refused: not pending
  await step('beginIngest', () => store.beginIngest('e2'));
  clock.now += storeDefaults.pendingStaleMs + 1;
  await step('beginIngest', () => store.beginIngest('e2')); // stale pending: taken over
  await step('abandonIngest', () => store.abandonIngest('e2')); // deleted

  const tokens: string[] = [];
  const claim = async (account: string) => {
    const result = await store.claimOutcome('e1', account);
    if (result.kind === 'claimed') tokens.push(result.token);
    return result;
  };
  await step('claimOutcome', () => claim('twochat')); // claimed
  await step('claimOutcome', () => claim('twochat')); // refused: busy
  await step('recordOutcome', () => store.recordOutcome('e1', created, tokens[0]!));
  await step('claimOutcome', () => claim('twochat')); // refused: settled
  await step('claimOutcome', () => claim('kirim'));
  clock.now += storeDefaults.leaseMs + 1;
  await step('claimOutcome', () => claim('kirim')); // lease ran out: claimed again
  await step('recordOutcome', () => store.recordOutcome('e1', failed, tokens[2]!));
  await step('recordOutcome', () => store.recordOutcome('e1', transient, tokens[1]!)); // refused: superseded
  await step('claimOutcome', () => claim('kirim')); // refused: settled

  await step('getCheckpoint', () => store.getCheckpoint('reconcile', 'shopify#default'));
  await step('putCheckpoint', () => store.putCheckpoint('reconcile', 'shopify#default', '2026-11-21T11:00:00.000Z'));
  await step('getCheckpoint', () => store.getCheckpoint('reconcile', 'shopify#default'));

  await step('countRequest', () => store.countRequest('form/default/route', 1, 60)); // counted
  await step('countRequest', () => store.countRequest('form/default/route', 1, 60)); // refused: window full
  clock.now += 60_000;
  await step('countRequest', () => store.countRequest('form/default/route', 1, 60)); // next window

  const rate = { perMinute: 60, burst: 1 };
  await step('takeToken', () => store.takeToken('twochat', rate)); // taken: a new bucket is full
  await step('takeToken', () => store.takeToken('twochat', rate)); // refused: empty for a second
  await step('holdBucket', () => store.holdBucket('twochat', clock.now + 30_000));
  await step('holdBucket', () => store.holdBucket('twochat', clock.now + 10_000)); // refused: a longer hold stands
  return seen;
}

describe('Function: createDynamoStore', () => {
  describe.each([
    ['as DynamoDB answers (the refusing item on the error)', true],
    ['against dynalite (no item on the error)', false],
  ] as const)('%s', (_label, asDynamoDb) => {
    it('tells new, being queued and queued events apart, and hands an outcome to one attempt at a time', async () => {
      const seen = await everyBranch(await harness({ asDynamoDb }));
      expect(seen['beginIngest']!.map((s) => s.result)).toEqual(['new', 'pending', 'queued', 'new', 'new']);
      const claimed = { kind: 'claimed', token: expect.stringMatching(/^[0-9a-f-]{36}$/) };
      expect(seen['claimOutcome']!.map((s) => s.result)).toEqual([
        claimed,
        { kind: 'busy' },
        { kind: 'settled', outcome: created },
        claimed,
        claimed,
        { kind: 'settled', outcome: failed },
      ]);
      expect(seen['recordOutcome']!.map((s) => s.result)).toEqual(['recorded', 'recorded', 'superseded']);
      expect(seen['getCheckpoint']!.map((s) => s.result)).toEqual([undefined, '2026-11-21T11:00:00.000Z']);
      // The clock stands at 12:02:30 by then (stale pending and lease steps): its window ends at 12:03.
      const windowEndsAt = Date.parse('2026-11-21T12:03:00.000Z');
      expect(seen['countRequest']!.map((s) => s.result)).toEqual([
        { counted: true, windowEndsAt },
        { counted: false, windowEndsAt },
        { counted: true, windowEndsAt: windowEndsAt + 60_000 },
      ]);
    });

    it('sends each method only the DynamoDB actions STORE_ACTIONS names for it (its role allows those)', async () => {
      const seen = await everyBranch(await harness({ asDynamoDb }));
      for (const [method, allowed] of Object.entries(STORE_ACTIONS)) {
        const sent = new Set(seen[method]!.flatMap((s) => s.actions));
        for (const action of sent) expect(allowed, `${method} sent ${action}`).toContain(action);
      }
    });
  });

  it('asks for the refusing item on each conditional write whose refusal it reads', async () => {
    const h = await harness({ asDynamoDb: false });
    await h.store.beginIngest('e1');
    await h.store.claimOutcome('e1', 'twochat');
    expect(h.calls.map((c) => [c.action, c.input['ReturnValuesOnConditionCheckFailure']])).toEqual([
      ['dynamodb:PutItem', 'ALL_OLD'],
      ['dynamodb:UpdateItem', 'ALL_OLD'],
    ]);
  });

  it('reads a refused write from the error in AWS: a duplicate or settled outcome is one call', async () => {
    const h = await harness({ asDynamoDb: true });
    const seen = await everyBranch(h);
    expect(seen['beginIngest']!.map((s) => s.actions)).toEqual(Array.from({ length: 5 }, () => ['dynamodb:PutItem']));
    const updateOnly = Array.from({ length: 6 }, () => ['dynamodb:UpdateItem']);
    expect(seen['claimOutcome']!.map((s) => s.actions)).toEqual(updateOnly);
    // A token taken, and an empty bucket's readyAt (one second on, at 60 a minute), each in one write.
    expect(seen['takeToken']!).toEqual([
      { result: { taken: true }, actions: ['dynamodb:UpdateItem'] },
      { result: { taken: false, readyAt: h.clock.now + 1000 }, actions: ['dynamodb:UpdateItem'] },
    ]);
  });

  it('reads the refusing item once, consistently, where the endpoint leaves it off the error (dynalite)', async () => {
    const h = await harness({ asDynamoDb: false });
    const seen = await everyBranch(h);
    expect(seen['beginIngest']!.map((s) => s.actions)).toEqual([
      ['dynamodb:PutItem'],
      ['dynamodb:PutItem', 'dynamodb:GetItem'],
      ['dynamodb:PutItem', 'dynamodb:GetItem'],
      ['dynamodb:PutItem'],
      ['dynamodb:PutItem'],
    ]);
    // Both fallbacks and both kinds of method together: every action STORE_ACTIONS names is used by some branch.
    for (const [method, allowed] of Object.entries(STORE_ACTIONS)) {
      expect(new Set(seen[method]!.flatMap((s) => s.actions)), method).toEqual(new Set(allowed));
    }
    await h.store.beginIngest('e3');
    h.calls.length = 0;
    await h.store.beginIngest('e3');
    expect(h.calls[1]?.input['ConsistentRead']).toBe(true);
  });
});

describe('Function: createDynamoStore recordOutcome', () => {
  it('refuses a write from a claim whose lease ran out and was taken over, keeping the settled outcome', async () => {
    const h = await harness({ asDynamoDb: false });
    const thawed = await h.store.claimOutcome('e1', 'kirim');
    if (thawed.kind !== 'claimed') throw new Error('first claim refused');
    h.clock.now += storeDefaults.leaseMs + 1;
    const current = await h.store.claimOutcome('e1', 'kirim');
    if (current.kind !== 'claimed') throw new Error('claim after the lease refused');
    expect(current.token).not.toBe(thawed.token);

    // The old attempt wakes while the new one is still calling: its write is refused.
    expect(await h.store.recordOutcome('e1', transient, thawed.token)).toBe('superseded');
    expect(await h.store.recordOutcome('e1', failed, current.token)).toBe('recorded');
    // ...and after the new one settled: still refused, the settled outcome stands.
    expect(await h.store.recordOutcome('e1', transient, thawed.token)).toBe('superseded');
    expect(await h.store.claimOutcome('e1', 'kirim')).toEqual({ kind: 'settled', outcome: failed });
  });

  it('lets a claim record once: its token is spent with the outcome', async () => {
    const h = await harness({ asDynamoDb: false });
    const claim = await h.store.claimOutcome('e2', 'twochat');
    if (claim.kind !== 'claimed') throw new Error('claim refused');
    expect(await h.store.recordOutcome('e2', created, claim.token)).toBe('recorded');
    const replay: Outcome = { ...transient, account: 'twochat', provider: 'twochat' };
    expect(await h.store.recordOutcome('e2', replay, claim.token)).toBe('superseded');
    expect(await h.store.claimOutcome('e2', 'twochat')).toEqual({ kind: 'settled', outcome: created });
  });

  it('records the outcome of a claim whose lease ran out when no other attempt took the account', async () => {
    const h = await harness({ asDynamoDb: false });
    const claim = await h.store.claimOutcome('e3', 'twochat');
    if (claim.kind !== 'claimed') throw new Error('claim refused');
    h.clock.now += storeDefaults.leaseMs + 1;
    expect(await h.store.recordOutcome('e3', created, claim.token)).toBe('recorded');
    expect(await h.store.claimOutcome('e3', 'twochat')).toEqual({ kind: 'settled', outcome: created });
  });
});

/** Every item of the table, as stored. */
async function scanTable(tableName: string): Promise<Array<Record<string, unknown>>> {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: 'us-east-1', credentials }));
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

async function itemOf(tableName: string, pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: 'us-east-1', credentials }));
  return (await documents.send(new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }))).Item;
}

const DAY = 24 * 3600;

describe('Function: createDynamoStore event history', () => {
  it("writes an event's source, route, receipt and recent-index keys with its first accept, kept retentionDays", async () => {
    const h = await harness({ asDynamoDb: false });
    const receivedAt = h.clock.now;
    const nowSeconds = Math.floor(h.clock.now / 1000);
    await h.store.beginIngest('form:default:k1', { ...ingestDetails, receivedAt, retentionDays: 7 });
    h.clock.now += 40;
    await h.store.completeIngest('form:default:k1');

    expect(await itemOf(h.tableName, 'event#form:default:k1', 'ingest')).toEqual({
      pk: 'event#form:default:k1',
      sk: 'ingest',
      state: 'queued',
      at: receivedAt,
      source: 'form',
      route: 'default',
      receivedAt,
      answer: 'accepted',
      queuedAt: receivedAt + 40,
      gsi1pk: 'events#2026-11-21',
      gsi1sk: `${String(receivedAt).padStart(13, '0')}#form:default:k1`,
      expiresAt: nowSeconds + 7 * DAY,
    });
    // The GSI `recent` lists it under its UTC day, as the CLI queries it.
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: 'us-east-1', credentials }));
    const listed = await documents.send(
      new QueryCommand({
        TableName: h.tableName,
        IndexName: 'recent',
        KeyConditionExpression: 'gsi1pk = :day AND gsi1sk >= :from',
        ExpressionAttributeValues: { ':day': 'events#2026-11-21', ':from': String(receivedAt - 1).padStart(13, '0') },
      }),
    );
    expect(listed.Items?.map((item) => item['pk'])).toEqual(['event#form:default:k1']);
  });

  it('keeps a body key and an alias for the retention too, out of the recent-events index', async () => {
    const h = await harness({ asDynamoDb: false });
    const nowSeconds = Math.floor(h.clock.now / 1000);
    await h.store.beginIngest('shopify:body:sha256:ab', { ...ingestDetails, retentionDays: 3, listed: false });
    await h.store.markSeen('shopify:order:1', 3);
    const body = await itemOf(h.tableName, 'event#shopify:body:sha256:ab', 'ingest');
    const alias = await itemOf(h.tableName, 'event#shopify:order:1', 'ingest');
    expect([body?.['expiresAt'], alias?.['expiresAt']]).toEqual([nowSeconds + 3 * DAY, nowSeconds + 3 * DAY]);
    expect([body?.['gsi1pk'], alias?.['gsi1pk'], alias?.['gsi1sk']]).toEqual([undefined, undefined, undefined]);
  });

  it("counts each duplicate on the event's record, and writes nothing for a key without one or an alias", async () => {
    const h = await harness({ asDynamoDb: false });
    await h.store.beginIngest('e1', ingestDetails);
    await h.store.completeIngest('e1');
    await h.store.markSeen('alias-1');
    await h.store.countDuplicate('e1');
    h.clock.now += 5_000;
    await h.store.countDuplicate('e1');
    await h.store.countDuplicate('alias-1');
    await h.store.countDuplicate('never-accepted');

    const record = await itemOf(h.tableName, 'event#e1', 'ingest');
    expect([record?.['duplicates'], record?.['lastDuplicateAt']]).toEqual([2, h.clock.now]);
    expect((await itemOf(h.tableName, 'event#alias-1', 'ingest'))?.['duplicates']).toBeUndefined();
    expect(await itemOf(h.tableName, 'event#never-accepted', 'ingest')).toBeUndefined();
  });

  it('appends each dead-letter time to the event, and creates no record for an event that has none', async () => {
    const h = await harness({ asDynamoDb: false });
    await h.store.beginIngest('e1', ingestDetails);
    const first = h.clock.now + 1_800_000;
    await h.store.recordDeadLetter('e1', first);
    await h.store.recordDeadLetter('e1', first + 3_600_000);
    await h.store.recordDeadLetter('expired', first);
    expect((await itemOf(h.tableName, 'event#e1', 'ingest'))?.['deadLetters']).toEqual([first, first + 3_600_000]);
    expect(await itemOf(h.tableName, 'event#expired', 'ingest')).toBeUndefined();
  });

  it('appends one history entry per recorded outcome over two receives, with the next try of a transient one', async () => {
    const h = await harness({ asDynamoDb: false });
    const first = h.clock.now;
    const throttled: Outcome = { ...transient, httpStatus: 429, message: 'slow down', retryAfterMs: 30_000 };
    const claim1 = await h.store.claimOutcome('e1', 'kirim');
    if (claim1.kind !== 'claimed') throw new Error('claim refused');
    await h.store.recordOutcome('e1', throttled, claim1.token, { receiveCount: 1, retentionDays: 10 });
    expect((await itemOf(h.tableName, 'event#e1', 'outcome#kirim'))?.['nextTryAt']).toBe(first + 30_000);

    h.clock.now += 360_000;
    const claim2 = await h.store.claimOutcome('e1', 'kirim');
    if (claim2.kind !== 'claimed') throw new Error('second claim refused');
    const settled: Outcome = { account: 'kirim', provider: 'kirim', status: 'created', providerContactId: 'k-9' };
    await h.store.recordOutcome('e1', settled, claim2.token, { receiveCount: 2, retentionDays: 10 });

    const record = await itemOf(h.tableName, 'event#e1', 'outcome#kirim');
    expect(record?.['history']).toEqual([
      { at: first, status: 'transient', receiveCount: 1, httpStatus: 429, message: 'slow down' },
      { at: first + 360_000, status: 'created', receiveCount: 2, providerContactId: 'k-9' },
    ]);
    // Settled: no next try, and kept retentionDays from this last write.
    expect(record?.['nextTryAt']).toBeUndefined();
    expect(record?.['expiresAt']).toBe(Math.floor(h.clock.now / 1000) + 10 * DAY);
  });

  it('keeps the failure code, skip reason and a message cut to 300 characters in the history', async () => {
    const h = await harness({ asDynamoDb: false });
    const record = async (eventKey: string, outcome: Outcome) => {
      const claim = await h.store.claimOutcome(eventKey, outcome.account);
      if (claim.kind !== 'claimed') throw new Error('claim refused');
      await h.store.recordOutcome(eventKey, outcome, claim.token);
      return (
        (await itemOf(h.tableName, `event#${eventKey}`, `outcome#${outcome.account}`))?.['history'] as
          | unknown[]
          | undefined
      )?.[0];
    };
    const long: Outcome = { ...failed, message: 'x'.repeat(1_000) };
    const skipped: Outcome = { account: 'kirim', provider: 'kirim', status: 'skipped', reason: 'no E.164 phone' };
    expect(await record('e1', long)).toEqual({
      at: h.clock.now,
      status: 'failed',
      httpStatus: 422,
      code: 'invalid_phone',
      message: 'x'.repeat(300),
    });
    expect(await record('e2', skipped)).toEqual({ at: h.clock.now, status: 'skipped', reason: 'no E.164 phone' });
  });

  it('never stores an email or phone a provider echoes in its message, in the outcome nor its history', async () => {
    const h = await harness({ asDynamoDb: false });
    const echoed: Outcome = {
      ...failed,
      message: 'contact Ada.Lovelace@example.com with phone +14155550144 (415) 555-0144 already exists',
    };
    const claim = await h.store.claimOutcome('e1', 'kirim');
    if (claim.kind !== 'claimed') throw new Error('claim refused');
    await h.store.recordOutcome('e1', echoed, claim.token);
    const stored = JSON.stringify(await scanTable(h.tableName)).toLowerCase();
    expect(stored).toContain('already exists');
    for (const personal of ['ada.lovelace@example.com', 'lovelace', '4155550144', '555-0144'])
      expect(stored).not.toContain(personal);
  });
});

describe('Function: createDynamoStore indexPerson', () => {
  const key = 'k'.repeat(40);
  const contact = { emails: ['Ada.Lovelace@Example.com'], phones: [{ e164: '+14155550144' }] };

  it("writes one item per hash under person#{hash}, naming the event, kept the route's retention", async () => {
    const h = await harness({ asDynamoDb: false });
    const nowSeconds = Math.floor(h.clock.now / 1000);
    const hashes = personHashes(key, contact);
    const receivedAt = h.clock.now - 250;
    await h.store.indexPerson('form:default:k1', hashes, {
      source: 'form',
      route: 'default',
      receivedAt,
      retentionDays: 14,
    });

    const sk = `${String(receivedAt).padStart(13, '0')}#form:default:k1`;
    const entry = { eventKey: 'form:default:k1', source: 'form', route: 'default', receivedAt };
    expect(await scanTable(h.tableName)).toEqual(
      expect.arrayContaining(
        hashes.map((hash) => ({ pk: `person#${hash}`, sk, ...entry, expiresAt: nowSeconds + 14 * DAY })),
      ),
    );
    expect(hashes).toEqual([emailHash(key, 'ada.lovelace@example.com'), phoneHash(key, '+14155550144')]);
    expect(h.calls.map((call) => call.action)).toEqual(['dynamodb:BatchWriteItem']);
  });

  it('holds no email or phone anywhere in the table: only their keyed hashes', async () => {
    const h = await harness({ asDynamoDb: false });
    await h.store.beginIngest('form:default:k2', ingestDetails);
    await h.store.completeIngest('form:default:k2');
    await h.store.indexPerson('form:default:k2', personHashes(key, contact), personEntry);
    const stored = JSON.stringify(await scanTable(h.tableName)).toLowerCase();
    expect(stored).toContain('person#');
    for (const personal of ['ada.lovelace@example.com', 'lovelace', '4155550144'])
      expect(stored).not.toContain(personal);
  });

  it('sends the items DynamoDB left unprocessed again until all are written', async () => {
    let calls = 0;
    // The first call takes one put and leaves the rest, as DynamoDB does under throttling.
    const batchWrite = (requests: unknown[]) =>
      ++calls === 1 ? { send: requests.slice(0, 1), leave: requests.slice(1) } : { send: requests, leave: [] };
    const h = await harness({ asDynamoDb: false, batchWrite, settings: { indexBackoffMs: 1 } });
    const hashes = ['h1', 'h2', 'h3'];
    await h.store.indexPerson('e1', hashes, personEntry);
    const written = (await scanTable(h.tableName)).map((item) => item['pk']);
    expect(written.sort()).toEqual(['person#h1', 'person#h2', 'person#h3']);
    const sizes = h.calls.map((call) => (call.input['RequestItems'] as Record<string, unknown[]>)[h.tableName]?.length);
    expect(sizes).toEqual([3, 2]);
  });

  it('gives up with PersonIndexUnwrittenError once every attempt left items unprocessed', async () => {
    const batchWrite = (requests: unknown[]) => ({ send: [], leave: requests });
    const h = await harness({ asDynamoDb: false, batchWrite, settings: { indexBackoffMs: 1, indexAttempts: 3 } });
    await expect(h.store.indexPerson('e1', ['h1'], personEntry)).rejects.toThrow(PersonIndexUnwrittenError);
    expect(h.calls).toHaveLength(3);
  });

  it('writes more hashes than one BatchWriteItem takes (25) in several calls', async () => {
    const h = await harness({ asDynamoDb: false });
    const hashes = Array.from({ length: 30 }, (_, index) => `h${index}`);
    await h.store.indexPerson('e1', hashes, personEntry);
    expect(await scanTable(h.tableName)).toHaveLength(30);
    expect(
      h.calls.map((call) => (call.input['RequestItems'] as Record<string, unknown[]>)[h.tableName]?.length),
    ).toEqual([25, 5]);
  });
});
