/**
 * `npm start` as a user runs it: the emulator, serverless-offline with the
 * bundled functions, secrets from local/secrets.json. Posts real HTTP and
 * reads the emulator's inspection API, then stops it with SIGTERM.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GetQueueAttributesCommand, type QueueAttributeName, SQSClient } from '@aws-sdk/client-sqs';
import { validateChatwootCreatePayload } from '../helpers/chatwoot-contract.js';
import { eventually } from '../helpers/pipeline.js';
import { startNpmStart, type NpmStart } from '../helpers/npm-start.js';
import { isListening } from '../../local/processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let started: NpmStart;
let stack: NpmStart['child'];
let ports: NpmStart['ports'];
let banner = '';

beforeAll(async () => {
  started = await startNpmStart();
  ({ child: stack, ports, banner } = started);
});

afterAll(() => {
  if (stack.exitCode === null) stack.kill('SIGKILL');
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`npm start printed:\n${started.output().slice(-5000)}`);
});

const post = (body: string, contentType: string, idempotencyKey?: string) =>
  fetch(`http://127.0.0.1:${ports.http}/hooks/form/default`, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body,
  });

interface Recorded {
  provider: string;
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  status: number;
}

async function requests(provider: string): Promise<Recorded[]> {
  const response = await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests?provider=${provider}`);
  return (await response.json()) as Recorded[];
}

/** Creates only: lookups are GETs. */
const createsOf = async (provider: string) => (await requests(provider)).filter((request) => request.method === 'POST');

