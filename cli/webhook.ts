/**
 * A payload turned into the request its platform would send: the same
 * bytes, signed with the route's secret exactly as that sender signs, with
 * the headers the source requires. Pure: no I/O, the clock is given.
 *
 *   shopify       X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the body; X-Shopify-Topic, -Shop-Domain, -Webhook-Id, -Event-Id
 *   woocommerce   X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body; X-WC-Webhook-Topic, -Source, -Delivery-ID
 *   typeform      Typeform-Signature: sha256=<base64 HMAC>
 *   tally         Tally-Signature: <base64 HMAC> (nothing on an `"auth": "none"` route)
 *   webflow       x-webflow-timestamp (ms) and x-webflow-signature: hex HMAC of "{timestamp}:{body}"
 *   google-forms  X-Contact-Relay-Signature: sha256=<base64 HMAC>, as the Apps Script forwarder signs
 *   jotform       the route token in ?token=, as the Jotform webhook URL carries it; multipart/form-data
 *   form          as the route's auth says: nothing, X-Contact-Relay-Token, or X-Contact-Relay-Signature
 *   meta-leads    X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret's appSecret>
 *   calendly      Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">
 *   custom        as the route says: custom.signature (its header, algorithm, encoding, prefix, signed
 *                 string and timestamp header), else X-Contact-Relay-Token, or nothing on an open route
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { routeAuth, type ResolvedRoute, type RouteAuth } from '../shared/config/routes.js';
import type { SourceName } from '../shared/contact.js';
import type { SourceSecret } from '../shared/ingest.js';
import { sourceSecretName } from '../shared/secrets.js';
import { SHOP_DOMAIN } from '../shared/shopify/domain.js';
import { customSignedBytes } from '../shared/sources/custom.js';
import { CliError } from './io.js';

/** Sources whose sender names the event in a header; the default is what the samples are. */
export const TOPICS: Partial<Record<SourceName, { default: string; contact: readonly string[] }>> = {
  shopify: {
    default: 'orders/create',
    contact: ['orders/create', 'orders/paid', 'customers/create', 'customers/update'],
  },
  woocommerce: { default: 'order.created', contact: ['order.created', 'order.updated', 'customer.created'] },
};

/** Sources where `--event-id` sets the sender's delivery id (elsewhere the payload carries it). */
export const EVENT_ID_HEADER: Partial<Record<SourceName, string>> = {
  shopify: 'X-Shopify-Webhook-Id and X-Shopify-Event-Id',
  woocommerce: 'X-WC-Webhook-Delivery-ID',
  form: 'Idempotency-Key',
};

const DEFAULT_SHOP_DOMAIN = 'demo-shop.myshopify.com';
const DEFAULT_WOO_STORE = 'https://shop.example.com/';

/** The secret a route's webhooks are checked with. */
export function routeSecretName(route: ResolvedRoute, stage: string): string {
  return route.secretName ?? sourceSecretName(stage, route.source);
}

/** The field of the route's secret a webhook is signed (or carries its token) with. */
type SecretField = 'secret' | 'token' | 'appSecret';

/** What the route's check needs from its secret; undefined when it checks nothing. */
export function secretField(route: ResolvedRoute): SecretField | undefined {
  // Meta signs with the app's App Secret, kept beside the verify token and page tokens in one secret.
  if (route.source === 'meta-leads') return 'appSecret';
  const auth: RouteAuth = routeAuth(route);
  return auth === 'hmac' ? 'secret' : auth === 'token' ? 'token' : undefined;
}

interface WebhookInput {
  route: ResolvedRoute;
  /** The payload's bytes as read (signed as they are), or an object to serialise. */
  payload: Buffer;
  topic?: string | undefined;
  /** Delivery id (Shopify, WooCommerce) or Idempotency-Key (form). */
  eventId?: string | undefined;
  /** Shopify shop domain, or WooCommerce store URL. */
  shop?: string | undefined;
  /** The route's secret, when `secretField(route)` asks for one. */
  secret?: SourceSecret | undefined;
  secretName?: string;
  now: Date;
}

export interface SignedWebhook {
  /** `/hooks/{source}/{route}` plus any query. */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** How it was proven, for the output: `X-Shopify-Hmac-Sha256 (secret contact-relay/local/source/shopify)`. */
  proof: string;
}

const hmac = (secret: string, data: Buffer) => createHmac('sha256', secret).update(data).digest();

