/**
 * Each emulated provider's per-account rate limit, off until set (`POST /_emulator/rate-limits` or
 * `startEmulator({ rateLimits })`). Each provider counts what its real API counts and refuses as it documents
 * (test/contracts/<provider>.md, "Rate limits"):
 * - 2Chat: every request per `X-User-API-Key`. https://developers.2chat.co/docs/API/billing shows an account's
 *   `limits.requests_per_minute` (80 in its example); 429 is "too many requests" on
 *   https://developers.2chat.co/docs/API/api-response-codes, with no rate header documented.
 *   Assumption: a token bucket as large as a minute's requests; the body is 2Chat's `{success:false, message}`.
 * - Kirim.chat: writes (POST, PUT, PATCH, DELETE) per organisation in a token bucket, 60 a minute on the free plan
 *   and 600 on Pro; every success and 4xx of the class carries `X-RateLimit-Limit` (capacity),
 *   `X-RateLimit-Remaining` (whole tokens) and `X-RateLimit-Reset` (epoch seconds when full); a 429 adds
 *   `Retry-After` (seconds until a token is free) and the error envelope's `rate_limit_error` /
 *   `rate_limit_exceeded` (https://developers.kirim.chat/concepts/rate-limits/,
 *   https://developers.kirim.chat/concepts/errors/). Assumption: one organisation per token (the emulator has no
 *   organisations); reads are not limited (their bucket is ten times larger and the adapter reads little).
 * - Callbell: 429 above 300 requests a second (https://docs.callbell.eu/api/reference/rate_limits).
 *   Assumption: counted per token, every request, in a token bucket; body `{error}` and no headers (none documented).
 * - Chatwoot: rack-attack's `req/ip` throttle, `RACK_ATTACK_LIMIT` (3,000 by default) requests a minute per client
 *   IP, every request, in fixed windows aligned on the epoch
 *   (https://github.com/chatwoot/chatwoot/blob/develop/config/initializers/rack_attack.rb); rack-attack's default
 *   answer is 429 `text/plain` "Retry later" without `Retry-After` unless the app turns that header on, which
 *   Chatwoot does not (https://github.com/rack/rack-attack/blob/main/lib/rack/attack/configuration.rb).
 *   The self-hosted page
 *   https://developers.chatwoot.com/self-hosted/monitoring/rate-limiting says 60 a minute with localhost allowed;
 *   the initializer sets 3,000 and safelists nothing, and the emulator follows the code.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ulid } from './providers/kirim.js';
import { EMULATED_PROVIDERS, type EmulatedProvider } from './state.js';
import { isRecord, json, type EmulatedResponse } from './http-kit.js';

export interface RateLimitPlan {
  /** Requests (Kirim: writes) an account may make per window. */
  perMinute: number;
  /** Token-bucket capacity: how many may go at once after an idle spell (default `perMinute`). Not for Chatwoot. */
  burst?: number;
  /** The window `perMinute` is counted over, in ms (default 60 000); tests shorten it. */
  windowMs?: number;
}

export type RateLimitPlans = Partial<Record<EmulatedProvider, RateLimitPlan>>;

const MINUTE_MS = 60_000;

interface Account {
  /** Token bucket: tokens now and when they were counted. Fixed window: the window's start and its count. */
  tokens: number;
  at: number;
  served: number;
  limited: number;
}

/** What the limiter decided for one request; `headers` go on the answer whichever it is. */
export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
}

/** Chatwoot's rack-attack counts fixed windows; the others are token buckets. */
const FIXED_WINDOW: ReadonlySet<EmulatedProvider> = new Set(['chatwoot']);
/** Only Kirim documents rate headers; 2Chat and Callbell answer without them. */
const RATE_HEADERS: ReadonlySet<EmulatedProvider> = new Set(['kirim']);

export class RateLimits {
  plans: RateLimitPlans = {};
  /** The clock; a test may set a fake one to step past a reset without waiting. */
  now: () => number;
  readonly #accounts = new Map<EmulatedProvider, Map<string, Account>>();

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Set (replacing) one provider's limit; its accounts start afresh. */
  set(provider: EmulatedProvider, plan: RateLimitPlan): void {
    this.plans[provider] = plan;
    this.#accounts.delete(provider);
  }

