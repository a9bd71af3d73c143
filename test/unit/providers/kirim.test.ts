import { beforeEach, describe, expect, it } from 'vitest';
import { useProviderEmulator } from '../../helpers/provider-emulator.js';
import type { Contact } from '../../../shared/contact.js';
import { HttpConnectionError, type HttpClient, type HttpRequest, type HttpResponse } from '../../../shared/http.js';
import { deliverWithAdapter } from '../../../shared/providers/engine.js';
import {
  KirimCredentialsSchema,
  kirimAdapter,
  kirimIdempotencyKey,
  kirimPhone,
  kirimSkipReason,
  readKirimCreate,
  readKirimLookup,
  toKirimRequest,
  type KirimCredentials,
} from '../../../shared/providers/kirim.js';
import type { DeliveryTarget, ProviderContext, RequestContext } from '../../../shared/providers/types.js';
import { providerSecretName, SecretStore, type SecretStoreOptions } from '../../../shared/secrets.js';
import { kirimApi, kirimSettings } from '../../../local/emulator/providers/kirim.js';
import type { EmulatedRequest } from '../../../local/emulator/http-kit.js';
import { EmulatorState } from '../../../local/emulator/state.js';

const PHONE_NUMBER_ID = '106540352242922';

function contact(overrides: Partial<Contact> = {}): Contact {
  return {
    firstName: 'Ada',
    lastName: 'Lovelace',
    emails: ['ada@example.com'],
    phones: [{ e164: '+447700900123' }],
    rejectedPhones: [],
    tags: [],
    attributes: {},
    origin: {
      source: 'form',
      route: 'default',
      eventKey: 'form:default:sha256:abc',
      occurredAt: '2025-01-01T00:00:00.000Z',
    },
    ...overrides,
  };
}

function target(account = 'kirim-main', route = 'default'): DeliveryTarget {
  return {
    route: {
      deliverTo: [account],
      whatsappNumbers: false,
      tags: [],
      source: 'form',
      name: route,
      accounts: [{ name: account, provider: 'kirim' }],
    },
    account: { name: account, provider: 'kirim' },
  };
}

function context(person: Contact = contact(), baseUrl = 'https://api.kirim.chat'): RequestContext<KirimCredentials> {
  return { contact: person, target: target(), credentials: { token: 'tok', phoneNumberId: PHONE_NUMBER_ID }, baseUrl };
}

function response(status: number, body: unknown, headers: HttpResponse['headers'] = {}): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

const keyOf = (person: Contact, to = target(), phoneNumberId = PHONE_NUMBER_ID) =>
  kirimIdempotencyKey(person, to, phoneNumberId);

describe('Object: KirimCredentialsSchema', () => {
  it('accepts a token and a phone_number_id', () => {
    expect(KirimCredentialsSchema.safeParse({ token: 'tok', phoneNumberId: PHONE_NUMBER_ID }).success).toBe(true);
  });

  it.each([
    {},
    { token: 'tok' },
    { phoneNumberId: PHONE_NUMBER_ID },
    { token: '', phoneNumberId: PHONE_NUMBER_ID },
    { token: 'tok', phoneNumberId: '' },
  ])('refuses %j', (secret) => {
    expect(KirimCredentialsSchema.safeParse(secret).success).toBe(false);
  });
});

describe('Function: toKirimRequest', () => {
  it('sends the phone, the full name, the first email and string metadata', () => {
    const person = contact({
      emails: ['ada@example.com', 'other@example.com'],
      attributes: { plan: 'pro' },
      tags: ['lead', 'vip'],
    });
    expect(toKirimRequest(person, target())).toEqual({
      phone_number: '+447700900123',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      metadata: { plan: 'pro', tags: 'lead, vip', origin_source: 'form', origin_route: 'default' },
    });
  });

  it('leaves out the name and email the contact does not have', () => {
    const body = toKirimRequest(contact({ firstName: undefined, lastName: undefined, emails: [] }), target());
    expect(body).toEqual({
      phone_number: '+447700900123',
      metadata: { origin_source: 'form', origin_route: 'default' },
    });
    expect(Object.keys(body)).not.toContain('name');
  });

  it("keeps the contact's own attributes named like ours", () => {
    const body = toKirimRequest(
      contact({ attributes: { source: 'newsletter', tags: 'from-form' }, tags: ['lead'] }),
      target(),
    );
    expect(body.metadata).toEqual({
      source: 'newsletter',
      tags: 'from-form',
      origin_source: 'form',
      origin_route: 'default',
    });
  });

  it('prefers a phone known to be on WhatsApp', () => {
    const person = contact({ phones: [{ e164: '+14155550100' }, { e164: '+14155550123', whatsapp: true }] });
    expect(kirimPhone(person)).toBe('+14155550123');
    expect(toKirimRequest(person, target()).phone_number).toBe('+14155550123');
  });

  it('refuses a contact without a phone (the skip reason comes first)', () => {
    expect(() => toKirimRequest(contact({ phones: [] }), target())).toThrow(/kirimSkipReason/);
  });
});

