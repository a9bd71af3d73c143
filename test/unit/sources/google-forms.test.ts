import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies, type SourceSecret } from '../../../shared/ingest.js';
import { googleFormsSource } from '../../../shared/sources/google-forms.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

const SCRIPT = readFileSync(new URL('../../../integrations/google-forms/forwarder.gs', import.meta.url), 'utf8');
const FIXTURE = readFileSync(new URL('../../fixtures/google-forms/response.json', import.meta.url));
const SECRET = 's';
const URL_PROPERTY = 'https://abc123.execute-api.us-east-1.amazonaws.com/hooks/google-forms/default';
const FORM_ID = '1x8Ve2Qw9uKcT5mRb3NfLp7Hs0Dg4Yj6Za1WoEi2Ck3A';
const RESPONSE_ID = '2_ABaOnudQhN1TmXbx3R5cYp0Wk8Lz4Vq7Ej2Gs9Hd6Fa1Kt0Ou3Iy5Mr8Pc';
const now = new Date('2026-11-21T10:00:00.000Z');

// ---------------------------------------------------------------------------
// The forwarder script, run as Apps Script runs it, with stand-ins for the Apps Script services.

interface FakeResponse {
  id: string;
  timestamp: Date;
  respondentEmail: string;
  items: Array<{ title: string; response: unknown }>;
}

interface FetchParams {
  method: string;
  contentType: string;
  payload: string;
  headers: Record<string, string>;
  muteHttpExceptions: boolean;
}

/** HMAC-SHA256 as Apps Script returns it: Java's signed bytes (-128..127). */
function javaSignedBytes(digest: Buffer): number[] {
  return Array.from(digest, (byte) => (byte > 127 ? byte - 256 : byte));
}

function runForwarder(
  response: FakeResponse,
  options: { properties?: Record<string, string>; answers?: Array<{ status: number; text: string } | Error> } = {},
) {
  const properties = options.properties ?? { CONTACT_RELAY_URL: URL_PROPERTY, CONTACT_RELAY_SECRET: SECRET };
  const answers = [...(options.answers ?? [{ status: 200, text: '{"status":"accepted"}' }])];
  const fetches: Array<{ url: string; params: FetchParams }> = [];
  const signatures: Array<{ charset: unknown; bytes: number[] }> = [];
  const sleeps: number[] = [];
  const logs: string[] = [];
  const form = { getId: () => FORM_ID };
  const context = vm.createContext({
    PropertiesService: { getScriptProperties: () => ({ getProperty: (name: string) => properties[name] ?? null }) },
    Utilities: {
      Charset: { UTF_8: 'UTF_8', US_ASCII: 'US_ASCII' },
      computeHmacSha256Signature(value: string, key: string, charset?: unknown) {
        const bytes = javaSignedBytes(
          createHmac('sha256', Buffer.from(key, 'utf8')).update(Buffer.from(value, 'utf8')).digest(),
        );
        signatures.push({ charset, bytes });
        return bytes;
      },
      // Apps Script's base64Encode takes the signed bytes and writes standard base64 of the same octets.
      base64Encode: (bytes: number[]) => Buffer.from(bytes.map((byte) => byte & 0xff)).toString('base64'),
      sleep: (ms: number) => sleeps.push(ms),
    },
    UrlFetchApp: {
      fetch(url: string, params: FetchParams) {
        fetches.push({ url, params });
        const next = answers.shift() ?? { status: 200, text: '{"status":"accepted"}' };
        if (next instanceof Error) throw next;
        return { getResponseCode: () => next.status, getContentText: () => next.text };
      },
    },
    FormApp: { getActiveForm: () => form },
    console: { log: (message: string) => logs.push(message) },
  });
  vm.runInContext(SCRIPT, context, { filename: 'forwarder.gs' });
  const event = {
    source: form,
    response: {
      getId: () => response.id,
      getTimestamp: () => response.timestamp,
      getRespondentEmail: () => response.respondentEmail,
      getItemResponses: () =>
        response.items.map((item) => ({
          getItem: () => ({ getTitle: () => item.title }),
          getResponse: () => item.response,
        })),
    },
  };
  let error: Error | undefined;
  try {
    (context['onFormSubmit'] as (e: unknown) => void)(event);
  } catch (thrown) {
    // Thrown in the script's realm: not `instanceof Error` here.
    error = thrown as Error;
  }
  return { fetches, signatures, sleeps, logs, error };
}

