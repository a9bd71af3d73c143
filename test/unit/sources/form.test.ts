import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies, type SourceSecret } from '../../../shared/ingest.js';
import { SecretFormatError, SecretNotFoundError } from '../../../shared/secrets.js';
import { requireToken } from '../../../shared/sources/auth.js';
import {
  formEventKey,
  formSource,
  mapFormToContact,
  MAX_FIELD_CHARS,
  MAX_FORM_FIELDS,
  parseFormBody,
  regionOf,
} from '../../../shared/sources/form.js';
import { MAX_BODY_BYTES, WebhookRejectedError } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';
import { jsonRequest, urlencodedRequest } from '../../helpers/requests.js';
import { testRoute } from '../../helpers/routes.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;
/** The answer when our side cannot process a webhook: the same words whatever went wrong. */
const GENERIC_500 = {
  statusCode: 500,
  body: { error: { code: 'internal_error', message: 'the webhook could not be processed; try again later' } },
};

const route = testRoute({ defaultRegion: 'US', tags: ['web-form'] });
const now = new Date('2026-11-21T10:00:00.000Z');

function rejectionOf(fn: () => unknown): WebhookRejectedError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookRejectedError);
    return error as WebhookRejectedError;
  }
  throw new Error('expected a rejection');
}

describe('Function: parseFormBody', () => {
  it('reads a JSON object, turning numbers into strings', () => {
    expect(parseFormBody(jsonRequest({ name: 'Ada', phone: 4155550132, tags: ['a', 'b'], nested: { x: 1 } }))).toEqual({
      name: 'Ada',
      phone: '4155550132',
      tags: ['a', 'b'],
    });
  });

  it('reads a urlencoded form, collecting repeated fields', () => {
    expect(parseFormBody(urlencodedRequest('first_name=Ada&email=ada%40example.com&tags[]=a&tags[]=b'))).toEqual({
      first_name: 'Ada',
      email: 'ada@example.com',
      tags: ['a', 'b'],
    });
  });

  it('accepts a charset parameter and a +json media type', () => {
    expect(parseFormBody(jsonRequest({ a: '1' }, { 'content-type': 'application/JSON; charset=utf-8' }))).toEqual({
      a: '1',
    });
    expect(parseFormBody(jsonRequest({ a: '1' }, { 'content-type': 'application/vnd.form+json' }))).toEqual({ a: '1' });
  });

  it('answers 400 malformed_body for invalid JSON, naming the problem', () => {
    const error = rejectionOf(() => parseFormBody(jsonRequest('{"name": ')));
    expect([error.statusCode, error.code]).toEqual([400, 'malformed_body']);
    expect(error.message).toMatch(/^body is not valid JSON: /);
  });

  it('answers 400 for JSON that is not an object', () => {
    for (const body of ['[1,2]', '"text"', 'null', '42']) {
      expect(rejectionOf(() => parseFormBody(jsonRequest(body))).message).toBe(
        'body must be a JSON object of form fields',
      );
    }
  });

  it('answers 415 for other content types and for none', () => {
    const plain = rejectionOf(() => parseFormBody(jsonRequest('a=1', { 'content-type': 'text/plain' })));
    expect([plain.statusCode, plain.code]).toEqual([415, 'unsupported_content_type']);
    expect(plain.message).toContain('"text/plain"');
    const none = rejectionOf(() => parseFormBody({ ...jsonRequest('{}'), headers: {} }));
    expect(none.message).toContain('content type (none) is not supported');
  });

  it('answers 413 for a body over the limit', () => {
    const error = rejectionOf(() => parseFormBody(jsonRequest({ big: 'x'.repeat(MAX_BODY_BYTES) })));
    expect([error.statusCode, error.code]).toEqual([413, 'body_too_large']);
  });
});