describe('Function: kirimIdempotencyKey', () => {
  it('is the same for the same event, account, number and body, so a retried job re-sends it', () => {
    const key = keyOf(contact());
    expect(key).toMatch(/^contact-relay-[0-9a-f]{64}$/);
    expect(keyOf(contact({ origin: { ...contact().origin, occurredAt: '2025-02-02T00:00:00.000Z' } }))).toBe(key);
  });

  it('differs per event, account, route and phone_number_id', () => {
    const key = keyOf(contact());
    const otherEvent = contact({ origin: { ...contact().origin, eventKey: 'form:default:sha256:def' } });
    expect(keyOf(otherEvent)).not.toBe(key);
    expect(keyOf(contact(), target('kirim-other'))).not.toBe(key);
    const otherRoute = contact({ origin: { ...contact().origin, route: 'landing' } });
    expect(keyOf(otherRoute, target('kirim-main', 'landing'))).not.toBe(key);
    expect(keyOf(contact(), target(), '106540352242999')).not.toBe(key);
  });

  it('differs when the body does, as Kirim would refuse another body under the same key', () => {
    expect(keyOf(contact({ attributes: { plan: 'pro' } }))).not.toBe(keyOf(contact()));
    expect(keyOf(contact({ firstName: 'Augusta' }))).not.toBe(keyOf(contact()));
  });
});

describe('Function: kirimSkipReason', () => {
  it('lets a contact with a valid phone through', () => {
    expect(kirimSkipReason(contact())).toBeUndefined();
    expect(kirimAdapter.skipReason(contact(), target())).toBeUndefined();
  });

  it('skips a contact without any phone, even with an email', () => {
    expect(kirimSkipReason(contact({ phones: [] }))).toBe('Kirim.chat needs a phone number and the contact has none');
  });

  it('counts the rejected phones and gives their reasons without the numbers', () => {
    const reason = kirimSkipReason(
      contact({
        phones: [],
        rejectedPhones: [
          { input: '555-0199', reason: 'phone number is a national number and no country is known for it' },
          { input: '12', reason: 'phone number is too short (region US)' },
        ],
      }),
    );
    expect(reason).toBe(
      'Kirim.chat needs a valid E.164 phone number; 2 phone numbers were rejected: phone number is a national number and no country is known for it; phone number is too short (region US)',
    );
    expect(reason).not.toContain('555-0199');
  });

  it('says "was" for a single rejected phone', () => {
    expect(
      kirimSkipReason(
        contact({ phones: [], rejectedPhones: [{ input: 'abc', reason: 'phone number is not a phone number' }] }),
      ),
    ).toMatch(/1 phone number was rejected/);
  });
});

describe('Object: kirimAdapter', () => {
  it('creates at /v1/{phone_number_id}/contacts with the bearer token, JSON and an idempotency key', () => {
    const request = kirimAdapter.create(context());
    expect(request).toEqual({
      method: 'POST',
      url: `https://api.kirim.chat/v1/${PHONE_NUMBER_ID}/contacts`,
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json', 'idempotency-key': keyOf(contact()) },
      body: JSON.stringify(toKirimRequest(contact(), target())),
    });
    expect(kirimAdapter.create(context()).headers?.['idempotency-key']).toBe(request.headers?.['idempotency-key']);
  });

  it('uses the public host by default and the override when given', () => {
    expect(kirimAdapter.defaultBaseUrl({ token: 'tok', phoneNumberId: PHONE_NUMBER_ID })).toBe(
      'https://api.kirim.chat',
    );
    expect(kirimAdapter.create(context(contact(), 'http://127.0.0.1:4010/kirim')).url).toBe(
      `http://127.0.0.1:4010/kirim/v1/${PHONE_NUMBER_ID}/contacts`,
    );
  });

  it('looks the phone up with the + URL-encoded', () => {
    expect(kirimAdapter.lookup?.(context())).toEqual({
      method: 'GET',
      url: `https://api.kirim.chat/v1/${PHONE_NUMBER_ID}/contacts?phone=%2B447700900123`,
      headers: { authorization: 'Bearer tok' },
    });
  });

  it('has no lookup for a contact without a phone', () => {
    expect(kirimAdapter.lookup?.(context(contact({ phones: [] })))).toBeUndefined();
  });
});

/** The create page's examples, as written (its error examples all carry the same body, whatever the status). */
const DOC_CREATED = '{ "data": { "id": "ctc_01HXYZABCDEFGHJKMNPQRSTVWX", "object": "contact" }}';
const DOC_ERROR =
  '{ "error": { "type": "invalid_request_error", "code": "invalid_phone_number", "request_id": "req_01HXYZABCDEFGHJKMNPQRSTVWX" }}';
const envelope = (type: string, code: string, message = 'm') => ({
  error: { type, code, message, request_id: 'req_1' },
});

