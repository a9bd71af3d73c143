/**
 * What a warm container keeps between invocations: validated env and route
 * config, one secrets cache, one keep-alive HTTP client, the AWS clients.
 * Built once at cold start; a bad env or route file fails here with the
 * field named.
 */
import routesFile from '../config/routes.json' with { type: 'json' };
import type { Contact } from './contact.js';
import { loadEnv, providerBaseUrls, requireEnv, type Env } from './config/env.js';
import { parseRoutesConfig, type RoutesConfig } from './config/routes.js';
import { createHttpClient } from './http.js';
import { acceptEvent, sourceSecretReader, type IngestDependencies } from './ingest.js';
import type { LeadFetcher } from './leads.js';
import { lookupKeyReader, lookupKeySecretName, personHashes } from './person-key.js';
import type { ProviderContext } from './providers/types.js';
import { createDeferralQueue, createSqsQueue, type DeferralQueue } from './queue.js';
import { DEFAULT_SECRET_TTL_MS, SecretStore } from './secrets.js';
import { createMetaLeadFetcher } from './sources/meta-graph.js';
import { captchaVerifyUrls, type FormProtectionDependencies } from './sources/protection.js';
import { createDynamoStore, type OutcomeStore } from './store.js';

export interface Runtime {
  env: Env;
  routes: RoutesConfig;
}

export function createRuntime(
  environment: Record<string, string | undefined> = process.env,
  routes: unknown = routesFile,
): Runtime {
  const env = loadEnv(environment);
  return { env, routes: parseRoutesConfig(routes, undefined, env.STAGE) };
}

/**
 * Ingest functions: source secrets from the shared cache, dedupe in the table, jobs on the queue, and the
 * person index keyed with the stage's lookup key (read through the same cache: one read per TTL).
 */
export function ingestDependencies(
  runtime: Runtime,
  secrets = new SecretStore(secretTtl(runtime)),
): Pick<IngestDependencies, 'routes' | 'accept' | 'acceptLead' | 'sourceSecret'> {
  const store = createDynamoStore({ tableName: requireEnv(runtime.env, 'TABLE_NAME') });
  const queue = createSqsQueue(requireEnv(runtime.env, 'QUEUE_URL'));
  const lookupKey = lookupKeySecretName(runtime.env.STAGE);
  const readLookupKey = lookupKeyReader(secrets, lookupKey, secretTtl(runtime).ttlMs ?? DEFAULT_SECRET_TTL_MS);
  const writes = {
    store,
    queue,
    personHashes: async (contact: Contact) => personHashes(await readLookupKey(), contact),
  };
  return {
    routes: runtime.routes,
    accept: (contact, route, eventKey, aliases, bodyKey) =>
      acceptEvent(contact, route, eventKey, writes, aliases, bodyKey),
    acceptLead: (lead, route, eventKey) => acceptEvent(lead, route, eventKey, writes),
    sourceSecret: sourceSecretReader(secrets, runtime.env.STAGE),
  };
}

/** The forms function: plain form routes' rate limits in the table, captcha tokens checked with siteverify. */
export function formProtection(runtime: Runtime): FormProtectionDependencies {
  const store = createDynamoStore({ tableName: requireEnv(runtime.env, 'TABLE_NAME') });
  return {
    allowOpenRoutes: runtime.env.ALLOW_OPEN_FORM_ROUTES === 'true',
    countRequest: (key, limit, windowSeconds) => store.countRequest(key, limit, windowSeconds),
    // Siteverify answers in well under a second, and a visitor is waiting.
    http: createHttpClient({ connectTimeoutMs: 2_000, responseTimeoutMs: 4_000, maxResponseBytes: 64 * 1024 }),
    verifyUrls: captchaVerifyUrls(runtime.env),
  };
}

function secretTtl(runtime: Runtime): { ttlMs?: number } {
  const ttl = runtime.env.SECRETS_TTL_SECONDS;
  return ttl === undefined ? {} : { ttlMs: Number(ttl) * 1000 };
}

export function providerContext(runtime: Runtime): ProviderContext {
  return {
    stage: runtime.env.STAGE,
    secrets: new SecretStore(secretTtl(runtime)),
    http: createHttpClient(),
    baseUrls: providerBaseUrls(runtime.env),
  };
}

/**
 * Deliver: reads the leads jobs name by reference (Meta Lead Ads) from the Graph API, or from
 * `META_GRAPH_URL` (the local emulator), with the providers' secrets cache and keep-alive client.
 */
export function leadFetcher(runtime: Runtime, shared: Pick<ProviderContext, 'secrets' | 'http'>): LeadFetcher {
  return createMetaLeadFetcher({ ...shared, stage: runtime.env.STAGE, baseUrl: runtime.env.META_GRAPH_URL });
}

export function outcomeStore(runtime: Runtime): OutcomeStore {
  return createDynamoStore({ tableName: requireEnv(runtime.env, 'TABLE_NAME') });
}

/** Deliver: the queue deferred jobs go back to, and the dead-letter queue for those whose attempts are spent. */
export function deferralQueue(runtime: Runtime): DeferralQueue {
  return createDeferralQueue({
    queueUrl: requireEnv(runtime.env, 'QUEUE_URL'),
    dlqUrl: requireEnv(runtime.env, 'DLQ_URL'),
  });
}
