/**
 * Protection for public form routes, through the real forms function (its IAM
 * role enforced, the events table in dynalite, siteverify on the emulator):
 * a honeypot, Cloudflare Turnstile, Google reCAPTCHA and hCaptcha tokens
 * checked with each vendor's published test keys, an allow-list of origins,
 * rate limits per source IP and per route, and the refusal of form routes
 * anyone can post to on a deployed stage. The route config is the shipped one
 * plus the test routes below.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import shipped from '../../config/routes.json' with { type: 'json' };
import { findRoute, isOpenFormRoute, openFormRoutes, parseRoutesConfig } from '../../shared/config/routes.js';
import type { ResolvedRoute } from '../../shared/config/routes.js';
import { captchaVerifyUrls, CAPTCHA_VERIFY_URLS } from '../../shared/sources/protection.js';
import { asFunction } from '../../local/emulator/function-identity.js';
import { HCAPTCHA_TEST, RECAPTCHA_TEST, TURNSTILE_TEST } from '../../local/emulator/providers/captcha.js';
import type { QueuePoller } from '../../local/emulator/queue-poller.js';
import { setSecrets } from '../../local/emulator/server.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, PROVIDERS, STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

const routes = vi.hoisted(() => {
  const all = ['twochat', 'kirim', 'callbell', 'chatwoot'];
  const route = (protection: unknown, extra: Record<string, unknown> = {}) => ({
    deliverTo: all,
    defaultRegion: 'US',
    protection,
    ...extra,
  });
  const secretOf = (name: string) => ({ secretName: `contact-relay/itest/source/${name}` });
  return {
    trap: route({ honeypot: 'website' }),
    turnstile: route({ captcha: { provider: 'turnstile' } }, secretOf('form-turnstile')),
    'turnstile-fails': route({ captcha: { provider: 'turnstile' } }, secretOf('form-turnstile-fails')),
    recaptcha: route({ captcha: { provider: 'recaptcha' } }, secretOf('form-recaptcha')),
    hcaptcha: route({ captcha: { provider: 'hcaptcha' } }, secretOf('form-hcaptcha')),
    // The pipeline's form secret has a signing secret and a token, no captchaSecret.
    'captcha-unset': route({ captcha: { provider: 'turnstile' } }),
    origins: route({ origins: ['https://www.example.com'] }),
    'per-ip': route({ rateLimit: { perIp: { requests: 2, windowSeconds: 86_400 } } }),
    'per-route': route({ rateLimit: { perRoute: { requests: 2, windowSeconds: 86_400 } } }),
  };
});

/** The shipped route config with the test routes added to its form routes. */
const testRoutes = { ...shipped, sources: { ...shipped.sources, form: { ...shipped.sources.form, ...routes } } };

const CAPTCHA_SECRETS = {
  [`contact-relay/${STAGE}/source/form-turnstile`]: { captchaSecret: TURNSTILE_TEST.passSecret },
  [`contact-relay/${STAGE}/source/form-turnstile-fails`]: { captchaSecret: TURNSTILE_TEST.failSecret },
  [`contact-relay/${STAGE}/source/form-recaptcha`]: { captchaSecret: RECAPTCHA_TEST.secret },
  [`contact-relay/${STAGE}/source/form-hcaptcha`]: { captchaSecret: HCAPTCHA_TEST.secret },
};

type Forms = Pipeline['forms'];
let pipeline: Pipeline;
let poller: QueuePoller;
beforeAll(async () => {
  pipeline = await startPipeline({ routes: testRoutes });
  setSecrets(pipeline.emulator.state, CAPTCHA_SECRETS);
  poller = pipeline.startPoller();
});
afterAll(async () => {
  await poller.stop();
  await pipeline.close();
});
beforeEach(() => pipeline.emulator.state.reset());

interface Post {
  headers?: Record<string, string>;
  sourceIp?: string;
  forms?: Forms;
}

async function post(route: string, fields: Record<string, string>, options: Post = {}) {
  const body = new URLSearchParams(fields).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
  const base = httpApiEvent('form', route, body, headers);
  const caller = { ...base.requestContext.http, sourceIp: options.sourceIp ?? '203.0.113.7' };
  const event: APIGatewayProxyEventV2 = { ...base, requestContext: { ...base.requestContext, http: caller } };
  const result = await (options.forms ?? pipeline.forms)(event, lambdaContext());
  return { statusCode: result.statusCode, body: JSON.parse(result.body as string) as Record<string, any>, sent: body };
}

const calls = (service: string) => pipeline.emulator.state.requests.filter((request) => request.provider === service);
const providerCalls = () =>
  pipeline.emulator.state.requests.filter((request) => (PROVIDERS as readonly string[]).includes(request.provider));
const contactsAt = (provider: string) =>
  pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider);
