/**
 * Runs a ProviderAdapter for one contact and one account and turns whatever
 * happens into exactly one Outcome:
 *   secret → lookup → create; a transient answer retries the whole sequence
 *   with exponential backoff and full jitter (or the provider's Retry-After /
 *   X-RateLimit-Reset) inside a time budget; an answer the adapter reads as
 *   `unauthorized` (a refused key, which each adapter decides from its
 *   provider's docs) drops the cached secret and tries once more with a fresh
 *   read (key rotation), then fails.
 */
import { HttpTransportError } from '../http.js';
import { providerSecretName } from '../secrets.js';
import type { Contact } from '../contact.js';
import type {
  DeliveryTarget,
  Outcome,
  ProviderAdapter,
  ProviderAnswer,
  ProviderContext,
  RetryPolicy,
} from './types.js';

/**
 * Lookup pages read before the person counts as not found. A search by phone
 * or email that needs more than this many pages is matching something else
 * (a substring search on a common fragment), not our person.
 */
export const MAX_LOOKUP_PAGES = 10;

export const retryDefaults: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  budgetMs: 20_000,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Full jitter: a random wait in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt));
}

export async function deliverWithAdapter(
  adapter: ProviderAdapter,
  contact: Contact,
  target: DeliveryTarget,
  context: ProviderContext,
): Promise<Outcome> {
  const base = { account: target.account.name, provider: adapter.provider };
  const skip = adapter.skipReason(contact, target);
  if (skip !== undefined) return { ...base, status: 'skipped', reason: skip };

  const policy = { ...retryDefaults, ...context.retry };
  const deadline = Date.now() + policy.budgetMs;
  const secretName = providerSecretName(context.stage, target.account.name);

  /** Look the person up, then create if nobody is there: one attempt of the sequence. */
  async function attempt(credentials: unknown): Promise<ProviderAnswer> {
    const requestContext = {
      contact,
      target,
      credentials,
      baseUrl: (context.baseUrls[adapter.provider] ?? adapter.defaultBaseUrl(credentials)).replace(/\/+$/, ''),
    };
    try {
      let lookup = adapter.lookup?.(requestContext);
      for (let page = 1; lookup !== undefined && adapter.readLookup !== undefined; page++) {
        const found = adapter.readLookup(await context.http.request(lookup), requestContext, lookup);
        if (found.kind === 'not_found') break;
        if (found.kind !== 'next_page') return found;
        lookup = page < MAX_LOOKUP_PAGES ? found.request : undefined;
      }
      return adapter.readCreate(await context.http.request(adapter.create(requestContext)), requestContext);
    } catch (error) {
      if (!(error instanceof HttpTransportError)) throw error;
      return { kind: 'transient', httpStatus: 0, message: error.message };
    }
  }

  let rotated = false;
  let credentials = await context.secrets.get(secretName, adapter.credentials);
  for (let attempts = 1; ; attempts++) {
    // A retry starts again from the lookup: a create that timed out may have
    // succeeded, and the lookup (or the provider's duplicate answer) finds it.
    const answer = await attempt(credentials);
    switch (answer.kind) {
      case 'created':
      case 'exists':
        return { ...base, status: answer.kind, ...(answer.id !== undefined ? { providerContactId: answer.id } : {}) };
      case 'not_found':
      case 'next_page':
        return {
          ...base,
          status: 'failed',
          code: 'unexpected_response',
          message: `the create call answered as a lookup ("${answer.kind}")`,
        };
      case 'skipped':
        return { ...base, status: 'skipped', reason: answer.reason };
      case 'failed':
        return {
          ...base,
          status: 'failed',
          httpStatus: answer.httpStatus,
          ...(answer.code !== undefined ? { code: answer.code } : {}),
          message: answer.message,
        };
      case 'unauthorized':
        if (!rotated) {
          // The key may have been rotated since we cached it: read it again, once.
          rotated = true;
          context.secrets.forget(secretName);
          credentials = await context.secrets.get(secretName, adapter.credentials);
          attempts--;
          continue;
        }
        return {
          ...base,
          status: 'failed',
          httpStatus: answer.httpStatus,
          code: 'unauthorized',
          message: `${adapter.provider} refused the credentials in secret "${secretName}" (HTTP ${answer.httpStatus}: ${answer.message}); update the secret`,
        };
      case 'transient': {
        const wait = answer.retryAfterMs ?? backoffMs(attempts - 1, policy);
        const deferred = answer.httpStatus === 429 && context.onRateLimited === 'return';
        if (!deferred && attempts < policy.maxAttempts && Date.now() + wait <= deadline) {
          await sleep(wait);
          continue;
        }
        return {
          ...base,
          status: 'transient',
          ...(answer.httpStatus ? { httpStatus: answer.httpStatus } : {}),
          message: answer.message,
          ...(answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {}),
        };
      }
    }
  }
}
