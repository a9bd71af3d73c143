/**
 * The `contact-relay` command as a user runs it (bin/contact-relay.js, a
 * separate process) against one `npm start` stack on free ports: each
 * subcommand's output and exit code, including its errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES } from '../../shared/contact.js';
import { eventually } from '../helpers/pipeline.js';
import { freePort, waitForOutput } from '../../local/processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(root, 'bin/contact-relay.js');
const PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;

let stack: ChildProcess;
let ports: { http: number; emulator: number; lambda: number };
let url: string;
let emulator: string;
let work: string;
let output = '';

beforeAll(async () => {
  ports = { http: await freePort(), emulator: await freePort(), lambda: await freePort() };
  url = `http://127.0.0.1:${ports.http}`;
  emulator = `http://127.0.0.1:${ports.emulator}`;
  work = mkdtempSync(path.join(tmpdir(), 'contact-relay-cli-'));
  stack = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(ports.http),
      EMULATOR_PORT: String(ports.emulator),
      LAMBDA_PORT: String(ports.lambda),
      LOCAL_QUEUE_VISIBILITY_SECONDS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stack.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  stack.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForOutput(stack, 'Ctrl-C stops everything', 120_000);
});

afterAll(async () => {
  if (stack.exitCode === null) {
    // SIGTERM lets npm start stop serverless-offline's process group too.
    const exited = new Promise((resolve) => stack.once('exit', resolve));
    stack.kill('SIGTERM');
    const timer = setTimeout(() => stack.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(work, { recursive: true, force: true });
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`npm start printed:\n${output.slice(-4000)}`);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI as `npx contact-relay` does: node on bin/contact-relay.js, in the scratch directory unless told. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = work): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface EmulatedContact {
  provider: string;
  name?: string;
  phone?: string;
  email?: string;
}

const contacts = async () => (await (await fetch(`${emulator}/_emulator/contacts`)).json()) as EmulatedContact[];
const providerRequests = async () =>
  (
    (await (await fetch(`${emulator}/_emulator/requests`)).json()) as Array<{ provider: string; method: string }>
  ).filter((r) => (PROVIDERS as readonly string[]).includes(r.provider));
const forget = () => fetch(`${emulator}/_emulator/requests`, { method: 'DELETE' });

/** Each of these people is at every emulated provider. */
async function atEveryProvider(names: readonly string[]): Promise<void> {
  await eventually(async () => {
    const held = await contacts();
    for (const provider of PROVIDERS) {
      const there = held.filter((contact) => contact.provider === provider).map((contact) => contact.name);
      for (const name of names) expect(there, `${name} at ${provider}`).toContain(name);
    }
  }, 30_000);
}

/** AWS settings of the machine running the tests left out: the CLI must find the region itself. */
const NO_AWS_REGION: NodeJS.ProcessEnv = {
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_PROFILE: undefined,
  AWS_CONFIG_FILE: path.join(tmpdir(), 'no-aws-config'),
};

/** A secrets file like local/secrets.json, changed. */
function secretsFile(name: string, change: (secrets: Record<string, unknown>) => void): string {
  const secrets = JSON.parse(readFileSync(path.join(root, 'local/secrets.json'), 'utf8')) as Record<string, unknown>;
  change(secrets);
  const file = path.join(work, name);
  writeFileSync(file, JSON.stringify(secrets, null, 2));
  return file;
}