/** The Turnstile field as the widget fills it with the test site key. */
const TURNSTILE_TOKEN = { 'cf-turnstile-response': TURNSTILE_TEST.token };
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } };
const refused = (statusCode: number, code: string) => ({ statusCode, body: { error: { code } } });
let sent = 0;
/** A submission no earlier test sent (the same bytes would be a duplicate). */
const lead = (name: string, extra: Record<string, string> = {}) => ({
  name,
  email: `${name.split(' ')[0]!.toLowerCase()}@example.com`,
  phone: '(415) 555-0132',
  message: `submission ${++sent}`,
  ...extra,
});

let instances = 0;
/**
 * The forms function started again, cold, with these environment variables changed. Only the handler module
 * is evaluated again (the query string makes the loader do so), as the pipeline's deliverInstance does: a
 * fresh module registry would give the sources the handler loads later other copies of its error classes.
 */
async function formsWith(env: Record<string, string>): Promise<Forms> {
  const before = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name] ?? '']));
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const specifier = `../../functions/forms/handler.js?instance=${++instances}`;
  const { handler } = (await import(/* @vite-ignore */ specifier)) as typeof import('../../functions/forms/handler.js');
  for (const [name, value] of Object.entries(before)) vi.stubEnv(name, value);
  return asFunction('forms', handler);
}

describe('Form protection: honeypot', () => {
  it('answers a filled honeypot exactly as an accepted submission, and sends it to no provider', async () => {
    const spam = await post('trap', lead('Spam Bot', { website: 'https://spam.example' }));
    const eventKey = `form:trap:sha256:${createHash('sha256').update(spam.sent).digest('hex')}`;
    expect(spam).toMatchObject({ statusCode: 200, body: { status: 'accepted', eventKey } });
    expect(Object.keys(spam.body).sort()).toEqual(['eventKey', 'status']);

    // A visitor leaves the hidden field empty: delivered. The bot's submission never follows it.
    const visitor = await post('trap', lead('Ada Lovelace', { website: '' }));
    expect(visitor).toMatchObject(ACCEPTED);
    await eventually(() => {
      for (const provider of PROVIDERS) expect(contactsAt(provider), provider).toHaveLength(1);
    });
    expect(JSON.stringify(providerCalls())).toContain('ada@example.com');
    expect(JSON.stringify(providerCalls())).not.toContain('spam@example.com');
  });
});

