import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { useProviderEmulator } from '../../helpers/provider-emulator.js';
import type { Contact } from '../../../shared/contact.js';
import type { HttpResponse } from '../../../shared/http.js';
import {
  ChatwootCredentialsSchema,
  chatwootAdapter,
  chatwootIdentifier,
  chatwootSkipReason,
  isChatwootDuplicate,
  readChatwootCreate,
  toChatwootRequest,
  type ChatwootCredentials,
} from '../../../shared/providers/chatwoot.js';
import { deliverWithAdapter } from '../../../shared/providers/engine.js';
import type { DeliveryTarget, ProviderContext } from '../../../shared/providers/types.js';
import { chatwootApi, setChatwootInboxes, type ChatwootInbox } from '../../../local/emulator/providers/chatwoot.js';
import type { EmulatedRequest, EmulatedResponse } from '../../../local/emulator/http-kit.js';
import { EmulatorState } from '../../../local/emulator/state.js';
import {
  CHATWOOT_CONTRACT_DIR,
  CHATWOOT_PAYLOAD_KEYS,
  readChatwootContract,
  validateChatwootCreatePayload,
} from '../../helpers/chatwoot-contract.js';

const validateCreatePayload = validateChatwootCreatePayload;
const PAYLOAD_KEYS = CHATWOOT_PAYLOAD_KEYS;

const TOKEN = 'cw-token-1234';
const CREDENTIALS: ChatwootCredentials = {
  baseUrl: 'https://online.99digital.co.il',
  accountId: 7,
  inboxId: 3,
  accessToken: TOKEN,
};

function contact(overrides: Partial<Contact> = {}): Contact {
  return {
    firstName: 'Ada',
    lastName: 'Lovelace',
    emails: ['ada@example.com'],
    phones: [{ e164: '+972541234567' }],
    rejectedPhones: [],
    tags: [],
    attributes: {},
    origin: {
      source: 'form',
      route: 'default',
      eventKey: 'form:default:sha256:abc',
      occurredAt: '2025-01-01T00:00:00.000Z',
      personKey: 'ada@example.com',
    },
    ...overrides,
  };
}

function target(whatsappNumbers = false): DeliveryTarget {
  return {
    route: {
      deliverTo: ['digital99'],
      whatsappNumbers,
      tags: [],
      source: 'form',
      name: 'default',
      accounts: [{ name: 'digital99', provider: 'chatwoot' }],
    },
    account: { name: 'digital99', provider: 'chatwoot' },
  };
}

function response(status: number, body: unknown, headers: HttpResponse['headers'] = {}): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

function emulatorRequest(
  method: string,
  path: string,
  body?: unknown,
  headers: EmulatedRequest['headers'] = { api_access_token: TOKEN },
  query = '',
): EmulatedRequest {
  const rawBody = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  let parsed: unknown;
  try {
    parsed = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    parsed = undefined;
  }
  return { method, path, query: new URLSearchParams(query), headers, rawBody, json: parsed };
}

function emulator(inboxes?: ChatwootInbox[]) {
  const state = new EmulatorState();
  state.credentials.chatwoot.add(TOKEN);
  setChatwootInboxes(state, inboxes);
  const api = chatwootApi(state);
  const create = (body: unknown, account = 7) =>
    api(emulatorRequest('POST', `/api/v1/accounts/${account}/contacts`, body));
  return { state, api, create };
}

/** What the emulator sends, as the adapter's HTTP layer would hand it over. */
const asHttp = (answer: EmulatedResponse): HttpResponse =>
  response(answer.status, answer.body ?? '', answer.headers ?? {});

describe('Object: ChatwootCredentialsSchema', () => {
  it('accepts the documented secret', () => {
    expect(ChatwootCredentialsSchema.parse(CREDENTIALS)).toEqual(CREDENTIALS);
  });

  it('reads quoted ids as numbers and allows http for a local or self-hosted Chatwoot', () => {
    expect(
      ChatwootCredentialsSchema.parse({
        baseUrl: 'http://127.0.0.1:4010/chatwoot',
        accountId: '12',
        inboxId: '4',
        accessToken: 't',
      }),
    ).toEqual({
      baseUrl: 'http://127.0.0.1:4010/chatwoot',
      accountId: 12,
      inboxId: 4,
      accessToken: 't',
    });
  });

  it.each([
    ['no base URL', { accountId: 1, inboxId: 1, accessToken: 't' }, 'baseUrl'],
    ['a non-http base URL', { ...CREDENTIALS, baseUrl: 'ftp://online.99digital.co.il' }, 'baseUrl'],
    [
      'the dashboard URL as base',
      { ...CREDENTIALS, baseUrl: 'https://online.99digital.co.il/app/accounts/7/dashboard' },
      'baseUrl',
    ],
    ['the API URL as base', { ...CREDENTIALS, baseUrl: 'https://online.99digital.co.il/api/v1' }, 'baseUrl'],
    ['account 0', { ...CREDENTIALS, accountId: 0 }, 'accountId'],
    ['a fractional inbox', { ...CREDENTIALS, inboxId: 1.5 }, 'inboxId'],
    ['a non-numeric account', { ...CREDENTIALS, accountId: 'seven' }, 'accountId'],
    ['an empty token', { ...CREDENTIALS, accessToken: '' }, 'accessToken'],
  ])('refuses %s, naming the field', (_label, secret, field) => {
    const parsed = ChatwootCredentialsSchema.safeParse(secret);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path[0])).toContain(field);
  });
});

