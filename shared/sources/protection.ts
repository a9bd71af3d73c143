/**
 * Protection for plain form routes (`sources.form.<route>.protection`): an
 * HTML form that posts straight to its public URL is a spam magnet, and each
 * spam submission would become a contact in a WhatsApp inbox. Checked after
 * the route's token or signature (auth.ts), cheapest first:
 *
 * 1. a route anyone can post to (no token, signature or captcha) is refused
 *    with 403 `route_not_protected` unless open routes are allowed, as they
 *    are on the local stack only (the `allowOpenFormRoutes` param);
 * 2. `origins`: the request's `Origin`, else its `Referer`'s origin, must be
 *    listed, or 403 `origin_not_allowed`. Browsers send `Origin` on every
 *    POST (https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Origin);
 *    a script can send any value, so this keeps other sites' pages out, not
 *    a determined bot;
 * 3. `rateLimit`: fixed windows counted in the events table per source IP
 *    (hashed) and/or per route, one conditional write each, since Lambda
 *    instances share nothing; over the limit, 429 `rate_limited`;
 * 4. `honeypot`: a filled trap field is answered exactly as an accepted
 *    submission, so a bot learns nothing, and nothing is queued or sent;
 * 5. `captcha`: the widget's token is checked with the vendor's siteverify
 *    API and the secret's `captchaSecret`: 401 `missing_captcha_token`,
 *    403 `captcha_failed`, 503 `captcha_unavailable` when siteverify cannot
 *    answer (fail closed: a browser does not retry, but the visitor sees the
 *    error and can send again, where a fail-open form would take spam during
 *    every outage).
 */
import { createHash } from 'node:crypto';
import { urlOverrideProblem } from '../config/env.js';
import { CAPTCHA_FIELDS, isOpenFormRoute, type CaptchaProvider, type ResolvedRoute } from '../config/routes.js';
import type { HttpClient } from '../http.js';
import type { ReadContext } from '../ingest.js';
import { SecretFormatError, sourceSecretName } from '../secrets.js';
import { WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import * as z from '../zod.js';

interface RateCount {
  counted: boolean;
  /** When the window ends (epoch ms). */
  windowEndsAt: number;
}

/** What a form route's protection needs from the function: built once per container (shared/runtime.ts). */
export interface FormProtectionDependencies {
  /** Serve routes anyone can post to; false on deployed stages unless the operator allows them. */
  allowOpenRoutes: boolean;
  /** Count one request in the current window of `key`; `counted: false` once the window holds `limit`. */
  countRequest: (key: string, limit: number, windowSeconds: number) => Promise<RateCount>;
  http: Pick<HttpClient, 'request'>;
  /** Each vendor's siteverify URL (CAPTCHA_VERIFY_URLS unless overridden on the local stack). */
  verifyUrls: Record<CaptchaProvider, string>;
}

/**
 * The vendors' siteverify endpoints: each takes a form-encoded `secret`,
 * `response` (the token) and optional `remoteip`, and answers JSON with
 * `success` and `error-codes`.
 * https://developers.cloudflare.com/turnstile/get-started/server-side-validation/
 * https://developers.google.com/recaptcha/docs/verify
 * https://docs.hcaptcha.com/#verify-the-user-response-server-side
 */
export const CAPTCHA_VERIFY_URLS: Record<CaptchaProvider, string> = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  recaptcha: 'https://www.google.com/recaptcha/api/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
};

const LABELS: Record<CaptchaProvider, string> = {
  turnstile: 'Cloudflare Turnstile',
  recaptcha: 'Google reCAPTCHA',
  hcaptcha: 'hCaptcha',
};

/** Error codes that blame our secret, not the visitor: a configuration fault (500), as a missing secret is. */
const SECRET_CODES = new Set([
  'missing-input-secret',
  'invalid-input-secret',
  'sitekey-secret-mismatch',
  'not-using-dummy-passcode',
  'not-using-dummy-secret',
]);
/** Error codes that say siteverify could not judge the token: Turnstile's `internal-error` "can be retried". */
const UNAVAILABLE_CODES = new Set(['internal-error', 'bad-request']);