describe('Function: parseFormBody under its caps', () => {
  /** `count` pairs `name=value`, joined as a browser would send them. */
  const repeated = (count: number, pair = 'a=1') => Array.from({ length: count }, () => pair).join('&');

  it('collects every repeat of a name, in order, up to MAX_FORM_FIELDS', () => {
    const values = Array.from({ length: MAX_FORM_FIELDS }, (_, i) => String(i));
    const fields = parseFormBody(urlencodedRequest(values.map((value) => `tags[]=${value}`).join('&')));
    expect(fields).toEqual({ tags: values });
  });

  it('answers 413 too_many_fields for a 256 KB body of 60,000 repeats of one name, naming the cap', () => {
    const body = repeated(60_000, 'aa=1').slice(0, MAX_BODY_BYTES);
    expect(body.length).toBeGreaterThan(MAX_BODY_BYTES - 5);
    const error = rejectionOf(() => parseFormBody(urlencodedRequest(body)));
    expect([error.statusCode, error.code]).toEqual([413, 'too_many_fields']);
    const cap = MAX_FORM_FIELDS;
    expect(error.message).toBe(`the submission has more than ${cap} fields or values; a form may send at most ${cap}`);
  });

  it('counts each repeat, each distinct name and each JSON list item against the same cap', () => {
    const over = MAX_FORM_FIELDS + 1;
    const distinct = Array.from({ length: over }, (_, i) => `f${i}=1`).join('&');
    const list = { phone: Array.from({ length: over }, () => '1') };
    const nested = Object.fromEntries(Array.from({ length: over }, (_, i) => [`f${i}`, { x: 1 }]));
    for (const request of [urlencodedRequest(repeated(over)), urlencodedRequest(distinct)]) {
      expect(rejectionOf(() => parseFormBody(request)).code).toBe('too_many_fields');
    }
    for (const request of [jsonRequest(list), jsonRequest(nested)]) {
      expect(rejectionOf(() => parseFormBody(request)).code).toBe('too_many_fields');
    }
    expect(parseFormBody(jsonRequest({ phone: list.phone.slice(1) }))).toEqual({ phone: list.phone.slice(1) });
  });

  it('answers 413 field_too_long for a name or value over MAX_FIELD_CHARS, without echoing it', () => {
    const long = 'x'.repeat(MAX_FIELD_CHARS + 1);
    for (const request of [urlencodedRequest(`m=${long}`), urlencodedRequest(`${long}=1`), jsonRequest({ m: long })]) {
      const error = rejectionOf(() => parseFormBody(request));
      expect([error.statusCode, error.code]).toEqual([413, 'field_too_long']);
      const length = MAX_FIELD_CHARS + 1;
      const message = `is ${length} characters long; at most ${MAX_FIELD_CHARS} are accepted`;
      expect(error.message).toMatch(new RegExp(`^a field (name|value) ${message}$`));
    }
    expect(parseFormBody(urlencodedRequest(`message=${long.slice(1)}`))).toEqual({ message: long.slice(1) });
  });

  it('keeps a field named __proto__ as an own field, whatever it holds', () => {
    const urlencoded = parseFormBody(urlencodedRequest('__proto__=a&__proto__=b&email=ada%40example.com'));
    expect(Object.getPrototypeOf(urlencoded)).toBe(Object.prototype);
    expect(Object.hasOwn(urlencoded, '__proto__')).toBe(true);
    // biome-ignore lint/suspicious/noProto: the test is that a field named __proto__ stays an own field.
    expect(urlencoded['__proto__']).toEqual(['a', 'b']);
    const json = parseFormBody(jsonRequest('{"__proto__": ["a"], "email": "ada@example.com"}'));
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    // biome-ignore lint/suspicious/noProto: as above, for a JSON form.
    expect(json['__proto__']).toEqual(['a']);
  });
});

