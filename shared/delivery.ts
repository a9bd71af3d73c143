/**
 * Delivery of one job to every provider account of its route. Each account
 * ends in exactly one recorded outcome; one provider's failure never stops
 * another's delivery, and an account already settled for this event (by an
 * earlier attempt of the same job, or a duplicate job) is never called again.
 */
import type { Contact } from './contact.js';
import { findRoute, type ProviderName, type ResolvedRoute, type RoutesConfig } from './config/routes.js';
import { parseDeliveryJob, type DeliveryJob } from './jobs.js';
import type { logger as defaultLogger } from './logging.js';
import type { OutcomeStore } from './store.js';
import { SecretFormatError, SecretNotFoundError } from './secrets.js';
import { deliverWithAdapter } from './providers/engine.js';
import { callbellAdapter } from './providers/callbell.js';
import { chatwootAdapter } from './providers/chatwoot.js';
import { kirimAdapter } from './providers/kirim.js';
import { twoChatAdapter } from './providers/twochat.js';
import type { Outcome, ProviderAdapter, ProviderContext } from './providers/types.js';

export type { Outcome } from './providers/types.js';

const ADAPTERS: Partial<Record<ProviderName, ProviderAdapter>> = {
  twochat: twoChatAdapter,
  kirim: kirimAdapter,
  callbell: callbellAdapter,
  chatwoot: chatwootAdapter,
};

/** One account, one outcome; configuration faults (a missing secret) are retryable, not fatal. */
export async function deliverToAccount(contact: Contact, route: ResolvedRoute, account: ResolvedRoute['accounts'][number], context: ProviderContext): Promise<Outcome> {
  const base = { account: account.name, provider: account.provider };
  const adapter = ADAPTERS[account.provider];
  if (adapter === undefined) return { ...base, status: 'failed', code: 'provider_not_supported', message: `provider "${account.provider}" is not supported` };
  try {
    return await deliverWithAdapter(adapter, contact, { route, account }, context);
  } catch (error) {
    if (error instanceof SecretNotFoundError || error instanceof SecretFormatError) {
      return { ...base, status: 'transient', message: error.message };
    }
    throw error;
  }
}

/** Every account of the route, without outcome records (used where there is no job, e.g. tests of providers). */
export async function deliverContact(contact: Contact, route: ResolvedRoute, context: ProviderContext): Promise<Outcome[]> {
  return Promise.all(route.accounts.map((account) => deliverToAccount(contact, route, account, context)));
}

export class RouteGoneError extends Error {
  override name = 'RouteGoneError';
}

export interface JobDependencies {
  routes: RoutesConfig;
  providers: ProviderContext;
  store: OutcomeStore;
}

/** One account's outcome for a job, and whether this attempt is the one that reached it. */
export interface AccountDelivery {
  outcome: Outcome;
  /**
   * `delivered`: this attempt called the provider (or found its configuration
   * missing); `settled earlier`: an earlier attempt recorded the outcome;
   * `busy`: another attempt is calling the provider right now.
   */
  by: 'delivered' | 'settled earlier' | 'busy';
}

/** Deliver a queued job; the caller retries the job while any outcome is transient. */
export async function deliverJob(job: DeliveryJob, deps: JobDependencies): Promise<AccountDelivery[]> {
  const route = findRoute(deps.routes, job.source, job.route);
  // Left on the queue, the job ends in the dead-letter queue where it can be redriven once the route is back.
  if (route === undefined) throw new RouteGoneError(`route "${job.route}" of source "${job.source}" is no longer in the route config`);
  return Promise.all(
    route.accounts.map(async (account): Promise<AccountDelivery> => {
      const claim = await deps.store.claimOutcome(job.eventKey, account.name);
      if (claim.kind === 'settled') return { outcome: claim.outcome, by: 'settled earlier' };
      if (claim.kind === 'busy') {
        const message = 'another attempt is delivering this event to this account';
        const outcome: Outcome = { account: account.name, provider: account.provider, status: 'transient', message };
        return { outcome, by: 'busy' };
      }
      const outcome = await deliverToAccount(job.contact, route, account, deps.providers);
      await deps.store.recordOutcome(job.eventKey, outcome);
      return { outcome, by: 'delivered' };
    }),
  );
}

export class DeliveryIncompleteError extends Error {
  override name = 'DeliveryIncompleteError';
}

/**
 * One queue message: read the job, deliver it, log what this receive did,
 * and throw while any outcome is transient so the queue retries the job.
 *
 * `delivery outcome` lines are what the outcome metrics count (metric filters
 * on the deliver log group), so each is written once: by the receive that
 * reached it. An outcome an earlier receive settled is not logged again, and
 * an account another attempt is busy with is logged as `delivery busy`.
 */
export async function deliverQueuedJob(
  body: string,
  deps: JobDependencies & { logger: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>; receiveCount?: number },
): Promise<Outcome[]> {
  const job = parseDeliveryJob(body);
  const deliveries = await deliverJob(job, deps);
  for (const { outcome, by } of deliveries) {
    if (by === 'settled earlier') continue;
    // Powertools reserves `message` for the log line's own text: the provider's message goes under `detail`.
    const { message, ...fields } = outcome as Outcome & { message?: string };
    const line = { eventKey: job.eventKey, source: job.source, route: job.route, receiveCount: deps.receiveCount, ...fields, ...(message !== undefined ? { detail: message } : {}) };
    if (by === 'busy') deps.logger.info('delivery busy', line);
    else if (outcome.status === 'failed') deps.logger.error('delivery outcome', line);
    else if (outcome.status === 'transient') deps.logger.warn('delivery outcome', line);
    else deps.logger.info('delivery outcome', line);
  }
  const outcomes = deliveries.map((delivery) => delivery.outcome);
  const pending = outcomes.filter((outcome) => outcome.status === 'transient');
  if (pending.length > 0) {
    throw new DeliveryIncompleteError(`${pending.length} provider account(s) not reached yet: ${pending.map((outcome) => outcome.account).join(', ')}`);
  }
  return outcomes;
}
