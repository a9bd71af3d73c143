/**
 * The emulator's memory: what it received, which faults are armed, which
 * contacts exist, which leads the Graph API serves, which credentials are valid. Kept in one object so tests
 * can inspect it in-process and the inspection API can serve it.
 */
import type { CaptchaService } from './providers/captcha.js';
import type { StoredLead } from './providers/meta.js';
import { RateLimits } from './rate-limits.js';
import { seededRandom, weightedPick, type Random } from './random.js';

export const EMULATED_PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;
export type EmulatedProvider = (typeof EMULATED_PROVIDERS)[number];
/** Meta's Graph API (providers/meta.ts): not a provider contacts go to, but faults can be armed on it. */
export type FaultTarget = EmulatedProvider | 'meta';
export const FAULT_TARGETS: readonly FaultTarget[] = [...EMULATED_PROVIDERS, 'meta'];
type RecordedService = FaultTarget | 'secretsmanager' | 'shopify' | CaptchaService;

export interface RecordedRequest {
  provider: RecordedService;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
  at: string;
  /** Set when a random fault (see `RandomFaultPlan`) answered or held this request. */
  fault?: RandomFaultKind;
  /** Set when the account's rate limit (local/emulator/rate-limits.ts) refused this request with 429. */
  rateLimited?: true;
}

export interface Fault {
  provider: FaultTarget;
  /** Answer with this status instead of serving the request; omit with delayMs to only delay. */
  status?: number;
  /** Graph API only: the error code of the answer, e.g. 4, 17, 32, 613 or 80001 (throttled), 2 (service). */
  code?: number;
  times: number;
  retryAfterSeconds?: number;
  /** Hold the answer this long (a hung provider when longer than the client's timeout). */
  delayMs?: number;
  /** Destroy the connection without answering. */
  reset?: boolean;
  /** Only requests with this method (e.g. POST, to hit the create and not a lookup). */
  method?: string;
}

/**
 * Transient faults drawn at random, for soak runs: each request to the
 * provider gets one with probability `rate`, its kind drawn by `mix`:
 * - `429`: Too Many Requests with `Retry-After: retryAfterSeconds`;
 * - `500`, `503`: the provider's error envelope;
 * - `hang`: the request is served (a create does create) but the answer is
 *   held `hangMs`, past the client's response timeout;
 * - `reset`: the connection is destroyed before anything is done.
 * Armed faults (`faults`) are taken first; random ones only when none applies.
 */
export const RANDOM_FAULT_KINDS = ['429', '500', '503', 'hang', 'reset'] as const;
export type RandomFaultKind = (typeof RANDOM_FAULT_KINDS)[number];

export interface RandomFaultPlan {
  /** Share of requests that get a fault, 0 to 1. */
  rate: number;
  /** Relative weight of each kind; kinds left out are never drawn. Default `DEFAULT_RANDOM_FAULT_MIX`. */
  mix?: Partial<Record<RandomFaultKind, number>>;
  /** `Retry-After` of a 429, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** How long a hung answer is held (default 10 500 ms: just past the provider client's 10 s response timeout). */
  hangMs?: number;
  /** Only requests with this method (e.g. POST). */
  method?: string;
}

/** Mostly quick errors; hung answers are rare because each costs the client a whole response timeout. */
export const DEFAULT_RANDOM_FAULT_MIX: Record<RandomFaultKind, number> = {
  '429': 30,
  '500': 25,
  '503': 25,
  hang: 2,
  reset: 18,
};
const DEFAULT_HANG_MS = 10_500;

export type RandomFaults = Partial<Record<EmulatedProvider, RandomFaultPlan>>;

export interface EmulatedContact {
  id: string;
  provider: EmulatedProvider;
  /** Scope inside the provider: 2Chat key, Kirim phone_number_id, Chatwoot account id. */
  scope: string;
  name?: string;
  email?: string;
  phone?: string;
  identifier?: string;
  raw: Record<string, unknown>;
  createdAt: string;
}

/** Which secret values each emulated provider accepts as valid credentials. */
export type Credentials = Record<EmulatedProvider, Set<string>>;

export class EmulatorState {
  requests: RecordedRequest[] = [];
  faults: Fault[] = [];
  contacts: EmulatedContact[] = [];
  credentials: Credentials = { twochat: new Set(), kirim: new Set(), callbell: new Set(), chatwoot: new Set() };
  secrets = new Map<string, string>();
  /** Leads the Graph API serves, by leadgen id (`POST /_emulator/meta/leads`). */
  metaLeads = new Map<string, StoredLead>();
  /** AWS calls passed to the backends, by `X-Amz-Target` (e.g. `DynamoDB_20120810.UpdateItem`): what a run costs. */
  awsCalls = new Map<string, number>();
  /** Random transient faults per provider (soak runs); empty means none. */
  randomFaults: RandomFaults = {};
  /** Random faults injected so far, per provider and kind. */
  randomFaultsInjected: Record<EmulatedProvider, Record<RandomFaultKind, number>> = emptyFaultCounts();
  /** Requests a random fault was drawn for (a plan applied and no armed fault did), per provider. */
  randomFaultDraws: Record<EmulatedProvider, number> = emptyDrawCounts();
  /** Each provider's per-account rate limit; none until set. */
  rateLimits = new RateLimits();
  #random: Random = Math.random;
  #nextId = 1;