describe('contact-relay send', () => {
  it('send shopify --sample: the order signed with the local secret becomes a contact at every emulated provider; sent again, a duplicate', async () => {
    await forget();
    const sent = await cli(['send', 'shopify', '--sample', '--url', url]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain(`POST ${url}/hooks/shopify/default`);
    expect(sent.stdout).toContain(
      'X-Shopify-Hmac-Sha256 (secret contact-relay/local/source/shopify); topic orders/create, shop demo-shop.myshopify.com',
    );
    expect(sent.stdout).toMatch(/^HTTP 200$/m);
    expect(sent.stdout).toContain('"status": "accepted"');
    expect(sent.stdout).toContain('accepted: the contact is queued for twochat, kirim, callbell, chatwoot');

    await eventually(async () => {
      const held = await contacts();
      expect(held.map((contact) => [contact.provider, contact.name, contact.phone, contact.email]).sort()).toEqual([
        ['callbell', 'John Smith', '+14155550132', undefined],
        ['chatwoot', 'John Smith', '+14155550132', 'john@example.com'],
        ['kirim', 'John Smith', '+14155550132', 'john@example.com'],
        ['twochat', 'John Smith', '+14155550132', 'john@example.com'],
      ]);
    }, 30_000);

    const before = (await providerRequests()).length;
    const again = await cli(['send', 'shopify', '--sample', '--url', url, '--json']);
    expect(again.code).toBe(0);
    const answer = JSON.parse(again.stdout) as { httpStatus: number; outcome: string; body: { eventKey: string } };
    expect(answer).toMatchObject({ httpStatus: 200, outcome: 'duplicate', body: { status: 'duplicate' } });
    expect(answer.body.eventKey).toMatch(/^shopify:demo-shop\.myshopify\.com:event:[0-9a-f-]{36}$/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await providerRequests()).toHaveLength(before);
  });

  it('an unknown source is a usage error (exit 2) listing the sources', async () => {
    const run = await cli(['send', 'squarespace', 'order.json', '--url', url]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toContain(`unknown source "squarespace"; sources: ${SOURCES.join(', ')}`);
  });

  it('a missing payload file is a failure (exit 1) naming it', async () => {
    expect(await cli(['send', 'typeform', 'answers/missing.json', '--url', url])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'contact-relay send: payload file answers/missing.json does not exist\n',
    });
  });

  it('an unreachable URL is a failure (exit 1) saying so', async () => {
    const port = await freePort();
    const run = await cli(['send', 'form', '--sample', '--url', `http://127.0.0.1:${port}`]);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `contact-relay send: cannot reach http://127.0.0.1:${port}/hooks/form/default: connection refused\n`,
    });
  });

  it('signed with another secret than the stage uses, the webhook is refused: the 401 is printed and the exit code is 1', async () => {
    const secrets = secretsFile(
      'wrong-secret.json',
      (all) => (all['contact-relay/local/source/typeform'] = { secret: 'not-the-stage-secret' }),
    );
    const run = await cli(['send', 'typeform', '--sample', '--url', url, '--secrets', secrets]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^HTTP 401$/m);
    expect(run.stdout).toContain('refused: HTTP 401 invalid_signature');
    expect(run.stdout).toContain('hint: the stage checks with another secret');
  });

  it('a stage other than local reads Secrets Manager: a secret missing there is a failure naming it', async () => {
    const run = await cli(
      ['send', 'webflow', '--sample', '--stage', 'staging', '--url', url, '--region', 'eu-west-1'],
      {
        AWS_ENDPOINT_URL_SECRETS_MANAGER: emulator,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'secret "contact-relay/staging/source/webflow" does not exist in Secrets Manager (eu-west-1); webflow route "default" needs it to sign (create it: contact-relay secrets init --stage staging --region eu-west-1',
    );
  });
});

