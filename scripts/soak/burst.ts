/**
 * The soak's burst mode: every webhook at once, each emulated provider account held to a rate limit, and the
 * relay's own per-account rate (`rate` on the route config's accounts) derived from that limit. Here: the
 * limits and how they are written on the command line, the account rates they give, the route config carrying
 * those rates, and the figures the run is judged by (time to drain against the theoretical minimum, dead
 * letters, duplicate contacts, 429s).
 */
import { accountRate, parseRoutesConfig, type AccountRate } from '../../shared/config/routes.js';
import { checkPlans, InvalidRateLimitError, type RateLimitPlan } from '../../local/emulator/rate-limits.js';
import {
  EMULATED_PROVIDERS,
  type EmulatedContact,
  type EmulatedProvider,
  type RecordedRequest,
} from '../../local/emulator/state.js';

/** Each provider's emulated limit; an absent provider is not limited. */
export type BurstLimits = Partial<Record<EmulatedProvider, RateLimitPlan>>;

/**
 * What `--limit` starts from. 2Chat and Kirim as the scale target names them (a paid 2Chat plan and a Kirim
 * account between Free and Pro); Callbell and Chatwoot at their documented limits:
 * - Callbell: 429 above 300 requests a second (https://docs.callbell.eu/api/reference/rate_limits);
 * - Chatwoot: rack-attack's default `RACK_ATTACK_LIMIT`, 3,000 a minute per IP
 *   (https://github.com/chatwoot/chatwoot/blob/develop/config/initializers/rack_attack.rb).
 */
export const DEFAULT_BURST_LIMITS: Readonly<BurstLimits> = {
  twochat: { perMinute: 600 },
  kirim: { perMinute: 300 },
  callbell: { perMinute: 300, windowMs: 1_000 },
  chatwoot: { perMinute: 3_000 },
};

/**
 * Requests one new contact (a phone and an email, nobody there yet) costs at each provider, counting only what
 * the provider's limit counts (local/emulator/rate-limits.ts and the adapters in shared/providers):
 * - 2Chat counts every request: a search by phone, a search by email, the create;
 * - Kirim counts writes only: the create (its lookup is a read);
 * - Callbell counts every request: the lookup by phone, the create;
 * - Chatwoot counts every request: the create alone (a duplicate is refused 422, there is no lookup).
 * It sets the theoretical minimum (a provider cannot serve a delivery faster than these requests), and is
 * independent of what the relay believes a delivery costs; the report shows the measured figure beside it.
 */
export const COUNTED_REQUESTS_PER_CONTACT: Readonly<Record<EmulatedProvider, number>> = {
  twochat: 3,
  kirim: 1,
  callbell: 2,
  chatwoot: 1,
};

/**
 * The share of a limit the relay leaves unused. Its bucket counts a delivery's tokens when the delivery starts,
 * but the requests reach the provider later, one after another; deliveries that started apart may land their
 * requests closer together. Assumption: 5% covers that spread on one machine (the run's 429 share says whether
 * it did).
 */
export const HEADROOM = 0.05;

/** The route config's ceiling for `rate.perMinute` (shared/config/routes.ts). */
const MAX_ACCOUNT_PER_MINUTE = 60_000;

/** An unlimited provider's account: as fast as a bucket may go, so only the run's own speed holds it back. */
const UNLIMITED_ACCOUNT_RATE: AccountRate = { perMinute: MAX_ACCOUNT_PER_MINUTE, burst: 1_000 };

export class InvalidBurstLimitError extends Error {
  override name = 'InvalidBurstLimitError';
}

/** A limit as requests a minute, whatever window it is counted over. */
export function limitPerMinute(plan: RateLimitPlan): number {
  return (plan.perMinute * 60_000) / (plan.windowMs ?? 60_000);
}

/**
 * `600`, `600/min`, `300/s` or `off`, as written after `--limit provider=`, optionally followed by `+B`: the
 * emulated bucket's capacity (default: the emulator's, a whole window's worth). A small capacity makes the
 * provider strict, so any overshoot of the relay shows as 429s at once.
 */
function parseLimitValue(provider: EmulatedProvider, text: string): RateLimitPlan | undefined {
  if (text === 'off') return undefined;
  const match = /^(\d+)(?:\/(s|min))?(?:\+(\d+))?$/.exec(text);
  const count = Number(match?.[1]);
  if (match === null || !Number.isInteger(count) || count < 1)
    throw new InvalidBurstLimitError(
      `--limit ${provider}=${text}: give requests a minute (600), a second (300/s), or off; optionally +BURST`,
    );
  const plan: RateLimitPlan = {
    perMinute: count,
    ...(match[2] === 's' ? { windowMs: 1_000 } : {}),
    ...(match[3] !== undefined ? { burst: Number(match[3]) } : {}),
  };
  try {
    // As the emulator's API would check it (a burst for Chatwoot's fixed window is refused).
    return checkPlans({ [provider]: plan })[provider];
  } catch (error) {
    if (!(error instanceof InvalidRateLimitError)) throw error;
    throw new InvalidBurstLimitError(`--limit ${provider}=${text}: ${error.message.replace(/^rateLimits\.\w+: /, '')}`);
  }
}

