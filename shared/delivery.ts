/**
 * Delivery of one job to every provider account of its route. Each account
 * ends in exactly one recorded outcome, written only by the attempt holding
 * its claim; one account's failure or error never stops another's delivery,
 * and an account already settled for this event (by an earlier attempt of the
 * same job, or a duplicate job) is never called again.
 */
import type { Contact } from './contact.js';
import { findRoute, type ResolvedRoute, type RoutesConfig } from './config/routes.js';
import { gateAccount, pacingDefaults, planJob, rateLimitedUntil, type AccountStep } from './deferral.js';
import { parseDeliveryJob, type DeliveryJob } from './jobs.js';
import { LeadFetchTransientError, LeadUnavailableError, type LeadFetcher } from './leads.js';
import type { logger as defaultLogger } from './logging.js';
import type { DeferralQueue } from './queue.js';
import type { OutcomeStore } from './store.js';
import { SecretUnusableError } from './secrets.js';
import { deliverWithAdapter } from './providers/engine.js';
import { PROVIDER_ADAPTERS } from './providers/index.js';
import type { Outcome, ProviderContext } from './providers/types.js';

export type { Outcome } from './providers/types.js';

/** One account, one outcome; configuration faults (a missing secret) are retryable, not fatal. */
export async function deliverToAccount(
  contact: Contact,
  route: ResolvedRoute,
  account: ResolvedRoute['accounts'][number],
  context: ProviderContext,
): Promise<Outcome> {
  const base = { account: account.name, provider: account.provider };
  const adapter = PROVIDER_ADAPTERS[account.provider];
  try {
    return await deliverWithAdapter(adapter, contact, { route, account }, context);
  } catch (error) {
    if (error instanceof SecretUnusableError) {
      return { ...base, status: 'transient', message: error.message };
    }
    throw error;
  }
}

/** Every account of the route, without outcome records (used where there is no job, e.g. tests of providers). */
export async function deliverContact(
  contact: Contact,
  route: ResolvedRoute,
  context: ProviderContext,
): Promise<Outcome[]> {
  return Promise.all(route.accounts.map((account) => deliverToAccount(contact, route, account, context)));
}

class RouteGoneError extends Error {
  override name = 'RouteGoneError';
}

interface JobDependencies {
  routes: RoutesConfig;
  providers: ProviderContext;
  store: OutcomeStore;
  /** Reads the lead a job names by reference (Meta Lead Ads); jobs carrying a contact need none. */
  leads?: LeadFetcher;
  /**
   * Each account held to its rate (shared/deferral.ts): a job with an account out of tokens, or refused with a
   * 429, goes back on `queue` with a delay. Without it every account is called at once, whatever its rate.
   */
  pacing?: { queue: DeferralQueue; now?: () => number; settings?: typeof pacingDefaults };
  /** SQS's ApproximateReceiveCount of the message being delivered: written in each outcome's history entry. */
  receiveCount?: number;
}

/** The job's contact, or the outcome every account gets when it cannot be had. */
type JobContact = { contact: Contact; skipReason?: string } | { unavailable: (account: Account) => Outcome };

/**
 * The contact a job delivers, read once per receive and only when an account needs it: a job's own contact,
 * or its lead fetched from the sender. A lead that can never be read fails every account naming the fix; one
 * that cannot be read now leaves them transient, so the queue (then redrive) brings the job back.
 */
function jobContact(job: DeliveryJob, route: ResolvedRoute, deps: JobDependencies): () => Promise<JobContact> {
  let read: Promise<JobContact> | undefined;
  const fetchLead = async (): Promise<JobContact> => {
    if ('contact' in job) return { contact: job.contact };
    if (deps.leads === undefined) throw new Error(`no lead fetcher is wired for ${job.lead.kind} jobs`);
    try {
      return await deps.leads(job.lead, route, job.eventKey);
    } catch (error) {
      if (error instanceof LeadUnavailableError) {
        const { code, message, httpStatus } = error;
        const status = httpStatus !== undefined ? { httpStatus } : {};
        return {
          unavailable: (account) => ({
            account: account.name,
            provider: account.provider,
            status: 'failed',
            code,
            ...status,
            message,
          }),
        };
      }
      if (error instanceof LeadFetchTransientError || error instanceof SecretUnusableError) {
        const message = `the lead could not be read yet: ${error.message}`;
        return { unavailable: (account) => transient(account, message) };
      }
      throw error;
    }
  };
  return () => {
    read ??= fetchLead();
    return read;
  };
}

