import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { ContactSchema, type Contact } from '../../../shared/contact.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies, type SourceSecret } from '../../../shared/ingest.js';
import { typeformSource } from '../../../shared/sources/typeform.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

const SECRET = 'test-secret';
const now = new Date('2026-11-21T10:00:00.000Z');
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/typeform/${name}.json`, import.meta.url), 'utf8');

const sign = (body: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('base64')}`;

function request(body: string, headers: Record<string, string> = {}, routeName = 'default'): WebhookRequest {
  return {
    source: 'typeform',
    routeName,
    headers: { 'content-type': 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(body),
  };
}
const signed = (body: string, routeName = 'default') => request(body, { 'typeform-signature': sign(body) }, routeName);

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    typeform: {
      default: { deliverTo: ['twochat'] },
      anfrage: {
        deliverTo: ['twochat'],
        // Typeform questions can be named by ref ("postfach") or title ("Wie heißt du?"), in any case.
        fields: {
          fullName: ['Wie heißt du?'],
          phone: ['HANDYNUMMER'],
          email: ['postfach'],
          country: ['land'],
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
  const answer = await ingestWebhook(req, typeformSource, d);
  expect(answer).toMatchObject(ACCEPTED);
  expect(d.accept).toHaveBeenCalledTimes(1);
  const [contact, , eventKey] = d.accept.mock.calls[0] ?? [];
  expect(ContactSchema.parse(contact)).toEqual(contact);
  return { contact: contact as Contact, eventKey: eventKey as string };
}

describe('Source: typeform, published and variant payloads', () => {
  it("maps Typeform's published example: the email answer, the first name from its question, dated by submitted_at", async () => {
    const { contact, eventKey } = await acceptedContact(signed(fixture('example')));
    expect(eventKey).toBe('typeform:lT4Z3j:LtWXD3crgy');
    expect(contact).toEqual({
      firstName: 'Laura',
      emails: ['laura@example.com'],
      phones: [],
      rejectedPhones: [],
      tags: ['typeform'],
      attributes: {},
      origin: {
        source: 'typeform',
        route: 'default',
        eventKey,
        occurredAt: '2018-01-18T18:17:02.000Z',
        personKey: 'laura@example.com',
      },
    });
  });

  it('maps a phone_number answer to an E.164 phone, with the names from their refs', async () => {
    const { contact } = await acceptedContact(signed(fixture('with-phone')));
    expect(contact).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
    });
  });

  it('reads a national number with the region of a hidden country field', async () => {
    const { contact } = await acceptedContact(signed(fixture('national-phone')));
    expect(contact).toMatchObject({
      firstName: 'Lena',
      lastName: 'Schmidt',
      emails: [],
      phones: [{ e164: '+4915123456789' }],
      rejectedPhones: [],
    });
  });

  it('maps questions no heuristic recognises through the route config, and skips them without it', async () => {
    const body = fixture('renamed-fields');
    const { contact } = await acceptedContact(signed(body, 'anfrage'));
    expect(contact).toMatchObject({
      firstName: 'Grace',
      lastName: 'Hopper',
      emails: ['grace@example.com'],
      phones: [{ e164: '+442079460018' }],
      attributes: { kampagne: 'herbst' },
    });

    const d = deps();
    const answer = await ingestWebhook(signed(body), typeformSource, d);
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'skipped',
        reason: 'no usable email or phone: no email or phone field found',
        eventKey: 'typeform:pZ6wE1:01HQ3X4D6F8H0K2M4P6R8T0W2Y',
      },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('keys the event by the response token when there is no event_id', async () => {
    const body = JSON.stringify({ ...JSON.parse(fixture('with-phone')), event_id: undefined });
    const { eventKey } = await acceptedContact(signed(body));
    expect(eventKey).toBe('typeform:kX9pQ2:9f1c2e7a4b3d5f6e8a0b1c2d3e4f5a6b');
  });

  it('reads the exact bytes of a base64-encoded API Gateway body', async () => {
    const body = fixture('example');
    const event = httpApiEvent(
      'typeform',
      'default',
      body,
      { 'Content-Type': 'application/json', 'Typeform-Signature': sign(body) },
      true,
    );
    const { eventKey } = await acceptedContact(fromHttpApiEvent(event, 'typeform'));
    expect(eventKey).toBe('typeform:lT4Z3j:LtWXD3crgy');
  });
});

describe('Source: typeform, refusals', () => {
  const body = fixture('example');

  it.each([
    ['unsigned', request(body), 'missing_signature'],
    [
      'signed with another secret',
      request(body, { 'typeform-signature': sign(body, 'other-secret') }),
      'invalid_signature',
    ],
    [
      'signed without the sha256= prefix',
      request(body, { 'typeform-signature': sign(body).slice('sha256='.length) }),
      'invalid_signature',
    ],
    [
      'signed over other bytes',
      request(body.replace('laura@example.com', 'mallory@example.com'), { 'typeform-signature': sign(body) }),
      'invalid_signature',
    ],
    [
      'signed as hex',
      request(body, { 'typeform-signature': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` }),
      'invalid_signature',
    ],
  ])('answers 401 when %s, and accepts nothing', async (_case, req, code) => {
    const d = deps();
    const answer = await ingestWebhook(req, typeformSource, d);
    expect(answer).toEqual({
      statusCode: 401,
      body: { error: { code, message: expect.stringContaining('Typeform-Signature') as string } },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('answers 400 for an unknown route, never 404 or 410 (Typeform would disable the webhook)', async () => {
    const d = deps();
    const answer = await ingestWebhook(signed(body, 'nope'), typeformSource, d);
    expect(answer).toEqual({
      statusCode: 400,
      body: { error: { code: 'unknown_route', message: 'no route "nope" is configured for source "typeform"' } },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('answers 400 malformed_body for validly signed bytes that are not JSON or not a Typeform response', async () => {
    for (const bad of [
      '{"event_id": ',
      JSON.stringify({ event_id: 'x', event_type: 'form_response' }),
      JSON.stringify({ event_type: 'form_response', form_response: { form_id: 'f' } }),
    ]) {
      const d = deps();
      const answer = await ingestWebhook(signed(bad), typeformSource, d);
      expect(answer.statusCode).toBe(400);
      expect(answer.body).toMatchObject({ error: { code: 'malformed_body' } });
      expect(d.accept).not.toHaveBeenCalled();
    }
  });

  it('answers 415 for a signed body that is not JSON', async () => {
    const answer = await ingestWebhook(
      request('a=1', { 'content-type': 'text/plain', 'typeform-signature': sign('a=1') }),
      typeformSource,
      deps(),
    );
    expect(answer).toMatchObject({ statusCode: 415, body: { error: { code: 'unsupported_content_type' } } });
  });

  it('checks the signature before anything else: unsigned garbage is 401, not 400', async () => {
    const answer = await ingestWebhook(request('{oops'), typeformSource, deps());
    expect(answer.statusCode).toBe(401);
  });

  it('ignores other event types', async () => {
    const partial = JSON.stringify({ ...JSON.parse(body), event_type: 'form_response_partial' });
    const d = deps();
    const answer = await ingestWebhook(signed(partial), typeformSource, d);
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'ignored', reason: 'Typeform event type "form_response_partial" carries no completed response' },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('answers 500 when the route secret has no signing secret, so Typeform retries until it is fixed', async () => {
    const d = deps({ token: 'only-a-token' });
    const answer = await ingestWebhook(signed(body), typeformSource, d);
    expect(answer).toMatchObject({ statusCode: 500, body: { error: { code: 'internal_error' } } });
    expect(d.accept).not.toHaveBeenCalled();
  });
});
