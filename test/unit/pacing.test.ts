/**
 * deliverQueuedJob with pacing, over real sockets: the providers' emulator (its rate limits on where a test
 * needs a provider's 429), the real store on dynalite holding the accounts' token buckets, and a queue that
 * keeps what deliver sends back. The store's clock and deliver's are one injected clock, so nothing here
 * waits for a rate; the emulator's limits run on real time.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Contact } from '../../shared/contact.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute, type RoutesConfig } from '../../shared/config/routes.js';
import { DeliveryIncompleteError, deliverQueuedJob } from '../../shared/delivery.js';
import type { HttpClient } from '../../shared/http.js';
import { encodeDeliveryJob, parseDeliveryJob, toDeliveryJob, type DeliveryJob } from '../../shared/jobs.js';
import type { ProviderContext } from '../../shared/providers/types.js';
import type { DeferralQueue } from '../../shared/queue.js';
import { SecretStore } from '../../shared/secrets.js';
import { createDynamoStore, type OutcomeStore } from '../../shared/store.js';
import type { Emulator } from '../../local/emulator/server.js';
import { testContact } from '../helpers/contacts.js';
import { startDeliveryBackends, type DeliveryBackends } from '../helpers/delivery-backends.js';
import { createEventsTable, type startDynalite } from '../helpers/dynamo.js';

const STAGE = 'pacing';
const KIRIM_SECRET = `contact-relay/${STAGE}/provider/kirim`;

let emulator: Emulator;
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let dynamoClient: DynamoDBClient;
let secretsClient: SecretsManagerClient;
let http: HttpClient;

let backends: DeliveryBackends;
beforeAll(async () => {
  backends = await startDeliveryBackends({
    secrets: {
      [`contact-relay/${STAGE}/provider/twochat`]: { apiKey: 'key-2chat' },
      [KIRIM_SECRET]: { token: 'key-kirim', phoneNumberId: '106540352242922' },
    },
    credentials: { twochat: ['key-2chat'], kirim: ['key-kirim'] },
  });
  ({ emulator, dynamo, dynamoClient, secretsClient, http } = backends);
});
afterAll(() => backends.close());
beforeEach(async () => {
  emulator.state.reset();
  emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify({ token: 'key-kirim', phoneNumberId: '106540352242922' }));
  // An account's emulated limit is its plan and outlives a reset: each test sets its own.
  await fetch(`${emulator.url}/_emulator/rate-limits`, { method: 'DELETE' });
});

const START = Date.parse('2026-12-03T12:00:00.000Z');

/** What deliver sent back: each re-sent job with its delay, and the dead-lettered ones. */
function recordingQueue(maxReceiveCount = 5) {
  const later: Array<{ job: DeliveryJob; delaySeconds: number }> = [];
  const deadLetters: DeliveryJob[] = [];
  const queue: DeferralQueue = {
    async sendLater(job, delaySeconds) {
      // As SQS takes it: the encoded body, read back by the next receive.
      later.push({ job: parseDeliveryJob(encodeDeliveryJob(job)), delaySeconds });
    },
    async deadLetter(job) {
      deadLetters.push(job);
    },
    settings: async () => ({ maxReceiveCount, visibilityTimeoutSeconds: 360 }),
  };
  return { queue, later, deadLetters };
}

async function pacedDeps(routes: RoutesConfig, options: { retry?: ProviderContext['retry'] } = {}) {
  const clock = { now: START };
  const store: OutcomeStore = createDynamoStore({
    tableName: await createEventsTable(dynamo.endpoint),
    client: dynamoClient,
    now: () => clock.now,
  });
  const recorded = recordingQueue();
  const providers: ProviderContext = {
    stage: STAGE,
    secrets: new SecretStore({ client: secretsClient }),
    http,
    baseUrls: { twochat: `${emulator.url}/twochat`, kirim: `${emulator.url}/kirim` },
    onRateLimited: 'return',
    ...(options.retry !== undefined ? { retry: options.retry } : {}),
  };
  const deps = {
    routes,
    providers,
    store,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    pacing: { queue: recorded.queue, now: () => clock.now },
  };
  return { deps, clock, store, ...recorded };
}

function routesWith(accounts: Record<string, unknown>): { routes: RoutesConfig; route: ResolvedRoute } {
  const routes = parseRoutesConfig({ accounts, sources: { form: { default: { deliverTo: Object.keys(accounts) } } } });
  return { routes, route: findRoute(routes, 'form', 'default') as ResolvedRoute };
}

function person(route: ResolvedRoute, n: number): { body: string; contact: Contact } {
  const digits = String(n).padStart(2, '0');
  const contact = testContact({
    firstName: `Lead${digits}`,
    emails: [`lead${digits}@example.com`],
    phones: [{ e164: `+141555501${digits}` }],
    origin: { ...testContact().origin, eventKey: `form:default:lead-${digits}`, personKey: `lead${digits}` },
  });
  return { body: encodeDeliveryJob(toDeliveryJob(contact, route, contact.origin.eventKey, new Date(START))), contact };
}

