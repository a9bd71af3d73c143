/**
 * The inputs of the bench, built from the test fixtures: a ~10 KB Shopify
 * order as Shopify sends it (compact JSON), the Typeform response, and the
 * contacts delivered in bulk. Everything is deterministic.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Contact } from '../../shared/contact.js';

export const STAGE = 'bench';
export const SHOP_DOMAIN = 'bench-shop.myshopify.com';
export const SOURCE_SECRETS = { shopify: 'bench-shopify-signing-secret', typeform: 'bench-typeform-signing-secret' };
export const PROVIDER_SECRETS: Record<string, Record<string, unknown>> = {
  twochat: { apiKey: 'bench-2chat-key' },
  kirim: { token: 'bench-kirim-token', phoneNumberId: '106540352242922' },
  callbell: { token: 'bench-callbell-token' },
  chatwoot: {
    baseUrl: 'https://online.99digital.co.il',
    accountId: 1,
    inboxId: 1,
    accessToken: 'bench-chatwoot-token',
  },
};
export const PROVIDER_KEYS = {
  twochat: ['bench-2chat-key'],
  kirim: ['bench-kirim-token'],
  callbell: ['bench-callbell-token'],
  chatwoot: ['bench-chatwoot-token'],
};

/** Every secret the bench's functions read, as local/secrets.json holds them. */
export function benchSecrets(): Record<string, unknown> {
  return {
    [`contact-relay/${STAGE}/source/shopify`]: { secret: SOURCE_SECRETS.shopify },
    [`contact-relay/${STAGE}/source/typeform`]: { secret: SOURCE_SECRETS.typeform },
    ...Object.fromEntries(
      Object.entries(PROVIDER_SECRETS).map(([account, value]) => [`contact-relay/${STAGE}/provider/${account}`, value]),
    ),
  };
}

/** JSON without the whitespace between tokens, bytes inside strings untouched (numbers keep every digit). */
export function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch !== ' ' && ch !== '\n' && ch !== '\r' && ch !== '\t') out += ch;
  }
  return out;
}

const TARGET_ORDER_BYTES = 10 * 1024;

/**
 * The billing-phone order fixture, compact; line items are appended (copies
 * of the fixture's own, with new ids and titles) until it is at least 10 KB.
 */
export function shopifyOrder(root: string): { body: string; lineItems: number; padded: number } {
  const text = compactJson(
    readFileSync(path.join(root, 'test/fixtures/shopify/orders-create-billing-phone.json'), 'utf8'),
  );
  let body = text;
  let padded = 0;
  const match = /"line_items":\[(\{.*?\})(?=,\{|\])/.exec(body);
  while (Buffer.byteLength(body) < TARGET_ORDER_BYTES && match !== null) {
    padded++;
    const copy = (match[1] as string)
      .replace(/"id":(\d+)/g, (_m, id: string) => `"id":${id}${padded}`)
      .replace(/"title":"([^"]*)"/, `"title":"$1 (${padded})"`);
    body = body.replace('"line_items":[', `"line_items":[${copy},`);
  }
  const lineItems = (JSON.parse(body) as { line_items: unknown[] }).line_items.length;
  return { body, lineItems, padded };
}

export function typeformResponse(root: string): string {
  return compactJson(readFileSync(path.join(root, 'test/fixtures/typeform/with-phone.json'), 'utf8'));
}

export const sign = (secret: string, body: string | Buffer): string =>
  createHmac('sha256', secret).update(body).digest('base64');

export function shopifyHeaders(body: string, eventId: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-shopify-topic': 'orders/create',
    'x-shopify-shop-domain': SHOP_DOMAIN,
    'x-shopify-webhook-id': `wh-${eventId}`,
    'x-shopify-event-id': eventId,
    'x-shopify-api-version': '2026-07',
    // Now: a route refuses deliveries triggered longer ago than its maxDeliveryAgeHours.
    'x-shopify-triggered-at': new Date().toISOString(),
    'x-shopify-hmac-sha256': sign(SOURCE_SECRETS.shopify, body),
  };
}

export function typeformHeaders(body: string): Record<string, string> {
  return { 'content-type': 'application/json', 'typeform-signature': `sha256=${sign(SOURCE_SECRETS.typeform, body)}` };
}

/** A US number in 415-555-01xx … varied over real area codes so every contact is a different person (all valid for libphonenumber). */
const AREA_CODES = [
  '415',
  '212',
  '646',
  '310',
  '617',
  '303',
  '206',
  '512',
  '305',
  '312',
  '404',
  '503',
  '602',
  '702',
  '713',
  '720',
  '801',
  '818',
  '917',
  '949',
];
export function usPhone(i: number): { national: string; e164: string } {
  const area = AREA_CODES[i % AREA_CODES.length] as string;
  const line = String(Math.floor(i / AREA_CODES.length) % 10_000).padStart(4, '0');
  const exchange = 200 + (Math.floor(i / (AREA_CODES.length * 10_000)) % 700);
  return { national: `(${area}) ${exchange}-${line}`, e164: `+1${area}${exchange}${line}` };
}

/** The i-th contact of the bulk delivery (form route, every provider). */
export function benchContact(i: number): Contact {
  const phone = usPhone(i);
  return {
    firstName: `Ada${i}`,
    lastName: 'Lovelace',
    emails: [`ada.${i}@example.com`],
    phones: [{ e164: phone.e164 }],
    rejectedPhones: [],
    tags: ['web-form'],
    attributes: { utm_source: 'bench' },
    origin: {
      source: 'form',
      route: 'default',
      eventKey: `form:default:bench-${i}`,
      occurredAt: '2026-11-21T10:00:00.000Z',
      personKey: `ada.${i}@example.com`,
    },
  };
}
