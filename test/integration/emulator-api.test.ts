/** The emulator's inspection and fault API over HTTP, as tests, demos and users call it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ credentials: { twochat: ['secret-2chat-key'] } });
});
afterAll(() => emulator.close());

const call = (path: string, init?: RequestInit) => fetch(`${emulator.url}${path}`, init);
const createTwoChat = (key = 'secret-2chat-key') =>
  call('/twochat/open/contacts', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-api-key': key },
    body: JSON.stringify({ first_name: 'Ada', contact_detail: [{ type: 'PH', value: '+14155550132' }] }),
  });

describe('Emulator inspection API', () => {
  it('records requests oldest first, with auth headers masked, filtered by provider', async () => {
    await call('/_emulator/requests', { method: 'DELETE' });
    await createTwoChat();
    await createTwoChat('wrong-key');
    const recorded = (await (await call('/_emulator/requests?provider=twochat')).json()) as Array<
      Record<string, unknown>
    >;
    expect(recorded.map((request) => [request['method'], request['path'], request['status']])).toEqual([
      ['POST', '/open/contacts', 201],
      ['POST', '/open/contacts', 401],
    ]);
    expect(recorded[0]).toMatchObject({
      provider: 'twochat',
      body: { first_name: 'Ada' },
      at: expect.any(String) as string,
    });
    expect(JSON.stringify(recorded)).not.toContain('secret-2chat-key');
    expect(await (await call('/_emulator/requests?provider=kirim')).json()).toEqual([]);
  });

  it('forgets requests and contacts on DELETE', async () => {
    await createTwoChat();
    expect(await (await call('/_emulator/requests', { method: 'DELETE' })).json()).toEqual({ status: 'cleared' });
    expect(await (await call('/_emulator/requests')).json()).toEqual([]);
    expect(await (await call('/_emulator/contacts')).json()).toEqual([]);
  });

  it('answers the next requests with an armed fault, then serves normally', async () => {
    const armed = await call('/_emulator/faults', {
      method: 'POST',
      body: JSON.stringify({ provider: 'twochat', status: 429, times: 2, retryAfterSeconds: 7 }),
    });
    expect(armed.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const response = await createTwoChat();
      expect([response.status, response.headers.get('retry-after')]).toEqual([429, '7']);
    }
    expect((await createTwoChat()).status).toBe(201);
  });

  it('holds an answer for delayMs', async () => {
    await call('/_emulator/faults', { method: 'POST', body: JSON.stringify({ provider: 'twochat', delayMs: 300 }) });
    const started = Date.now();
    expect((await createTwoChat()).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it.each([
    [{ provider: 'whatsapp', status: 500 }, 'provider must be one of twochat, kirim, callbell, chatwoot, meta'],
    [{ provider: 'twochat' }, 'give a status, a delayMs or reset: true'],
    [{ provider: 'twochat', status: 42 }, 'status must be an HTTP status code'],
    [{ provider: 'twochat', status: 500, times: 0 }, 'times must be a whole number >= 1'],
  ])('refuses a malformed fault %j', async (body, message) => {
    const response = await call('/_emulator/faults', { method: 'POST', body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'invalid_fault', message } });
  });

  it('serves the Secrets Manager error envelope for an unknown secret', async () => {
    const response = await call('/', {
      method: 'POST',
      headers: { 'x-amz-target': 'secretsmanager.GetSecretValue', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ SecretId: 'nope' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'ResourceNotFoundException' });
  });
});