/** A UUID-shaped id derived from the bytes: the same payload gives the same id, as a sender's retry does. */
export function stableId(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  const hex = hash.digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const CHECKS: Record<SecretField, string> = {
  secret: 'checks an HMAC signature',
  token: 'checks a token',
  appSecret: "checks Meta's X-Hub-Signature-256 with the app secret",
};

function needSecret(input: WebhookInput, field: SecretField): string {
  const value = input.secret?.[field];
  if (value === undefined) {
    const what = CHECKS[field];
    throw new CliError(
      `secret "${input.secretName ?? routeSecretName(input.route, '{stage}')}" has no "${field}": ${input.route.source} route "${input.route.name}" ${what}`,
    );
  }
  return value;
}

function parseJsonObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Jotform posts multipart/form-data: `formID`, `submissionID`, `rawRequest`
 * (the answers as a JSON string) and more. A payload is either that body as
 * captured (starting with its `--boundary` line), a JSON envelope
 * `{formID, submissionID, rawRequest: {...} | "..."}`, or the answers alone
 * (`{"q3_fullName": {...}, ...}`), wrapped with ids derived from them.
 */
export function jotformBody(payload: Buffer): { body: Buffer; contentType: string } {
  const text = payload.toString('latin1');
  if (text.startsWith('--')) {
    const boundary = text.slice(2, text.search(/\r?\n/));
    if (boundary === '' || /\s/.test(boundary))
      throw new CliError('the Jotform payload starts like a multipart body but its first line is not a boundary');
    return { body: payload, contentType: `multipart/form-data; boundary=${boundary}` };
  }
  const object = parseJsonObject(payload);
  if (object === undefined)
    throw new CliError(
      'a Jotform payload must be a JSON object ({formID, submissionID, rawRequest} or the answers) or a captured multipart body',
    );
  const envelope: Record<string, unknown> =
    'rawRequest' in object
      ? object
      : {
          formID: '240000000000000',
          submissionID: BigInt(`0x${createHash('sha256').update(payload).digest('hex').slice(0, 15)}`).toString(),
          rawRequest: object,
        };
  const boundary = `------------------------${createHash('sha256').update(payload).digest('hex').slice(0, 16)}`;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(envelope)) {
    if (value === undefined || value === null) continue;
    const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name.replace(/["\r\n]/g, '_')}"\r\n\r\n${text}\r\n`,
    );
  }
  parts.push(`--${boundary}--\r\n`);
  return { body: Buffer.from(parts.join(''), 'utf8'), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A plain form payload: JSON when it parses as JSON, else urlencoded (`a=1&b=2`). */
function formContentType(payload: Buffer): string {
  try {
    JSON.parse(payload.toString('utf8'));
    return 'application/json';
  } catch {
    return 'application/x-www-form-urlencoded';
  }
}

/** The request the route's sender would make for this payload. */
export function buildWebhook(input: WebhookInput): SignedWebhook {
  const { route, now } = input;
  const source = route.source;
  const path = `/hooks/${source}/${encodeURIComponent(route.name)}`;
  const secretName = input.secretName ?? routeSecretName(route, '{stage}');
  let body = input.payload;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'contact-relay-cli' };
  const signed = (header: string) => `${header} (secret ${secretName})`;

  switch (source) {
    case 'shopify': {
      const topic = input.topic ?? TOPICS.shopify?.default ?? '';
      const shop = (input.shop ?? route.shopDomains?.[0] ?? DEFAULT_SHOP_DOMAIN).toLowerCase();
      if (!SHOP_DOMAIN.test(shop))
        throw new CliError(`--shop must be a shop domain such as "${DEFAULT_SHOP_DOMAIN}" for Shopify, got "${shop}"`);
      // Shopify keeps one webhook id across the retries of a delivery: by default the same payload is the same delivery.
      const id = input.eventId ?? stableId('shopify', topic, shop, body);
      Object.assign(headers, {
        'x-shopify-topic': topic,
        'x-shopify-shop-domain': shop,
        'x-shopify-webhook-id': id,
        'x-shopify-event-id': id,
        'x-shopify-api-version': '2025-07',
        'x-shopify-triggered-at': now.toISOString(),
        'x-shopify-hmac-sha256': hmac(needSecret(input, 'secret'), body).toString('base64'),
      });
      return { path, headers, body, proof: signed('X-Shopify-Hmac-Sha256') };
    }
    case 'woocommerce': {
      const topic = input.topic ?? TOPICS.woocommerce?.default ?? '';
      const [resource = '', event = ''] = topic.split('.');
      Object.assign(headers, {
        'x-wc-webhook-topic': topic,
        'x-wc-webhook-resource': resource,
        'x-wc-webhook-event': event,
        'x-wc-webhook-source': input.shop ?? DEFAULT_WOO_STORE,
        'x-wc-webhook-id': '1',
        // WooCommerce makes a new delivery id for every attempt.
        'x-wc-webhook-delivery-id': input.eventId ?? randomUUID().replace(/-/g, ''),
        'x-wc-webhook-signature': hmac(needSecret(input, 'secret'), body).toString('base64'),
      });
      return { path, headers, body, proof: signed('X-WC-Webhook-Signature') };
    }
    case 'typeform':
      headers['typeform-signature'] = `sha256=${hmac(needSecret(input, 'secret'), body).toString('base64')}`;
      return { path, headers, body, proof: signed('Typeform-Signature') };
    case 'tally':
      if (secretField(route) === undefined)
        return { path, headers, body, proof: 'unsigned (the route has "auth": "none")' };
      headers['tally-signature'] = hmac(needSecret(input, 'secret'), body).toString('base64');
      return { path, headers, body, proof: signed('Tally-Signature') };
    case 'webflow': {
      const timestamp = String(now.getTime());
      headers['x-webflow-timestamp'] = timestamp;
      headers['x-webflow-signature'] = hmac(
        needSecret(input, 'secret'),
        Buffer.concat([Buffer.from(`${timestamp}:`), body]),
      ).toString('hex');
      return { path, headers, body, proof: signed('x-webflow-signature over "{x-webflow-timestamp}:{body}"') };
    }
    case 'google-forms':
      headers['x-contact-relay-signature'] = `sha256=${hmac(needSecret(input, 'secret'), body).toString('base64')}`;
      return { path, headers, body, proof: signed('X-Contact-Relay-Signature') };
    case 'jotform': {
      const multipart = jotformBody(body);
      body = multipart.body;
      headers['content-type'] = multipart.contentType;
      const token = needSecret(input, 'token');
      return {
        path: `${path}?token=${encodeURIComponent(token)}`,
        headers,
        body,
        proof: `?token= (token of secret ${secretName})`,
      };
    }
    case 'form': {
      headers['content-type'] = formContentType(body);
      if (input.eventId !== undefined) headers['idempotency-key'] = input.eventId;
      const field = secretField(route);
      if (field === 'token') {
        headers['x-contact-relay-token'] = needSecret(input, 'token');
        return { path, headers, body, proof: `X-Contact-Relay-Token (token of secret ${secretName})` };
      }
      if (field === 'secret') {
        headers['x-contact-relay-signature'] = `sha256=${hmac(needSecret(input, 'secret'), body).toString('base64')}`;
        return { path, headers, body, proof: signed('X-Contact-Relay-Signature') };
      }
      return { path, headers, body, proof: 'unsigned (the route has no auth)' };
    }
    case 'meta-leads':
      // https://developers.facebook.com/docs/graph-api/webhooks/getting-started ("Validate payloads"): Meta signs
      // every notification with the app secret, `sha256=` and the hex HMAC-SHA256 of the payload.
      headers['x-hub-signature-256'] = `sha256=${hmac(needSecret(input, 'appSecret'), body).toString('hex')}`;
      return { path, headers, body, proof: signed('X-Hub-Signature-256') };
    case 'calendly': {
      // https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures: `t=<unix seconds>,v1=<hex
      // HMAC-SHA256 of "{t}.{body}">` with the subscription's signing key; a receiver refuses old timestamps.
      const timestamp = String(Math.floor(now.getTime() / 1000));
      const stamped = Buffer.concat([Buffer.from(`${timestamp}.`), body]);
      const signature = hmac(needSecret(input, 'secret'), stamped).toString('hex');
      headers['calendly-webhook-signature'] = `t=${timestamp},v1=${signature}`;
      return { path, headers, body, proof: signed('Calendly-Webhook-Signature over "{t}.{body}"') };
    }
    case 'custom':
      return customWebhook(input, path, headers, body, secretName);
  }
}

/** A `custom` route's request: signed as its `custom.signature` says, with its token, or as it is on an open route. */
function customWebhook(
  input: WebhookInput,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  secretName: string,
): SignedWebhook {
  const { route, now } = input;
  const field = secretField(route);
  if (field === 'token') {
    headers['x-contact-relay-token'] = needSecret(input, 'token');
    return { path, headers, body, proof: `X-Contact-Relay-Token (token of secret ${secretName})` };
  }
  if (field === undefined) return { path, headers, body, proof: 'unsigned (the route has "auth": "none")' };
  const signature = route.custom?.signature;
  if (signature === undefined) {
    const missing = 'checks an HMAC signature but has no custom.signature saying how it is made';
    throw new CliError(`custom route "${route.name}" ${missing}`);
  }
  let timestamp: string | undefined;
  if (signature.timestampHeader !== undefined) {
    timestamp = String(Math.floor(now.getTime() / 1000));
    headers[signature.timestampHeader.toLowerCase()] = timestamp;
  }
  const signed = customSignedBytes(signature.signedString, body, timestamp);
  const digest = createHmac(signature.algorithm, needSecret(input, 'secret')).update(signed).digest(signature.encoding);
  headers[signature.header.toLowerCase()] = `${signature.prefix ?? ''}${digest}`;
  const how = `${signature.encoding} HMAC-${signature.algorithm.toUpperCase()} of "${signature.signedString}"`;
  const proof = `${signature.header}: ${signature.prefix ?? ''}<${how}> (secret ${secretName})`;
  return { path, headers, body, proof };
}