describe('Function: chatwootIdentifier', () => {
  it('namespaces the source person key by source', () => {
    const shopify = contact({
      origin: {
        source: 'shopify',
        route: 'default',
        eventKey: 'e',
        occurredAt: 'now',
        personKey: 'gid://shopify/Customer/7590245105983',
      },
    });
    expect(chatwootIdentifier(shopify)).toBe('shopify:gid://shopify/Customer/7590245105983');
    expect(chatwootIdentifier(contact())).toBe('form:ada@example.com');
  });

  it('falls back to the lower-cased email, then the phone, when the source has no person key', () => {
    const origin = { source: 'typeform' as const, route: 'default', eventKey: 'e', occurredAt: 'now' };
    expect(chatwootIdentifier(contact({ emails: ['Ada@Example.com'], origin }))).toBe('typeform:ada@example.com');
    expect(chatwootIdentifier(contact({ emails: [], origin }))).toBe('typeform:+972541234567');
    expect(chatwootIdentifier(contact({ emails: [], phones: [], origin }))).toBeUndefined();
  });

  it('hashes a key too long for the 255-character column, stably', () => {
    const long = contact({ origin: { ...contact().origin, personKey: 'x'.repeat(300) } });
    const identifier = chatwootIdentifier(long);
    expect(identifier).toMatch(/^form:sha256:[0-9a-f]{64}$/);
    expect(chatwootIdentifier(long)).toBe(identifier);
  });
});

describe('Function: toChatwootRequest', () => {
  it('builds the documented body', () => {
    expect(toChatwootRequest(contact(), target(), CREDENTIALS)).toEqual({
      inbox_id: 3,
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      phone_number: '+972541234567',
      identifier: 'form:ada@example.com',
    });
  });

  it('sends the route attributes as custom_attributes and the address where Chatwoot shows it', () => {
    const body = toChatwootRequest(
      contact({
        attributes: { plan: 'pro', order_total: '120.00' },
        address: { city: 'Haifa', countryCode: 'il' },
        avatarUrl: 'https://example.com/ada.png',
      }),
      target(),
      CREDENTIALS,
    );
    expect(body.custom_attributes).toEqual({ plan: 'pro', order_total: '120.00' });
    expect(body.additional_attributes).toEqual({ city: 'Haifa', country_code: 'IL' });
    expect(body.avatar_url).toBe('https://example.com/ada.png');
  });

  it('leaves out what the contact does not have', () => {
    const body = toChatwootRequest(
      contact({ firstName: undefined, lastName: undefined, emails: [] }),
      target(),
      CREDENTIALS,
    );
    expect(body).toEqual({ inbox_id: 3, phone_number: '+972541234567', identifier: 'form:ada@example.com' });
    expect(toChatwootRequest(contact({ lastName: undefined }), target(), CREDENTIALS).name).toBe('Ada');
  });

  it('prefers a number known to be on WhatsApp', () => {
    const phones = [{ e164: '+14155550100' }, { e164: '+972541234567', whatsapp: true }];
    expect(toChatwootRequest(contact({ phones }), target(), CREDENTIALS).phone_number).toBe('+972541234567');
    expect(toChatwootRequest(contact({ phones }), target(true), CREDENTIALS).phone_number).toBe('+14155550100');
  });

  it('cuts a name past the 255-character column', () => {
    const body = toChatwootRequest(contact({ firstName: 'א'.repeat(300), lastName: undefined }), target(), CREDENTIALS);
    expect([...(body.name ?? '')]).toHaveLength(255);
  });

  it.each([
    [
      'a full contact',
      contact({
        attributes: { plan: 'pro' },
        address: { city: 'Haifa', countryCode: 'IL' },
        avatarUrl: 'https://example.com/a.png',
      }),
    ],
    [
      'a phone-only contact',
      contact({
        firstName: undefined,
        lastName: undefined,
        emails: [],
        origin: { ...contact().origin, personKey: undefined },
      }),
    ],
    ['an email-only contact', contact({ phones: [] })],
  ])('validates against the OpenAPI contact_create_payload: %s', (_label, person) => {
    const body = JSON.parse(JSON.stringify(toChatwootRequest(person, target(), CREDENTIALS))) as Record<
      string,
      unknown
    >;
    expect(validateCreatePayload(body), JSON.stringify(validateCreatePayload.errors)).toBe(true);
    // The schema allows extra keys; the client must not rely on that.
    for (const key of Object.keys(body)) expect(PAYLOAD_KEYS).toContain(key);
  });
});