const SiteverifyAnswerSchema = z.object({
  success: z.boolean(),
  'error-codes': z.optional(z.array(z.string())),
});

type FormVerdict = { kind: 'pass' } | { kind: 'decoy'; reason: string };

type FormFields = Record<string, string | string[] | undefined>;

/**
 * Apply the route's protection to a parsed submission. `decoy`: answer as
 * accepted and drop it. Throws WebhookRejectedError for a refused request,
 * SecretFormatError for a captcha secret that is missing or refused.
 */
export async function protectForm(
  request: WebhookRequest,
  route: ResolvedRoute,
  fields: FormFields,
  context: Pick<ReadContext, 'secret' | 'protection'>,
): Promise<FormVerdict> {
  const protection = route.protection ?? {};
  const deps = context.protection;
  // Only paths that wire no dependencies (unit tests of a source) come without them: a route asking for
  // protection is then refused rather than served unprotected.
  if (deps === undefined) {
    if (route.protection === undefined) return { kind: 'pass' };
    throw new Error(`form route "${route.name}" has protection but this function has no protection dependencies`);
  }
  if (!deps.allowOpenRoutes && isOpenFormRoute(route)) {
    throw new WebhookRejectedError(
      403,
      'route_not_protected',
      `form route "${route.name}" is open to anyone: give it protection.captcha, or auth "token" or "hmac", ` +
        'in config/routes.json',
    );
  }
  if (protection.origins !== undefined) requireOrigin(request, protection.origins);
  if (protection.rateLimit !== undefined) await countRequest(request, route, protection.rateLimit, deps);
  if (protection.honeypot !== undefined && first(fields[protection.honeypot]) !== undefined) {
    return { kind: 'decoy', reason: `honeypot field "${protection.honeypot}" was filled` };
  }
  if (protection.captcha !== undefined) {
    const { provider } = protection.captcha;
    const field = protection.captcha.field ?? CAPTCHA_FIELDS[provider];
    const token = first(fields[field]);
    if (token === undefined) {
      const message = `this form needs the ${LABELS[provider]} token in the "${field}" field`;
      throw new WebhookRejectedError(401, 'missing_captcha_token', message);
    }
    const secret = (await context.secret()).captchaSecret;
    if (secret === undefined) {
      const detail = `needs "captchaSecret": form route "${route.name}" checks ${LABELS[provider]} tokens`;
      throw new SecretFormatError(secretNameOf(route), detail);
    }
    await verifyCaptcha(provider, token, secret, request.sourceIp, deps, secretNameOf(route));
  }
  return { kind: 'pass' };
}

function first(value: string | string[] | undefined): string | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text === undefined || text === '' ? undefined : text;
}

/** The page the request came from: `Origin`, or the origin of `Referer` when `Origin` is absent or "null". */
function requestOrigin(request: WebhookRequest): string | undefined {
  const origin = request.headers['origin']?.trim();
  if (origin !== undefined && origin !== '' && origin !== 'null') return origin.toLowerCase();
  try {
    return new URL(request.headers['referer'] ?? '').origin.toLowerCase();
  } catch {
    return undefined;
  }
}

function requireOrigin(request: WebhookRequest, allowed: readonly string[]): void {
  const origin = requestOrigin(request);
  if (origin === undefined) {
    const message = 'the request names no page it comes from (no Origin or Referer header)';
    throw new WebhookRejectedError(403, 'origin_not_allowed', message);
  }
  if (!allowed.some((entry) => entry.toLowerCase() === origin)) {
    const message = `requests from ${origin} are not allowed on this form route`;
    throw new WebhookRejectedError(403, 'origin_not_allowed', message);
  }
}