/** One account's outcome for a job, and whether this attempt is the one that reached it. */
interface AccountDelivery {
  outcome: Outcome;
  /**
   * `delivered`: this attempt called the provider (or found its configuration
   * missing) and recorded the outcome; `settled earlier`: an earlier attempt
   * recorded it; `busy`: another attempt is calling the provider right now;
   * `superseded`: this attempt's lease ran out and another attempt claimed the
   * account, so what this one reached (`reached`) was not recorded;
   * `unrecorded`: the outcome table failed (`error`), the account is retried;
   * `deferred`: not called, the account has no token until `until` (`booked`: the token it holds then).
   */
  by: 'delivered' | 'settled earlier' | 'busy' | 'superseded' | 'unrecorded' | 'deferred';
  /** When a deferred account may be called. */
  until?: number;
  booked?: number;
  /** The provider answered 429: its bucket is held until then (only with pacing). */
  throttledUntil?: number;
  /** Why the outcome is transient: `unauthorized` (a refused key, see parkRefusedKey), `delivery_error` (a throw). */
  code?: 'unauthorized' | 'delivery_error';
  /** What this attempt reached when it was superseded. */
  reached?: Outcome;
  /** What was thrown while delivering or recording. */
  error?: unknown;
}

type Account = ResolvedRoute['accounts'][number];

const MAX_ERROR_TEXT = 300;

function transient(account: Account, message: string): Outcome {
  return { account: account.name, provider: account.provider, status: 'transient', message };
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, MAX_ERROR_TEXT);
}

/**
 * A key the provider refused, with the secret read afresh (the engine's code
 * `unauthorized`), says nothing about the contact: the same call succeeds once
 * the secret holds the right key. So it is kept retryable, not final: the queue
 * receives the job again (a key fixed meanwhile is read at the next refusal),
 * and after maxReceiveCount receives the job rests in the dead-letter queue,
 * whose alarm tells the operator. Redrive moves it back once every account
 * passes its health check; accounts that settled meanwhile are never called
 * again, and this one is claimed afresh, so each is created once.
 */
function parkRefusedKey(outcome: Outcome): { outcome: Outcome; code?: 'unauthorized' } {
  if (outcome.status !== 'failed' || outcome.code !== 'unauthorized') return { outcome };
  const { account, provider, httpStatus, message } = outcome;
  const status = httpStatus !== undefined ? { httpStatus } : {};
  return { outcome: { account, provider, status: 'transient', ...status, message }, code: 'unauthorized' };
}

/** One account of a job: claim it, call the provider, record the outcome with the claim's token. */
async function deliverJobToAccount(
  job: DeliveryJob,
  route: ResolvedRoute,
  account: Account,
  deps: JobDependencies,
  contactOf: () => Promise<JobContact>,
): Promise<AccountDelivery> {
  const claim = await deps.store.claimOutcome(job.eventKey, account.name);
  if (claim.kind === 'settled') return { outcome: claim.outcome, by: 'settled earlier' };
  if (claim.kind === 'busy') {
    return { outcome: transient(account, 'another attempt is delivering this event to this account'), by: 'busy' };
  }
  let delivery: Pick<AccountDelivery, 'outcome' | 'code' | 'error'>;
  try {
    const read = await contactOf();
    if ('unavailable' in read) delivery = { outcome: read.unavailable(account) };
    else if (read.skipReason !== undefined) {
      delivery = {
        outcome: { account: account.name, provider: account.provider, status: 'skipped', reason: read.skipReason },
      };
    } else delivery = parkRefusedKey(await deliverToAccount(read.contact, route, account, deps.providers));
  } catch (error) {
    // Recorded like any transient outcome: the claim is released and a later receive retries this account.
    delivery = { outcome: transient(account, `delivery stopped: ${errorText(error)}`), code: 'delivery_error', error };
  }
  const attempt = { receiveCount: deps.receiveCount, retentionDays: route.retentionDays };
  if ((await deps.store.recordOutcome(job.eventKey, delivery.outcome, claim.token, attempt)) === 'superseded') {
    const message = "this attempt outlived its lease and another claimed this account; the other's outcome stands";
    return { outcome: transient(account, message), by: 'superseded', reached: delivery.outcome };
  }
  return { ...delivery, by: 'delivered' };
}

