/**
 * The form function's real handler against the real emulator over sockets:
 * the AWS SDK reads the secret from the emulator's Secrets Manager endpoint
 * and the 2Chat client posts to the emulated 2Chat.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { httpApiEvent, lambdaContext } from '../helpers/lambda.js';

let emulator: Emulator;
let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  emulator = await startEmulator({
    secrets: {
      'contact-relay/itest/provider/twochat': { apiKey: 'itest-2chat-key' },
      'contact-relay/itest/provider/kirim': { token: 'itest-kirim-key', phoneNumberId: '106540352242922' },
      'contact-relay/itest/provider/callbell': { token: 'itest-callbell-key' },
      'contact-relay/itest/provider/chatwoot': { baseUrl: 'https://online.99digital.co.il', accountId: 1, inboxId: 1, accessToken: 'itest-chatwoot-key' },
    },
    credentials: { twochat: ['itest-2chat-key'], kirim: ['itest-kirim-key'], callbell: ['itest-callbell-key'], chatwoot: ['itest-chatwoot-key'] },
  });
  vi.stubEnv('STAGE', 'itest');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', emulator.url);
  for (const provider of ['twochat', 'kirim', 'callbell', 'chatwoot']) vi.stubEnv(`PROVIDER_URL_${provider.toUpperCase()}`, `${emulator.url}/${provider}`);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.resetModules();
  ({ handler } = await import('../../functions/forms/handler.js'));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});
beforeEach(() => emulator.state.reset());

const creates = () => emulator.state.requests.filter((request) => request.provider === 'twochat' && request.method === 'POST');

describe('Function: forms handler (against the emulator)', () => {
  it('creates the contact at each of the four providers exactly once', async () => {
    const event = httpApiEvent('form', 'default', JSON.stringify({ name: 'Dee Four', email: 'dee@example.com', phone: '+14155550144' }), { 'content-type': 'application/json' });
    const result = await handler(event, lambdaContext());
    expect(result.statusCode).toBe(202);
    for (const provider of ['twochat', 'kirim', 'callbell', 'chatwoot'] as const) {
      expect(emulator.state.contacts.filter((contact) => contact.provider === provider), provider).toHaveLength(1);
    }
  });

  it('creates one 2Chat contact from a JSON form, with the documented body', async () => {
    const event = httpApiEvent('form', 'default', JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', phone: '(415) 555-0132' }), { 'Content-Type': 'application/json' });
    const result = await handler(event, lambdaContext());
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body as string)).toMatchObject({
      status: 'accepted',
      outcomes: ['twochat', 'kirim', 'callbell', 'chatwoot'].map((provider) => ({ account: provider, provider, status: 'created' })),
    });
    expect(creates()).toHaveLength(1);
    expect(creates()[0]).toMatchObject({
      path: '/open/contacts',
      headers: { 'content-type': 'application/json', 'x-user-api-key': '********-key' },
      body: { first_name: 'Ada', last_name: 'Lovelace', contact_detail: [{ type: 'PH', value: '+14155550132' }, { type: 'E', value: 'ada@example.com' }] },
      status: 200,
    });
  });

  it('creates one 2Chat contact from a urlencoded form sent base64-encoded by API Gateway', async () => {
    const event = httpApiEvent('form', 'default', 'first_name=Bob&email=bob%40example.co.uk&phone=%2B44%2020%207946%200018', { 'content-type': 'application/x-www-form-urlencoded' }, true);
    const result = await handler(event, lambdaContext());
    expect(result.statusCode).toBe(202);
    expect(creates().map((request) => request.body)).toEqual([{ first_name: 'Bob', contact_detail: [{ type: 'PH', value: '+442079460018' }, { type: 'E', value: 'bob@example.co.uk' }] }]);
  });

  it('reports an existing person as exists and creates nothing the second time', async () => {
    const event = httpApiEvent('form', 'default', JSON.stringify({ name: 'Cy Young', phone: '+14155550199' }), { 'content-type': 'application/json' });
    await handler(event, lambdaContext());
    const again = await handler(event, lambdaContext());
    expect(JSON.parse(again.body as string).outcomes.map((outcome: { status: string }) => outcome.status)).toEqual(['exists', 'exists', 'exists', 'exists']);
    expect(creates()).toHaveLength(1);
  });

  it('answers bad input with the error envelope and calls no provider', async () => {
    const cases: Array<[APIGatewayProxyEventV2, number, string]> = [
      [httpApiEvent('form', 'default', '{"name":', { 'content-type': 'application/json' }), 400, 'malformed_body'],
      [httpApiEvent('form', 'default', 'hello', { 'content-type': 'text/plain' }), 415, 'unsupported_content_type'],
      [httpApiEvent('form', 'missing', '{}', { 'content-type': 'application/json' }), 404, 'unknown_route'],
    ];
    for (const [event, statusCode, code] of cases) {
      const result = await handler(event, lambdaContext());
      expect(result.statusCode).toBe(statusCode);
      expect(JSON.parse(result.body as string)).toMatchObject({ error: { code } });
    }
    const skipped = await handler(httpApiEvent('form', 'default', '{"name":"Ada"}', { 'content-type': 'application/json' }), lambdaContext());
    expect([skipped.statusCode, JSON.parse(skipped.body as string).status]).toEqual([200, 'skipped']);
    expect(emulator.state.requests.filter((request) => request.provider !== 'secretsmanager')).toHaveLength(0);
  });

  it('reads the provider secret once across many warm invocations', async () => {
    for (let i = 0; i < 20; i++) {
      await handler(httpApiEvent('form', 'default', JSON.stringify({ email: `p${i}@example.com`, phone: `+1415555${String(1000 + i)}` }), { 'content-type': 'application/json' }), lambdaContext());
    }
    // Secrets were already cached by the earlier tests of this warm "container".
    expect(emulator.state.requests.filter((request) => request.provider === 'secretsmanager')).toHaveLength(0);
    expect(creates()).toHaveLength(20);
  });
});