describe('Form protection: captcha tokens checked with siteverify', () => {
  it('Turnstile: refuses a form without the token 401, before any siteverify call', async () => {
    const answer = await post('turnstile', lead('Ada Lovelace'));
    expect(answer).toMatchObject(refused(401, 'missing_captcha_token'));
    expect(answer.body['error'].message).toContain('cf-turnstile-response');
    expect(calls('turnstile')).toHaveLength(0);
  });

  it("Turnstile: accepts the test site key's dummy token under the always-passing test secret", async () => {
    const answer = await post('turnstile', lead('Ada Lovelace', TURNSTILE_TOKEN));
    expect(answer).toMatchObject(ACCEPTED);
    const [verify] = calls('turnstile');
    expect(verify).toMatchObject({
      method: 'POST',
      path: '/turnstile/v0/siteverify',
      status: 200,
      body: {
        response: TURNSTILE_TEST.token,
        remoteip: '203.0.113.7',
        secret: `********${TURNSTILE_TEST.passSecret.slice(-4)}`,
      },
    });
    expect(verify?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('Turnstile: refuses 403 a token siteverify does not accept, naming its error code', async () => {
    // Test secrets accept only the dummy token: any other is what a forged token looks like.
    const forged = await post('turnstile', lead('Ada Lovelace', { 'cf-turnstile-response': '0.forged-token' }));
    expect(forged).toMatchObject(refused(403, 'captcha_failed'));
    expect(forged.body['error'].message).toContain('invalid-input-response');
    const failing = await post('turnstile-fails', lead('Ada Lovelace', TURNSTILE_TOKEN));
    expect(failing).toMatchObject(refused(403, 'captcha_failed'));
  });

  it('reCAPTCHA: the test secret passes every token; the token travels in g-recaptcha-response', async () => {
    const answer = await post('recaptcha', lead('Ada Lovelace', { 'g-recaptcha-response': '03AFcWeA-any-token' }));
    expect(answer).toMatchObject(ACCEPTED);
    const verified = { path: '/recaptcha/api/siteverify', body: { response: '03AFcWeA-any-token' } };
    expect(calls('recaptcha')).toMatchObject([verified]);
    const missing = await post('recaptcha', lead('Ada Lovelace', TURNSTILE_TOKEN));
    expect(missing).toMatchObject(refused(401, 'missing_captcha_token'));
  });

  it('hCaptcha: accepts the test token under the test secret and refuses any other', async () => {
    const answer = await post('hcaptcha', lead('Ada Lovelace', { 'h-captcha-response': HCAPTCHA_TEST.token }));
    expect(answer).toMatchObject(ACCEPTED);
    const other = await post('hcaptcha', lead('Ada Lovelace', { 'h-captcha-response': 'P1_eyJ0eXAiOiJKV1Qi.forged' }));
    expect(other).toMatchObject(refused(403, 'captcha_failed'));
    expect(calls('hcaptcha').map((call) => call.path)).toEqual(['/siteverify', '/siteverify']);
  });

  it("answers 500 when the route's secret has no captchaSecret: our configuration, not the visitor", async () => {
    const answer = await post('captcha-unset', lead('Ada Lovelace', TURNSTILE_TOKEN));
    expect(answer.statusCode).toBe(500);
    expect(calls('turnstile')).toHaveLength(0);
  });

  it('answers 503 captcha_unavailable when siteverify cannot answer, and queues nothing', async () => {
    const down = http.createServer((_request, response) => {
      response.writeHead(503, { 'content-type': 'text/html' }).end('<h1>503</h1>');
    });
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = down.address() as AddressInfo;
      const forms = await formsWith({ CAPTCHA_URL_TURNSTILE: `http://127.0.0.1:${port}` });
      const answer = await post('turnstile', lead('Ada Lovelace', TURNSTILE_TOKEN), { forms });
      expect(answer).toMatchObject(refused(503, 'captcha_unavailable'));
    } finally {
      down.close();
    }
    expect(pipeline.emulator.state.awsCalls.get('AmazonSQS.SendMessage') ?? 0).toBe(0);
  });
});

describe('Form protection: allowed origins', () => {
  it('accepts a listed Origin, or a listed Referer when the Origin is absent or "null"', async () => {
    const byOrigin = await post('origins', lead('Ada Lovelace'), { headers: { origin: 'https://www.example.com' } });
    expect(byOrigin).toMatchObject(ACCEPTED);
    const referer = 'https://www.example.com/contact?ref=ad';
    const byReferer = await post('origins', lead('Bob Stone'), { headers: { referer } });
    expect(byReferer).toMatchObject(ACCEPTED);
    const nullOrigin = await post('origins', lead('Cy Young'), { headers: { origin: 'null', referer } });
    expect(nullOrigin).toMatchObject(ACCEPTED);
  });

  it('refuses 403 another site, or a request naming no page at all', async () => {
    const headers = { origin: 'https://evil.example.net', referer: 'https://www.example.com/' };
    const other = await post('origins', lead('Ada Lovelace'), { headers });
    expect(other).toMatchObject(refused(403, 'origin_not_allowed'));
    const none = await post('origins', lead('Ada Lovelace'));
    expect(none).toMatchObject(refused(403, 'origin_not_allowed'));
  });
});

describe('Form protection: rate limits counted in the events table', () => {
  beforeAll(async () => {
    // Windows are fixed (a day here): never start a count a few seconds before one ends.
    const left = 86_400_000 - (Date.now() % 86_400_000);
    if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 1_000));
  });

  it('per source IP: the third submission from one address in a window is answered 429, not another one', async () => {
    const from = (ip: string, name: string) => post('per-ip', lead(name), { sourceIp: ip });
    expect((await from('198.51.100.1', 'Ada Lovelace')).statusCode).toBe(200);
    expect((await from('198.51.100.1', 'Bob Stone')).statusCode).toBe(200);
    const third = await from('198.51.100.1', 'Cy Young');
    expect(third).toMatchObject(refused(429, 'rate_limited'));
    expect((await from('198.51.100.2', 'Dee Dee')).statusCode).toBe(200);
    // Counted by a hash of the address: the table never holds the address itself.
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const table = new DynamoDBClient({ endpoint: pipeline.emulator.url, region: 'us-east-1', credentials });
    const { Items = [] } = await table.send(new ScanCommand({ TableName: pipeline.resources.tableName }));
    table.destroy();
    const counters = Items.filter((item) => item['pk']?.S?.startsWith('ratelimit#form/per-ip/ip/'));
    expect(counters.map((item) => Number(item['hits']?.N)).sort()).toEqual([1, 2]);
    expect(JSON.stringify(counters)).not.toContain('198.51.100');
  });

  it('per route: every address counts against the one limit', async () => {
    expect((await post('per-route', lead('Ada Lovelace'), { sourceIp: '192.0.2.1' })).statusCode).toBe(200);
    expect((await post('per-route', lead('Bob Stone'), { sourceIp: '192.0.2.2' })).statusCode).toBe(200);
    const third = await post('per-route', lead('Cy Young'), { sourceIp: '192.0.2.3' });
    expect(third).toMatchObject(refused(429, 'rate_limited'));
  });
});