  /** No limits and no counts. */
  clear(): void {
    this.plans = {};
    this.#accounts.clear();
  }

  /** Forget the counts (every bucket full again) but keep the limits, as accounts keep their plans. */
  resetCounts(): void {
    this.#accounts.clear();
  }

  /** Count one request of an account; undefined when the provider has no limit. */
  take(provider: EmulatedProvider, account: string): RateDecision | undefined {
    const plan = this.plans[provider];
    if (plan === undefined) return undefined;
    const now = this.now();
    const windowMs = plan.windowMs ?? MINUTE_MS;
    const accounts = this.#accounts.get(provider) ?? new Map<string, Account>();
    this.#accounts.set(provider, accounts);
    if (FIXED_WINDOW.has(provider)) return fixedWindow(accounts, account, plan.perMinute, windowMs, now);
    const decision = tokenBucket(accounts, account, plan, windowMs, now);
    return RATE_HEADERS.has(provider) ? decision : { allowed: decision.allowed, headers: {} };
  }

  /** Per provider: the plan and each account's counts (accounts named by `mask`, never in clear). */
  snapshot(mask: (account: string) => string): unknown {
    const now = this.now();
    return Object.fromEntries(
      Object.entries(this.plans).map(([provider, plan]) => {
        const name = provider as EmulatedProvider;
        const accounts = [...(this.#accounts.get(name) ?? new Map<string, Account>()).entries()].map(
          ([account, counts]) => ({
            account: mask(account),
            served: counts.served,
            limited: counts.limited,
            remaining: remaining(name, plan, counts, now),
          }),
        );
        const limited = accounts.reduce((sum, account) => sum + account.limited, 0);
        return [provider, { ...plan, limited, accounts }];
      }),
    );
  }
}

function remaining(provider: EmulatedProvider, plan: RateLimitPlan, account: Account, now: number): number {
  const windowMs = plan.windowMs ?? MINUTE_MS;
  if (FIXED_WINDOW.has(provider)) {
    const start = Math.floor(now / windowMs) * windowMs;
    return start === account.at ? Math.max(0, plan.perMinute - account.tokens) : plan.perMinute;
  }
  const capacity = plan.burst ?? plan.perMinute;
  return Math.floor(Math.min(capacity, account.tokens + ((now - account.at) * plan.perMinute) / windowMs));
}

function tokenBucket(
  accounts: Map<string, Account>,
  key: string,
  plan: RateLimitPlan,
  windowMs: number,
  now: number,
): RateDecision {
  const capacity = plan.burst ?? plan.perMinute;
  const perMs = plan.perMinute / windowMs;
  const account = accounts.get(key) ?? { tokens: capacity, at: now, served: 0, limited: 0 };
  accounts.set(key, account);
  account.tokens = Math.min(capacity, account.tokens + (now - account.at) * perMs);
  account.at = now;
  const allowed = account.tokens >= 1;
  if (allowed) {
    account.tokens -= 1;
    account.served += 1;
  } else account.limited += 1;
  const untilFullMs = (capacity - account.tokens) / perMs;
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(capacity),
    'x-ratelimit-remaining': String(Math.floor(account.tokens)),
    'x-ratelimit-reset': String(Math.ceil((now + untilFullMs) / 1000)),
  };
  // Whole seconds, at least 1: a client that waits this long finds a token.
  if (!allowed) headers['retry-after'] = String(Math.max(1, Math.ceil((1 - account.tokens) / perMs / 1000)));
  return { allowed, headers };
}

function fixedWindow(
  accounts: Map<string, Account>,
  key: string,
  limit: number,
  windowMs: number,
  now: number,
): RateDecision {
  // rack-attack keys its counter by `now / period`: every client's window turns over at the same instant.
  const start = Math.floor(now / windowMs) * windowMs;
  const account = accounts.get(key) ?? { tokens: 0, at: start, served: 0, limited: 0 };
  accounts.set(key, account);
  if (account.at !== start) {
    account.at = start;
    account.tokens = 0;
  }
  account.tokens += 1;
  const allowed = account.tokens <= limit;
  if (allowed) account.served += 1;
  else account.limited += 1;
  return { allowed, headers: {} };
}

