/**
 * The local stack's URLs as `npm start` and every command read them: a flag
 * wins over the environment, the environment over the default.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretsFile, localStack, PROJECT_ROOT, providerEndpoints, resolveTarget } from '../../../cli/context.js';
import type { Io } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import { UsageError } from '../../../cli/io.js';

describe('Function: localStack', () => {
  it('with nothing set: the API on 3000, the emulator on 4010, every provider and Shopify at the emulator', () => {
    const stack = localStack({});
    expect(stack.apiUrl).toBe('http://127.0.0.1:3000');
    expect(stack.apiIsLocal).toBe(true);
    expect(stack.emulatorUrl).toBe('http://127.0.0.1:4010');
    expect(stack.providers.kirim).toEqual({
      source: 'emulator',
      url: 'http://127.0.0.1:4010/kirim',
      variable: 'PROVIDER_URL_KIRIM',
    });
    expect(stack.shopifyAdmin).toEqual({
      source: 'emulator',
      url: 'http://127.0.0.1:4010/shopify',
      variable: 'SHOPIFY_ADMIN_URL',
    });
    expect(stack.metaGraph).toEqual({
      source: 'emulator',
      url: 'http://127.0.0.1:4010/meta',
      variable: 'META_GRAPH_URL',
    });
    expect(stack.baseUrls).toEqual({
      twochat: 'http://127.0.0.1:4010/twochat',
      kirim: 'http://127.0.0.1:4010/kirim',
      callbell: 'http://127.0.0.1:4010/callbell',
      chatwoot: 'http://127.0.0.1:4010/chatwoot',
    });
  });

  it('PORT and EMULATOR_PORT move the API and the emulator, and the emulated providers with it', () => {
    const stack = localStack({ PORT: '3100', EMULATOR_PORT: '4111' });
    expect([stack.apiUrl, stack.emulatorUrl, stack.baseUrls.callbell]).toEqual([
      'http://127.0.0.1:3100',
      'http://127.0.0.1:4111',
      'http://127.0.0.1:4111/callbell',
    ]);
  });

  it('--url and --emulator win over PORT and EMULATOR_PORT', () => {
    const flags = { url: 'http://10.0.0.5:8080/', emulator: 'http://10.0.0.5:9090' };
    const stack = localStack({ PORT: '3100', EMULATOR_PORT: '4111' }, flags);
    expect([stack.apiUrl, stack.apiIsLocal, stack.emulatorUrl, stack.baseUrls.twochat]).toEqual([
      'http://10.0.0.5:8080',
      false,
      'http://10.0.0.5:9090',
      'http://10.0.0.5:9090/twochat',
    ]);
  });

  it('a PROVIDER_URL_* with a URL sends that provider there, whatever --emulator says; the others stay', () => {
    const env = { PROVIDER_URL_KIRIM: 'https://api.kirim.chat/', EMULATOR_PORT: '4111' };
    const stack = localStack(env, { emulator: 'http://127.0.0.1:4222' });
    expect(stack.providers.kirim).toEqual({
      source: 'env',
      url: 'https://api.kirim.chat',
      variable: 'PROVIDER_URL_KIRIM',
    });
    expect(stack.baseUrls).toMatchObject({ kirim: 'https://api.kirim.chat', twochat: 'http://127.0.0.1:4222/twochat' });
  });

  it("META_GRAPH_URL sends the Graph API calls elsewhere, as SHOPIFY_ADMIN_URL does; empty means Meta's own", () => {
    expect(localStack({ META_GRAPH_URL: 'https://graph.example.com/' }).metaGraph).toEqual({
      source: 'env',
      url: 'https://graph.example.com',
      variable: 'META_GRAPH_URL',
    });
    expect(localStack({ META_GRAPH_URL: '' }).metaGraph).toEqual({
      source: 'public',
      url: undefined,
      variable: 'META_GRAPH_URL',
    });
    expect(localStack({ EMULATOR_PORT: '4111' }).metaGraph.url).toBe('http://127.0.0.1:4111/meta');
    expect(() => localStack({ META_GRAPH_URL: 'http://graph.example.com' }, {}, 'send')).toThrow(UsageError);
  });

  it('a provider variable set but empty means its public API: no base URL, so the adapter default applies', () => {
    const stack = localStack({ PROVIDER_URL_CHATWOOT: '', SHOPIFY_ADMIN_URL: '' });
    expect(stack.providers.chatwoot).toEqual({ source: 'public', url: undefined, variable: 'PROVIDER_URL_CHATWOOT' });
    expect(stack.shopifyAdmin.source).toBe('public');
    expect(Object.keys(stack.baseUrls).sort()).toEqual(['callbell', 'kirim', 'twochat']);
  });

  it.each([
    [{ PORT: 'http' }, 'PORT must be a TCP port number, got "http"'],
    [{ EMULATOR_PORT: '70000' }, 'EMULATOR_PORT must be a TCP port number, got "70000"'],
    [{ PROVIDER_URL_TWOCHAT: 'api.p.2chat.io' }, 'PROVIDER_URL_TWOCHAT must be an http(s) URL'],
    [{ SHOPIFY_ADMIN_URL: 'ftp://shop.example' }, 'SHOPIFY_ADMIN_URL must be an http(s) URL'],
    // Credentials in clear over the network: only the emulator, on this machine, is called over http.
    [{ PROVIDER_URL_KIRIM: 'http://api.kirim.chat' }, 'PROVIDER_URL_KIRIM must be an https URL'],
    [{ SHOPIFY_ADMIN_URL: 'http://my-shop.myshopify.com' }, 'SHOPIFY_ADMIN_URL must be an https URL'],
  ])('%j is a usage error naming the variable', (env, message) => {
    expect(() => localStack(env, {}, 'doctor')).toThrow(UsageError);
    expect(() => localStack(env, {}, 'doctor')).toThrow(message);
  });
});

describe('Function: providerEndpoints', () => {
  const env = { EMULATOR_PORT: '4111', PROVIDER_URL_KIRIM: 'https://kirim.example/api/', PROVIDER_URL_CALLBELL: '' };

  it('stage local: as npm start routes them — the emulator, a PROVIDER_URL_* URL, or (empty) the public API', () => {
    expect(providerEndpoints(env, 'local')).toEqual({
      twochat: { source: 'emulator', url: 'http://127.0.0.1:4111/twochat', variable: 'PROVIDER_URL_TWOCHAT' },
      kirim: { source: 'env', url: 'https://kirim.example/api', variable: 'PROVIDER_URL_KIRIM' },
      callbell: { source: 'public', url: undefined, variable: 'PROVIDER_URL_CALLBELL' },
      chatwoot: { source: 'emulator', url: 'http://127.0.0.1:4111/chatwoot', variable: 'PROVIDER_URL_CHATWOOT' },
    });
  });

  it('a deployed stage: every provider at its public API, as the deployed functions call it', () => {
    const endpoints = providerEndpoints({ EMULATOR_PORT: '4111', PROVIDER_URL_CALLBELL: '' }, 'prod');
    for (const provider of ['twochat', 'kirim', 'callbell', 'chatwoot'] as const) {
      expect(endpoints[provider], provider).toEqual({
        source: 'public',
        url: undefined,
        variable: `PROVIDER_URL_${provider.toUpperCase()}`,
      });
    }
  });

  it('a deployed stage refuses a PROVIDER_URL_* to another host, naming it, as the functions of that stage do', () => {
    const refused = (flags: { emulator?: string }) => () => providerEndpoints(env, 'prod', flags, 'doctor');
    expect(refused({})).toThrow(UsageError);
    expect(refused({})).toThrow('PROVIDER_URL_KIRIM is honoured on stage local only (stage prod calls the public API)');
    const withEmulator = refused({ emulator: 'http://127.0.0.1:4222' });
    expect(withEmulator).toThrow('PROVIDER_URL_KIRIM is honoured on stage local only');
    const chatwoot = { PROVIDER_URL_CHATWOOT: 'http://online.99digital.co.il' };
    const plainHttp = () => providerEndpoints(chatwoot, 'dev', {}, 'try');
    expect(plainHttp).toThrow('PROVIDER_URL_CHATWOOT is honoured on stage local only (stage dev calls the public API)');
  });

  it('a deployed stage honours a PROVIDER_URL_* on this machine (a stand-in): its keys never leave it', () => {
    const endpoints = providerEndpoints({ PROVIDER_URL_KIRIM: 'http://127.0.0.1:4333/kirim' }, 'prod');
    const kirim = { source: 'env', url: 'http://127.0.0.1:4333/kirim', variable: 'PROVIDER_URL_KIRIM' };
    expect(endpoints.kirim).toEqual(kirim);
    expect(endpoints.twochat.source).toBe('public');
  });

  it('a deployed stage with --emulator: the emulator named', () => {
    const endpoints = providerEndpoints({ PROVIDER_URL_CALLBELL: '' }, 'prod', { emulator: 'http://10.0.0.5:9090' });
    expect(endpoints.twochat).toEqual({
      source: 'emulator',
      url: 'http://10.0.0.5:9090/twochat',
      variable: 'PROVIDER_URL_TWOCHAT',
    });
    expect(endpoints.callbell.source).toBe('public');
  });

  it('a malformed PROVIDER_URL_* is a usage error naming the command', () => {
    expect(() => providerEndpoints({ PROVIDER_URL_TWOCHAT: 'api.p.2chat.io' }, 'prod', {}, 'try')).toThrow(UsageError);
  });
});

describe('Function: resolveTarget', () => {
  it('stage local posts to PORT unless --url names another API', () => {
    expect(resolveTarget({}, 'send', { PORT: '3456', EMULATOR_PORT: '4567' })).toEqual({
      stage: 'local',
      baseUrl: 'http://127.0.0.1:3456',
      defaultLocal: true,
      emulatorUrl: 'http://127.0.0.1:4567',
    });
    expect(resolveTarget({ url: 'http://127.0.0.1:9999' }, 'send', { PORT: '3456' })).toMatchObject({
      baseUrl: 'http://127.0.0.1:9999',
      defaultLocal: false,
    });
  });

  it('a deployed stage still needs --url: PORT is the local stack only', () => {
    expect(() => resolveTarget({ stage: 'prod' }, 'send', { PORT: '3456' })).toThrow('--stage prod needs --url');
  });
});

describe('Function: localSecretsFile', () => {
  it('is local/secrets.json unless LOCAL_SECRETS_FILE names another file, relative to the project', () => {
    expect(localSecretsFile({})).toBe(path.join(PROJECT_ROOT, 'local/secrets.json'));
    expect(localSecretsFile({ LOCAL_SECRETS_FILE: '' })).toBe(path.join(PROJECT_ROOT, 'local/secrets.json'));
    const mine = localSecretsFile({ LOCAL_SECRETS_FILE: 'local/secrets.mine.json' });
    expect(mine).toBe(path.join(PROJECT_ROOT, 'local/secrets.mine.json'));
    expect(localSecretsFile({ LOCAL_SECRETS_FILE: '/home/me/relay-secrets.json' })).toBe('/home/me/relay-secrets.json');
  });
});

describe('contact-relay send (PORT)', () => {
  let server: http.Server;
  let port: number;
  const received: Array<{ method?: string; url?: string }> = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      received.push({ method: request.method, url: request.url });
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 'accepted', eventKey: 'form:default:x' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('posts to the local stack on PORT and points at the emulator on EMULATOR_PORT', async () => {
    let stdout = '';
    const io: Io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      env: { PORT: String(port), EMULATOR_PORT: '4999' },
      cwd: mkdtempSync(path.join(tmpdir(), 'cli-context-')),
      now: () => new Date('2026-11-21T10:00:00.000Z'),
    };
    const code = await main(['send', 'form', '--sample'], io);
    expect(code).toBe(0);
    const paths = received.map((request) => [request.method, request.url?.split('?')[0]]);
    expect(paths).toEqual([['POST', '/hooks/form/default']]);
    expect(stdout).toContain(`POST http://127.0.0.1:${port}/hooks/form/default`);
    expect(stdout).toContain('curl -s http://127.0.0.1:4999/_emulator/contacts');
  });
});
