/**
 * `contact-relay doctor` calls each provider where the local functions would:
 * the emulator on EMULATOR_PORT, except a provider whose PROVIDER_URL_* is
 * set. A second emulator on another port stands in for a real account.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../cli/context.js';
import type { Io } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import { parseRoutesConfig, PROVIDERS } from '../../../shared/config/routes.js';
import { credentialsFromSecrets } from '../../../local/emulator/credentials.js';
import { startEmulator, type Emulator } from '../../../local/emulator/server.js';
import { freePort } from '../../../local/processes.js';

const readJson = (file: string): unknown => JSON.parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));
const secrets = readJson('local/secrets.json') as Record<string, unknown>;
const routes = parseRoutesConfig(readJson('config/routes.json'));
const credentials = credentialsFromSecrets(routes, secrets, 'local');

let local: Emulator;
/** Stands in for the real Kirim account: it knows the same key. */
let real: Emulator;

beforeAll(async () => {
  local = await startEmulator({ port: 0, secrets, credentials });
  real = await startEmulator({ port: 0, secrets, credentials });
});
afterAll(async () => {
  await Promise.all([local.close(), real.close()]);
});
beforeEach(() => {
  local.state.reset();
  real.state.reset();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function doctor(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: mkdtempSync(path.join(tmpdir(), 'cli-doctor-')),
    now: () => new Date('2026-11-21T10:00:00.000Z'),
  };
  const code = await main(['doctor', ...argv], io);
  return { code, stdout, stderr };
}

const called = (emulator: Emulator, provider: string) =>
  emulator.state.requests.filter((request) => request.provider === provider).length;

describe('contact-relay doctor (provider URLs from the environment)', () => {
  it('finds the emulator on EMULATOR_PORT', async () => {
    const run = await doctor({ EMULATOR_PORT: String(local.port) });
    expect(run.stdout).toContain(`providers: emulator ${local.url})`);
    expect(run.code).toBe(0);
    for (const provider of PROVIDERS) expect(called(local, provider), provider).toBe(1);
  });

  it('checks Kirim at PROVIDER_URL_KIRIM, never at the emulator, and says so', async () => {
    const run = await doctor({ EMULATOR_PORT: String(local.port), PROVIDER_URL_KIRIM: `${real.url}/kirim` });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `providers: Kirim.chat ${real.url}/kirim (PROVIDER_URL_KIRIM), the others emulator ${local.url})`,
    );
    const accepted = `Kirim\\.chat accepted them \\(HTTP 200\\) at ${real.url}/kirim \\(PROVIDER_URL_KIRIM\\)`;
    expect(run.stdout).toMatch(new RegExp(`✓ {2}credentials kirim +${accepted}`));
    expect([called(real, 'kirim'), called(local, 'kirim')]).toEqual([1, 0]);
    expect([called(real, 'twochat'), called(local, 'twochat')]).toEqual([0, 1]);
  });

  it('--emulator wins over EMULATOR_PORT; the PROVIDER_URL_* provider still goes to its URL', async () => {
    const env = { EMULATOR_PORT: '1', PROVIDER_URL_CALLBELL: `${real.url}/callbell` };
    const run = await doctor(env, '--emulator', local.url);
    expect(run.code).toBe(0);
    expect([called(real, 'callbell'), called(local, 'callbell'), called(local, 'chatwoot')]).toEqual([1, 0, 1]);
  });

  it('a key the overriding URL refuses is a ✗ naming the URL; an unreachable one names the variable', async () => {
    const refusing = await startEmulator({ port: 0, secrets, credentials: {} });
    const closed = await freePort();
    try {
      const run = await doctor({
        EMULATOR_PORT: String(local.port),
        PROVIDER_URL_KIRIM: `${refusing.url}/kirim`,
        PROVIDER_URL_CALLBELL: `http://127.0.0.1:${closed}/callbell`,
      });
      expect(run.code).toBe(1);
      const refused = `Kirim\\.chat at ${refusing.url}/kirim \\(PROVIDER_URL_KIRIM\\): unauthorized`;
      expect(run.stdout).toMatch(new RegExp(`✗ {2}credentials kirim +${refused}`));
      expect(run.stdout).toContain(
        `Callbell did not answer at http://127.0.0.1:${closed}/callbell: check PROVIDER_URL_CALLBELL`,
      );
      expect(run.stdout).not.toContain('local-kirim-token');
      expect(called(local, 'kirim') + called(local, 'callbell')).toBe(0);
    } finally {
      await refusing.close();
    }
  });

  it('a deployed stage takes a PROVIDER_URL_* on this machine (loopback), as its deployed functions do', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cli-doctor-')), 'prod.json');
    const prod = Object.fromEntries(
      Object.entries(secrets).map(([name, value]) => [name.replace('/local/', '/prod/'), value]),
    );
    writeFileSync(file, JSON.stringify(prod));
    // Every provider is pointed somewhere: a test never calls the real public APIs.
    const env = Object.fromEntries(
      PROVIDERS.map((provider) => [`PROVIDER_URL_${provider.toUpperCase()}`, `${real.url}/${provider}`]),
    );
    const run = await doctor(env, '--stage', 'prod', '--secrets', file, '--json');
    const report = JSON.parse(run.stdout) as { checks: Array<{ status: string; subject: string }> };
    const credentialChecks = report.checks.filter((check) => check.subject.startsWith('credentials'));
    expect(credentialChecks.map((check) => check.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    for (const provider of PROVIDERS) {
      expect([called(real, provider), called(local, provider)], provider).toEqual([1, 0]);
    }
  });

  it('stage local reads LOCAL_SECRETS_FILE instead of local/secrets.json', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cli-doctor-')), 'mine.json');
    const kirim = { token: 'my-real-kirim-token', phoneNumberId: '106540352242922' };
    writeFileSync(file, JSON.stringify({ ...secrets, 'contact-relay/local/provider/kirim': kirim }));
    const run = await doctor({ EMULATOR_PORT: String(local.port), LOCAL_SECRETS_FILE: file });
    expect(run.stdout).toContain(`(secrets: ${file};`);
    // The emulator knows only the committed placeholder key: the file's own key was the one sent.
    expect(run.stdout).toMatch(/✗ {2}credentials kirim +Kirim\.chat: unauthorized/);
    expect(run.stdout).not.toContain('my-real-kirim-token');
    expect(run.code).toBe(1);
  });
});
