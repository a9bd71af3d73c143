import { describe, expect, it } from 'vitest';
import { useProviderEmulator } from '../../helpers/provider-emulator.js';
import type { Contact } from '../../../shared/contact.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute, type Route } from '../../../shared/config/routes.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../../shared/http.js';
import { providerSecretName, SecretStore, type SecretStoreOptions } from '../../../shared/secrets.js';
import { deliverWithAdapter } from '../../../shared/providers/engine.js';
import type { DeliveryTarget } from '../../../shared/providers/types.js';
import {
  CallbellCredentialsSchema,
  callbellAdapter,
  callbellErrorMessage,
  callbellSkipReason,
  readCallbellCreate,
  readCallbellLookup,
  toCallbellIdentifier,
  toCallbellRequest,
} from '../../../shared/providers/callbell.js';
import { callbellApi } from '../../../local/emulator/providers/callbell.js';
import type { EmulatedRequest } from '../../../local/emulator/http-kit.js';
import { EmulatorState } from '../../../local/emulator/state.js';

const TOKEN = 'test_gshuPaZoeEG6ovbc8M79w0QyM';

function contact(overrides: Partial<Contact> = {}): Contact {
  return {
    firstName: 'Ada',
    lastName: 'Lovelace',
    emails: ['ada@example.com'],
    phones: [{ e164: '+447700900123' }],
    rejectedPhones: [],
    tags: ['lead'],
    attributes: {},
    origin: { source: 'form', route: 'default', eventKey: 'evt-1', occurredAt: '2025-01-01T00:00:00Z' },
    ...overrides,
  };
}

function target(route: Partial<Route> = {}): DeliveryTarget {
  const config = parseRoutesConfig({
    accounts: { bell: { provider: 'callbell' } },
    sources: { form: { default: { deliverTo: ['bell'], tags: ['route-tag'], ...route } } },
  });
  return {
    route: findRoute(config, 'form', 'default') as ResolvedRoute,
    account: { name: 'bell', provider: 'callbell' },
  };
}

