/**
 * How each source's sender authenticates a body, and an independent
 * judgement of whether a request was authenticated, so properties can say
 * "accept is only ever called for an authenticated request" without trusting
 * the code under test. Written here rather than taken from cli/webhook.ts,
 * so the sources are judged against an account of each sender that shares
 * no code with the project's own signer.
 */
import { createHmac } from 'node:crypto';
import type { SourceName } from '../../../shared/contact.js';
import { routeAuth, type ResolvedRoute } from '../../../shared/config/routes.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { NOW, SECRET, TOKEN } from './clock-and-secret.js';
import { routeOfCase, type Genuine, type SourceCase } from './source-cases.js';

export const WEBFLOW_MAX_SKEW_MS = 5 * 60 * 1000;

export const hmac = (data: Buffer | string, secret = SECRET): Buffer =>
  createHmac('sha256', secret).update(data).digest();

type SignatureFormat = { header: string; encoding: 'base64' | 'hex'; prefix: string };

/**
 * The header carrying the HMAC of the body, and how its value is written, per source (Webflow signs
 * `timestamp:body`). The lead sources have property tests of their own, beside their unit tests.
 */
export const SIGNATURE_FORMAT: Partial<Record<SourceName, SignatureFormat>> = {
  form: { header: 'x-contact-relay-signature', encoding: 'base64', prefix: 'sha256=' },
  'google-forms': { header: 'x-contact-relay-signature', encoding: 'base64', prefix: 'sha256=' },
  jotform: { header: 'x-contact-relay-signature', encoding: 'base64', prefix: 'sha256=' },
  typeform: { header: 'typeform-signature', encoding: 'base64', prefix: 'sha256=' },
  tally: { header: 'tally-signature', encoding: 'base64', prefix: '' },
  shopify: { header: 'x-shopify-hmac-sha256', encoding: 'base64', prefix: '' },
  woocommerce: { header: 'x-wc-webhook-signature', encoding: 'base64', prefix: '' },
  webflow: { header: 'x-webflow-signature', encoding: 'hex', prefix: '' },
};

export function signatureFormat(name: SourceName): SignatureFormat {
  const format = SIGNATURE_FORMAT[name];
  if (format === undefined) throw new Error(`no signature format for ${name} in SIGNATURE_FORMAT`);
  return format;
}

export interface Credentials {
  headers: Record<string, string>;
  query: Record<string, string>;
}

/**
 * What the sender adds to `body` to authenticate it on `route`: its HMAC
 * header (Webflow: and the timestamp, `at`), or the route's token in the
 * header or the query string; nothing for an open route.
 */
export function credentialsFor(
  name: SourceName,
  route: ResolvedRoute,
  body: Buffer,
  options: { at?: number; tokenIn?: 'header' | 'query' } = {},
): Credentials {
  const mode = routeAuth(route);
  if (mode === 'none') return { headers: {}, query: {} };
  if (mode === 'token')
    return options.tokenIn === 'query'
      ? { headers: {}, query: { token: TOKEN } }
      : { headers: { 'x-contact-relay-token': TOKEN }, query: {} };
  const format = signatureFormat(name);
  if (name === 'webflow') {
    const timestamp = String(options.at ?? NOW.getTime());
    return {
      headers: {
        'x-webflow-timestamp': timestamp,
        [format.header]: hmac(Buffer.concat([Buffer.from(`${timestamp}:`), body])).toString('hex'),
      },
      query: {},
    };
  }
  return { headers: { [format.header]: `${format.prefix}${hmac(body).toString(format.encoding)}` }, query: {} };
}

export function requestFor(
  sourceCase: SourceCase,
  routeName: string,
  genuine: Genuine,
  credentials: Credentials,
): WebhookRequest {
  return {
    source: sourceCase.name,
    routeName,
    headers: {
      ...(genuine.contentType !== undefined ? { 'content-type': genuine.contentType } : {}),
      ...genuine.headers,
      ...credentials.headers,
    },
    query: credentials.query,
    rawBody: genuine.body,
  };
}

/** A request exactly as the genuine sender makes it on `routeName`. */
export function signedRequest(
  sourceCase: SourceCase,
  routeName: string,
  genuine: Genuine,
  options: { at?: number; tokenIn?: 'header' | 'query' } = {},
): WebhookRequest {
  return requestFor(
    sourceCase,
    routeName,
    genuine,
    credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), genuine.body, options),
  );
}

/**
 * The judge: could this request have come from the holder of the route's
 * secret? Deliberately lenient (a header merely containing the right digest,
 * in either encoding, counts), so it never calls a genuine request forged;
 * a random request still never passes it.
 */
export function isAuthenticated(name: SourceName, route: ResolvedRoute, request: WebhookRequest, now = NOW): boolean {
  const mode = routeAuth(route);
  if (mode === 'none') return true;
  if (mode === 'token')
    return [request.headers['x-contact-relay-token'], request.query['token']].some((given) => given?.trim() === TOKEN);
  const given = request.headers[signatureFormat(name).header] ?? '';
  const contains = (digest: Buffer) =>
    given.includes(digest.toString('base64').replace(/=+$/, '')) ||
    given.toLowerCase().includes(digest.toString('hex'));
  if (name !== 'webflow') return contains(hmac(request.rawBody));
  const timestamp = request.headers['x-webflow-timestamp'] ?? '';
  const signedAt = [timestamp, timestamp.trim()].some((stamp) =>
    contains(hmac(Buffer.concat([Buffer.from(`${stamp}:`), request.rawBody]))),
  );
  return (
    signedAt &&
    /^\d+$/.test(timestamp.trim()) &&
    Math.abs(now.getTime() - Number(timestamp.trim())) <= WEBFLOW_MAX_SKEW_MS
  );
}