  nextId(): number {
    return this.#nextId++;
  }

  /**
   * Take the next armed fault for a provider, counting it down; else draw a random one when a plan is set
   * (random plans are for the four providers only).
   */
  takeFault(provider: FaultTarget, method: string): (Fault & { random?: RandomFaultKind }) | undefined {
    const fault = this.faults.find(
      (candidate) =>
        candidate.provider === provider &&
        candidate.times > 0 &&
        (candidate.method === undefined || candidate.method === method),
    );
    if (fault === undefined) return provider === 'meta' ? undefined : this.drawRandomFault(provider, method);
    fault.times -= 1;
    if (fault.times === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }

  /** Set (or, with `{}`, clear) the random fault plans; a seed makes the draws repeatable. */
  setRandomFaults(plans: RandomFaults, seed?: number): void {
    this.randomFaults = plans;
    if (seed !== undefined) this.#random = seededRandom(seed);
  }

  private drawRandomFault(
    provider: EmulatedProvider,
    method: string,
  ): (Fault & { random: RandomFaultKind }) | undefined {
    const plan = this.randomFaults[provider];
    if (plan === undefined || plan.rate <= 0 || (plan.method !== undefined && plan.method !== method)) return undefined;
    this.randomFaultDraws[provider] += 1;
    if (this.#random() >= plan.rate) return undefined;
    const kind = weightedPick(plan.mix ?? DEFAULT_RANDOM_FAULT_MIX, this.#random);
    if (kind === undefined) return undefined;
    this.randomFaultsInjected[provider][kind] += 1;
    switch (kind) {
      case '429':
        return { provider, times: 1, random: kind, status: 429, retryAfterSeconds: plan.retryAfterSeconds ?? 1 };
      case '500':
      case '503':
        return { provider, times: 1, random: kind, status: Number(kind) };
      case 'hang':
        return { provider, times: 1, random: kind, delayMs: plan.hangMs ?? DEFAULT_HANG_MS };
      case 'reset':
        return { provider, times: 1, random: kind, reset: true };
    }
  }

  reset(): void {
    this.awsCalls.clear();
    this.requests = [];
    this.faults = [];
    this.contacts = [];
    this.metaLeads.clear();
    this.randomFaults = {};
    this.randomFaultsInjected = emptyFaultCounts();
    this.randomFaultDraws = emptyDrawCounts();
    // The limits are the accounts' plans and stay, as credentials do; the counts start afresh with the requests.
    this.rateLimits.resetCounts();
  }
}

function emptyFaultCounts(): Record<EmulatedProvider, Record<RandomFaultKind, number>> {
  const counts = () =>
    Object.fromEntries(RANDOM_FAULT_KINDS.map((kind) => [kind, 0])) as Record<RandomFaultKind, number>;
  return { twochat: counts(), kirim: counts(), callbell: counts(), chatwoot: counts() };
}

function emptyDrawCounts(): Record<EmulatedProvider, number> {
  return { twochat: 0, kirim: 0, callbell: 0, chatwoot: 0 };
}

/** Auth headers are recorded masked: the inspection API must not leak keys. */
const AUTH_HEADERS = new Set([
  'authorization',
  'x-user-api-key',
  'api_access_token',
  'api-access-token',
  'x-amz-security-token',
  'x-shopify-access-token',
]);

export function maskHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = AUTH_HEADERS.has(name.toLowerCase()) ? mask(text) : text;
  }
  return out;
}

/** A URL's query as recorded: the Graph API's `access_token` (and its `appsecret_proof`) masked as auth headers are. */
export function maskQuery(search: string): string {
  return search.replace(/([?&](?:access_token|appsecret_proof)=)([^&]*)/g, (_match, name: string, value: string) => {
    let token = value;
    try {
      token = decodeURIComponent(value.replaceAll('+', ' '));
    } catch {
      // not percent-encoded text: mask it as it came
    }
    return `${name}${mask(token)}`;
  });
}

export function mask(value: string): string {
  const bearer = value.match(/^(Bearer|AWS4-HMAC-SHA256)\s+/i);
  const prefix = bearer ? bearer[0] : '';
  const secret = value.slice(prefix.length);
  return `${prefix}${secret.length > 4 ? `${'*'.repeat(8)}${secret.slice(-4)}` : '****'}`;
}
