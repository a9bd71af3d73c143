/**
 * What every provider client is: a function from a Contact to one recorded
 * outcome for one provider account.
 */
import type { Contact } from '../contact.js';
import type { ProviderName, ResolvedRoute } from '../config/routes.js';
import type { HttpClient } from '../http.js';
import type { SecretStore } from '../secrets.js';

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

export interface ProviderContext {
  stage: string;
  secrets: SecretStore;
  http: HttpClient;
  /** Base URL per provider; the local stack points these at the emulator. */
  baseUrls: Record<ProviderName, string>;
}

export interface DeliveryTarget {
  route: ResolvedRoute;
  account: { name: string; provider: ProviderName };
}

export type ProviderClient = (contact: Contact, target: DeliveryTarget, context: ProviderContext) => Promise<Outcome>;

/** Public API hosts; Chatwoot's comes from the account secret. */
export const DEFAULT_BASE_URLS: Record<ProviderName, string> = {
  twochat: 'https://api.p.2chat.io',
  kirim: 'https://api.kirim.chat',
  callbell: 'https://api.callbell.eu',
  chatwoot: 'https://online.99digital.co.il',
};