function response(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

/** The example response of https://docs.callbell.eu/api/reference/contacts_api/post_contacts. */
const DOC_EXAMPLE_RESPONSE = `{
  "contact": [
    {
      "uuid": "414a6d692bd645ed803f2e7ce360d4c8",
      "name": "John Doe",
      "phoneNumber": "123456789",
      "avatarUrl": null,
      "createdAt": "2020-11-13T21:08:53Z",
      "source": "whatsapp",
      "href": "https://dash.callbell.eu/contacts/414a6d692bd645ed803f2e7ce360d4c8",
      "conversationHref": "https://dash.callbell.eu/chat/f3670b13446b412796238b1cd78899f9",
      "tags": [],
      "assignedUser": null,
      "customFields": {}
    }
  ]
}`;

describe('Function: toCallbellIdentifier', () => {
  it('sends the E.164 digits without the plus, as the doc example does', () => {
    expect(toCallbellIdentifier('+447700900123')).toBe('447700900123');
  });
});

describe('Function: toCallbellRequest', () => {
  it('builds the documented body, without the email when the route names no custom field for it', () => {
    const body = toCallbellRequest(contact(), target());
    expect(body).toEqual({ identifier: '447700900123', source: 'whatsapp', name: 'Ada Lovelace' });
  });

  it('prefers a phone flagged as WhatsApp', () => {
    const body = toCallbellRequest(
      contact({ phones: [{ e164: '+14155550123' }, { e164: '+447700900123', whatsapp: true }] }),
      target(),
    );
    expect(body.identifier).toBe('447700900123');
  });

  it('puts the email into the configured custom field', () => {
    const body = toCallbellRequest(contact(), target({ callbell: { emailCustomField: 'Email' } }));
    expect(body.custom_fields).toEqual({ Email: 'ada@example.com' });
    expect(body).not.toHaveProperty('note');
  });

  it('sends no custom fields without an email', () => {
    const body = toCallbellRequest(contact({ emails: [] }), target({ callbell: { emailCustomField: 'Email' } }));
    expect(body).not.toHaveProperty('note');
    expect(body).not.toHaveProperty('custom_fields');
  });

  it('sends the route’s Callbell tags and assigned user, never the generic route or contact tags', () => {
    const body = toCallbellRequest(
      contact(),
      target({ callbell: { tags: ['Interested'], assignedUser: 'agent@shop.example' } }),
    );
    expect(body.tags).toEqual(['Interested']);
    expect(body.assigned_user).toBe('agent@shop.example');
    expect(toCallbellRequest(contact(), target())).not.toHaveProperty('tags');
  });

  it('names a person without a name by the phone, never by the email', () => {
    const nameless = contact({ firstName: undefined, lastName: undefined });
    expect(toCallbellRequest(nameless, target())).toEqual({
      identifier: '447700900123',
      source: 'whatsapp',
      name: '+447700900123',
    });
    expect(toCallbellRequest(contact({ lastName: undefined }), target()).name).toBe('Ada');
  });
});

describe('Function: callbellSkipReason', () => {
  it('lets a contact with a phone through', () => {
    expect(callbellSkipReason(contact())).toBeUndefined();
    expect(callbellAdapter.skipReason(contact(), target())).toBeUndefined();
  });

  it('skips a contact without a phone, even with an email', () => {
    expect(callbellSkipReason(contact({ phones: [] }))).toMatch(/Callbell needs a phone number/);
  });

  it('says how many phones were rejected and why, without the raw number', () => {
    const reason = callbellSkipReason(
      contact({
        phones: [],
        rejectedPhones: [
          { input: '0123 45', reason: 'phone number is too short (region GB)' },
          { input: '555-0199', reason: 'phone number is a national number and no country is known for it' },
        ],
      }),
    );
    expect(reason).toContain('2 phone numbers were rejected');
    expect(reason).toContain('is too short (region GB)');
    expect(reason).toContain('no country is known');
    expect(reason).not.toContain('0123 45');
    expect(reason).not.toContain('555-0199');
  });
});

describe('Object: callbellAdapter requests', () => {
  const context = {
    contact: contact(),
    target: target(),
    credentials: { token: TOKEN },
    baseUrl: 'https://api.callbell.eu',
  };

  const headers = { authorization: `Bearer ${TOKEN}` };

  it('creates with POST /v1/contacts and the bearer token', () => {
    const request = callbellAdapter.create(context);
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://api.callbell.eu/v1/contacts');
    expect(request.headers).toEqual({ ...headers, 'content-type': 'application/json' });
    expect(JSON.parse(request.body ?? '')).toMatchObject({ identifier: '447700900123', source: 'whatsapp' });
  });

  it('looks the person up by the same digits', () => {
    expect(callbellAdapter.lookup?.(context)).toEqual({
      method: 'GET',
      url: 'https://api.callbell.eu/v1/contacts/phone/447700900123',
      headers,
    });
  });

  it('checks its health with GET /v1/channels', () => {
    expect(callbellAdapter.healthCheck?.({ token: TOKEN }, 'https://api.callbell.eu')).toEqual({
      method: 'GET',
      url: 'https://api.callbell.eu/v1/channels',
      headers,
    });
  });

  it('defaults to the public API host and needs a non-empty token', () => {
    expect(callbellAdapter.defaultBaseUrl({ token: TOKEN })).toBe('https://api.callbell.eu');
    expect(CallbellCredentialsSchema.safeParse({ token: '' }).success).toBe(false);
    expect(CallbellCredentialsSchema.safeParse({ apiKey: TOKEN }).success).toBe(false);
  });
});

describe('Function: readCallbellCreate', () => {
  it('reads the doc’s example response as written', () => {
    expect(readCallbellCreate(response(200, DOC_EXAMPLE_RESPONSE))).toEqual({
      kind: 'created',
      id: '414a6d692bd645ed803f2e7ce360d4c8',
    });
  });

  it('reads a single contact object as well', () => {
    expect(readCallbellCreate(response(201, { contact: { uuid: 'abc' } }))).toEqual({ kind: 'created', id: 'abc' });
  });

  it('fails a 2xx without a contact', () => {
    expect(readCallbellCreate(response(200, { ok: true }))).toMatchObject({
      kind: 'failed',
      code: 'unexpected_response',
    });
    expect(readCallbellCreate(response(200, { contact: [] }))).toMatchObject({
      kind: 'failed',
      code: 'unexpected_response',
    });
  });

  it('classifies 401 and 403 as unauthorized', () => {
    expect(readCallbellCreate(response(401, { error: 'Unauthorized' }))).toEqual({
      kind: 'unauthorized',
      httpStatus: 401,
      message: 'Unauthorized',
    });
    expect(readCallbellCreate(response(403, ''))).toEqual({
      kind: 'unauthorized',
      httpStatus: 403,
      message: 'HTTP 403',
    });
  });

  it('fails a 422 naming the problem', () => {
    expect(readCallbellCreate(response(422, { error: 'Tag "VIP" does not exist' }))).toEqual({
      kind: 'failed',
      httpStatus: 422,
      message: 'Tag "VIP" does not exist',
    });
    expect(readCallbellCreate(response(422, { errors: { assigned_user: ['is not a user of this account'] } }))).toEqual(
      {
        kind: 'failed',
        httpStatus: 422,
        message: 'assigned_user: is not a user of this account',
      },
    );
    expect(
      readCallbellCreate(response(400, { message: 'Bad request', errors: ['custom_fields: unknown field "Email"'] })),
    ).toEqual({
      kind: 'failed',
      httpStatus: 400,
      message: 'Bad request; custom_fields: unknown field "Email"',
    });
  });

  it('reads a refused duplicate as exists', () => {
    expect(readCallbellCreate(response(422, { error: 'Contact already exists' }))).toEqual({ kind: 'exists' });
    expect(readCallbellCreate(response(409, { error: 'Conflict', contact: { uuid: 'abc' } }))).toEqual({
      kind: 'exists',
      id: 'abc',
    });
  });

  it('retries 429 after Retry-After and 5xx', () => {
    expect(readCallbellCreate(response(429, { error: 'Too many requests' }, { 'retry-after': '3' }))).toEqual({
      kind: 'transient',
      httpStatus: 429,
      message: 'Too many requests',
      retryAfterMs: 3000,
    });
    expect(readCallbellCreate(response(500, '<html>oops</html>'))).toEqual({
      kind: 'transient',
      httpStatus: 500,
      message: 'HTTP 500',
    });
    expect(readCallbellCreate(response(503, { error: 'Service unavailable' }))).toMatchObject({
      kind: 'transient',
      httpStatus: 503,
    });
  });
});

describe('Function: readCallbellLookup', () => {
  it('finds a contact object or a contact array', () => {
    expect(readCallbellLookup(response(200, { contact: { uuid: 'abc', name: 'Ada' } }))).toEqual({
      kind: 'exists',
      id: 'abc',
    });
    expect(readCallbellLookup(response(200, DOC_EXAMPLE_RESPONSE))).toEqual({
      kind: 'exists',
      id: '414a6d692bd645ed803f2e7ce360d4c8',
    });
  });

  it('reads 404 and an empty answer as not found', () => {
    expect(readCallbellLookup(response(404, { error: 'Contact not found' }))).toEqual({ kind: 'not_found' });
    expect(readCallbellLookup(response(200, { contact: null }))).toEqual({ kind: 'not_found' });
    expect(readCallbellLookup(response(200, { contact: [] }))).toEqual({ kind: 'not_found' });
  });

  it('classifies lookup errors like create errors', () => {
    expect(readCallbellLookup(response(401, { error: 'Unauthorized' }))).toMatchObject({
      kind: 'unauthorized',
      httpStatus: 401,
    });
    expect(readCallbellLookup(response(502, ''))).toMatchObject({ kind: 'transient', httpStatus: 502 });
    expect(readCallbellLookup(response(200, 'not json'))).toMatchObject({
      kind: 'failed',
      code: 'unexpected_response',
    });
  });
});

describe('Function: callbellErrorMessage', () => {
  it('falls back to the status when the body says nothing', () => {
    expect(callbellErrorMessage(response(418, {}))).toBe('HTTP 418');
    expect(callbellErrorMessage(response(418, { error: { message: 'teapot' } }))).toBe('teapot');
  });
});

function emulated(method: string, path: string, body?: unknown, token: string | null = TOKEN): EmulatedRequest {
  const rawBody = body === undefined ? '' : JSON.stringify(body);
  return {
    method,
    path,
    query: new URLSearchParams(),
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    rawBody,
    json: body,
  };
}

function emulator() {
  const state = new EmulatorState();
  state.credentials.callbell.add(TOKEN);
  return { state, api: callbellApi(state) };
}

const DOC_EXAMPLE_REQUEST = { source: 'whatsapp', identifier: '123456789', name: 'John Doe' };

describe('Function: callbellApi (emulated Callbell)', () => {
  it('refuses a missing or unknown token with 401', () => {
    const { api } = emulator();
    expect(api(emulated('POST', '/v1/contacts', DOC_EXAMPLE_REQUEST, null))).toMatchObject({
      status: 401,
      body: { error: 'Unauthorized' },
    });
    expect(api(emulated('POST', '/v1/contacts', DOC_EXAMPLE_REQUEST, 'wrong'))).toMatchObject({ status: 401 });
  });

  it('answers the doc’s example request with the doc’s example shape', () => {
    const { api, state } = emulator();
    const answer = api(emulated('POST', '/v1/contacts', DOC_EXAMPLE_REQUEST));
    expect(answer.status).toBe(200);
    const created = (answer.body as { contact: Array<Record<string, unknown>> }).contact[0];
    expect(created).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f]{32}$/),
      name: 'John Doe',
      phoneNumber: '123456789',
      avatarUrl: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      source: 'whatsapp',
      href: `https://dash.callbell.eu/contacts/${String(created?.['uuid'])}`,
      conversationHref: expect.stringMatching(/^https:\/\/dash\.callbell\.eu\/chat\/[0-9a-f]{32}$/),
      tags: [],
      assignedUser: null,
      customFields: {},
    });
    expect(state.contacts).toHaveLength(1);
    expect(state.contacts[0]).toMatchObject({
      provider: 'callbell',
      scope: TOKEN,
      phone: '+123456789',
      name: 'John Doe',
    });
    expect(readCallbellCreate(response(answer.status, answer.body))).toEqual({
      kind: 'created',
      id: created?.['uuid'],
    });
  });

  /** A text, an email and a checkbox field, as the create page's custom field table shows them. */
  const CUSTOM_FIELDS = {
    'Billing Address': 'Main Street 1',
    'Work Email': 'john@example.com',
    Features: ['Dark Mode'],
  };

  it('takes every optional parameter the create page lists', () => {
    const { api, state } = emulator();
    const answer = api(
      emulated('POST', '/v1/contacts', {
        ...DOC_EXAMPLE_REQUEST,
        tags: ['Call back'],
        custom_fields: CUSTOM_FIELDS,
        assigned_user: 'agent@shop.example',
        team_uuid: 'b1c2d3',
        channel_uuid: 'c1d2e3',
        bot_status: 'bot_end',
        note: 'Prefers calls after 5pm',
      }),
    );
    expect(answer.status).toBe(200);
    expect((answer.body as { contact: unknown[] }).contact[0]).toMatchObject({
      tags: ['Call back'],
      customFields: CUSTOM_FIELDS,
      assignedUser: 'agent@shop.example',
    });
    expect(state.contacts[0]).toMatchObject({ email: 'john@example.com', raw: { note: 'Prefers calls after 5pm' } });
  });

  it('takes an identifier with a plus or spaces and a source other than WhatsApp, as no page forbids them', () => {
    const { api, state } = emulator();
    const spaced = { ...DOC_EXAMPLE_REQUEST, identifier: '+44 7700 900123' };
    const telegram = { ...DOC_EXAMPLE_REQUEST, source: 'telegram', identifier: 'johndoe' };
    expect(api(emulated('POST', '/v1/contacts', spaced)).status).toBe(200);
    expect(api(emulated('POST', '/v1/contacts', telegram)).status).toBe(200);
    expect(state.contacts.map((created) => created.phone)).toEqual(['+447700900123', undefined]);
  });

  it.each([
    [{ source: 'whatsapp', name: 'John Doe' }, 'identifier'],
    [{ identifier: '123456789', name: 'John Doe' }, 'source'],
    [{ source: 'whatsapp', identifier: '123456789' }, 'name'],
    [{ ...DOC_EXAMPLE_REQUEST, name: ' ' }, 'name'],
    [{ ...DOC_EXAMPLE_REQUEST, tags: 'Call back' }, 'tags'],
    [{ ...DOC_EXAMPLE_REQUEST, custom_fields: { Age: 3 } }, 'custom_fields'],
    [{ ...DOC_EXAMPLE_REQUEST, assigned_user: 'agent' }, 'assigned_user'],
    [{ ...DOC_EXAMPLE_REQUEST, bot_status: 'paused' }, 'bot_status'],
    [{ ...DOC_EXAMPLE_REQUEST, note: ['a note'] }, 'note'],
  ])('refuses %j with 422 naming %s', (body, field) => {
    const { api, state } = emulator();
    const answer = api(emulated('POST', '/v1/contacts', body));
    expect(answer.status).toBe(422);
    expect((answer.body as { error: string }).error).toContain(field);
    expect(state.contacts).toHaveLength(0);
  });

  it('refuses a note longer than the documented 1000 characters', () => {
    const { api } = emulator();
    expect(api(emulated('POST', '/v1/contacts', { ...DOC_EXAMPLE_REQUEST, note: 'x'.repeat(1000) })).status).toBe(200);
    const tooLong = { ...DOC_EXAMPLE_REQUEST, identifier: '987654321', note: 'x'.repeat(1001) };
    const answer = api(emulated('POST', '/v1/contacts', tooLong));
    expect(answer).toMatchObject({ status: 422, body: { error: 'note must be a string of up to 1000 characters' } });
  });

  it.each(['email', 'phone_number', 'first_name'])('refuses the unlisted parameter %s with 422 naming it', (field) => {
    const { api, state } = emulator();
    const answer = api(emulated('POST', '/v1/contacts', { ...DOC_EXAMPLE_REQUEST, [field]: 'john@example.com' }));
    expect(answer).toMatchObject({ status: 422, body: { error: `${field} is not a parameter of POST /contacts` } });
    expect(readCallbellCreate(response(answer.status, answer.body))).toEqual({
      kind: 'failed',
      httpStatus: 422,
      message: `${field} is not a parameter of POST /contacts`,
    });
    expect(state.contacts).toHaveLength(0);
  });

  it('refuses a second contact for the same number, with or without the plus', () => {
    const { api, state } = emulator();
    expect(api(emulated('POST', '/v1/contacts', DOC_EXAMPLE_REQUEST)).status).toBe(200);
    const duplicate = api(emulated('POST', '/v1/contacts', { ...DOC_EXAMPLE_REQUEST, identifier: '+123456789' }));
    expect(duplicate).toMatchObject({ status: 422, body: { error: 'Contact already exists' } });
    expect(readCallbellCreate(response(duplicate.status, duplicate.body))).toEqual({ kind: 'exists' });
    expect(state.contacts).toHaveLength(1);
  });

  it('keeps accounts (tokens) apart', () => {
    const { api, state } = emulator();
    state.credentials.callbell.add('other-token');
    expect(api(emulated('POST', '/v1/contacts', DOC_EXAMPLE_REQUEST)).status).toBe(200);
    expect(api(emulated('POST', '/v1/contacts', DOC_EXAMPLE_REQUEST, 'other-token')).status).toBe(200);
    expect(api(emulated('GET', '/v1/contacts/phone/123456789', undefined, 'other-token')).status).toBe(200);
    expect(state.contacts).toHaveLength(2);
  });

  it('looks a contact up by phone: 200 with one contact, else 404', () => {
    const { api } = emulator();
    expect(api(emulated('GET', '/v1/contacts/phone/123456789'))).toEqual({
      status: 404,
      body: { error: 'Contact not found' },
      headers: {},
    });
    const created = api(emulated('POST', '/v1/contacts', { ...DOC_EXAMPLE_REQUEST, note: 'john@example.com' }));
    const uuid = (created.body as { contact: Array<{ uuid: string }> }).contact[0]?.uuid;
    const found = api(emulated('GET', '/v1/contacts/phone/123456789'));
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ contact: { uuid, phoneNumber: '123456789', name: 'John Doe' } });
    expect(api(emulated('GET', '/v1/contacts/phone/%2B123456789')).status).toBe(200);
    expect(readCallbellLookup(response(found.status, found.body))).toEqual({ kind: 'exists', id: uuid });
  });

  it('answers 404 for paths it does not serve', () => {
    const { api } = emulator();
    expect(api(emulated('GET', '/v1/contacts'))).toMatchObject({ status: 404 });
    expect(api(emulated('DELETE', '/v1/contacts/phone/123456789'))).toMatchObject({ status: 404 });
  });
});

