import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { ContactSchema, type Contact } from '../../../shared/contact.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies } from '../../../shared/ingest.js';
import { webflowSource } from '../../../shared/sources/webflow.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

const SECRET = 'test-secret';
const now = new Date('2026-11-21T10:00:00.000Z');
const MINUTE = 60_000;
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/webflow/${name}.json`, import.meta.url), 'utf8');

const sign = (timestamp: string, body: string, secret = SECRET) =>
  createHmac('sha256', secret).update(`${timestamp}:${body}`).digest('hex');

function request(body: string, headers: Record<string, string> = {}, routeName = 'default'): WebhookRequest {
  return {
    source: 'webflow',
    routeName,
    headers: { 'content-type': 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(body),
  };
}
function signed(body: string, routeName = 'default', at = now.getTime()): WebhookRequest {
  const timestamp = String(at);
  return request(body, { 'x-webflow-timestamp': timestamp, 'x-webflow-signature': sign(timestamp, body) }, routeName);
}

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    webflow: {
      default: { deliverTo: ['twochat'], defaultRegion: 'US' },
      anfrage: {
        deliverTo: ['twochat'],
        fields: {
          fullName: ['wie heißt du?'],
          phone: ['Handynummer'],
          email: ['Wohin dürfen wir schreiben?'],
          country: ['land'],
          attributes: ['Kampagne'],
        },
      },
    },
  },
});

function deps() {
  return {
    routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: async () => ({ secret: SECRET }),
    logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    now: () => now,
  };
}

async function acceptedContact(req: WebhookRequest): Promise<{ contact: Contact; eventKey: string }> {
  const d = deps();
  const answer = await ingestWebhook(req, webflowSource, d);
  expect(answer).toMatchObject(ACCEPTED);
  expect(d.accept).toHaveBeenCalledTimes(1);
  const [contact, , eventKey] = d.accept.mock.calls[0] ?? [];
  expect(ContactSchema.parse(contact)).toEqual(contact);
  return { contact: contact as Contact, eventKey: eventKey as string };
}

describe('Source: webflow, published and variant payloads', () => {
  it("maps Webflow's published example: names and email, and its JSON-number phone (a 555 number) rejected with the reason", async () => {
    const { contact, eventKey } = await acceptedContact(signed(fixture('example')));
    expect(eventKey).toBe('webflow:65427cf400e02b306eaa049c:6321ca84df3949bfc6752327');
    expect(contact).toEqual({
      firstName: 'Zaphod',
      lastName: 'Beeblebrox',
      emails: ['zaphod@heartofgold.ai'],
      phones: [],
      rejectedPhones: [{ input: '15550000000', reason: 'phone number is not a valid number (region US)' }],
      tags: ['webflow'],
      attributes: {},
      origin: {
        source: 'webflow',
        route: 'default',
        eventKey,
        occurredAt: '2022-09-14T12:35:16.117Z',
        personKey: 'zaphod@heartofgold.ai',
      },
    });
  });

  it('maps a form without a phone', async () => {
    const { contact } = await acceptedContact(signed(fixture('without-phone')));
    expect(contact).toMatchObject({
      firstName: 'Arthur',
      lastName: 'Dent',
      emails: ['arthur@example.com'],
      phones: [],
      rejectedPhones: [],
    });
  });

  it('reads a phone sent as a JSON number with the region of a hidden country field', async () => {
    const { contact } = await acceptedContact(signed(fixture('national-phone')));
    expect(contact).toMatchObject({
      firstName: 'Ford',
      lastName: 'Prefect',
      emails: [],
      phones: [{ e164: '+442079460018' }],
    });
  });

  it('maps field names no heuristic recognises through the route config, and skips them without it', async () => {
    const body = fixture('renamed-fields');
    const { contact } = await acceptedContact(signed(body, 'anfrage'));
    expect(contact).toMatchObject({
      firstName: 'Trillian',
      lastName: 'Astra',
      emails: ['trillian@example.com'],
      phones: [{ e164: '+4915123456789' }],
      attributes: { Kampagne: 'herbst' },
    });

    const d = deps();
    const answer = await ingestWebhook(signed(body), webflowSource, d);
    expect(answer).toMatchObject({
      statusCode: 200,
      body: { status: 'skipped', reason: 'no usable email or phone: no email or phone field found' },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('accepts a timestamp within five minutes either way', async () => {
    await acceptedContact(signed(fixture('example'), 'default', now.getTime() - 4 * MINUTE));
    await acceptedContact(signed(fixture('example'), 'default', now.getTime() + 4 * MINUTE));
  });

  it('reads the exact bytes of a base64-encoded API Gateway body', async () => {
    const body = fixture('example');
    const timestamp = String(now.getTime());
    const event = httpApiEvent(
      'webflow',
      'default',
      body,
      {
        'Content-Type': 'application/json',
        'X-Webflow-Timestamp': timestamp,
        'X-Webflow-Signature': sign(timestamp, body),
      },
      true,
    );
    expect((await acceptedContact(fromHttpApiEvent(event, 'webflow'))).eventKey).toBe(
      'webflow:65427cf400e02b306eaa049c:6321ca84df3949bfc6752327',
    );
  });
});

describe('Source: webflow, refusals', () => {
  const body = fixture('example');
  const timestamp = String(now.getTime());

  it.each([
    ['unsigned', request(body), 'missing_timestamp'],
    ['without a signature', request(body, { 'x-webflow-timestamp': timestamp }), 'missing_signature'],
    ['without a timestamp', request(body, { 'x-webflow-signature': sign(timestamp, body) }), 'missing_timestamp'],
    [
      'with a timestamp that is not milliseconds',
      request(body, { 'x-webflow-timestamp': '2026-11-21T10:00:00Z', 'x-webflow-signature': sign(timestamp, body) }),
      'invalid_timestamp',
    ],
    [
      'signed with another secret',
      request(body, { 'x-webflow-timestamp': timestamp, 'x-webflow-signature': sign(timestamp, body, 'other-secret') }),
      'invalid_signature',
    ],
    [
      'signed over the body alone',
      request(body, {
        'x-webflow-timestamp': timestamp,
        'x-webflow-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
      }),
      'invalid_signature',
    ],
    [
      'signed for another timestamp',
      request(body, {
        'x-webflow-timestamp': String(now.getTime() - 1000),
        'x-webflow-signature': sign(timestamp, body),
      }),
      'invalid_signature',
    ],
    ['stale: signed six minutes ago', signed(body, 'default', now.getTime() - 6 * MINUTE), 'stale_timestamp'],
    ['stale: dated six minutes ahead', signed(body, 'default', now.getTime() + 6 * MINUTE), 'stale_timestamp'],
  ])('answers 401 when %s, and accepts nothing', async (_case, req, code) => {
    const d = deps();
    const answer = await ingestWebhook(req, webflowSource, d);
    expect(answer).toEqual({ statusCode: 401, body: { error: { code, message: expect.any(String) as string } } });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('answers 404 for an unknown route', async () => {
    const answer = await ingestWebhook(signed(body, 'nope'), webflowSource, deps());
    expect(answer).toMatchObject({ statusCode: 404, body: { error: { code: 'unknown_route' } } });
  });

  it('answers 400 malformed_body for validly signed bytes that are not JSON or not a form submission', async () => {
    for (const bad of [
      '{"triggerType": ',
      JSON.stringify({ triggerType: 'form_submission', payload: { siteId: 's', data: {} } }),
    ]) {
      const d = deps();
      const answer = await ingestWebhook(signed(bad), webflowSource, d);
      expect(answer).toMatchObject({ statusCode: 400, body: { error: { code: 'malformed_body' } } });
      expect(d.accept).not.toHaveBeenCalled();
    }
  });

  it('answers 415 for a signed body that is not JSON', async () => {
    const answer = await ingestWebhook(
      request('a=1', {
        'content-type': 'text/plain',
        'x-webflow-timestamp': timestamp,
        'x-webflow-signature': sign(timestamp, 'a=1'),
      }),
      webflowSource,
      deps(),
    );
    expect(answer.statusCode).toBe(415);
  });

  it('ignores other trigger types', async () => {
    const publish = JSON.stringify({
      triggerType: 'site_publish',
      payload: { siteId: '62749158efef318abc8d5a0f', publishedOn: '2023-07-31T12:34:56.789Z' },
    });
    const d = deps();
    const answer = await ingestWebhook(signed(publish), webflowSource, d);
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'ignored', reason: 'Webflow trigger type "site_publish" carries no form submission' },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });
});
