/**
 * `npm start` as a user runs it: the emulator, serverless-offline with the
 * bundled functions, secrets from local/secrets.json. Posts real HTTP and
 * reads the emulator's inspection API, then stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

async function twoChatRequests(): Promise<Array<{ method: string; path: string; body: unknown; headers: Record<string, string> }>> {
  const response = await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests?provider=twochat`);
  return (await response.json()) as Array<{ method: string; path: string; body: unknown; headers: Record<string, string> }>;
}

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
    expect(await form.json()).toMatchObject({ status: 'accepted', outcomes: [{ provider: 'twochat', status: 'created' }] });

    const creates = (await twoChatRequests()).filter((request) => request.method === 'POST');
    expect(creates.map((request) => [request.path, request.body])).toEqual([
      ['/open/contacts', { first_name: 'Ada', last_name: 'Lovelace', contact_detail: [{ type: 'PH', value: '+14155550132' }, { type: 'E', value: 'ada@example.com' }] }],
      ['/open/contacts', { first_name: 'Bob', last_name: 'Stone', contact_detail: [{ type: 'PH', value: '+442079460018' }, { type: 'E', value: 'bob@example.com' }] }],
    ]);
    expect(creates[0]?.headers['x-user-api-key']).toMatch(/^\*+/);
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