/**
 * With pacing, an account is called only with a token: one taken now, or the one this job booked and comes
 * back for. The token is taken before the claim, so a deferral writes nothing else; an account settled by a
 * duplicate job or an earlier failed receive then costs a token it does not use, which only slows the rate.
 */
async function deliverPacedAccount(
  job: DeliveryJob,
  route: ResolvedRoute,
  account: Account,
  deps: JobDependencies & { pacing: NonNullable<JobDependencies['pacing']> },
  contactOf: () => Promise<JobContact>,
): Promise<AccountDelivery> {
  const now = deps.pacing.now ?? Date.now;
  const settings = deps.pacing.settings ?? pacingDefaults;
  const gate = await gateAccount(job, account, deps.store, now(), settings);
  if (!gate.go) {
    const message = `deferred to ${new Date(gate.until).toISOString()}: the account's rate allows no call sooner`;
    const booked = gate.booked !== undefined ? { booked: gate.booked } : {};
    return { outcome: transient(account, message), by: 'deferred', until: gate.until, ...booked };
  }
  const delivery = await deliverJobToAccount(job, route, account, deps, contactOf);
  const { outcome } = delivery;
  if (delivery.by !== 'delivered' || outcome.status !== 'transient' || outcome.httpStatus !== 429) return delivery;
  const until = rateLimitedUntil(account.provider, outcome.retryAfterMs, now());
  await deps.store.holdBucket(account.name, until);
  return { ...delivery, throttledUntil: until };
}

/**
 * Deliver a queued job; the caller retries the job while any outcome is transient. Accounts an earlier receive
 * settled (the job's deferral lists them) are left out: they are neither called nor charged a token again.
 */
