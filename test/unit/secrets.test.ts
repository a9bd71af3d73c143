import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretFormatError, SecretNotFoundError, SecretStore, SecretUnusableError } from '../../shared/secrets.js';
import * as z from '../../shared/zod.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';

const ApiKey = z.object({ apiKey: z.string() });

let emulator: Emulator;
let client: SecretsManagerClient;

beforeAll(async () => {
  emulator = await startEmulator({
    secrets: {
      'contact-relay/test/provider/a': { apiKey: 'key-a' },
      'contact-relay/test/provider/b': { apiKey: 'key-b' },
      'contact-relay/test/provider/wrong-shape': { token: 'x' },
      'contact-relay/test/provider/not-json': 'plain text',
    },
  });
  // The real SDK over a real socket, pointed at the local endpoint as in the local stack.
  client = new SecretsManagerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
beforeEach(() => emulator.state.reset());

const calls = () => emulator.state.requests.filter((request) => request.provider === 'secretsmanager');

describe('Class: SecretStore', () => {
  it('makes one GetSecretValue call per secret per TTL over many invocations', async () => {
    let now = 0;
    const store = new SecretStore({ client, ttlMs: 300_000, now: () => now });
    for (let invocation = 0; invocation < 500; invocation++) {
      now += 100; // 500 invocations 0.1 s apart: 50 s, inside one TTL
      expect(await store.get('contact-relay/test/provider/a', ApiKey)).toEqual({ apiKey: 'key-a' });
      await store.get('contact-relay/test/provider/b', ApiKey);
    }
    expect(calls().map((call) => (call.body as { SecretId: string }).SecretId)).toEqual([
      'contact-relay/test/provider/a',
      'contact-relay/test/provider/b',
    ]);
  });

  it('reads again once the TTL has passed', async () => {
    let now = 0;
    const store = new SecretStore({ client, ttlMs: 1000, now: () => now });
    await store.get('contact-relay/test/provider/a', ApiKey);
    now = 999;
    await store.get('contact-relay/test/provider/a', ApiKey);
    now = 1000;
    await store.get('contact-relay/test/provider/a', ApiKey);
    expect(calls()).toHaveLength(2);
  });

  it('shares one call between concurrent readers of a secret', async () => {
    const store = new SecretStore({ client });
    await Promise.all(Array.from({ length: 20 }, () => store.get('contact-relay/test/provider/a', ApiKey)));
    expect(calls()).toHaveLength(1);
  });

  it('reads a forgotten secret again and sees its new value', async () => {
    const store = new SecretStore({ client });
    await store.get('contact-relay/test/provider/a', ApiKey);
    emulator.state.secrets.set('contact-relay/test/provider/a', JSON.stringify({ apiKey: 'rotated' }));
    expect(await store.get('contact-relay/test/provider/a', ApiKey)).toEqual({ apiKey: 'key-a' });
    store.forget('contact-relay/test/provider/a');
    expect(await store.get('contact-relay/test/provider/a', ApiKey)).toEqual({ apiKey: 'rotated' });
    expect(calls()).toHaveLength(2);
    emulator.state.secrets.set('contact-relay/test/provider/a', JSON.stringify({ apiKey: 'key-a' }));
  });

  it('keeps a secret 5 minutes unless told otherwise', async () => {
    let now = 0;
    const store = new SecretStore({ client, now: () => now });
    await store.get('contact-relay/test/provider/a', ApiKey);
    now = 299_999;
    await store.get('contact-relay/test/provider/a', ApiKey);
    expect(calls()).toHaveLength(1);
    now = 300_000;
    await store.get('contact-relay/test/provider/a', ApiKey);
    expect(calls()).toHaveLength(2);
  });

  it('names a missing secret and does not cache the failure', async () => {
    const store = new SecretStore({ client });
    const missing = store.get('contact-relay/test/provider/missing', ApiKey);
    await expect(missing).rejects.toThrow(SecretNotFoundError);
    await expect(missing).rejects.toMatchObject({ secretName: 'contact-relay/test/provider/missing' });
    await expect(missing).rejects.toBeInstanceOf(SecretUnusableError);
    await expect(store.get('contact-relay/test/provider/missing', ApiKey)).rejects.toThrow(
      'secret "contact-relay/test/provider/missing" does not exist',
    );
    expect(calls()).toHaveLength(2);
  });

  it('names the field of a secret with the wrong shape, never its value', async () => {
    const store = new SecretStore({ client });
    const error = await store.get('contact-relay/test/provider/wrong-shape', ApiKey).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretFormatError);
    expect(error).toBeInstanceOf(SecretUnusableError);
    expect((error as Error).message).toBe(
      'secret "contact-relay/test/provider/wrong-shape" has the wrong shape: apiKey: Invalid input: expected string, received undefined',
    );
  });

  it('says when a secret is not JSON', async () => {
    const store = new SecretStore({ client });
    await expect(store.get('contact-relay/test/provider/not-json', ApiKey)).rejects.toThrow('its value is not JSON');
  });
});
