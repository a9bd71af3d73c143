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
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../shared/providers/types.js';
import { createDynamoStore, STORE_ACTIONS, storeDefaults, type OutcomeStore } from '../../shared/store.js';
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

/**
 * A fresh table (as infra/resources.yml defines it) and a store whose client
 * records every call. `asDynamoDb`: a refused write that asked for ALL_OLD
 * gets the refusing item on its error, as DynamoDB does and dynalite does not.
 */
async function harness(options: { asDynamoDb: boolean }): Promise<Harness> {
  const tableName = await createEventsTable(endpoint);
  const admin = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });

  const calls: Call[] = [];
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  // The build step sees the marshalled input of every command the store sends.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      calls.push({ action: `dynamodb:${String(context.commandName).replace(/Command$/, '')}`, input });
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
  return { store: createDynamoStore({ tableName, client, now: () => clock.now }), calls, clock };
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

/** Every branch of every method, in an order that reaches each; the actions each call sent. */
async function everyBranch(h: Harness): Promise<Record<string, Array<{ result: unknown; actions: string[] }>>> {
  const seen: Record<string, Array<{ result: unknown; actions: string[] }>> = {};
  const step = async (method: keyof OutcomeStore, call: () => Promise<unknown>) => {
    seen[method] = [...(seen[method] ?? []), await actionsOf(h, call)];
  };
  const { store, clock } = h;
  await step('beginIngest', () => store.beginIngest('e1')); // new
  await step('beginIngest', () => store.beginIngest('e1')); // refused: pending
  await step('markSeen', () => store.markSeen('alias-1')); // new
  await step('markSeen', () => store.markSeen('alias-1')); // refused
  await step('completeIngest', () => store.completeIngest('e1'));
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