describe('npm start (local stack)', () => {
  it('prints the URLs it serves, every provider at the emulator', () => {
    expect(banner).toContain(`POST http://127.0.0.1:${ports.http}/hooks/form/default`);
    expect(banner).toContain(`Provider emulator: http://127.0.0.1:${ports.emulator}`);
    const emulated = `http://127\\.0\\.0\\.1:${ports.emulator}`;
    expect(banner).toMatch(new RegExp(`Kirim\\.chat +emulator +${emulated}/kirim\n`));
    expect(banner).toMatch(new RegExp(`Shopify Admin API +emulator +${emulated}/shopify\n`));
    expect(banner).not.toContain('REAL');
  });

  it("turns README's quick-start JSON form and urlencoded form into one 2Chat create each", async () => {
    await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests`, { method: 'DELETE' });
    const json = await post(
      JSON.stringify({ name: 'Alan Turing', email: 'alan@example.com', phone: '(415) 555-0119' }),
      'application/json',
    );
    expect(json.status).toBe(200);
    const form = await post(
      'first_name=Barbara&last_name=Liskov&email=barbara%40example.com&phone=%2B442079460077',
      'application/x-www-form-urlencoded',
    );
    expect(form.status).toBe(200);
    expect(await form.json()).toEqual({
      status: 'accepted',
      eventKey: expect.stringMatching(/^form:default:/) as string,
    });

    const creates = await eventually(async () => {
      const found = await createsOf('twochat');
      expect(found).toHaveLength(2);
      return found;
    });
    expect(creates.map((request) => [request.path, request.body])).toEqual([
      [
        '/open/contacts',
        {
          first_name: 'Alan',
          last_name: 'Turing',
          contact_detail: [
            { type: 'PH', value: '+14155550119' },
            { type: 'E', value: 'alan@example.com' },
          ],
        },
      ],
      [
        '/open/contacts',
        {
          first_name: 'Barbara',
          last_name: 'Liskov',
          contact_detail: [
            { type: 'PH', value: '+442079460077' },
            { type: 'E', value: 'barbara@example.com' },
          ],
        },
      ],
    ]);
    expect(creates[0]?.headers['x-user-api-key']).toMatch(/^\*+/);
  });

  it('creates one form submission exactly once at each of the four providers, as each documents', async () => {
    await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests`, { method: 'DELETE' });
    const submission = JSON.stringify({
      first_name: 'Grace',
      last_name: 'Hopper',
      email: 'grace@example.com',
      phone: '+1 212 555 0199',
    });
    const first = await post(submission, 'application/json', 'grace-1');
    expect(first.status).toBe(200);

    const [twochat, kirim, callbell, chatwoot] = await eventually(async () => {
      const all = await Promise.all(['twochat', 'kirim', 'callbell', 'chatwoot'].map(createsOf));
      for (const creates of all) expect(creates).toHaveLength(1);
      return all;
    });
    expect(twochat?.map((r) => [r.path, r.status, r.body])).toEqual([
      [
        '/open/contacts',
        201,
        {
          first_name: 'Grace',
          last_name: 'Hopper',
          contact_detail: [
            { type: 'PH', value: '+12125550199' },
            { type: 'E', value: 'grace@example.com' },
          ],
        },
      ],
    ]);
    expect(kirim?.map((r) => [r.path, r.status])).toEqual([['/v1/106540352242922/contacts', 201]]);
    expect(kirim?.[0]?.body).toMatchObject({
      phone_number: '+12125550199',
      name: 'Grace Hopper',
      email: 'grace@example.com',
    });
    expect(kirim?.[0]?.headers['idempotency-key']).toMatch(/^contact-relay-[0-9a-f]{64}$/);
    expect(kirim?.[0]?.headers['authorization']).toMatch(/^Bearer \*+/);
    expect(callbell?.map((r) => [r.path, r.status])).toEqual([['/v1/contacts', 200]]);
    expect(callbell?.[0]?.body).toMatchObject({ identifier: '12125550199', source: 'whatsapp', name: 'Grace Hopper' });
    expect(chatwoot?.map((r) => [r.path, r.status])).toEqual([['/api/v1/accounts/1/contacts', 200]]);
    expect(chatwoot?.[0]?.body).toMatchObject({
      inbox_id: 1,
      name: 'Grace Hopper',
      email: 'grace@example.com',
      phone_number: '+12125550199',
    });
    expect(
      validateChatwootCreatePayload(chatwoot?.[0]?.body),
      JSON.stringify(validateChatwootCreatePayload.errors),
    ).toBe(true);

    // The same webhook again is a duplicate: nothing is queued.
    const resent = await post(submission, 'application/json', 'grace-1');
    expect([resent.status, await resent.json()]).toEqual([
      200,
      { status: 'duplicate', eventKey: 'form:default:grace-1' },
    ]);

    // The same person in a new submission: every provider finds the contact, nobody creates a second one.
    const second = await post(submission, 'application/json', 'grace-2');
    expect(second.status).toBe(200);
    // Chatwoot has no lookup: its second create is refused as a duplicate (422) and nothing new is stored.
    await eventually(async () => expect((await createsOf('chatwoot')).map((r) => r.status)).toEqual([200, 422]));
    await eventually(async () => {
      for (const provider of ['twochat', 'kirim', 'callbell']) {
        const lookups = (await requests(provider)).filter((request) => request.method === 'GET');
        expect(lookups.length, provider).toBeGreaterThanOrEqual(2);
      }
    });
    for (const provider of ['twochat', 'kirim', 'callbell'])
      expect(await createsOf(provider), provider).toHaveLength(1);
    const contacts = (await (await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/contacts`)).json()) as Array<{
      provider: string;
    }>;
    expect(contacts.map((contact) => contact.provider).sort()).toEqual(['callbell', 'chatwoot', 'kirim', 'twochat']);
  });

  it('turns a Shopify order signed with the local secret into one contact per provider; the same delivery again is a duplicate', async () => {
    await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests`, { method: 'DELETE' });
    const body = readFileSync(path.join(root, 'test/fixtures/shopify/orders-create-billing-phone.json'));
    const secrets = JSON.parse(readFileSync(path.join(root, 'local/secrets.json'), 'utf8')) as Record<
      string,
      { secret: string }
    >;
    const signature = createHmac('sha256', secrets['contact-relay/local/source/shopify']?.secret ?? '')
      .update(body)
      .digest('base64');
    const send = () =>
      fetch(`http://127.0.0.1:${ports.http}/hooks/shopify/default`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-shop-domain': 'jsmith.myshopify.com',
          'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
          'x-shopify-event-id': 'local-stack-event-1',
          'x-shopify-hmac-sha256': signature,
        },
        body,
      });
    const first = await send();
    expect([first.status, await first.json()]).toEqual([
      200,
      { status: 'accepted', eventKey: 'shopify:jsmith.myshopify.com:event:local-stack-event-1' },
    ]);
    const kirim = await eventually(async () => {
      const creates = await createsOf('kirim');
      expect(creates).toHaveLength(1);
      return creates;
    });
    expect(kirim[0]?.body).toMatchObject({
      name: 'John Smith',
      email: 'john@example.com',
      phone_number: '+14155550132',
    });
    await eventually(async () => {
      for (const provider of ['twochat', 'callbell', 'chatwoot'])
        expect(await createsOf(provider), provider).toHaveLength(1);
    });
    const seen = (await requests('twochat')).length + (await requests('kirim')).length;
    const again = await send();
    expect([again.status, await again.json()]).toEqual([
      200,
      { status: 'duplicate', eventKey: 'shopify:jsmith.myshopify.com:event:local-stack-event-1' },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await requests('twochat')).length + (await requests('kirim')).length).toBe(seen);
  });

  it('answers bad input through API Gateway emulation with the error envelope', async () => {
    const bad = await post('{"name":', 'application/json');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'malformed_body' } });
    const unknown = await fetch(`http://127.0.0.1:${ports.http}/hooks/form/nope`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
  });

  it('parks a job whose provider keeps failing in the dead-letter queue, and redrive delivers it once', async () => {
    const sqs = new SQSClient({
      endpoint: `http://127.0.0.1:${ports.emulator}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const queueUrl = `http://127.0.0.1:${ports.emulator}/000000000000/contact-relay-local-delivery`;
    const dlqUrl = `${queueUrl}-dlq`;
    const depth = async (QueueUrl: string, names: QueueAttributeName[] = ['ApproximateNumberOfMessages']) => {
      const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: names }));
      return Object.values(Attributes).reduce((sum, count) => sum + Number(count), 0);
    };
    // The jobs of the tests before are delivered first: npm start paces each account at its default rate.
    const pending: QueueAttributeName[] = [
      'ApproximateNumberOfMessages',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateNumberOfMessagesDelayed',
    ];
    await eventually(async () => expect(await depth(queueUrl, pending)).toBe(0), 60_000);
    await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests`, { method: 'DELETE' });
    const armed = await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ provider: 'callbell', status: 500, times: 100_000 }),
    });
    expect(armed.status).toBe(201);
    const accepted = await post(
      JSON.stringify({ name: 'Kay Outage', email: 'kay@example.com', phone: '+1 212 555 0142' }),
      'application/json',
      'kay-1',
    );
    expect(accepted.status).toBe(200);

    await eventually(async () => expect(await depth(dlqUrl)).toBe(1), 60_000);
    for (const provider of ['twochat', 'kirim', 'chatwoot'])
      expect(await createsOf(provider), provider).toHaveLength(1);

    // Callbell answers again (clearing requests clears faults); the scheduled redrive is invoked as EventBridge would.
    await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/requests`, { method: 'DELETE' });
    expect(await started.invoke('redrive')).toMatchObject({ started: true, dlqMessages: 1 });
    await eventually(
      async () => expect((await createsOf('callbell')).filter((r) => r.status === 200)).toHaveLength(1),
      30_000,
    );
    for (const provider of ['twochat', 'kirim', 'chatwoot'])
      expect(await createsOf(provider), provider).toHaveLength(0);
    expect(await depth(dlqUrl)).toBe(0);
    sqs.destroy();
  }, 120_000);

  it('stops every child on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => stack.once('exit', resolve));
    stack.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await isListening(ports.http)).toBe(false);
    expect(await isListening(ports.emulator)).toBe(false);
    expect(await isListening(ports.lambda)).toBe(false);
  });
});
