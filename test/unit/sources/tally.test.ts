import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { ContactSchema, type Contact } from '../../../shared/contact.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies, type SourceSecret } from '../../../shared/ingest.js';
import { tallyFields, tallySource, TallyWebhookSchema } from '../../../shared/sources/tally.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

const SECRET = 'test-secret';
const now = new Date('2026-11-21T10:00:00.000Z');
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/tally/${name}.json`, import.meta.url), 'utf8');

const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');

function request(body: string, headers: Record<string, string> = {}, routeName = 'default'): WebhookRequest {
  return {
    source: 'tally',
    routeName,
    headers: { 'content-type': 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(body),
  };
}
const signed = (body: string, routeName = 'default') => request(body, { 'tally-signature': sign(body) }, routeName);

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    tally: {
      // Only attributes are named: name, email and phone are still found by Tally's types.
      default: { deliverTo: ['twochat'], fields: { attributes: ['utm_campaign', 'Checkboxes', 'Multiple choice'] } },
      newsletter: { deliverTo: ['twochat'], tags: ['newsletter'], fields: { tags: ['Topics'] } },
      open: { deliverTo: ['twochat'], auth: 'none' },
      anfrage: {
        deliverTo: ['twochat'],
        fields: {
          fullName: ['Wie heißt du?'],
          phone: ['handynummer'],
          email: ['question_Tg5yHn'],
          country: ['Land'],
          tags: ['Interessen'],
          attributes: ['kampagne'],
        },
      },
    },
  },
});

function deps(secret: SourceSecret = { secret: SECRET }) {
  return {
    routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: async () => secret,
    logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    now: () => now,
  };
}

async function acceptedContact(req: WebhookRequest): Promise<{ contact: Contact; eventKey: string }> {
  const d = deps();
  const answer = await ingestWebhook(req, tallySource, d);
  expect(answer).toMatchObject(ACCEPTED);
  expect(d.accept).toHaveBeenCalledTimes(1);
  const [contact, , eventKey] = d.accept.mock.calls[0] ?? [];
  expect(ContactSchema.parse(contact)).toEqual(contact);
  return { contact: contact as Contact, eventKey: eventKey as string };
}

describe('Function: tallyFields', () => {
  it('names fields by key and label, turns option ids into their texts and files into URLs', () => {
    const fields = tallyFields(TallyWebhookSchema.parse(JSON.parse(fixture('example'))));
    const byLabel = (label: string) => fields.find((field) => field.names[1] === label);
    expect(byLabel('Multiple choice')).toEqual({
      names: ['question_3qL4Gm', 'Multiple choice'],
      type: 'choice',
      value: ['In progress'],
    });
    expect(byLabel('Multi-select')?.value).toEqual(['Surf', 'Golf']);
    expect(byLabel('Checkboxes (Swimming)')).toMatchObject({ type: 'boolean', value: true });
    expect(byLabel('File upload')?.value).toEqual([
      'https://storage.googleapis.com/tally-response-assets-dev/vBXMXN/34fd1ee5-4ead-4929-9a4a-918ac9f0b416/Tally_Icon.png',
    ]);
    expect(byLabel('utm_campaign')).toMatchObject({ type: 'hidden', value: 'newsletter' });
    expect(byLabel('Matrix')?.value).toBeNull();
  });
});

describe('Source: tally, published and variant payloads', () => {
  it("maps Tally's published example: typed email and phone, hidden field and choices as attributes", async () => {
    const { contact, eventKey } = await acceptedContact(signed(fixture('example')));
    expect(eventKey).toBe('tally:VwbNEw:a4cb511e-d513-4fa5-baee-b815d718dfd1');
    expect(contact).toEqual({
      emails: ['alice@example.com'],
      phones: [{ e164: '+32491223344' }],
      rejectedPhones: [],
      tags: ['tally'],
      attributes: { utm_campaign: 'newsletter', Checkboxes: 'Swimming, Skiing', 'Multiple choice': 'In progress' },
      origin: {
        source: 'tally',
        route: 'default',
        eventKey,
        occurredAt: '2023-06-28T15:00:21.000Z',
        personKey: 'alice@example.com',
      },
    });
  });

  it('maps a form without a phone, tagging with the ticked options of a tags field', async () => {
    const { contact } = await acceptedContact(signed(fixture('without-phone'), 'newsletter'));
    expect(contact).toMatchObject({
      firstName: 'Alice',
      lastName: 'Smith',
      emails: ['alice@example.com'],
      phones: [],
      tags: ['tally', 'newsletter', 'Product news'],
    });
  });

  it('reads a national number with the region of a hidden country field', async () => {
    const { contact } = await acceptedContact(signed(fixture('national-phone')));
    expect(contact).toMatchObject({
      firstName: 'Jan',
      lastName: 'Peeters',
      emails: [],
      phones: [{ e164: '+32471123456' }],
    });
  });

  it('maps labels no heuristic recognises through the route config (by label or key), and skips them without it', async () => {
    const body = fixture('renamed-fields');
    const { contact } = await acceptedContact(signed(body, 'anfrage'));
    expect(contact).toMatchObject({
      firstName: 'Lena',
      lastName: 'Schmidt',
      emails: ['lena@example.com'],
      phones: [{ e164: '+4915123456789' }],
      tags: ['tally', 'Workshop', 'Beratung'],
      attributes: { kampagne: 'herbst' },
    });

    const d = deps();
    const answer = await ingestWebhook(signed(body), tallySource, d);
    expect(answer).toMatchObject({
      statusCode: 200,
      body: { status: 'skipped', reason: 'no usable email or phone: no email or phone field found' },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('accepts unsigned requests on a route with auth "none"', async () => {
    const { eventKey } = await acceptedContact(request(fixture('example'), {}, 'open'));
    expect(eventKey).toBe('tally:VwbNEw:a4cb511e-d513-4fa5-baee-b815d718dfd1');
  });

  it('keys the event by the response id when there is no eventId', async () => {
    const body = JSON.stringify({ ...JSON.parse(fixture('example')), eventId: undefined });
    expect((await acceptedContact(signed(body))).eventKey).toBe('tally:VwbNEw:2wgx4n');
  });

  it('reads the exact bytes of a base64-encoded API Gateway body', async () => {
    const body = fixture('example');
    const event = httpApiEvent(
      'tally',
      'default',
      body,
      { 'content-type': 'application/json', 'tally-signature': sign(body) },
      true,
    );
    expect((await acceptedContact(fromHttpApiEvent(event, 'tally'))).eventKey).toBe(
      'tally:VwbNEw:a4cb511e-d513-4fa5-baee-b815d718dfd1',
    );
  });
});

describe('Source: tally, refusals', () => {
  const body = fixture('example');

  it.each([
    ['unsigned', request(body), 'missing_signature'],
    [
      'signed with another secret',
      request(body, { 'tally-signature': sign(body, 'other-secret') }),
      'invalid_signature',
    ],
    [
      'signed over other bytes',
      request(body.replace('+32491223344', '+32491223345'), { 'tally-signature': sign(body) }),
      'invalid_signature',
    ],
  ])('answers 401 when %s on a signed route, and accepts nothing', async (_case, req, code) => {
    const d = deps();
    const answer = await ingestWebhook(req, tallySource, d);
    expect(answer).toEqual({
      statusCode: 401,
      body: { error: { code, message: expect.stringContaining('Tally-Signature') as string } },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('answers 404 for an unknown route', async () => {
    const answer = await ingestWebhook(signed(body, 'nope'), tallySource, deps());
    expect(answer).toMatchObject({ statusCode: 404, body: { error: { code: 'unknown_route' } } });
  });

  it('answers 400 malformed_body for validly signed bytes that are not JSON or not a Tally response', async () => {
    for (const bad of [
      '{"eventId": ',
      JSON.stringify({ eventId: 'e', eventType: 'FORM_RESPONSE', data: { formId: 'f' } }),
    ]) {
      const d = deps();
      const answer = await ingestWebhook(signed(bad), tallySource, d);
      expect(answer).toMatchObject({ statusCode: 400, body: { error: { code: 'malformed_body' } } });
      expect(d.accept).not.toHaveBeenCalled();
    }
  });

  it('answers 415 for a signed body that is not JSON', async () => {
    const answer = await ingestWebhook(
      request('a=1', { 'content-type': 'application/x-www-form-urlencoded', 'tally-signature': sign('a=1') }),
      tallySource,
      deps(),
    );
    expect(answer.statusCode).toBe(415);
  });

  it('ignores other event types', async () => {
    const other = JSON.stringify({ ...JSON.parse(body), eventType: 'FORM_DELETED' });
    const answer = await ingestWebhook(signed(other), tallySource, deps());
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'ignored', reason: 'Tally event type "FORM_DELETED" carries no form response' },
    });
  });
});
