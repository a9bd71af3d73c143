/**
 * The token bucket of a provider account, on dynalite over real sockets: many deliver functions take from
 * one bucket at once, so what one of them may take depends only on the item in the table. The clock is the
 * store's injected one; nothing here waits for the rate.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore, type BucketRate, type OutcomeStore } from '../../shared/store.js';
import { createEventsTable, localCredentials as credentials, startDynalite } from '../helpers/dynamo.js';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.close());

const START = Date.parse('2026-11-21T12:00:00.000Z');

/** A store on a fresh table, its clock at START, and the UpdateItem calls it sends counted. */
async function bucketStore(): Promise<{ store: OutcomeStore; clock: { now: number }; writes: () => number }> {
  const tableName = await createEventsTable(dynamo.endpoint);
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
  let writes = 0;
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'UpdateItemCommand') writes++;
      return next(args);
    },
    { step: 'build', name: 'countWrites' },
  );
  const clock = { now: START };
  return { store: createDynamoStore({ tableName, client, now: () => clock.now }), clock, writes: () => writes };
}

/** `count` takers at once, as many deliver functions would be; how many got a token. */
async function takeAtOnce(store: OutcomeStore, account: string, rate: BucketRate, count: number) {
  const answers = await Promise.all(Array.from({ length: count }, () => store.takeToken(account, rate)));
  return { taken: answers.filter((a) => a.taken).length, answers };
}

describe('Function: takeToken', () => {
  it('hands 50 concurrent takers exactly the 10 tokens a full bucket holds, and tells the rest when the next is', async () => {
    const { store } = await bucketStore();
    const rate = { perMinute: 10, burst: 10 };
    const { taken, answers } = await takeAtOnce(store, 'twochat', rate, 50);
    expect(taken).toBe(10);
    // Drained at START: the next token is one interval (6 s at 10 a minute) later.
    for (const answer of answers.filter((a) => !a.taken))
      expect(answer).toEqual({ taken: false, readyAt: START + 6000 });
  });

  it('never takes more than burst + rate × elapsed over a minute of concurrent takers', async () => {
    const { store, clock } = await bucketStore();
    const rate = { perMinute: 60, burst: 5 };
    let taken = 0;
    // Every 500 ms for a minute, 6 takers at once: far more demand than one token a second.
    for (let step = 0; step <= 120; step++) {
      clock.now = START + step * 500;
      taken += (await takeAtOnce(store, 'kirim', rate, 6)).taken;
    }
    // 5 at once, then one a second for 60 s (the one due at exactly +60 s included).
    expect(taken).toBe(5 + 60);
  });

  it('gives tokens back at the rate after an idle spell, never more than burst', async () => {
    const { store, clock } = await bucketStore();
    const rate = { perMinute: 30, burst: 4 };
    expect((await takeAtOnce(store, 'chatwoot', rate, 10)).taken).toBe(4);

    // 2 s a token: 5 s later two tokens have come back, and the third is due at +6 s.
    clock.now = START + 5000;
    const afterFive = await takeAtOnce(store, 'chatwoot', rate, 10);
    expect(afterFive.taken).toBe(2);
    expect(afterFive.answers.find((a) => !a.taken)).toEqual({ taken: false, readyAt: START + 6000 });

    // An hour idle fills the bucket to its burst, not to an hour's worth.
    clock.now = START + 3600_000;
    expect((await takeAtOnce(store, 'chatwoot', rate, 10)).taken).toBe(4);
  });

  it('keeps each account to its own bucket', async () => {
    const { store } = await bucketStore();
    const rate = { perMinute: 10, burst: 2 };
    expect((await takeAtOnce(store, 'shop-a', rate, 5)).taken).toBe(2);
    expect((await takeAtOnce(store, 'shop-b', rate, 5)).taken).toBe(2);
  });

  it('answers readyAt when the next token exists: taking at readyAt succeeds, a millisecond before does not', async () => {
    const { store, clock } = await bucketStore();
    const rate = { perMinute: 7, burst: 1 };
    expect(await store.takeToken('twochat', rate)).toEqual({ taken: true });
    const refused = await store.takeToken('twochat', rate);
    // 60,000 / 7 ms rounded up: never faster than the rate.
    expect(refused).toEqual({ taken: false, readyAt: START + 8572 });
    if (refused.taken) return;
    clock.now = refused.readyAt - 1;
    expect(await store.takeToken('twochat', rate)).toEqual({ taken: false, readyAt: refused.readyAt });
    clock.now = refused.readyAt;
    expect(await store.takeToken('twochat', rate)).toEqual({ taken: true });
  });

  it('takes a token from a bucket that is not full in one write', async () => {
    const { store, clock, writes } = await bucketStore();
    const rate = { perMinute: 60, burst: 3 };
    await store.takeToken('kirim', rate); // a new bucket: one write
    expect(writes()).toBe(1);
    clock.now += 500;
    await store.takeToken('kirim', rate);
    expect(writes()).toBe(2);
  });

  it('refuses a rate that would write nonsense, naming what is wrong', async () => {
    const { store } = await bucketStore();
    await expect(store.takeToken('kirim', { perMinute: 0, burst: 1 })).rejects.toThrow(/perMinute > 0/);
    await expect(store.takeToken('kirim', { perMinute: 10, burst: 0 })).rejects.toThrow(/burst ≥ 1/);
  });
});

