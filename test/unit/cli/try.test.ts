/**
 * `contact-relay try <account>` against the provider emulator over real
 * sockets: one delivery through the account's adapter, each exchange printed
 * masked, and the outcome the deliver function would record.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../../../cli/context.js';
import type { Io } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { credentialsFromSecrets } from '../../../local/emulator/credentials.js';
import { startEmulator, type Emulator } from '../../../local/emulator/server.js';
import { freePort } from '../../../local/processes.js';
import { signingRegionProxy } from '../../helpers/signing-region.js';

const readJson = (file: string): unknown => JSON.parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));
const secrets = readJson('local/secrets.json') as Record<string, unknown>;
const routes = parseRoutesConfig(readJson('config/routes.json'));
const KIRIM_SECRET = 'contact-relay/local/provider/kirim';
const ADA = ['--phone', '+1 415 555 0132'];
const KEYS = ['local-2chat-api-key', 'local-kirim-token', 'local-callbell-token', 'local-99digital-access-token'];

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, secrets, credentials: credentialsFromSecrets(routes, secrets, 'local') });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.state.reset();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function tryCommand(argv: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: env ?? { EMULATOR_PORT: String(emulator.port) },
    cwd: mkdtempSync(path.join(tmpdir(), 'cli-try-')),
    now: () => new Date('2026-11-21T10:00:00.000Z'),
  };
  const code = await main(['try', ...argv], io);
  return { code, stdout, stderr };
}

const calls = (provider: string) => emulator.state.requests.filter((request) => request.provider === provider);

/** Neither a key nor a whole phone number or email address may reach the output. */
function expectNothingSecret(run: Run, ...personal: string[]): void {
  for (const text of [...KEYS, ...personal]) {
    expect(run.stdout, text).not.toContain(text);
    expect(run.stderr, text).not.toContain(text);
  }
}

function secretsFile(overrides: Record<string, unknown>): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cli-try-')), 'secrets.json');
  writeFileSync(file, JSON.stringify({ ...secrets, ...overrides }));
  return file;
}