/**
 * `POST /_emulator/rate-limits` `{provider, perMinute, burst?, windowMs?}`: the limit, or why it is refused.
 */
export function parseRateLimit(body: unknown): { provider: EmulatedProvider; plan: RateLimitPlan } | string {
  if (!isRecord(body)) return 'body must be a JSON object {provider, perMinute, burst?, windowMs?}';
  const { provider, perMinute, burst, windowMs } = body;
  if (typeof provider !== 'string' || !EMULATED_PROVIDERS.includes(provider as EmulatedProvider))
    return `provider must be one of ${EMULATED_PROVIDERS.join(', ')}`;
  const checked = checkPlan(provider as EmulatedProvider, { perMinute, burst, windowMs });
  return typeof checked === 'string' ? checked : { provider: provider as EmulatedProvider, plan: checked };
}

/** The start option's plans, checked as the API checks them; a bad one throws, naming the provider and the problem. */
export function checkPlans(plans: Record<string, unknown>): RateLimitPlans {
  const checked: RateLimitPlans = {};
  for (const [provider, plan] of Object.entries(plans)) {
    const parsed = parseRateLimit(isRecord(plan) ? { ...plan, provider } : { provider });
    if (typeof parsed === 'string') throw new InvalidRateLimitError(`rateLimits.${provider}: ${parsed}`);
    checked[parsed.provider] = parsed.plan;
  }
  return checked;
}

export class InvalidRateLimitError extends Error {
  override name = 'InvalidRateLimitError';
}

function checkPlan(provider: EmulatedProvider, plan: Record<string, unknown>): RateLimitPlan | string {
  const { perMinute, burst, windowMs } = plan;
  if (typeof perMinute !== 'number' || !Number.isInteger(perMinute) || perMinute < 1)
    return 'perMinute must be a whole number >= 1';
  if (burst !== undefined && FIXED_WINDOW.has(provider))
    return 'burst does not apply to chatwoot: rack-attack counts fixed windows, not a bucket';
  if (burst !== undefined && (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1))
    return 'burst must be a whole number >= 1';
  if (windowMs !== undefined && (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs < 1))
    return 'windowMs must be a whole number of milliseconds >= 1';
  return {
    perMinute,
    ...(burst !== undefined ? { burst: burst as number } : {}),
    ...(windowMs !== undefined ? { windowMs: windowMs as number } : {}),
  };
}

/**
 * The credential (Chatwoot: the caller's IP) a provider counts a request against, or undefined when the request
 * is not counted: an unknown credential is refused by the API itself (Assumption: before the limiter sees it),
 * and Kirim counts only writes in the limited class.
 */
export function rateAccount(
  provider: EmulatedProvider,
  request: { method: string; headers: IncomingHttpHeaders; remoteAddress: string | undefined },
  credentials: ReadonlySet<string>,
): string | undefined {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const valid = (credential: string | undefined) =>
    credential !== undefined && credentials.has(credential) ? credential : undefined;
  const bearer = () => /^Bearer\s+(\S+)$/i.exec(header('authorization')?.trim() ?? '')?.[1];
  switch (provider) {
    case 'twochat':
      return valid(header('x-user-api-key'));
    case 'kirim':
      return KIRIM_WRITES.has(request.method) ? valid(bearer()) : undefined;
    case 'callbell':
      return valid(bearer());
    case 'chatwoot':
      return request.remoteAddress ?? 'unknown';
  }
}

const KIRIM_WRITES: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The provider's documented refusal (see the top of this file); `headers` are the limiter's. */
export function rateLimitedAnswer(
  provider: EmulatedProvider,
  headers: Record<string, string>,
): EmulatedResponse & { raw?: string } {
  const message = 'Too many requests';
  switch (provider) {
    case 'twochat':
      return json(429, { success: false, message }, headers);
    case 'kirim': {
      const requestId = `req_${ulid()}`;
      const error = { type: 'rate_limit_error', code: 'rate_limit_exceeded', message, request_id: requestId };
      return json(429, { error }, { ...headers, 'x-request-id': requestId });
    }
    case 'callbell':
      return json(429, { error: message }, headers);
    case 'chatwoot':
      return { status: 429, raw: 'Retry later\n', headers: { ...headers, 'content-type': 'text/plain' } };
  }
}
