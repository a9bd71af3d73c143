/**
 * `npm start` as a user runs it: the emulator, serverless-offline with the
 * bundled functions, secrets from local/secrets.json. Posts real HTTP and
 * reads the emulator's inspection API, then stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateChatwootCreatePayload } from '../helpers/chatwoot-contract.js';
import { freePort, isListening, waitForOutput } from '../helpers/processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let stack: ChildProcess;
let ports: { http: number; emulator: number; lambda: number };
let banner = '';

beforeAll(async () => {
  ports = { http: await freePort(), emulator: await freePort(), lambda: await freePort() };
  stack = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(ports.http), EMULATOR_PORT: String(ports.emulator), LAMBDA_PORT: String(ports.lambda) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  banner = await waitForOutput(stack, 'Ctrl-C stops everything', 120_000);
});

afterAll(() => {
  if (stack.exitCode === null) stack.kill('SIGKILL');
});

const post = (body: string, contentType: string) =>
  fetch(`http://127.0.0.1:${ports.http}/hooks/form/default`, { method: 'POST', headers: { 'content-type': contentType }, body });

interface Recorded {
  provider: string;
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  status: number;
}

async function requests(provider: string): Promise<Recorded[]> {
  const response = await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests?provider=${provider}`);
  return (await response.json()) as Recorded[];
}

/** Creates only: lookups are GETs. */
const createsOf = async (provider: string) => (await requests(provider)).filter((request) => request.method === 'POST');

describe('npm start (local stack)', () => {
  it('prints the URLs it serves', () => {
    expect(banner).toContain(`POST http://127.0.0.1:${ports.http}/hooks/form/default`);
    expect(banner).toContain(`Provider emulator: http://127.0.0.1:${ports.emulator}`);
  });

  it('turns a JSON form and a urlencoded form into one 2Chat create each', async () => {
    await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests`, { method: 'DELETE' });
    const json = await post(JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', phone: '(415) 555-0132' }), 'application/json');
    expect(json.status).toBe(202);
    const form = await post('first_name=Bob&last_name=Stone&email=bob%40example.com&phone=%2B442079460018', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(202);
    expect(await form.json()).toMatchObject({ status: 'accepted', outcomes: [{ provider: 'twochat', status: 'created' }, {}, {}, {}] });

    const creates = await createsOf('twochat');
    expect(creates.map((request) => [request.path, request.body])).toEqual([
      ['/open/contacts', { first_name: 'Ada', last_name: 'Lovelace', contact_detail: [{ type: 'PH', value: '+14155550132' }, { type: 'E', value: 'ada@example.com' }] }],
      ['/open/contacts', { first_name: 'Bob', last_name: 'Stone', contact_detail: [{ type: 'PH', value: '+442079460018' }, { type: 'E', value: 'bob@example.com' }] }],
    ]);
    expect(creates[0]?.headers['x-user-api-key']).toMatch(/^\*+/);
  });

  it('creates one form submission exactly once at each of the four providers, as each documents', async () => {
    await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests`, { method: 'DELETE' });
    const submission = JSON.stringify({ first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', phone: '+1 212 555 0199' });
    const first = await post(submission, 'application/json');
    expect(first.status).toBe(202);
    expect(((await first.json()) as { outcomes: Array<{ status: string }> }).outcomes.map((outcome) => outcome.status)).toEqual(['created', 'created', 'created', 'created']);

    const [twochat, kirim, callbell, chatwoot] = await Promise.all(['twochat', 'kirim', 'callbell', 'chatwoot'].map(createsOf));
    expect(twochat?.map((r) => [r.path, r.status, r.body])).toEqual([
      ['/open/contacts', 200, { first_name: 'Grace', last_name: 'Hopper', contact_detail: [{ type: 'PH', value: '+12125550199' }, { type: 'E', value: 'grace@example.com' }] }],
    ]);
    expect(kirim?.map((r) => [r.path, r.status])).toEqual([['/v1/106540352242922/contacts', 201]]);
    expect(kirim?.[0]?.body).toMatchObject({ phone_number: '+12125550199', name: 'Grace Hopper', email: 'grace@example.com' });
    expect(kirim?.[0]?.headers['idempotency-key']).toMatch(/^contact-relay-[0-9a-f]{64}$/);
    expect(kirim?.[0]?.headers['authorization']).toMatch(/^Bearer \*+/);
    expect(callbell?.map((r) => [r.path, r.status])).toEqual([['/v1/contacts', 200]]);
    expect(callbell?.[0]?.body).toMatchObject({ identifier: '12125550199', source: 'whatsapp', name: 'Grace Hopper' });
    expect(chatwoot?.map((r) => [r.path, r.status])).toEqual([['/api/v1/accounts/1/contacts', 200]]);
    expect(chatwoot?.[0]?.body).toMatchObject({ inbox_id: 1, name: 'Grace Hopper', email: 'grace@example.com', phone_number: '+12125550199' });
    expect(validateChatwootCreatePayload(chatwoot?.[0]?.body), JSON.stringify(validateChatwootCreatePayload.errors)).toBe(true);

    // The same person again: every provider reports exists, nobody creates a second contact.
    const second = await post(submission, 'application/json');
    expect(((await second.json()) as { outcomes: Array<{ status: string }> }).outcomes.map((outcome) => outcome.status)).toEqual(['exists', 'exists', 'exists', 'exists']);
    for (const provider of ['twochat', 'kirim', 'callbell']) expect(await createsOf(provider), provider).toHaveLength(1);
    // Chatwoot has no lookup: its second create is refused as a duplicate (422) and nothing new is stored.
    expect((await createsOf('chatwoot')).map((r) => r.status)).toEqual([200, 422]);
    const contacts = (await (await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/contacts`)).json()) as Array<{ provider: string }>;
    expect(contacts.map((contact) => contact.provider).sort()).toEqual(['callbell', 'chatwoot', 'kirim', 'twochat']);
  });

  it('answers bad input through API Gateway emulation with the error envelope', async () => {
    const bad = await post('{"name":', 'application/json');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'malformed_body' } });
    const unknown = await fetch(`http://127.0.0.1:${ports.http}/hooks/form/nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unknown.status).toBe(404);
  });

  it('stops every child on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => stack.once('exit', resolve));
    stack.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await isListening(ports.http)).toBe(false);
    expect(await isListening(ports.emulator)).toBe(false);
    expect(await isListening(ports.lambda)).toBe(false);
  });
});
