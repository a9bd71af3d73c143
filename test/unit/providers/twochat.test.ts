import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../../shared/http.js';
import { readTwoChatCreate, readTwoChatSearch, toTwoChatRequest, twoChatAdapter, TwoChatCreatedSchema } from '../../../shared/providers/twochat.js';
import { testContact } from '../../helpers/contacts.js';
import { testRoute } from '../../helpers/routes.js';

const seed = readFileSync(new URL('../../../../shared/seeds/2chat-create-contact.txt', import.meta.url), 'utf8');
const target = { route: testRoute(), account: { name: 'twochat', provider: 'twochat' as const } };
const response = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('Function: toTwoChatRequest', () => {
  it('builds the documented body: first and last name, PH phone and E email', () => {
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
    expect(toTwoChatRequest(testContact(), whatsapp).contact_detail[0]).toEqual({ type: 'WAPH', value: '+14155550132' });
    expect(toTwoChatRequest(testContact({ phones: [{ e164: '+14155550132', whatsapp: true }] }), target).contact_detail[0]?.type).toBe('WAPH');
  });

  it('falls back to the last name, then to the first detail, for the required first name', () => {
    expect(toTwoChatRequest(testContact({ firstName: undefined }), target)).toMatchObject({ first_name: 'Lovelace' });
    expect(toTwoChatRequest(testContact({ firstName: undefined }), target).last_name).toBeUndefined();
    expect(toTwoChatRequest(testContact({ firstName: undefined, lastName: undefined }), target).first_name).toBe('+14155550132');
  });

  it('builds the create call with the API key header', () => {
    const request = twoChatAdapter.create({ contact: testContact(), target, credentials: { apiKey: 'k' }, baseUrl: 'https://api.p.2chat.io' });
    expect(request).toMatchObject({ method: 'POST', url: 'https://api.p.2chat.io/open/contacts', headers: { 'content-type': 'application/json', 'x-user-api-key': 'k' } });
  });

  it('looks the person up by phone first, then by email', () => {
    const context = { contact: testContact(), target, credentials: { apiKey: 'k' }, baseUrl: 'https://api.p.2chat.io' };
    expect(twoChatAdapter.lookup?.(context)?.url).toBe('https://api.p.2chat.io/open/contacts/search?query=%2B14155550132');
    expect(twoChatAdapter.lookup?.({ ...context, contact: testContact({ phones: [] }) })?.url).toBe('https://api.p.2chat.io/open/contacts/search?query=ada%40example.com');
  });

  it('skips a contact with neither phone nor email', () => {
    expect(twoChatAdapter.skipReason(testContact({ phones: [], emails: [] }), target)).toBe('2Chat needs an email or a valid phone number');
    expect(twoChatAdapter.skipReason(testContact(), target)).toBeUndefined();
  });
});

describe('Function: readTwoChatCreate', () => {
  it('parses the documented response example as written', () => {
    const example = seed.slice(seed.indexOf('{\n"success": true'));
    expect(TwoChatCreatedSchema.safeParse(JSON.parse(example)).success).toBe(true);
    expect(readTwoChatCreate(response(200, example))).toEqual({ kind: 'created', id: 'CON2226e836-36dc-4103-b2a2-6307749cf390' });
  });

  it.each([
    [409, 'transient'],
    [410, 'transient'],
    [429, 'transient'],
    [486, 'transient'],
    [500, 'transient'],
    [503, 'transient'],
    [504, 'transient'],
    [401, 'unauthorized'],
    [403, 'unauthorized'],
    [402, 'failed'],
    [422, 'failed'],
    [400, 'failed'],
  ])('classifies HTTP %i as %s and keeps 2Chat\'s message', (status, kind) => {
    expect(readTwoChatCreate(response(status, { success: false, message: 'reason from 2Chat' }))).toMatchObject({ kind, httpStatus: status, message: 'reason from 2Chat' });
  });

  it('reads Retry-After on a 429', () => {
    expect(readTwoChatCreate(response(429, { message: 'slow down' }, { 'retry-after': '3' }))).toMatchObject({ kind: 'transient', retryAfterMs: 3000 });
  });

  it('fails a 2xx that carries no created contact', () => {
    expect(readTwoChatCreate(response(200, 'oops'))).toMatchObject({ kind: 'failed', code: 'unexpected_response' });
  });
});

describe('Function: readTwoChatSearch', () => {
  it('finds an existing contact', () => {
    expect(readTwoChatSearch(response(200, { success: true, contacts: [{ uuid: 'CON1' }] }))).toEqual({ kind: 'exists', id: 'CON1' });
  });

  it('reports nobody found', () => {
    expect(readTwoChatSearch(response(200, { success: true, contacts: [] }))).toEqual({ kind: 'not_found' });
  });
});
