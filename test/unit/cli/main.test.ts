/** The command line itself, in process: help, usage errors (exit 2), failures (exit 1). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import type { Io } from '../../../cli/io.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: mkdtempSync(path.join(tmpdir(), 'cli-main-')),
    now: () => new Date('2026-11-21T10:00:00.000Z'),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe('contact-relay (in process)', () => {
  it('prints the command list with the exit codes; no command is a usage error', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect((await cli()).code).toBe(2);
    expect(await cli('frobnicate')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "frobnicate"') as string,
    });
  });

  it.each(['send', 'samples', 'replay', 'import', 'doctor', 'secrets'])(
    '%s --help documents its exit codes',
    async (command) => {
      const { code, stdout } = await cli(command, '--help');
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: contact-relay /);
      expect(stdout).toContain('Exit codes:');
      expect((await cli('help', command)).stdout).toBe(stdout);
    },
  );

  it.each([
    [['send'], 'name a source'],
    [
      ['send', 'myspace', 'x.json'],
      'unknown source "myspace"; sources: shopify, woocommerce, typeform, tally, jotform, webflow, google-forms, form, meta-leads, calendly, custom',
    ],
    [['send', 'shopify'], 'give a payload file, or --sample'],
    [['send', 'shopify', 'a.json', '--sample'], 'not both'],
    [['send', 'typeform', 'a.json', '--topic', 'x'], '--topic applies to shopify and woocommerce only'],
    [['send', 'typeform', 'a.json', '--event-id', 'x'], '--event-id applies to shopify, woocommerce, form'],
    [['send', 'form', 'a.json', '--route', 'ghost'], 'no route "ghost" for source "form"'],
    [
      ['send', 'custom', 'a.json', '--route', 'ghost'],
      'no route "ghost" for source "custom" in routes.json (routes: default)',
    ],
    [
      ['send', 'meta-leads', '--sample', '--event-id', 'x'],
      '--event-id applies to shopify, woocommerce, form; meta-leads payloads carry their own id',
    ],
    [['send', 'form', 'a.json', '--stage', 'prod'], '--stage prod needs --url'],
    [['send', 'form', 'a.json', '--url', 'ftp://x'], '--url must be an http(s) URL'],
    [['send', 'form', 'a.json', '--bogus'], "Unknown option '--bogus'"],
    [['replay'], 'give a .jsonl file or a directory'],
    [['replay', 'x.jsonl', '--concurrency', '0'], '--concurrency must be a whole number from 1 to 64'],
    [['import', 'c.csv'], '--route is required'],
    [['import', 'c.csv', '--route', 'default', '--source', 'shopify'], 'only "form" is supported'],
    [['import', 'c.csv', '--route', 'default', '--map', 'x=fax'], 'unknown field "fax"'],
    [['doctor', 'extra'], 'unexpected argument "extra"'],
    [['secrets', 'rotate'], 'unknown action "rotate"'],
  ])('%j is a usage error: %s', async (argv, message) => {
    const { code, stderr } = await cli(...argv);
    expect(stderr).toContain(message);
    expect(stderr).toContain('--help for usage');
    expect(code).toBe(2);
  });

  it('a missing payload, CSV or replay input is a failure (exit 1) naming it', async () => {
    expect(await cli('send', 'form', 'nowhere.json')).toMatchObject({
      code: 1,
      stderr: 'contact-relay send: payload file nowhere.json does not exist\n',
    });
    expect(await cli('import', 'nowhere.csv', '--route', 'default')).toMatchObject({
      code: 1,
      stderr: 'contact-relay import: CSV file nowhere.csv does not exist\n',
    });
    expect(await cli('replay', 'nowhere.jsonl')).toMatchObject({
      code: 1,
      stderr: 'contact-relay replay: nowhere.jsonl does not exist\n',
    });
  });

  it('an invalid route config is a failure naming the field; doctor shows it as a ✗', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-config-'));
    const file = path.join(dir, 'routes.json');
    writeFileSync(file, JSON.stringify({ accounts: {}, sources: { form: { default: { deliverTo: ['ghost'] } } } }));
    const sent = await cli('send', 'form', '--sample', '--config', file);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('sources.form.default.deliverTo[0]: unknown account "ghost"');
    const checked = await cli('doctor', '--config', file);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/✗ {2}route config {2}invalid route config .*unknown account "ghost"/);
  });
});