/** The response that `response.json` records. */
const fixtureResponse: FakeResponse = {
  id: RESPONSE_ID,
  timestamp: new Date('2026-11-21T09:58:12.345Z'),
  respondentEmail: 'ada@example.com',
  items: [
    { title: 'Full name', response: 'Ada Lovelace' },
    { title: 'Phone number', response: '(415) 555-0132' },
    { title: 'Country', response: 'United States' },
    { title: 'How did you hear about us?', response: ['Newsletter', 'A friend'] },
  ],
};

/** What the forwarder posted, as the adapter hands it to the source. */
function requestFromFetch(fetch: { params: FetchParams }, routeName = 'default'): WebhookRequest {
  const headers: Record<string, string> = { 'content-type': fetch.params.contentType };
  for (const [name, value] of Object.entries(fetch.params.headers)) headers[name.toLowerCase()] = value;
  return { source: 'google-forms', routeName, headers, query: {}, rawBody: Buffer.from(fetch.params.payload, 'utf8') };
}

// ---------------------------------------------------------------------------

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    'google-forms': {
      default: { deliverTo: ['twochat'] },
      named: {
        deliverTo: ['twochat'],
        defaultRegion: 'FR',
        fields: { fullName: ['Comment vous appelez-vous ?'], phone: ['Numéro WhatsApp'], attributes: ['Ville'] },
      },
    },
  },
});
const quietLogger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
function setup(secret: SourceSecret = { secret: SECRET, token: 't' }) {
  const accept = vi.fn<IngestDependencies['accept']>(async () => 'accepted');
  const sourceSecret = vi.fn(async () => secret);
  return { accept, sourceSecret, deps: { routes, accept, sourceSecret, logger: quietLogger, now: () => now } };
}

