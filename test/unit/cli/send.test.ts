/**
 * `contact-relay send` for the sources that need more than a signature:
 * `meta-leads --sample` stores the sample's Graph lead in the emulator before
 * it posts the signed webhook (only where deliver reads leads from the
 * emulator), `calendly --sample` stamps and signs, and `custom --route R` signs
 * as route R says. One HTTP server stands in for both the local API (PORT) and
 * the emulator (EMULATOR_PORT), and records what it was sent.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Io } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import { sampleGraphLeadPath, samplePath } from '../../../cli/samples.js';
import { startEmulator } from '../../../local/emulator/server.js';

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const received: Received[] = [];
/** What the stand-in answers, by path. */
let answers: Record<string, { status: number; body: unknown }> = {};
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const where = (request.url ?? '').split('?')[0] ?? '';
      received.push({
        method: request.method ?? '',
        path: where,
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      const answer = answers[where] ?? { status: 404, body: { error: { code: 'not_found', message: 'no such path' } } };
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  received.length = 0;
  answers = {};
});

const APP_SECRET = 'send-test-app-secret';
const CALENDLY_KEY = 'send-test-calendly-key';
const CUSTOM = { token: 'send-test-custom-token', secret: 'send-test-custom-secret' };

/** A secrets file for stages local and prod, so the test needs nothing from local/secrets.json. */
function secretsFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cli-send-'));
  const file = path.join(dir, 'secrets.json');
  const meta = { appSecret: APP_SECRET, verifyToken: 'v', pageAccessTokens: { '100000000000001': 'page-token' } };
  writeFileSync(
    file,
    JSON.stringify({
      'contact-relay/local/source/meta-leads': meta,
      'contact-relay/prod/source/meta-leads': meta,
      'contact-relay/local/source/calendly': { secret: CALENDLY_KEY },
      'contact-relay/local/source/custom': CUSTOM,
    }),
  );
  return file;
}

async function send(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string; cwd: string }> {
  let stdout = '';
  let stderr = '';
  const cwd = mkdtempSync(path.join(tmpdir(), 'cli-send-cwd-'));
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { PORT: String(port), EMULATOR_PORT: String(port), ...env },
    cwd,
    now: () => new Date('2026-11-21T10:00:00.000Z'),
  };
  const code = await main(['send', ...argv, '--secrets', secretsFile()], io);
  return { code, stdout, stderr, cwd };
}

const hmacHex = (key: string, data: Buffer | string) => createHmac('sha256', key).update(data).digest('hex');
const sampleLead = () => JSON.parse(readFileSync(sampleGraphLeadPath('meta-leads') ?? '', 'utf8')) as { id: string };
const webhookOf = (source: string) => received.find((request) => request.path.startsWith(`/hooks/${source}/`));
const acceptedLead = (id: string, status = 'accepted') => ({
  status: 200,
  body: { status, events: [{ eventKey: `meta-leads:${id}`, status }] },
});

