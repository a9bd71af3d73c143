/**
 * The lead sources through the whole local pipeline: the forms function, the
 * queue, the deliver function and the four emulated providers. Meta Lead Ads
 * names a lead that deliver reads from the emulated Graph API; Calendly and a
 * `custom` recipe carry the person in the webhook.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import shipped from '../../config/routes.json' with { type: 'json' };
import type { QueuePoller } from '../../local/emulator/queue-poller.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import {
  eventually,
  META_PAGE_ID,
  META_SECRET,
  PROVIDERS,
  SOURCE_SECRET,
  startPipeline,
  type Pipeline,
} from '../helpers/pipeline.js';
import { RECIPES } from '../helpers/custom-recipes.js';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));

/** The Gravity Forms recipe of README's custom source, served as route `gravity-forms` to all four providers. */
const GRAVITY_FORMS_ROUTE = { ...RECIPES['gravity-forms'], deliverTo: ['twochat', 'kirim', 'callbell', 'chatwoot'] };
const routes = {
  ...shipped,
  sources: { ...shipped.sources, custom: { ...shipped.sources.custom, 'gravity-forms': GRAVITY_FORMS_ROUTE } },
};

let pipeline: Pipeline;
let poller: QueuePoller;
beforeAll(async () => {
  pipeline = await startPipeline({ routes });
  poller = pipeline.startPoller();
});
afterAll(async () => {
  await poller?.stop();
  await pipeline?.close();
});
beforeEach(() => pipeline.emulator.state.reset());

interface Answer {
  statusCode: number;
  contentType: string | undefined;
  body: unknown;
}

async function call(
  source: string,
  body: Buffer,
  headers: Record<string, string>,
  options: { route?: string; method?: 'GET' | 'POST'; query?: Record<string, string> } = {},
): Promise<Answer> {
  const { route = 'default', method = 'POST', query = {} } = options;
  const event = httpApiEvent(source, route, body.toString('base64'), headers, false);
  const rawQueryString = new URLSearchParams(query).toString();
  const result = await pipeline.forms(
    {
      ...event,
      routeKey: `${method} /hooks/${source}/{route}`,
      requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method } },
      body: body.toString('base64'),
      isBase64Encoded: true,
      rawQueryString,
      ...(rawQueryString === '' ? {} : { queryStringParameters: query }),
    },
    lambdaContext(),
  );
  const contentType = (result.headers?.['content-type'] as string | undefined) ?? undefined;
  const text = result.body as string;
  return {
    statusCode: result.statusCode as number,
    contentType,
    body: contentType?.startsWith('application/json') ? JSON.parse(text) : text,
  };
}

/** What each emulated provider was sent: one contact each, with this name, email and phone. */
async function expectAtEveryProvider(expected: { name: string; email?: string; phone: string }): Promise<void> {
  await eventually(() => {
    for (const provider of PROVIDERS)
      expect(
        pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider),
        provider,
      ).toHaveLength(1);
  });
  const sent = (provider: string) =>
    pipeline.emulator.state.requests.find((request) => request.provider === provider && request.method === 'POST')
      ?.body;
  expect(sent('kirim')).toMatchObject({
    name: expected.name,
    phone_number: expected.phone,
    ...(expected.email ? { email: expected.email } : {}),
  });
  expect(sent('chatwoot')).toMatchObject({
    name: expected.name,
    phone_number: expected.phone,
    ...(expected.email ? { email: expected.email } : {}),
  });
  expect(sent('callbell')).toMatchObject({ name: expected.name });
  expect(JSON.stringify(sent('twochat'))).toContain(expected.phone.slice(1));
}

const providerCalls = () =>
  pipeline.emulator.state.requests.filter((request) => (PROVIDERS as readonly string[]).includes(request.provider));
const graphCalls = () => pipeline.emulator.state.requests.filter((request) => request.provider === 'meta');

/** Nothing more reaches the providers for a while: the queue is drained and every outcome settled. */
async function settledAfter(count: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect(providerCalls()).toHaveLength(count);
}