/** The limits as `--limit` takes them. */
export function formatBurstLimits(limits: Readonly<BurstLimits>): string {
  return Object.entries(limits)
    .map(
      ([provider, plan]) =>
        `${provider}=${plan.perMinute}${plan.windowMs === 1_000 ? '/s' : ''}${plan.burst !== undefined ? `+${plan.burst}` : ''}`,
    )
    .join(',');
}

/** `twochat=600,kirim=300/min,callbell=300/s,chatwoot=off` over the defaults; every provider not named keeps its default. */
export function parseBurstLimits(text: string | undefined, defaults: Readonly<BurstLimits> = DEFAULT_BURST_LIMITS) {
  const limits: BurstLimits = { ...defaults };
  if (text === undefined) return limits;
  for (const part of text.split(',')) {
    const [name = '', value = ''] = part.split('=').map((piece) => piece.trim());
    if (!(EMULATED_PROVIDERS as readonly string[]).includes(name))
      throw new InvalidBurstLimitError(
        `--limit: unknown provider "${name}" (providers: ${EMULATED_PROVIDERS.join(', ')})`,
      );
    const provider = name as EmulatedProvider;
    const plan = parseLimitValue(provider, value);
    if (plan === undefined) delete limits[provider];
    else limits[provider] = plan;
  }
  return limits;
}

/**
 * The rate the relay keeps an account of `provider` to under the emulated `limit`. An account's `rate` counts
 * provider requests, as providers state their limits (the relay divides it by what its adapter says a delivery
 * costs). A token bucket hands out at most `burst + perMinute` in any minute; that sum is kept to
 * (1 − HEADROOM) of the limit, so no minute, sliding or fixed, sees more. The burst is a second's worth (at
 * least 1): enough to start at once, small beside the minute; and no more than (1 − HEADROOM) of the emulated
 * bucket's capacity when that is given, or the relay's first burst would empty it.
 */
export function accountRateUnder(provider: EmulatedProvider, limit: RateLimitPlan | undefined): AccountRate {
  if (limit === undefined) return UNLIMITED_ACCOUNT_RATE;
  const budget = Math.floor(limitPerMinute(limit) * (1 - HEADROOM));
  const capacity = limit.burst === undefined ? Number.POSITIVE_INFINITY : Math.floor(limit.burst * (1 - HEADROOM));
  const burst = Math.max(1, Math.min(Math.floor(budget / 60), capacity));
  const perMinute = Math.min(MAX_ACCOUNT_PER_MINUTE, budget - burst);
  if (perMinute < 1)
    throw new InvalidBurstLimitError(
      `--limit ${provider}=${limit.perMinute}${limit.windowMs === 1_000 ? '/s' : ''} is too low to keep ` +
        `${HEADROOM * 100}% headroom and still send (at least 3 a minute)`,
    );
  return { perMinute, burst: Math.min(burst, perMinute) };
}

/** `routes` (a routes file's JSON) with every account's `rate` derived from its provider's limit. */
export function routesUnderLimits(routes: unknown, limits: Readonly<BurstLimits>): unknown {
  const config = parseRoutesConfig(routes);
  const accounts = Object.fromEntries(
    Object.entries(config.accounts).map(([name, account]) => [
      name,
      { ...account, rate: accountRateUnder(account.provider, limits[account.provider]) },
    ]),
  );
  return { ...(routes as Record<string, unknown>), accounts };
}

/** One provider in the burst report. */
export interface BurstProviderFigures {
  /** The emulated limit, as requests a minute; undefined when not limited. */
  limitPerMinute?: number;
  /** The rate the route config gave the relay's accounts of this provider. */
  accountRate: AccountRate;
  /** Deliveries owed: accepted events whose route has an account of this provider. */
  deliveries: number;
  requests: number;
  /** Requests the emulated limit counted (let through or refused); Kirim counts only writes. */
  counted: number;
  /** 429s the emulated limit answered. */
  rateLimited: number;
  /** rateLimited / requests. */
  rateLimitedShare: number;
  /** deliveries × COUNTED_REQUESTS_PER_CONTACT ÷ the limit; undefined when not limited. */
  minimumMs?: number;
}

export interface BurstFigures {
  volume: number;
  /** First webhook sent → queue empty and idle (every delivery done or dead-lettered). */
  drainMs: number;
  /** The slowest limited provider's minimum, and which it is; undefined when nothing is limited. */
  minimumMs?: number;
  slowest?: EmulatedProvider;
  /** drainMs / minimumMs. */
  ratio?: number;
  deadLetters: number;
  /** Contacts beyond the first for one person at one provider. */
  duplicateContacts: number;
  providers: Record<EmulatedProvider, BurstProviderFigures>;
  targets: { maxRatio: number; maxRateLimitedShare: number };
}

export const BURST_TARGETS = { maxRatio: 1.2, maxRateLimitedShare: 0.01 } as const;