const sign = (body: Buffer | string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('base64')}`;
function signedRequest(
  body: Buffer | string,
  options: { headers?: Record<string, string>; routeName?: string } = {},
): WebhookRequest {
  return {
    source: 'google-forms',
    routeName: options.routeName ?? 'default',
    headers: { 'content-type': 'application/json', 'x-contact-relay-signature': sign(body), ...options.headers },
    query: {},
    rawBody: Buffer.from(body),
  };
}

describe('Script: integrations/google-forms/forwarder.gs', () => {
  it('posts response.json for the matching submission, signed as the source expects', () => {
    const { fetches, signatures, error } = runForwarder(fixtureResponse);
    expect(error).toBeUndefined();
    expect(fetches).toHaveLength(1);
    const [fetch] = fetches;
    expect(fetch?.url).toBe(URL_PROPERTY);
    expect(fetch?.params).toMatchObject({ method: 'post', contentType: 'application/json', muteHttpExceptions: true });
    expect(fetch?.params.payload).toBe(FIXTURE.toString('utf8'));
    // The digest has octets over 127, which Apps Script hands over as negative Java bytes.
    expect(signatures.map(({ charset, bytes }) => [charset, bytes.length])).toEqual([['UTF_8', 32]]);
    expect(signatures[0]?.bytes.some((byte) => byte < 0)).toBe(true);
    expect(fetch?.params.headers).toEqual({ 'X-Contact-Relay-Signature': sign(FIXTURE) });
  });

  it("is accepted by the source: Apps Script's signature over the exact text verifies", async () => {
    const { fetches } = runForwarder(fixtureResponse);
    const { accept, deps } = setup();
    const answer = await ingestWebhook(
      requestFromFetch(fetches[0] as { params: FetchParams }),
      googleFormsSource,
      deps,
    );
    const eventKey = `google-forms:${FORM_ID}:${RESPONSE_ID}`;
    expect(answer).toEqual({ statusCode: 200, body: { status: 'accepted', eventKey } });
    expect(accept.mock.calls[0]?.[0]).toEqual({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
      rejectedPhones: [],
      tags: ['google-forms'],
      attributes: {},
      origin: {
        source: 'google-forms',
        route: 'default',
        eventKey,
        occurredAt: '2026-11-21T09:58:12.345Z',
        personKey: 'ada@example.com',
      },
    });
  });

  it('sends non-ASCII answers as ASCII JSON, so the signed bytes are the sent bytes, and they arrive intact', async () => {
    const { fetches } = runForwarder({
      ...fixtureResponse,
      respondentEmail: '',
      items: [
        { title: 'Prénom', response: 'Zoë' },
        { title: 'Nom', response: 'Ōkubo 🌸' },
        { title: 'E-mail', response: 'zoe@example.com' },
      ],
    });
    const payload = fetches[0]?.params.payload ?? '';
    expect(payload).toMatch(/^[\x20-\x7e]+$/);
    expect(payload).toContain('"Pr\\u00e9nom":"Zo\\u00eb"');
    const { accept, deps } = setup();
    expect(
      await ingestWebhook(requestFromFetch(fetches[0] as { params: FetchParams }), googleFormsSource, deps),
    ).toMatchObject(ACCEPTED);
    expect(JSON.parse(payload)).toMatchObject({ answers: { Prénom: 'Zoë', Nom: 'Ōkubo 🌸' } });
    expect(accept.mock.calls[0]?.[0]).toMatchObject({ emails: ['zoe@example.com'] });
  });

  it('keeps checkbox lists, flattens grids, numbers repeated titles and leaves out an uncollected email', () => {
    const { fetches } = runForwarder({
      ...fixtureResponse,
      respondentEmail: '',
      items: [
        { title: 'Topics', response: ['A', 'B'] },
        { title: 'Grid', response: [['x', 'y'], ['z']] },
        { title: 'Phone', response: '+14155550132' },
        { title: 'Phone', response: '+14155550199' },
        { title: '  ', response: 'untitled' },
        { title: 'Rating', response: 5 },
      ],
    });
    expect(JSON.parse(fetches[0]?.params.payload ?? '')).toEqual({
      formId: FORM_ID,
      responseId: RESPONSE_ID,
      submittedAt: '2026-11-21T09:58:12.345Z',
      answers: {
        Topics: ['A', 'B'],
        Grid: ['x, y', 'z'],
        Phone: '+14155550132',
        'Phone (2)': '+14155550199',
        'Question 5': 'untitled',
        Rating: '5',
      },
    });
  });

  it('retries a 5xx or a network error, then stops at the first 2xx', () => {
    const { fetches, sleeps, logs, error } = runForwarder(fixtureResponse, {
      answers: [
        new Error('Address unavailable'),
        { status: 503, text: '{"error":{"code":"not_accepted"}}' },
        { status: 200, text: '{"status":"duplicate"}' },
      ],
    });
    expect(error).toBeUndefined();
    expect(fetches).toHaveLength(3);
    expect(new Set(fetches.map((fetch) => fetch.params.payload)).size).toBe(1);
    expect(sleeps).toEqual([2000, 4000]);
    expect(logs).toEqual(['contact-relay answered 200: {"status":"duplicate"}']);
  });

  it('fails the execution on a 4xx at once, and after the last attempt on 5xx, naming the answer', () => {
    const refused = runForwarder(fixtureResponse, {
      answers: [{ status: 401, text: '{"error":{"code":"invalid_signature"}}' }],
    });
    expect(refused.fetches).toHaveLength(1);
    expect(refused.error?.message).toBe(
      `contact-relay did not accept response ${RESPONSE_ID} (401): {"error":{"code":"invalid_signature"}}`,
    );
    const down = runForwarder(fixtureResponse, {
      answers: [
        { status: 502, text: 'a' },
        { status: 502, text: 'b' },
        { status: 502, text: 'c' },
      ],
    });
    expect(down.fetches).toHaveLength(3);
    expect(down.error?.message).toContain('(502): c');
  });

  it('refuses to run without its script properties', () => {
    const { fetches, error } = runForwarder(fixtureResponse, { properties: { CONTACT_RELAY_URL: URL_PROPERTY } });
    expect(fetches).toHaveLength(0);
    expect(error?.message).toContain('CONTACT_RELAY_SECRET');
  });
});

describe('Function: ingestWebhook with the Google Forms source', () => {
  it('accepts response.json signed with the route secret', async () => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(signedRequest(FIXTURE), googleFormsSource, deps);
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'accepted', eventKey: `google-forms:${FORM_ID}:${RESPONSE_ID}` },
    });
    expect(accept).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['no signature', { 'x-contact-relay-signature': '' }, 'missing_signature'],
    ['a signature with another secret', { 'x-contact-relay-signature': sign(FIXTURE, 'other') }, 'invalid_signature'],
    [
      'a hex signature',
      { 'x-contact-relay-signature': `sha256=${createHmac('sha256', SECRET).update(FIXTURE).digest('hex')}` },
      'invalid_signature',
    ],
  ])('answers 401 for %s and accepts nothing', async (_name, headers, code) => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(signedRequest(FIXTURE, { headers }), googleFormsSource, deps);
    expect(answer.statusCode).toBe(401);
    expect(answer.body).toMatchObject({ error: { code } });
    expect(accept).not.toHaveBeenCalled();
  });

  it('answers 401 for a body changed after signing', async () => {
    const { accept, deps } = setup();
    const request = { ...signedRequest(FIXTURE), rawBody: Buffer.from(FIXTURE.toString('utf8').replace('Ada', 'Eve')) };
    expect((await ingestWebhook(request, googleFormsSource, deps)).statusCode).toBe(401);
    expect(accept).not.toHaveBeenCalled();
  });

  it.each([
    ['invalid JSON', '{"formId":', /^body is not valid JSON: /],
    [
      'no answers',
      JSON.stringify({ formId: FORM_ID, responseId: RESPONSE_ID }),
      /^not a Google Forms response from the forwarder script: answers: /,
    ],
    [
      'a response id unfit for a key',
      JSON.stringify({ formId: FORM_ID, responseId: 'a:b', answers: {} }),
      /responseId: must be a Google Forms id/,
    ],
    [
      'an answer that is an object',
      JSON.stringify({ formId: FORM_ID, responseId: RESPONSE_ID, answers: { Email: { x: 1 } } }),
      /answers\.Email: /,
    ],
  ])('answers 400 for a signed body with %s', async (_name, body, message) => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(signedRequest(body), googleFormsSource, deps);
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toMatchObject({
      error: { code: 'malformed_body', message: expect.stringMatching(message) as string },
    });
    expect(accept).not.toHaveBeenCalled();
  });

  it('answers 415 for a signed body that is not JSON', async () => {
    const answer = await ingestWebhook(
      signedRequest('a=1', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      googleFormsSource,
      setup().deps,
    );
    expect(answer).toMatchObject({ statusCode: 415, body: { error: { code: 'unsupported_content_type' } } });
  });

  it('answers 404 for an unknown route', async () => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(signedRequest(FIXTURE, { routeName: 'nope' }), googleFormsSource, deps);
    expect(answer).toEqual({
      statusCode: 404,
      body: { error: { code: 'unknown_route', message: 'no route "nope" is configured for source "google-forms"' } },
    });
    expect(accept).not.toHaveBeenCalled();
  });

  it('answers 500 when the route secret has no signing secret', async () => {
    const answer = await ingestWebhook(signedRequest(FIXTURE), googleFormsSource, setup({ token: 't' }).deps);
    expect(answer).toMatchObject({ statusCode: 500, body: { error: { code: 'internal_error' } } });
  });

  it('verifies a base64-encoded API Gateway body', async () => {
    const { accept, deps } = setup();
    const event = httpApiEvent(
      'google-forms',
      'default',
      FIXTURE.toString('utf8'),
      { 'Content-Type': 'application/json', 'X-Contact-Relay-Signature': sign(FIXTURE) },
      true,
    );
    expect(await ingestWebhook(fromHttpApiEvent(event, 'google-forms'), googleFormsSource, deps)).toMatchObject(
      ACCEPTED,
    );
    expect(accept).toHaveBeenCalledTimes(1);
  });

  it("prefers an email answer to the respondent's collected email", async () => {
    const { accept, deps } = setup();
    const body = JSON.stringify({
      formId: FORM_ID,
      responseId: RESPONSE_ID,
      respondentEmail: 'owner@example.com',
      answers: { Email: 'lead@example.com' },
    });
    expect(await ingestWebhook(signedRequest(body), googleFormsSource, deps)).toMatchObject(ACCEPTED);
    expect(accept.mock.calls[0]?.[0]).toMatchObject({
      emails: ['lead@example.com'],
      origin: { occurredAt: now.toISOString() },
    });
  });

  it('maps question titles the route names, which no heuristic would recognise', async () => {
    const { accept, deps } = setup();
    const body = JSON.stringify({
      formId: FORM_ID,
      responseId: RESPONSE_ID,
      submittedAt: '2026-11-21T09:00:00Z',
      answers: { 'Comment vous appelez-vous ?': 'Marie Curie', 'Numéro WhatsApp': '06 12 34 56 78', Ville: 'Paris' },
    });
    expect(await ingestWebhook(signedRequest(body, { routeName: 'named' }), googleFormsSource, deps)).toMatchObject(
      ACCEPTED,
    );
    expect(accept.mock.calls[0]?.[0]).toMatchObject({
      firstName: 'Marie',
      lastName: 'Curie',
      emails: [],
      phones: [{ e164: '+33612345678' }],
      attributes: { Ville: 'Paris' },
      origin: { source: 'google-forms', route: 'named', occurredAt: '2026-11-21T09:00:00.000Z' },
    });
  });

  it('skips a response with neither an email nor a phone, saying why', async () => {
    const { accept, deps } = setup();
    const body = JSON.stringify({
      formId: FORM_ID,
      responseId: RESPONSE_ID,
      answers: { Name: 'Ada', Feedback: 'Great' },
    });
    const answer = await ingestWebhook(signedRequest(body), googleFormsSource, deps);
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'skipped',
        reason: 'no usable email or phone: no email or phone field found',
        eventKey: `google-forms:${FORM_ID}:${RESPONSE_ID}`,
      },
    });
    expect(accept).not.toHaveBeenCalled();
  });
});
