import { describe, expect, it } from 'vitest';
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
} from '../../../shared/providers/kirim.js';
import type { DeliveryTarget, RequestContext } from '../../../shared/providers/types.js';
import { SecretStore, type SecretStoreOptions } from '../../../shared/secrets.js';
import { kirimApi } from '../../emulator/providers/kirim.js';
import type { EmulatedRequest } from '../../emulator/http-kit.js';
import { EmulatorState } from '../../emulator/state.js';

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
    origin: { source: 'form', route: 'default', eventKey: 'form:default:sha256:abc', occurredAt: '2025-01-01T00:00:00.000Z' },
    ...overrides,
  };
}

function target(account = 'kirim-main', route = 'default'): DeliveryTarget {
  return {
    route: { deliverTo: [account], whatsappNumbers: false, tags: [], source: 'form', name: route, accounts: [{ name: account, provider: 'kirim' }] },
    account: { name: account, provider: 'kirim' },
  };
}

function context(person: Contact = contact(), baseUrl = 'https://api.kirim.chat'): RequestContext<{ token: string; phoneNumberId: string }> {
  return { contact: person, target: target(), credentials: { token: 'tok', phoneNumberId: PHONE_NUMBER_ID }, baseUrl };
}

function response(status: number, body: unknown, headers: HttpResponse['headers'] = {}): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

describe('Object: KirimCredentialsSchema', () => {
  it('accepts a token and a phone_number_id', () => {
    expect(KirimCredentialsSchema.safeParse({ token: 'tok', phoneNumberId: PHONE_NUMBER_ID }).success).toBe(true);
  });

  it.each([{}, { token: 'tok' }, { phoneNumberId: PHONE_NUMBER_ID }, { token: '', phoneNumberId: PHONE_NUMBER_ID }, { token: 'tok', phoneNumberId: '' }])('refuses %j', (secret) => {
    expect(KirimCredentialsSchema.safeParse(secret).success).toBe(false);
  });
});

