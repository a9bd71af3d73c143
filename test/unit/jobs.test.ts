/**
 * Delivery jobs always fit SQS: the contact's text is cleaned of what SQS
 * refuses and its lists are capped, the event key travels exactly (escaped
 * where SQS needs it), and a job too large to queue is refused before
 * anything is recorded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cleanText,
  fitContact,
  MAX_ATTRIBUTE_LENGTH,
  MAX_ATTRIBUTES,
  MAX_EMAILS,
  MAX_PHONES,
  MAX_REJECTED_INPUT_LENGTH,
  MAX_REJECTED_PHONES,
  MAX_TAGS,
} from '../../shared/contact.js';
import {
  encodeDeliveryJob,
  InvalidJobError,
  JobTooLargeError,
  MAX_JOB_BYTES,
  parseDeliveryJob,
  toDeliveryJob,
} from '../../shared/jobs.js';
import { testContact } from '../helpers/contacts.js';
import { testRoute } from '../helpers/routes.js';

const NOW = new Date('2026-11-21T10:00:00.000Z');
const route = testRoute();

/**
 * SQS's allowed set, written independently of the code under test: #x9 | #xA |
 * #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 */
function sqsAccepts(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      index++;
      continue;
    }
    const allowed = unit === 0x9 || unit === 0xa || unit === 0xd;
    if (!allowed && !(unit >= 0x20 && unit <= 0xd7ff) && !(unit >= 0xe000 && unit <= 0xfffd)) return false;
  }
  return true;
}

/** Any UTF-16 text: lone surrogates, controls and noncharacters included. */
const anyText = fc.string({ unit: 'binary', maxLength: 40 });

describe('Function: cleanText', () => {
  it('removes U+FFFF and the other noncharacters, keeping the text around them', () => {
    expect(cleanText('Ada\uFFFF Love\uFFFElace\uFDD0\u{1FFFF}')).toBe('Ada Lovelace');
  });

  it('removes control characters except tab, line feed and carriage return', () => {
    expect(cleanText('A\u0000d\u0001a\u007F\u0085\t1\n2\r3')).toBe('Ada\t1\n2\r3');
  });

  it('keeps emoji and every other character', () => {
    expect(cleanText('José 😀 Łódź 漢字 \uFFFD')).toBe('José 😀 Łódź 漢字 \uFFFD');
  });

  it('turns a lone surrogate (half an emoji) into U+FFFD', () => {
    expect(cleanText('Ada\uD83D')).toBe('Ada\uFFFD');
    expect(cleanText('\uDE00Ada')).toBe('\uFFFDAda');
  });

  it('leaves nothing SQS refuses, whatever the text', () => {
    fc.assert(fc.property(anyText, (text) => sqsAccepts(cleanText(text))));
  });
});

describe('Function: fitContact', () => {
  it('caps phones, emails, rejected phones, tags and attributes, keeping the first of each', () => {
    const contact = testContact({
      emails: Array.from({ length: 30 }, (_, i) => `person${i}@example.com`),
      phones: Array.from({ length: 30 }, (_, i) => ({ e164: `+1415555${String(i).padStart(4, '0')}` })),
      rejectedPhones: Array.from({ length: 60_000 }, () => ({ input: '1', reason: 'phone number is too short' })),
      tags: ['form', 'web-form', ...Array.from({ length: 100 }, (_, i) => `tag-${i}`)],
      attributes: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`field${i}`, `value ${i}`])),
    });
    const fitted = fitContact(contact);
    expect(fitted.emails).toEqual(contact.emails.slice(0, MAX_EMAILS));
    expect(fitted.phones).toEqual(contact.phones.slice(0, MAX_PHONES));
    expect(fitted.rejectedPhones).toHaveLength(MAX_REJECTED_PHONES);
    expect(fitted.tags).toEqual(contact.tags.slice(0, MAX_TAGS));
    expect(Object.keys(fitted.attributes)).toEqual(Object.keys(contact.attributes).slice(0, MAX_ATTRIBUTES));
  });

  it('cuts a long rejected input and a long attribute at a character boundary, marked with "…"', () => {
    const fitted = fitContact(
      testContact({
        rejectedPhones: [{ input: '1'.repeat(500), reason: 'phone number is too long' }],
        attributes: { message: '😀'.repeat(5000) },
      }),
    );
    expect(fitted.rejectedPhones[0]?.input).toBe(`${'1'.repeat(MAX_REJECTED_INPUT_LENGTH - 1)}…`);
    expect(fitted.attributes['message']).toBe(`${'😀'.repeat(MAX_ATTRIBUTE_LENGTH - 1)}…`);
  });

  it('drops a "tag" longer than a tag and repeats of one', () => {
    const tags = ['vip', 'x'.repeat(101), 'vip', 'new\uFFFF', 'new'];
    expect(fitContact(testContact({ tags })).tags).toEqual(['vip', 'new']);
  });

  it('cleans names, address, tags, attributes and the person key; a name that was only junk is gone', () => {
    const fitted = fitContact(
      testContact({
        firstName: '\uFFFF',
        lastName: 'Love\u0000lace',
        address: { city: 'Lon\uFFFEdon', line1: '\u0001' },
        tags: ['v\uFFFFip'],
        attributes: { 'no\uFFFFte': 'hi\uFFFF' },
        origin: {
          source: 'form',
          route: 'default',
          eventKey: 'form:default:k\uFFFF',
          occurredAt: NOW.toISOString(),
          personKey: 'id\uFFFF',
        },
      }),
    );
    expect(fitted).toMatchObject({ lastName: 'Lovelace', tags: ['vip'], attributes: { note: 'hi' } });
    expect(fitted.firstName).toBeUndefined();
    expect(fitted.address).toEqual({ city: 'London' });
    expect(fitted.origin.personKey).toBe('id');
    // The event key is the dedupe key: never changed.
    expect(fitted.origin.eventKey).toBe('form:default:k\uFFFF');
  });

  it('leaves a contact that is already within limits and clean as it was', () => {
    const contact = testContact({
      address: { city: 'London', countryCode: 'GB' },
      tags: ['vip'],
      attributes: { plan: 'pro' },
      consent: { email: true },
    });
    expect(fitContact(contact)).toEqual(contact);
  });
});

