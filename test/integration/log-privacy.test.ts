/**
 * Secrets and personal data never reach logs: a full delivery through every
 * function with logs on, including failures whose provider messages echo
 * the phone, captured from stdout and stderr. And key rotation end to end:
 * a provider answering 401 makes the function re-read the secret and succeed.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { QueuePoller } from '../../local/emulator/queue-poller.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import {
  eventually,
  KEYS,
  PROVIDERS,
  SOURCE_SECRET,
  STAGE,
  startPipeline,
  type Pipeline,
} from '../helpers/pipeline.js';

let pipeline: Pipeline;
let poller: QueuePoller;
const output: string[] = [];

beforeAll(async () => {
  pipeline = await startPipeline({ logLevel: 'DEBUG' });
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      // Keep vitest's own reporter output flowing.
      return (write as (chunk: string | Uint8Array, ...args: unknown[]) => boolean)(chunk, ...rest);
    });
  }
  poller = pipeline.startPoller();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await poller.stop();
  await pipeline.close();
});

/**
 * Phones as people and form tools type them, none of them usable: each is
 * quoted by nothing but a skip reason, and the reason must not quote it.
 */
const typedPhones = [
  { phone: '415/555/01329', digits: '41555501329' },
  { phone: '\uFF0B\uFF11 \uFF14\uFF11\uFF15 \uFF15\uFF15\uFF15 \uFF10\uFF11', digits: '141555501' },
  { phone: '415\u2011555\u2011013', digits: '415555013' },
  { phone: '415_555_0132', digits: '4155550132' },
  { phone: '(415)\u00A0555\u2013013', digits: '415555013' },
];
/** Event keys a sender chose with personal data in them (a form's Idempotency-Key is the sender's own). */
const personalKeys = [
  { key: '+1 (212) 555-0177', digits: '2125550177', shown: '555-0177' },
  { key: 'dora.hale@example.com', digits: 'dora.hale', shown: 'dora.hale@example.com' },
];

const people = [
  { name: 'Grace Hopper', email: 'grace.hopper@example.com', phone: '+12125550147', digits: '2125550147' },
  { name: 'Alan Turing', email: 'alan.turing@example.co.uk', phone: '+442079460123', digits: '2079460123' },
];

