import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Contact } from '../../../shared/contact.js';
import type { HttpResponse } from '../../../shared/http.js';
import { deliverWithAdapter } from '../../../shared/providers/engine.js';
import {
  isSamePerson,
  readTwoChatCreate,
  readTwoChatSearch,
  toTwoChatRequest,
  TWOCHAT_RESULTS_PER_PAGE,
  twoChatAdapter,
  TwoChatCreatedSchema,
  TwoChatSearchSchema,
} from '../../../shared/providers/twochat.js';
import type { ProviderContext, RequestContext } from '../../../shared/providers/types.js';
import { providerSecretName } from '../../../shared/secrets.js';
import type { EmulatedResponse } from '../../../local/emulator/http-kit.js';
import { twoChatApi } from '../../../local/emulator/providers/twochat.js';
import { EmulatorState } from '../../../local/emulator/state.js';
import { useProviderEmulator } from '../../helpers/provider-emulator.js';
import { testContact } from '../../helpers/contacts.js';
import { testRoute } from '../../helpers/routes.js';

/** Written from the documented request and answers (see test/contracts/twochat.md). */
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/twochat/${name}`, import.meta.url), 'utf8'));
type Created = { contact: Record<string, unknown> & { details: Array<Record<string, unknown>> } };
const createdFixture = fixture('create-contact-response.json') as Created;
const searchFixture = fixture('search-response.json') as { contacts: Array<{ uuid: string }> };

const KEY = 'twochat-key-0001';
const BASE = 'https://api.p.2chat.io';
const target = { route: testRoute(), account: { name: 'twochat', provider: 'twochat' as const } };
const response = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const context = (contact: Contact = testContact()): RequestContext<{ apiKey: string }> => ({
  contact,
  target,
  credentials: { apiKey: KEY },
  baseUrl: BASE,
});
const emailOnly = (email: string) =>
  testContact({ firstName: 'Ann', lastName: undefined, phones: [], emails: [email] });
/** The path of our search for `query` (already URL-encoded) at page `page`. */
const searchPath = (query: string, page: number) =>
  `/open/contacts/search?query=${query}&results_per_page=100&page_number=${page}`;
/** The search request for `query` at `page`, as the adapter sends it. */
const searchRequestFor = (query: string, page = 0) => ({
  method: 'GET' as const,
  url: `${BASE}${searchPath(encodeURIComponent(query), page)}`,
  headers: { 'x-user-api-key': KEY },
});
/** Reads `answer` as the page `page` of the search for `query` (the contact's first query by default). */
const read = (answer: HttpResponse, ctx: RequestContext<{ apiKey: string }>, page = 0, query?: string) =>
  readTwoChatSearch(
    answer,
    ctx,
    searchRequestFor(query ?? ctx.contact.phones[0]?.e164.slice(1) ?? ctx.contact.emails[0] ?? '', page),
  );
/** A search hit carrying only these detail values. */
const hit = (uuid: string, ...values: string[]) => ({
  uuid,
  first_name: 'X',
  last_name: null,
  details: values.map((value) => ({ value, type: value.includes('@') ? 'E' : 'PH' })),
});

describe('Function: toTwoChatRequest', () => {
  it('builds the documented body: first and last name, PH phone and E email, in a list named contact_detail', () => {
    expect(toTwoChatRequest(testContact(), target)).toEqual({
      first_name: 'Ada',
      last_name: 'Lovelace',
      contact_detail: [
        { type: 'PH', value: '+14155550132' },
        { type: 'E', value: 'ada@example.com' },
      ],
    });
  });

  it('sends WAPH only when the route says its numbers are on WhatsApp', () => {
    const whatsapp = { ...target, route: testRoute({ whatsappNumbers: true }) };
    const [detail] = toTwoChatRequest(testContact(), whatsapp).contact_detail;
    expect(detail).toEqual({ type: 'WAPH', value: '+14155550132' });
    const onWhatsApp = testContact({ phones: [{ e164: '+14155550132', whatsapp: true }] });
    expect(toTwoChatRequest(onWhatsApp, target).contact_detail[0]?.type).toBe('WAPH');
  });

  it('falls back to the last name, then to the first detail, for the required first name', () => {
    expect(toTwoChatRequest(testContact({ firstName: undefined }), target)).toMatchObject({ first_name: 'Lovelace' });
    expect(toTwoChatRequest(testContact({ firstName: undefined }), target).last_name).toBeUndefined();
    const nameless = testContact({ firstName: undefined, lastName: undefined });
    expect(toTwoChatRequest(nameless, target).first_name).toBe('+14155550132');
  });

  it('builds the create call with the API key header', () => {
    const request = twoChatAdapter.create(context());
    expect(request).toMatchObject({
      method: 'POST',
      url: `${BASE}/open/contacts`,
      headers: { 'content-type': 'application/json', 'x-user-api-key': KEY },
    });
  });

  it('skips a contact with neither phone nor email', () => {
    const reason = twoChatAdapter.skipReason(testContact({ phones: [], emails: [] }), target);
    expect(reason).toBe('2Chat needs an email or a valid phone number');
    expect(twoChatAdapter.skipReason(testContact(), target)).toBeUndefined();
  });
});

describe('Function: twoChatAdapter.lookup', () => {
  it("searches the first phone's digits, 100 a page, from page 0", () => {
    expect(twoChatAdapter.lookup?.(context())).toEqual({
      method: 'GET',
      url: `${BASE}${searchPath('14155550132', 0)}`,
      headers: { 'x-user-api-key': KEY },
    });
  });

  it('searches the email when the contact has no phone', () => {
    const url = twoChatAdapter.lookup?.(context(emailOnly('ann@x.com')))?.url;
    expect(url).toBe(`${BASE}${searchPath('ann%40x.com', 0)}`);
  });
});

describe('Function: readTwoChatCreate', () => {
  it('reads the documented 201 answer as created, with the contact uuid', () => {
    expect(TwoChatCreatedSchema.safeParse(createdFixture).success).toBe(true);
    const answer = readTwoChatCreate(response(201, createdFixture));
    expect(answer).toEqual({ kind: 'created', id: createdFixture.contact['uuid'] });
  });

  it.each([
    [400, 'failed', 'bad_request'],
    [401, 'unauthorized', undefined],
    [402, 'failed', 'payment_required'],
    [403, 'failed', 'forbidden'],
    [404, 'failed', 'not_found'],
    [406, 'failed', 'not_supported'],
    [409, 'transient', undefined],
    [410, 'transient', undefined],
    [422, 'failed', 'invalid_request'],
    [429, 'transient', undefined],
    [486, 'transient', undefined],
    [500, 'transient', undefined],
    [503, 'transient', undefined],
    [504, 'transient', undefined],
  ])("reads HTTP %i as %s (%s), keeping 2Chat's message", (status, kind, code) => {
    const answer = readTwoChatCreate(response(status, { success: false, message: 'reason from 2Chat' }));
    expect(answer).toMatchObject({ kind, httpStatus: status, message: 'reason from 2Chat' });
    expect((answer as { code?: string }).code).toBe(code);
  });

  it('reads Retry-After on a 429', () => {
    const answer = readTwoChatCreate(response(429, { message: 'slow down' }, { 'retry-after': '3' }));
    expect(answer).toMatchObject({ kind: 'transient', retryAfterMs: 3000 });
  });

  it('fails a 2xx that carries no created contact', () => {
    expect(readTwoChatCreate(response(201, 'oops'))).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
  });
});

describe('Function: isSamePerson', () => {
  it.each([
    ['+14155550132', true],
    ['14155550132', true],
    ['+1 (415) 555-0132', true],
    ['+141555501320', false],
    ['4155550132', false],
    ['ADA@Example.com', true],
    ['ada@example.co', false],
    ['xada@example.com', false],
  ])('a detail %s is our person: %s', (value, same) => {
    expect(isSamePerson([{ value }], testContact())).toBe(same);
  });
});

describe('Function: readTwoChatSearch', () => {
  it('parses the documented answer and finds the hit whose phone is ours', () => {
    expect(TwoChatSearchSchema.safeParse(searchFixture).success).toBe(true);
    const answer = read(response(200, searchFixture), context());
    expect(answer).toEqual({ kind: 'exists', id: searchFixture.contacts[0]?.uuid });
  });

  it('does not take a hit that only contains our email as the person (ann@x.com is not joann@x.com)', () => {
    const page = response(200, searchFixture);
    expect(read(page, context(emailOnly('ann@x.com')))).toEqual({ kind: 'not_found' });
    const joann = read(page, context(emailOnly('JoAnn@X.com')));
    expect(joann).toEqual({ kind: 'exists', id: searchFixture.contacts[1]?.uuid });
  });

  it('finds the person anywhere on the page, not only first', () => {
    const contacts = [hit('CON1', 'joann@x.com'), hit('CON2', '+141555501320'), hit('CON3', 'ada@example.com')];
    const page = { success: true, page: 0, count: 3, contacts };
    expect(read(response(200, page), context())).toEqual({ kind: 'exists', id: 'CON3' });
  });

  const fullPage = (page: number, count: number) => ({
    success: true,
    page,
    count,
    contacts: Array.from({ length: TWOCHAT_RESULTS_PER_PAGE }, (_, i) => hit(`CON${i}`, `${i}ann@x.com`)),
  });

  it('asks for the next page when a full page has no match', () => {
    const answer = read(response(200, fullPage(0, 100)), context(emailOnly('ann@x.com')));
    expect(answer).toEqual({
      kind: 'next_page',
      request: { method: 'GET', url: `${BASE}${searchPath('ann%40x.com', 1)}`, headers: { 'x-user-api-key': KEY } },
    });
  });

  it('reads count as a total when it is larger than the page: more pages until it is reached', () => {
    const person = context(emailOnly('ann@x.com'));
    expect(read(response(200, fullPage(1, 250)), person, 1)).toMatchObject({
      kind: 'next_page',
      request: { url: expect.stringContaining('page_number=2') as string },
    });
    expect(read(response(200, fullPage(1, 200)), person, 1)).toEqual({ kind: 'not_found' });
  });

  it('stops at a page that is not full', () => {
    const contacts = [hit('CON1', 'joann@x.com'), hit('CON2', 'bann@x.com')];
    const page = { success: true, page: 3, count: 2, contacts };
    expect(read(response(200, page), context(emailOnly('ann@x.com')), 3)).toEqual({ kind: 'not_found' });
  });

  it('searches the email next when the phone search ends without the person', () => {
    const page = { success: true, page: 0, count: 1, contacts: [hit('CON1', '+141555501320')] };
    expect(read(response(200, page), context())).toEqual({
      kind: 'next_page',
      request: searchRequestFor('ada@example.com'),
    });
    expect(read(response(200, { ...page, contacts: [] }), context(), 0, 'ada@example.com')).toEqual({
      kind: 'not_found',
    });
  });

  it('fails an answer without its page and contacts, and reads errors as a create does', () => {
    const pageless = read(response(200, { contacts: [] }), context());
    expect(pageless).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
    const forbidden = read(response(403, { success: false, message: 'no' }), context());
    expect(forbidden).toMatchObject({ kind: 'failed', code: 'forbidden' });
  });
});

describe('Function: twoChatApi', () => {
  function emulator() {
    const state = new EmulatorState();
    state.credentials.twochat.add(KEY);
    const api = twoChatApi(state);
    const call = (method: string, path: string, body?: unknown, query = ''): EmulatedResponse =>
      api({
        method,
        path,
        query: new URLSearchParams(query),
        headers: { 'x-user-api-key': KEY },
        rawBody: body === undefined ? '' : JSON.stringify(body),
        json: body,
      });
    const search = (query: string) => call('GET', '/open/contacts/search', undefined, query);
    const uuids = (answer: EmulatedResponse) =>
      (answer.body as { contacts: Array<{ uuid: string }> }).contacts.map((contact) => contact.uuid);
    const create = (first: string, last: string | undefined, ...values: string[]) => {
      const body = { first_name: first, last_name: last, contact_detail: hit('', ...values).details };
      return (call('POST', '/open/contacts', body).body as { contact: { uuid: string } }).contact.uuid;
    };
    return { state, call, search, uuids, create };
  }

  it('answers a create 201 with the documented body', () => {
    const { call, state } = emulator();
    const answer = call('POST', '/open/contacts', fixture('create-contact-request.json'));
    expect(answer.status).toBe(201);
    const body = answer.body as typeof createdFixture;
    expect(Object.keys(body).sort()).toEqual(Object.keys(createdFixture).sort());
    expect(Object.keys(body.contact).sort()).toEqual(Object.keys(createdFixture.contact).sort());
    const detailKeys = (created: Created) => created.contact.details.map((detail) => Object.keys(detail).sort());
    expect(detailKeys(body)).toEqual(detailKeys(createdFixture));
    const uuid = expect.stringMatching(/^CON/) as string;
    expect(body.contact).toMatchObject({ first_name: 'Grace', last_name: 'Hopper', uuid });
    expect(readTwoChatCreate(response(answer.status, body))).toEqual({ kind: 'created', id: body.contact['uuid'] });
    expect(state.contacts).toHaveLength(1);
  });

  it('reads the details from contact_detail, as the documented examples send them, not from contact_details', () => {
    const { call, state } = emulator();
    const email = { type: 'E', value: 'ada@example.com' };
    const status = (body: unknown) => call('POST', '/open/contacts', body).status;
    expect(status({ first_name: 'Ada', contact_details: [email] })).toBe(422);
    expect(status({ first_name: 'Ada', contact_detail: email })).toBe(400);
    expect(status({ first_name: 'Ada', contact_detail: [{ type: 'PH', value: '4155550132' }] })).toBe(422);
    expect(status({ contact_detail: [email] })).toBe(422);
    expect(state.contacts).toEqual([]);
  });

  it('searches substrings of names, full names, emails and phones, ignoring case', () => {
    const { search, uuids, create } = emulator();
    const gonzalez = create('Augusto', 'Gonzalez', '+595981222333');
    const saugusto = create('Carlo', 'Saugusto', '+595212223333', 'carlos@test.tld');
    const kate = create('Kate', 'Smith', 'KATE@Example.com');
    expect(uuids(search('query=augusto'))).toEqual([gonzalez, saugusto]);
    expect(uuids(search('query=kate%20smith'))).toEqual([kate]);
    expect(uuids(search('query=example.COM'))).toEqual([kate]);
    expect(uuids(search('query=2223333'))).toEqual([saugusto]);
    expect(uuids(search('query=nobody'))).toEqual([]);
    expect(search('query=carlo').body).toMatchObject({
      success: true,
      page: 0,
      count: 1,
      contacts: [{ id: expect.any(Number) as number, uuid: saugusto, channel_uuid: null }],
    });
  });

  it('pages from 0 with results_per_page (default 10, at most 100)', () => {
    const { search, uuids, create } = emulator();
    const all = Array.from({ length: 25 }, (_, i) => create(`Lead ${i}`, undefined, `lead${i}@x.com`));
    expect(uuids(search('query=lead'))).toEqual(all.slice(0, 10));
    expect(uuids(search('query=lead&results_per_page=20&page_number=1'))).toEqual(all.slice(20));
    expect(search('query=lead&results_per_page=20&page_number=1').body).toMatchObject({ page: 1, count: 5 });
    expect(uuids(search('query=lead&results_per_page=100&page_number=0'))).toEqual(all);
    for (const bad of ['results_per_page=0', 'results_per_page=101', 'results_per_page=ten', 'page_number=-1']) {
      expect(search(`query=lead&${bad}`).status, bad).toBe(422);
    }
  });
});

describe('Function: deliverWithAdapter (2Chat, against the emulator over real sockets)', () => {
  const STAGE = 'tctest';
  const SECRET = providerSecretName(STAGE, 'twochat');
  const emulator = useProviderEmulator({
    stage: STAGE,
    provider: 'twochat',
    secrets: { [SECRET]: { apiKey: KEY } },
    keys: [KEY],
  });

  const providerContext = (): ProviderContext => emulator.providerContext();
  const deliver = (contact: Contact) => deliverWithAdapter(twoChatAdapter, contact, target, providerContext());
  /** Puts a contact straight into the emulator's directory, as if made earlier in 2Chat. */
  const seed = (firstName: string, ...values: string[]) => {
    const answer = twoChatApi(emulator.server.state)({
      method: 'POST',
      path: '/open/contacts',
      query: new URLSearchParams(),
      headers: { 'x-user-api-key': KEY },
      rawBody: '',
      json: { first_name: firstName, contact_detail: hit('', ...values).details },
    });
    return (answer.body as { contact: { uuid: string } }).contact.uuid;
  };
  const calls = () =>
    emulator.server.state.requests
      .filter((request) => request.provider === 'twochat')
      .map((request) => [request.method, request.path, request.status]);
  const secretReads = () =>
    emulator.server.state.requests.filter((request) => request.provider === 'secretsmanager').length;

  it('creates ann@x.com although joann@x.com exists', async () => {
    seed('Jo', 'joann@x.com');
    const outcome = await deliver(emailOnly('ann@x.com'));
    const ann = emulator.server.state.contacts.find((contact) => contact.email === 'ann@x.com');
    expect(outcome).toEqual({ account: 'twochat', provider: 'twochat', status: 'created', providerContactId: ann?.id });
    expect(calls()).toEqual([
      ['GET', searchPath('ann%40x.com', 0), 200],
      ['POST', '/open/contacts', 201],
    ]);
  });

  it('creates +14155550132 although +141555501320 exists', async () => {
    seed('Other', '+141555501320');
    expect(await deliver(testContact())).toMatchObject({ status: 'created' });
    expect(emulator.server.state.contacts.map((contact) => contact.phone)).toEqual(['+141555501320', '+14155550132']);
  });

  it('finds the person on the second page of a substring search and does not create them twice', async () => {
    for (let i = 0; i < TWOCHAT_RESULTS_PER_PAGE; i++) seed(`Lead ${i}`, `jo${i}ann@x.com`);
    const ann = seed('Ann', 'ann@x.com');
    const outcome = await deliver(emailOnly('ann@x.com'));
    expect(outcome).toEqual({ account: 'twochat', provider: 'twochat', status: 'exists', providerContactId: ann });
    expect(calls()).toEqual([
      ['GET', searchPath('ann%40x.com', 0), 200],
      ['GET', searchPath('ann%40x.com', 1), 200],
    ]);
    expect(emulator.server.state.contacts).toHaveLength(TWOCHAT_RESULTS_PER_PAGE + 1);
  });

  it('finds a person kept with only our email although the phone search finds nobody', async () => {
    const ada = seed('Ada', 'ada@example.com');
    expect(await deliver(testContact())).toEqual({
      account: 'twochat',
      provider: 'twochat',
      status: 'exists',
      providerContactId: ada,
    });
    expect(calls()).toEqual([
      ['GET', searchPath('14155550132', 0), 200],
      ['GET', searchPath('ada%40example.com', 0), 200],
    ]);
    expect(emulator.server.state.contacts).toHaveLength(1);
  });

  it('reads the 201 of a create as created, then finds the same person by phone', async () => {
    const first = await deliver(testContact());
    const id = emulator.server.state.contacts[0]?.id;
    expect(first).toEqual({ account: 'twochat', provider: 'twochat', status: 'created', providerContactId: id });
    const again = await deliver(testContact({ firstName: 'Augusta', emails: ['other@example.com'] }));
    expect(again).toEqual({ account: 'twochat', provider: 'twochat', status: 'exists', providerContactId: id });
    expect(calls()).toEqual([
      ['GET', searchPath('14155550132', 0), 200],
      ['GET', searchPath('ada%40example.com', 0), 200],
      ['POST', '/open/contacts', 201],
      ['GET', searchPath('14155550132', 0), 200],
    ]);
  });

  it('fails on a 403 ("operation is forbidden") without reading the secret again', async () => {
    emulator.server.state.faults.push({ provider: 'twochat', status: 403, times: 1 });
    const outcome = await deliver(testContact());
    expect(outcome).toMatchObject({ status: 'failed', httpStatus: 403, code: 'forbidden' });
    expect(secretReads()).toBe(1);
    expect(calls()).toEqual([['GET', searchPath('14155550132', 0), 403]]);
    expect(emulator.server.state.contacts).toEqual([]);
  });

  it('reads the secret again once on a 401, in case the key was rotated', async () => {
    emulator.server.state.faults.push({ provider: 'twochat', status: 401, times: 1 });
    expect(await deliver(testContact())).toMatchObject({ status: 'created' });
    expect(secretReads()).toBe(2);
  });
});
