/**
 * deliverQueuedJob over real sockets: the providers' emulator, its Secrets
 * Manager endpoint, the real DynamoDB store on dynalite and the real
 * Powertools logger. A job is received again while any account is
 * transient; each outcome must be logged, and so counted by the metric
 * filters of infra/monitoring.yml, by the receive that reached it only.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Contact } from '../../shared/contact.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute, type RoutesConfig } from '../../shared/config/routes.js';
import { DeliveryIncompleteError, deliverJob, deliverQueuedJob } from '../../shared/delivery.js';
import type { HttpClient } from '../../shared/http.js';
import { toDeliveryJob } from '../../shared/jobs.js';
import {
  LeadFetchTransientError,
  LeadUnavailableError,
  type LeadFetcher,
  type MetaLeadReference,
} from '../../shared/leads.js';
import { createLogger } from '../../shared/logging.js';
import type { ProviderContext } from '../../shared/providers/types.js';
import { SecretStore } from '../../shared/secrets.js';
import { createDynamoStore, type OutcomeStore } from '../../shared/store.js';
import { functionAccessKeyId, LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/emulator/iam.js';
import type { Emulator } from '../../local/emulator/server.js';
import { testContact } from '../helpers/contacts.js';
import { startDeliveryBackends, type DeliveryBackends } from '../helpers/delivery-backends.js';
import { createEventsTable, type startDynalite } from '../helpers/dynamo.js';
import { jsonLines, monitoringFilters, publish } from '../helpers/metric-filters.js';

const STAGE = 'delivery';
const KIRIM_SECRET = `contact-relay/${STAGE}/provider/kirim`;
const kirimSecret = { token: 'key-kirim', phoneNumberId: '106540352242922' };
const TWOCHAT_SECRET_ARN = `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:contact-relay/${STAGE}/provider/twochat-??????`;

let emulator: Emulator;
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let dynamoClient: DynamoDBClient;
let secretsClient: SecretsManagerClient;
let http: HttpClient;
const routes: RoutesConfig = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' }, kirim: { provider: 'kirim' } },
  sources: { form: { default: { deliverTo: ['twochat', 'kirim'] } } },
});
const route = findRoute(routes, 'form', 'default') as ResolvedRoute;

let backends: DeliveryBackends;
beforeAll(async () => {
  backends = await startDeliveryBackends({
    secrets: { [`contact-relay/${STAGE}/provider/twochat`]: { apiKey: 'key-2chat' } },
    credentials: { twochat: ['key-2chat'], kirim: ['key-kirim'] },
    // Calls signed as `deliver` are held to this role, which reads 2Chat's secret only (a grant that misses
    // an account): reading Kirim's is refused with AccessDeniedException. The tests' own key is not evaluated.
    iam: {
      stage: STAGE,
      roles: {
        deliver: {
          logicalId: 'DeliverFunctionRole',
          statements: [
            { effect: 'Allow', actions: ['secretsmanager:GetSecretValue'], resources: [TWOCHAT_SECRET_ARN] },
          ],
        },
      },
    },
  });
  ({ emulator, dynamo, dynamoClient, secretsClient, http } = backends);
});
afterAll(() => backends.close());
afterEach(() => vi.restoreAllMocks());

function providers(secrets = new SecretStore({ client: secretsClient })): ProviderContext {
  return {
    stage: STAGE,
    secrets,
    http,
    baseUrls: { twochat: `${emulator.url}/twochat`, kirim: `${emulator.url}/kirim` },
  };
}

/** What the logger writes during `run` (warnings and errors go to stderr; Lambda sends both to the log group). */
async function logged(run: () => Promise<void>): Promise<Array<Record<string, unknown>>> {
  const output: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }
  await run();
  vi.restoreAllMocks();
  return jsonLines(output);
}

const jobBody = (contact: Contact) =>
  JSON.stringify(toDeliveryJob(contact, route, contact.origin.eventKey, new Date('2026-11-21T10:00:00.000Z')));

async function freshStore(): Promise<OutcomeStore> {
  return createDynamoStore({ tableName: await createEventsTable(dynamo.endpoint), client: dynamoClient });
}

