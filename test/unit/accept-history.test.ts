/**
 * acceptEvent's history writes on the real store (dynalite): the ingest record names the event's source,
 * route and receipt and is kept for the route's retention; a duplicate is counted; the person index is written
 * once the job is queued, and neither a missing lookup key nor a failed index write fails the accept.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contact } from '../../shared/contact.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../shared/config/routes.js';
import { acceptEvent, type AcceptDependencies } from '../../shared/ingest.js';
import type { DeliveryJob } from '../../shared/jobs.js';
import { emailHash, personHashes, phoneHash } from '../../shared/person-key.js';
import { SecretNotFoundError } from '../../shared/secrets.js';
import { createDynamoStore, type OutcomeStore } from '../../shared/store.js';
import { testContact } from '../helpers/contacts.js';
import { createEventsTable, localCredentials, startDynalite } from '../helpers/dynamo.js';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let client: DynamoDBClient;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: localCredentials });
  documents = DynamoDBDocumentClient.from(client);
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

const KEY = 'a lookup key of at least 32 characters';
const NOW = Date.parse('2026-12-03T09:30:00.000Z');
const DAY = 24 * 3600;

function route(retention: { config?: number; route?: number } = {}): ResolvedRoute {
  const own = retention.route === undefined ? {} : { retentionDays: retention.route };
  const top = retention.config === undefined ? {} : { retentionDays: retention.config };
  const config = parseRoutesConfig({
    ...top,
    accounts: { kirim: { provider: 'kirim' } },
    sources: { form: { default: { deliverTo: ['kirim'], ...own } } },
  });
  return findRoute(config, 'form', 'default') as ResolvedRoute;
}

interface Setup {
  tableName: string;
  deps: AcceptDependencies;
  /** What happened, in order: the job sent, the index written. */
  order: string[];
  warnings: Array<[string, Record<string, unknown>]>;
}

async function setup(options: { personHashes?: AcceptDependencies['personHashes']; store?: Partial<OutcomeStore> }) {
  const tableName = await createEventsTable(dynamo.endpoint);
  const real = createDynamoStore({ tableName, client, now: () => NOW });
  const order: string[] = [];
  const store: OutcomeStore = {
    ...real,
    indexPerson: async (...args) => {
      order.push('index');
      return real.indexPerson(...args);
    },
    ...options.store,
  };
  const warnings: Setup['warnings'] = [];
  const deps: AcceptDependencies = {
    store,
    queue: {
      send: async (job: DeliveryJob) => {
        order.push(`queue ${job.eventKey}`);
      },
    },
    now: () => new Date(NOW),
    logger: {
      warn: (message, ...extra) => {
        warnings.push([String(message), (extra[0] ?? {}) as Record<string, unknown>]);
      },
    },
    ...(options.personHashes === undefined ? {} : { personHashes: options.personHashes }),
  };
  return { tableName, deps, order, warnings } satisfies Setup;
}

const scan = async (tableName: string) => (await documents.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
const item = async (tableName: string, pk: string, sk: string) =>
  (await documents.send(new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }))).Item;
const hashesWithKey = async (contact: Contact) => personHashes(KEY, contact);