describe('Function: readKirimCreate', () => {
  it("reads the create page's 201 example as written", () => {
    expect(readKirimCreate(response(201, DOC_CREATED))).toEqual({
      kind: 'created',
      id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX',
    });
  });

  it('reads the full documented 201 body, and any 2xx', () => {
    const body = {
      data: {
        id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX',
        object: 'contact',
        phone_number: '+447700900123',
        name: null,
        email: null,
        metadata: null,
        whatsapp_account: { phone_number: null },
        created_at: '2025-01-01T00:00:00Z',
        updated_at: '2025-01-01T00:00:00Z',
      },
      request_id: 'req_01HXYZABCDEFGHJKMNPQRSTVWX',
    };
    expect(readKirimCreate(response(201, body))).toEqual({ kind: 'created', id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX' });
    expect(readKirimCreate(response(200, body))).toEqual({ kind: 'created', id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX' });
  });

  it('fails a 2xx that carries no contact', () => {
    expect(readKirimCreate(response(201, { ok: true }))).toMatchObject({
      kind: 'failed',
      httpStatus: 201,
      code: 'unexpected_response',
    });
    expect(readKirimCreate(response(201, 'not json'))).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
  });

  // Validation 400, authentication 401, not found 404, semantic 422, rate limit 429, internal 500.
  it.each([
    [400, { kind: 'failed', httpStatus: 400, code: 'invalid_phone_number' }],
    [401, { kind: 'unauthorized', httpStatus: 401 }],
    [404, { kind: 'failed', httpStatus: 404, code: 'invalid_phone_number' }],
    [422, { kind: 'failed', httpStatus: 422, code: 'invalid_phone_number' }],
    [429, { kind: 'transient', httpStatus: 429 }],
    [500, { kind: 'transient', httpStatus: 500 }],
  ])("reads the create page's error example with HTTP %i", (status, expected) => {
    const answer = readKirimCreate(response(status, DOC_ERROR));
    expect(answer).toMatchObject(expected);
    expect(answer).toHaveProperty(
      'message',
      expect.stringContaining(
        'invalid_phone_number (invalid_request_error); request_id req_01HXYZABCDEFGHJKMNPQRSTVWX',
      ),
    );
  });

  it("uses Kirim's message and param when given", () => {
    const body = {
      error: {
        type: 'invalid_request_error',
        code: 'invalid_field_value',
        message: 'email is invalid',
        param: 'email',
        request_id: 'req_1',
      },
    };
    expect(readKirimCreate(response(400, body))).toEqual({
      kind: 'failed',
      httpStatus: 400,
      code: 'invalid_field_value',
      message: 'email is invalid; param email; request_id req_1',
    });
  });

  it('reads a 403 permission_error as a permanent failure that names the cause, not as a rotated key', () => {
    const answer = readKirimCreate(
      response(403, envelope('permission_error', 'phone_number_forbidden', 'No access to this number')),
    );
    expect(answer).toMatchObject({ kind: 'failed', httpStatus: 403, code: 'phone_number_forbidden' });
    expect(answer).toHaveProperty('message', expect.stringContaining('No access to this number; request_id req_1'));
    expect(answer).toHaveProperty(
      'message',
      expect.stringMatching(/plan limit.*scope.*suspended organisation.*GET \/v1\/accounts/),
    );
    expect(readKirimCreate(response(403, '<html>Forbidden</html>'))).toMatchObject({
      kind: 'failed',
      httpStatus: 403,
      code: 'permission_error',
    });
  });

  it('points at the phoneNumberId on 404', () => {
    const answer = readKirimCreate(response(404, envelope('not_found', 'resource_not_found', 'No such account')));
    expect(answer).toMatchObject({
      kind: 'failed',
      code: 'resource_not_found',
      message: expect.stringContaining('phoneNumberId'),
    });
  });

  it('retries a 409 idempotency_in_progress with the same key, ignoring the rate-limit bucket reset', () => {
    const headers = {
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '59',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60),
    };
    const answer = readKirimCreate(
      response(409, envelope('conflict', 'idempotency_in_progress', 'still running'), headers),
    );
    expect(answer).toEqual({ kind: 'transient', httpStatus: 409, message: 'still running; request_id req_1' });
    expect(
      readKirimCreate(response(409, envelope('conflict', 'idempotency_in_progress'), { 'retry-after': '3' })),
    ).toMatchObject({ retryAfterMs: 3000 });
  });

  it('retries any other conflict, as the errors page does', () => {
    expect(readKirimCreate(response(409, envelope('conflict', 'state_conflict')))).toMatchObject({
      kind: 'transient',
      httpStatus: 409,
    });
  });

  it.each([
    [422, 'idempotency_key_reuse'],
    [409, 'idempotency_conflict'],
  ])('fails a %i %s (another request under the key) naming the cause', (status, code) => {
    const answer = readKirimCreate(response(status, envelope('invalid_request_error', code, 'Key already used')));
    expect(answer).toMatchObject({ kind: 'failed', httpStatus: status, code });
    expect(answer).toHaveProperty('message', expect.stringContaining('different request under this Idempotency-Key'));
  });

  it('waits as long as Retry-After says on 429', () => {
    const body = envelope('rate_limit_error', 'rate_limit_exceeded', 'Too many requests');
    expect(
      readKirimCreate(
        response(429, body, { 'retry-after': '2', 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0' }),
      ),
    ).toEqual({
      kind: 'transient',
      httpStatus: 429,
      message: 'Too many requests; request_id req_1',
      retryAfterMs: 2000,
    });
  });

  it('falls back on X-RateLimit-Reset (epoch seconds) on a 429 without Retry-After', () => {
    const reset = String(Math.floor(Date.now() / 1000) + 5);
    const answer = readKirimCreate(response(429, DOC_ERROR, { 'x-ratelimit-reset': reset }));
    expect(answer).toMatchObject({ kind: 'transient', retryAfterMs: expect.any(Number) });
    expect((answer as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(3000);
    expect((answer as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it.each([500, 502, 503, 504])('retries HTTP %i, even without the envelope', (status) => {
    expect(readKirimCreate(response(status, '<html>Bad gateway</html>'))).toEqual({
      kind: 'transient',
      httpStatus: status,
      message: `HTTP ${status}`,
    });
  });

  it('reads a gateway error body that is not the envelope', () => {
    expect(readKirimCreate(response(400, { message: 'Bad Request' }))).toEqual({
      kind: 'failed',
      httpStatus: 400,
      message: 'Bad Request',
    });
  });
});

describe('Function: readKirimLookup', () => {
  const lookup = (): HttpRequest => kirimAdapter.lookup?.(context()) as HttpRequest;
  const read = (status: number, body: unknown, headers: HttpResponse['headers'] = {}) =>
    readKirimLookup(response(status, body, headers), context(), lookup());
  const listed = (id: string, phone: string | null) => ({ id, object: 'contact', phone_number: phone });

  it('finds the contact whose phone_number is ours in the documented list', () => {
    const body = {
      data: [listed('ctc_01HXYZABCDEFGHJKMNPQRSTVWX', '+447700900123')],
      has_more: false,
      next_cursor: null,
      request_id: 'req_1',
    };
    expect(read(200, body)).toEqual({ kind: 'exists', id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX' });
  });

  it('does not count a listed contact with another phone as the person', () => {
    const body = {
      data: [listed('ctc_OTHER', '+447700900999'), listed('ctc_NOPHONE', null)],
      has_more: false,
      next_cursor: null,
      request_id: 'req_1',
    };
    expect(read(200, body)).toEqual({ kind: 'not_found' });
  });

  it('picks the matching contact out of a list that ignored the filter', () => {
    const body = {
      data: [listed('ctc_OTHER', '+447700900999'), listed('ctc_ADA', '+447700900123')],
      has_more: false,
      next_cursor: null,
    };
    expect(read(200, body)).toEqual({ kind: 'exists', id: 'ctc_ADA' });
  });

  it('asks for the next page, with the same filter and the cursor, while the person is not found', () => {
    const body = {
      data: [listed('ctc_OTHER', '+447700900999')],
      has_more: true,
      next_cursor: 'eyJvIjoyNX0',
      request_id: 'req_1',
    };
    expect(read(200, body)).toEqual({
      kind: 'next_page',
      request: {
        ...lookup(),
        url: `https://api.kirim.chat/v1/${PHONE_NUMBER_ID}/contacts?phone=%2B447700900123&cursor=eyJvIjoyNX0`,
      },
    });
  });

  it('finds nobody in an empty list, or at the last page', () => {
    expect(read(200, { data: [], has_more: false, next_cursor: null, request_id: 'req_1' })).toEqual({
      kind: 'not_found',
    });
    expect(read(200, { data: [], has_more: true, next_cursor: null })).toEqual({ kind: 'not_found' });
  });

  it('fails an answer that is no list', () => {
    expect(read(200, { data: { contacts: [] } })).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
    expect(read(200, [listed('ctc_ADA', '+447700900123')])).toMatchObject({
      kind: 'failed',
      code: 'unexpected_response',
    });
    expect(read(200, 'nope')).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
  });

  it.each([400, 404, 405])('lets the create call decide when the lookup answers %i', (status) => {
    expect(read(status, DOC_ERROR)).toEqual({ kind: 'not_found' });
  });

  it('classifies auth, permission, rate-limit and server errors like the create call', () => {
    expect(read(401, DOC_ERROR)).toMatchObject({ kind: 'unauthorized', httpStatus: 401 });
    expect(read(403, envelope('permission_error', 'phone_number_forbidden'))).toMatchObject({
      kind: 'failed',
      httpStatus: 403,
    });
    expect(read(429, DOC_ERROR, { 'retry-after': '1' })).toMatchObject({ kind: 'transient', retryAfterMs: 1000 });
    expect(read(503, '')).toMatchObject({ kind: 'transient', httpStatus: 503 });
  });
});

function emulated(
  method: string,
  path: string,
  options: {
    token?: string | null;
    body?: unknown;
    rawBody?: string;
    query?: string;
    headers?: Record<string, string>;
    heldMs?: number;
  } = {},
): EmulatedRequest {
  const rawBody = options.rawBody ?? (options.body === undefined ? '' : JSON.stringify(options.body));
  let json: unknown;
  try {
    json = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    json = undefined;
  }
  const token = options.token === undefined ? 'tok' : options.token;
  return {
    method,
    path,
    query: new URLSearchParams(options.query ?? ''),
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      'content-type': 'application/json',
      ...options.headers,
    },
    rawBody,
    json,
    ...(options.heldMs !== undefined ? { heldMs: options.heldMs } : {}),
  };
}

function emulator() {
  const state = new EmulatorState();
  state.credentials.kirim.add('tok');
  return { state, api: kirimApi(state) };
}

const CONTACTS = `/v1/${PHONE_NUMBER_ID}/contacts`;
const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;
const ERROR_ENVELOPE = {
  error: {
    type: expect.any(String),
    code: expect.any(String),
    message: expect.any(String),
    request_id: expect.stringMatching(REQUEST_ID),
  },
};
const idOf = (answer: { body?: unknown }) => (answer.body as { data: { id: string } }).data.id;

describe('Function: kirimApi', () => {
  it('answers 401 missing_api_key without a token and invalid_api_key with a wrong one', async () => {
    const { api } = emulator();
    const missing = await api(emulated('POST', CONTACTS, { token: null, body: { phone_number: '+447700900123' } }));
    expect(missing).toMatchObject({ status: 401, body: ERROR_ENVELOPE });
    expect(missing.body).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    const wrong = await api(emulated('POST', CONTACTS, { token: 'nope', body: { phone_number: '+447700900123' } }));
    expect(wrong).toMatchObject({
      status: 401,
      body: { error: { type: 'authentication_error', code: 'invalid_api_key' } },
    });
    expect(
      (
        await api(
          emulated('POST', CONTACTS, { headers: { authorization: 'tok' }, body: { phone_number: '+447700900123' } }),
        )
      ).status,
    ).toBe(401);
  });

  it('creates a contact: 201 with the documented shape, its request_id in X-Request-Id', async () => {
    const { state, api } = emulator();
    const answer = await api(
      emulated('POST', CONTACTS, {
        body: {
          phone_number: '+447700900123',
          name: 'Ada Lovelace',
          email: 'ada@example.com',
          metadata: { plan: 'pro' },
        },
      }),
    );
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      data: {
        id: expect.stringMatching(/^ctc_[0-9A-HJKMNP-TV-Z]{26}$/),
        object: 'contact',
        phone_number: '+447700900123',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        metadata: { plan: 'pro' },
        whatsapp_account: { phone_number: PHONE_NUMBER_ID },
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
      request_id: expect.stringMatching(REQUEST_ID),
    });
    expect(answer.headers?.['x-request-id']).toBe((answer.body as { request_id: string }).request_id);
    expect(state.contacts).toMatchObject([
      {
        provider: 'kirim',
        scope: PHONE_NUMBER_ID,
        phone: '+447700900123',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
      },
    ]);
    expect(readKirimCreate(response(answer.status, answer.body))).toEqual({
      kind: 'created',
      id: state.contacts[0]?.id,
    });
  });

  it('answers null for the optional fields left out', async () => {
    const { api } = emulator();
    expect((await api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' } }))).body).toMatchObject({
      data: { name: null, email: null, metadata: null },
    });
  });

  it.each([
    [{ phone_number: '07700 900123' }, 'invalid_phone_number', 'phone_number'],
    [{ phone_number: 447700900123 }, 'invalid_phone_number', 'phone_number'],
    [{ name: 'Ada' }, 'missing_required_field', 'phone_number'],
    [{ phone_number: '+447700900123', email: 'not-an-email' }, 'invalid_field_value', 'email'],
    [{ phone_number: '+447700900123', metadata: ['a'] }, 'invalid_field_value', 'metadata'],
    [{ phone_number: '+447700900123', name: 42 }, 'invalid_field_value', 'name'],
  ])('refuses %j with 400 %s', async (body, code, param) => {
    const { state, api } = emulator();
    const answer = await api(emulated('POST', CONTACTS, { body }));
    expect(answer).toMatchObject({ status: 400, body: ERROR_ENVELOPE });
    expect(answer.body).toMatchObject({ error: { type: 'invalid_request_error', code, param } });
    expect(state.contacts).toHaveLength(0);
    expect(readKirimCreate(response(answer.status, answer.body))).toMatchObject({
      kind: 'failed',
      httpStatus: 400,
      code,
    });
  });

  it('refuses a body that is not a JSON object', async () => {
    const { api } = emulator();
    expect(await api(emulated('POST', CONTACTS, { rawBody: 'phone_number=+447700900123' }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    expect(await api(emulated('POST', CONTACTS, { body: ['+447700900123'] }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
  });

  it('lists by exact phone, only in its own WhatsApp account, in the documented list shape', async () => {
    const { api } = emulator();
    const id = idOf(await api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' } })));
    await api(emulated('POST', CONTACTS, { body: { phone_number: '+4477009001234' } }));

    const found = await api(emulated('GET', CONTACTS, { query: 'phone=%2B447700900123' }));
    expect(found).toMatchObject({
      status: 200,
      body: { data: [{ id, phone_number: '+447700900123' }], has_more: false, next_cursor: null },
    });
    expect(found.body).not.toHaveProperty('object');
    const lookupContext = context();
    const lookup = kirimAdapter.lookup?.(lookupContext) as HttpRequest;
    expect(readKirimLookup(response(found.status, found.body), lookupContext, lookup)).toEqual({ kind: 'exists', id });

    const elsewhere = await api(emulated('GET', '/v1/106540352242999/contacts', { query: 'phone=%2B447700900123' }));
    expect(readKirimLookup(response(elsewhere.status, elsewhere.body), lookupContext, lookup)).toEqual({
      kind: 'not_found',
    });
    expect((await api(emulated('GET', CONTACTS, { query: 'phone=%2B447700900999' }))).body).toMatchObject({ data: [] });
  });

  it('pages with limit and opaque cursors bound to their filters', async () => {
    const { api } = emulator();
    for (const phone of ['+447700900121', '+447700900122', '+447700900123'])
      await api(emulated('POST', CONTACTS, { body: { phone_number: phone } }));
    const first = await api(emulated('GET', CONTACTS, { query: 'limit=2' }));
    const page = first.body as { data: unknown[]; has_more: boolean; next_cursor: string };
    expect(page).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    expect(page.data).toHaveLength(2);
    const second = await api(emulated('GET', CONTACTS, { query: `limit=2&cursor=${page.next_cursor}` }));
    expect(second.body).toMatchObject({
      data: [{ phone_number: '+447700900123' }],
      has_more: false,
      next_cursor: null,
    });
    const otherFilter = await api(
      emulated('GET', CONTACTS, { query: `limit=2&phone=%2B447700900123&cursor=${page.next_cursor}` }),
    );
    expect(otherFilter).toMatchObject({ status: 400, body: { error: { code: 'invalid_cursor' } } });
    expect(await api(emulated('GET', CONTACTS, { query: 'limit=101' }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_limit' } },
    });
  });

  it('refuses a lookup whose + was not URL-encoded', async () => {
    const { api } = emulator();
    expect(await api(emulated('GET', CONTACTS, { query: 'phone=+447700900123' }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_phone_number', param: 'phone' } },
    });
  });

  it('creates a second contact with the same phone, as Kirim documents no refusal', async () => {
    const { state, api } = emulator();
    await api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' } }));
    expect(
      (await api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123', name: 'Ada' } }))).status,
    ).toBe(201);
    expect(state.contacts).toHaveLength(2);
  });

  it('replays the first answer for the same Idempotency-Key and body, without creating again', async () => {
    const { state, api } = emulator();
    const headers = { 'idempotency-key': 'k1' };
    const first = await api(
      emulated('POST', CONTACTS, { body: { phone_number: '+447700900123', name: 'Ada' }, headers }),
    );
    // Kirim hashes canonical JSON: the same fields in another order are the same request.
    const replay = await api(
      emulated('POST', CONTACTS, { body: { name: 'Ada', phone_number: '+447700900123' }, headers }),
    );
    expect(first).toMatchObject({ status: 201, headers: { 'idempotent-replayed': 'false' } });
    expect(replay).toMatchObject({
      status: 201,
      body: first.body,
      headers: { 'idempotent-replayed': 'true', 'x-request-id': first.headers?.['x-request-id'] },
    });
    expect(state.contacts).toHaveLength(1);
  });

  it('answers 422 idempotency_key_reuse for the same key with another body, which reads as a failure naming it', async () => {
    const { state, api } = emulator();
    await api(
      emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' }, headers: { 'idempotency-key': 'k1' } }),
    );
    const reused = await api(
      emulated('POST', CONTACTS, { body: { phone_number: '+447700900999' }, headers: { 'idempotency-key': 'k1' } }),
    );
    expect(reused).toMatchObject({
      status: 422,
      body: { error: { type: 'invalid_request_error', code: 'idempotency_key_reuse' } },
    });
    expect(readKirimCreate(response(reused.status, reused.body))).toMatchObject({
      kind: 'failed',
      httpStatus: 422,
      code: 'idempotency_key_reuse',
    });
    expect(state.contacts).toHaveLength(1);
  });

  it('makes a same-key create wait for the first one still running, then replays its answer', async () => {
    const { state, api } = emulator();
    const request = emulated('POST', CONTACTS, {
      body: { phone_number: '+447700900123' },
      headers: { 'idempotency-key': 'k1' },
    });
    const first = await api({ ...request, heldMs: 150 });
    const started = Date.now();
    const second = await api(request);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(second).toMatchObject({ status: 201, body: first.body, headers: { 'idempotent-replayed': 'true' } });
    expect(state.contacts).toHaveLength(1);
  });

  it('answers 409 idempotency_in_progress when the first one runs past the wait, which reads as transient', async () => {
    const { state, api } = emulator();
    kirimSettings(state).inFlightWaitMs = 20;
    const request = emulated('POST', CONTACTS, {
      body: { phone_number: '+447700900123' },
      headers: { 'idempotency-key': 'k1' },
    });
    await api({ ...request, heldMs: 500 });
    const second = await api(request);
    expect(second).toMatchObject({
      status: 409,
      body: { error: { type: 'conflict', code: 'idempotency_in_progress' } },
    });
    expect(readKirimCreate(response(second.status, second.body))).toMatchObject({ kind: 'transient', httpStatus: 409 });
    expect(state.contacts).toHaveLength(1);
  });

  it('does not store a request refused before it ran, nor keep keys past a reset', async () => {
    const { state, api } = emulator();
    const headers = { 'idempotency-key': 'k1' };
    expect((await api(emulated('POST', CONTACTS, { body: { phone_number: 'bad' }, headers }))).status).toBe(400);
    expect((await api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' }, headers }))).status).toBe(
      201,
    );
    state.reset();
    const afterReset = await api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' }, headers }));
    expect(afterReset).toMatchObject({ status: 201, headers: { 'idempotent-replayed': 'false' } });
    expect(state.contacts).toHaveLength(1);
  });

  it('refuses an Idempotency-Key longer than 255 characters', async () => {
    const { state, api } = emulator();
    const answer = await api(
      emulated('POST', CONTACTS, {
        body: { phone_number: '+447700900123' },
        headers: { 'idempotency-key': 'k'.repeat(256) },
      }),
    );
    expect(answer).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_field_value', param: 'Idempotency-Key' } },
    });
    expect(state.contacts).toHaveLength(0);
  });

  it('answers 403 permission_error on phone-scoped calls for a restricted token, while its accounts still list', async () => {
    const { state, api } = emulator();
    kirimSettings(state).restrictedTokens.add('tok');
    for (const request of [
      emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' } }),
      emulated('GET', CONTACTS, { query: 'phone=%2B447700900123' }),
    ]) {
      expect(await api(request)).toMatchObject({
        status: 403,
        body: { error: { type: 'permission_error', code: 'phone_number_forbidden' } },
      });
    }
    expect((await api(emulated('GET', '/v1/accounts'))).status).toBe(200);
    expect(state.contacts).toHaveLength(0);
  });

  it('answers 404 resource_not_found for an unknown path or a phone_number_id that is no Meta id', async () => {
    const { api } = emulator();
    expect(await api(emulated('GET', '/v1/contacts'))).toMatchObject({ status: 404, body: ERROR_ENVELOPE });
    expect(await api(emulated('DELETE', CONTACTS))).toMatchObject({
      status: 404,
      body: { error: { type: 'not_found', code: 'resource_not_found' } },
    });
    const unknownAccount = await api(
      emulated('POST', '/v1/not-an-id/contacts', { body: { phone_number: '+447700900123' } }),
    );
    expect(unknownAccount).toMatchObject({
      status: 404,
      body: { error: { code: 'resource_not_found', param: 'phone_number_id' } },
    });
  });
});

describe('Function: deliverWithAdapter (Kirim adapter against the emulated API in-process)', () => {
  const BASE = 'http://emulator.test/kirim';

  /** An HttpClient that hands requests to the emulated API in-process; `drop` loses the answers of the calls it names. */
  function setup(tokens: string[] = ['tok'], drop: (request: HttpRequest, call: number) => boolean = () => false) {
    const { state, api } = emulator();
    const sent: HttpRequest[] = [];
    const http: HttpClient = {
      async request(request) {
        sent.push(request);
        const url = new URL(request.url);
        const rawBody = request.body ?? '';
        const answer = await api({
          method: request.method,
          path: url.pathname.slice('/kirim'.length),
          query: url.searchParams,
          headers: request.headers ?? {},
          rawBody,
          json: rawBody === '' ? undefined : (JSON.parse(rawBody) as unknown),
        });
        if (drop(request, sent.length))
          throw new HttpConnectionError('ECONNRESET', request.url, new Error('socket hang up'));
        return { status: answer.status, headers: answer.headers ?? {}, body: JSON.stringify(answer.body) };
      },
      connectionsOpened: () => ({}),
      close: () => undefined,
    };
    let reads = 0;
    const secrets = new SecretStore({
      ttlMs: 60_000,
      client: {
        send: async () => ({
          SecretString: JSON.stringify({
            token: tokens[Math.min(reads++, tokens.length - 1)],
            phoneNumberId: PHONE_NUMBER_ID,
          }),
        }),
      } as unknown as NonNullable<SecretStoreOptions['client']>,
    });
    const providerContext = {
      stage: 'test',
      secrets,
      http,
      baseUrls: { kirim: BASE },
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    };
    return { state, sent, providerContext };
  }

  it('creates the person, then finds them on the next event', async () => {
    const { state, sent, providerContext } = setup();
    const first = await deliverWithAdapter(kirimAdapter, contact(), target(), providerContext);
    expect(first).toEqual({
      account: 'kirim-main',
      provider: 'kirim',
      status: 'created',
      providerContactId: state.contacts[0]?.id,
    });

    const next = contact({ origin: { ...contact().origin, eventKey: 'form:default:sha256:def' } });
    const second = await deliverWithAdapter(kirimAdapter, next, target(), providerContext);
    expect(second).toEqual({
      account: 'kirim-main',
      provider: 'kirim',
      status: 'exists',
      providerContactId: state.contacts[0]?.id,
    });
    expect(sent.map((request) => request.method)).toEqual(['GET', 'POST', 'GET']);
    expect(state.contacts).toHaveLength(1);
  });

  it('creates once when the answer to the create is lost and the delivery is retried', async () => {
    const { state, providerContext } = setup(['tok'], (request, call) => request.method === 'POST' && call === 2);
    const outcome = await deliverWithAdapter(kirimAdapter, contact(), target(), providerContext);
    // Whether the engine's retry lands on the lookup or on the replayed create, it names the one contact.
    expect(outcome).toMatchObject({
      status: expect.stringMatching(/^(created|exists)$/),
      providerContactId: state.contacts[0]?.id,
    });
    expect(state.contacts).toHaveLength(1);
  });

  it('sends a re-built create with the same key, which Kirim replays instead of creating again', async () => {
    const { state, providerContext } = setup();
    const send = async () =>
      readKirimCreate(await providerContext.http.request(kirimAdapter.create(context(contact(), BASE))));
    const first = await send();
    const retried = await send();
    expect(first).toEqual({ kind: 'created', id: state.contacts[0]?.id });
    expect(retried).toEqual(first);
    expect(state.contacts).toHaveLength(1);
  });

  it('creates the same event anew after its body changed, rather than being refused for the key', async () => {
    const { state, providerContext } = setup();
    const send = async (person: Contact) =>
      readKirimCreate(await providerContext.http.request(kirimAdapter.create(context(person, BASE))));
    expect(await send(contact())).toMatchObject({ kind: 'created' });
    // The route's metadata changed between two attempts of one event (then the person was removed in Kirim).
    state.contacts.length = 0;
    expect(await send(contact({ attributes: { plan: 'pro' } }))).toMatchObject({ kind: 'created' });
  });

  it('re-reads a rotated token after a 401', async () => {
    const { state, providerContext } = setup(['old', 'tok']);
    expect(await deliverWithAdapter(kirimAdapter, contact(), target(), providerContext)).toMatchObject({
      status: 'created',
    });
    expect(state.contacts).toHaveLength(1);
  });

  it('skips without a call when there is no valid phone', async () => {
    const { sent, providerContext } = setup();
    const outcome = await deliverWithAdapter(kirimAdapter, contact({ phones: [] }), target(), providerContext);
    expect(outcome).toEqual({
      account: 'kirim-main',
      provider: 'kirim',
      status: 'skipped',
      reason: 'Kirim.chat needs a phone number and the contact has none',
    });
    expect(sent).toHaveLength(0);
  });
});

describe('Function: deliverWithAdapter (Kirim, against the emulator over real sockets)', () => {
  const STAGE = 'kirimtest';
  const SECRET = providerSecretName(STAGE, 'kirim-main');
  const emulator = useProviderEmulator({
    stage: STAGE,
    provider: 'kirim',
    secrets: { [SECRET]: { token: 'tok', phoneNumberId: PHONE_NUMBER_ID } },
    keys: ['tok'],
    responseTimeoutMs: 3000,
  });
  beforeEach(() => {
    const settings = kirimSettings(emulator.server.state);
    settings.inFlightWaitMs = 30_000;
    settings.restrictedTokens.clear();
  });

  const providerContext = (): ProviderContext => emulator.providerContext();
  const deliver = () => deliverWithAdapter(kirimAdapter, contact(), target(), providerContext());
  const calls = () =>
    emulator.server.state.requests
      .filter((request) => request.provider === 'kirim')
      .map((request) => [request.method, request.status]);
  const secretReads = () =>
    emulator.server.state.requests.filter((request) => request.provider === 'secretsmanager').length;

  it('ends two concurrent deliveries of one event with one contact, the second retrying past idempotency_in_progress', async () => {
    // Both lookups are answered (nobody yet) only after both were asked; the first create then runs
    // for 800 ms, longer than the wait Kirim gives a second request under the same key.
    kirimSettings(emulator.server.state).inFlightWaitMs = 100;
    emulator.server.state.faults.push(
      { provider: 'kirim', method: 'GET', delayMs: 200, times: 2 },
      { provider: 'kirim', method: 'POST', delayMs: 800, times: 1 },
    );

    const outcomes = await Promise.all([deliver(), deliver()]);

    const id = emulator.server.state.contacts[0]?.id;
    expect(emulator.server.state.contacts).toHaveLength(1);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['created', 'exists']);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ providerContactId: id });
    expect(calls()).toContainEqual(['POST', 409]);
  });

  it('fails a 403 permission_error for good, naming the cause, without reading the secret again', async () => {
    kirimSettings(emulator.server.state).restrictedTokens.add('tok');
    const outcome = await deliver();
    expect(outcome).toMatchObject({
      status: 'failed',
      httpStatus: 403,
      code: 'phone_number_forbidden',
      message: expect.stringContaining('plan limit'),
    });
    expect(secretReads()).toBe(1);
    expect(calls()).toEqual([['GET', 403]]);
    expect(emulator.server.state.contacts).toHaveLength(0);
  });

  it('is answered 422 idempotency_key_reuse when another body comes under a used key', async () => {
    const create = kirimAdapter.create(context(contact(), `${emulator.server.url}/kirim`));
    expect(readKirimCreate(await emulator.providerContext().http.request(create))).toMatchObject({ kind: 'created' });
    const reused = await emulator
      .providerContext()
      .http.request({ ...create, body: JSON.stringify({ ...JSON.parse(create.body ?? '{}'), name: 'Augusta' }) });
    expect(reused.status).toBe(422);
    expect(JSON.parse(reused.body)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'idempotency_key_reuse' },
    });
    expect(readKirimCreate(reused)).toMatchObject({ kind: 'failed', httpStatus: 422, code: 'idempotency_key_reuse' });
  });
});