describe('Function: mapFormToContact', () => {
  it('maps common field names into a contact with an E.164 phone', () => {
    const { contact, skipReason } = mapFormToContact(
      { first_name: 'Ada', last_name: 'Lovelace', email: 'Ada@Example.com', phone: '(415) 555-0132' },
      route,
      'k1',
      now,
    );
    expect(skipReason).toBeUndefined();
    expect(contact).toEqual({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
      rejectedPhones: [],
      tags: ['web-form'],
      attributes: {},
      origin: {
        source: 'form',
        route: 'default',
        eventKey: 'k1',
        occurredAt: '2026-11-21T10:00:00.000Z',
        personKey: 'ada@example.com',
      },
    });
  });

  it.each([
    [{ firstName: 'Ada', lastName: 'Lovelace' }],
    [{ 'First Name': 'Ada', 'Last-Name': 'Lovelace' }],
    [{ fname: 'Ada', surname: 'Lovelace' }],
    [{ name: 'Ada Lovelace' }],
    [{ full_name: '  Ada   Lovelace ' }],
  ])('finds the name in %j', (fields) => {
    const { contact } = mapFormToContact({ ...fields, email: 'ada@example.com' }, route, 'k', now);
    expect([contact.firstName, contact.lastName]).toEqual(['Ada', 'Lovelace']);
  });

  it('uses the country field as the phone region before the route default', () => {
    const { contact } = mapFormToContact({ phone: '020 7946 0018', country: 'GB' }, route, 'k', now);
    expect(contact.phones).toEqual([{ e164: '+442079460018' }]);
  });

  it('marks phones as WhatsApp numbers when the route says so', () => {
    const { contact } = mapFormToContact({ phone: '+14155550132' }, testRoute({ whatsappNumbers: true }), 'k', now);
    expect(contact.phones).toEqual([{ e164: '+14155550132', whatsapp: true }]);
  });

  it('uses the route field names instead of the automatic ones', () => {
    const custom = testRoute({
      defaultRegion: 'US',
      fields: { firstName: ['vorname'], email: ['contact_mail'], phone: ['handy'], attributes: ['utm_source', 'plan'] },
    });
    const { contact } = mapFormToContact(
      {
        vorname: 'Ada',
        name: 'Ignored Person',
        contact_mail: 'ada@example.com',
        email: 'other@example.com',
        handy: '4155550132',
        utm_source: 'ads',
        plan: '',
      },
      custom,
      'k',
      now,
    );
    expect(contact).toMatchObject({
      firstName: 'Ada',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
      attributes: { utm_source: 'ads' },
    });
  });

  it('adds tags from the form to the route tags, once each', () => {
    const { contact } = mapFormToContact(
      { email: 'ada@example.com', tags: 'vip, web-form,newsletter' },
      route,
      'k',
      now,
    );
    expect(contact.tags).toEqual(['web-form', 'vip', 'newsletter']);
  });

  it('keeps the valid details and records an invalid phone with its reason', () => {
    const { contact, skipReason } = mapFormToContact({ email: 'ada@example.com', phone: '12' }, route, 'k', now);
    expect(skipReason).toBeUndefined();
    expect(contact.phones).toEqual([]);
    expect(contact.rejectedPhones).toEqual([
      { input: '12', reason: expect.stringMatching(/^phone number /) as string },
    ]);
  });

  it('skips a submission with no usable email or phone, saying why', () => {
    expect(mapFormToContact({ name: 'Ada' }, route, 'k', now).skipReason).toBe(
      'no usable email or phone: no email or phone field found',
    );
    expect(mapFormToContact({ name: 'Ada', email: 'not-an-email', phone: 'n/a' }, route, 'k', now).skipReason).toBe(
      'no usable email or phone: email is not a valid address; phone number is not a phone number (region US)',
    );
  });

  it('skips a national phone when neither the form nor the route names a region', () => {
    const { skipReason } = mapFormToContact({ phone: '020 7946 0018' }, testRoute(), 'k', now);
    expect(skipReason).toContain('is a national number and no country is known for it');
  });
});

