/**
 * The provider health check against the emulator over real sockets: the real
 * adapters' health endpoints, the real HTTP client, and the secrets cache
 * reading the emulator's Secrets Manager endpoint.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRoutesConfig, PROVIDERS, type ProviderName, type RoutesConfig } from '../../../shared/config/routes.js';
import { createHttpClient, type HttpClient } from '../../../shared/http.js';
import { checkProviderAccounts, summarizeHealth, type AccountHealth } from '../../../shared/operations/healthcheck.js';
import type { ProviderContext } from '../../../shared/providers/types.js';
import { SecretStore } from '../../../shared/secrets.js';
import { startEmulator, type Emulator } from '../../../local/emulator/server.js';

const STAGE = 'health';
const KEYS: Record<ProviderName, string> = {
  twochat: 'hc-key-2chat',
  kirim: 'hc-key-kirim',
  callbell: 'hc-key-callbell',
  chatwoot: 'hc-key-chatwoot',
};
const WRONG_KEY = 'hc-key-revoked';
const ROTATED_KEY = 'hc-key-rotated';
const secretName = (account: string) => `contact-relay/${STAGE}/provider/${account}`;

const SECRETS: Record<ProviderName, Record<string, unknown>> = {
  twochat: { apiKey: KEYS.twochat },
  kirim: { token: KEYS.kirim, phoneNumberId: '106540352242922' },
  callbell: { token: KEYS.callbell },
  chatwoot: { baseUrl: 'https://online.99digital.co.il', accountId: 3, inboxId: 7, accessToken: KEYS.chatwoot },
};

/** The secret of one provider with its key swapped. */
function secretWithKey(provider: ProviderName, key: string): string {
  const field = { twochat: 'apiKey', kirim: 'token', callbell: 'token', chatwoot: 'accessToken' }[provider];
  return JSON.stringify({ ...SECRETS[provider], [field]: key });
}

const routes: RoutesConfig = parseRoutesConfig({
  accounts: Object.fromEntries(PROVIDERS.map((provider) => [provider, { provider }])),
  sources: { form: { default: { deliverTo: [...PROVIDERS] } } },
});

let emulator: Emulator;
let secretsClient: SecretsManagerClient;
let http: HttpClient;

beforeAll(async () => {
  emulator = await startEmulator({
    secrets: Object.fromEntries(PROVIDERS.map((provider) => [secretName(provider), SECRETS[provider]])),
    credentials: { twochat: [KEYS.twochat], kirim: [KEYS.kirim], callbell: [KEYS.callbell], chatwoot: [KEYS.chatwoot] },
  });
  secretsClient = new SecretsManagerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  });
  http = createHttpClient({ connectTimeoutMs: 1000, responseTimeoutMs: 1000 });
});
afterAll(async () => {
  http.close();
  secretsClient.destroy();
  await emulator.close();
});
beforeEach(() => {
  emulator.state.reset();
  for (const provider of PROVIDERS) emulator.state.secrets.set(secretName(provider), JSON.stringify(SECRETS[provider]));
});

function context(): ProviderContext {
  const baseUrls = Object.fromEntries(PROVIDERS.map((provider) => [provider, `${emulator.url}/${provider}`]));
  return { stage: STAGE, secrets: new SecretStore({ client: secretsClient }), http, baseUrls };
}

const byAccount = (results: AccountHealth[], account: string) => results.find((result) => result.account === account);
const secretReads = (account: string) =>
  emulator.state.requests.filter(
    (request) =>
      request.provider === 'secretsmanager' &&
      (request.body as { SecretId?: string } | undefined)?.SecretId === secretName(account),
  );
const providerCalls = (provider: ProviderName) =>
  emulator.state.requests.filter((request) => request.provider === provider);

function expectNoKeys(results: AccountHealth[]): void {
  const text = JSON.stringify(results);
  for (const key of [...Object.values(KEYS), WRONG_KEY, ROTATED_KEY]) expect(text).not.toContain(key);
}

