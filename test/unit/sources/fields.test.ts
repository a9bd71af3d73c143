import { describe, expect, it } from 'vitest';
import { ContactSchema } from '../../../shared/contact.js';
import { SecretFormatError } from '../../../shared/secrets.js';
import {
  checkBody,
  firstTimestamp,
  mapTypedFields,
  readJsonBody,
  signingSecret,
  type TypedField,
} from '../../../shared/sources/fields.js';
import * as z from '../../../shared/zod.js';
import { WebhookRejectedError } from '../../../shared/webhook.js';
import { jsonRequest } from '../../helpers/requests.js';
import { testRoute } from '../../helpers/routes.js';

const now = new Date('2026-11-21T10:00:00.000Z');
const route = testRoute({ source: 'tally', defaultRegion: 'US', tags: ['web-lead'] });
const options = { source: 'tally' as const, eventKey: 'tally:form:evt-1', now };

const map = (fields: TypedField[], onRoute = route, extra: { occurredAt?: string } = {}) =>
  mapTypedFields(fields, onRoute, { ...options, ...extra });

function rejectionOf(fn: () => unknown): WebhookRejectedError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookRejectedError);
    return error as WebhookRejectedError;
  }
  throw new Error('expected a rejection');
}

describe('Function: mapTypedFields', () => {
  it('maps typed email and phone fields and named name fields into a valid contact', () => {
    const { contact, skipReason } = map([
      { names: ['q1', 'First name'], type: 'text', value: 'Ada' },
      { names: ['q2', 'Last name'], type: 'text', value: 'Lovelace' },
      { names: ['q3', 'Where can we reach you?'], type: 'email', value: 'Ada@Example.com' },
      { names: ['q4', 'In case the line drops'], type: 'phone', value: '+1 415 555 0132' },
    ]);
    expect(skipReason).toBeUndefined();
    expect(ContactSchema.parse(contact)).toEqual(contact);
    expect(contact).toEqual({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
      rejectedPhones: [],
      tags: ['tally', 'web-lead'],
      attributes: {},
      origin: {
        source: 'tally',
        route: 'default',
        eventKey: 'tally:form:evt-1',
        occurredAt: '2026-11-21T10:00:00.000Z',
        personKey: 'ada@example.com',
      },
    });
  });

  it('prefers a typed field over one that is only named like it', () => {
    const { contact } = map([
      { names: ['email'], type: 'text', value: 'someone-else@example.com' },
      { names: ['q9'], type: 'email', value: 'ada@example.com' },
    ]);
    expect(contact.emails).toEqual(['ada@example.com']);
  });

  it('finds fields by the automatic names, ignoring case, spaces and punctuation', () => {
    const { contact } = map([
      { names: ['E-mail:'], value: 'ada@example.com' },
      { names: ['Phone Number'], value: '(415) 555-0132' },
      { names: ['FIRST_NAME'], value: 'Ada' },
    ]);
    expect(contact).toMatchObject({
      firstName: 'Ada',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
    });
  });

  it('reads question-style labels of free-text and hidden fields', () => {
    const { contact } = map([
      { names: ['JwWggjAKtOkA', 'What is your first name?'], type: 'text', value: 'Laura' },
      { names: ['x1', 'And your surname, please'], type: 'text', value: 'Palmer' },
      { names: ['x2', 'Your e-mail'], type: 'text', value: 'laura@example.com' },
      { names: ['x3', 'Mobile phone (WhatsApp)'], type: 'hidden', value: '+14155550132' },
    ]);
    expect(contact).toMatchObject({
      firstName: 'Laura',
      lastName: 'Palmer',
      emails: ['laura@example.com'],
      phones: [{ e164: '+14155550132' }],
    });
  });

  it('never reads a choice, a number or a yes/no answer by its label words', () => {
    const { contact, skipReason } = map([
      { names: ['q1', 'Which email newsletter do you want?'], type: 'choice', value: 'weekly@example.com' },
      { names: ['q2', 'May we phone you?'], type: 'boolean', value: true },
      { names: ['q3', 'How many phone lines do you have?'], type: 'number', value: 4155550132 },
    ]);
    expect(contact.emails).toEqual([]);
    expect(contact.phones).toEqual([]);
    expect(skipReason).toBe('no usable email or phone: no email or phone field found');
  });

  it('does not read the field that gave the email as a phone too', () => {
    const { contact } = map([{ names: ['Email or phone'], type: 'text', value: 'ada@example.com' }]);
    expect(contact).toMatchObject({ emails: ['ada@example.com'], phones: [], rejectedPhones: [] });
  });

  it('splits a full name when there is no first or last name', () => {
    const { contact } = map([
      { names: ['What is your full name?'], type: 'text', value: '  Grace   Brewster Hopper ' },
      { names: ['e'], type: 'email', value: 'grace@example.com' },
    ]);
    expect([contact.firstName, contact.lastName]).toEqual(['Grace', 'Brewster Hopper']);
  });

  it('uses the route config names alone for a part it names, matched against any name without case', () => {
    const custom = testRoute({
      source: 'typeform',
      fields: {
        fullName: ['wie heißt du?'],
        phone: ['HANDYNUMMER'],
        email: ['postfach'],
        country: ['land'],
        attributes: ['kampagne', 'Interessen', 'newsletter'],
      },
    });
    const { contact, skipReason } = mapTypedFields(
      [
        { names: ['id1', 'ref1', 'Wie heißt du?'], type: 'text', value: 'Grace Hopper' },
        { names: ['id2', 'Handynummer'], type: 'text', value: '020 7946 0018' },
        { names: ['id3', 'postfach', 'Wohin dürfen wir schreiben?'], type: 'text', value: 'grace@example.com' },
        // A typed email the config does not name is ignored: the config decides that part.
        { names: ['id4'], type: 'email', value: 'assistant@example.com' },
        { names: ['land'], type: 'hidden', value: 'gb' },
        { names: ['kampagne'], type: 'hidden', value: 'herbst' },
        { names: ['id5', 'Interessen'], type: 'choice', value: ['Workshop', 'Beratung'] },
        { names: ['id6', 'Newsletter'], type: 'boolean', value: false },
      ],
      custom,
      { source: 'typeform', eventKey: 'k', now },
    );
    expect(skipReason).toBeUndefined();
    expect(contact).toMatchObject({
      firstName: 'Grace',
      lastName: 'Hopper',
      emails: ['grace@example.com'],
      phones: [{ e164: '+442079460018' }],
      attributes: { kampagne: 'herbst', Interessen: 'Workshop, Beratung', newsletter: 'false' },
    });
  });

  it('tries the configured names in order, moving on when one gives no valid value', () => {
    const custom = testRoute({ defaultRegion: 'US', fields: { phone: ['mobile', 'landline'] } });
    const { contact } = mapTypedFields(
      [
        { names: ['landline'], value: '(415) 555-0132' },
        { names: ['mobile'], value: 'n/a' },
      ],
      custom,
      options,
    );
    expect(contact.phones).toEqual([{ e164: '+14155550132' }]);
    expect(contact.rejectedPhones).toEqual([
      { input: 'n/a', reason: 'phone number is not a phone number (region US)' },
    ]);
  });

  it('reads a national phone with the region of a hidden country field before the route default', () => {
    const { contact } = map([
      { names: ['Mobile'], type: 'text', value: '0151 23456789' },
      { names: ['country'], type: 'hidden', value: 'DE' },
    ]);
    expect(contact.phones).toEqual([{ e164: '+4915123456789' }]);
  });

  it('treats a phone given as a JSON number as a phone', () => {
    const { contact } = map([
      { names: ['Phone Number'], value: 2079460018 },
      { names: ['country'], value: 'GB' },
    ]);
    expect(contact.phones).toEqual([{ e164: '+442079460018' }]);
  });

  it('records an invalid JSON-number phone with its digits and the reason', () => {
    const { contact, skipReason } = map([{ names: ['Phone Number'], value: 15550000000 }]);
    expect(contact.rejectedPhones).toEqual([
      { input: '15550000000', reason: 'phone number is not a valid number (region US)' },
    ]);
    expect(skipReason).toBe('no usable email or phone: phone number is not a valid number (region US)');
  });

  it('keeps the valid details, records an invalid phone, and skips only when nothing is usable', () => {
    const kept = map([
      { names: ['e'], type: 'email', value: 'ada@example.com' },
      { names: ['p'], type: 'phone', value: '12' },
    ]);
    expect(kept.skipReason).toBeUndefined();
    expect(kept.contact.rejectedPhones).toEqual([
      { input: '12', reason: expect.stringMatching(/^phone number /) as string },
    ]);

    const skipped = map([
      { names: ['e'], type: 'email', value: 'not-an-email' },
      { names: ['p'], type: 'phone', value: 'n/a' },
    ]);
    expect(skipped.skipReason).toBe(
      'no usable email or phone: email is not a valid address; phone number is not a phone number (region US)',
    );
  });

  it('skips a national phone when neither the form nor the route names a region', () => {
    const { skipReason } = mapTypedFields([{ names: ['phone'], value: '020 7946 0018' }], testRoute(), {
      ...options,
      source: 'form',
    });
    expect(skipReason).toContain('is a national number and no country is known for it');
  });

  it('tags with the source, the route tags and a tags field, once each', () => {
    const { contact } = map([
      { names: ['e'], type: 'email', value: 'ada@example.com' },
      { names: ['tags'], type: 'hidden', value: 'vip, web-lead,tally' },
    ]);
    expect(contact.tags).toEqual(['tally', 'web-lead', 'vip']);
    const listed = mapTypedFields(
      [
        { names: ['e'], type: 'email', value: 'ada@example.com' },
        { names: ['Topics'], type: 'choice', value: ['News', 'Events'] },
      ],
      testRoute({ fields: { tags: ['topics'] } }),
      options,
    );
    expect(listed.contact.tags).toEqual(['tally', 'News', 'Events']);
  });

  it('marks phones as WhatsApp numbers when the route says so', () => {
    const { contact } = mapTypedFields(
      [{ names: ['p'], type: 'phone', value: '+14155550132' }],
      testRoute({ whatsappNumbers: true }),
      options,
    );
    expect(contact.phones).toEqual([{ e164: '+14155550132', whatsapp: true }]);
    expect(contact.origin.personKey).toBe('+14155550132');
  });

  it('dates the contact by the submission time when the payload gives a valid one', () => {
    const fields: TypedField[] = [{ names: ['e'], type: 'email', value: 'ada@example.com' }];
    expect(map(fields, route, { occurredAt: '2018-01-18T18:17:02Z' }).contact.origin.occurredAt).toBe(
      '2018-01-18T18:17:02.000Z',
    );
    expect(map(fields, route, { occurredAt: 'yesterday' }).contact.origin.occurredAt).toBe(now.toISOString());
  });
});