describe('Function: formEventKey', () => {
  it('uses the Idempotency-Key header when given', () => {
    expect(formEventKey(jsonRequest({ a: 1 }, { 'idempotency-key': 'abc-123' }))).toBe('form:default:abc-123');
  });

  it('hashes the exact body otherwise, so a re-sent submission has the same key', () => {
    expect(formEventKey(jsonRequest({ a: 1 }))).toBe(formEventKey(jsonRequest({ a: 1 })));
    expect(formEventKey(jsonRequest({ a: 1 }))).not.toBe(formEventKey(jsonRequest({ a: 2 })));
    expect(formEventKey(jsonRequest({ a: 1 }))).toMatch(/^form:default:sha256:[0-9a-f]{64}$/);
  });
});

describe('Function: ingestWebhook with the form source', () => {
  const routes = parseRoutesConfig({
    accounts: { twochat: { provider: 'twochat' } },
    sources: { form: { default: { deliverTo: ['twochat'], defaultRegion: 'US' } } },
  });
  const quietLogger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const deps = (accept: IngestDependencies['accept'] = vi.fn(async () => 'accepted' as const)) => ({
    routes,
    accept,
    logger: quietLogger,
    now: () => now,
  });

  it('answers 200 accepted with the event key once the job is accepted', async () => {
    const d = deps();
    const answer = await ingestWebhook(
      jsonRequest({ name: 'Ada', email: 'ada@example.com' }, { 'idempotency-key': 'x' }),
      formSource,
      d,
    );
    expect(answer).toEqual({ statusCode: 200, body: { status: 'accepted', eventKey: 'form:default:x' } });
    expect(d.accept).toHaveBeenCalledTimes(1);
    expect(d.accept).toHaveBeenCalledWith(
      expect.objectContaining({ firstName: 'Ada', emails: ['ada@example.com'] }),
      expect.objectContaining({ name: 'default' }),
      'form:default:x',
      undefined,
    );
  });

  it('answers 200 duplicate for an event accepted before', async () => {
    const answer = await ingestWebhook(
      jsonRequest({ email: 'ada@example.com' }, { 'idempotency-key': 'x' }),
      formSource,
      deps(vi.fn(async () => 'duplicate' as const)),
    );
    expect(answer).toEqual({ statusCode: 200, body: { status: 'duplicate', eventKey: 'form:default:x' } });
  });

  it('answers 404 unknown_route and accepts nothing', async () => {
    const d = deps();
    const answer = await ingestWebhook(jsonRequest({ email: 'ada@example.com' }, {}, 'nope'), formSource, d);
    expect(answer).toEqual({
      statusCode: 404,
      body: { error: { code: 'unknown_route', message: 'no route "nope" is configured for source "form"' } },
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it.each([
    ['malformed JSON', jsonRequest('{oops'), 400, 'malformed_body'],
    ['unsupported content type', jsonRequest('x', { 'content-type': 'text/csv' }), 415, 'unsupported_content_type'],
    ['oversized body', jsonRequest({ x: 'y'.repeat(MAX_BODY_BYTES) }), 413, 'body_too_large'],
  ])('answers %s with the error envelope and accepts nothing', async (_name, request, statusCode, code) => {
    const d = deps();
    const answer = await ingestWebhook(request, formSource, d);
    expect(answer.statusCode).toBe(statusCode);
    expect(answer.body).toEqual({ error: { code, message: expect.any(String) as string } });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('answers 200 skipped with the reason when there is no usable contact detail', async () => {
    const d = deps();
    const answer = await ingestWebhook(jsonRequest({ name: 'Ada', phone: '12' }), formSource, d);
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({
      status: 'skipped',
      reason: 'no usable email or phone: phone number is too short (region US)',
    });
    expect(d.accept).not.toHaveBeenCalled();
  });

  it('answers 503 when the event cannot be stored or queued, so the sender retries', async () => {
    const answer = await ingestWebhook(
      jsonRequest({ email: 'ada@example.com' }),
      formSource,
      deps(vi.fn(async () => Promise.reject(new Error('queue down')))),
    );
    expect(answer).toEqual({
      statusCode: 503,
      body: { error: { code: 'not_accepted', message: 'the event could not be stored; retry the webhook later' } },
    });
  });
});

describe('Function: mapFormToContact options', () => {
  it('tries typed keys before the automatic names, and the route names before both', () => {
    const fields = {
      'q3_who.first': 'Mary Ann',
      'q3_who.last': 'Evans',
      name: 'Someone Else',
      email: 'mae@example.com',
    };
    const typed = { firstName: ['q3_who.first'], lastName: ['q3_who.last'] };
    expect(mapFormToContact(fields, route, 'k', now, { typed }).contact).toMatchObject({
      firstName: 'Mary Ann',
      lastName: 'Evans',
    });
    const named = testRoute({ fields: { fullName: ['name'] } });
    expect(mapFormToContact(fields, named, 'k', now, { typed }).contact).toMatchObject({
      firstName: 'Someone',
      lastName: 'Else',
    });
  });

  it('uses fallback values only when nothing else gives the field', () => {
    const fallback = { email: ['respondent@example.com'] };
    expect(mapFormToContact({ name: 'Ada' }, route, 'k', now, { fallback }).contact.emails).toEqual([
      'respondent@example.com',
    ]);
    expect(mapFormToContact({ email: 'ada@example.com' }, route, 'k', now, { fallback }).contact.emails).toEqual([
      'ada@example.com',
    ]);
  });

  it('puts the source tag first, once', () => {
    expect(
      mapFormToContact({ email: 'ada@example.com', tags: 'jotform, vip' }, route, 'k', now, { sourceTag: 'jotform' })
        .contact.tags,
    ).toEqual(['jotform', 'web-form', 'vip']);
  });

  it('matches automatic names whatever their punctuation, as question titles have it', () => {
    const { contact } = mapFormToContact(
      { 'E-mail address:': 'ada@example.com', 'WhatsApp number': '+14155550132', 'Your full name': 'Ada Lovelace' },
      route,
      'k',
      now,
    );
    expect(contact).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
    });
  });

  it('reads a country given by its English name as the phone region', () => {
    const { contact } = mapFormToContact({ phone: '020 7946 0018', country: 'United Kingdom' }, testRoute(), 'k', now);
    expect(contact.phones).toEqual([{ e164: '+442079460018' }]);
  });
});

describe('Function: regionOf', () => {
  it.each([
    ['gb', 'GB'],
    [' US ', 'US'],
    ['United Kingdom', 'GB'],
    ['united states', 'US'],
    ['Germany', 'DE'],
    ['UK', 'GB'],
    ['USA', 'US'],
    ['Côte d’Ivoire', 'CI'],
  ])('reads %j as %s', (input, region) => {
    expect(regionOf(input)).toBe(region);
  });

  it('gives undefined for what is no country', () => {
    expect(regionOf('Atlantis')).toBeUndefined();
    expect(regionOf('ZZ')).toBeUndefined();
    expect(regionOf('')).toBeUndefined();
  });
});

describe('Function: requireToken', () => {
  const request = (headers: Record<string, string>, query: Record<string, string>) => ({
    ...jsonRequest({}, headers),
    query,
  });

  it('prefers the header to the query string', () => {
    expect(() => requireToken(request({ 'x-contact-relay-token': 't' }, { token: 'wrong' }), 't')).not.toThrow();
    expect(() => requireToken(request({ 'x-contact-relay-token': 'wrong' }, { token: 't' }), 't')).toThrow(
      /does not match/,
    );
  });

  it('treats an empty token as missing', () => {
    expect(() => requireToken(request({}, { token: ' ' }), 't')).toThrow(/needs its token/);
  });
});

describe('Function: ingestWebhook with an authenticated form route', () => {
  const routes = parseRoutesConfig({
    accounts: { twochat: { provider: 'twochat' } },
    sources: {
      form: {
        default: { deliverTo: ['twochat'], defaultRegion: 'US' },
        tokened: { deliverTo: ['twochat'], defaultRegion: 'US', auth: 'token' },
        signed: { deliverTo: ['twochat'], defaultRegion: 'US', auth: 'hmac' },
      },
    },
  });
  const quietLogger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const setup = (secret: SourceSecret = { secret: 's', token: 't' }) => {
    const accept = vi.fn<IngestDependencies['accept']>(async () => 'accepted');
    const sourceSecret = vi.fn(async () => secret);
    return { accept, sourceSecret, deps: { routes, accept, sourceSecret, logger: quietLogger, now: () => now } };
  };
  const body = JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com' });
  const sign = (text: string, secret = 's') => `sha256=${createHmac('sha256', secret).update(text).digest('base64')}`;
  const request = (
    routeName: string,
    options: { body?: string; headers?: Record<string, string>; query?: Record<string, string> } = {},
  ) => ({
    ...jsonRequest(options.body ?? body, options.headers ?? {}, routeName),
    query: options.query ?? {},
  });

  it('accepts a token in the query string or in the X-Contact-Relay-Token header', async () => {
    const { accept, deps } = setup();
    expect(await ingestWebhook(request('tokened', { query: { token: 't' } }), formSource, deps)).toMatchObject(
      ACCEPTED,
    );
    expect(
      await ingestWebhook(request('tokened', { headers: { 'x-contact-relay-token': 't' } }), formSource, deps),
    ).toMatchObject(ACCEPTED);
    expect(accept).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['no token', {}, 'missing_token'],
    ['a wrong token', { query: { token: 'T' } }, 'invalid_token'],
    ['a longer token', { headers: { 'x-contact-relay-token': 'tt' } }, 'invalid_token'],
  ])('answers 401 for %s and accepts nothing', async (_name, options, code) => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(request('tokened', options), formSource, deps);
    expect(answer).toEqual({ statusCode: 401, body: { error: { code, message: expect.any(String) as string } } });
    expect(accept).not.toHaveBeenCalled();
  });

  it('checks the token before it reads the body: a malformed body without a token is a 401', async () => {
    const { deps } = setup();
    expect((await ingestWebhook(request('tokened', { body: '{oops' }), formSource, deps)).statusCode).toBe(401);
    const answer = await ingestWebhook(request('tokened', { body: '{oops', query: { token: 't' } }), formSource, deps);
    expect(answer.body).toMatchObject({ error: { code: 'malformed_body' } });
    expect(answer.statusCode).toBe(400);
  });

  it('accepts a body signed with the route secret in X-Contact-Relay-Signature', async () => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(
      request('signed', { headers: { 'x-contact-relay-signature': sign(body) } }),
      formSource,
      deps,
    );
    expect(answer).toMatchObject(ACCEPTED);
    expect(accept).toHaveBeenCalledWith(
      expect.objectContaining({ emails: ['ada@example.com'] }),
      expect.objectContaining({ name: 'signed' }),
      expect.any(String),
      undefined,
    );
  });

  it('keys a signed body by its bytes as well, so a fresh Idempotency-Key on a captured body is still one event', async () => {
    const { accept, deps } = setup();
    const signature = { 'x-contact-relay-signature': sign(body) };
    for (const key of ['first', 'fresh']) {
      await ingestWebhook(request('signed', { headers: { ...signature, 'idempotency-key': key } }), formSource, deps);
    }
    const bodyKeys = accept.mock.calls.map((call) => call[4]);
    expect(bodyKeys[0]).toMatch(/^form:body:sha256:[0-9a-f]{64}$/);
    expect(bodyKeys[1]).toBe(bodyKeys[0]);
    expect(accept.mock.calls.map((call) => call[2])).toEqual(['form:signed:first', 'form:signed:fresh']);
  });

  it.each([
    ['no signature', {}, 'missing_signature'],
    ['a signature with another secret', { 'x-contact-relay-signature': sign(body, 'other') }, 'invalid_signature'],
    ['a signature of another body', { 'x-contact-relay-signature': sign(`${body} `) }, 'invalid_signature'],
    ['a signature that is not base64', { 'x-contact-relay-signature': 'sha256=not base64!' }, 'invalid_signature'],
    ['a token instead of a signature', { 'x-contact-relay-token': 't' }, 'missing_signature'],
  ])('answers 401 for %s and accepts nothing', async (_name, headers, code) => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(request('signed', { headers }), formSource, deps);
    expect(answer.statusCode).toBe(401);
    expect(answer.body).toMatchObject({ error: { code } });
    expect(accept).not.toHaveBeenCalled();
  });

  it('answers 400 for a malformed body that is correctly signed', async () => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(
      request('signed', { body: '[1]', headers: { 'x-contact-relay-signature': sign('[1]') } }),
      formSource,
      deps,
    );
    expect(answer).toEqual({
      statusCode: 400,
      body: { error: { code: 'malformed_body', message: 'body must be a JSON object of form fields' } },
    });
    expect(accept).not.toHaveBeenCalled();
  });

  it('never reads the secret for an open route', async () => {
    const { sourceSecret, deps } = setup();
    expect(await ingestWebhook(request('default'), formSource, deps)).toMatchObject(ACCEPTED);
    expect(sourceSecret).not.toHaveBeenCalled();
  });

  it('answers 500 when the route secret lacks what the route checks, so the sender retries', async () => {
    for (const [routeName, secret, field] of [
      ['tokened', { secret: 's' }, 'token'],
      ['signed', { token: 't' }, 'secret'],
    ] as const) {
      const { accept, deps } = setup(secret);
      const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
      const tokened = request(routeName, { query: { token: 't' } });
      const answer = await ingestWebhook(tokened, formSource, { ...deps, logger });
      expect(answer).toEqual(GENERIC_500);
      expect(logger.error).toHaveBeenCalledWith('source secret unusable', {
        source: 'form',
        route: routeName,
        code: 'source_secret_unavailable',
        error: expect.objectContaining({ message: expect.stringContaining(`needs "${field}"`) as string }) as Error,
      });
      expect(accept).not.toHaveBeenCalled();
    }
  });

  it('answers an unauthenticated caller a generic 500 naming no stage or secret; only the log names them', async () => {
    const secretName = 'contact-relay/prod/source/form';
    for (const failure of [new SecretNotFoundError(secretName), new SecretFormatError(secretName, 'needs "token"')]) {
      const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
      const sourceSecret = vi.fn(async () => Promise.reject(failure));
      const deps = { routes, accept: vi.fn<IngestDependencies['accept']>(), sourceSecret, logger, now: () => now };
      // No token at all: anyone who knows the URL can send this.
      const answer = await ingestWebhook(request('tokened'), formSource, deps);
      expect(answer).toEqual(GENERIC_500);
      expect(JSON.stringify(answer)).not.toMatch(/prod|contact-relay|source\/form|secret/);
      const [message, detail] = logger.error.mock.calls[0] as [string, { code: string; error: Error }];
      expect([message, detail.code]).toEqual(['source secret unusable', 'source_secret_unavailable']);
      expect(detail.error.message).toBe(failure.message);
      expect(detail.error.message).toContain(secretName);
    }
  });

  it('verifies a base64-encoded API Gateway body against the bytes the sender signed', async () => {
    const { accept, deps } = setup();
    const text = JSON.stringify({ name: 'Zoë Ōkubo', email: 'zoe@example.com' });
    const event = httpApiEvent(
      'form',
      'signed',
      text,
      { 'Content-Type': 'application/json', 'X-Contact-Relay-Signature': sign(text) },
      true,
    );
    const answer = await ingestWebhook(fromHttpApiEvent(event, 'form'), formSource, deps);
    expect(answer).toMatchObject(ACCEPTED);
    expect(accept).toHaveBeenCalledWith(
      expect.objectContaining({ firstName: 'Zoë', lastName: 'Ōkubo' }),
      expect.anything(),
      expect.any(String),
      undefined,
    );
    const tokened = {
      ...httpApiEvent('form', 'tokened', text, { 'content-type': 'application/json' }, true),
      queryStringParameters: { token: 't' },
    };
    expect(await ingestWebhook(fromHttpApiEvent(tokened, 'form'), formSource, deps)).toMatchObject(ACCEPTED);
  });
});
