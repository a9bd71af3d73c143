/**
 * deliverQueuedJob writes the event's history on the real store (dynalite): each recorded outcome's entry with
 * the receive it came in, and a dead-letter time when a failing receive is the job's last (SQS's count at the
 * queue's maxReceiveCount, or deliver dead-lettering a job whose attempts are spent across deferrals).
 * The account fails for real because its secret is missing (a transient outcome, never a deferral).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../shared/config/routes.js';
import { DeliveryIncompleteError, deliverQueuedJob } from '../../shared/delivery.js';
import { createHttpClient, type HttpClient } from '../../shared/http.js';
import { encodeDeliveryJob, toDeliveryJob, type DeliveryJob } from '../../shared/jobs.js';
import type { DeferralQueue } from '../../shared/queue.js';
import { SecretStore } from '../../shared/secrets.js';
import { createDynamoStore, type OutcomeStore } from '../../shared/store.js';
import { testContact } from '../helpers/contacts.js';
import { createEventsTable, localCredentials, startDynalite } from '../helpers/dynamo.js';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let client: DynamoDBClient;
let documents: DynamoDBDocumentClient;
let http: HttpClient;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: localCredentials });
  documents = DynamoDBDocumentClient.from(client);
  http = createHttpClient();
});
afterAll(async () => {
  http.close();
  client.destroy();
  await dynamo.close();
});

const START = Date.parse('2026-12-03T12:00:00.000Z');
const EVENT = 'form:default:dl-1';
const config = parseRoutesConfig({
  accounts: { kirim: { provider: 'kirim' } },
  sources: { form: { default: { deliverTo: ['kirim'], retentionDays: 20 } } },
});
const route = findRoute(config, 'form', 'default') as ResolvedRoute;

/** No provider secret exists: every delivery ends transient, a real failure. */
const noSecrets = new SecretStore({
  client: {
    send: async () => {
      throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
    },
  },
});

async function setup(store?: (real: OutcomeStore) => OutcomeStore) {
  const clock = { now: START };
  const tableName = await createEventsTable(dynamo.endpoint);
  const real = createDynamoStore({ tableName, client, now: () => clock.now });
  await real.beginIngest(EVENT, {
    source: 'form',
    route: 'default',
    receivedAt: START,
    retentionDays: 20,
    listed: true,
  });
  await real.completeIngest(EVENT);
  const deadLettered: DeliveryJob[] = [];
  const queue: DeferralQueue = {
    sendLater: async () => {
      throw new Error('no deferral expected');
    },
    deadLetter: async (job) => {
      deadLettered.push(job);
    },
    settings: async () => ({ maxReceiveCount: 5, visibilityTimeoutSeconds: 360 }),
  };
  const deps = {
    routes: config,
    providers: { stage: 'history', secrets: noSecrets, http, baseUrls: {} },
    store: store === undefined ? real : store(real),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    pacing: { queue, now: () => clock.now },
  };
  const read = async (sk: string) =>
    (await documents.send(new GetCommand({ TableName: tableName, Key: { pk: `event#${EVENT}`, sk } }))).Item;
  return { deps, clock, deadLettered, read };
}

const job = (deferral?: DeliveryJob['deferral']) => {
  const accepted = toDeliveryJob(testContact(), route, EVENT, new Date(START));
  return encodeDeliveryJob(deferral === undefined ? accepted : { ...accepted, deferral });
};

describe('Function: deliverQueuedJob, the event history', () => {
  it('records each receive in the outcome history and a dead-letter at the receive SQS moves the job after', async () => {
    const { deps, clock, read } = await setup();
    for (const receiveCount of [4, 5]) {
      await expect(deliverQueuedJob(job(), { ...deps, receiveCount })).rejects.toThrow(DeliveryIncompleteError);
      if (receiveCount === 4) expect((await read('ingest'))?.['deadLetters']).toBeUndefined();
      clock.now += 360_000;
    }
    expect((await read('ingest'))?.['deadLetters']).toEqual([START + 360_000]);
    const outcome = await read('outcome#kirim');
    const history = (outcome?.['history'] ?? []) as Array<Record<string, unknown>>;
    expect(history.map((entry) => [entry['receiveCount'], entry['status']])).toEqual([
      [4, 'transient'],
      [5, 'transient'],
    ]);
    // Kept for the route's retention from the last write.
    expect(outcome?.['expiresAt']).toBe(Math.floor((START + 360_000) / 1000) + 20 * 24 * 3600);
  });

  it('records a dead-letter when deliver moves a job whose attempts are spent across deferrals', async () => {
    const { deps, read, deadLettered } = await setup();
    const deferred = { attempts: 3, throttles: 0, done: [], booked: {} };
    await deliverQueuedJob(job(deferred), { ...deps, receiveCount: 2 });
    expect(deadLettered).toHaveLength(1);
    expect((await read('ingest'))?.['deadLetters']).toEqual([START]);
  });

  it('dead-letters the job even when its dead-letter time cannot be written', async () => {
    const { deps, deadLettered } = await setup((real) => ({
      ...real,
      recordDeadLetter: async () => {
        throw new Error('table unavailable');
      },
    }));
    const deferred = { attempts: 3, throttles: 0, done: [], booked: {} };
    await expect(deliverQueuedJob(job(deferred), { ...deps, receiveCount: 2 })).resolves.toHaveLength(1);
    expect(deadLettered).toHaveLength(1);
  });
});
