/**
 * The siteverify APIs of the three captcha vendors, as their public docs describe them, answering the
 * test keys each vendor publishes (only the vendor can judge a real token, so any other secret is
 * refused as unknown). Served under `/turnstile`, `/recaptcha` and `/hcaptcha`, each followed by the
 * vendor's own path; every call is recorded with the secret masked.
 *
 * - Cloudflare Turnstile, `POST /turnstile/v0/siteverify`: `secret` and `response` required, `remoteip`
 *   and `idempotency_key` optional, form-encoded or JSON; a token has at most 2048 characters; the
 *   answer is `{success, error-codes, challenge_ts, hostname, action, cdata}`
 *   (https://developers.cloudflare.com/turnstile/get-started/server-side-validation/). Test secrets:
 *   `1x0000000000000000000000000000000AA` passes, `2x…AA` fails, `3x…AA` answers `timeout-or-duplicate`;
 *   they accept only the dummy token `XXXX.DUMMY.TOKEN.XXXX` that the test site keys produce
 *   (https://developers.cloudflare.com/turnstile/troubleshooting/testing/).
 * - Google reCAPTCHA, `POST /recaptcha/api/siteverify`: `secret`, `response`, optional `remoteip`; the
 *   answer is `{success, challenge_ts, hostname, error-codes}` (https://developers.google.com/recaptcha/docs/verify).
 *   With the test secret `6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe` "all verification requests will pass"
 *   (https://developers.google.com/recaptcha/docs/faq#id-like-to-run-automated-tests-with-recaptcha.-what-should-i-do).
 * - hCaptcha, `POST /siteverify`, form-encoded `secret`, `response`, optional `remoteip` and `sitekey`
 *   (https://docs.hcaptcha.com/#verify-the-user-response-server-side). The test secret
 *   `0x0000000000000000000000000000000000000000` accepts the test token `10000000-aaaa-bbbb-cccc-000000000001`
 *   of the test site key `10000000-ffff-ffff-ffff-000000000001`
 *   (https://docs.hcaptcha.com/#integration-testing-test-keys).
 *
 * Assumptions, no page settles them: a missing `response` is `missing-input-response` before the secret's
 * test behaviour applies; an unknown secret is `invalid-input-secret` (the vendors' code for a secret that
 * "did not exist"); hCaptcha's test secret refuses any other token with `invalid-input-response`; a JSON
 * body to reCAPTCHA or hCaptcha carries no form parameters; every answer is HTTP 200; the success
 * `hostname` values (`localhost`, `testkey.google.com`, `dummy-key-pass`) stand in for the vendors'; a method other
 * than POST is answered 405.
 */
import type { EmulatorState } from '../state.js';
import { isRecord, json, type EmulatedRequest, type EmulatedResponse } from '../http-kit.js';

export const CAPTCHA_SERVICES = ['turnstile', 'recaptcha', 'hcaptcha'] as const;
export type CaptchaService = (typeof CAPTCHA_SERVICES)[number];

/** Each vendor's siteverify path, after the service prefix. */
const PATHS: Record<CaptchaService, string> = {
  turnstile: '/turnstile/v0/siteverify',
  recaptcha: '/recaptcha/api/siteverify',
  hcaptcha: '/siteverify',
};

export const TURNSTILE_TEST = {
  passSecret: '1x0000000000000000000000000000000AA',
  failSecret: '2x0000000000000000000000000000000AA',
  spentSecret: '3x0000000000000000000000000000000AA',
  passSiteKey: '1x00000000000000000000AA',
  token: 'XXXX.DUMMY.TOKEN.XXXX',
};
export const RECAPTCHA_TEST = {
  secret: '6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe',
  siteKey: '6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI',
};
export const HCAPTCHA_TEST = {
  secret: '0x0000000000000000000000000000000000000000',
  siteKey: '10000000-ffff-ffff-ffff-000000000001',
  token: '10000000-aaaa-bbbb-cccc-000000000001',
};

const TURNSTILE_MAX_TOKEN = 2048;

type Verdict = { success: true; hostname: string; extra?: Record<string, unknown> } | Refusal;
type Refusal = { success: false; codes: string[] };

const refused = (code: string): Refusal => ({ success: false, codes: [code] });

function turnstile(secret: string, response: string): Verdict {
  if (response.length > TURNSTILE_MAX_TOKEN) return refused('invalid-input-response');
  switch (secret) {
    case TURNSTILE_TEST.passSecret:
      return response === TURNSTILE_TEST.token
        ? { success: true, hostname: 'localhost', extra: { action: '', cdata: '' } }
        : refused('invalid-input-response');
    case TURNSTILE_TEST.failSecret:
      return refused('invalid-input-response');
    case TURNSTILE_TEST.spentSecret:
      return refused('timeout-or-duplicate');
    default:
      return refused('invalid-input-secret');
  }
}

function recaptcha(secret: string): Verdict {
  if (secret !== RECAPTCHA_TEST.secret) return refused('invalid-input-secret');
  return { success: true, hostname: 'testkey.google.com' };
}

function hcaptcha(secret: string, response: string): Verdict {
  if (secret !== HCAPTCHA_TEST.secret) return refused('invalid-input-secret');
  if (response !== HCAPTCHA_TEST.token) return refused('invalid-input-response');
  return { success: true, hostname: 'dummy-key-pass', extra: { credit: false } };
}

/** The request's parameters: form-encoded for every vendor, JSON too for Turnstile. */
function parameters(service: CaptchaService, request: EmulatedRequest): Record<string, string> {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type === 'application/json') {
    if (service !== 'turnstile' || !isRecord(request.json)) return {};
    const isText = (entry: [string, unknown]): entry is [string, string] => typeof entry[1] === 'string';
    return Object.fromEntries(Object.entries(request.json).filter(isText));
  }
  return Object.fromEntries(new URLSearchParams(request.rawBody));
}

function answer(service: CaptchaService, params: Record<string, string>): EmulatedResponse {
  const secret = params['secret'] ?? '';
  const response = params['response'] ?? '';
  const codes = [
    ...(secret === '' ? ['missing-input-secret'] : []),
    ...(response === '' ? ['missing-input-response'] : []),
  ];
  const verdict: Verdict =
    codes.length > 0
      ? { success: false, codes }
      : service === 'turnstile'
        ? turnstile(secret, response)
        : service === 'recaptcha'
          ? recaptcha(secret)
          : hcaptcha(secret, response);
  if (!verdict.success) return json(200, { success: false, 'error-codes': verdict.codes });
  const { hostname, extra } = verdict;
  return json(200, { success: true, challenge_ts: new Date().toISOString(), hostname, 'error-codes': [], ...extra });
}

type CaptchaApi = (service: CaptchaService, request: EmulatedRequest) => EmulatedResponse;

/** Serves one vendor's siteverify path and records the call in `state.requests`. */
export function captchaApi(state: EmulatorState): CaptchaApi {
  return (service, request) => {
    const params = parameters(service, request);
    const response =
      request.path !== PATHS[service]
        ? json(404, { message: `no ${service} endpoint at ${request.path}` })
        : request.method !== 'POST'
          ? json(405, { message: 'siteverify takes POST' })
          : answer(service, params);
    const { secret, ...rest } = params;
    state.requests.push({
      provider: service,
      method: request.method,
      path: request.path,
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)])),
      body: { ...rest, ...(secret !== undefined ? { secret: `********${secret.slice(-4)}` } : {}) },
      status: response.status,
      at: new Date().toISOString(),
    });
    return response;
  };
}