describe('Logs of a full delivery', () => {
  it('hold no secret value, raw phone or raw email, even when providers fail and echo them', async () => {
    // Chatwoot refuses a duplicate with a message about the phone; Kirim fails once with a 500.
    pipeline.emulator.state.faults.push({ provider: 'kirim', status: 500, times: 1 });
    for (const [index, person] of people.entries()) {
      const form = JSON.stringify({ name: person.name, email: person.email, phone: person.phone });
      const answer = await pipeline.forms(
        httpApiEvent('form', 'default', form, {
          'content-type': 'application/json',
          'idempotency-key': `privacy-${index}`,
        }),
        lambdaContext(),
      );
      expect(answer.statusCode).toBe(200);
    }
    // A signed Shopify order too, through the shops function.
    const order = readFileSync(new URL('../fixtures/shopify/orders-create-billing-phone.json', import.meta.url));
    const signature = createHmac('sha256', SOURCE_SECRET.secret).update(order).digest('base64');
    const shopify = await pipeline.shops(
      httpApiEvent('shopify', 'default', order.toString('utf8'), {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-shop-domain': 'jsmith.myshopify.com',
        'x-shopify-webhook-id': 'privacy-webhook',
        'x-shopify-hmac-sha256': signature,
      }),
      lambdaContext(),
    );
    expect(shopify.statusCode).toBe(200);
    await eventually(() => {
      for (const provider of PROVIDERS)
        expect(
          pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider),
          provider,
        ).toHaveLength(3);
    });
    // The same people again: Chatwoot answers 422 "… has already been taken".
    const again = JSON.stringify({ name: people[0]?.name, email: people[0]?.email, phone: people[0]?.phone });
    await pipeline.forms(
      httpApiEvent('form', 'default', again, {
        'content-type': 'application/json',
        'idempotency-key': 'privacy-again',
      }),
      lambdaContext(),
    );
    // A submission we skip: its reason names what is wrong with the email and the phone, never the values.
    const unusable = JSON.stringify({
      name: 'Carol',
      email: 'carol.smith@mail_server.example',
      phone: '+1 212 555 019',
    });
    const skipped = await pipeline.forms(
      httpApiEvent('form', 'default', unusable, { 'content-type': 'application/json' }),
      lambdaContext(),
    );
    expect(JSON.parse(skipped.body as string)).toMatchObject({ status: 'skipped' });
    const json = { 'content-type': 'application/json' };
    for (const { phone, digits } of typedPhones) {
      const event = httpApiEvent('form', 'default', JSON.stringify({ name: 'Dee', phone }), json);
      const answer = await pipeline.forms(event, lambdaContext());
      const body = answer.body as string;
      const reason = expect.stringMatching(/^no usable email or phone: phone number /) as string;
      expect(JSON.parse(body)).toMatchObject({ status: 'skipped', reason });
      // The sender's answer does not echo it either.
      expect(body.normalize('NFKC')).not.toContain(digits.slice(-6));
    }
    // Accepted events whose key the sender built from a phone and an email: logged with every delivery outcome.
    for (const [index, { key }] of personalKeys.entries()) {
      const form = JSON.stringify({
        name: 'Dora Hale',
        email: `dora.hale.${index}@example.org`,
        phone: `+1212555016${index}`,
      });
      const event = httpApiEvent('form', 'default', form, { ...json, 'idempotency-key': key });
      const answer = JSON.parse((await pipeline.forms(event, lambdaContext())).body as string) as unknown;
      expect(answer).toMatchObject({ status: 'accepted', eventKey: `form:default:${key}` });
    }
    const outcomes = () => output.join('').match(/"message":"delivery outcome"/g)?.length ?? 0;
    await eventually(() => expect(outcomes()).toBeGreaterThanOrEqual(24));
    await healthcheckAndRedriveLog();

    const logs = output.join('');
    expect(logs).toContain('"message":"delivery outcome"');
    expect(logs).toContain('"status":"exists"');
    expect(logs).toContain('"message":"webhook skipped"');
    for (const secret of pipeline.secretValues) expect(logs, 'a secret value').not.toContain(secret);
    for (const person of [
      ...people,
      { email: 'john@example.com', digits: '4155550132' },
      { email: 'carol.smith@mail_server.example', digits: '212 555 019' },
    ]) {
      expect(logs, person.email).not.toContain(person.email);
      expect(logs, person.digits).not.toContain(person.digits);
    }
    // Read as a person reads it: full-width forms folded, and separators between digits read past.
    const read = logs.normalize('NFKC').replace(/[^\p{L}\p{N}*",:]/gu, '');
    for (const { phone, digits } of typedPhones) {
      expect(logs, phone).not.toContain(phone);
      expect(read, phone).not.toContain(digits);
    }
    expect(logs, 'the event key is still there to trace, masked').toMatch(/"eventKey":"form:default:\+12\*+77"/);
    for (const { key, digits, shown } of personalKeys) {
      expect(logs, key).not.toContain(shown);
      expect(read, key).not.toContain(digits);
    }
  }, 60_000);
});

async function healthcheckAndRedriveLog(): Promise<void> {
  const { handler } = await import('../../functions/healthcheck/handler.js');
  await handler({}, lambdaContext('contact-relay-itest-healthcheck'));
  await pipeline.redrive({}, lambdaContext('contact-relay-itest-redrive'));
}

describe('Key rotation end to end', () => {
  it('a provider answering 401 makes deliver re-read the secret once and succeed with the new key', async () => {
    const secretName = `contact-relay/${STAGE}/provider/twochat`;
    // The deliver function has the old key cached from the deliveries above; the key is rotated now.
    pipeline.emulator.state.secrets.set(secretName, JSON.stringify({ apiKey: 'rotated-2chat-key' }));
    pipeline.emulator.state.credentials.twochat.delete(KEYS.twochat);
    pipeline.emulator.state.credentials.twochat.add('rotated-2chat-key');
    const secretReads = () =>
      pipeline.emulator.state.requests.filter(
        (request) =>
          request.provider === 'secretsmanager' && (request.body as { SecretId?: string }).SecretId === secretName,
      ).length;
    const before = secretReads();

    const form = JSON.stringify({ name: 'Rosa Rotation', email: 'rosa@example.com', phone: '+12125550188' });
    expect(
      (
        await pipeline.forms(
          httpApiEvent('form', 'default', form, {
            'content-type': 'application/json',
            'idempotency-key': 'rotation-1',
          }),
          lambdaContext(),
        )
      ).statusCode,
    ).toBe(200);
    await eventually(() =>
      expect(
        pipeline.emulator.state.contacts.filter(
          (contact) => contact.provider === 'twochat' && contact.email === 'rosa@example.com',
        ),
      ).toHaveLength(1),
    );

    const twochat = pipeline.emulator.state.requests.filter(
      (request) => request.provider === 'twochat' && request.path.includes('rosa') === false,
    );
    expect(twochat.some((request) => request.status === 401)).toBe(true);
    expect(secretReads() - before).toBe(1);
  });
});