describe('Object: contact_create_payload (the contract the tests above rely on)', () => {
  it('is a live validator: it refuses a body without inbox_id or with wrong types', () => {
    expect(validateCreatePayload({ name: 'Ada' })).toBe(false);
    expect(validateCreatePayload({ inbox_id: '3' })).toBe(false);
    expect(validateCreatePayload({ inbox_id: 3, custom_attributes: 'plan=pro' })).toBe(false);
    expect(validateCreatePayload({ inbox_id: 3, phone_number: 972541234567 })).toBe(false);
    expect(validateCreatePayload({ inbox_id: 3 })).toBe(true);
    const sent = ['inbox_id', 'name', 'email', 'phone_number', 'identifier', 'custom_attributes'];
    expect(PAYLOAD_KEYS).toEqual(expect.arrayContaining(sent));
  });

  it('lives in the repository: every file the Chatwoot code and tests read resolves inside it', () => {
    const root = new URL('../../../', import.meta.url);
    const inRepo = (url: URL) => fileURLToPath(url).startsWith(fileURLToPath(root));
    expect(inRepo(CHATWOOT_CONTRACT_DIR)).toBe(true);
    const files = [
      'shared/providers/chatwoot.ts',
      'local/emulator/providers/chatwoot.ts',
      'test/helpers/chatwoot-contract.ts',
      'test/unit/providers/chatwoot.test.ts',
    ];
    for (const file of files) {
      const url = new URL(file, root);
      const source = readFileSync(url, 'utf8');
      for (const [, relative] of source.matchAll(/new URL\('([^']+)', import\.meta\.url\)/g)) {
        expect(inRepo(new URL(relative ?? '', url)), `${file} reads ${relative}`).toBe(true);
      }
      expect(source, file).not.toMatch(/\.\.\/shared\/(contracts|seeds)/);
    }
  });
});

describe('Function: chatwootSkipReason', () => {
  it('lets through a contact with an email or a phone', () => {
    expect(chatwootSkipReason(contact())).toBeUndefined();
    expect(chatwootSkipReason(contact({ phones: [] }))).toBeUndefined();
    expect(chatwootSkipReason(contact({ emails: [] }))).toBeUndefined();
  });

  it('skips a contact with neither', () => {
    expect(chatwootSkipReason(contact({ emails: [], phones: [] }))).toBe(
      '99digital (Chatwoot) needs an email or a valid phone number, and the contact has neither',
    );
  });

  it('counts rejected phones without quoting them', () => {
    const rejected = contact({
      emails: [],
      phones: [],
      rejectedPhones: [
        { input: '054-123', reason: 'phone number is too short' },
        { input: '12', reason: 'phone number is too short' },
      ],
    });
    const reason = chatwootSkipReason(rejected);
    expect(reason).toContain('2 phone numbers could not be made E.164');
    expect(reason).not.toContain('054-123');
  });
});