describe('contact-relay replay', () => {
  it('replays cli/samples as shipped: each sample is accepted (the Shopify order sent before is a duplicate) and becomes a contact at every provider', async () => {
    // Meta's webhook names its lead only: the lead must be where deliver reads it, here the emulated Graph API.
    const lead = readFileSync(path.join(root, 'cli/samples/graph/meta-leads-lead.json'));
    const stored = await fetch(`${emulator}/_emulator/meta/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: lead,
    });
    expect(stored.status).toBeLessThan(300);
    const run = await cli(['replay', 'cli/samples', '--url', url, '--concurrency', '3'], {}, root);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`replay cli/samples → ${url} (stage local): ${SOURCES.length} items`);
    const counts = Object.fromEntries(
      [...run.stdout.matchAll(/^ {2}(accepted|duplicate|ignored|skipped|rejected) +(\d+)$/gm)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    );
    expect(counts['accepted']! + counts['duplicate']!).toBe(SOURCES.length);
    expect(counts).toMatchObject({ ignored: 0, skipped: 0, rejected: 0 });
    await atEveryProvider([
      'John Smith',
      'Jane Doe',
      'Ada Lovelace',
      'Jan Peeters',
      'Mary Somerville',
      'Ford Prefect',
      'Emmy Noether',
      'Katherine Johnson',
      'Grace Hopper',
      'Hedy Lamarr',
      'Rosalind Franklin',
    ]);
  });

  it('replays a JSONL file: the summary counts each outcome and gives the reasons; a rejected line makes the exit code 1', async () => {
    const file = path.join(work, 'events.jsonl');
    const lines = [
      { source: 'form', payload: { name: 'Lin Replay', email: 'lin.replay@example.com', phone: '+1 415 555 0109' } },
      { source: 'form', payload: { name: 'Lin Replay', email: 'lin.replay@example.com', phone: '+1 415 555 0109' } },
      { source: 'form', payload: { name: 'Nobody Reachable' } },
      { source: 'woocommerce', topic: 'product.created', payload: { id: 12 } },
      { source: 'form', route: 'ghost', payload: { email: 'ghost@example.com' } },
      { source: 'bitbucket', payload: {} },
    ].map((line) => JSON.stringify(line));
    writeFileSync(file, [...lines, '{"source": "form", "payload": ', ''].join('\n'));
    const run = await cli(['replay', 'events.jsonl', '--url', url, '--concurrency', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('replay events.jsonl');
    expect(run.stdout).toContain(': 7 items');
    expect(run.stdout).toMatch(/^ {2}accepted +1$/m);
    expect(run.stdout).toMatch(/^ {2}duplicate +1$/m);
    expect(run.stdout).toMatch(/^ {2}ignored +1$/m);
    expect(run.stdout).toMatch(/^ {2}skipped +1$/m);
    expect(run.stdout).toMatch(/^ {2}rejected +3$/m);
    expect(run.stdout).toMatch(/events\.jsonl:5 +form\/ghost +no route "ghost" for form in routes\.json/);
    expect(run.stdout).toMatch(/events\.jsonl:6 +- +unknown source "bitbucket"/);
    expect(run.stdout).toMatch(/events\.jsonl:7 +- +not JSON/);
    expect(run.stdout).toMatch(/events\.jsonl:3 +form\/default +no usable email or phone/);
    expect(run.stdout).toMatch(/events\.jsonl:4 +woocommerce\/default +topic "product\.created" carries no contact/);
  });

  it('stops when the URL cannot be reached (exit 1), sending nothing more', async () => {
    const port = await freePort();
    const run = await cli(['replay', 'events.jsonl', '--url', `http://127.0.0.1:${port}`, '--concurrency', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `contact-relay replay: cannot reach http://127.0.0.1:${port}/hooks/form/default: connection refused; stopped`,
    );
    expect(run.stdout).toMatch(/^ {2}not sent +\d+$/m);
  });

  it('a missing input is a failure naming it', async () => {
    expect(await cli(['replay', 'nothing-here.jsonl', '--url', url])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'contact-relay replay: nothing-here.jsonl does not exist\n',
    });
  });
});

