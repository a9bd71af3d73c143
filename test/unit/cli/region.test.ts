/**
 * The AWS region of every command that reads Secrets Manager or prints AWS CLI
 * commands: --region, else AWS_REGION, else AWS_DEFAULT_REGION, else the
 * region serverless.yml deploys to. A proxy in front of the emulator's Secrets
 * Manager reads the region each request was signed for.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT, stackRegion } from '../../../cli/context.js';
import type { Io } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import { parseRoutesConfig, PROVIDERS } from '../../../shared/config/routes.js';
import { neededSecrets } from '../../../cli/secret-specs.js';
import { startEmulator, type Emulator } from '../../../local/emulator/server.js';
import { signingRegionProxy, type SigningRegionProxy } from '../../helpers/signing-region.js';

const secretsFile = path.join(PROJECT_ROOT, 'local/secrets.json');
const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, unknown>;
/** The region `osls deploy` uses without --region, as serverless.yml says. */
const STACK_REGION = 'us-east-1';
/** How many secrets config/routes.json needs: doctor reads each, and each missing one gets a create command. */
const NEEDED = neededSecrets(
  parseRoutesConfig(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'config/routes.json'), 'utf8'))),
  'dev',
).length;
/** Every provider at the emulator: a deployed stage would otherwise call the real public APIs. */
let providerUrls: Record<string, string>;

