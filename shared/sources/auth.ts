/**
 * How a request proves it comes from the route's owner, for the senders that
 * cannot sign the way a shop or Typeform does: the plain form, Jotform and
 * the Google Forms forwarder. `routeAuth(route)` picks one of:
 *
 * - `none`: nothing to check (a public HTML form has no way to keep a secret);
 * - `token`: the route's `token` in the query string (`?token=`, for senders
 *   such as Jotform whose only setting is the URL) or the
 *   `X-Contact-Relay-Token` header, compared in constant time;
 * - `hmac`: `X-Contact-Relay-Signature: sha256=<base64 HMAC-SHA256 of the raw
 *   body>` with the route's `secret`.
 *
 * It runs before the body is parsed, so an unauthenticated request costs no
 * parsing and learns nothing about what the body should look like.
 */
import { routeAuth, type ResolvedRoute } from '../config/routes.js';
import type { ReadContext } from '../ingest.js';
import { SecretFormatError, sourceSecretName } from '../secrets.js';
import { constantTimeEqual, requireHmac } from '../signatures.js';
import { WebhookRejectedError, type WebhookRequest } from '../webhook.js';

const TOKEN_QUERY_PARAMETER = 'token';
/** Header names as `WebhookRequest.headers` holds them: lower-cased. */
const TOKEN_HEADER = 'x-contact-relay-token';
export const SIGNATURE_HEADER = 'x-contact-relay-signature';
const SIGNATURE_PREFIX = 'sha256=';

/** Throws 401 unless the request carries `expected` in the token header or the `token` query parameter. */
export function requireToken(request: WebhookRequest, expected: string): void {
  // The header first: it stays out of access logs, which a query string does not.
  const given = nonEmpty(request.headers[TOKEN_HEADER]) ?? nonEmpty(request.query[TOKEN_QUERY_PARAMETER]);
  if (given === undefined) {
    throw new WebhookRejectedError(
      401,
      'missing_token',
      `this route needs its token: add ?${TOKEN_QUERY_PARAMETER}=… to the webhook URL or send the X-Contact-Relay-Token header`,
    );
  }
  if (!constantTimeEqual(given, expected)) {
    throw new WebhookRejectedError(401, 'invalid_token', "the token does not match this route's token");
  }
}

/** Throws 401 unless `X-Contact-Relay-Signature` is `sha256=` + the base64 HMAC-SHA256 of the raw body under `secret`. */
function requireBodySignature(request: WebhookRequest, secret: string): void {
  const header = request.headers[SIGNATURE_HEADER]?.trim();
  requireHmac({
    // The prefix names the algorithm, as Typeform's header does; a bare base64 value is judged by the same comparison.
    given: header?.toLowerCase().startsWith(SIGNATURE_PREFIX) ? header.slice(SIGNATURE_PREFIX.length) : header,
    header: 'X-Contact-Relay-Signature',
    secret,
    signed: request.rawBody,
    encoding: 'base64',
  });
}

/**
 * Check the request as the route's auth mode says. The route's secret is read
 * only when a check needs it, so an open form route needs no secret at all. A
 * secret without the field the mode needs is our configuration's fault: it
 * surfaces as a 500 (SecretFormatError), which keeps the sender retrying
 * until it is fixed, rather than a 401 that would blame the sender.
 */
export async function requireRouteAuth(
  request: WebhookRequest,
  route: ResolvedRoute,
  secret: ReadContext['secret'],
): Promise<void> {
  const mode = routeAuth(route);
  if (mode === 'none') return;
  const value = await secret();
  if (mode === 'token') {
    if (value.token === undefined)
      throw new SecretFormatError(
        secretNameOf(route),
        `needs "token": ${route.source} route "${route.name}" checks a token`,
      );
    requireToken(request, value.token);
    return;
  }
  if (value.secret === undefined)
    throw new SecretFormatError(
      secretNameOf(route),
      `needs "secret": ${route.source} route "${route.name}" checks an HMAC signature`,
    );
  requireBodySignature(request, value.secret);
}

function nonEmpty(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text === undefined || text === '' ? undefined : text;
}

/** The secret's name for the error message; the stage is not known here, so it stays a placeholder. */
function secretNameOf(route: ResolvedRoute): string {
  return route.secretName ?? sourceSecretName('{stage}', route.source);
}