describe('contact-relay send meta-leads --sample', () => {
  it("stores the sample's Graph lead in the emulator, then posts the webhook naming it, signed with the app secret", async () => {
    const lead = sampleLead();
    answers['/_emulator/meta/leads'] = { status: 201, body: { stored: lead.id } };
    answers['/hooks/meta-leads/default'] = acceptedLead(lead.id);
    const run = await send(['meta-leads', '--sample']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(received.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /_emulator/meta/leads',
      'POST /hooks/meta-leads/default',
    ]);

    const [seed, webhook] = received as [Received, Received];
    expect(JSON.parse(seed.body.toString('utf8'))).toEqual(lead);
    expect(seed.headers['content-type']).toBe('application/json');
    expect(webhook.body.equals(readFileSync(samplePath('meta-leads')))).toBe(true);
    expect(webhook.body.toString('utf8')).toContain(`"leadgen_id": "${lead.id}"`);
    expect(webhook.headers['x-hub-signature-256']).toBe(`sha256=${hmacHex(APP_SECRET, webhook.body)}`);

    expect(run.stdout).toContain(
      `Graph lead: ${lead.id} stored in the emulator (http://127.0.0.1:${port}/_emulator/meta/leads)`,
    );
    expect(run.stdout).toContain(
      'accepted: 1 of 1 event queued for twochat, kirim, callbell, chatwoot: deliver reads each lead from the Graph API',
    );
  });

  it("the emulator of `npm start` takes the stored lead and answers it as the Graph API, with the page's token", async () => {
    const lead = sampleLead();
    const secrets = {
      'contact-relay/local/source/meta-leads': {
        appSecret: APP_SECRET,
        verifyToken: 'v',
        pageAccessTokens: { '100000000000001': 'page-token' },
      },
    };
    const emulator = await startEmulator({ port: 0, secrets });
    try {
      answers['/hooks/meta-leads/default'] = acceptedLead(lead.id);
      const run = await send(['meta-leads', '--sample'], { EMULATOR_PORT: String(emulator.port) });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const graph = await fetch(`${emulator.url}/meta/v24.0/${lead.id}?access_token=page-token&fields=field_data`);
      expect(graph.status).toBe(200);
      const { field_data: fields } = (await graph.json()) as { field_data: Array<{ name: string; values: string[] }> };
      expect(fields.find((field) => field.name === 'full_name')?.values).toEqual(['Grace Hopper']);
    } finally {
      await emulator.close();
    }
  });

  it('a second send is answered duplicate; the hint says which id makes a new lead', async () => {
    const lead = sampleLead();
    answers['/_emulator/meta/leads'] = { status: 201, body: {} };
    answers['/hooks/meta-leads/default'] = acceptedLead(lead.id, 'duplicate');
    const run = await send(['meta-leads', '--sample']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `duplicate: this event was accepted before (meta-leads:${lead.id}); nothing was queued. Change leadgen_id in the payload`,
    );
  });

  it('--json reports the stored lead beside the answer', async () => {
    const lead = sampleLead();
    answers['/_emulator/meta/leads'] = { status: 201, body: {} };
    answers['/hooks/meta-leads/default'] = acceptedLead(lead.id);
    const run = await send(['meta-leads', '--sample', '--json']);
    const printed = JSON.parse(run.stdout) as { outcome: string; graphLead: { stored: boolean; id: string } };
    expect(printed).toMatchObject({ outcome: 'accepted', graphLead: { stored: true, id: lead.id } });
  });

  it.each([
    [
      { META_GRAPH_URL: 'https://graph.example.com' },
      'META_GRAPH_URL points deliver at https://graph.example.com, so the lead must exist there',
    ],
    [
      { META_GRAPH_URL: '' },
      "META_GRAPH_URL points deliver at Meta's public Graph API (set but empty), so the lead must exist there",
    ],
  ])('with %j, nothing is stored and the output says why', async (env, why) => {
    const lead = sampleLead();
    answers['/hooks/meta-leads/default'] = acceptedLead(lead.id);
    const run = await send(['meta-leads', '--sample'], env);
    expect(run.code).toBe(0);
    expect(received.map((request) => request.path)).toEqual(['/hooks/meta-leads/default']);
    expect(run.stdout).toContain(`Graph lead: ${lead.id} not stored: ${why}`);
  });

  it('on a deployed stage nothing is stored: its deliver reads the real Graph API', async () => {
    const lead = sampleLead();
    answers['/hooks/meta-leads/default'] = acceptedLead(lead.id);
    const run = await send(['meta-leads', '--sample', '--stage', 'prod', '--url', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(0);
    expect(received.map((request) => request.path)).toEqual(['/hooks/meta-leads/default']);
    expect(run.stdout).toContain(
      `Graph lead: ${lead.id} not stored: stage prod reads leads from Meta's Graph API, so the lead must exist there`,
    );
  });

  it('when the emulator refuses the lead, the webhook is not sent and the failure names the answer', async () => {
    answers['/_emulator/meta/leads'] = { status: 400, body: { error: 'field_data is required' } };
    const run = await send(['meta-leads', '--sample']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `the emulator refused the lead ${sampleLead().id} (HTTP 400 from http://127.0.0.1:${port}/_emulator/meta/leads)`,
    );
    expect(received.map((request) => request.path)).toEqual(['/_emulator/meta/leads']);
  });

  it("a payload file's leads are not stored: the output says to store each and names them", async () => {
    answers['/hooks/meta-leads/default'] = acceptedLead('1500000000000999');
    const payload = {
      object: 'page',
      entry: [
        {
          id: '100000000000001',
          time: 1,
          changes: [{ field: 'leadgen', value: { leadgen_id: '1500000000000999', page_id: '100000000000001' } }],
        },
      ],
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-send-payload-'));
    writeFileSync(path.join(dir, 'lead.json'), JSON.stringify(payload));
    const run = await send(['meta-leads', path.join(dir, 'lead.json')]);
    expect(run.code).toBe(0);
    expect(received.map((request) => request.path)).toEqual(['/hooks/meta-leads/default']);
    expect(run.stdout).toContain(
      "Graph lead: not stored: a payload file's leads (1500000000000999) must be in the emulator first",
    );
    expect(run.stdout).toContain(`curl -s -X POST http://127.0.0.1:${port}/_emulator/meta/leads`);
  });
});

describe('contact-relay send calendly --sample', () => {
  it('posts the invitee.created sample with Calendly-Webhook-Signature over "{t}.{body}" at the send time', async () => {
    answers['/hooks/calendly/default'] = { status: 200, body: { status: 'accepted', eventKey: 'calendly:x' } };
    const run = await send(['calendly', '--sample']);
    expect(run.code).toBe(0);
    const webhook = webhookOf('calendly');
    const t = String(Date.parse('2026-11-21T10:00:00.000Z') / 1000);
    expect(webhook?.headers['calendly-webhook-signature']).toBe(
      `t=${t},v1=${hmacHex(CALENDLY_KEY, `${t}.${webhook?.body.toString('utf8')}`)}`,
    );
    expect(run.stdout).toContain('accepted: the contact is queued for twochat, kirim, callbell, chatwoot');
  });

  it('a duplicate names the invitee URI as what makes a new booking', async () => {
    answers['/hooks/calendly/default'] = { status: 200, body: { status: 'duplicate', eventKey: 'calendly:x' } };
    const run = await send(['calendly', '--sample']);
    expect(run.stdout).toContain('Change payload.uri (the invitee URI) to send it as a new booking.');
  });
});

describe('contact-relay send custom --route R file.json', () => {
  const config = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-send-config-'));
    const file = path.join(dir, 'routes.json');
    const fields = { fullName: '/name', email: '/email', phone: '/phone' };
    writeFileSync(
      file,
      JSON.stringify({
        accounts: { main: { provider: 'twochat' } },
        sources: {
          custom: {
            default: { deliverTo: ['main'], custom: { fields, eventId: '/id' } },
            elementor: {
              deliverTo: ['main'],
              custom: {
                fields,
                signature: {
                  header: 'X-Hook-Signature',
                  encoding: 'base64',
                  prefix: 'v1=',
                  signedString: '{timestamp}:{body}',
                  timestampHeader: 'X-Hook-Time',
                },
              },
            },
          },
        },
      }),
    );
    return file;
  };
  const payloadFile = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-send-custom-'));
    const file = path.join(dir, 'lead.json');
    writeFileSync(
      file,
      JSON.stringify({ id: 'e-1', name: 'Alan Turing', email: 'alan@example.com', phone: '+44 20 7946 0455' }),
    );
    return file;
  };

  it('signs as the named route says: its header, prefix, encoding and timestamp header', async () => {
    answers['/hooks/custom/elementor'] = { status: 200, body: { status: 'accepted', eventKey: 'custom:elementor:x' } };
    const run = await send(['custom', payloadFile(), '--route', 'elementor', '--config', config()]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const webhook = webhookOf('custom');
    expect(webhook?.path).toBe('/hooks/custom/elementor');
    const t = String(Date.parse('2026-11-21T10:00:00.000Z') / 1000);
    expect(webhook?.headers['x-hook-time']).toBe(t);
    const expected = createHmac('sha256', CUSTOM.secret)
      .update(`${t}:${webhook?.body.toString('utf8')}`)
      .digest('base64');
    expect(webhook?.headers['x-hook-signature']).toBe(`v1=${expected}`);
    expect(webhook?.headers['x-contact-relay-token']).toBeUndefined();
    expect(run.stdout).toContain('X-Hook-Signature: v1=<base64 HMAC-SHA256 of "{timestamp}:{body}">');
  });

  it('the default route sends its token; a duplicate names the pointer of its event id', async () => {
    answers['/hooks/custom/default'] = { status: 200, body: { status: 'duplicate', eventKey: 'custom:default:e-1' } };
    const run = await send(['custom', payloadFile(), '--config', config()]);
    expect(webhookOf('custom')?.headers['x-contact-relay-token']).toBe(CUSTOM.token);
    expect(run.stdout).toContain("Change the value at /id (the route's custom.eventId) to send it as a new event.");
  });
});
