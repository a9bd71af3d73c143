/**
 * `osls package` builds the deployment with no AWS credentials, one zip per
 * function holding that function's bundle only; it and `npm start` refuse an
 * invalid config/routes.json naming the bad field. Runs in scratch copies of
 * the service so the working tree is never touched; the valid service is
 * packaged once for the whole file.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type Run } from '../../local/processes.js';
import { oslsWithoutCredentials, scratchCopy } from '../../local/scratch.js';
import { readZip } from '../helpers/zip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scratch: string[] = [];

function copyService(): string {
  const dir = scratchCopy('contact-relay-package-');
  scratch.push(dir);
  return dir;
}

const badRoutes = JSON.stringify({
  accounts: { twochat: { provider: 'twochat' } },
  sources: { form: { default: { deliverTo: ['twochat', 'ghost'] } } },
});

const osls = (dir: string) => oslsWithoutCredentials(dir, ['package', '--stage', 'ci'], { timeoutMs: 180_000 });

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

interface FunctionResource {
  Type: string;
  Properties: { Runtime?: string; Architectures?: string[]; Handler?: string; Code?: { S3Key?: string } };
}

let packaged: { dir: string; result: Run; functions: Array<[string, FunctionResource]> };

beforeAll(async () => {
  const dir = copyService();
  const result = await osls(dir);
  const file = path.join(dir, '.serverless/cloudformation-template-update-stack.json');
  const template = JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, FunctionResource> };
  const functions = Object.entries(template.Resources).filter(([, { Type }]) => Type === 'AWS::Lambda::Function');
  packaged = { dir, result, functions };
}, 200_000);

describe('osls package', () => {
  it('builds every function for nodejs22.x on arm64 with no AWS credentials', () => {
    expect(packaged.result.output).toContain('Service packaged');
    expect(packaged.result.code).toBe(0);
    expect(packaged.functions.length).toBe(7);
    for (const [, fn] of packaged.functions) {
      expect([fn.Properties.Runtime, fn.Properties.Architectures]).toEqual(['nodejs22.x', ['arm64']]);
    }
  });

  it('deploys each function from a zip of its own that holds its handler’s bundle and nothing else', () => {
    const serviceZip = path.join(packaged.dir, '.serverless/contact-relay.zip');
    expect(existsSync(serviceZip), 'one zip for the whole service').toBe(false);
    const keys = new Set<string>();
    for (const [id, fn] of packaged.functions) {
      // FormsLambdaFunction → forms.zip; functions/forms/handler.handler → functions/forms/handler.mjs
      const name = `${id[0]!.toLowerCase()}${id.slice(1).replace(/LambdaFunction$/, '')}`;
      const bundle = `${fn.Properties.Handler!.replace(/\.handler$/, '')}.mjs`;
      expect(fn.Properties.Code?.S3Key, id).toMatch(new RegExp(`/${name}\\.zip$`));
      keys.add(fn.Properties.Code!.S3Key!);
      const entries = readZip(path.join(packaged.dir, '.serverless', `${name}.zip`));
      expect(entries.map((entry) => entry.name).sort(), id).toEqual([bundle, `${bundle}.map`]);
      // The bundle's own sources name one handler: this function's.
      const mapEntry = entries.find((entry) => entry.name === `${bundle}.map`)!;
      const map = JSON.parse(mapEntry.read().toString('utf8')) as { sources: string[] };
      const handlerSources = map.sources.filter((source) => /(^|\/)functions\/[^/]+\/handler\.ts$/.test(source));
      const handlers = new Set(handlerSources.map((source) => source.replace(/^(\.\.\/)+/, '')));
      expect([...handlers], id).toEqual([fn.Properties.Handler!.replace(/\.handler$/, '.ts')]);
    }
    expect(keys.size).toBe(packaged.functions.length);
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
    const result = await run(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      'npm start: invalid route config config/routes.json: sources.form.default.deliverTo[1]: unknown account "ghost"',
    );
    expect(result.output).not.toContain('Server ready');
  });
});
