/**
 * The engine alone, with a scripted adapter and HTTP client: lookup before
 * create, pages, retries with backoff inside the budget, the provider's
 * Retry-After, one fresh secret read on a refused key, transport errors as
 * transient. The four real adapters are tested over sockets beside this file.
 */
import { describe, expect, it } from 'vitest';
import { HttpConnectionError, type HttpClient, type HttpResponse } from '../../../shared/http.js';
import { backoffMs, deliverWithAdapter, MAX_LOOKUP_PAGES, retryDefaults } from '../../../shared/providers/engine.js';
import type {
  DeliveryTarget,
  ProviderAdapter,
  ProviderAnswer,
  ProviderContext,
} from '../../../shared/providers/types.js';
import { SecretStore } from '../../../shared/secrets.js';
import * as z from '../../../shared/zod.js';
import { testContact } from '../../helpers/contacts.js';
import { testRoute } from '../../helpers/routes.js';
import { scriptedHttp as http } from '../../helpers/scripted-http.js';

const route = testRoute();
const target: DeliveryTarget = { route, account: { name: 'twochat', provider: 'twochat' } };
const SECRET = 'contact-relay/test/provider/twochat';

/** A secret store whose key changes after `rotateAfter` reads (a key rotated while cached). */
function secrets(keys: string[]) {
  let reads = 0;
  const client = {
    send: async () => ({ SecretString: JSON.stringify({ apiKey: keys[Math.min(reads++, keys.length - 1)] }) }),
  };
  return { store: new SecretStore({ client: client as never }), reads: () => reads };
}

const reply = (status: number, body: unknown = {}, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: JSON.stringify(body),
});

/**
 * An adapter whose answers are read from the response body's `answer`: the
 * script decides, the engine's reaction is what is tested.
 */
function scriptedAdapter(options: { lookup?: boolean; skip?: string } = {}): ProviderAdapter {
  const read = (response: HttpResponse): ProviderAnswer =>
    (JSON.parse(response.body) as { answer: ProviderAnswer }).answer;
  return {
    provider: 'twochat',
    rateCost: () => 2,
    credentials: z.object({ apiKey: z.string() }),
    defaultBaseUrl: () => 'https://provider.example',
    skipReason: () => options.skip,
    ...(options.lookup === false
      ? {}
      : {
          lookup: ({ baseUrl, credentials }) => ({
            method: 'GET',
            url: `${baseUrl}/lookup`,
            headers: { key: (credentials as { apiKey: string }).apiKey },
          }),
          readLookup: (response) => read(response),
        }),
    create: ({ baseUrl, credentials }) => ({
      method: 'POST',
      url: `${baseUrl}/create`,
      headers: { key: (credentials as { apiKey: string }).apiKey },
    }),
    readCreate: (response) => read(response),
  };
}

const answer = (value: ProviderAnswer) => reply(200, { answer: value });
const NOT_FOUND = answer({ kind: 'not_found' });
const FAST = { baseDelayMs: 1, maxDelayMs: 2 };

function context(
  client: HttpClient,
  store: SecretStore,
  retry: Partial<ProviderContext['retry']> = FAST,
): ProviderContext {
  return { stage: 'test', secrets: store, http: client, baseUrls: {}, retry: retry ?? {} };
}

