/**
 * What a provider client is. Each provider module (twochat.ts, kirim.ts,
 * callbell.ts, chatwoot.ts) exports a `ProviderAdapter`: pure functions that
 * build the documented requests and read the documented answers. The engine
 * (engine.ts) runs them: reads the secret, looks the person up, creates,
 * retries transient answers with backoff, re-reads a rotated key on 401.
 */
import type { Contact } from '../contact.js';
import type { ProviderName, ResolvedRoute } from '../config/routes.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../http.js';
import type { SecretStore } from '../secrets.js';
import type * as z from '../zod.js';

interface OutcomeBase {
  account: string;
  provider: ProviderName;
}

export type Outcome = OutcomeBase &
  (
    | { status: 'created' | 'exists'; providerContactId?: string }
    | { status: 'skipped'; reason: string }
    /** Permanent: retrying would give the same answer. */
    | { status: 'failed'; httpStatus?: number; code?: string; message: string }
    /** Worth retrying later: network, timeout, 429, 5xx. */
    | { status: 'transient'; httpStatus?: number; message: string; retryAfterMs?: number }
  );

/** How an adapter reads one provider answer. */
export type ProviderAnswer =
  | { kind: 'created'; id?: string }
  /** The person is already there (lookup hit, or the provider refused a duplicate). */
  | { kind: 'exists'; id?: string }
  /** A lookup that found nobody. */
  | { kind: 'not_found' }
  /** A lookup page without the person, and more pages to read: the engine sends `request` next. */
  | { kind: 'next_page'; request: HttpRequest }
  /** The provider cannot take this contact as it is (e.g. a WhatsApp inbox and no phone); retrying would not help. */
  | { kind: 'skipped'; reason: string }
  | { kind: 'unauthorized'; httpStatus: number; message: string }
  | { kind: 'failed'; httpStatus: number; code?: string; message: string }
  | { kind: 'transient'; httpStatus: number; message: string; retryAfterMs?: number };

export interface DeliveryTarget {
  route: ResolvedRoute;
  account: { name: string; provider: ProviderName };
}

export interface RequestContext<C> {
  contact: Contact;
  target: DeliveryTarget;
  credentials: C;
  /** No trailing slash, e.g. `https://api.kirim.chat`. */
  baseUrl: string;
}

export interface ProviderAdapter<S extends z.ZodMiniType = z.ZodMiniType> {
  provider: ProviderName;
  /**
   * Requests one delivery of a new contact makes that the provider counts against its rate limit (lookups and
   * create, where it counts both): the tokens a delivery takes from the account's bucket, whose rate is in
   * requests, as providers state their limits. Without the contact (a lead not fetched yet), the most it can be.
   */
  rateCost(contact: Contact | undefined): number;
  /** Shape of the account secret `contact-relay/{stage}/provider/{account}`. */
  credentials: S;
  /** Where the API lives when no override is set (Chatwoot: from the secret). */
  defaultBaseUrl(credentials: z.infer<S>): string;
  /** Why this contact cannot go to this provider (e.g. no E.164 phone), or undefined. */
  skipReason(contact: Contact, target: DeliveryTarget): string | undefined;
  /** A lookup of the person before creating; undefined when the provider has none for this contact. */
  lookup?(context: RequestContext<z.infer<S>>): HttpRequest | undefined;
  /**
   * Reads one lookup answer to `request`. A hit counts only when it is this
   * contact (the context carries it); a page without the person may ask for
   * the next page, or the next query.
   */
  readLookup?(response: HttpResponse, context: RequestContext<z.infer<S>>, request: HttpRequest): ProviderAnswer;
  create(context: RequestContext<z.infer<S>>): HttpRequest;
  readCreate(response: HttpResponse, context: RequestContext<z.infer<S>>): ProviderAnswer;
  /**
   * One cheap authenticated GET that creates nothing, for the scheduled
   * health check: a 2xx means the key (and the ids in the secret the call
   * names) are accepted.
   */
  healthCheck?(credentials: z.infer<S>, baseUrl: string): HttpRequest;
}

export interface ProviderContext {
  stage: string;
  secrets: SecretStore;
  http: HttpClient;
  /** Base URL overrides per provider; the local stack points these at the emulator. */
  baseUrls: Partial<Record<ProviderName, string>>;
  /** Retry policy; engine defaults apply when absent. */
  retry?: Partial<RetryPolicy>;
  /**
   * A 429: `retry` (the default) waits its Retry-After inside the retry budget; `return` ends the delivery at
   * once as transient with that wait, for a caller that defers the job instead of paying for the wait.
   */
  onRateLimited?: 'retry' | 'return';
}

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** Backoff base: attempt n waits a random time in [0, min(cap, base·2^n)] (full jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Total time one delivery may spend, waits included; past it the outcome is transient. */
  budgetMs: number;
}

/** Public API hosts; Chatwoot's comes from the account secret. */
export const DEFAULT_BASE_URLS: Record<ProviderName, string> = {
  twochat: 'https://api.p.2chat.io',
  kirim: 'https://api.kirim.chat',
  callbell: 'https://api.callbell.eu',
  chatwoot: 'https://online.99digital.co.il',
};

/** Parse a JSON body without throwing; undefined when it is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** Milliseconds to wait from `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset` (epoch seconds or seconds). */
export function retryAfterMs(headers: HttpResponse['headers'], now = Date.now()): number | undefined {
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const reset = headers['x-ratelimit-reset'];
  if (reset !== undefined && reset.trim() !== '') {
    const value = Number(reset);
    if (Number.isFinite(value)) {
      // Large values are epoch seconds; small ones are seconds from now.
      return Math.max(0, value > 1_000_000_000 ? value * 1000 - now : value * 1000);
    }
  }
  return undefined;
}
