/**
 * Each form tool's own example payload, signed as that tool signs, through
 * the forms function, the queue and the deliver function to the four
 * emulated providers; and the requests that must not get in.
 *
 * Each sender is answered what it counts as a delivered webhook: exactly 200
 * for everything it must not retry (see test/contracts/sources.md).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { QueuePoller } from '../../local/emulator/queue-poller.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, PROVIDERS, SOURCE_SECRET, startPipeline, type Pipeline } from '../helpers/pipeline.js';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const base64Hmac = (body: Buffer | string) => createHmac('sha256', SOURCE_SECRET.secret).update(body).digest('base64');

let pipeline: Pipeline;
let poller: QueuePoller;
beforeAll(async () => {
  pipeline = await startPipeline();
  poller = pipeline.startPoller();
});
afterAll(async () => {
  await poller.stop();
  await pipeline.close();
});
beforeEach(() => pipeline.emulator.state.reset());

async function post(source: string, body: Buffer, headers: Record<string, string>, route = 'default', query = '') {
  const event = httpApiEvent(source, route, body.toString('base64'), headers, false);
  // The body goes base64-encoded, as API Gateway hands binary and form bodies over.
  const result = await pipeline.forms(
    {
      ...event,
      body: body.toString('base64'),
      isBase64Encoded: true,
      rawQueryString: query,
      queryStringParameters: Object.fromEntries(new URLSearchParams(query)),
    },
    lambdaContext(),
  );
  return { statusCode: result.statusCode, body: JSON.parse(result.body as string) as Record<string, unknown> };
}

interface Expected {
  name: string;
  email?: string;
  phone?: string;
}

/** The contact, as each emulated provider stored it. */
async function expectAtEveryProvider(expected: Expected): Promise<void> {
  await eventually(() => {
    for (const provider of PROVIDERS)
      expect(
        pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider),
        provider,
      ).toHaveLength(1);
  });
  const kirim = pipeline.emulator.state.requests.find(
    (request) => request.provider === 'kirim' && request.method === 'POST',
  )?.body as Record<string, unknown>;
  expect(kirim).toMatchObject({
    name: expected.name,
    ...(expected.phone ? { phone_number: expected.phone } : {}),
    ...(expected.email ? { email: expected.email } : {}),
  });
  const chatwoot = pipeline.emulator.state.requests.find(
    (request) => request.provider === 'chatwoot' && request.method === 'POST',
  )?.body as Record<string, unknown>;
  expect(chatwoot).toMatchObject({ name: expected.name, ...(expected.phone ? { phone_number: expected.phone } : {}) });
}