/** The engine against the emulated API in-process: lookup, create, duplicates and a bad key, end to end. */
describe('Function: deliverWithAdapter (Callbell, emulated in-process)', () => {
  function inProcessHttp(state: EmulatorState): HttpClient & { sent: HttpRequest[] } {
    const api = callbellApi(state);
    const sent: HttpRequest[] = [];
    return {
      sent,
      async request(request) {
        sent.push(request);
        const url = new URL(request.url);
        const body = request.body === undefined ? undefined : (JSON.parse(request.body) as unknown);
        // The emulator server strips the provider prefix before calling the API.
        const answer = api({
          method: request.method,
          path: url.pathname.replace(/^\/callbell/, ''),
          query: url.searchParams,
          headers: request.headers ?? {},
          rawBody: request.body ?? '',
          json: body,
        });
        return {
          status: answer.status,
          headers: answer.headers ?? {},
          body: answer.body === undefined ? '' : JSON.stringify(answer.body),
        };
      },
      connectionsOpened: () => ({}),
      close: () => undefined,
    };
  }

  function secrets(token: string): SecretStore {
    const client = { send: async () => ({ SecretString: JSON.stringify({ token }) }) };
    return new SecretStore({ client: client as unknown as NonNullable<SecretStoreOptions['client']>, ttlMs: 60_000 });
  }

  function deliver(state: EmulatorState, token = TOKEN) {
    const http = inProcessHttp(state);
    const outcome = deliverWithAdapter(
      callbellAdapter,
      contact(),
      target({ callbell: { emailCustomField: 'Email' } }),
      {
        stage: 'test',
        secrets: secrets(token),
        http,
        baseUrls: { callbell: 'http://emulator/callbell' },
        retry: { maxAttempts: 1 },
      },
    );
    return { http, outcome };
  }

  it('creates once, then finds the person on the next delivery', async () => {
    const state = new EmulatorState();
    state.credentials.callbell.add(TOKEN);
    const first = deliver(state);
    const created = await first.outcome;
    expect(created).toMatchObject({ status: 'created', provider: 'callbell', account: 'bell' });
    expect(first.http.sent.map((request) => request.method)).toEqual(['GET', 'POST']);
    expect(state.contacts[0]).toMatchObject({ phone: '+447700900123', email: 'ada@example.com' });

    const second = await deliver(state).outcome;
    expect(second).toEqual({ ...created, status: 'exists' });
    expect(state.contacts).toHaveLength(1);
  });

  it('fails with a message naming the secret when the token is refused', async () => {
    const state = new EmulatorState();
    const outcome = await deliver(state, 'revoked').outcome;
    expect(outcome).toMatchObject({ status: 'failed', code: 'unauthorized', httpStatus: 401 });
    expect(outcome.status === 'failed' && outcome.message).toContain('contact-relay/test/provider/bell');
  });
});

