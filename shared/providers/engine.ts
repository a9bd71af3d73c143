/**
 * Runs a ProviderAdapter for one contact and one account and turns whatever
 * happens into exactly one Outcome:
 *   secret → lookup → create, each request retried on transient answers with
 *   exponential backoff and full jitter (or the provider's Retry-After /
 *   X-RateLimit-Reset) inside a time budget; a 401/403 drops the cached secret
 *   and tries once more with a fresh read (key rotation), then fails.
 */
import { HttpConnectionError, HttpResponseTooLargeError, HttpTimeoutError, type HttpRequest, type HttpResponse } from '../http.js';
import { providerSecretName } from '../secrets.js';
import type { Contact } from '../contact.js';
import type { DeliveryTarget, Outcome, ProviderAdapter, ProviderAnswer, ProviderContext, RetryPolicy } from './types.js';

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

function isTransportError(error: unknown): error is Error {
  return error instanceof HttpTimeoutError || error instanceof HttpConnectionError || error instanceof HttpResponseTooLargeError;
}

export async function deliverWithAdapter(adapter: ProviderAdapter, contact: Contact, target: DeliveryTarget, context: ProviderContext): Promise<Outcome> {
  const base = { account: target.account.name, provider: adapter.provider };
  const skip = adapter.skipReason(contact, target);
  if (skip !== undefined) return { ...base, status: 'skipped', reason: skip };

  const policy = { ...retryDefaults, ...context.retry };
  const deadline = Date.now() + policy.budgetMs;
  const secretName = providerSecretName(context.stage, target.account.name);

  /** One request, retried while the answer is transient and the budget allows. */
  async function call(request: HttpRequest, read: (response: HttpResponse) => ProviderAnswer): Promise<ProviderAnswer> {
    for (let attempt = 0; ; attempt++) {
      let answer: ProviderAnswer;
      try {
        answer = read(await context.http.request(request));
      } catch (error) {
        if (!isTransportError(error)) throw error;
        answer = { kind: 'transient', httpStatus: 0, message: error.message };
      }
      if (answer.kind !== 'transient' || attempt + 1 >= policy.maxAttempts) return answer;
      const wait = answer.retryAfterMs ?? backoffMs(attempt, policy);
      if (Date.now() + wait > deadline) return answer;
      await sleep(wait);
    }
  }

  for (let rotated = false; ; rotated = true) {
    const credentials = await context.secrets.get(secretName, adapter.credentials);
    const requestContext = { contact, target, credentials, baseUrl: (context.baseUrls[adapter.provider] ?? adapter.defaultBaseUrl(credentials)).replace(/\/+$/, '') };

    let answer: ProviderAnswer = { kind: 'not_found' };
    const lookup = adapter.lookup?.(requestContext);
    if (lookup !== undefined && adapter.readLookup !== undefined) answer = await call(lookup, adapter.readLookup);
    if (answer.kind === 'not_found') answer = await call(adapter.create(requestContext), adapter.readCreate);

    switch (answer.kind) {
      case 'created':
      case 'exists':
        return { ...base, status: answer.kind, ...(answer.id !== undefined ? { providerContactId: answer.id } : {}) };
      case 'not_found':
        return { ...base, status: 'failed', code: 'unexpected_response', message: 'the create call answered "not found"' };
      case 'failed':
        return { ...base, status: 'failed', httpStatus: answer.httpStatus, ...(answer.code !== undefined ? { code: answer.code } : {}), message: answer.message };
      case 'transient':
        return {
          ...base,
          status: 'transient',
          ...(answer.httpStatus ? { httpStatus: answer.httpStatus } : {}),
          message: answer.message,
          ...(answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {}),
        };
      case 'unauthorized':
        if (!rotated) {
          // The key may have been rotated since we cached it: read it again, once.
          context.secrets.forget(secretName);
          continue;
        }
        return {
          ...base,
          status: 'failed',
          httpStatus: answer.httpStatus,
          code: 'unauthorized',
          message: `${adapter.provider} refused the credentials in secret "${secretName}" (HTTP ${answer.httpStatus}: ${answer.message}); update the secret`,
        };
    }
  }
}