describe('Function: readChatwootCreate', () => {
  it('reads the 99digital doc response example as written', () => {
    const example = readChatwootContract('create-contact-response.99digital.json');
    expect(readChatwootCreate(response(200, example))).toEqual({ kind: 'created', id: '0' });
  });

  it('reads the shape create.json.jbuilder renders without an inbox', () => {
    const body = {
      payload: {
        contact: {
          additional_attributes: {},
          availability_status: 'offline',
          email: null,
          id: 4821,
          name: '',
          phone_number: '+972541234567',
          blocked: false,
          identifier: null,
          thumbnail: '',
          custom_attributes: {},
          created_at: 1735689600,
          contact_inboxes: [],
        },
        contact_inbox: { inbox: null, source_id: null },
      },
    };
    expect(readChatwootCreate(response(200, body))).toEqual({ kind: 'created', id: '4821' });
  });

  it('reads the shape with a linked inbox (the whole Inbox record) and last_activity_at', () => {
    const body = {
      payload: {
        contact: {
          id: 12,
          name: 'Ada',
          email: 'ada@example.com',
          phone_number: null,
          identifier: 'form:ada@example.com',
          created_at: 1735689600,
          last_activity_at: 1735689700,
          contact_inboxes: [
            {
              source_id: 'b7f0',
              inbox: { id: 3, avatar_url: '', channel_id: 9, name: 'WA', channel_type: 'Channel::Api', provider: null },
            },
          ],
        },
        contact_inbox: {
          inbox: {
            id: 3,
            account_id: 7,
            name: 'WA',
            created_at: '2024-01-01T00:00:00.000Z',
            channel_type: 'Channel::Api',
          },
          source_id: 'b7f0',
        },
      },
    };
    expect(readChatwootCreate(response(200, body))).toEqual({ kind: 'created', id: '12' });
  });

  it('takes a fork answering 200 with the existing contact as success', () => {
    expect(readChatwootCreate(response(200, { payload: { id: 55, name: 'Ada', email: 'ada@example.com' } }))).toEqual({
      kind: 'created',
      id: '55',
    });
  });

  it('fails a 2xx without a contact', () => {
    expect(readChatwootCreate(response(200, '<html>ok</html>'))).toMatchObject({
      kind: 'failed',
      code: 'unexpected_response',
    });
    expect(readChatwootCreate(response(200, { payload: {} }))).toMatchObject({
      kind: 'failed',
      code: 'unexpected_response',
    });
  });

  it.each([
    ['email', { message: 'Email has already been taken', attributes: ['email'] }],
    ['phone_number', { message: 'Phone number has already been taken', attributes: ['phone_number'] }],
    ['identifier', { message: 'Identifier has already been taken', attributes: ['identifier'] }],
    [
      'all three',
      {
        message: 'Email has already been taken, Identifier has already been taken, Phone number has already been taken',
        attributes: ['email', 'identifier', 'phone_number'],
      },
    ],
    ['an older server without attributes', { message: 'Email has already been taken' }],
  ])('maps a 422 duplicate (%s) to exists, without an id', (_label, body) => {
    expect(readChatwootCreate(response(422, body))).toEqual({ kind: 'exists' });
  });

  it('fails a 422 validation error with the attributes as code', () => {
    expect(
      readChatwootCreate(
        response(422, { message: 'Phone number should be in e164 format', attributes: ['phone_number'] }),
      ),
    ).toEqual({
      kind: 'failed',
      httpStatus: 422,
      code: 'phone_number',
      message: 'Phone number should be in e164 format',
    });
    expect(
      readChatwootCreate(
        response(422, {
          message: 'Email Invalid email, Name is too long (maximum is 255 characters)',
          attributes: ['email', 'name'],
        }),
      ),
    ).toMatchObject({
      kind: 'failed',
      code: 'email,name',
    });
  });

  it.each([
    [
      'Email has already been taken, Phone number should be in e164 format',
      ['email', 'phone_number'],
      'Phone number should be in e164 format (also: Email has already been taken)',
    ],
    [
      'Identifier has already been taken, Name is too long (maximum is 255 characters)',
      ['identifier', 'name'],
      'Name is too long (maximum is 255 characters) (also: Identifier has already been taken)',
    ],
    [
      'Email has already been taken, Email Invalid email',
      ['email'],
      'Email Invalid email (also: Email has already been taken)',
    ],
  ])('fails a 422 that also refuses something else: "%s"', (message, attributes, said) => {
    const answer = readChatwootCreate(response(422, { message, attributes }));
    expect(answer).toEqual({ kind: 'failed', httpStatus: 422, code: attributes.join(','), message: said });
  });

  it('fails a 422 whose only message is a duplicate but whose attributes name another field', () => {
    const body = { message: 'Email has already been taken', attributes: ['email', 'owner'] };
    const answer = readChatwootCreate(response(422, body));
    expect(answer).toMatchObject({ kind: 'failed', code: 'email,owner' });
  });

  it.each([
    ['Rails 7', 'param is missing or the value is empty: contact phone number'],
    ['Rails 8', 'param is missing or the value is empty or invalid: contact phone number'],
  ])('skips a contact a phone-keyed inbox cannot take (%s wording), naming the inbox', (_label, error) => {
    const context = { contact: contact({ phones: [] }), credentials: CREDENTIALS };
    expect(readChatwootCreate(response(422, { error }), context)).toEqual({
      kind: 'skipped',
      reason: '99digital (Chatwoot) inbox 3 is a WhatsApp or SMS inbox and needs a phone number; the contact has none',
    });
  });

  it('says why a contact with rejected phones has none, counting them without quoting them', () => {
    const rejectedPhones = [{ input: '054-123', reason: 'phone number is too short' }];
    const body = { error: 'param is missing or the value is empty: contact phone number' };
    const context = { contact: contact({ phones: [], rejectedPhones }), credentials: CREDENTIALS };
    const answer = readChatwootCreate(response(422, body), context);
    expect(answer).toEqual({
      kind: 'skipped',
      reason:
        '99digital (Chatwoot) inbox 3 is a WhatsApp or SMS inbox and needs a phone number; ' +
        'the contact has none that is valid (its phone number could not be made E.164)',
    });
  });

  it('skips a contact without email sent to an email inbox', () => {
    const body = { error: 'param is missing or the value is empty: contact email' };
    expect(readChatwootCreate(response(422, body))).toEqual({
      kind: 'skipped',
      reason: '99digital (Chatwoot) inbox is an email inbox and needs an email; the contact has none',
    });
  });

  it('fails any other 422 {error}', () => {
    expect(readChatwootCreate(response(422, { error: 'param is missing or the value is empty: contact' }))).toEqual({
      kind: 'failed',
      httpStatus: 422,
      message: 'param is missing or the value is empty: contact',
    });
  });

  it.each([
    [401, { error: 'Invalid Access Token' }, 'Invalid Access Token'],
    [
      401,
      { errors: ['You need to sign in or sign up before continuing.'] },
      'You need to sign in or sign up before continuing.',
    ],
    [401, { error: 'You are not authorized to access this account' }, 'You are not authorized to access this account'],
    [403, '', 'HTTP 403'],
  ])('maps %i %j to unauthorized', (status, body, message) => {
    expect(readChatwootCreate(response(status, body))).toEqual({ kind: 'unauthorized', httpStatus: status, message });
  });

  it('fails a 404 and says which settings to check', () => {
    const answer = readChatwootCreate(response(404, { error: 'Resource could not be found' }));
    expect(answer).toMatchObject({ kind: 'failed', httpStatus: 404, code: 'not_found' });
    expect(answer.kind === 'failed' && answer.message).toMatch(
      /^Resource could not be found \(check baseUrl, accountId and inboxId/,
    );
  });

  it('retries a 429 after Retry-After, and reads rack-attack plain text', () => {
    expect(readChatwootCreate(response(429, 'Retry later\n', { 'retry-after': '30' }))).toEqual({
      kind: 'transient',
      httpStatus: 429,
      message: 'Retry later',
      retryAfterMs: 30_000,
    });
    expect(readChatwootCreate(response(429, { error: 'Too many requests' }))).toEqual({
      kind: 'transient',
      httpStatus: 429,
      message: 'Too many requests',
    });
  });

  it.each([500, 502, 503, 504])('retries a %i', (status) => {
    expect(readChatwootCreate(response(status, '<html><body>Bad gateway</body></html>'))).toEqual({
      kind: 'transient',
      httpStatus: status,
      message: `HTTP ${status}`,
    });
  });

  it('fails other client errors', () => {
    expect(readChatwootCreate(response(400, { error: 'Bad Request' }))).toEqual({
      kind: 'failed',
      httpStatus: 400,
      message: 'Bad Request',
    });
  });
});

describe('Function: isChatwootDuplicate', () => {
  it('recognises only uniqueness errors on the unique columns', () => {
    expect(isChatwootDuplicate({ message: 'Email has already been taken' })).toBe(true);
    expect(isChatwootDuplicate({ message: 'Phone number should be in e164 format' })).toBe(false);
    expect(isChatwootDuplicate({ message: 'Name has already been taken' })).toBe(false);
    expect(isChatwootDuplicate({})).toBe(false);
  });

  it('needs every error in the answer to be one', () => {
    const answer = (message: string, attributes = ['email', 'phone_number']) =>
      isChatwootDuplicate({ message, attributes });
    expect(answer('Email has already been taken, Phone number has already been taken')).toBe(true);
    expect(answer('Email has already been taken, Phone number should be in e164 format')).toBe(false);
    expect(answer('Email has already been taken, Email Invalid email', ['email'])).toBe(false);
  });
});

describe('Object: chatwootAdapter', () => {
  it('posts to the account contacts path with the api_access_token header', () => {
    const request = chatwootAdapter.create({
      contact: contact(),
      target: target(),
      credentials: CREDENTIALS,
      baseUrl: 'https://online.99digital.co.il',
    });
    expect(request).toMatchObject({
      method: 'POST',
      url: 'https://online.99digital.co.il/api/v1/accounts/7/contacts',
      headers: { 'content-type': 'application/json', api_access_token: TOKEN },
    });
    expect(JSON.parse(request.body ?? '')).toEqual(toChatwootRequest(contact(), target(), CREDENTIALS));
  });

  it('takes its base URL from the secret and looks nobody up first', () => {
    expect(chatwootAdapter.defaultBaseUrl({ ...CREDENTIALS, baseUrl: 'https://chat.example.org' })).toBe(
      'https://chat.example.org',
    );
    expect(chatwootAdapter.lookup).toBeUndefined();
  });
});

describe('Function: deliverWithAdapter (99digital, against the emulator over real sockets)', () => {
  const STAGE = 'cwtest';
  const SECRET = `contact-relay/${STAGE}/provider/digital99`;
  const emulator = useProviderEmulator({
    stage: STAGE,
    provider: 'chatwoot',
    secrets: { [SECRET]: CREDENTIALS },
    keys: [TOKEN],
  });
  beforeEach(() => {
    setChatwootInboxes(emulator.server.state, undefined);
  });

  const context = (): ProviderContext => emulator.providerContext();
  const creates = () => emulator.server.state.requests.filter((request) => request.provider === 'chatwoot');

  it('creates, then answers exists for the same person without a second contact', async () => {
    const first = await deliverWithAdapter(chatwootAdapter, contact(), target(), context());
    const id = emulator.server.state.contacts[0]?.id;
    expect(first).toEqual({ account: 'digital99', provider: 'chatwoot', status: 'created', providerContactId: id });

    const again = await deliverWithAdapter(chatwootAdapter, contact({ firstName: 'Augusta' }), target(), context());
    expect(again).toEqual({ account: 'digital99', provider: 'chatwoot', status: 'exists' });
    expect(emulator.server.state.contacts).toHaveLength(1);
    expect(creates().map((request) => [request.method, request.path, request.status])).toEqual([
      ['POST', '/api/v1/accounts/7/contacts', 200],
      ['POST', '/api/v1/accounts/7/contacts', 422],
    ]);
  });

  it('records an email-only contact sent to a WhatsApp inbox as skipped: one call, nothing created', async () => {
    setChatwootInboxes(emulator.server.state, [{ id: 3, accountId: 7, channelType: 'Channel::Whatsapp' }]);
    const outcome = await deliverWithAdapter(chatwootAdapter, contact({ phones: [] }), target(), context());
    expect(outcome).toEqual({
      account: 'digital99',
      provider: 'chatwoot',
      status: 'skipped',
      reason: '99digital (Chatwoot) inbox 3 is a WhatsApp or SMS inbox and needs a phone number; the contact has none',
    });
    expect(emulator.server.state.contacts).toEqual([]);
    expect(creates().map((request) => request.status)).toEqual([422]);
  });

  it('creates a contact with a phone in the same WhatsApp inbox, keyed by the number without "+"', async () => {
    setChatwootInboxes(emulator.server.state, [{ id: 3, accountId: 7, channelType: 'Channel::Whatsapp' }]);
    const outcome = await deliverWithAdapter(chatwootAdapter, contact(), target(), context());
    expect(outcome).toMatchObject({ status: 'created' });
    const stored = emulator.server.state.contacts[0]?.raw as
      | { contact_inboxes?: Array<{ source_id: string }> }
      | undefined;
    expect(stored?.contact_inboxes?.map((link) => link.source_id)).toEqual(['972541234567']);
  });
});

describe('Function: chatwootApi', () => {
  it('refuses a missing token with devise errors and an unknown one with {error}', () => {
    const { api } = emulator();
    expect(api(emulatorRequest('POST', '/api/v1/accounts/7/contacts', {}, {}))).toEqual({
      status: 401,
      body: { errors: ['You need to sign in or sign up before continuing.'] },
      headers: {},
    });
    expect(api(emulatorRequest('POST', '/api/v1/accounts/7/contacts', {}, { api_access_token: 'nope' }))).toMatchObject(
      { status: 401, body: { error: 'Invalid Access Token' } },
    );
    expect(
      api(emulatorRequest('POST', '/api/v1/accounts/7/contacts', { name: 'x' }, { 'api-access-token': TOKEN })).status,
    ).toBe(200);
  });

  it('creates a contact and answers as create.json.jbuilder does', () => {
    const { state, create } = emulator();
    const answer = create({
      inbox_id: 3,
      name: 'Ada Lovelace',
      email: 'Ada@Example.com',
      phone_number: '+972541234567',
      identifier: 'form:ada@example.com',
      custom_attributes: { plan: 'pro' },
    });
    expect(answer.status).toBe(200);
    const body = answer.body as {
      payload: {
        contact: Record<string, unknown>;
        contact_inbox: { inbox: Record<string, unknown>; source_id: string };
      };
    };
    expect(body.payload.contact).toMatchObject({
      additional_attributes: {},
      availability_status: 'offline',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      phone_number: '+972541234567',
      blocked: false,
      identifier: 'form:ada@example.com',
      thumbnail: '',
      custom_attributes: { plan: 'pro' },
    });
    expect(body.payload.contact['created_at']).toEqual(expect.any(Number));
    expect(body.payload.contact['contact_inboxes']).toEqual([
      {
        source_id: body.payload.contact_inbox.source_id,
        inbox: {
          id: 3,
          avatar_url: '',
          channel_id: 3,
          name: 'Emulated inbox 3',
          channel_type: 'Channel::Api',
          provider: null,
        },
      },
    ]);
    expect(body.payload.contact_inbox.inbox).toMatchObject({ id: 3, account_id: 7, channel_type: 'Channel::Api' });
    expect(body.payload.contact_inbox.source_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(state.contacts).toEqual([
      expect.objectContaining({
        id: String(body.payload.contact['id']),
        provider: 'chatwoot',
        scope: '7',
        email: 'ada@example.com',
        phone: '+972541234567',
        identifier: 'form:ada@example.com',
      }),
    ]);
    expect(readChatwootCreate(asHttp(answer))).toEqual({ kind: 'created', id: String(body.payload.contact['id']) });
  });

  it('creates without an inbox, with nulls in contact_inbox', () => {
    const { create } = emulator();
    const answer = create({ phone_number: '+972541234567' });
    expect(answer.body).toMatchObject({
      payload: {
        contact: { name: '', email: null, identifier: null, contact_inboxes: [] },
        contact_inbox: { inbox: null, source_id: null },
      },
    });
  });

  it('ignores body keys outside the permitted list', () => {
    const { state, create } = emulator();
    expect(create({ name: 'Ada', account_id: 99, id: 1, pubsub_token: 'x' }).status).toBe(200);
    expect(state.contacts[0]?.raw).not.toHaveProperty('pubsub_token');
    expect(state.contacts[0]?.scope).toBe('7');
  });

  it('refuses duplicates per account: email without case, identifier with case, phone exactly', () => {
    const { create } = emulator();
    expect(create({ email: 'ada@example.com', identifier: 'form:ada', phone_number: '+972541234567' }).status).toBe(
      200,
    );
    expect(create({ email: 'ADA@example.com' })).toMatchObject({
      status: 422,
      body: { message: 'Email has already been taken', attributes: ['email'] },
    });
    expect(create({ identifier: 'form:ada' })).toMatchObject({
      status: 422,
      body: { message: 'Identifier has already been taken', attributes: ['identifier'] },
    });
    expect(create({ identifier: 'FORM:ADA' }).status).toBe(200);
    expect(create({ phone_number: '+972541234567' })).toMatchObject({
      status: 422,
      body: { message: 'Phone number has already been taken', attributes: ['phone_number'] },
    });
    // Another account is another scope.
    expect(create({ email: 'ada@example.com', phone_number: '+972541234567', identifier: 'form:ada' }, 8).status).toBe(
      200,
    );
  });

  it('joins every failed validation in one 422 and names each attribute once', () => {
    const { create } = emulator();
    create({ email: 'ada@example.com' });
    const answer = create({ email: 'ada@example.com', phone_number: '054-1234567' });
    expect(answer).toMatchObject({
      status: 422,
      body: {
        message: 'Email has already been taken, Phone number should be in e164 format',
        attributes: ['email', 'phone_number'],
      },
    });
    expect(readChatwootCreate(asHttp(answer))).toEqual({
      kind: 'failed',
      httpStatus: 422,
      code: 'email,phone_number',
      message: 'Phone number should be in e164 format (also: Email has already been taken)',
    });
    expect(create({ email: 'ADA@example.com', name: 'n'.repeat(256) }).body).toEqual({
      message: 'Name is too long (maximum is 255 characters), Email has already been taken',
      attributes: ['name', 'email'],
    });
  });

  it('answers a 422 of duplicates only when the same person comes again, which the adapter reads as exists', () => {
    const { create } = emulator();
    create({ email: 'ada@example.com', identifier: 'form:ada', phone_number: '+972541234567' });
    const answer = create({ email: 'ada@example.com', identifier: 'form:ada', phone_number: '+972541234567' });
    expect(answer.body).toEqual({
      message: 'Email has already been taken, Identifier has already been taken, Phone number has already been taken',
      attributes: ['email', 'identifier', 'phone_number'],
    });
    expect(readChatwootCreate(asHttp(answer))).toEqual({ kind: 'exists' });
  });

  it('checks the phone with the end-anchored e164 pattern', () => {
    const { create } = emulator();
    const invalid = create({ phone_number: '+972 54-123-4567' });
    expect(invalid).toMatchObject({
      status: 422,
      body: { message: 'Phone number should be in e164 format', attributes: ['phone_number'] },
    });
    expect(readChatwootCreate(asHttp(invalid))).toEqual({
      kind: 'failed',
      httpStatus: 422,
      code: 'phone_number',
      message: 'Phone number should be in e164 format',
    });
    expect(create({ phone_number: '0541234567' }).status).toBe(422);
    expect(create({ phone_number: 'abc+14155550123' }).status).toBe(200);
  });

  it('checks the email format and the 255-character limit', () => {
    const { create } = emulator();
    expect(create({ email: 'not an email' })).toMatchObject({
      status: 422,
      body: { message: 'Email Invalid email', attributes: ['email'] },
    });
    expect(create({ name: 'n'.repeat(256), identifier: 'i'.repeat(256) })).toMatchObject({
      status: 422,
      body: {
        message: 'Name is too long (maximum is 255 characters), Identifier is too long (maximum is 255 characters)',
        attributes: ['name', 'identifier'],
      },
    });
    expect(create({ name: 'א'.repeat(255) }).status).toBe(200);
  });

  it('answers 404 for an inbox outside the account and stores nothing', () => {
    const { state, create } = emulator([{ id: 3, accountId: 7 }]);
    expect(create({ inbox_id: 4, name: 'Ada' })).toEqual({
      status: 404,
      body: { error: 'Resource could not be found' },
      headers: {},
    });
    expect(create({ inbox_id: 3, name: 'Ada' }, 8).status).toBe(404);
    expect(create({ inbox_id: 'abc', name: 'Ada' }).status).toBe(404);
    expect(state.contacts).toHaveLength(0);
    expect(create({ inbox_id: '3', name: 'Ada' }).status).toBe(200);
    expect(readChatwootCreate(asHttp(create({ inbox_id: 5 })))).toMatchObject({ kind: 'failed', code: 'not_found' });
  });

  it('validates the contact before it looks the inbox up', () => {
    const { create } = emulator([]);
    expect(create({ inbox_id: 3, phone_number: '12' }).status).toBe(422);
  });

  it('needs a phone for a WhatsApp inbox and uses it, without "+", as the source id', () => {
    const { state, create } = emulator([{ id: 3, channelType: 'Channel::Whatsapp' }]);
    expect(create({ inbox_id: 3, email: 'ada@example.com' })).toMatchObject({
      status: 422,
      body: { error: 'param is missing or the value is empty: contact phone number' },
    });
    expect(state.contacts).toHaveLength(0);
    expect(create({ inbox_id: 3, phone_number: '+972541234567' }).body).toMatchObject({
      payload: {
        contact_inbox: { source_id: '972541234567' },
        contact: { contact_inboxes: [{ inbox: { channel_type: 'Channel::Whatsapp', provider: 'whatsapp_cloud' } }] },
      },
    });
  });

  it('needs an email for an email inbox, and takes a given source_id instead of either', () => {
    const { state, create } = emulator([
      { id: 4, channelType: 'Channel::Email' },
      { id: 5, channelType: 'Channel::Sms' },
    ]);
    const missing = (what: string) => ({
      status: 422,
      body: { error: `param is missing or the value is empty: contact ${what}` },
    });
    expect(create({ inbox_id: 4, phone_number: '+972541234567' })).toMatchObject(missing('email'));
    expect(create({ inbox_id: 5, email: 'ada@example.com' })).toMatchObject(missing('phone number'));
    expect(state.contacts).toHaveLength(0);
    const given = create({ inbox_id: 5, email: 'ada@example.com', source_id: 'sms-ada' });
    expect(given.body).toMatchObject({ payload: { contact_inbox: { source_id: 'sms-ada' } } });
  });

  it('links nothing but still creates when the phone or given source_id is blank (only missing is refused)', () => {
    const { state, create } = emulator([{ id: 3, channelType: 'Channel::Whatsapp' }]);
    expect(create({ inbox_id: 3, email: 'ada@example.com', phone_number: '' }).body).toMatchObject({
      payload: { contact: { contact_inboxes: [] }, contact_inbox: { inbox: null, source_id: null } },
    });
    expect(create({ inbox_id: 3, email: 'bob@example.com', source_id: '' }).status).toBe(200);
    expect(state.contacts).toHaveLength(2);
  });

  it('casts scalars into string columns as Rails does', () => {
    const { create } = emulator();
    const answer = create({ name: true, identifier: 42 });
    expect(answer.body).toMatchObject({ payload: { contact: { name: 't', identifier: '42' } } });
  });

  it('answers 404 for an unknown account or route, and 400 for malformed JSON', () => {
    const { api } = emulator();
    expect(api(emulatorRequest('POST', '/api/v1/accounts/0/contacts', {}))).toMatchObject({
      status: 404,
      body: { error: 'Resource could not be found' },
    });
    expect(api(emulatorRequest('POST', '/api/v1/accounts/x/contacts', {})).status).toBe(404);
    expect(api(emulatorRequest('DELETE', '/api/v1/accounts/7/contacts', {})).status).toBe(404);
    const malformed = api(emulatorRequest('POST', '/api/v1/accounts/7/contacts', '{"name":'));
    expect(malformed).toMatchObject({ status: 400, body: { status: 400, error: 'Bad Request' } });
    // Only the calls the adapter makes are emulated.
    const search = emulatorRequest('GET', '/api/v1/accounts/7/contacts/search', undefined, undefined, 'q=ada');
    expect(api(search).status).toBe(404);
  });
});