describe('Function: deliverQueuedJob', () => {
  it('logs each outcome once, at the receive that reached it, so the outcome metrics count it once', async () => {
    emulator.state.reset();
    emulator.state.secrets.delete(KIRIM_SECRET);
    const store = await freshStore();
    const logger = createLogger('contact-relay');
    const contact = testContact({ origin: { ...testContact().origin, eventKey: 'form:default:once' } });
    const body = jobBody(contact);
    const deps = { routes, providers: providers(), store, logger };

    // Receives 1 and 2: Kirim's secret is missing (transient), 2Chat is created at the first.
    const lines = await logged(async () => {
      for (const receiveCount of [1, 2]) {
        await expect(deliverQueuedJob(body, { ...deps, receiveCount })).rejects.toBeInstanceOf(DeliveryIncompleteError);
      }
      emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
      const outcomes = await deliverQueuedJob(body, { ...deps, receiveCount: 3 });
      expect(outcomes.map((outcome) => [outcome.account, outcome.status])).toEqual([
        ['twochat', 'created'],
        ['kirim', 'created'],
      ]);
    });

    const outcomeLines = lines.filter((line) => line['message'] === 'delivery outcome');
    expect(outcomeLines.map((line) => [line['receiveCount'], line['account'], line['status']])).toEqual([
      [1, 'twochat', 'created'],
      [1, 'kirim', 'transient'],
      [2, 'kirim', 'transient'],
      [3, 'kirim', 'created'],
    ]);
    expect(emulator.state.contacts.map((c) => c.provider).sort()).toEqual(['kirim', 'twochat']);

    const metrics = publish(monitoringFilters(STAGE), 'DeliverLogGroup', lines);
    expect(Object.fromEntries(metrics)).toEqual({
      [`ContactRelay/${STAGE} OutcomeCreated Provider=twochat`]: 1,
      [`ContactRelay/${STAGE} OutcomeCreated Provider=kirim`]: 1,
      [`ContactRelay/${STAGE} OutcomeTransient Provider=kirim`]: 2,
    });
  });

  it('logs an account another attempt is delivering as busy, not as an outcome, and leaves it alone', async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    const store = await freshStore();
    const contact = testContact({ origin: { ...testContact().origin, eventKey: 'form:default:busy' } });
    const body = jobBody(contact);
    // Another attempt holds Kirim's lease.
    expect(await store.claimOutcome(contact.origin.eventKey, 'kirim')).toMatchObject({ kind: 'claimed' });

    const lines = await logged(async () => {
      const deps = { routes, providers: providers(), store, logger: createLogger('contact-relay'), receiveCount: 1 };
      await expect(deliverQueuedJob(body, deps)).rejects.toThrow('1 provider account(s) not reached yet: kirim');
    });
    const withMessage = (message: string) => lines.filter((line) => line['message'] === message);
    const outcomes = withMessage('delivery outcome').map((line) => [line['account'], line['status']]);
    expect(outcomes).toEqual([['twochat', 'created']]);
    expect(withMessage('delivery busy').map((line) => line['account'])).toEqual(['kirim']);
    expect(emulator.state.contacts.map((c) => c.provider)).toEqual(['twochat']);
    const metrics = publish(monitoringFilters(STAGE), 'DeliverLogGroup', lines);
    expect(Object.fromEntries(metrics)).toEqual({ [`ContactRelay/${STAGE} OutcomeCreated Provider=twochat`]: 1 });
  });

  it("finishes every account when one throws while another's create is slow, and releases every claim", async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    const store = await freshStore();
    const contact = testContact({ origin: { ...testContact().origin, eventKey: 'form:default:throws' } });
    // 2Chat's create answers after a second; reading Kirim's secret is refused at once.
    emulator.state.faults.push({ provider: 'twochat', delayMs: 1000, method: 'POST', times: 1 });
    const asDeliver = new SecretsManagerClient({
      endpoint: emulator.url,
      region: LOCAL_REGION,
      credentials: { accessKeyId: functionAccessKeyId('deliver'), secretAccessKey: 'local' },
    });

    try {
      const lines = await logged(async () => {
        const secrets = new SecretStore({ client: asDeliver });
        const logger = createLogger('contact-relay');
        const deps = { routes, providers: providers(secrets), store, logger, receiveCount: 1 };
        const incomplete = new DeliveryIncompleteError('1 provider account(s) not reached yet: kirim');
        await expect(deliverQueuedJob(jobBody(contact), deps)).rejects.toThrow(incomplete);
      });

      // Nothing is left in flight: 2Chat's outcome is recorded, Kirim's claim is free for the next receive.
      expect(await store.claimOutcome(contact.origin.eventKey, 'twochat')).toMatchObject({
        kind: 'settled',
        outcome: { status: 'created' },
      });
      expect(await store.claimOutcome(contact.origin.eventKey, 'kirim')).toMatchObject({ kind: 'claimed' });
      expect(emulator.state.contacts.map((c) => c.provider)).toEqual(['twochat']);
      const outcomes = lines.filter((line) => line['message'] === 'delivery outcome');
      expect(outcomes.map((line) => [line['account'], line['status'], line['code']])).toEqual([
        ['twochat', 'created', undefined],
        ['kirim', 'transient', 'delivery_error'],
      ]);
      expect(outcomes[1]?.['detail']).toMatch(/^delivery stopped: AccessDeniedException: /);
      expect(outcomes[1]?.['error']).toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      asDeliver.destroy();
    }
  });

  it('keeps a refused key retryable: the next receive after the key is fixed creates the contact once', async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify({ ...kirimSecret, token: 'key-kirim-wrong' }));
    const store = await freshStore();
    const contact = testContact({ origin: { ...testContact().origin, eventKey: 'form:default:refused-key' } });
    const deps = { routes, providers: providers(), store, logger: createLogger('contact-relay') };

    const lines = await logged(async () => {
      const first = deliverQueuedJob(jobBody(contact), { ...deps, receiveCount: 1 });
      await expect(first).rejects.toThrow('not reached yet: kirim');
      emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
      // The cached wrong key is refused once more, then read afresh: the right one.
      const outcomes = await deliverQueuedJob(jobBody(contact), { ...deps, receiveCount: 2 });
      expect(outcomes.map((outcome) => [outcome.account, outcome.status])).toEqual([
        ['twochat', 'created'],
        ['kirim', 'created'],
      ]);
    });

    const outcomeLines = lines.filter((line) => line['message'] === 'delivery outcome');
    expect(outcomeLines.map((line) => [line['receiveCount'], line['account'], line['status'], line['code']])).toEqual([
      [1, 'twochat', 'created', undefined],
      [1, 'kirim', 'transient', 'unauthorized'],
      [2, 'kirim', 'created', undefined],
    ]);
    expect(outcomeLines[1]?.['detail']).toContain(`secret "${KIRIM_SECRET}"`);
    expect(emulator.state.contacts.map((c) => c.provider).sort()).toEqual(['kirim', 'twochat']);
    // Counted as a transient outcome, not as a contact refused for good (the delivery-failed alarm).
    const metrics = publish(monitoringFilters(STAGE), 'DeliverLogGroup', lines);
    expect(Object.fromEntries(metrics)).toEqual({
      [`ContactRelay/${STAGE} OutcomeCreated Provider=twochat`]: 1,
      [`ContactRelay/${STAGE} OutcomeCreated Provider=kirim`]: 1,
      [`ContactRelay/${STAGE} OutcomeTransient Provider=kirim`]: 1,
    });
  });

  it("refuses and logs the outcome of an attempt that outlived its lease; its successor's stands", async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    // A short lease, and a 2Chat create whose answer comes after it: the first attempt looks dead.
    const tableName = await createEventsTable(dynamo.endpoint);
    const store = createDynamoStore({ tableName, client: dynamoClient, settings: { leaseMs: 300 } });
    emulator.state.faults.push({ provider: 'twochat', delayMs: 2000, method: 'POST', times: 1 });
    const contact = testContact({ origin: { ...testContact().origin, eventKey: 'form:default:superseded' } });
    const deps = { routes, providers: providers(), store, logger: createLogger('contact-relay') };

    const lines = await logged(async () => {
      const stale = deliverQueuedJob(jobBody(contact), { ...deps, receiveCount: 1 });
      const staleSettled = stale.then(
        () => undefined,
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 800));
      // The job comes back while the first attempt still waits for 2Chat: the lease has run out, so it is taken over.
      const outcomes = await deliverQueuedJob(jobBody(contact), { ...deps, receiveCount: 2 });
      expect(outcomes.map((outcome) => [outcome.account, outcome.status])).toEqual([
        ['twochat', 'exists'],
        ['kirim', 'created'],
      ]);
      expect(await staleSettled).toEqual(new DeliveryIncompleteError('1 provider account(s) not reached yet: twochat'));
    });

    expect(await store.claimOutcome(contact.origin.eventKey, 'twochat')).toMatchObject({
      kind: 'settled',
      outcome: { status: 'exists' },
    });
    const withMessage = (message: string) => lines.filter((line) => line['message'] === message);
    const summary = (line: Record<string, unknown>) => [line['receiveCount'], line['account'], line['status']];
    const outcomes = withMessage('delivery outcome').map(summary);
    // Each receive logs when it ends: the second ends first.
    expect(outcomes).toEqual([
      [2, 'twochat', 'exists'],
      [1, 'kirim', 'created'],
    ]);
    const superseded = withMessage('delivery superseded');
    expect(superseded.map(summary)).toEqual([[1, 'twochat', 'created']]);
    expect(emulator.state.contacts.filter((c) => c.provider === 'twochat')).toHaveLength(1);
    const metrics = publish(monitoringFilters(STAGE), 'DeliverLogGroup', lines);
    expect(Object.fromEntries(metrics)).toEqual({
      [`ContactRelay/${STAGE} OutcomeCreated Provider=kirim`]: 1,
      [`ContactRelay/${STAGE} OutcomeExists Provider=twochat`]: 1,
    });
  });
});