const requestsTo = (provider: string) =>
  emulator.state.requests.filter((request) => request.provider === provider && !request.path.startsWith('/_'));
const contactsAt = (provider: string) => emulator.state.contacts.filter((contact) => contact.provider === provider);

describe('Function: deliverQueuedJob, paced', () => {
  it("delivers the account's burst now and books the rest one interval apart, with no attempt counted", async () => {
    const { routes, route } = routesWith({ kirim: { provider: 'kirim', rate: { perMinute: 60, burst: 2 } } });
    const { deps, clock, later } = await pacedDeps(routes);
    const jobs = Array.from({ length: 5 }, (_, n) => person(route, n));
    await Promise.all(jobs.map(({ body }) => deliverQueuedJob(body, { ...deps, receiveCount: 1 })));
    expect(contactsAt('kirim')).toHaveLength(2);
    // Three sent back, each with its own second, none an attempt.
    expect(later.map(({ delaySeconds }) => delaySeconds).sort()).toEqual([1, 2, 3]);
    for (const { job, delaySeconds } of later) {
      expect(job.deferral).toEqual({
        attempts: 0,
        throttles: 0,
        done: [],
        booked: { kirim: START + delaySeconds * 1000 },
      });
    }
    // Each comes back at its time and uses the token it booked: no other token is taken meanwhile.
    const writes = emulator.state.requests.length;
    for (const { job, delaySeconds } of [...later].sort((a, b) => a.delaySeconds - b.delaySeconds)) {
      clock.now = START + delaySeconds * 1000;
      await deliverQueuedJob(encodeDeliveryJob(job), { ...deps, receiveCount: 1 });
    }
    expect(contactsAt('kirim')).toHaveLength(5);
    expect(new Set(contactsAt('kirim').map((contact) => contact.phone)).size).toBe(5);
    expect(later).toHaveLength(3); // nothing deferred twice
    expect(emulator.state.requests.length).toBeGreaterThan(writes);
    expect(await deps.store.takeToken('kirim', { perMinute: 60, burst: 2 })).toEqual({
      taken: false,
      readyAt: START + 4_000,
    });
  });

  it('delivers the other accounts of a job while one waits, and never calls or charges them again', async () => {
    const { routes, route } = routesWith({
      twochat: { provider: 'twochat', rate: { perMinute: 600, burst: 100 } },
      kirim: { provider: 'kirim', rate: { perMinute: 6, burst: 1 } },
    });
    const { deps, clock, later } = await pacedDeps(routes);
    const jobs = Array.from({ length: 3 }, (_, n) => person(route, n));
    for (const { body } of jobs) await deliverQueuedJob(body, { ...deps, receiveCount: 1 });
    expect(contactsAt('twochat')).toHaveLength(3);
    expect(contactsAt('kirim')).toHaveLength(1);
    expect(later.map(({ job }) => job.deferral?.done)).toEqual([['twochat'], ['twochat']]);
    const twochatRequests = requestsTo('twochat').length;
    for (const { job } of later) {
      clock.now = job.deferral?.booked['kirim'] as number;
      await deliverQueuedJob(encodeDeliveryJob(job), { ...deps, receiveCount: 1 });
    }
    expect(contactsAt('kirim')).toHaveLength(3);
    expect(requestsTo('twochat')).toHaveLength(twochatRequests);
  });

  it("honours a provider's Retry-After: the bucket is held until then and the job deferred to it, not failed", async () => {
    // Our rate above Kirim's, as when another tool spends the same organisation's writes.
    await fetch(`${emulator.url}/_emulator/rate-limits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'kirim', perMinute: 1, burst: 1 }),
    });
    const { routes, route } = routesWith({ kirim: { provider: 'kirim', rate: { perMinute: 600, burst: 10 } } });
    const { deps, clock, later } = await pacedDeps(routes);
    clock.now = Date.now(); // the emulator's limit counts real time
    const [first, second] = [person(route, 1), person(route, 2)];
    await deliverQueuedJob(first.body, { ...deps, receiveCount: 1 });
    await deliverQueuedJob(second.body, { ...deps, receiveCount: 1 });
    const refused = requestsTo('kirim').filter((request) => request.rateLimited);
    expect(refused).toHaveLength(1); // returned at once, not retried inside the function
    expect(later).toHaveLength(1);
    const [deferred] = later;
    // Kirim's Retry-After is the seconds until its bucket has a token: 60 s at one a minute.
    expect(deferred?.delaySeconds).toBeGreaterThanOrEqual(59);
    expect(deferred?.delaySeconds).toBeLessThanOrEqual(60);
    expect(deferred?.job.deferral).toEqual({ attempts: 0, throttles: 1, done: [], booked: {} });
    // Nobody gets a token for the account before the provider said it would take one.
    const token = await deps.store.takeToken('kirim', { perMinute: 600, burst: 10 });
    expect(token.taken).toBe(false);
    if (!token.taken) expect(token.readyAt).toBeGreaterThanOrEqual(clock.now + 59_000);
  });

  it('calls an account waiting for its token at its time while another keeps failing, counting only the failures', async () => {
    const { routes, route } = routesWith({
      kirim: { provider: 'kirim', rate: { perMinute: 60, burst: 1 } },
      twochat: { provider: 'twochat', rate: { perMinute: 600, burst: 100 } },
    });
    const { deps, clock, later } = await pacedDeps(routes);
    await deps.store.takeToken('kirim', { perMinute: 60, burst: 1 }); // another job took Kirim's token
    emulator.state.faults.push({ provider: 'twochat', status: 503, times: 1_000 });
    const { body } = person(route, 1);
    await deliverQueuedJob(body, { ...deps, receiveCount: 1 });
    expect(later).toHaveLength(1);
    const [first] = later as [{ job: DeliveryJob; delaySeconds: number }];
    // Kirim waits a second for its booked token; 2Chat's failure is an attempt, tried again a visibility later.
    expect(first.delaySeconds).toBe(1);
    expect(first.job.deferral).toEqual({
      attempts: 1,
      throttles: 0,
      done: [],
      booked: { kirim: START + 1_000 },
      retryAt: { twochat: START + 360_000 },
    });
    clock.now = START + 1_000;
    const twochatCalls = requestsTo('twochat').length;
    await deliverQueuedJob(encodeDeliveryJob(first.job), { ...deps, receiveCount: 1 });
    expect(contactsAt('kirim')).toHaveLength(1);
    expect(requestsTo('twochat')).toHaveLength(twochatCalls); // not before its retry time
    const second = (later[1] as { job: DeliveryJob; delaySeconds: number }).job;
    expect(second.deferral).toMatchObject({ attempts: 1, done: ['kirim'], retryAt: { twochat: START + 360_000 } });
    // At its retry time 2Chat answers again: created, and the job is done.
    emulator.state.faults = [];
    clock.now = START + 360_000;
    await deliverQueuedJob(encodeDeliveryJob(second), { ...deps, receiveCount: 1 });
    expect(contactsAt('twochat')).toHaveLength(1);
    expect(later).toHaveLength(2);
  });

  it('dead-letters, as the job was accepted, a deferred job whose real attempts reach maxReceiveCount', async () => {
    const rate = { perMinute: 60, burst: 1 };
    const { routes, route } = routesWith({ kirim: { provider: 'kirim', rate } });
    const { deps, clock, later, deadLetters } = await pacedDeps(routes);
    emulator.state.secrets.delete(KIRIM_SECRET); // a real failure: the account's secret is missing
    const { body } = person(route, 1);
    const VISIBILITY_MS = 360_000; // each failed receive comes back a visibility timeout later
    // Receives 1 and 2 fail for real; before receive 3 another job takes the account's token, so it is deferred.
    await expect(deliverQueuedJob(body, { ...deps, receiveCount: 1 })).rejects.toBeInstanceOf(DeliveryIncompleteError);
    clock.now += VISIBILITY_MS;
    await expect(deliverQueuedJob(body, { ...deps, receiveCount: 2 })).rejects.toBeInstanceOf(DeliveryIncompleteError);
    clock.now += VISIBILITY_MS;
    expect(await deps.store.takeToken('kirim', rate)).toEqual({ taken: true });
    await deliverQueuedJob(body, { ...deps, receiveCount: 3 });
    expect(later.map(({ job }) => job.deferral?.attempts)).toEqual([2]); // two attempts, carried by the job
    // The new message fails for real at its receives 1 and 2 (SQS counts 2): 2 + 2 = 4 attempts, retried.
    const { job: deferred, delaySeconds } = later[0] as { job: DeliveryJob; delaySeconds: number };
    clock.now += delaySeconds * 1000;
    for (const receiveCount of [1, 2]) {
      const receive = deliverQueuedJob(encodeDeliveryJob(deferred), { ...deps, receiveCount });
      await expect(receive).rejects.toBeInstanceOf(DeliveryIncompleteError);
      clock.now += VISIBILITY_MS;
    }
    expect(deadLetters).toHaveLength(0);
    // Its receive 3 is the fifth real attempt: deliver moves it to the dead-letter queue, as SQS would have.
    await deliverQueuedJob(encodeDeliveryJob(deferred), { ...deps, receiveCount: 3 });
    expect(deadLetters).toEqual([parseDeliveryJob(body)]); // no deferral: a redrive starts its attempts afresh
    expect(later).toHaveLength(1);
  });
});
