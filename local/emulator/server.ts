/**
 * The provider emulator: the four providers under /twochat, /kirim,
 * /callbell, /chatwoot, the captcha vendors' siteverify APIs under /turnstile,
 * /recaptcha, /hcaptcha (providers/captcha.ts), Meta's Graph API for Lead Ads
 * under /meta (providers/meta.ts, its leads seeded at /_emulator/meta/leads), the AWS endpoints the functions need on `/` (by
 * `X-Amz-Target`, each function's call checked against its role when started
 * with `iam`), and the inspection API under /_emulator. Each provider's per-account rate limit
 * (rate-limits.ts) stands in front of its API when set; none is set by default.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CAPTCHA_SERVICES, captchaApi, type CaptchaService } from './providers/captcha.js';
import { callbellApi } from './providers/callbell.js';
import { chatwootApi } from './providers/chatwoot.js';
import { kirimApi } from './providers/kirim.js';
import { graphFaultBody, metaGraphApi, metaLeadsInspection } from './providers/meta.js';
import { twoChatApi } from './providers/twochat.js';
import { LocalIam, type IamOptions } from './iam.js';
import { secretArn, secretsManagerCall } from './secrets-manager.js';
import { ShopifyAdminStub } from './shopify-admin.js';
import { AdminOrderNodeSchema, type AdminOrderNode } from '../../shared/shopify/admin-orders.js';
import { describeIssues } from '../../shared/validation.js';
import {
  forward,
  listMessageMoveTasks,
  startAwsBackends,
  startMessageMoveTask,
  type AwsBackends,
} from './aws-backends.js';
import {
  EMULATED_PROVIDERS,
  EmulatorState,
  FAULT_TARGETS,
  mask,
  maskHeaders,
  maskQuery,
  RANDOM_FAULT_KINDS,
  type EmulatedProvider,
  type Fault,
  type FaultTarget,
  type RandomFaultPlan,
  type RandomFaults,
} from './state.js';
import { isRecord, json, type AsyncEmulatedApi, type EmulatedResponse } from './http-kit.js';
import {
  checkPlans,
  parseRateLimit,
  rateAccount,
  rateLimitedAnswer,
  type RateDecision,
  type RateLimitPlans,
} from './rate-limits.js';

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** Secret name → JSON text, as local/secrets.json holds them. */
  secrets?: Record<string, unknown>;
  /** Credentials each provider accepts. */
  credentials?: Partial<Record<EmulatedProvider, string[]>>;
  /** Also serve DynamoDB (dynalite) and SQS (fauxqs) on this endpoint. */
  aws?: boolean;
  /** Random transient faults per provider from the start (see `RandomFaultPlan`); `seed` makes the draws repeatable. */
  randomFaults?: { plans: RandomFaults; seed?: number };
  /** Evaluate each function's AWS calls against its role, as AWS does (local/emulator/iam.ts). */
  iam?: IamOptions;
  /**
   * Each provider's per-account rate limit from the start (local/emulator/rate-limits.ts), e.g.
   * `{ twochat: { perMinute: 600 }, kirim: { perMinute: 300 } }`; none by default.
   */
  rateLimits?: RateLimitPlans;
}

export interface Emulator {
  url: string;
  port: number;
  state: EmulatorState;
  /** Present when started with `aws: true`. */
  aws?: AwsBackends;
  /** The Shopify Admin API stub under /shopify; its tokens come from `shopify-admin` secrets. */
  shopify: ShopifyAdminStub;
  /** Present when started with `iam`: the roles evaluated and the decisions taken. */
  iam?: LocalIam;
  close(): Promise<void>;
}

export type ProviderApis = Partial<Record<EmulatedProvider, AsyncEmulatedApi>>;

/** Provider APIs the emulator serves; each module adds itself here. */
export function providerApis(state: EmulatorState): ProviderApis {
  return {
    twochat: twoChatApi(state),
    kirim: kirimApi(state),
    callbell: callbellApi(state),
    chatwoot: chatwootApi(state),
  };
}