describe('Function: holdBucket', () => {
  it('gives no token before `until` (a Retry-After), then resumes at the rate from an empty bucket', async () => {
    const { store, clock } = await bucketStore();
    const rate = { perMinute: 60, burst: 10 };
    expect(await store.takeToken('kirim', rate)).toEqual({ taken: true });
    const until = START + 30_000;
    await store.holdBucket('kirim', until);

    for (const at of [START, START + 10_000, until - 1, until]) {
      clock.now = at;
      expect(await store.takeToken('kirim', rate), `at +${at - START} ms`).toEqual({
        taken: false,
        readyAt: until + 1000,
      });
    }
    clock.now = until + 1000;
    expect((await takeAtOnce(store, 'kirim', rate, 5)).taken).toBe(1);
    clock.now = until + 3000;
    expect((await takeAtOnce(store, 'kirim', rate, 5)).taken).toBe(2);
  });

  it('never shortens a longer hold', async () => {
    const { store, clock } = await bucketStore();
    const rate = { perMinute: 60, burst: 10 };
    await store.holdBucket('twochat', START + 60_000);
    await store.holdBucket('twochat', START + 5_000);
    clock.now = START + 30_000;
    expect(await store.takeToken('twochat', rate)).toEqual({ taken: false, readyAt: START + 61_000 });
  });

  it('holds a bucket never drawn from, and leaves other accounts alone', async () => {
    const { store, clock } = await bucketStore();
    const rate = { perMinute: 60, burst: 2 };
    await store.holdBucket('kirim', START + 10_000);
    expect(await store.takeToken('kirim', rate)).toEqual({ taken: false, readyAt: START + 11_000 });
    expect(await store.takeToken('twochat', rate)).toEqual({ taken: true });
    clock.now = START + 11_000;
    expect(await store.takeToken('kirim', rate)).toEqual({ taken: true });
  });
});

describe('Function: takeToken, booking ahead', () => {
  it('books 100 concurrent takers one interval apart after the burst, none twice, and refuses past the horizon', async () => {
    const { store } = await bucketStore();
    const rate = { perMinute: 60, burst: 5 }; // one token a second
    const answers = await Promise.all(Array.from({ length: 100 }, () => store.takeToken('kirim', rate, 30_000)));
    const now = answers.filter((answer) => answer.taken && answer.at === undefined);
    expect(now).toHaveLength(5);
    const booked = answers
      .flatMap((answer) => (answer.taken && answer.at !== undefined ? [answer.at] : []))
      .sort((a, b) => a - b);
    // Tokens 6 … 35 exist at +1 s … +30 s: each booked once, a second apart, never sooner than the rate.
    expect(booked).toEqual(Array.from({ length: 30 }, (_, i) => START + (i + 1) * 1000));
    const refused = answers.filter((answer) => !answer.taken);
    expect(refused).toHaveLength(65);
    // The next token would exist at +31 s, one more second than the 30 s a taker waits: it can be booked at +1 s.
    for (const answer of refused) expect(answer).toEqual({ taken: false, readyAt: START + 1000 });
  });

  it('lets no taker at the same instant have a token a booked taker holds', async () => {
    const { store, clock } = await bucketStore();
    const rate = { perMinute: 60, burst: 1 };
    expect(await store.takeToken('twochat', rate, 10_000)).toEqual({ taken: true });
    expect(await store.takeToken('twochat', rate, 10_000)).toEqual({ taken: true, at: START + 1000 });
    expect(await store.takeToken('twochat', rate)).toEqual({ taken: false, readyAt: START + 2000 });
    clock.now = START + 2000;
    expect(await store.takeToken('twochat', rate)).toEqual({ taken: true });
  });

  it('books after a hold, never inside it', async () => {
    const { store } = await bucketStore();
    const rate = { perMinute: 60, burst: 5 };
    await store.holdBucket('kirim', START + 20_000);
    expect(await store.takeToken('kirim', rate, 60_000)).toEqual({ taken: true, at: START + 21_000 });
    expect(await store.takeToken('kirim', rate, 10_000)).toEqual({ taken: false, readyAt: START + 12_000 });
  });

  it('refuses a negative horizon', async () => {
    const { store } = await bucketStore();
    await expect(store.takeToken('kirim', { perMinute: 10, burst: 1 }, -1)).rejects.toThrow(/bookAheadMs/);
  });
});
