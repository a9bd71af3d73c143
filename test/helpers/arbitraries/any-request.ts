/** Any request at all: bodies, content types, header names and values a request may carry, genuine or not. */
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../../../shared/webhook.js';
import { NOW, TOKEN } from './clock-and-secret.js';
import { fieldName } from './fields.js';
import { json, multipartBody, urlencoded, type SourceCase } from './source-cases.js';

/** Bodies a request may carry: random bytes and text, JSON, forms, multipart, the WooCommerce ping, the source's own payloads, and (rarely) more than the limit. */
export function anyBody(sourceCase: SourceCase): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 20, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text, 'utf8')) },
    { weight: 20, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json) },
    { weight: 30, arbitrary: sourceCase.genuine.map((genuine) => genuine.body) },
    {
      weight: 10,
      arbitrary: fc
        .dictionary(
          fc.oneof(fieldName, fc.constantFrom('formID', 'submissionID', 'rawRequest')),
          fc.string({ maxLength: 16 }),
          { maxKeys: 4 },
        )
        .map(urlencoded),
    },
    {
      weight: 10,
      arbitrary: fc
        .dictionary(fc.constantFrom('formID', 'submissionID', 'rawRequest', 'x'), fc.string({ maxLength: 16 }), {
          maxKeys: 4,
        })
        .map((fields) => multipartBody(fields).body),
    },
    { weight: 5, arbitrary: fc.stringMatching(/^webhook_id=\d{1,22}$/).map((text) => Buffer.from(text)) },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 1, max: 64 }).map((extra) => Buffer.alloc(MAX_BODY_BYTES + extra, 0x7b)),
    },
  );
}

export const contentType: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/vnd.api+json',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'multipart/form-data; boundary=fcboundary7d3a91c2e4',
    'multipart/form-data; boundary=',
    'multipart/form-data; boundary="x"',
    'text/plain',
    'application/xml',
    ' ',
    ';',
    'application/json;;',
  ),
  fc.string({ maxLength: 30 }),
);

export const HEADER_NAMES = [
  'content-type',
  'Content-Type',
  'x-contact-relay-signature',
  'x-contact-relay-token',
  'typeform-signature',
  'tally-signature',
  'x-webflow-signature',
  'x-webflow-timestamp',
  'x-shopify-hmac-sha256',
  'x-shopify-topic',
  'x-shopify-shop-domain',
  'x-shopify-webhook-id',
  'x-shopify-event-id',
  'x-wc-webhook-signature',
  'x-wc-webhook-topic',
  'x-wc-webhook-source',
  'x-wc-webhook-delivery-id',
  'idempotency-key',
  '__proto__',
  'constructor',
] as const;

const randomDigest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));

/** Values for any header: text, random digests in every spelling, timestamps, topics, shop domains, the token itself. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  randomDigest.map((digest) => digest.toString('base64')),
  randomDigest.map((digest) => `sha256=${digest.toString('base64')}`),
  randomDigest.map((digest) => digest.toString('hex')),
  fc.integer({ min: -10 * 60_000, max: 10 * 60_000 }).map((offset) => String(NOW.getTime() + offset)),
  fc.constantFrom(
    'orders/create',
    'customers/update',
    'order.created',
    'customer.created',
    'products/update',
    'jsmith.myshopify.com',
    'evil.example.com',
    'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  ),
  fc.constantFrom(TOKEN, ` ${TOKEN} `, `${TOKEN}x`, ''),
);

export const headerName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HEADER_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