async function countRequest(
  request: WebhookRequest,
  route: ResolvedRoute,
  limits: NonNullable<NonNullable<ResolvedRoute['protection']>['rateLimit']>,
  deps: FormProtectionDependencies,
): Promise<void> {
  const scope = `${route.source}/${route.name}`;
  // The address is personal data: the table keeps only a hash of it.
  const ip = createHash('sha256')
    .update(request.sourceIp ?? 'unknown')
    .digest('hex')
    .slice(0, 32);
  const counters = [
    ...(limits.perIp ? [{ key: `${scope}/ip/${ip}`, ...limits.perIp }] : []),
    ...(limits.perRoute ? [{ key: `${scope}/route`, ...limits.perRoute }] : []),
  ];
  for (const { key, requests, windowSeconds } of counters) {
    let result: RateCount;
    try {
      result = await deps.countRequest(key, requests, windowSeconds);
    } catch (error) {
      // Not counted is not let through: the sender may try again.
      const message = `the request could not be counted (${(error as Error).name}); try again later`;
      throw new WebhookRejectedError(503, 'rate_limit_unavailable', message);
    }
    if (!result.counted) {
      const wait = Math.max(1, Math.ceil((result.windowEndsAt - Date.now()) / 1000));
      throw new WebhookRejectedError(429, 'rate_limited', `too many submissions to this form; try again in ${wait} s`);
    }
  }
}

async function verifyCaptcha(
  provider: CaptchaProvider,
  token: string,
  secret: string,
  remoteIp: string | undefined,
  deps: FormProtectionDependencies,
  secretName: string,
): Promise<void> {
  const label = LABELS[provider];
  const unavailable = (why: string) => {
    const message = `${label} could not verify the token (${why}); send the form again later`;
    return new WebhookRejectedError(503, 'captcha_unavailable', message);
  };
  const form = new URLSearchParams({ secret, response: token });
  if (remoteIp !== undefined) form.set('remoteip', remoteIp);
  let answer: { status: number; body: string };
  try {
    answer = await deps.http.request({
      method: 'POST',
      url: deps.verifyUrls[provider],
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
  } catch (error) {
    throw unavailable((error as Error).name);
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    json = undefined;
  }
  const parsed = SiteverifyAnswerSchema.safeParse(json);
  if (answer.status >= 500 || !parsed.success) throw unavailable(`HTTP ${answer.status}`);
  if (parsed.data.success) return;
  const codes = parsed.data['error-codes'] ?? [];
  if (codes.some((code) => SECRET_CODES.has(code))) {
    throw new SecretFormatError(secretName, `${label} refuses its "captchaSecret" (${codes.join(', ')})`);
  }
  if (codes.some((code) => UNAVAILABLE_CODES.has(code))) throw unavailable(codes.join(', '));
  const message = `${label} did not accept the token (${codes.join(', ') || 'no reason given'})`;
  throw new WebhookRejectedError(403, 'captcha_failed', message);
}

/** The secret's name for the error message; the stage is not known here, so it stays a placeholder. */
function secretNameOf(route: ResolvedRoute): string {
  return route.secretName ?? sourceSecretName('{stage}', route.source);
}

type CaptchaUrlVariables = Partial<Record<`CAPTCHA_URL_${Uppercase<CaptchaProvider>}`, string>>;

/**
 * Siteverify URLs: the vendors' own, or `CAPTCHA_URL_{TURNSTILE,RECAPTCHA,HCAPTCHA}`
 * (a base the vendor's path is appended to, as `npm start` points them at the
 * emulator), where `urlOverrideProblem` allows it: on the local stage, and
 * elsewhere only on this machine, which cannot carry a secret anywhere.
 */
export function captchaVerifyUrls(env: { STAGE: string } & CaptchaUrlVariables): Record<CaptchaProvider, string> {
  const urls = { ...CAPTCHA_VERIFY_URLS };
  for (const provider of Object.keys(urls) as CaptchaProvider[]) {
    const base = env[`CAPTCHA_URL_${provider.toUpperCase() as Uppercase<CaptchaProvider>}`];
    if (base === undefined || base === '') continue;
    if (urlOverrideProblem(new URL(base), env.STAGE) !== undefined) continue;
    urls[provider] = `${base.replace(/\/+$/, '')}${new URL(CAPTCHA_VERIFY_URLS[provider]).pathname}`;
  }
  return urls;
}
