/**
 * Scratch copies of the service, for running `osls` without touching the
 * working tree (the bench, the package and infrastructure tests): the files
 * the service is built from in a fresh temp dir, node_modules linked, and osls
 * run there with no credentials of any kind.
 */
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type Run } from './processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What `osls package` and `npm start` read. */
const SERVICE_ENTRIES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'config',
  'infra',
  'shared',
  'functions',
  'scripts',
  'local',
  'cli',
];

/** A copy of the service in a new temp dir named `<prefix>…`; the caller removes it. */
export function scratchCopy(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const entry of SERVICE_ENTRIES) cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** No credentials of any kind: no AWS_ variable, no files (HOME is `home`), no instance metadata. */
export function credentialFreeEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return { ...env, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', SLS_TELEMETRY_DISABLED: '1', ...extra };
}

/** `osls <args>` in a scratch copy, with no credentials and `env` added. */
export function oslsWithoutCredentials(
  dir: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Run> {
  const bin = path.join(root, 'node_modules/osls/bin/serverless.js');
  return run(process.execPath, [bin, ...args], {
    cwd: dir,
    env: credentialFreeEnv(dir, options.env),
    timeoutMs: options.timeoutMs,
  });
}