export interface BurstEvidence {
  limits: Readonly<BurstLimits>;
  /** The routes file the functions ran with. */
  routes: unknown;
  /** Per accepted event, the accounts of its route. */
  accountsOfEvents: ReadonlyArray<ReadonlyArray<{ name: string; provider: EmulatedProvider }>>;
  requests: readonly RecordedRequest[];
  contacts: readonly EmulatedContact[];
  /** Requests each provider's limit counted (served + limited), from the emulator's limiter. */
  counted: Partial<Record<EmulatedProvider, number>>;
  drainMs: number;
  deadLetters: number;
}

export function measureBurst(evidence: BurstEvidence): BurstFigures {
  const config = parseRoutesConfig(evidence.routes);
  const providers = Object.fromEntries(
    EMULATED_PROVIDERS.map((provider) => {
      const account = Object.values(config.accounts).find((candidate) => candidate.provider === provider);
      const limit = evidence.limits[provider];
      const deliveries = evidence.accountsOfEvents.reduce(
        (sum, accounts) => sum + accounts.filter((account) => account.provider === provider).length,
        0,
      );
      const requests = evidence.requests.filter((request) => request.provider === provider);
      const rateLimited = requests.filter((request) => request.rateLimited === true).length;
      const figures: BurstProviderFigures = {
        accountRate: account === undefined ? UNLIMITED_ACCOUNT_RATE : accountRate(account),
        deliveries,
        requests: requests.length,
        counted: evidence.counted[provider] ?? 0,
        rateLimited,
        rateLimitedShare: requests.length === 0 ? 0 : rateLimited / requests.length,
        ...(limit !== undefined
          ? {
              limitPerMinute: limitPerMinute(limit),
              minimumMs: ((deliveries * COUNTED_REQUESTS_PER_CONTACT[provider]) / limitPerMinute(limit)) * 60_000,
            }
          : {}),
      };
      return [provider, figures];
    }),
  ) as Record<EmulatedProvider, BurstProviderFigures>;

  const slowest = EMULATED_PROVIDERS.filter((provider) => providers[provider].minimumMs !== undefined).sort(
    (a, b) => (providers[b].minimumMs ?? 0) - (providers[a].minimumMs ?? 0),
  )[0];
  const minimumMs = slowest === undefined ? undefined : providers[slowest].minimumMs;
  const seen = new Set<string>();
  let duplicateContacts = 0;
  for (const contact of evidence.contacts) {
    const key = `${contact.provider}|${contact.phone ?? contact.email ?? contact.id}`;
    if (seen.has(key)) duplicateContacts++;
    else seen.add(key);
  }
  return {
    volume: evidence.accountsOfEvents.length,
    drainMs: evidence.drainMs,
    ...(minimumMs !== undefined && minimumMs > 0 ? { minimumMs, slowest, ratio: evidence.drainMs / minimumMs } : {}),
    deadLetters: evidence.deadLetters,
    duplicateContacts,
    providers,
    targets: { ...BURST_TARGETS },
  };
}

/** What makes a burst fail: slower than the target ratio, any dead letter, any duplicate, 429s above 1% of all requests. */
export function burstViolations(figures: BurstFigures): string[] {
  const violations: string[] = [];
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (figures.ratio !== undefined && figures.ratio > figures.targets.maxRatio)
    violations.push(
      `burst: drained in ${seconds(figures.drainMs)}, ${figures.ratio.toFixed(2)}× the theoretical minimum ` +
        `${seconds(figures.minimumMs ?? 0)} at ${figures.slowest} (target ≤ ${figures.targets.maxRatio}×)`,
    );
  if (figures.deadLetters > 0) violations.push(`burst: ${figures.deadLetters} job(s) dead-lettered (target 0)`);
  if (figures.duplicateContacts > 0)
    violations.push(`burst: ${figures.duplicateContacts} contact(s) created twice (target 0)`);
  const { rateLimited, requests, share } = overallRateLimited(figures);
  if (share > figures.targets.maxRateLimitedShare)
    violations.push(
      `burst: providers answered 429 to ${rateLimited} of ${requests} requests ` +
        `(${(share * 100).toFixed(2)}%, target ≤ ${figures.targets.maxRateLimitedShare * 100}%)`,
    );
  return violations;
}

/** 429s as a share of all provider requests: the target (each provider's share is reported beside it). */
export function overallRateLimited(figures: Pick<BurstFigures, 'providers'>): {
  rateLimited: number;
  requests: number;
  share: number;
} {
  const all = EMULATED_PROVIDERS.map((provider) => figures.providers[provider]);
  const rateLimited = all.reduce((sum, provider) => sum + provider.rateLimited, 0);
  const requests = all.reduce((sum, provider) => sum + provider.requests, 0);
  return { rateLimited, requests, share: requests === 0 ? 0 : rateLimited / requests };
}

/** The soonest the burst can drain, for a default timeout: `size` events on every account at their limits. */
export function expectedMinimumMs(size: number, limits: Readonly<BurstLimits>): number {
  return Math.max(
    0,
    ...EMULATED_PROVIDERS.map((provider) => {
      const limit = limits[provider];
      return limit === undefined
        ? 0
        : ((size * COUNTED_REQUESTS_PER_CONTACT[provider]) / limitPerMinute(limit)) * 60_000;
    }),
  );
}