/** Access tokens of every `contact-relay/{stage}/shopify-admin/{route}` secret. */
function shopifyTokens(secrets: Record<string, unknown>): string[] {
  return Object.entries(secrets)
    .filter(([name]) => /^contact-relay\/[^/]+\/shopify-admin\//.test(name))
    .map(([, value]) => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value))
    .map((value) =>
      typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['accessToken'] : undefined,
    )
    .filter((token): token is string => typeof token === 'string');
}

export function setSecrets(state: EmulatorState, secrets: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(secrets))
    state.secrets.set(name, typeof value === 'string' ? value : JSON.stringify(value));
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const state = seededState(options);
  const services = await startServices(state, options);
  const server = http.createServer((incoming, outgoing) => receive(services, incoming, outgoing));
  // Keep-alive clients must not see the emulator drop their idle sockets first.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const { shopify, aws, iam } = services;
  return {
    url: `http://${address}:${port}`,
    port,
    state,
    shopify,
    ...(aws !== undefined ? { aws } : {}),
    ...(iam !== undefined ? { iam } : {}),
    close: () => closeEmulator(server, aws),
  };
}

/** The state the options give from the start: secrets, the credentials each provider accepts, random faults. */
function seededState(options: EmulatorOptions): EmulatorState {
  const state = new EmulatorState();
  setSecrets(state, options.secrets ?? {});
  for (const [provider, keys] of Object.entries(options.credentials ?? {})) {
    for (const key of keys ?? []) state.credentials[provider as EmulatedProvider].add(key);
  }
  if (options.randomFaults !== undefined) state.setRandomFaults(options.randomFaults.plans, options.randomFaults.seed);
  for (const [provider, plan] of Object.entries(checkPlans(options.rateLimits ?? {})))
    state.rateLimits.set(provider as EmulatedProvider, plan);
  return state;
}

/** What answers the requests: the emulated APIs, the AWS backends (with `aws`) and the roles' evaluation (with `iam`). */
interface Services {
  state: EmulatorState;
  apis: ProviderApis;
  captcha: ReturnType<typeof captchaApi>;
  graph: ReturnType<typeof metaGraphApi>;
  aws: AwsBackends | undefined;
  shopify: ShopifyAdminStub;
  iam: LocalIam | undefined;
}

async function startServices(state: EmulatorState, options: EmulatorOptions): Promise<Services> {
  return {
    state,
    apis: providerApis(state),
    captcha: captchaApi(state),
    graph: metaGraphApi(state),
    aws: options.aws ? await startAwsBackends() : undefined,
    shopify: new ShopifyAdminStub({ tokens: shopifyTokens(options.secrets ?? {}) }),
    iam: options.iam === undefined ? undefined : new LocalIam(options.iam),
  };
}

async function closeEmulator(server: http.Server, aws: AwsBackends | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  await aws?.close();
}

interface Request {
  incoming: http.IncomingMessage;
  url: URL;
  method: string;
  rawBody: string;
  /** The body as JSON, when it is JSON. */
  body: unknown;
}

/** What to answer; nothing when the connection was reset instead. */
type Reply = (EmulatedResponse & { raw?: string }) | undefined;

/** Reads the request's body and sends the answer to it; an error answers 500. */
function receive(services: Services, incoming: http.IncomingMessage, outgoing: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
  incoming.on('end', () => {
    void answer(services, incoming, Buffer.concat(chunks).toString('utf8'))
      .then((reply) => {
        if (reply !== undefined) send(reply);
      })
      .catch((error: unknown) => {
        send(json(500, { message: `emulator error: ${(error as Error).message}` }));
      });
  });

  function send(response: EmulatedResponse & { raw?: string }): void {
    if (outgoing.headersSent || outgoing.destroyed) return;
    const body = response.raw ?? (response.body === undefined ? '' : JSON.stringify(response.body));
    outgoing.writeHead(response.status, { 'content-type': 'application/json; charset=utf-8', ...response.headers });
    outgoing.end(body);
  }
}

