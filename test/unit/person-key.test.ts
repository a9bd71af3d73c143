/**
 * The lookup key the ingest functions hash emails and phones with, read through the secrets cache: a key
 * that is missing must not cost a Secrets Manager call on every accept.
 */
import { describe, expect, it } from 'vitest';
import { lookupKeyReader } from '../../shared/person-key.js';
import { SecretNotFoundError, type SecretStore } from '../../shared/secrets.js';

const NAME = 'contact-relay/test/lookup-key';

/** A secrets cache answering from `value` (undefined: the secret does not exist), counting its reads. */
function secrets(value: () => unknown) {
  let reads = 0;
  const store: Pick<SecretStore, 'get'> = {
    get: (async () => {
      reads++;
      const current = value();
      if (current === undefined) throw new SecretNotFoundError(NAME);
      return current;
    }) as SecretStore['get'],
  };
  return { store, reads: () => reads };
}

describe('Function: lookupKeyReader', () => {
  it('remembers a missing key for the TTL, then reads again and finds it once created', async () => {
    let key: unknown;
    const clock = { now: 0 };
    const { store, reads } = secrets(() => key);
    const read = lookupKeyReader(store, NAME, 60_000, () => clock.now);
    for (let accept = 0; accept < 100; accept++) await expect(read()).rejects.toBeInstanceOf(SecretNotFoundError);
    expect(reads()).toBe(1);
    key = { key: 'k'.repeat(32) };
    clock.now = 60_000;
    await expect(read()).resolves.toBe('k'.repeat(32));
    expect(reads()).toBe(2);
  });

  it('does not remember a failure that says nothing about the key (a throttled or unreachable endpoint)', async () => {
    let calls = 0;
    const store: Pick<SecretStore, 'get'> = {
      get: (async () => {
        calls++;
        throw new Error('ThrottlingException');
      }) as SecretStore['get'],
    };
    const read = lookupKeyReader(store, NAME, 60_000, () => 0);
    await expect(read()).rejects.toThrow('ThrottlingException');
    await expect(read()).rejects.toThrow('ThrottlingException');
    expect(calls).toBe(2);
  });
});