describe('Function: acceptEvent, the event history', () => {
  it("writes the ingest record with source, route and receipt, kept the route's retentionDays", async () => {
    const { tableName, deps } = await setup({});
    const contact = testContact();
    expect(await acceptEvent(contact, route({ config: 60, route: 9 }), 'form:default:e1', deps)).toBe('accepted');
    expect(await item(tableName, 'event#form:default:e1', 'ingest')).toMatchObject({
      source: 'form',
      route: 'default',
      receivedAt: NOW,
      answer: 'accepted',
      state: 'queued',
      gsi1pk: 'events#2026-12-03',
      gsi1sk: `${NOW}#form:default:e1`,
      expiresAt: Math.floor(NOW / 1000) + 9 * DAY,
    });
  });

  it("keeps an event the config's retentionDays when its route sets none, and 30 days when neither does", async () => {
    const { tableName, deps } = await setup({});
    await acceptEvent(testContact(), route({ config: 90 }), 'form:default:e1', deps);
    await acceptEvent(testContact(), route(), 'form:default:e2', deps);
    const expiry = async (key: string) => (await item(tableName, `event#${key}`, 'ingest'))?.['expiresAt'];
    expect(await expiry('form:default:e1')).toBe(Math.floor(NOW / 1000) + 90 * DAY);
    expect(await expiry('form:default:e2')).toBe(Math.floor(NOW / 1000) + 30 * DAY);
  });

  it('counts each duplicate webhook on the event', async () => {
    const { tableName, deps } = await setup({});
    await acceptEvent(testContact(), route(), 'form:default:e1', deps);
    expect(await acceptEvent(testContact(), route(), 'form:default:e1', deps)).toBe('duplicate');
    expect(await acceptEvent(testContact(), route(), 'form:default:e1', deps)).toBe('duplicate');
    expect(await item(tableName, 'event#form:default:e1', 'ingest')).toMatchObject({
      duplicates: 2,
      lastDuplicateAt: NOW,
    });
  });

  it('answers a duplicate even when the count cannot be written, with a warning', async () => {
    const { deps, warnings } = await setup({
      store: {
        countDuplicate: async () => {
          throw new Error('table unavailable');
        },
      },
    });
    await acceptEvent(testContact(), route(), 'form:default:e1', deps);
    expect(await acceptEvent(testContact(), route(), 'form:default:e1', deps)).toBe('duplicate');
    expect(warnings.map(([message]) => message)).toEqual(['duplicate not counted']);
  });

  it('indexes the person by the keyed hash of each email and phone once the job is queued', async () => {
    const { tableName, deps, order } = await setup({ personHashes: hashesWithKey });
    const contact = testContact({ emails: ['Ada@Example.com'], phones: [{ e164: '+14155550132' }] });
    await acceptEvent(contact, route({ route: 12 }), 'form:default:e1', deps);
    expect(order).toEqual(['queue form:default:e1', 'index']);
    const people = (await scan(tableName)).filter((stored) => String(stored['pk']).startsWith('person#'));
    const entry = {
      sk: `${NOW}#form:default:e1`,
      eventKey: 'form:default:e1',
      source: 'form',
      route: 'default',
      receivedAt: NOW,
      expiresAt: Math.floor(NOW / 1000) + 12 * DAY,
    };
    expect(people).toEqual(
      expect.arrayContaining([
        { pk: `person#${emailHash(KEY, 'ada@example.com')}`, ...entry },
        { pk: `person#${phoneHash(KEY, '+14155550132')}`, ...entry },
      ]),
    );
    expect(people).toHaveLength(2);
  });

  it('leaves no email or phone readable anywhere in the table after an accept', async () => {
    const { tableName, deps } = await setup({ personHashes: hashesWithKey });
    const contact = testContact({ emails: ['grace.hopper@example.org'], phones: [{ e164: '+447700900123' }] });
    await acceptEvent(contact, route(), 'form:default:e1', deps);
    await acceptEvent(contact, route(), 'form:default:e1', deps);
    const stored = JSON.stringify(await scan(tableName)).toLowerCase();
    expect(stored).toContain('person#');
    for (const personal of ['grace.hopper@example.org', 'hopper', '447700900123', '7700900123'])
      expect(stored).not.toContain(personal);
  });

  it('accepts the event without a person index when the lookup key is missing, with a warning', async () => {
    const missing = async () => {
      throw new SecretNotFoundError('contact-relay/test/lookup-key');
    };
    const { tableName, deps, warnings } = await setup({ personHashes: missing });
    expect(await acceptEvent(testContact(), route(), 'form:default:e1', deps)).toBe('accepted');
    expect((await scan(tableName)).map((stored) => stored['pk'])).toEqual(['event#form:default:e1']);
    expect(warnings).toEqual([
      [
        'person index not written',
        expect.objectContaining({ eventKey: 'form:default:e1', error: expect.any(SecretNotFoundError) }),
      ],
    ]);
  });

  it('accepts the event when the index write fails, with a warning', async () => {
    const { deps, warnings } = await setup({
      personHashes: hashesWithKey,
      store: {
        indexPerson: async () => {
          throw new Error('ProvisionedThroughputExceededException');
        },
      },
    });
    expect(await acceptEvent(testContact(), route(), 'form:default:e1', deps)).toBe('accepted');
    expect(warnings.map(([message]) => message)).toEqual(['person index not written']);
  });

  it('writes no person index for a lead named by reference: its contact is read at delivery', async () => {
    let asked = 0;
    const { order, deps } = await setup({
      personHashes: async (contact) => {
        asked++;
        return personHashes(KEY, contact);
      },
    });
    const lead = { kind: 'meta-lead' as const, leadgenId: '444444444444', pageId: '100000000000001' };
    const metaRoute = findRoute(
      parseRoutesConfig({
        accounts: { kirim: { provider: 'kirim' } },
        sources: { 'meta-leads': { default: { deliverTo: ['kirim'] } } },
      }),
      'meta-leads',
      'default',
    ) as ResolvedRoute;
    expect(await acceptEvent(lead, metaRoute, 'meta-leads:default:444444444444', deps)).toBe('accepted');
    expect([asked, order]).toEqual([0, ['queue meta-leads:default:444444444444']]);
  });
});