/** What each fixture holds (see its file): national numbers made E.164 with the payload's country. */
const EXPECTED = {
  typeform: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+14155550132' },
  tally: { name: 'Jan Peeters', phone: '+32471123456' },
  webflow: { name: 'Ford Prefect', phone: '+442079460018' },
  jotform: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+14155550132' },
  'google-forms': { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+14155550132' },
} satisfies Record<string, Expected>;

/** Exactly 200: Webflow fails anything else (https://developers.webflow.com/data/reference/error-handling). */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

function signWebflow(body: Buffer, at = Date.now()): Record<string, string> {
  const timestamp = String(at);
  const signed = `${timestamp}:${body.toString('utf8')}`;
  const signature = createHmac('sha256', SOURCE_SECRET.secret).update(signed).digest('hex');
  return { 'content-type': 'application/json', 'x-webflow-timestamp': timestamp, 'x-webflow-signature': signature };
}

const creates = () =>
  pipeline.emulator.state.requests.filter(
    (request) => request.provider !== 'secretsmanager' && request.provider !== 'shopify',
  );

describe('Form sources through the local pipeline', () => {
  it('Typeform: a signed response is answered 200 and becomes the contact at all four providers', async () => {
    const body = fixture('typeform/with-phone.json');
    const answer = await post('typeform', body, {
      'content-type': 'application/json',
      'typeform-signature': `sha256=${base64Hmac(body)}`,
    });
    expect(answer).toMatchObject(ACCEPTED);
    await expectAtEveryProvider(EXPECTED.typeform);
  });

  it('Tally: a signed response is answered 200 and becomes the contact at all four providers', async () => {
    const body = fixture('tally/national-phone.json');
    const answer = await post('tally', body, {
      'content-type': 'application/json',
      'tally-signature': base64Hmac(body),
    });
    expect(answer).toMatchObject(ACCEPTED);
    await expectAtEveryProvider(EXPECTED.tally);
  });

  it('Webflow: a signed, fresh submission is answered exactly 200 and becomes the contact everywhere', async () => {
    const body = fixture('webflow/national-phone.json');
    const answer = await post('webflow', body, signWebflow(body));
    const eventKey = 'webflow:65427cf400e02b306eaa049c:674ef0a1b2c3d4e5f6a7b8ca';
    expect(answer).toEqual({ statusCode: 200, body: { status: 'accepted', eventKey } });
    await expectAtEveryProvider(EXPECTED.webflow);
  });

  it('Webflow: every answer to a genuine delivery is exactly 200 (duplicate, other trigger, no contact)', async () => {
    const text = fixture('webflow/national-phone.json').toString('utf8');
    const submission = JSON.parse(text) as { payload: Record<string, unknown> };
    const variant = (payload: Record<string, unknown>) =>
      Buffer.from(JSON.stringify({ ...submission, payload: { ...submission.payload, ...payload } }));
    const body = variant({ id: 'every-answer-200' });
    expect(await post('webflow', body, signWebflow(body))).toMatchObject(ACCEPTED);
    // Webflow's retry of a delivery it counted as failed, re-signed with a fresh timestamp.
    const again = await post('webflow', body, signWebflow(body, Date.now() + 1000));
    expect(again).toMatchObject({ statusCode: 200, body: { status: 'duplicate' } });

    const site = { siteId: '65427cf400e02b306eaa049c' };
    const publish = Buffer.from(JSON.stringify({ triggerType: 'site_publish', payload: site }));
    const ignored = await post('webflow', publish, signWebflow(publish));
    expect(ignored).toMatchObject({ statusCode: 200, body: { status: 'ignored' } });

    const noContact = variant({ id: 'no-contact-1', data: { 'First Name': 'Ford' } });
    const skipped = await post('webflow', noContact, signWebflow(noContact));
    expect(skipped).toMatchObject({ statusCode: 200, body: { status: 'skipped' } });
    // The accepted one is delivered before the next test looks at the providers.
    await eventually(() => {
      for (const provider of PROVIDERS)
        expect(pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider)).toHaveLength(1);
    });
  });

  it('Jotform: a multipart submission with the route token is answered 200 and becomes the contact', async () => {
    const body = fixture('jotform/submission.multipart');
    const boundary = body.toString('latin1').split('\r\n')[0]?.slice(2) ?? '';
    const answer = await post(
      'jotform',
      body,
      { 'content-type': `multipart/form-data; boundary=${boundary}` },
      'default',
      `token=${SOURCE_SECRET.token}`,
    );
    expect(answer).toMatchObject(ACCEPTED);
    await expectAtEveryProvider(EXPECTED.jotform);
  });

  it('Google Forms: the Apps Script post is answered 200 and becomes the contact at all four providers', async () => {
    const body = fixture('google-forms/response.json');
    const answer = await post('google-forms', body, {
      'content-type': 'application/json',
      'x-contact-relay-signature': `sha256=${base64Hmac(body)}`,
    });
    expect(answer).toMatchObject(ACCEPTED);
    await expectAtEveryProvider(EXPECTED['google-forms']);
  });

  it("Plain form: a browser's url-encoded post is answered 200 and becomes the contact", async () => {
    const body = Buffer.from('name=Ada+Lovelace&email=ada%40example.com&phone=%2B14155550132');
    const answer = await post('form', body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(answer).toMatchObject(ACCEPTED);
    await expectAtEveryProvider({ name: 'Ada Lovelace', email: 'ada@example.com', phone: '+14155550132' });
  });

  it.each([
    ['typeform', { 'typeform-signature': `sha256=${Buffer.alloc(32).toString('base64')}` }],
    ['typeform', {}],
    ['tally', { 'tally-signature': 'bm9wZQ==' }],
    ['webflow', { 'x-webflow-timestamp': String(Date.now()), 'x-webflow-signature': '0'.repeat(64) }],
    ['google-forms', {}],
  ])('%s: an unsigned or badly signed request gets 401 and nothing is queued', async (source, headers) => {
    const body = fixture(`${source === 'google-forms' ? 'google-forms/response.json' : `${source}/example.json`}`);
    const answer = await post(source, body, { 'content-type': 'application/json', ...headers });
    expect(answer.statusCode).toBe(401);
    expect(answer.body).toMatchObject({ error: { code: expect.stringMatching(/signature/) as string } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(creates()).toEqual([]);
  });

  it('Webflow: a correctly signed but stale request gets 401', async () => {
    const body = fixture('webflow/example.json');
    const answer = await post('webflow', body, signWebflow(body, Date.now() - 6 * 60_000));
    expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'stale_timestamp' } } });
  });

  it('Jotform: a submission without the token gets 401', async () => {
    const body = fixture('jotform/submission.multipart');
    const boundary = body.toString('latin1').split('\r\n')[0]?.slice(2) ?? '';
    const answer = await post('jotform', body, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    expect(answer.statusCode).toBe(401);
  });

  it('Typeform: an unknown route answers 400, never 404', async () => {
    const body = fixture('typeform/example.json');
    const answer = await post(
      'typeform',
      body,
      { 'content-type': 'application/json', 'typeform-signature': `sha256=${base64Hmac(body)}` },
      'no-such-route',
    );
    expect(answer).toMatchObject({ statusCode: 400, body: { error: { code: 'unknown_route' } } });
  });
});
