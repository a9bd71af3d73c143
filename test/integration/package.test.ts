/**
 * `osls package` builds the deployment with no AWS credentials; it and
 * `npm start` refuse an invalid config/routes.json naming the bad field.
 * Runs in scratch copies of the service so the working tree is never touched.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scratch: string[] = [];

function copyService(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'contact-relay-package-'));
  scratch.push(dir);
  for (const entry of ['serverless.yml', 'package.json', 'tsconfig.json', 'config', 'infra', 'shared', 'functions', 'scripts', 'local', 'test/emulator']) {
    cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** No credentials of any kind: env, files or instance metadata. */
function credentialFreeEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return { ...env, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', SLS_TELEMETRY_DISABLED: '1' };
}

const badRoutes = JSON.stringify({ accounts: { twochat: { provider: 'twochat' } }, sources: { form: { default: { deliverTo: ['twochat', 'ghost'] } } } });

const osls = (dir: string) => run(process.execPath, [path.join(root, 'node_modules/osls/bin/serverless.js'), 'package', '--stage', 'ci'], { cwd: dir, env: credentialFreeEnv(dir), timeoutMs: 180_000 });

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('osls package', () => {
  it('builds every function for nodejs22.x on arm64 with no AWS credentials', async () => {
    const dir = copyService();
    const result = await osls(dir);
    expect(result.output).toContain('Service packaged');
    expect(result.code).toBe(0);
    const template = JSON.parse(readFileSync(path.join(dir, '.serverless/cloudformation-template-update-stack.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Runtime?: string; Architectures?: string[]; Handler?: string } }>;
    };
    const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) expect([fn.Properties.Runtime, fn.Properties.Architectures]).toEqual(['nodejs22.x', ['arm64']]);
  });

  it('fails on an invalid route config with a message naming the field', async () => {
    const dir = copyService();
    writeFileSync(path.join(dir, 'config/routes.json'), badRoutes);
    const result = await osls(dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('sources.form.default.deliverTo[1]: unknown account "ghost"');
  });
});

describe('npm start with an invalid route config', () => {
  it('exits before starting anything, naming the field', async () => {
    const dir = copyService();
    writeFileSync(path.join(dir, 'config/routes.json'), badRoutes);
    const result = await run(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], { cwd: dir, timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.output).toContain('npm start: invalid route config config/routes.json: sources.form.default.deliverTo[1]: unknown account "ghost"');
    expect(result.output).not.toContain('Server ready');
  });
});
