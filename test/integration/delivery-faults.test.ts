/**
 * Provider faults over real sockets: the emulator injects them, the real
 * engine, HTTP client and secrets cache (reading the emulator's Secrets
 * Manager endpoint) deal with them.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRoutesConfig, findRoute, type ProviderName, type ResolvedRoute } from '../../shared/config/routes.js';
import { deliverContact } from '../../shared/delivery.js';
import { createHttpClient, type HttpClient } from '../../shared/http.js';
import type { ProviderContext } from '../../shared/providers/types.js';
import { SecretStore } from '../../shared/secrets.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';
import { testContact } from '../helpers/contacts.js';

const STAGE = 'faults';
const KEYS: Record<ProviderName, string> = {
  twochat: 'key-2chat',
  kirim: 'key-kirim',
  callbell: 'key-callbell',
  chatwoot: 'key-chatwoot',
};
const secrets: Record<string, unknown> = {
  [`contact-relay/${STAGE}/provider/twochat`]: { apiKey: KEYS.twochat },
  [`contact-relay/${STAGE}/provider/kirim`]: { token: KEYS.kirim, phoneNumberId: '106540352242922' },
  [`contact-relay/${STAGE}/provider/callbell`]: { token: KEYS.callbell },
  [`contact-relay/${STAGE}/provider/chatwoot`]: {
    baseUrl: 'https://online.99digital.co.il',
    accountId: 1,
    inboxId: 1,
    accessToken: KEYS.chatwoot,
  },
};
const PROVIDERS: ProviderName[] = (process.env['FAULT_PROVIDERS']?.split(',') as ProviderName[] | undefined) ?? [
  'twochat',
  'kirim',
  'callbell',
  'chatwoot',
];

let emulator: Emulator;
let secretsClient: SecretsManagerClient;
let http: HttpClient;

beforeAll(async () => {
  emulator = await startEmulator({
    secrets,
    credentials: { twochat: [KEYS.twochat], kirim: [KEYS.kirim], callbell: [KEYS.callbell], chatwoot: [KEYS.chatwoot] },
  });
  secretsClient = new SecretsManagerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  });
  // Short timeouts so a hung provider is found out quickly.
  http = createHttpClient({ connectTimeoutMs: 1000, responseTimeoutMs: 500 });
});
afterAll(async () => {
  http.close();
  secretsClient.destroy();
  await emulator.close();
});
beforeEach(() => emulator.state.reset());

function context(): ProviderContext {
  const baseUrls = Object.fromEntries(PROVIDERS.map((provider) => [provider, `${emulator.url}/${provider}`]));
  return {
    stage: STAGE,
    secrets: new SecretStore({ client: secretsClient }),
    http,
    baseUrls,
    retry: { baseDelayMs: 20, maxDelayMs: 100, budgetMs: 5000 },
  };
}

function route(provider: ProviderName): ResolvedRoute {
  const config = parseRoutesConfig({
    accounts: { [provider]: { provider } },
    sources: { form: { default: { deliverTo: [provider] } } },
  });
  return findRoute(config, 'form', 'default') as ResolvedRoute;
}

const creates = (provider: ProviderName) =>
  emulator.state.requests.filter(
    (request) => request.provider === provider && request.method === 'POST' && !request.path.includes('filter'),
  );
const fault = (body: Record<string, unknown>) => emulator.state.faults.push({ times: 1, ...body } as never);

describe.each(PROVIDERS)('Provider faults: %s', (provider) => {
  it('waits for Retry-After on a 429, then delivers', async () => {
    fault({ provider, status: 429, times: 1, retryAfterSeconds: 1 });
    const started = Date.now();
    const [outcome] = await deliverContact(testContact(), route(provider), context());
    expect(outcome).toMatchObject({ provider, status: 'created' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(creates(provider).filter((request) => request.status < 300)).toHaveLength(1);
  });

  it('delivers on the third attempt after two 500s', async () => {
    fault({ provider, status: 500, times: 2 });
    const [outcome] = await deliverContact(testContact(), route(provider), context());
    expect(outcome).toMatchObject({ provider, status: 'created' });
    expect(
      emulator.state.requests.filter((request) => request.provider === provider).map((request) => request.status),
    ).toEqual(expect.arrayContaining([500, 500]));
    expect(creates(provider).filter((request) => request.status < 300)).toHaveLength(1);
  });

  it('times out a hung response and retries', async () => {
    // The first request is the lookup (or, for Chatwoot, the create itself).
    fault({ provider, delayMs: 1500, times: 1 });
    const [outcome] = await deliverContact(testContact(), route(provider), context());
    expect(outcome?.status).toMatch(/^(created|exists)$/);
    expect(emulator.state.contacts.filter((contact) => contact.provider === provider)).toHaveLength(1);
  });

  it('retries a create that timed out without creating the person twice', async () => {
    // The provider does the work but answers too late: the retry must find the contact, not add another.
    fault({ provider, delayMs: 1500, times: 1, method: 'POST' });
    const [outcome] = await deliverContact(testContact(), route(provider), context());
    expect(outcome?.status).toMatch(/^(created|exists)$/);
    expect(emulator.state.contacts.filter((contact) => contact.provider === provider)).toHaveLength(1);
  });

  it('retries a reset connection', async () => {
    fault({ provider, reset: true, times: 1 });
    const [outcome] = await deliverContact(testContact(), route(provider), context());
    expect(outcome).toMatchObject({ provider, status: 'created' });
  });

  it('gives a transient outcome when the provider stays down past the attempts', async () => {
    fault({ provider, status: 503, times: 100 });
    const [outcome] = await deliverContact(testContact(), route(provider), context());
    expect(outcome).toMatchObject({ provider, status: 'transient', httpStatus: 503 });
  });

  it('re-reads the secret once on 401, then fails with the provider message', async () => {
    const ctx = context();
    const secretName = `contact-relay/${STAGE}/provider/${provider}`;
    emulator.state.credentials[provider].delete(KEYS[provider]);
    try {
      const [outcome] = await deliverContact(testContact(), route(provider), ctx);
      expect(outcome).toMatchObject({ provider, status: 'failed', code: 'unauthorized' });
      expect(outcome?.status === 'failed' && outcome.message).toContain(`secret "${secretName}"`);
      expect(emulator.state.requests.filter((request) => request.provider === 'secretsmanager')).toHaveLength(2);
    } finally {
      emulator.state.credentials[provider].add(KEYS[provider]);
    }
  });

  it('picks up a rotated key on 401 and delivers', async () => {
    const ctx = context();
    const secretName = `contact-relay/${STAGE}/provider/${provider}`;
    await deliverContact(
      testContact({
        phones: [{ e164: '+14155550100' }],
        emails: ['warm@example.com'],
        origin: { ...testContact().origin, personKey: 'warm@example.com' },
      }),
      route(provider),
      ctx,
    );
    const original = emulator.state.secrets.get(secretName) as string;
    const oldKey = KEYS[provider];
    emulator.state.secrets.set(secretName, original.replace(oldKey, 'key-rotated'));
    emulator.state.credentials[provider].delete(oldKey);
    emulator.state.credentials[provider].add('key-rotated');
    try {
      const [outcome] = await deliverContact(testContact(), route(provider), ctx);
      expect(outcome).toMatchObject({ provider, status: 'created' });
      expect(emulator.state.requests.filter((request) => request.provider === 'secretsmanager')).toHaveLength(2);
    } finally {
      emulator.state.secrets.set(secretName, original);
      emulator.state.credentials[provider].delete('key-rotated');
      emulator.state.credentials[provider].add(oldKey);
    }
  });

  it('reports the same person again as exists and never creates twice', async () => {
    const ctx = context();
    expect((await deliverContact(testContact(), route(provider), ctx))[0]).toMatchObject({ status: 'created' });
    expect((await deliverContact(testContact(), route(provider), ctx))[0]).toMatchObject({ status: 'exists' });
    expect(emulator.state.contacts.filter((contact) => contact.provider === provider)).toHaveLength(1);
  });
});