/** Routes a request: AWS calls by `X-Amz-Target`, the inspection API under /_emulator, the rest by its path's first segment. */
async function answer(services: Services, incoming: http.IncomingMessage, rawBody: string): Promise<Reply> {
  const url = new URL(incoming.url ?? '/', 'http://emulator');
  const method = incoming.method ?? 'GET';
  let body: unknown;
  try {
    body = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  const request: Request = { incoming, url, method, rawBody, body };

  // AWS JSON protocol: every call is a POST to / naming its operation.
  const target = incoming.headers['x-amz-target'];
  if (typeof target === 'string') return awsCall(services, request, target);
  if (url.pathname.startsWith('/_emulator/')) return emulatorCall(services, request);

  const { state, captcha, shopify } = services;
  const [, prefix = '', ...rest] = url.pathname.split('/');
  const path = `/${rest.join('/')}`;
  const apiRequest = { method, path, query: url.searchParams, headers: incoming.headers, rawBody, json: body };
  if ((CAPTCHA_SERVICES as readonly string[]).includes(prefix)) return captcha(prefix as CaptchaService, apiRequest);
  if (prefix === 'shopify') {
    const response = shopify.handle(apiRequest);
    state.requests.push({
      provider: 'shopify',
      method,
      path,
      headers: maskHeaders(incoming.headers),
      body,
      status: response.status,
      at: new Date().toISOString(),
    });
    return response;
  }
  return providerCall(services, request, prefix, path);
}

/**
 * An AWS call. A function's call its role does not grant is refused before any service sees it (with `iam`);
 * DynamoDB and SQS go to the AWS backends (with `aws`); Secrets Manager is answered here.
 */
async function awsCall(
  { state, aws, iam }: Services,
  { incoming, method, rawBody, body }: Request,
  target: string,
): Promise<Reply> {
  const arnOfSecret = (name: string) => (state.secrets.has(name) ? secretArn(name) : undefined);
  const refusal = iam?.check(incoming.headers.authorization, target, body, arnOfSecret);
  if (aws !== undefined && !target.startsWith('secretsmanager.')) {
    state.awsCalls.set(target, (state.awsCalls.get(target) ?? 0) + 1);
    if (refusal !== undefined) return refusal;
    if (target === 'AmazonSQS.StartMessageMoveTask') return startMessageMoveTask(aws, body);
    if (target === 'AmazonSQS.ListMessageMoveTasks') return listMessageMoveTasks(aws, body);
    if (target.startsWith('AmazonSQS.')) return forward(aws.sqsUrl, incoming, rawBody);
    if (target.startsWith('DynamoDB_')) return forward(aws.dynamodbUrl, incoming, rawBody);
  }
  const unknown = { __type: 'UnknownOperationException', message: `unsupported target ${target}` };
  const secrets = target.startsWith('secretsmanager.');
  const response = refusal ?? (secrets ? secretsManagerCall(state, target, body) : json(400, unknown));
  state.requests.push({
    provider: 'secretsmanager',
    method,
    path: target,
    headers: maskHeaders(incoming.headers),
    body,
    status: response.status,
    at: new Date().toISOString(),
  });
  return response;
}

/** The inspection API under /_emulator: IAM decisions, the Shopify stub's orders, Meta's leads, then `inspect`. */
function emulatorCall({ state, shopify, iam }: Services, { url, method, body }: Request): Reply {
  if (url.pathname === '/_emulator/iam' && method === 'GET') {
    if (iam === undefined) return json(200, { enabled: false });
    return json(200, { enabled: true, stage: iam.stage, decisions: iam.decisions });
  }
  if (url.pathname === '/_emulator/requests' && method === 'DELETE' && iam !== undefined) iam.decisions = [];
  if (url.pathname.startsWith('/_emulator/shopify/orders')) return shopifyOrders(shopify, method, body);
  if (url.pathname === '/_emulator/meta/leads') return metaLeadsInspection(state, method, body);
  if (url.pathname === '/_emulator/rate-limits') return rateLimitsCall(state, method, body);
  return inspect(state, method, url, body);
}

/** A provider's or the Graph API's call, through the fault armed for it if any, recorded as it was answered. */
async function providerCall(
  { state, apis, graph }: Services,
  { incoming, url, method, rawBody, body }: Request,
  prefix: string,
  path: string,
): Promise<Reply> {
  // Graph API calls go through the same faults and recording as the providers' calls.
  const provider: FaultTarget | undefined =
    prefix === 'meta' ? 'meta' : EMULATED_PROVIDERS.find((name) => name === prefix);
  const api = provider === undefined ? undefined : provider === 'meta' ? graph : apis[provider];
  if (provider === undefined || api === undefined) return json(404, { message: `no emulated provider at /${prefix}` });

  // The provider's limiter stands in front of its API: a refused request reaches neither the API nor a fault.
  const rate = provider === 'meta' ? undefined : takeRate(state, provider, incoming, method);
  const recordLimited = () =>
    state.requests.push({
      provider,
      method,
      path: `${path}${maskQuery(url.search)}`,
      headers: maskHeaders(incoming.headers),
      body: body ?? (rawBody || undefined),
      status: 429,
      at: new Date().toISOString(),
      rateLimited: true,
    });
  if (provider !== 'meta' && rate !== undefined && !rate.allowed) {
    recordLimited();
    return rateLimitedAnswer(provider, rate.headers);
  }
  const withRate = (reply: EmulatedResponse & { raw?: string }) =>
    rate === undefined || reply.status >= 500 ? reply : { ...reply, headers: { ...reply.headers, ...rate.headers } };

  const fault = state.takeFault(provider, method);
  const record = (status: number) =>
    state.requests.push({
      provider,
      method,
      path: `${path}${maskQuery(url.search)}`,
      headers: maskHeaders(incoming.headers),
      body: body ?? (rawBody || undefined),
      status,
      at: new Date().toISOString(),
      ...(fault?.random !== undefined ? { fault: fault.random } : {}),
    });

  const hold = () =>
    fault?.delayMs ? new Promise((resolve) => setTimeout(resolve, fault.delayMs)) : Promise.resolve();
  if (fault?.reset) {
    await hold();
    record(0);
    incoming.socket.destroy();
    return undefined;
  }
  if (fault?.status !== undefined) {
    await hold();
    record(fault.status);
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    return withRate(json(fault.status, faultBody(provider, fault.status, fault.code), headers));
  }
  // A slow provider still does the work; only its answer is late (as when a client times out on a real API).
  const heldMs = fault?.delayMs ? { heldMs: fault.delayMs } : {};
  const response = await api({
    method,
    path,
    query: url.searchParams,
    headers: incoming.headers,
    rawBody,
    json: body,
    ...heldMs,
  });
  await hold();
  record(response.status);
  return withRate(response);
}

/** Count the request against its account's limit, if its provider has one and counts it. */
function takeRate(
  state: EmulatorState,
  provider: EmulatedProvider,
  incoming: http.IncomingMessage,
  method: string,
): RateDecision | undefined {
  if (state.rateLimits.plans[provider] === undefined) return undefined;
  const request = { method, headers: incoming.headers, remoteAddress: incoming.socket.remoteAddress };
  const account = rateAccount(provider, request, state.credentials[provider]);
  return account === undefined ? undefined : state.rateLimits.take(provider, account);
}

/**
 * `/_emulator/rate-limits`: POST `{provider, perMinute, burst?, windowMs?}` sets (replaces) one provider's limit,
 * GET shows the limits with each account's counts (credentials masked), DELETE removes every limit.
 */
function rateLimitsCall(state: EmulatorState, method: string, body: unknown): EmulatedResponse {
  if (method === 'GET') return json(200, state.rateLimits.snapshot(mask));
  if (method === 'DELETE') {
    state.rateLimits.clear();
    return json(200, { status: 'cleared' });
  }
  if (method !== 'POST')
    return json(405, { error: { code: 'method_not_allowed', message: 'use GET, POST or DELETE' } });
  const parsed = parseRateLimit(body);
  if (typeof parsed === 'string') return json(400, { error: { code: 'invalid_rate_limit', message: parsed } });
  state.rateLimits.set(parsed.provider, parsed.plan);
  return json(201, { [parsed.provider]: parsed.plan });
}

/** Each provider's own error envelope, so clients parse injected faults as they would real ones. */
function faultBody(provider: FaultTarget, status: number, code?: number): unknown {
  const message = status === 429 ? 'Too many requests' : `Emulated fault ${status}`;
  switch (provider) {
    case 'meta':
      return graphFaultBody(status, code);
    case 'kirim':
      return {
        error: {
          type: status === 429 ? 'rate_limit_error' : 'api_error',
          code: status === 429 ? 'rate_limit_exceeded' : 'internal_error',
          message,
          request_id: 'req_emulated',
        },
      };
    case 'chatwoot':
      return { error: message };
    case 'callbell':
      return { error: message };
    default:
      return { success: false, message };
  }
}

function inspect(state: EmulatorState, method: string, url: URL, body: unknown): EmulatedResponse {
  if (url.pathname === '/_emulator/requests' && method === 'GET') {
    const provider = url.searchParams.get('provider');
    return json(
      200,
      provider === null ? state.requests : state.requests.filter((request) => request.provider === provider),
    );
  }
  if (url.pathname === '/_emulator/requests' && method === 'DELETE') {
    state.reset();
    return json(200, { status: 'cleared' });
  }
  if (url.pathname === '/_emulator/faults' && method === 'POST') {
    const fault = parseFault(body);
    if (typeof fault === 'string') return json(400, { error: { code: 'invalid_fault', message: fault } });
    state.faults.push(fault);
    return json(201, fault);
  }
  if (url.pathname === '/_emulator/random-faults') {
    if (method === 'GET')
      return json(200, {
        plans: state.randomFaults,
        injected: state.randomFaultsInjected,
        draws: state.randomFaultDraws,
      });
    if (method === 'DELETE') {
      state.setRandomFaults({});
      return json(200, { status: 'cleared' });
    }
    if (method === 'POST') {
      const parsed = parseRandomFaults(body);
      if (typeof parsed === 'string') return json(400, { error: { code: 'invalid_random_faults', message: parsed } });
      state.setRandomFaults(parsed.plans, parsed.seed);
      return json(201, { plans: state.randomFaults });
    }
  }
  if (url.pathname === '/_emulator/contacts' && method === 'GET') {
    const provider = url.searchParams.get('provider');
    return json(
      200,
      state.contacts
        .filter((contact) => provider === null || contact.provider === provider)
        .map(({ raw: _raw, ...contact }) => contact),
    );
  }
  return json(404, { error: { code: 'not_found', message: `no emulator endpoint ${method} ${url.pathname}` } });
}

/** Seed or read the Shopify stub's orders (GraphQL order nodes), for demos of `reconcile`. */
function shopifyOrders(stub: ShopifyAdminStub, method: string, body: unknown): EmulatedResponse {
  if (method === 'GET') return json(200, stub.orders);
  if (method === 'DELETE') {
    stub.orders = [];
    return json(200, { status: 'cleared' });
  }
  if (method !== 'POST')
    return json(405, { error: { code: 'method_not_allowed', message: 'use GET, POST or DELETE' } });
  const nodes = Array.isArray(body) ? body : [body];
  for (const [index, node] of nodes.entries()) {
    const parsed = AdminOrderNodeSchema.safeParse(node);
    if (!parsed.success)
      return json(400, {
        error: { code: 'invalid_order', message: `order ${index}: ${describeIssues(parsed.error)}` },
      });
  }
  stub.orders.push(...(nodes as AdminOrderNode[]));
  return json(201, { orders: stub.orders.length });
}

/**
 * `POST /_emulator/faults` `{provider, status?, times?, retryAfterSeconds?, delayMs?, reset?, method?, code?}`.
 * `provider: "meta"` arms a fault on the Graph API; there `code` is the Graph error code of the answer (e.g. 80001,
 * the Pages rate limit) and its status is 400 unless given (see providers/meta.ts).
 */
function parseFault(body: unknown): Fault | string {
  if (!isRecord(body)) return 'body must be a JSON object {provider, status, times, retryAfterSeconds?, delayMs?}';
  const { provider, times, retryAfterSeconds, delayMs, reset, method, code } = body;
  // The Graph API is armed like a provider but named apart in messages: it is where leads are read, not a provider.
  if (typeof provider !== 'string' || !FAULT_TARGETS.includes(provider as FaultTarget))
    return `provider must be one of ${FAULT_TARGETS.join(', ')}`;
  if (code !== undefined && provider !== 'meta') return 'code is a Graph API error code: only provider meta takes it';
  if (code !== undefined && (typeof code !== 'number' || !Number.isInteger(code) || code < 1))
    return 'code must be a Graph error code such as 4, 17, 32, 613 or 80001';
  const status = body['status'] ?? (code !== undefined ? 400 : undefined);
  if (status !== undefined && (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599))
    return 'status must be an HTTP status code';
  if (status === undefined && delayMs === undefined && reset !== true) return 'give a status, a delayMs or reset: true';
  if (times !== undefined && (typeof times !== 'number' || !Number.isInteger(times) || times < 1))
    return 'times must be a whole number >= 1';
  if (retryAfterSeconds !== undefined && (typeof retryAfterSeconds !== 'number' || retryAfterSeconds < 0))
    return 'retryAfterSeconds must be a number >= 0';
  if (delayMs !== undefined && (typeof delayMs !== 'number' || delayMs < 0)) return 'delayMs must be a number >= 0';
  if (method !== undefined && (typeof method !== 'string' || !/^[A-Z]+$/.test(method)))
    return 'method must be an HTTP method such as POST';
  return {
    provider: provider as FaultTarget,
    times: (times as number | undefined) ?? 1,
    ...(status !== undefined ? { status: status as number } : {}),
    ...(code !== undefined ? { code: code as number } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds: retryAfterSeconds as number } : {}),
    ...(delayMs !== undefined ? { delayMs: delayMs as number } : {}),
    ...(reset === true ? { reset: true } : {}),
    ...(method !== undefined ? { method: method as string } : {}),
  };
}