describe('Function: deliverWithAdapter (Callbell, against the emulator over real sockets)', () => {
  const STAGE = 'cbtest';
  const SECRET = providerSecretName(STAGE, 'bell');
  const emulator = useProviderEmulator({
    stage: STAGE,
    provider: 'callbell',
    secrets: { [SECRET]: { token: TOKEN } },
    keys: [TOKEN],
  });

  const deliver = (route: Partial<Route> = {}, person = contact()) =>
    deliverWithAdapter(callbellAdapter, person, target(route), emulator.providerContext());
  const creates = () =>
    emulator.server.state.requests.filter((request) => request.provider === 'callbell' && request.method === 'POST');

  it('creates a contact with an email but no custom field for it without sending the email at all', async () => {
    const outcome = await deliver();
    const created = emulator.server.state.contacts[0];
    expect(outcome).toEqual({
      account: 'bell',
      provider: 'callbell',
      status: 'created',
      providerContactId: created?.id,
    });
    expect(creates().map((request) => [request.status, request.body])).toEqual([
      [200, { identifier: '447700900123', source: 'whatsapp', name: 'Ada Lovelace' }],
    ]);
    expect(JSON.stringify(emulator.server.state.requests)).not.toContain('ada@example.com');
    expect(created).toMatchObject({ phone: '+447700900123', name: 'Ada Lovelace' });
    expect(created).not.toHaveProperty('email');
  });

  it('puts the email into the custom field the route names, and nowhere else (not as the name)', async () => {
    const nameless = contact({ firstName: undefined, lastName: undefined });
    const outcome = await deliver({ callbell: { emailCustomField: 'Email' } }, nameless);
    expect(outcome).toMatchObject({ status: 'created' });
    expect(creates().map((request) => request.body)).toEqual([
      {
        identifier: '447700900123',
        source: 'whatsapp',
        name: '+447700900123',
        custom_fields: { Email: 'ada@example.com' },
      },
    ]);
    expect(emulator.server.state.contacts[0]).toMatchObject({
      email: 'ada@example.com',
      raw: { customFields: { Email: 'ada@example.com' } },
    });
    expect(emulator.server.state.contacts[0]?.raw).not.toHaveProperty('note');
  });

  it('sends the Accept header Callbell asks clients for (the HTTP client adds it)', async () => {
    await deliver();
    const callbell = emulator.server.state.requests.filter((request) => request.provider === 'callbell');
    expect(callbell.map((request) => [request.method, request.headers['accept']])).toEqual([
      ['GET', 'application/json'],
      ['POST', 'application/json'],
    ]);
  });

  it('answers an unlisted parameter with 422 naming it', async () => {
    const answer = await emulator.providerContext().http.request({
      method: 'POST',
      url: `${emulator.server.url}/callbell/v1/contacts`,
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ ...DOC_EXAMPLE_REQUEST, email: 'john@example.com' }),
    });
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.body)).toEqual({ error: 'email is not a parameter of POST /contacts' });
    expect(emulator.server.state.contacts).toHaveLength(0);
  });
});
