/**
 * Pacing deliveries to each provider account's rate. Every account of a job first takes a token from its
 * bucket (store.takeToken): one there now means the provider is called now; one booked for later, or none
 * within the booking horizon, defers the job to then. A deferred job goes back on the queue as a new message
 * with a delay, carrying what an SQS receive count cannot: its real attempts (a deferral is not one), the
 * accounts already settled, and the tokens it booked. A provider's 429 holds the account's bucket for the
 * wait it names and defers the job the same way. So a burst far above an account's rate drains at that
 * rate, and only real failures (a provider down, a refused key) lead to the dead-letter queue.
 *
 * Why a new message rather than a visibility change on the one received: that keeps the message, but its next
 * receive still adds to the receive count the redrive policy's maxReceiveCount compares
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html), so
 * deferrals would dead-letter a job; and a visibility may not reach past 12 hours from the receive
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
 */
import type { ResolvedRoute } from './config/routes.js';
import { accountRate, type ProviderName } from './config/routes.js';
import type { Contact } from './contact.js';
import type { Deferral, DeliveryJob } from './jobs.js';
import { PROVIDER_ADAPTERS } from './providers/index.js';
import type { BucketRate, OutcomeStore } from './store.js';

export const pacingDefaults = {
  /**
   * How far ahead a token may be booked: SQS's longest DelaySeconds (900 s), so a booked job waits out its
   * time in one delay (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
   */
  bookAheadMs: 900_000,
  /**
   * A booked token not used within this long after its time is given up and a new one taken. Long enough that
   * the first receives of a burst, queued ahead of the jobs they defer, do not void the tokens booked meanwhile
   * (each voided token is a slot of the account's rate lost); short enough that jobs coming back much later
   * together (a stalled consumer) do not all call the provider at once on old tokens. Measured in the 5,000
   * burst soak, whose first receives took four to six minutes on one machine: at 30 s it stalled two minutes
   * on voided tokens, at 60 s it voided nearly every token booked during the first pass (both runs stopped on
   * course for more than 1.2× the minimum), at 120 s it drained in 1.13× with 0.96% 429s from late jobs
   * calling together.
   */
  bookingGraceMs: 120_000,
  /** Provider 429s a job is deferred for before each further one counts as a real attempt. */
  maxThrottles: 10,
};

type Account = ResolvedRoute['accounts'][number];

/**
 * The account's rate counted in deliveries: its rate is in provider requests, as providers state their limits,
 * and a delivery makes its adapter's `rateCost` of them.
 */
export function deliveryRate(account: Account, contact?: Contact): BucketRate {
  const { perMinute, burst } = accountRate(account);
  const cost = PROVIDER_ADAPTERS[account.provider].rateCost(contact);
  return { perMinute: perMinute / cost, burst: Math.max(1, Math.floor(burst / cost)) };
}

/** Whether an account of a job may call its provider now, or the job waits until `until` (with a booked token). */
export type TokenGate = { go: true } | { go: false; until: number; booked?: number };

export async function gateAccount(
  job: DeliveryJob,
  account: Account,
  store: Pick<OutcomeStore, 'takeToken'>,
  now: number,
  settings = pacingDefaults,
): Promise<TokenGate> {
  const retryAt = job.deferral?.retryAt?.[account.name];
  // Failed for real at an earlier receive: tried again no sooner than the queue would have brought it back.
  if (retryAt !== undefined && retryAt > now) return { go: false, until: retryAt };
  const booked = job.deferral?.booked[account.name];
  if (booked !== undefined && booked > now) return { go: false, until: booked, booked };
  if (booked !== undefined && now - booked <= settings.bookingGraceMs) return { go: true };
  const contact = 'contact' in job ? job.contact : undefined;
  const token = await store.takeToken(account.name, deliveryRate(account, contact), settings.bookAheadMs);
  // Every try lost a race to another taker: the bucket is busy, not booked out, so soon is worth trying.
  if (!token.taken && token.contended) return { go: false, until: token.readyAt };
  if (!token.taken) {
    // Booked full for the whole horizon: by the time it has passed, the bucket books this far ahead again.
    return { go: false, until: now + settings.bookAheadMs };
  }
  return token.at === undefined ? { go: true } : { go: false, until: token.at, booked: token.at };
}

/**
 * Until when an account that answered 429 waits: the provider's Retry-After / X-RateLimit-Reset when it sent
 * one, else the window its documented limit is counted over.
 * - Chatwoot: rack-attack counts fixed one-minute windows aligned on the epoch and sends no Retry-After
 *   (https://github.com/chatwoot/chatwoot/blob/develop/config/initializers/rack_attack.rb): the next window.
 * - Callbell: a limit per second (https://docs.callbell.eu/api/reference/rate_limits): one second.
 * - 2Chat: a limit per minute with no rate header (https://developers.2chat.co/docs/API/api-response-codes).
 *   Assumption: its window is a minute, so waiting one is always enough.
 * - Kirim.chat sends Retry-After on every 429 (https://developers.kirim.chat/concepts/rate-limits/); a minute
 *   (its limits are per minute) if one ever came without.
 */