describe('Function: deliverJob (lead jobs)', () => {
  const leadRoutes: RoutesConfig = parseRoutesConfig({
    accounts: { twochat: { provider: 'twochat' }, kirim: { provider: 'kirim' } },
    sources: { 'meta-leads': { default: { deliverTo: ['twochat', 'kirim'] } } },
  });
  const leadRoute = findRoute(leadRoutes, 'meta-leads', 'default') as ResolvedRoute;
  const lead: MetaLeadReference = { kind: 'meta-lead', leadgenId: '1500000000000301', pageId: '100000000000001' };
  const leadJob = (eventKey: string) => toDeliveryJob(lead, leadRoute, eventKey, new Date('2026-11-21T10:00:00.000Z'));

  /** A lead fetcher answering with `read`, counting its calls and what it was asked. */
  function fakeFetcher(read: (eventKey: string) => ReturnType<LeadFetcher>) {
    const calls: Array<{ lead: MetaLeadReference; route: string; eventKey: string }> = [];
    const fetcher: LeadFetcher = async (reference, route, eventKey) => {
      calls.push({ lead: reference, route: route.name, eventKey });
      return read(eventKey);
    };
    return { fetcher, calls };
  }
  const leadContact = (eventKey: string) =>
    testContact({ tags: ['meta-leads'], origin: { ...testContact().origin, source: 'meta-leads', eventKey } });

  it('fetches the lead once per receive, for every account that needs it, and delivers it to each', async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    const eventKey = 'meta-leads:once-per-receive';
    const { fetcher, calls } = fakeFetcher(async (key) => ({ contact: leadContact(key) }));
    const deliveries = await deliverJob(leadJob(eventKey), {
      routes: leadRoutes,
      providers: providers(),
      store: await freshStore(),
      leads: fetcher,
    });
    expect(deliveries.map(({ outcome, by }) => [outcome.account, outcome.status, by])).toEqual([
      ['twochat', 'created', 'delivered'],
      ['kirim', 'created', 'delivered'],
    ]);
    expect(calls).toEqual([{ lead, route: 'default', eventKey }]);
    expect(emulator.state.contacts.map((c) => c.provider).sort()).toEqual(['kirim', 'twochat']);
  });

  it('does not fetch the lead again once every account has settled', async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    const eventKey = 'meta-leads:settled';
    const store = await freshStore();
    const { fetcher, calls } = fakeFetcher(async (key) => ({ contact: leadContact(key) }));
    const deps = { routes: leadRoutes, providers: providers(), store, leads: fetcher };
    await deliverJob(leadJob(eventKey), deps);
    const again = await deliverJob(leadJob(eventKey), deps);
    expect(again.map(({ outcome, by }) => [outcome.account, outcome.status, by])).toEqual([
      ['twochat', 'created', 'settled earlier'],
      ['kirim', 'created', 'settled earlier'],
    ]);
    expect(calls).toHaveLength(1);
  });

  it('fetches only for the account still open: the settled one is not called again', async () => {
    emulator.state.reset();
    emulator.state.secrets.delete(KIRIM_SECRET);
    const eventKey = 'meta-leads:one-open';
    const store = await freshStore();
    const { fetcher, calls } = fakeFetcher(async (key) => ({ contact: leadContact(key) }));
    const deps = { routes: leadRoutes, providers: providers(), store, leads: fetcher };
    // Kirim has no secret yet: transient, while 2Chat is created.
    const first = await deliverJob(leadJob(eventKey), deps);
    expect(first.map(({ outcome }) => [outcome.account, outcome.status])).toEqual([
      ['twochat', 'created'],
      ['kirim', 'transient'],
    ]);
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    const second = await deliverJob(leadJob(eventKey), deps);
    expect(second.map(({ outcome, by }) => [outcome.account, outcome.status, by])).toEqual([
      ['twochat', 'created', 'settled earlier'],
      ['kirim', 'created', 'delivered'],
    ]);
    expect(calls).toHaveLength(2);
    expect(emulator.state.contacts.map((c) => c.provider).sort()).toEqual(['kirim', 'twochat']);
  });

  it('fails every account with the code and message of a lead that cannot be read, calling no provider', async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    const store = await freshStore();
    const message = 'the page access token for page 100000000000001 no longer works; put a new one into the secret';
    const { fetcher, calls } = fakeFetcher(async () => {
      throw new LeadUnavailableError('meta_token_invalid', message, 400);
    });
    const deliveries = await deliverJob(leadJob('meta-leads:unavailable'), {
      routes: leadRoutes,
      providers: providers(),
      store,
      leads: fetcher,
    });
    expect(deliveries.map(({ outcome }) => outcome)).toEqual([
      {
        account: 'twochat',
        provider: 'twochat',
        status: 'failed',
        code: 'meta_token_invalid',
        httpStatus: 400,
        message,
      },
      { account: 'kirim', provider: 'kirim', status: 'failed', code: 'meta_token_invalid', httpStatus: 400, message },
    ]);
    expect(calls).toHaveLength(1);
    expect(emulator.state.contacts).toEqual([]);
    // Failed is final: the next receive finds both settled.
    expect(await store.claimOutcome('meta-leads:unavailable', 'kirim')).toMatchObject({
      kind: 'settled',
      outcome: { status: 'failed' },
    });
  });

  it('leaves every account transient when the lead cannot be read now, so the queue brings the job back', async () => {
    emulator.state.reset();
    emulator.state.secrets.set(KIRIM_SECRET, JSON.stringify(kirimSecret));
    const store = await freshStore();
    const { fetcher } = fakeFetcher(async () => {
      throw new LeadFetchTransientError('the Graph API could not give lead 1500000000000301 now (Graph error 4)', 400);
    });
    const body = JSON.stringify(leadJob('meta-leads:transient'));
    const deps = {
      routes: leadRoutes,
      providers: providers(),
      store,
      leads: fetcher,
      logger: createLogger('contact-relay'),
    };
    let failure: unknown;
    await logged(async () => {
      failure = await deliverQueuedJob(body, { ...deps, receiveCount: 1 }).catch((error: unknown) => error);
    });
    expect(failure).toEqual(new DeliveryIncompleteError('2 provider account(s) not reached yet: twochat, kirim'));
    const deliveries = await deliverJob(leadJob('meta-leads:transient'), deps);
    expect(
      deliveries.map(({ outcome }) => [
        outcome.account,
        outcome.status,
        'message' in outcome ? outcome.message : undefined,
      ]),
    ).toEqual([
      [
        'twochat',
        'transient',
        'the lead could not be read yet: the Graph API could not give lead 1500000000000301 now (Graph error 4)',
      ],
      [
        'kirim',
        'transient',
        'the lead could not be read yet: the Graph API could not give lead 1500000000000301 now (Graph error 4)',
      ],
    ]);
    expect(emulator.state.contacts).toEqual([]);
  });
});