describe('contact-relay import', () => {
  const csv = [
    'Full Name,E-mail,Mobile,Country,notes',
    'Hedy Lamarr,hedy@example.com,(415) 555-0191,US,"inventor, ""frequency hopping"""',
    'No Contact,,,,',
    'Bad Phone,,12,US,',
    'Barbara Liskov,barbara@example.com,(212) 555-0104,US,"two',
    'lines"',
    'Too,many,fields,in,this,row',
    '"Quoted"trailing,x@example.com,,,',
    '',
  ].join('\r\n');

  it('imports the good rows through the form route; bad rows go to the error report and never stop it (exit 0)', async () => {
    writeFileSync(path.join(work, 'contacts.csv'), csv);
    const run = await cli([
      'import',
      'contacts.csv',
      '--route',
      'default',
      '--url',
      url,
      '--map',
      'Full Name=name',
      '--map',
      'Mobile=phone',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`import contacts.csv → form/default at ${url} (stage local)`);
    expect(run.stdout).toContain(
      'columns: Full Name → name, E-mail → email, Mobile → phone, Country → country, notes (as is)',
    );
    expect(run.stdout).toContain('6 rows (rows 2–7)');
    expect(run.stdout).toMatch(/^ {2}accepted +2 /m);
    expect(run.stdout).toMatch(/^ {2}skipped +2 /m);
    expect(run.stdout).toMatch(/^ {2}malformed +2 /m);
    expect(run.stdout).toContain('errors: 4 rows → contacts.csv.errors.csv');
    expect(run.stdout).toContain('checkpoint: contacts.csv.checkpoint.json (last row done: 7)');
    expect(readFileSync(path.join(work, 'contacts.csv.errors.csv'), 'utf8')).toBe(
      [
        'row,reason',
        '3,no usable email or phone: no email or phone field found',
        '4,no usable email or phone: phone number is too short (region US)',
        '6,"malformed CSV row: it has 6 fields, the header has 5"',
        '7,malformed CSV row: field 1 has text after its closing quote',
        '',
      ].join('\n'),
    );
    expect(JSON.parse(readFileSync(path.join(work, 'contacts.csv.checkpoint.json'), 'utf8'))).toMatchObject({
      lastRow: 7,
      complete: true,
      route: 'default',
    });
    await atEveryProvider(['Hedy Lamarr', 'Barbara Liskov']);
  });

  it('runs again with nothing to do; with --restart every row is a duplicate and no provider is called again', async () => {
    const resumed = await cli([
      'import',
      'contacts.csv',
      '--route',
      'default',
      '--url',
      url,
      '--map',
      'Full Name=name',
    ]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('nothing to do: every row up to row 7 was imported before');

    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = (await providerRequests()).length;
    const again = await cli([
      'import',
      'contacts.csv',
      '--route',
      'default',
      '--url',
      url,
      '--map',
      'Full Name=name',
      '--restart',
      '--json',
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      rows: 6,
      counts: { accepted: 0, duplicate: 2, skipped: 2, malformed: 2, rejected: 0 },
      errorRows: 4,
      lastRow: 7,
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await providerRequests()).toHaveLength(before);
  });

  it('resumes after the row the checkpoint names', async () => {
    const checkpoint = path.join(work, 'contacts.csv.checkpoint.json');
    writeFileSync(
      checkpoint,
      JSON.stringify({ ...JSON.parse(readFileSync(checkpoint, 'utf8')), lastRow: 4, complete: false }),
    );
    const run = await cli([
      'import',
      'contacts.csv',
      '--route',
      'default',
      '--url',
      url,
      '--map',
      'Full Name=name',
      '--json',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      rows: 3,
      resumedAfterRow: 4,
      counts: { duplicate: 1, malformed: 2 },
      lastRow: 7,
    });
  });

  it('cannot run (exit 1): a missing CSV, an unreachable URL (progress is kept for the next run)', async () => {
    expect(await cli(['import', 'missing.csv', '--route', 'default', '--url', url])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'contact-relay import: CSV file missing.csv does not exist\n',
    });
    const port = await freePort();
    const run = await cli([
      'import',
      'contacts.csv',
      '--route',
      'default',
      '--url',
      `http://127.0.0.1:${port}`,
      '--checkpoint',
      'other.checkpoint.json',
      '--errors',
      'other.errors.csv',
      '--concurrency',
      '1',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `contact-relay import: cannot reach http://127.0.0.1:${port}/hooks/form/default: connection refused`,
    );
    expect(run.stderr).toContain('stopped after row 1; fix the cause and run the same command again to resume');
  });

  it('Ctrl-C stops an import with its progress saved (exit 130); the next run resumes after the last row done', async () => {
    // Rows with no usable email or phone: answered "skipped" at once, so no delivery loads the stack.
    const rows = Array.from({ length: 400 }, (_, index) => `Person ${index + 2},,`);
    writeFileSync(path.join(work, 'big.csv'), ['name,email,phone', ...rows, ''].join('\n'));
    const checkpoint = path.join(work, 'big.csv.checkpoint.json');
    const child = spawn(
      process.execPath,
      [BIN, 'import', 'big.csv', '--route', 'default', '--url', url, '--concurrency', '1'],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await eventually(() => expect(JSON.parse(readFileSync(checkpoint, 'utf8')).lastRow).toBeGreaterThan(5), 20_000);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted after row \d+; run the same command again to resume/);
    const stopped = JSON.parse(readFileSync(checkpoint, 'utf8')) as { lastRow: number; complete: boolean };
    expect(stopped.complete).toBe(false);
    expect(stopped.lastRow).toBeLessThan(401);

    const resumed = await cli([
      'import',
      'big.csv',
      '--route',
      'default',
      '--url',
      url,
      '--concurrency',
      '8',
      '--json',
    ]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      resumedAfterRow: stopped.lastRow,
      rows: 401 - stopped.lastRow,
      lastRow: 401,
      counts: { skipped: 401 - stopped.lastRow },
    });
    const report = readFileSync(path.join(work, 'big.csv.errors.csv'), 'utf8').trim().split('\n');
    // Every row once, in order, whether it was reported before or after the interruption.
    expect(report.slice(1).map((line) => Number(line.split(',')[0]))).toEqual(
      Array.from({ length: 400 }, (_, index) => index + 2),
    );
  }, 60_000);

  it('a CSV without an email or phone column is a usage error naming the columns', async () => {
    writeFileSync(path.join(work, 'names.csv'), 'first,last\nAda,Lovelace\n');
    const run = await cli(['import', 'names.csv', '--route', 'default', '--url', url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'no column of names.csv gives an email or a phone (columns: "first", "last"); map one with --map <column>=email or --map <column>=phone',
    );
  });
});

describe('contact-relay doctor', () => {
  it('stage local: route config, every secret and every provider account pass (exit 0)', async () => {
    const run = await cli(['doctor', '--emulator', emulator]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `contact-relay doctor — stage local (secrets: ${path.join(root, 'local/secrets.json')}; providers: emulator ${emulator})`,
    );
    const rows = run.stdout.split('\n').filter((line) => /^ {2}[✓✗–] /.test(line));
    // The lookup key (the person index's hashes) is one of the secrets.
    expect(rows).toHaveLength(22);
    expect(rows.every((row) => row.startsWith('  ✓'))).toBe(true);
    for (const account of PROVIDERS)
      expect(run.stdout).toMatch(new RegExp(`✓ {2}credentials ${account} +.* accepted them \\(HTTP 200\\)`));
    expect(run.stdout).toContain('22 checks: 22 ✓, 0 ✗');
  });

  it('a placeholder left in a secret, a missing secret, a refused key and a token secret without its token are ✗ with their fix (exit 1)', async () => {
    const secrets = secretsFile('broken-secrets.json', (all) => {
      all['contact-relay/local/provider/twochat'] = { apiKey: '<2Chat API key>' };
      all['contact-relay/local/provider/kirim'] = { token: 'revoked-kirim-token', phoneNumberId: '106540352242922' };
      delete all['contact-relay/local/source/shopify'];
      all['contact-relay/local/source/jotform'] = { secret: 'a-secret-but-no-token' };
    });
    const run = await cli(['doctor', '--emulator', emulator, '--secrets', secrets]);
    expect(run.code).toBe(1);
    const out = run.stdout;
    expect(out).toMatch(
      /✗ {2}secret contact-relay\/local\/provider\/twochat +wrong shape: apiKey still holds the template placeholder/,
    );
    expect(out).toMatch(
      /✗ {2}secret contact-relay\/local\/source\/shopify +missing: webhook signing secret of shopify\/default\n {7}fix: add "contact-relay\/local\/source\/shopify" to broken-secrets\.json \(shape: \{"secret":"<.+>"\}\)/,
    );
    expect(out).toMatch(
      /✗ {2}secret contact-relay\/local\/source\/jotform +wrong shape: needs "token": jotform\/default checks a token/,
    );
    expect(out).toMatch(
      /– {2}credentials twochat +not called: secret contact-relay\/local\/provider\/twochat is not usable/,
    );
    expect(out).toMatch(
      /✗ {2}credentials kirim +Kirim\.chat: unauthorized — kirim refused the credentials in secret "contact-relay\/local\/provider\/kirim" \(HTTP 401/,
    );
    expect(out).not.toContain('revoked-kirim-token');
    expect(out).toMatch(/✓ {2}credentials callbell/);
    expect(out).toContain('22 checks: 17 ✓, 4 ✗, 1 not run');
  });

  it('a deployed stage reads Secrets Manager in the stack region: each missing secret is a ✗ with the aws secretsmanager create-secret command for that region (exit 1)', async () => {
    // No region anywhere: the one serverless.yml deploys to, not the SDK's "Region is missing".
    const run = await cli(['doctor', '--stage', 'prod', '--json'], {
      ...NO_AWS_REGION,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: emulator,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    expect(run.stdout).not.toContain('Region is missing');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      checks: Array<{ status: string; subject: string; fix?: string[] }>;
    };
    expect(report.ok).toBe(false);
    const twochat = report.checks.find((check) => check.subject === 'secret contact-relay/prod/provider/twochat');
    expect(twochat).toMatchObject({
      status: 'fail',
      fix: [
        `aws secretsmanager create-secret --name contact-relay/prod/provider/twochat --secret-string '{"apiKey":"<2Chat API key>"}' --region us-east-1`,
        expect.any(String),
      ],
    });
    expect(report.checks.filter((check) => check.status === 'fail').map((check) => check.subject)).toHaveLength(17);
    expect(report.checks.find((check) => check.subject === 'secret contact-relay/prod/lookup-key')?.status).toBe(
      'fail',
    );
    expect(
      report.checks
        .filter((check) => check.subject.startsWith('credentials'))
        .every((check) => check.status === 'skip'),
    ).toBe(true);
  });
});

describe('contact-relay secrets init', () => {
  it('writes a template per secret the route config needs and prints the commands; doctor reads filled-in templates as unfilled', async () => {
    const run = await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl'], NO_AWS_REGION);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const files = readdirSync(path.join(work, 'tpl')).sort();
    expect(files).toEqual([
      'lookup-key.json',
      'provider-callbell.json',
      'provider-chatwoot.json',
      'provider-kirim.json',
      'provider-twochat.json',
      'shopify-admin-default.json',
      ...[
        'calendly',
        'custom',
        // form/contact's captcha: its secret key.
        'form',
        'google-forms',
        'jotform',
        'meta-leads',
        'shopify',
        'tally',
        'typeform',
        'webflow',
        'woocommerce',
      ].map((source) => `source-${source}.json`),
    ]);
    expect(JSON.parse(readFileSync(path.join(work, 'tpl/provider-twochat.json'), 'utf8'))).toEqual({
      apiKey: '<2Chat API key>',
    });
    expect(JSON.parse(readFileSync(path.join(work, 'tpl/source-jotform.json'), 'utf8'))).toEqual({
      token: expect.stringMatching(/^<.+>$/) as string,
    });
    // In the region serverless.yml deploys to, as no --region or AWS_REGION says otherwise.
    expect(run.stdout).toContain(
      'aws secretsmanager create-secret --name contact-relay/prod/provider/twochat --secret-string file://tpl/provider-twochat.json --region us-east-1\n',
    );
    expect(run.stdout).toContain(
      'aws secretsmanager create-secret --name contact-relay/prod/shopify-admin/default --secret-string file://tpl/shopify-admin-default.json --region us-east-1\n',
    );
    expect(run.stdout.match(/aws secretsmanager create-secret .+ --region us-east-1\n/g)).toHaveLength(17);
    expect(run.stdout).toContain(
      'aws secretsmanager create-secret --name contact-relay/prod/lookup-key --secret-string file://tpl/lookup-key.json --region us-east-1\n',
    );
    const elsewhere = await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl', '--region', 'eu-west-1']);
    expect(elsewhere.stdout.match(/aws secretsmanager create-secret .+ --region eu-west-1\n/g)).toHaveLength(17);
    expect(elsewhere.stdout).toContain('contact-relay doctor --stage prod --region eu-west-1');

    // Kept unless --force: a filled-in template is never overwritten.
    writeFileSync(path.join(work, 'tpl/provider-twochat.json'), '{"apiKey":"filled-in"}');
    expect((await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl'])).stdout).toContain(
      '(17 kept as they were; --force overwrites)',
    );
    expect(readFileSync(path.join(work, 'tpl/provider-twochat.json'), 'utf8')).toBe('{"apiKey":"filled-in"}');
    expect((await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl', '--force'])).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(work, 'tpl/provider-twochat.json'), 'utf8'))).toEqual({
      apiKey: '<2Chat API key>',
    });

    // The templates as the stage's secrets: every placeholder is reported.
    const asSecrets = Object.fromEntries(
      (
        JSON.parse((await cli(['secrets', 'init', '--stage', 'prod', '--out', 'tpl', '--json'])).stdout) as {
          secrets: Array<{ name: string; template: unknown }>;
        }
      ).secrets.map((secret) => [secret.name, secret.template]),
    );
    writeFileSync(path.join(work, 'prod-secrets.json'), JSON.stringify(asSecrets));
    const doctor = await cli(['doctor', '--stage', 'prod', '--secrets', 'prod-secrets.json']);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout.match(/still holds? the template placeholder/g)).toHaveLength(17);
  });
});