describe('Function: deliverWithAdapter', () => {
  it('skips a contact the adapter cannot take, calling nobody', async () => {
    const { client, requests } = http(() => NOT_FOUND);
    const { store, reads } = secrets(['k']);
    const outcome = await deliverWithAdapter(
      scriptedAdapter({ skip: 'no phone' }),
      testContact(),
      target,
      context(client, store),
    );
    expect(outcome).toEqual({ account: 'twochat', provider: 'twochat', status: 'skipped', reason: 'no phone' });
    expect(requests).toHaveLength(0);
    expect(reads()).toBe(0);
  });

  it('records a person the lookup finds as existing, without creating', async () => {
    const { client, requests } = http(() => answer({ kind: 'exists', id: 'c-1' }));
    const outcome = await deliverWithAdapter(
      scriptedAdapter(),
      testContact(),
      target,
      context(client, secrets(['k']).store),
    );
    expect(outcome).toMatchObject({ status: 'exists', providerContactId: 'c-1' });
    expect(requests.map((request) => request.url)).toEqual(['https://provider.example/lookup']);
  });

  it('creates after a lookup that finds nobody, with the base URL override and the secret’s key', async () => {
    const { client, requests } = http((request) =>
      request.url.endsWith('/lookup') ? NOT_FOUND : answer({ kind: 'created', id: 'c-2' }),
    );
    const ctx = { ...context(client, secrets(['key-1']).store), baseUrls: { twochat: 'http://127.0.0.1:9/twochat/' } };
    const outcome = await deliverWithAdapter(scriptedAdapter(), testContact(), target, ctx);
    expect(outcome).toMatchObject({ status: 'created', providerContactId: 'c-2' });
    expect(requests.map((request) => [request.url, request.headers?.['key']])).toEqual([
      ['http://127.0.0.1:9/twochat/lookup', 'key-1'],
      ['http://127.0.0.1:9/twochat/create', 'key-1'],
    ]);
  });

  it(`reads at most ${MAX_LOOKUP_PAGES} lookup pages, then creates`, async () => {
    const { client, requests } = http((request) =>
      request.method === 'GET'
        ? answer({ kind: 'next_page', request: { method: 'GET', url: `${request.url}+` } })
        : answer({ kind: 'created' }),
    );
    const outcome = await deliverWithAdapter(
      scriptedAdapter(),
      testContact(),
      target,
      context(client, secrets(['k']).store),
    );
    expect(outcome.status).toBe('created');
    expect(requests.filter((request) => request.method === 'GET')).toHaveLength(MAX_LOOKUP_PAGES);
    expect(requests.at(-1)?.method).toBe('POST');
  });

  it('retries a transient answer from the lookup again, and succeeds', async () => {
    const { client, requests } = http((request, index) =>
      index < 2
        ? answer({ kind: 'transient', httpStatus: 503, message: 'down' })
        : request.method === 'GET'
          ? NOT_FOUND
          : answer({ kind: 'created' }),
    );
    const outcome = await deliverWithAdapter(
      scriptedAdapter(),
      testContact(),
      target,
      context(client, secrets(['k']).store),
    );
    expect(outcome.status).toBe('created');
    // Two failed sequences, then lookup + create: a retry always starts from the lookup.
    expect(requests.map((request) => request.method)).toEqual(['GET', 'GET', 'GET', 'POST']);
  });

  it(`gives up after ${retryDefaults.maxAttempts} attempts with a transient outcome carrying the provider's wait`, async () => {
    const { client, requests } = http(() =>
      answer({ kind: 'transient', httpStatus: 429, message: 'slow down', retryAfterMs: 1 }),
    );
    const outcome = await deliverWithAdapter(
      scriptedAdapter({ lookup: false }),
      testContact(),
      target,
      context(client, secrets(['k']).store),
    );
    expect(outcome).toEqual({
      account: 'twochat',
      provider: 'twochat',
      status: 'transient',
      httpStatus: 429,
      message: 'slow down',
      retryAfterMs: 1,
    });
    expect(requests).toHaveLength(retryDefaults.maxAttempts);
  });

  it('does not wait past its budget: a Retry-After beyond it ends the delivery at once as transient', async () => {
    const { client, requests } = http(() =>
      answer({ kind: 'transient', httpStatus: 429, message: 'later', retryAfterMs: 60_000 }),
    );
    const started = Date.now();
    const outcome = await deliverWithAdapter(
      scriptedAdapter({ lookup: false }),
      testContact(),
      target,
      context(client, secrets(['k']).store, { budgetMs: 1_000 }),
    );
    expect(outcome).toMatchObject({ status: 'transient', retryAfterMs: 60_000 });
    expect(requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('returns a 429 at once when the caller defers rate-limited jobs, still retrying other transient answers', async () => {
    let calls = 0;
    const { client, requests } = http(() => {
      calls++;
      return calls === 1
        ? answer({ kind: 'transient', httpStatus: 503, message: 'down' })
        : answer({ kind: 'transient', httpStatus: 429, message: 'slow down', retryAfterMs: 1 });
    });
    const outcome = await deliverWithAdapter(scriptedAdapter({ lookup: false }), testContact(), target, {
      ...context(client, secrets(['k']).store),
      onRateLimited: 'return',
    });
    expect(outcome).toMatchObject({ status: 'transient', httpStatus: 429, retryAfterMs: 1 });
    expect(requests).toHaveLength(2); // the 503 retried, the 429 not
  });

  it('treats a failed connection as transient and retries it', async () => {
    const { client, requests } = http((_request, index) =>
      index === 0
        ? new HttpConnectionError('ECONNRESET', 'https://provider.example', new Error('reset'))
        : answer({ kind: 'created' }),
    );
    const outcome = await deliverWithAdapter(
      scriptedAdapter({ lookup: false }),
      testContact(),
      target,
      context(client, secrets(['k']).store),
    );
    expect(outcome.status).toBe('created');
    expect(requests).toHaveLength(2);
  });

  it('reads a refused key again once (a rotated key), and succeeds with the new one', async () => {
    const { client, requests } = http((request) =>
      request.headers?.['key'] === 'old'
        ? answer({ kind: 'unauthorized', httpStatus: 401, message: 'bad key' })
        : answer({ kind: 'created' }),
    );
    const { store, reads } = secrets(['old', 'new']);
    const outcome = await deliverWithAdapter(
      scriptedAdapter({ lookup: false }),
      testContact(),
      target,
      context(client, store),
    );
    expect(outcome.status).toBe('created');
    expect(reads()).toBe(2);
    expect(requests.map((request) => request.headers?.['key'])).toEqual(['old', 'new']);
  });

  it('fails a key refused again after the fresh read, naming the secret to update', async () => {
    const { client } = http(() => answer({ kind: 'unauthorized', httpStatus: 401, message: 'bad key' }));
    const { store, reads } = secrets(['old']);
    const outcome = await deliverWithAdapter(
      scriptedAdapter({ lookup: false }),
      testContact(),
      target,
      context(client, store),
    );
    expect(outcome).toMatchObject({ status: 'failed', code: 'unauthorized', httpStatus: 401 });
    expect(outcome.status === 'failed' && outcome.message).toContain(`secret "${SECRET}"`);
    expect(reads()).toBe(2);
  });

  it('fails a create answered as if it were a lookup', async () => {
    const { client } = http(() => NOT_FOUND);
    const outcome = await deliverWithAdapter(
      scriptedAdapter({ lookup: false }),
      testContact(),
      target,
      context(client, secrets(['k']).store),
    );
    expect(outcome).toMatchObject({ status: 'failed', code: 'unexpected_response' });
  });
});

describe('Function: backoffMs', () => {
  it('waits between nothing and the capped exponential step (full jitter)', () => {
    const policy = { ...retryDefaults, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffMs(0, policy, () => 0)).toBe(0);
    expect(backoffMs(2, policy, () => 0.999_999)).toBe(399);
    expect(backoffMs(10, policy, () => 0.999_999)).toBe(999);
  });
});