describe('Form routes anyone can post to', () => {
  it('are refused 403 where open routes are not allowed (deployed stages); protected ones are served', async () => {
    const forms = await formsWith({ ALLOW_OPEN_FORM_ROUTES: 'false' });
    const open = await post('default', lead('Ada Lovelace'), { forms });
    expect(open).toMatchObject(refused(403, 'route_not_protected'));
    expect(open.body['error'].message).toContain('protection.captcha');
    const trapOnly = await post('trap', lead('Ada Lovelace'), { forms });
    expect(trapOnly).toMatchObject(refused(403, 'route_not_protected'));
    const protectedRoute = await post('turnstile', lead('Ada Lovelace', TURNSTILE_TOKEN), { forms });
    expect(protectedRoute).toMatchObject(ACCEPTED);
  });

  it('the shipped config: form/default is the open route, and only the local stage serves it', () => {
    const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    const shipped = parseRoutesConfig(JSON.parse(read('config/routes.json')));
    expect(openFormRoutes(shipped)).toEqual(['sources.form.default']);
    expect(isOpenFormRoute(findRoute(shipped, 'form', 'contact') as ResolvedRoute)).toBe(false);
    const service = parse(read('serverless.yml')) as {
      params: Record<string, Record<string, unknown>>;
      functions: { forms: { environment: Record<string, string> } };
    };
    expect(service.params['default']?.['allowOpenFormRoutes']).toBe('false');
    expect(service.params['local']?.['allowOpenFormRoutes']).toBe('true');
    const allowing = Object.entries(service.params).filter(([, values]) => values['allowOpenFormRoutes'] === 'true');
    expect(allowing.map(([stage]) => stage)).toEqual(['local']);
    expect(service.functions.forms.environment['ALLOW_OPEN_FORM_ROUTES']).toBe('${param:allowOpenFormRoutes}');
  });
});

describe('Function: parseRoutesConfig (protection)', () => {
  const config = (source: string, protection: unknown, extra: Record<string, unknown> = {}) => ({
    accounts: { main: { provider: 'twochat' } },
    sources: { [source]: { default: { deliverTo: ['main'], protection, ...extra } } },
  });
  const errorOf = (raw: unknown) => {
    try {
      parseRoutesConfig(raw);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected the config to be refused');
  };

  it('names each wrong field', () => {
    const at = 'sources.form.default.protection';
    expect(errorOf(config('typeform', { honeypot: 'website' }))).toContain(
      'sources.typeform.default.protection: only plain form and custom routes (sources.form, sources.custom) have protection',
    );
    const withPath = config('form', { origins: ['https://www.example.com/contact'] });
    expect(errorOf(withPath)).toContain(`${at}.origins[0]: must be an origin`);
    expect(errorOf(config('form', { rateLimit: {} }))).toContain(`${at}.rateLimit: needs "perIp" or "perRoute"`);
    const noRequests = config('form', { rateLimit: { perIp: { requests: 0, windowSeconds: 60 } } });
    expect(errorOf(noRequests)).toContain(`${at}.rateLimit.perIp.requests`);
    expect(errorOf(config('form', { captcha: { provider: 'friendly-captcha' } }))).toContain(`${at}.captcha.provider`);
    const honeypotIsToken = config('form', { honeypot: 'cf-turnstile-response', captcha: { provider: 'turnstile' } });
    expect(errorOf(honeypotIsToken)).toContain(`${at}.honeypot: "cf-turnstile-response" is a field real visitors fill`);
    const honeypotIsMapped = config('form', { honeypot: 'phone' }, { fields: { phone: ['phone'] } });
    expect(errorOf(honeypotIsMapped)).toContain(`${at}.honeypot`);
  });
});

describe('Function: captchaVerifyUrls', () => {
  it("honours CAPTCHA_URL_* on the local stage, elsewhere only on this machine, with the vendor's path", () => {
    const local = captchaVerifyUrls({ STAGE: 'local', CAPTCHA_URL_TURNSTILE: 'https://siteverify.example/turnstile/' });
    expect(local.turnstile).toBe('https://siteverify.example/turnstile/turnstile/v0/siteverify');
    const away = captchaVerifyUrls({ STAGE: 'prod', CAPTCHA_URL_HCAPTCHA: 'https://attacker.example' });
    expect(away).toEqual(CAPTCHA_VERIFY_URLS);
    const loopback = captchaVerifyUrls({ STAGE: 'prod', CAPTCHA_URL_RECAPTCHA: 'http://127.0.0.1:4010/recaptcha' });
    expect(loopback.recaptcha).toBe('http://127.0.0.1:4010/recaptcha/recaptcha/api/siteverify');
  });
});