describe('Function: encodeDeliveryJob', () => {
  it('is built from the fitted contact', () => {
    const rejectedPhones = Array.from({ length: 50 }, () => ({ input: '1', reason: 'too short' }));
    const job = toDeliveryJob(testContact({ firstName: 'Ada\uFFFF', rejectedPhones }), route, 'k', NOW);
    expect(job.contact.firstName).toBe('Ada');
    expect(job.contact.rejectedPhones).toHaveLength(MAX_REJECTED_PHONES);
  });

  it('escapes U+FFFF in the event key, and parsing gives the very same key back', () => {
    const body = encodeDeliveryJob(toDeliveryJob(testContact(), route, 'typeform:evt\uFFFF\uFFFE', NOW));
    expect(body).toContain('typeform:evt\\uffff\\ufffe');
    expect(sqsAccepts(body)).toBe(true);
    expect(parseDeliveryJob(body).eventKey).toBe('typeform:evt\uFFFF\uFFFE');
  });

  it('gives SQS only characters it accepts, and delivery the same job back, whatever the text', () => {
    fc.assert(
      fc.property(anyText, anyText, anyText, (name, tag, eventKey) => {
        const contact = testContact({ firstName: name, tags: [tag] });
        const job = toDeliveryJob(contact, route, `form:default:${eventKey}`, NOW);
        const body = encodeDeliveryJob(job);
        expect(sqsAccepts(body)).toBe(true);
        expect(parseDeliveryJob(body)).toEqual(job);
      }),
    );
  });

  it(`refuses a job over ${MAX_JOB_BYTES} bytes (UTF-8) with JobTooLargeError, and takes one at the limit`, () => {
    const job = toDeliveryJob(testContact(), route, 'k', NOW);
    const named = (firstName: string) => ({ ...job, contact: { ...job.contact, firstName } });
    const room = MAX_JOB_BYTES - Buffer.byteLength(encodeDeliveryJob(named('')));
    // "é" is one character and two UTF-8 bytes: the limit is in bytes.
    const fill = `${'é'.repeat(Math.floor(room / 2))}${room % 2 === 1 ? 'a' : ''}`;
    expect(Buffer.byteLength(encodeDeliveryJob(named(fill)))).toBe(MAX_JOB_BYTES);
    const over = named(`${fill}a`);
    expect(() => encodeDeliveryJob(over)).toThrow(JobTooLargeError);
    expect(() => encodeDeliveryJob(over)).toThrow(`${MAX_JOB_BYTES + 1} bytes`);
  });
});

describe('Function: toDeliveryJob (a lead named by reference)', () => {
  const lead = {
    kind: 'meta-lead' as const,
    leadgenId: '123456789012345678',
    pageId: '100000000000001',
    formId: '987',
  };
  const leadRoute = testRoute({ source: 'meta-leads' });

  it('carries the reference, not a contact, and parses back to the same job', () => {
    const job = toDeliveryJob(lead, leadRoute, 'meta-leads:123456789012345678', NOW);
    expect(job).toEqual({
      v: 1,
      eventKey: 'meta-leads:123456789012345678',
      source: 'meta-leads',
      route: 'default',
      lead,
      acceptedAt: NOW.toISOString(),
    });
    expect(parseDeliveryJob(encodeDeliveryJob(job))).toEqual(job);
  });

  it('refuses a job with neither a contact nor a valid reference', () => {
    const job = toDeliveryJob(lead, leadRoute, 'meta-leads:1', NOW);
    expect(() => parseDeliveryJob(JSON.stringify({ ...job, lead: undefined }))).toThrow(InvalidJobError);
    expect(() => parseDeliveryJob(JSON.stringify({ ...job, lead: { ...lead, leadgenId: '12a' } }))).toThrow(
      InvalidJobError,
    );
  });
});