export async function deliverJob(job: DeliveryJob, deps: JobDependencies): Promise<AccountDelivery[]> {
  const route = findRoute(deps.routes, job.source, job.route);
  // Left on the queue, the job ends in the dead-letter queue where it can be redriven once the route is back.
  if (route === undefined)
    throw new RouteGoneError(`route "${job.route}" of source "${job.source}" is no longer in the route config`);
  // Every account runs to its end whatever another does: were the job to end at the first
  // error, calls still in flight would reach providers with no outcome recorded and their
  // claims held until the lease runs out.
  const contactOf = jobContact(job, route, deps);
  const done = new Set(job.deferral?.done ?? []);
  const { pacing } = deps;
  return Promise.all(
    route.accounts
      .filter((account) => !done.has(account.name))
      .map(async (account): Promise<AccountDelivery> => {
        try {
          return pacing !== undefined
            ? await deliverPacedAccount(job, route, account, { ...deps, pacing }, contactOf)
            : await deliverJobToAccount(job, route, account, deps, contactOf);
        } catch (error) {
          return { outcome: transient(account, `outcome not recorded: ${errorText(error)}`), by: 'unrecorded', error };
        }
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
 * reached it. An outcome an earlier receive settled is not logged again, an
 * account another attempt is busy with is logged as `delivery busy`, an
 * outcome refused because another attempt took the account over as
 * `delivery superseded`, and one the table could not take as `delivery unrecorded`.
 * With pacing, an account without a token, or refused with a 429, is logged as
 * `delivery deferred`, and the job goes back on the queue with a delay instead
 * of failing (planJob, shared/deferral.ts): only real failures are attempts.
 */
export async function deliverQueuedJob(
  body: string,
  deps: JobDependencies & { logger: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>; receiveCount?: number },
): Promise<Outcome[]> {
  const job = parseDeliveryJob(body);
  const deliveries = await deliverJob(job, deps);
  for (const { outcome, by, code, reached, error, until, throttledUntil } of deliveries) {
    if (by === 'settled earlier') continue;
    if (by === 'deferred' || throttledUntil !== undefined) {
      const { account, provider } = outcome;
      const status =
        'httpStatus' in outcome && outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {};
      const reason = by === 'deferred' ? 'no_token' : 'rate_limited';
      const at = new Date((until ?? throttledUntil) as number).toISOString();
      deps.logger.info('delivery deferred', {
        eventKey: job.eventKey,
        account,
        provider,
        reason,
        ...status,
        until: at,
      });
      continue;
    }
    // Powertools reserves `message` for the log line's own text: the provider's message goes under `detail`.
    const { message, ...fields } = (reached ?? outcome) as Outcome & { message?: string };
    const line = {
      eventKey: job.eventKey,
      source: job.source,
      route: job.route,
      receiveCount: deps.receiveCount,
      ...fields,
      ...(code !== undefined ? { code } : {}),
      ...(message !== undefined ? { detail: message } : {}),
      ...(error !== undefined ? { error } : {}),
    };
    if (by === 'busy') deps.logger.info('delivery busy', line);
    else if (by === 'superseded') deps.logger.warn('delivery superseded', line);
    else if (by === 'unrecorded') deps.logger.error('delivery unrecorded', line);
    else if (outcome.status === 'failed') deps.logger.error('delivery outcome', line);
    else if (outcome.status === 'transient') deps.logger.warn('delivery outcome', line);
    else deps.logger.info('delivery outcome', line);
  }
  const outcomes = deliveries.map((delivery) => delivery.outcome);
  const pending = outcomes.filter((outcome) => outcome.status === 'transient');
  const incomplete = () =>
    new DeliveryIncompleteError(
      `${pending.length} provider account(s) not reached yet: ${pending.map((outcome) => outcome.account).join(', ')}`,
    );
  if (deps.pacing === undefined) {
    if (pending.length > 0) throw incomplete();
    return outcomes;
  }
  const { queue, now = Date.now, settings } = deps.pacing;
  const steps = deliveries.map(accountStep);
  // The queue's settings matter only to a receive that failed for real (read once per container).
  const failing = steps.some((step) => step.kind === 'failed' || step.kind === 'throttled');
  const queueSettings = failing ? await queue.settings() : undefined;
  const receive = {
    count: deps.receiveCount ?? 1,
    maxReceiveCount: queueSettings?.maxReceiveCount,
    now: now(),
    ...(queueSettings !== undefined ? { retryDelayMs: queueSettings.visibilityTimeoutSeconds * 1000 } : {}),
  };
  const plan = planJob(job, steps, receive, settings);
  // The event's history names each time one of its jobs went to the dead-letter queue; never a reason to fail.
  const recordDeadLetter = () =>
    deps.store.recordDeadLetter(job.eventKey, now()).catch((error: unknown) => {
      deps.logger.warn('dead-letter not recorded', { eventKey: job.eventKey, error: error as Error });
    });
  switch (plan.kind) {
    case 'done':
      return outcomes;
    case 'retry': {
      // SQS moves a message whose receive count exceeds maxReceiveCount: a failing receive at that count is its
      // last (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
      const max = receive.maxReceiveCount;
      if (max !== undefined && receive.count >= max) await recordDeadLetter();
      throw incomplete();
    }
    case 'dead-letter': {
      // As SQS would have moved it: the job as accepted, so a redrive starts its attempts afresh.
      const { deferral: _spent, ...accepted } = job;
      await queue.deadLetter(accepted);
      await recordDeadLetter();
      const pendingAccounts = pending.map((outcome) => outcome.account);
      deps.logger.error('delivery dead-lettered', { eventKey: job.eventKey, attempts: plan.attempts, pendingAccounts });
      return outcomes;
    }
    case 'defer':
      await queue.sendLater({ ...job, deferral: plan.deferral }, plan.delaySeconds);
      return outcomes;
  }
}

function accountStep(delivery: AccountDelivery): AccountStep {
  const account = delivery.outcome.account;
  if (delivery.by === 'deferred') {
    const booked = delivery.booked !== undefined ? { booked: delivery.booked } : {};
    return { account, kind: 'deferred', until: delivery.until as number, ...booked };
  }
  if (delivery.throttledUntil !== undefined) return { account, kind: 'throttled', until: delivery.throttledUntil };
  return { account, kind: delivery.outcome.status === 'transient' ? 'failed' : 'final' };
}
