/**
 * Each form tool's own example payload, signed as that tool signs, through
 * the forms function, the queue and the deliver function to the four
 * emulated providers; and the requests that must not get in.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { QueuePoller } from '../emulator/queue-poller.js';
import { httpApiEvent, lambdaContext } from '../helpers/lambda.js';
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
  const result = await pipeline.forms({ ...event, body: body.toString('base64'), isBase64Encoded: true, rawQueryString: query, queryStringParameters: Object.fromEntries(new URLSearchParams(query)) }, lambdaContext());
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
    for (const provider of PROVIDERS) expect(pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider), provider).toHaveLength(1);
  });
  const kirim = pipeline.emulator.state.requests.find((request) => request.provider === 'kirim' && request.method === 'POST')?.body as Record<string, unknown>;
  expect(kirim).toMatchObject({ name: expected.name, ...(expected.phone ? { phone_number: expected.phone } : {}), ...(expected.email ? { email: expected.email } : {}) });
  const chatwoot = pipeline.emulator.state.requests.find((request) => request.provider === 'chatwoot' && request.method === 'POST')?.body as Record<string, unknown>;
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

const creates = () => pipeline.emulator.state.requests.filter((request) => request.provider !== 'secretsmanager' && request.provider !== 'shopify');

describe('Form sources through the local pipeline', () => {
  it('Typeform: a signed response becomes the contact at all four providers', async () => {
    const body = fixture('typeform/with-phone.json');
    const answer = await post('typeform', body, { 'content-type': 'application/json', 'typeform-signature': `sha256=${base64Hmac(body)}` });
    expect(answer.statusCode).toBe(202);
    await expectAtEveryProvider(EXPECTED.typeform);
  });

  it('Tally: a signed response becomes the contact at all four providers', async () => {
    const body = fixture('tally/national-phone.json');
    const answer = await post('tally', body, { 'content-type': 'application/json', 'tally-signature': base64Hmac(body) });
    expect(answer.statusCode).toBe(202);
    await expectAtEveryProvider(EXPECTED.tally);
  });

  it('Webflow: a signed, fresh submission becomes the contact at all four providers', async () => {
    const body = fixture('webflow/national-phone.json');
    const timestamp = String(Date.now());
    const signature = createHmac('sha256', SOURCE_SECRET.secret).update(`${timestamp}:${body.toString('utf8')}`).digest('hex');
    const answer = await post('webflow', body, { 'content-type': 'application/json', 'x-webflow-timestamp': timestamp, 'x-webflow-signature': signature });
    expect(answer.statusCode).toBe(202);
    await expectAtEveryProvider(EXPECTED.webflow);
  });

  it('Jotform: a multipart submission with the route token becomes the contact at all four providers', async () => {
    const body = fixture('jotform/submission.multipart');
    const boundary = body.toString('latin1').split('\r\n')[0]?.slice(2) ?? '';
    const answer = await post('jotform', body, { 'content-type': `multipart/form-data; boundary=${boundary}` }, 'default', `token=${SOURCE_SECRET.token}`);
    expect(answer.statusCode).toBe(202);
    await expectAtEveryProvider(EXPECTED.jotform);
  });

  it('Google Forms: the Apps Script post becomes the contact at all four providers', async () => {
    const body = fixture('google-forms/response.json');
    const answer = await post('google-forms', body, { 'content-type': 'application/json', 'x-contact-relay-signature': `sha256=${base64Hmac(body)}` });
    expect(answer.statusCode).toBe(202);
    await expectAtEveryProvider(EXPECTED['google-forms']);
  });

  it.each([
    ['typeform', { 'typeform-signature': 'sha256=' + Buffer.alloc(32).toString('base64') }],
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
    const timestamp = String(Date.now() - 6 * 60_000);
    const signature = createHmac('sha256', SOURCE_SECRET.secret).update(`${timestamp}:${body.toString('utf8')}`).digest('hex');
    const answer = await post('webflow', body, { 'content-type': 'application/json', 'x-webflow-timestamp': timestamp, 'x-webflow-signature': signature });
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
    const answer = await post('typeform', body, { 'content-type': 'application/json', 'typeform-signature': `sha256=${base64Hmac(body)}` }, 'no-such-route');
    expect(answer).toMatchObject({ statusCode: 400, body: { error: { code: 'unknown_route' } } });
  });
});