/**
 * `POST /_emulator/random-faults` `{rate, mix?, retryAfterSeconds?, hangMs?, method?, providers?, seed?}`:
 * one plan for the listed providers (all four by default), replacing any plans set before.
 */
export function parseRandomFaults(body: unknown): { plans: RandomFaults; seed?: number } | string {
  if (!isRecord(body))
    return 'body must be a JSON object {rate, mix?, retryAfterSeconds?, hangMs?, method?, providers?, seed?}';
  const { rate, mix, retryAfterSeconds, hangMs, method, providers, seed } = body;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) return 'rate must be a number from 0 to 1';
  if (mix !== undefined) {
    if (!isRecord(mix)) return `mix must be an object of weights by kind (${RANDOM_FAULT_KINDS.join(', ')})`;
    for (const [kind, weight] of Object.entries(mix)) {
      if (!(RANDOM_FAULT_KINDS as readonly string[]).includes(kind))
        return `mix: unknown kind "${kind}" (kinds: ${RANDOM_FAULT_KINDS.join(', ')})`;
      if (typeof weight !== 'number' || !(weight >= 0)) return `mix.${kind} must be a number >= 0`;
    }
  }
  if (retryAfterSeconds !== undefined && (typeof retryAfterSeconds !== 'number' || retryAfterSeconds < 0))
    return 'retryAfterSeconds must be a number >= 0';
  if (hangMs !== undefined && (typeof hangMs !== 'number' || hangMs < 0)) return 'hangMs must be a number >= 0';
  if (method !== undefined && (typeof method !== 'string' || !/^[A-Z]+$/.test(method)))
    return 'method must be an HTTP method such as POST';
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isInteger(seed))) return 'seed must be a whole number';
  const names = providers ?? [...EMULATED_PROVIDERS];
  if (!Array.isArray(names) || !names.every((name) => EMULATED_PROVIDERS.includes(name as EmulatedProvider)))
    return `providers must be a list of ${EMULATED_PROVIDERS.join(', ')}`;
  const plan: RandomFaultPlan = {
    rate,
    ...(mix !== undefined ? { mix: mix as RandomFaultPlan['mix'] } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds: retryAfterSeconds as number } : {}),
    ...(hangMs !== undefined ? { hangMs: hangMs as number } : {}),
    ...(method !== undefined ? { method: method as string } : {}),
  };
  return {
    plans: Object.fromEntries((names as EmulatedProvider[]).map((name) => [name, plan])),
    ...(seed !== undefined ? { seed: seed as number } : {}),
  };
}