describe('contact-relay try (Kirim.chat, the emulator over real sockets)', () => {
  it('prints the lookup and the create, masked, then created; a second run finds the person: exists', async () => {
    const first = await tryCommand(['kirim', ...ADA, '--name', 'Ada Lovelace', '--email', 'Ada@Example.com']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const base = `${emulator.url}/kirim/v1/\\*+22/contacts`;
    const redacted = '\\n {5}authorization: \\[redacted\\]\\n';
    expect(first.stdout).toMatch(new RegExp(` 1\\. GET ${base}\\?phone=\\+14\\*+32${redacted} {2}← 200 `));
    expect(first.stdout).toMatch(new RegExp(` 2\\. POST ${base}${redacted}`));
    expect(first.stdout).toContain('"phone_number": "+14*******32"');
    expect(first.stdout).toContain('"email": "a***@example.com"');
    expect(first.stdout).toMatch(/← 201 \(\d+ ms\)/);
    const created = emulator.state.contacts.filter((contact) => contact.provider === 'kirim');
    expect(created.map((contact) => [contact.phone, contact.email, contact.name])).toEqual([
      ['+14155550132', 'ada@example.com', 'Ada Lovelace'],
    ]);
    expect(first.stdout).toContain(`outcome: created — contact id ${created[0]?.id}`);
    expectNothingSecret(first, '4155550132', 'ada@example.com', '106540352242922');

    const second = await tryCommand(['kirim', ...ADA]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`outcome: exists — contact id ${created[0]?.id}`);
    expect(second.stdout).not.toContain('POST');
    expect(calls('kirim').map((request) => request.method)).toEqual(['GET', 'POST', 'GET']);
    expectNothingSecret(second, '4155550132', 'ada@example.com');
  });

  it('a key Kirim refuses: each 401 answer, failed unauthorized with the fix, exit 1, no key printed', async () => {
    const file = secretsFile({ [KIRIM_SECRET]: { token: 'my-refused-kirim-token', phoneNumberId: '106540352242922' } });
    const run = await tryCommand(['kirim', ...ADA, '--secrets', file]);
    expect(run.code).toBe(1);
    // The deliver function reads the secret again once after a 401 (a rotated key), so two calls.
    expect(run.stdout.match(/← 401 /g)).toHaveLength(2);
    expect(run.stdout).toContain('"code": "invalid_api_key"');
    const refused = `kirim refused the credentials in secret "${KIRIM_SECRET}"`;
    expect(run.stdout).toContain(`outcome: failed — unauthorized (HTTP 401): ${refused}`);
    expect(run.stdout).toContain(`fix: put a valid key in secret ${KIRIM_SECRET}`);
    expect(emulator.state.contacts).toEqual([]);
    expectNothingSecret(run, 'my-refused-kirim-token', '4155550132');
  });

  it("a secret missing from the secrets file is named in that file's words, exit 1, nothing called", async () => {
    const file = secretsFile({ [KIRIM_SECRET]: undefined });
    const run = await tryCommand(['kirim', ...ADA, '--secrets', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`secret "${KIRIM_SECRET}" is not in ${file}`);
    expect(calls('kirim')).toEqual([]);
  });

  it('answers that stay 503 are retried as the function retries them, then transient, exit 1', async () => {
    emulator.state.faults.push({ provider: 'kirim', times: 10, status: 503 });
    const run = await tryCommand(['kirim', ...ADA]);
    expect(run.code).toBe(1);
    expect(run.stdout.match(/← 503 /g)?.length).toBeGreaterThan(1);
    expect(run.stdout).toMatch(/outcome: transient \(HTTP 503\): .*\(the function would retry it later\)/);
  });

  it('no emulator listening: the connection error, transient, and where npm start would serve Kirim', async () => {
    const closed = await freePort();
    const run = await tryCommand(['kirim', ...ADA], { EMULATOR_PORT: String(closed) });
    expect(run.code).toBe(1);
    const kirim = `http://127.0.0.1:${closed}/kirim`;
    expect(run.stdout).toMatch(/← no answer after \d+ ms: request to GET \S+\*+22\/contacts failed: ECONNREFUSED/);
    expect(run.stdout).toContain(`is npm start running? Its emulator serves Kirim.chat at ${kirim} (EMULATOR_PORT)`);
  });
});

describe('contact-relay try (the other providers)', () => {
  it('Callbell and a contact with only an email: the skip reason, no request, exit 0', async () => {
    const run = await tryCommand(['callbell', '--email', 'ada@example.com']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('contact  no name, email a***@example.com');
    expect(run.stdout).toContain('no request sent');
    const reason = 'Callbell needs a phone number (its contact identifier) and the contact has none';
    expect(run.stdout).toContain(`outcome: skipped — ${reason}`);
    expect(calls('callbell')).toEqual([]);
    expectNothingSecret(run, 'ada@example.com');
  });

  it('2Chat (x-user-api-key) and 99digital (api_access_token): keys redacted, searches and bodies masked', async () => {
    const grace = ['--phone', '+44 20 7946 0958', '--email', 'grace@example.org', '--name', 'Grace Hopper'];
    for (const [account, header] of [
      ['twochat', 'x-user-api-key'],
      ['chatwoot', 'api_access_token'],
    ] as const) {
      const run = await tryCommand([account, ...grace]);
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toContain(`${header}: [redacted]`);
      expect(run.stdout).toContain('outcome: created');
      expectNothingSecret(run, '2079460958', 'grace@example.org');
    }
    // 2Chat was searched by phone, then by email (query values decoded, then masked).
    expect(calls('twochat').map((request) => request.method)).toEqual(['GET', 'GET', 'POST']);
  });

  it('a national number is read in --country, else in the route default region, as a webhook is', async () => {
    const national = await tryCommand(['callbell', '--phone', '020 7946 0958', '--country', 'GB']);
    expect(national.code).toBe(0);
    expect(calls('callbell').at(-1)?.body).toMatchObject({ identifier: '442079460958' });

    const byRoute = await tryCommand(['kirim', '--phone', '(415) 555-0132', '--route', 'form/default']);
    expect(byRoute.stdout).toContain('route    form/default');
    expect(byRoute.stdout).toContain('tags web-form');
    expect(calls('kirim').at(-1)?.body).toMatchObject({
      phone_number: '+14155550132',
      metadata: { tags: 'web-form', origin_source: 'form' },
    });

    // shopify/default, the first route delivering to kirim, names no default region.
    const unread = await tryCommand(['kirim', '--phone', '415 555 0132']);
    expect(unread.code).toBe(0);
    expect(unread.stdout).toContain('phone rejected: phone number is a national number and no country is known for it');
    // With no email either, the webhook itself is skipped before any provider is called.
    expect(unread.stdout).toContain('outcome: skipped — no usable email or phone: phone number is a national number');
    expect(calls('kirim')).toHaveLength(2);

    const withEmail = await tryCommand(['kirim', '--phone', '415 555 0132', '--email', 'ada@example.com']);
    expect(withEmail.stdout).toMatch(/outcome: skipped — Kirim\.chat needs a valid E\.164 phone number; 1 phone/);
    expect(calls('kirim')).toHaveLength(2);
    expectNothingSecret(unread, '4155550132');
  });
});

describe('contact-relay try (usage)', () => {
  it('--help says the contact is really created', async () => {
    const run = await tryCommand(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: contact-relay try <account>');
    expect(run.stdout).toContain('REALLY CREATES THE CONTACT');
  });

  it.each([
    [['kirim'], 'give --phone, --email or both'],
    [[], 'name an account: twochat, kirim, callbell, chatwoot'],
    [['nobody', '--phone', '+14155550132'], 'unknown account "nobody"; accounts: twochat, kirim, callbell, chatwoot'],
    [['kirim', '--email', 'not-an-address'], '--email is not an email address'],
    [['kirim', '--phone', '+14155550132', '--route', 'form'], '--route must be <source>/<route>'],
    [['kirim', '--phone', '+14155550132', '--route', 'form/nope'], 'no route "nope" for source "form"'],
    [['kirim', '--phone', '+14155550132', '--region', 'Ireland'], '--region must be an AWS region'],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const run = await tryCommand(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(emulator.state.requests).toEqual([]);
  });
});

describe('contact-relay try (where the local functions would call)', () => {
  it('stage local honours PROVIDER_URL_KIRIM and LOCAL_SECRETS_FILE as npm start does', async () => {
    const real = await startEmulator({ port: 0, secrets, credentials: { kirim: ['my-real-kirim-token'] } });
    try {
      const file = secretsFile({ [KIRIM_SECRET]: { token: 'my-real-kirim-token', phoneNumberId: '106540352242922' } });
      const run = await tryCommand(['kirim', ...ADA], {
        EMULATOR_PORT: String(emulator.port),
        PROVIDER_URL_KIRIM: `${real.url}/kirim`,
        LOCAL_SECRETS_FILE: file,
      });
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toContain(`calls    ${real.url}/kirim (PROVIDER_URL_KIRIM)`);
      expect(run.stdout).toContain(`secret   ${KIRIM_SECRET} (${file})`);
      expect(run.stdout).toContain('outcome: created');
      expect(real.state.contacts.map((contact) => contact.phone)).toEqual(['+14155550132']);
      expect(emulator.state.requests).toEqual([]);
      expectNothingSecret(run, 'my-real-kirim-token');
    } finally {
      await real.close();
    }
  });
});

describe('contact-relay try (a deployed stage)', () => {
  it('reads the secret from Secrets Manager in --region and calls the provider at PROVIDER_URL_*', async () => {
    emulator.state.secrets.set('contact-relay/prod/provider/kirim', JSON.stringify(secrets[KIRIM_SECRET]));
    const proxy = await signingRegionProxy(emulator.url);
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', proxy.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    try {
      const env = { PROVIDER_URL_KIRIM: `${emulator.url}/kirim` };
      const run = await tryCommand(['kirim', ...ADA, '--stage', 'prod', '--region', 'eu-west-1'], env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('secret   contact-relay/prod/provider/kirim (Secrets Manager (eu-west-1))');
      expect(run.stdout).toContain(`calls    ${emulator.url}/kirim (PROVIDER_URL_KIRIM)`);
      expect(run.stdout).toContain('outcome: created');
      expect(proxy.regions).toEqual(['eu-west-1']);
    } finally {
      vi.unstubAllEnvs();
      await proxy.close();
    }
  });
});