describe('Function: toKirimRequest', () => {
  it('sends the phone, the full name, the first email and string metadata', () => {
    const person = contact({ emails: ['ada@example.com', 'other@example.com'], attributes: { plan: 'pro' }, tags: ['lead', 'vip'] });
    expect(toKirimRequest(person, target())).toEqual({
      phone_number: '+447700900123',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      metadata: { plan: 'pro', tags: 'lead, vip', origin_source: 'form', origin_route: 'default' },
    });
  });

  it('leaves out the name and email the contact does not have', () => {
    const body = toKirimRequest(contact({ firstName: undefined, lastName: undefined, emails: [] }), target());
    expect(body).toEqual({ phone_number: '+447700900123', metadata: { origin_source: 'form', origin_route: 'default' } });
    expect(Object.keys(body)).not.toContain('name');
  });

  it("keeps the contact's own attributes named like ours", () => {
    const body = toKirimRequest(contact({ attributes: { source: 'newsletter', tags: 'from-form' }, tags: ['lead'] }), target());
    expect(body.metadata).toEqual({ source: 'newsletter', tags: 'from-form', origin_source: 'form', origin_route: 'default' });
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
  it('is the same for the same event and account, so a retried job re-sends it', () => {
    const key = kirimIdempotencyKey(contact(), target());
    expect(key).toMatch(/^contact-relay-[0-9a-f]{64}$/);
    expect(kirimIdempotencyKey(contact({ firstName: 'Changed' }), target())).toBe(key);
  });

  it('differs per event, account and route', () => {
    const key = kirimIdempotencyKey(contact(), target());
    const otherEvent = contact({ origin: { ...contact().origin, eventKey: 'form:default:sha256:def' } });
    expect(kirimIdempotencyKey(otherEvent, target())).not.toBe(key);
    expect(kirimIdempotencyKey(contact(), target('kirim-other'))).not.toBe(key);
    const otherRoute = contact({ origin: { ...contact().origin, route: 'landing' } });
    expect(kirimIdempotencyKey(otherRoute, target('kirim-main', 'landing'))).not.toBe(key);
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
    expect(kirimSkipReason(contact({ phones: [], rejectedPhones: [{ input: 'abc', reason: 'phone number is not a phone number' }] }))).toMatch(/1 phone number was rejected/);
  });
});

describe('Object: kirimAdapter', () => {
  it('creates at /v1/{phone_number_id}/contacts with the bearer token, JSON and an idempotency key', () => {
    const request = kirimAdapter.create(context());
    expect(request).toEqual({
      method: 'POST',
      url: `https://api.kirim.chat/v1/${PHONE_NUMBER_ID}/contacts`,
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json', 'idempotency-key': kirimIdempotencyKey(contact(), target()) },
      body: JSON.stringify(toKirimRequest(contact(), target())),
    });
    expect(kirimAdapter.create(context()).headers?.['idempotency-key']).toBe(request.headers?.['idempotency-key']);
  });

  it('uses the public host by default and the override when given', () => {
    expect(kirimAdapter.defaultBaseUrl({ token: 'tok', phoneNumberId: PHONE_NUMBER_ID })).toBe('https://api.kirim.chat');
    expect(kirimAdapter.create(context(contact(), 'http://127.0.0.1:4010/kirim')).url).toBe(`http://127.0.0.1:4010/kirim/v1/${PHONE_NUMBER_ID}/contacts`);
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

/** The seed's examples, as written (its error examples all carry the same body, whatever the status). */
const SEED_CREATED = '{ "data": { "id": "ctc_01HXYZABCDEFGHJKMNPQRSTVWX", "object": "contact" }}';
const SEED_ERROR = '{ "error": { "type": "invalid_request_error", "code": "invalid_phone_number", "request_id": "req_01HXYZABCDEFGHJKMNPQRSTVWX" }}';

describe('Function: readKirimCreate', () => {
  it("reads the seed's 201 example as written", () => {
    expect(readKirimCreate(response(201, SEED_CREATED))).toEqual({ kind: 'created', id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX' });
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
    expect(readKirimCreate(response(201, { ok: true }))).toMatchObject({ kind: 'failed', httpStatus: 201, code: 'unexpected_response' });
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
  ])("reads the seed's error example with HTTP %i", (status, expected) => {
    const answer = readKirimCreate(response(status, SEED_ERROR));
    expect(answer).toMatchObject(expected);
    expect(answer).toHaveProperty('message', expect.stringContaining('invalid_phone_number (invalid_request_error); request_id req_01HXYZABCDEFGHJKMNPQRSTVWX'));
  });

  it("uses Kirim's message and param when given", () => {
    const body = { error: { type: 'invalid_request_error', code: 'invalid_email', message: 'email is invalid', param: 'email', request_id: 'req_1' } };
    expect(readKirimCreate(response(400, body))).toEqual({ kind: 'failed', httpStatus: 400, code: 'invalid_email', message: 'email is invalid; param email; request_id req_1' });
  });

  it('treats 403 as unauthorized, so the engine re-reads a rotated key', () => {
    expect(readKirimCreate(response(403, { error: { type: 'authentication_error', code: 'forbidden', message: 'no access', request_id: 'req_1' } }))).toMatchObject({
      kind: 'unauthorized',
      httpStatus: 403,
    });
  });

  it('points at the phoneNumberId on 404', () => {
    const answer = readKirimCreate(response(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such account', request_id: 'req_1' } }));
    expect(answer).toMatchObject({ kind: 'failed', code: 'resource_missing', message: expect.stringContaining('phoneNumberId') });
  });

  it.each(['contact_already_exists', 'duplicate_contact'])('reads a 409/422 %s as an existing contact', (code) => {
    for (const status of [409, 422]) {
      expect(readKirimCreate(response(status, { error: { type: 'invalid_request_error', code, message: 'exists', request_id: 'req_1' } }))).toEqual({ kind: 'exists' });
    }
  });

  it('fails a reused idempotency key with its code', () => {
    const body = { error: { type: 'invalid_request_error', code: 'idempotency_key_reused', message: 'Keys can only be reused with the same parameters', request_id: 'req_1' } };
    expect(readKirimCreate(response(422, body))).toMatchObject({ kind: 'failed', httpStatus: 422, code: 'idempotency_key_reused' });
  });

  it('retries while another request with the same key is still running', () => {
    expect(readKirimCreate(response(409, { error: { type: 'invalid_request_error', code: 'idempotency_key_in_use', request_id: 'req_1' } }))).toMatchObject({ kind: 'transient', httpStatus: 409 });
  });

  it('waits as long as Retry-After says on 429', () => {
    const body = { error: { type: 'rate_limit_error', code: 'rate_limited', message: 'Too many requests', request_id: 'req_1' } };
    expect(readKirimCreate(response(429, body, { 'retry-after': '2', 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0' }))).toEqual({
      kind: 'transient',
      httpStatus: 429,
      message: 'Too many requests; request_id req_1',
      retryAfterMs: 2000,
    });
  });

  it('falls back on X-RateLimit-Reset when there is no Retry-After', () => {
    expect(readKirimCreate(response(429, SEED_ERROR, { 'x-ratelimit-reset': '5' }))).toMatchObject({ kind: 'transient', retryAfterMs: 5000 });
  });

  it.each([500, 502, 503, 504])('retries HTTP %i, even without the envelope', (status) => {
    expect(readKirimCreate(response(status, '<html>Bad gateway</html>'))).toEqual({ kind: 'transient', httpStatus: status, message: `HTTP ${status}` });
  });

  it('reads a gateway error body that is not the envelope', () => {
    expect(readKirimCreate(response(400, { message: 'Bad Request' }))).toEqual({ kind: 'failed', httpStatus: 400, message: 'Bad Request' });
  });
});

describe('Function: readKirimLookup', () => {
  it('finds the contact in the {data: [...]} list', () => {
    const body = { object: 'list', data: [{ id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX', object: 'contact', phone_number: '+447700900123' }], has_more: false };
    expect(readKirimLookup(response(200, body))).toEqual({ kind: 'exists', id: 'ctc_01HXYZABCDEFGHJKMNPQRSTVWX' });
  });

  it('reads an empty list as nobody', () => {
    expect(readKirimLookup(response(200, { data: [] }))).toEqual({ kind: 'not_found' });
  });

  it('accepts a bare array, {contacts: [...]} and a single {data: {...}}', () => {
    expect(readKirimLookup(response(200, [{ id: 'ctc_A' }]))).toEqual({ kind: 'exists', id: 'ctc_A' });
    expect(readKirimLookup(response(200, { contacts: [{ id: 'ctc_B' }] }))).toEqual({ kind: 'exists', id: 'ctc_B' });
    expect(readKirimLookup(response(200, { data: { id: 'ctc_C', object: 'contact' } }))).toEqual({ kind: 'exists', id: 'ctc_C' });
    expect(readKirimLookup(response(200, []))).toEqual({ kind: 'not_found' });
  });

  it('fails an answer that is no list', () => {
    expect(readKirimLookup(response(200, { data: { contacts: [] } }))).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
    expect(readKirimLookup(response(200, 'nope'))).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
  });

  it.each([400, 404, 405])('lets the create call decide when the lookup answers %i', (status) => {
    expect(readKirimLookup(response(status, SEED_ERROR))).toEqual({ kind: 'not_found' });
  });

  it('classifies auth, rate-limit and server errors like the create call', () => {
    expect(readKirimLookup(response(401, SEED_ERROR))).toMatchObject({ kind: 'unauthorized', httpStatus: 401 });
    expect(readKirimLookup(response(429, SEED_ERROR, { 'retry-after': '1' }))).toMatchObject({ kind: 'transient', retryAfterMs: 1000 });
    expect(readKirimLookup(response(503, ''))).toMatchObject({ kind: 'transient', httpStatus: 503 });
  });
});

function emulated(method: string, path: string, options: { token?: string | null; body?: unknown; rawBody?: string; query?: string; headers?: Record<string, string> } = {}): EmulatedRequest {
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
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json', ...options.headers },
    rawBody,
    json,
  };
}

function emulator() {
  const state = new EmulatorState();
  state.credentials.kirim.add('tok');
  return { state, api: kirimApi(state) };
}

const CONTACTS = `/v1/${PHONE_NUMBER_ID}/contacts`;
const ERROR_ENVELOPE = { error: { type: expect.any(String), code: expect.any(String), message: expect.any(String), request_id: expect.stringMatching(/^req_[0-9A-HJKMNP-TV-Z]{26}$/) } };

describe('Function: kirimApi', () => {
  it('answers 401 missing_api_key without a token and invalid_api_key with a wrong one', () => {
    const { api } = emulator();
    const missing = api(emulated('POST', CONTACTS, { token: null, body: { phone_number: '+447700900123' } }));
    expect(missing).toMatchObject({ status: 401, body: ERROR_ENVELOPE });
    expect(missing.body).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    const wrong = api(emulated('POST', CONTACTS, { token: 'nope', body: { phone_number: '+447700900123' } }));
    expect(wrong).toMatchObject({ status: 401, body: { error: { type: 'authentication_error', code: 'invalid_api_key' } } });
    expect(api(emulated('POST', CONTACTS, { headers: { authorization: 'tok' }, body: { phone_number: '+447700900123' } })).status).toBe(401);
  });

  it('creates a contact: 201 with the documented shape', () => {
    const { state, api } = emulator();
    const answer = api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123', name: 'Ada Lovelace', email: 'ada@example.com', metadata: { plan: 'pro' } } }));
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
      request_id: expect.stringMatching(/^req_[0-9A-HJKMNP-TV-Z]{26}$/),
    });
    expect(state.contacts).toMatchObject([{ provider: 'kirim', scope: PHONE_NUMBER_ID, phone: '+447700900123', name: 'Ada Lovelace', email: 'ada@example.com' }]);
    expect(readKirimCreate(response(answer.status, answer.body))).toEqual({ kind: 'created', id: state.contacts[0]?.id });
  });

  it('answers null for the optional fields left out', () => {
    const { api } = emulator();
    expect(api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' } })).body).toMatchObject({ data: { name: null, email: null, metadata: null } });
  });

  it.each([
    [{ phone_number: '07700 900123' }, 'invalid_phone_number', 'phone_number'],
    [{ phone_number: 447700900123 }, 'invalid_phone_number', 'phone_number'],
    [{ name: 'Ada' }, 'missing_required_param', 'phone_number'],
    [{ phone_number: '+447700900123', email: 'not-an-email' }, 'invalid_email', 'email'],
    [{ phone_number: '+447700900123', metadata: ['a'] }, 'invalid_metadata', 'metadata'],
    [{ phone_number: '+447700900123', name: 42 }, 'invalid_param', 'name'],
  ])('refuses %j with 400 %s', (body, code, param) => {
    const { state, api } = emulator();
    const answer = api(emulated('POST', CONTACTS, { body }));
    expect(answer).toMatchObject({ status: 400, body: ERROR_ENVELOPE });
    expect(answer.body).toMatchObject({ error: { type: 'invalid_request_error', code, param } });
    expect(state.contacts).toHaveLength(0);
    expect(readKirimCreate(response(answer.status, answer.body))).toMatchObject({ kind: 'failed', httpStatus: 400, code });
  });

  it('refuses a body that is not a JSON object', () => {
    const { api } = emulator();
    expect(api(emulated('POST', CONTACTS, { rawBody: 'phone_number=+447700900123' }))).toMatchObject({ status: 400, body: { error: { code: 'invalid_request_body' } } });
    expect(api(emulated('POST', CONTACTS, { body: ['+447700900123'] }))).toMatchObject({ status: 400, body: { error: { code: 'invalid_request_body' } } });
  });

  it('finds a created contact by phone, only in its own WhatsApp account', () => {
    const { api } = emulator();
    const created = api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' } }));
    const id = (created.body as { data: { id: string } }).data.id;

    const found = api(emulated('GET', CONTACTS, { query: 'phone=%2B447700900123' }));
    expect(found).toMatchObject({ status: 200, body: { object: 'list', data: [{ id, phone_number: '+447700900123' }], has_more: false } });
    expect(readKirimLookup(response(found.status, found.body))).toEqual({ kind: 'exists', id });

    const elsewhere = api(emulated('GET', '/v1/999/contacts', { query: 'phone=%2B447700900123' }));
    expect(readKirimLookup(response(elsewhere.status, elsewhere.body))).toEqual({ kind: 'not_found' });
    const otherPhone = api(emulated('GET', CONTACTS, { query: 'phone=%2B447700900999' }));
    expect(otherPhone.body).toMatchObject({ data: [] });
  });

  it('refuses a lookup whose + was not URL-encoded', () => {
    const { api } = emulator();
    expect(api(emulated('GET', CONTACTS, { query: 'phone=+447700900123' }))).toMatchObject({ status: 400, body: { error: { code: 'invalid_phone_number', param: 'phone' } } });
  });

  it('answers 409 contact_already_exists for a phone already in the account (our choice), which reads as exists', () => {
    const { state, api } = emulator();
    api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' } }));
    const again = api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123', name: 'Ada' } }));
    expect(again).toMatchObject({ status: 409, body: { error: { type: 'invalid_request_error', code: 'contact_already_exists', param: 'phone_number' } } });
    expect(readKirimCreate(response(again.status, again.body))).toEqual({ kind: 'exists' });
    expect(api(emulated('POST', '/v1/999/contacts', { body: { phone_number: '+447700900123' } })).status).toBe(201);
    expect(state.contacts).toHaveLength(2);
  });

  it('replays the first answer for the same Idempotency-Key and body, without creating again', () => {
    const { state, api } = emulator();
    const request = emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' }, headers: { 'idempotency-key': 'k1' } });
    const first = api(request);
    const replay = api(request);
    expect(first.status).toBe(201);
    expect(replay).toMatchObject({ status: 201, body: first.body, headers: { 'idempotent-replayed': 'true' } });
    expect(state.contacts).toHaveLength(1);
  });

  it('answers 422 idempotency_key_reused for the same key with another body', () => {
    const { state, api } = emulator();
    api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' }, headers: { 'idempotency-key': 'k1' } }));
    const reused = api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900999' }, headers: { 'idempotency-key': 'k1' } }));
    expect(reused).toMatchObject({ status: 422, body: { error: { type: 'invalid_request_error', code: 'idempotency_key_reused' } } });
    expect(readKirimCreate(response(reused.status, reused.body))).toMatchObject({ kind: 'failed', httpStatus: 422, code: 'idempotency_key_reused' });
    expect(state.contacts).toHaveLength(1);
  });

  it('does not store a request refused before it ran, nor keep keys past a reset', () => {
    const { state, api } = emulator();
    const headers = { 'idempotency-key': 'k1' };
    expect(api(emulated('POST', CONTACTS, { body: { phone_number: 'bad' }, headers })).status).toBe(400);
    expect(api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' }, headers })).status).toBe(201);
    state.reset();
    const afterReset = api(emulated('POST', CONTACTS, { body: { phone_number: '+447700900123' }, headers }));
    expect(afterReset.status).toBe(201);
    expect(afterReset.headers).not.toHaveProperty('idempotent-replayed');
    expect(state.contacts).toHaveLength(1);
  });

  it('answers 404 in the envelope for an unknown path or a phone_number_id that is no Meta id', () => {
    const { api } = emulator();
    expect(api(emulated('GET', '/v1/contacts'))).toMatchObject({ status: 404, body: ERROR_ENVELOPE });
    expect(api(emulated('DELETE', CONTACTS))).toMatchObject({ status: 404, body: { error: { code: 'resource_missing' } } });
    const unknownAccount = api(emulated('POST', '/v1/not-an-id/contacts', { body: { phone_number: '+447700900123' } }));
    expect(unknownAccount).toMatchObject({ status: 404, body: { error: { code: 'resource_missing', param: 'phone_number_id' } } });
  });
});

describe('Function: deliverWithAdapter (Kirim adapter against the emulated API)', () => {
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
        const answer = api({
          method: request.method,
          path: url.pathname.slice('/kirim'.length),
          query: url.searchParams,
          headers: request.headers ?? {},
          rawBody,
          json: rawBody === '' ? undefined : (JSON.parse(rawBody) as unknown),
        });
        if (drop(request, sent.length)) throw new HttpConnectionError('ECONNRESET', request.url, new Error('socket hang up'));
        return { status: answer.status, headers: answer.headers ?? {}, body: JSON.stringify(answer.body) };
      },
      connectionsOpened: () => ({}),
      close: () => undefined,
    };
    let reads = 0;
    const secrets = new SecretStore({
      ttlMs: 60_000,
      client: {
        send: async () => ({ SecretString: JSON.stringify({ token: tokens[Math.min(reads++, tokens.length - 1)], phoneNumberId: PHONE_NUMBER_ID }) }),
      } as unknown as NonNullable<SecretStoreOptions['client']>,
    });
    const providerContext = { stage: 'test', secrets, http, baseUrls: { kirim: BASE }, retry: { baseDelayMs: 1, maxDelayMs: 1 } };
    return { state, sent, providerContext };
  }

  it('creates the person, then finds them on the next event', async () => {
    const { state, sent, providerContext } = setup();
    const first = await deliverWithAdapter(kirimAdapter, contact(), target(), providerContext);
    expect(first).toEqual({ account: 'kirim-main', provider: 'kirim', status: 'created', providerContactId: state.contacts[0]?.id });

    const next = contact({ origin: { ...contact().origin, eventKey: 'form:default:sha256:def' } });
    const second = await deliverWithAdapter(kirimAdapter, next, target(), providerContext);
    expect(second).toEqual({ account: 'kirim-main', provider: 'kirim', status: 'exists', providerContactId: state.contacts[0]?.id });
    expect(sent.map((request) => request.method)).toEqual(['GET', 'POST', 'GET']);
    expect(state.contacts).toHaveLength(1);
  });

  it('creates once when the answer to the create is lost and the delivery is retried', async () => {
    const { state, sent, providerContext } = setup(['tok'], (request, call) => request.method === 'POST' && call === 2);
    const outcome = await deliverWithAdapter(kirimAdapter, contact(), target(), providerContext);
    // Whether the engine's retry lands on the lookup or on the replayed create, it names the one contact.
    expect(outcome).toMatchObject({ status: expect.stringMatching(/^(created|exists)$/), providerContactId: state.contacts[0]?.id });
    expect(state.contacts).toHaveLength(1);
  });

  it('sends a re-built create with the same key, which Kirim replays instead of creating again', async () => {
    const { state, providerContext } = setup();
    const send = async () => {
      const request = kirimAdapter.create(context(contact(), BASE));
      return readKirimCreate(await providerContext.http.request(request));
    };
    const first = await send();
    const retried = await send();
    expect(first).toEqual({ kind: 'created', id: state.contacts[0]?.id });
    expect(retried).toEqual(first);
    expect(state.contacts).toHaveLength(1);
  });

  it('re-reads a rotated token after a 401', async () => {
    const { state, providerContext } = setup(['old', 'tok']);
    expect(await deliverWithAdapter(kirimAdapter, contact(), target(), providerContext)).toMatchObject({ status: 'created' });
    expect(state.contacts).toHaveLength(1);
  });

  it('skips without a call when there is no valid phone', async () => {
    const { sent, providerContext } = setup();
    const outcome = await deliverWithAdapter(kirimAdapter, contact({ phones: [] }), target(), providerContext);
    expect(outcome).toEqual({ account: 'kirim-main', provider: 'kirim', status: 'skipped', reason: 'Kirim.chat needs a phone number and the contact has none' });
    expect(sent).toHaveLength(0);
  });
});