describe('Meta Lead Ads through the local pipeline', () => {
  const webhook = fixture('meta-leads/webhook-numeric-ids.json');
  const signed = (body: Buffer, secret = META_SECRET.appSecret) => ({
    'content-type': 'application/json',
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  });

  async function seedLead(): Promise<void> {
    const lead = {
      ...(JSON.parse(fixture('meta-leads/graph-lead.json').toString('utf8')) as object),
      page_id: META_PAGE_ID,
    };
    const response = await fetch(`${pipeline.emulator.url}/_emulator/meta/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(lead),
    });
    expect(response.status).toBeLessThan(300);
  }

  it('answers the subscription check with the challenge as plain text, and refuses a wrong verify token', async () => {
    const query = {
      'hub.mode': 'subscribe',
      'hub.verify_token': META_SECRET.verifyToken,
      'hub.challenge': '1158201444',
    };
    const answer = await call('meta-leads', Buffer.alloc(0), {}, { method: 'GET', query });
    expect(answer).toEqual({
      statusCode: 200,
      contentType: expect.stringMatching(/^text\/plain/) as string,
      body: '1158201444',
    });
    const refused = await call(
      'meta-leads',
      Buffer.alloc(0),
      {},
      { method: 'GET', query: { ...query, 'hub.verify_token': 'guess' } },
    );
    expect(refused.statusCode).toBe(403);
  });

  it("turns Meta's documented webhook, signed, into the Graph lead at all four providers, once", async () => {
    await seedLead();
    const answer = await call('meta-leads', webhook, signed(webhook));
    expect(answer).toMatchObject({
      statusCode: 200,
      body: { status: 'accepted', events: [{ eventKey: 'meta-leads:1500000000000301', status: 'accepted' }] },
    });
    await expectAtEveryProvider({
      name: 'Grace Brewster Hopper',
      email: 'grace.hopper@example.com',
      phone: '+14155550194',
    });
    // The lead was read once, with the page's token (masked in what the emulator recorded).
    expect(graphCalls()).toHaveLength(1);
    expect(graphCalls()[0]?.path).toContain('/1500000000000301');
    const calls = providerCalls().length;

    const again = await call('meta-leads', webhook, signed(webhook));
    expect(again).toMatchObject({
      statusCode: 200,
      body: { status: 'duplicate', events: [{ eventKey: 'meta-leads:1500000000000301', status: 'duplicate' }] },
    });
    await settledAfter(calls);
    expect(graphCalls()).toHaveLength(1);
    for (const provider of PROVIDERS)
      expect(pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider)).toHaveLength(1);
  });

  it('refuses a webhook signed with another secret 401, reading and queueing nothing', async () => {
    const answer = await call('meta-leads', webhook, signed(webhook, 'not-the-app-secret'));
    expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'invalid_signature' } } });
    await settledAfter(0);
    expect(graphCalls()).toHaveLength(0);
  });
});

describe('Calendly through the local pipeline', () => {
  const booking = fixture('calendly/invitee-created.json');
  const signed = (body: Buffer, secret = SOURCE_SECRET.secret, at = Math.floor(Date.now() / 1000)) => ({
    'content-type': 'application/json',
    'calendly-webhook-signature': `t=${at},v1=${createHmac('sha256', secret).update(`${at}.`).update(body).digest('hex')}`,
  });
  const eventKey = 'calendly:https://api.calendly.com/scheduled_events/EVT5N6B7V8C9X0Z1/invitees/INV7K2M9P4Q1R8S3';

  it('turns a signed invitee.created into the contact at all four providers, once', async () => {
    const answer = await call('calendly', booking, signed(booking));
    expect(answer).toMatchObject({ statusCode: 200, body: { status: 'accepted', eventKey } });
    await expectAtEveryProvider({
      name: 'Marie Skłodowska Curie',
      email: 'marie.curie@example.com',
      phone: '+33612345678',
    });
    const calls = providerCalls().length;
    // Calendly's retry is signed afresh, at a later t: still the same invitee, so a duplicate.
    const again = await call(
      'calendly',
      booking,
      signed(booking, SOURCE_SECRET.secret, Math.floor(Date.now() / 1000) + 1),
    );
    expect(again).toMatchObject({ statusCode: 200, body: { status: 'duplicate', eventKey } });
    await settledAfter(calls);
  });

  it('refuses a booking signed with another key 401, and one signed too long ago 401 stale_signature', async () => {
    expect(await call('calendly', booking, signed(booking, 'another-signing-key'))).toMatchObject({
      statusCode: 401,
      body: { error: { code: 'invalid_signature' } },
    });
    const old = Math.floor(Date.now() / 1000) - 10 * 60;
    expect(await call('calendly', booking, signed(booking, SOURCE_SECRET.secret, old))).toMatchObject({
      statusCode: 401,
      body: { error: { code: 'stale_signature' } },
    });
    await settledAfter(0);
  });
});

describe('A custom route (the Gravity Forms recipe) through the local pipeline', () => {
  const entry = fixture('custom/gravity-forms.json');
  const headers = { 'content-type': 'application/json', 'x-contact-relay-token': SOURCE_SECRET.token };

  it('turns the entry into the contact at all four providers, once', async () => {
    const answer = await call('custom', entry, headers, { route: 'gravity-forms' });
    expect(answer).toMatchObject({
      statusCode: 200,
      body: { status: 'accepted', eventKey: 'custom:gravity-forms:42' },
    });
    await expectAtEveryProvider({ name: 'Ada Lovelace', email: 'ada@example.com', phone: '+442079460958' });
    const calls = providerCalls().length;
    const again = await call('custom', entry, headers, { route: 'gravity-forms' });
    expect(again).toMatchObject({
      statusCode: 200,
      body: { status: 'duplicate', eventKey: 'custom:gravity-forms:42' },
    });
    await settledAfter(calls);
  });

  it('refuses the entry without the route token 401', async () => {
    const answer = await call(
      'custom',
      entry,
      { 'content-type': 'application/json', 'x-contact-relay-token': 'wrong' },
      { route: 'gravity-forms' },
    );
    expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'invalid_token' } } });
  });
});