export function rateLimitedUntil(provider: ProviderName, retryAfterMs: number | undefined, now: number): number {
  if (retryAfterMs !== undefined) return now + retryAfterMs;
  if (provider === 'chatwoot') return (Math.floor(now / 60_000) + 1) * 60_000;
  if (provider === 'callbell') return now + 1_000;
  return now + 60_000;
}

/** What one receive did for one account of the job. */
export type AccountStep =
  | { account: string; kind: 'final' }
  /** Transient for a real reason (the provider down, a refused key, an error). */
  | { account: string; kind: 'failed' }
  /** Not called: no token now. */
  | { account: string; kind: 'deferred'; until: number; booked?: number }
  /** The provider answered 429; its bucket is held until `until`. */
  | { account: string; kind: 'throttled'; until: number };

/** What becomes of the queue message after one receive. */
export type JobPlan =
  | { kind: 'done' }
  /** A real failure: the message fails, so SQS brings it back and counts the receive. */
  | { kind: 'retry'; attempts: number }
  /** A real failure that was the job's last attempt, counting those before its deferrals. */
  | { kind: 'dead-letter'; attempts: number }
  /** The job back on the queue after `delaySeconds`, and this message done: not an attempt. */
  | { kind: 'defer'; delaySeconds: number; deferral: Deferral };

const MAX_DELAY_SECONDS = 900;

/**
 * The plan for a receive: `count` is SQS's receive count for this message, which restarts at each deferral;
 * the receives before this one of the same message all failed for real (a deferral ends its message).
 * `retryDelayMs`: when the queue brings back a failed message (its visibility timeout).
 *
 * A receive where some accounts failed for real and others wait for their token counts as an attempt, but the
 * job goes back as a deferral rather than failing: failing would drop the waiting accounts' booked tokens,
 * and under a long booking they would never be called before the failing ones spent the job's attempts.
 * The failed accounts are then tried again after `retryDelayMs`, as the queue would have.
 */
export function planJob(
  job: DeliveryJob,
  steps: readonly AccountStep[],
  receive: { count: number; maxReceiveCount: number | undefined; now: number; retryDelayMs?: number },
  settings = pacingDefaults,
): JobPlan {
  const prior = job.deferral?.attempts ?? 0;
  const throttles = (job.deferral?.throttles ?? 0) + (steps.some((step) => step.kind === 'throttled') ? 1 : 0);
  const throttledTooOften = throttles > settings.maxThrottles;
  const isFailure = (step: AccountStep) => step.kind === 'failed' || (step.kind === 'throttled' && throttledTooOften);
  const failures = steps.filter(isFailure);
  const waiting = steps.flatMap((step) =>
    (step.kind === 'deferred' || step.kind === 'throttled') && !isFailure(step) ? [step] : [],
  );
  const retryAt: Record<string, number> = {};
  let attempts = prior + receive.count - 1;
  if (failures.length > 0) {
    attempts += 1;
    // Without earlier deferrals, SQS's own count is the real one and its redrive policy applies.
    const deferring = prior > 0 || waiting.length > 0;
    if (deferring && receive.maxReceiveCount !== undefined && attempts >= receive.maxReceiveCount)
      return { kind: 'dead-letter', attempts };
    if (waiting.length === 0 || receive.retryDelayMs === undefined) return { kind: 'retry', attempts };
    for (const step of failures) retryAt[step.account] = receive.now + receive.retryDelayMs;
  }
  if (waiting.length === 0) return { kind: 'done' };
  // Accounts still waiting out an earlier failure keep their time.
  for (const step of waiting) {
    const earlier = job.deferral?.retryAt?.[step.account];
    if (step.kind === 'deferred' && step.booked === undefined && earlier !== undefined && earlier > receive.now)
      retryAt[step.account] = earlier;
  }
  const until = Math.min(...waiting.map((step) => step.until), ...Object.values(retryAt));
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((until - receive.now) / 1000)));
  const done = new Set(job.deferral?.done ?? []);
  for (const step of steps) if (step.kind === 'final') done.add(step.account);
  const booked: Record<string, number> = {};
  for (const step of waiting) {
    if (step.kind === 'deferred' && step.booked !== undefined) booked[step.account] = step.booked;
  }
  const retries = Object.keys(retryAt).length > 0 ? { retryAt } : {};
  return {
    kind: 'defer',
    delaySeconds,
    deferral: { attempts, throttles, done: [...done].sort(), booked, ...retries },
  };
}