let emulator: Emulator;
let proxy: SigningRegionProxy;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, secrets });
  proxy = await signingRegionProxy(emulator.url);
  providerUrls = Object.fromEntries(PROVIDERS.map((p) => [`PROVIDER_URL_${p.toUpperCase()}`, `${emulator.url}/${p}`]));
});
afterAll(async () => {
  await proxy.close();
  await emulator.close();
});
beforeEach(() => {
  proxy.regions.length = 0;
  // The SDK reads the process environment: only the proxy, test keys, and no region of the machine running the tests.
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', proxy.url);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(name, undefined);
  vi.stubEnv('AWS_CONFIG_FILE', path.join(tmpdir(), 'no-aws-config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(tmpdir(), 'no-aws-credentials'));
});
afterEach(() => {
  vi.unstubAllEnvs();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  cwd: string;
}

async function cli(argv: string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const cwd = mkdtempSync(path.join(tmpdir(), 'cli-region-'));
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd,
    now: () => new Date('2026-11-21T10:00:00.000Z'),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, cwd };
}

describe('Function: stackRegion', () => {
  function yamlFile(text: string): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cli-region-')), 'serverless.yml');
    writeFileSync(file, text);
    return file;
  }

  it('is the region serverless.yml deploys to without --region', () => {
    expect(readFileSync(path.join(PROJECT_ROOT, 'serverless.yml'), 'utf8')).toContain(
      `region: \${opt:region, '${STACK_REGION}'}`,
    );
    expect(stackRegion()).toBe(STACK_REGION);
  });

  it.each([
    ['provider:\n  region: eu-central-1\n', 'eu-central-1'],
    ['provider:\n  region: ${opt:region, "ap-southeast-2"}\n', 'ap-southeast-2'],
    ['provider:\n  region: ${opt:region, sa-east-1}\n', 'sa-east-1'],
    // osls's own default when serverless.yml names no region.
    ['provider:\n  name: aws\n', 'us-east-1'],
  ])('%j deploys to %s', (text, region) => {
    expect(stackRegion('doctor', yamlFile(text))).toBe(region);
  });

  it('a region serverless.yml takes from elsewhere cannot be told: a usage error asking for --region', () => {
    const file = yamlFile('provider:\n  region: ${env:DEPLOY_REGION}\n');
    expect(() => stackRegion('doctor', file)).toThrow('provider.region "${env:DEPLOY_REGION}"; pass --region');
  });
});

describe('contact-relay secrets init (the region of the printed commands)', () => {
  const commands = (stdout: string) => stdout.split('\n').filter((line) => line.includes('aws secretsmanager'));

  it('without --region or AWS_* variables: the stack region, on every command and on doctor', async () => {
    const run = await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl']);
    expect(run.code).toBe(0);
    const where = 'serverless.yml: where osls deploy puts the stack without --region';
    expect(run.stdout).toContain(`in region ${STACK_REGION} (${where})`);
    // One create-secret command per secret, and the put-secret-value line for changing one later.
    expect(commands(run.stdout)).toHaveLength(NEEDED + 1);
    for (const line of commands(run.stdout)) expect(line).toMatch(new RegExp(` --region ${STACK_REGION}$`));
    const twochat = '--name contact-relay/prod/provider/twochat --secret-string file://tpl/provider-twochat.json';
    expect(run.stdout).toContain(`  aws secretsmanager create-secret ${twochat} --region ${STACK_REGION}\n`);
    expect(run.stdout).toContain(`contact-relay doctor --stage prod --region ${STACK_REGION}`);
  });

  it('--region wins over AWS_REGION, which wins over AWS_DEFAULT_REGION; --json says the region too', async () => {
    const env = { AWS_REGION: 'eu-west-2', AWS_DEFAULT_REGION: 'ap-south-1' };
    const explicit = await cli(['secrets', 'init', '--stage', 'prod', '--region', 'eu-west-1', '--out', 'tpl'], env);
    expect(explicit.stdout).toContain('in region eu-west-1 (--region):');
    for (const line of commands(explicit.stdout)) expect(line).toMatch(/ --region eu-west-1$/);

    const fromEnv = await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl', '--json'], env);
    const report = JSON.parse(fromEnv.stdout) as { region: string; secrets: Array<{ command: string }> };
    expect(report.region).toBe('eu-west-2');
    for (const { command } of report.secrets) expect(command).toMatch(/ --region eu-west-2$/);

    const onlyDefault = { AWS_DEFAULT_REGION: 'ap-south-1' };
    const fallback = await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl'], onlyDefault);
    expect(fallback.stdout).toContain('in region ap-south-1 (AWS_DEFAULT_REGION):');
  });

  it.each([
    [['--region', 'Ireland'], {}, '--region must be an AWS region such as eu-west-1, got "Ireland"'],
    [[], { AWS_REGION: 'eu west 1' }, 'AWS_REGION must be an AWS region such as eu-west-1, got "eu west 1"'],
  ])('%j %j is a usage error (exit 2)', async (argv, env, message) => {
    const run = await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl', ...argv], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe('contact-relay doctor (a deployed stage in AWS Secrets Manager)', () => {
  it('--region eu-west-1: every secret is read signed for eu-west-1, and each fix creates it there', async () => {
    const run = await cli(['doctor', '--stage', 'dev', '--region', 'eu-west-1'], providerUrls);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('contact-relay doctor — stage dev (secrets: Secrets Manager (eu-west-1);');
    expect(proxy.regions.length).toBe(NEEDED);
    expect(new Set(proxy.regions)).toEqual(new Set(['eu-west-1']));
    // The emulator holds only stage local's secrets: each of dev's is missing.
    const kirim = 'contact-relay/dev/provider/kirim';
    expect(run.stdout).toMatch(new RegExp(`✗ {2}secret ${kirim} +missing: .*\\n {7}fix: (.+)\\n`));
    expect(run.stdout).toContain(`fix: aws secretsmanager create-secret --name ${kirim} --secret-string '{"token":`);
    expect(run.stdout.match(/fix: aws secretsmanager create-secret .+ --region eu-west-1\n/g)).toHaveLength(NEEDED);
    expect(run.stdout).toContain('(or write templates: contact-relay secrets init --stage dev --region eu-west-1)');
    expect(run.code).toBe(1);
  });

  it('neither --region nor AWS_REGION: the stack region, not "Region is missing"', async () => {
    const run = await cli(['doctor', '--stage', 'dev', '--json'], providerUrls);
    const report = JSON.parse(run.stdout) as { checks: Array<{ subject: string; detail: string }> };
    expect(run.stdout).not.toContain('Region is missing');
    const secretChecks = report.checks.filter((check) => check.subject.startsWith('secret '));
    expect(secretChecks).toHaveLength(NEEDED);
    for (const check of secretChecks) expect(check.detail, check.subject).toMatch(/^missing: /);
    expect(proxy.regions.length).toBe(NEEDED);
    expect(new Set(proxy.regions)).toEqual(new Set([STACK_REGION]));
  });

  it('AWS_DEFAULT_REGION when AWS_REGION is unset', async () => {
    const run = await cli(['doctor', '--stage', 'dev'], { ...providerUrls, AWS_DEFAULT_REGION: 'ap-southeast-2' });
    expect(run.stdout).toContain('(secrets: Secrets Manager (ap-southeast-2);');
    expect(new Set(proxy.regions)).toEqual(new Set(['ap-southeast-2']));
  });
});

describe('contact-relay send, replay and import (the stage secret that signs, in --region)', () => {
  it.each([
    ['send', (_cwd: string) => ['send', 'form', '--sample']],
    [
      'import',
      (cwd: string) => {
        writeFileSync(path.join(cwd, 'people.csv'), 'name,email\nAda Lovelace,ada@example.com\n');
        return ['import', 'people.csv', '--route', 'default'];
      },
    ],
    [
      'replay',
      (cwd: string) => {
        const line = { source: 'form', route: 'default', payload: { email: 'ada@example.com' } };
        writeFileSync(path.join(cwd, 'events.jsonl'), `${JSON.stringify(line)}\n`);
        return ['replay', 'events.jsonl'];
      },
    ],
  ])('%s reads the route secret signed for the --region given', async (command, args) => {
    let stdout = '';
    let stderr = '';
    const cwd = mkdtempSync(path.join(tmpdir(), 'cli-region-'));
    const io: Io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      cwd,
      now: () => new Date('2026-11-21T10:00:00.000Z'),
    };
    // A form route that checks a signature, so its secret is read before anything is posted.
    const form = { default: { deliverTo: ['kirim'], auth: 'hmac' } };
    const config = { accounts: { kirim: { provider: 'kirim' } }, sources: { form } };
    writeFileSync(path.join(cwd, 'routes.json'), JSON.stringify(config));
    const target = ['--stage', 'prod', '--url', `${emulator.url}/nowhere`, '--config', 'routes.json'];
    const code = await main([...args(cwd), ...target, '--region', 'eu-north-1'], io);
    expect(code, `${command}: ${stdout}${stderr}`).toBe(1);
    expect(proxy.regions.length).toBeGreaterThan(0);
    expect(new Set(proxy.regions)).toEqual(new Set(['eu-north-1']));
    const missing = 'secret "contact-relay/prod/source/form" does not exist in Secrets Manager (eu-north-1)';
    expect(`${stdout}${stderr}`).toContain(missing);
  });
});

describe('the help of every command that reaches AWS', () => {
  const commands = ['send', 'replay', 'import', 'doctor', 'try', 'secrets'];
  it.each(commands)('%s --help lists --region and its default', async (command) => {
    const { stdout } = await cli([command, '--help']);
    expect(stdout).toMatch(/^ {2}--region R +AWS region/m);
    expect(stdout).toContain('AWS_REGION, else');
    expect(stdout).toContain('AWS_DEFAULT_REGION, else the region');
    // Where a help names the stack region, it is the one serverless.yml deploys to.
    const named = [...stdout.matchAll(/serverless\.yml deploys to without --region, ([a-z0-9-]+)/g)].map((m) => m[1]);
    expect(named).toEqual(['send', 'replay', 'import'].includes(command) ? [] : [stackRegion()]);
  });

  it('contact-relay --help names the variables that move the local stack and the region of the others', async () => {
    const { stdout } = await cli(['--help']);
    for (const variable of ['$PORT', '$EMULATOR_PORT', 'LOCAL_SECRETS_FILE', 'PROVIDER_URL_*', '--region']) {
      expect(stdout).toContain(variable);
    }
  });
});