describe('Function: checkProviderAccounts', () => {
  it('reports every account healthy with one authenticated GET each, creating nothing', async () => {
    const results = await checkProviderAccounts(routes, context());
    expect(results).toHaveLength(4);
    for (const provider of PROVIDERS) {
      expect(byAccount(results, provider)).toEqual({
        account: provider,
        provider,
        healthy: true,
        status: 'ok',
        httpStatus: 200,
      });
      expect(providerCalls(provider)).toHaveLength(1);
      expect(providerCalls(provider)[0]?.method).toBe('GET');
    }
    expect(providerCalls('twochat')[0]?.path).toBe('/open/whatsapp/get-numbers');
    expect(providerCalls('kirim')[0]?.path).toBe('/v1/accounts');
    expect(providerCalls('callbell')[0]?.path).toBe('/v1/channels');
    // The account and inbox the create call would use.
    expect(providerCalls('chatwoot')[0]?.path).toBe('/api/v1/accounts/3/inboxes/7');
    expect(emulator.state.contacts).toHaveLength(0);
    expectNoKeys(results);
  });

  it.each(PROVIDERS)(
    'reports a refused %s key as unauthorized after reading the secret once more',
    async (provider) => {
      emulator.state.secrets.set(secretName(provider), secretWithKey(provider, WRONG_KEY));
      const results = await checkProviderAccounts(routes, context());
      const health = byAccount(results, provider);
      expect(health).toMatchObject({
        account: provider,
        provider,
        healthy: false,
        status: 'unauthorized',
        httpStatus: 401,
      });
      expect(health?.message).toContain(`secret "${secretName(provider)}"`);
      expect(secretReads(provider)).toHaveLength(2);
      // The re-read gave the same key: asking the provider again would only repeat the 401.
      expect(providerCalls(provider)).toHaveLength(1);
      for (const other of PROVIDERS.filter((name) => name !== provider))
        expect(byAccount(results, other)?.status).toBe('ok');
      expectNoKeys(results);
    },
  );

  it('picks up a key rotated since it was cached', async () => {
    const ctx = context();
    expect(byAccount(await checkProviderAccounts(routes, ctx), 'kirim')?.status).toBe('ok');
    emulator.state.secrets.set(secretName('kirim'), secretWithKey('kirim', ROTATED_KEY));
    emulator.state.credentials.kirim.delete(KEYS.kirim);
    emulator.state.credentials.kirim.add(ROTATED_KEY);
    try {
      const results = await checkProviderAccounts(routes, ctx);
      expect(byAccount(results, 'kirim')).toMatchObject({ healthy: true, status: 'ok' });
      // One read when cold, one after the 401 with the cached key.
      expect(secretReads('kirim')).toHaveLength(2);
      expect(providerCalls('kirim').map((request) => request.status)).toEqual([200, 401, 200]);
      expectNoKeys(results);
    } finally {
      emulator.state.credentials.kirim.delete(ROTATED_KEY);
      emulator.state.credentials.kirim.add(KEYS.kirim);
    }
  });

  it('reports a missing secret as secret_missing without calling the provider', async () => {
    emulator.state.secrets.delete(secretName('callbell'));
    const results = await checkProviderAccounts(routes, context());
    expect(byAccount(results, 'callbell')).toMatchObject({ healthy: false, status: 'secret_missing' });
    expect(byAccount(results, 'callbell')?.message).toContain(secretName('callbell'));
    expect(providerCalls('callbell')).toHaveLength(0);
  });

  it('reports a secret of the wrong shape as secret_invalid, naming the field and not the value', async () => {
    emulator.state.secrets.set(secretName('chatwoot'), JSON.stringify({ ...SECRETS.chatwoot, inboxId: 'seven' }));
    const results = await checkProviderAccounts(routes, context());
    expect(byAccount(results, 'chatwoot')).toMatchObject({ healthy: false, status: 'secret_invalid' });
    expect(byAccount(results, 'chatwoot')?.message).toContain('inboxId');
    expectNoKeys(results);
  });

  it('reports a provider answering 503 as unreachable, without retrying', async () => {
    emulator.state.faults.push({ provider: 'twochat', status: 503, times: 5 });
    const results = await checkProviderAccounts(routes, context());
    expect(byAccount(results, 'twochat')).toMatchObject({ healthy: false, status: 'unreachable', httpStatus: 503 });
    expect(byAccount(results, 'twochat')?.message).toContain('Emulated fault 503');
    expect(providerCalls('twochat')).toHaveLength(1);
  });

  it('reports a dropped connection as unreachable', async () => {
    emulator.state.faults.push({ provider: 'callbell', reset: true, times: 1 });
    const results = await checkProviderAccounts(routes, context());
    expect(byAccount(results, 'callbell')).toMatchObject({ healthy: false, status: 'unreachable' });
    expect(byAccount(results, 'callbell')?.httpStatus).toBeUndefined();
  });

  it('reports any other refusal (404: an id the provider does not know) as failed', async () => {
    emulator.state.faults.push({ provider: 'chatwoot', status: 404, times: 1 });
    const results = await checkProviderAccounts(routes, context());
    expect(byAccount(results, 'chatwoot')).toMatchObject({ healthy: false, status: 'failed', httpStatus: 404 });
    expect(byAccount(results, 'chatwoot')?.message).toContain(secretName('chatwoot'));
  });
});

describe('Function: summarizeHealth', () => {
  it('counts the healthy accounts and lists the others without their messages', () => {
    const summary = summarizeHealth([
      { account: 'a', provider: 'kirim', healthy: true, status: 'ok', httpStatus: 200 },
      {
        account: 'b',
        provider: 'callbell',
        healthy: false,
        status: 'unauthorized',
        httpStatus: 401,
        message: 'refused',
      },
    ]);
    expect(summary).toEqual({
      checked: 2,
      healthy: 1,
      unhealthy: [{ account: 'b', provider: 'callbell', status: 'unauthorized' }],
    });
  });
});