describe('Function: readJsonBody and checkBody', () => {
  const Schema = z.object({ id: z.string() });

  it('returns the parsed body for JSON media types', () => {
    expect(readJsonBody(jsonRequest({ id: 'a' }), 'Test')).toEqual({ id: 'a' });
    expect(
      readJsonBody(jsonRequest({ id: 'a' }, { 'content-type': 'application/json; charset=utf-8' }), 'Test'),
    ).toEqual({ id: 'a' });
  });

  it('answers 415 for other media types and none', () => {
    const error = rejectionOf(() =>
      readJsonBody(jsonRequest('id=a', { 'content-type': 'application/x-www-form-urlencoded' }), 'Test'),
    );
    expect([error.statusCode, error.code, error.message]).toEqual([
      415,
      'unsupported_content_type',
      'content type "application/x-www-form-urlencoded" is not supported; Test webhooks are application/json',
    ]);
    expect(rejectionOf(() => readJsonBody({ ...jsonRequest('{}'), headers: {} }, 'Test')).statusCode).toBe(415);
  });

  it('answers 400 malformed_body for invalid JSON and for a body of the wrong shape, naming the field', () => {
    const invalid = rejectionOf(() => readJsonBody(jsonRequest('{"id": '), 'Test'));
    expect([invalid.statusCode, invalid.code]).toEqual([400, 'malformed_body']);
    const wrong = rejectionOf(() => checkBody(Schema, { id: 7 }, 'Test'));
    expect([wrong.statusCode, wrong.code]).toEqual([400, 'malformed_body']);
    expect(wrong.message).toMatch(/^body is not a Test webhook: id: /);
  });
});

describe('Function: signingSecret', () => {
  const context = (secret: { secret?: string; token?: string }) => ({ now, secret: async () => secret });

  it('returns the secret', async () => {
    await expect(signingSecret(context({ secret: 's3cret' }), route)).resolves.toBe('s3cret');
  });

  it('is a secret format error when the secret holds only a token', async () => {
    await expect(signingSecret(context({ token: 't' }), route)).rejects.toThrow(SecretFormatError);
    await expect(
      signingSecret(
        context({ token: 't' }),
        testRoute({ source: 'tally', secretName: 'contact-relay/test/source/my-secret' }),
      ),
    ).rejects.toThrow('secret "contact-relay/test/source/my-secret" has the wrong shape: needs "secret"');
  });
});

describe('Function: firstTimestamp', () => {
  it('gives the first valid time as ISO 8601', () => {
    expect(firstTimestamp(undefined, null, 'nope', '2023-06-28T15:00:21.000Z')).toBe('2023-06-28T15:00:21.000Z');
    expect(firstTimestamp()).toBeUndefined();
  });
});
