/**
 * What a run of webhooks makes deliver do, call by call, under the per-account token buckets: how many
 * invocations, SQS messages re-sent, bucket writes (a token now, a token booked ahead, a refusal) and
 * outcome writes. Pure arithmetic on the design of shared/delivery.ts and shared/store.ts, so the bench can
 * price any size of burst without running it.
 *
 * The design it follows: each account of a job first takes a token (one conditional UpdateItem). A token
 * now is delivered at once (claimOutcome, the provider's lookup + create, recordOutcome). A token that will
 * exist within DELAY_LIMIT_SECONDS is booked, and the job is re-sent to the queue (one SendMessage carrying
 * every pending account) to come back when it is due; on its return the booked account is delivered without
 * another token. A bucket booked further ahead refuses (the refused write still costs a write unit) and the
 * job comes back after DELAY_LIMIT_SECONDS to try again.
 *
 * Timing: a burst's webhooks all reach the queue at t = 0; everything visible at one moment is received in
 * batches of `batchSize`, and deliver's own run time is taken as nil against the slots (milliseconds against
 * the rate's seconds). Assumption: Lambda's event source mapping hands over what is visible within its
 * one-second batching window together (maximumBatchingWindow: 1 in serverless.yml), modelled as messages due
 * in the same whole second sharing batches.
 */
import type { AccountRate } from '../../shared/config/routes.js';

/**
 * SQS's longest DelaySeconds, 15 minutes:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
export const DELAY_LIMIT_SECONDS = 900;

/** A critical path through one invocation: sequential AWS calls, then sequential provider calls. */
export interface Path {
  aws: number;
  provider: number;
}

/** Provider calls per account delivery. Assumption: a lookup, then a create (the adapters' usual pair). */
export const PROVIDER_CALLS_PER_DELIVERY = 2;

export interface Work {
  webhooks: number;
  accounts: number;
  /** Deliver invocations (one ReceiveMessage and one DeleteMessageBatch each). */
  deliverInvocations: number;
  /** Jobs handed to deliver, counting each return of a deferred job. */
  jobReceives: number;
  /** SendMessage calls that put a deferred job back on the queue. */
  resends: number;
  /** Bucket writes by answer: a token now, a token booked ahead, refused (bucket booked beyond the limit). */
  bucket: { now: number; booked: number; refused: number };
  /** Accounts delivered (each one claimOutcome + recordOutcome write and PROVIDER_CALLS_PER_DELIVERY calls). */
  deliveries: number;
  /** SDK and provider calls deliver made: its CPU time is counted per call. */
  deliverCalls: number;
  /** Invocations by critical path: sequential AWS calls and provider calls of their slowest job. */
  paths: Array<Path & { invocations: number }>;
  /** When the last account was delivered (s after the burst). */
  drainSeconds: number;
}

interface Job {
  /** Per account: when its booked token is due (ms), undefined when it holds none; NaN once delivered. */
  due: Array<number | undefined>;
}

/** GCRA bucket as takeToken keeps it: `emptyAt` ms, interval whole ms rounded up. */
interface Bucket {
  emptyAt: number;
  interval: number;
  burst: number;
}

type Answer = { kind: 'now' } | { kind: 'booked'; at: number } | { kind: 'refused' };

/** One takeToken with booking ahead, as one conditional UpdateItem decides it. */
function take(bucket: Bucket, at: number, bookAheadMs: number): Answer {
  const drawn = Math.max(bucket.emptyAt, at - bucket.burst * bucket.interval) + bucket.interval;
  if (drawn > at + bookAheadMs) return { kind: 'refused' };
  bucket.emptyAt = drawn;
  return drawn > at ? { kind: 'booked', at: drawn } : { kind: 'now' };
}

const longer = (a: Path, b: Path): Path =>
  a.provider > b.provider || (a.provider === b.provider && a.aws >= b.aws) ? a : b;

/**
 * Deliver `webhooks` jobs, all queued at once, each to every account of `rates`. `unlimited` gives every take
 * a token now (steady load, below every account's rate).
 */
export function simulateDeliveries(options: {
  webhooks: number;
  rates: readonly AccountRate[];
  batchSize: number;
  unlimited?: boolean;
}): Work {
  const { webhooks, rates, batchSize, unlimited = false } = options;
  const bookAheadMs = DELAY_LIMIT_SECONDS * 1000;
  const buckets: Bucket[] = rates.map((rate) => ({
    emptyAt: Number.NEGATIVE_INFINITY,
    interval: Math.ceil(60_000 / rate.perMinute),
    burst: rate.burst,
  }));
  const work: Work = {
    webhooks,
    accounts: rates.length,
    deliverInvocations: 0,
    jobReceives: 0,
    resends: 0,
    bucket: { now: 0, booked: 0, refused: 0 },
    deliveries: 0,
    deliverCalls: 0,
    paths: [],
    drainSeconds: 0,
  };
  const pathCounts = new Map<string, Path & { invocations: number }>();
  // Whole seconds → the jobs that become visible then, in the order they were sent.
  const visible = new Map<number, Job[]>();
  const enqueue = (second: number, job: Job) => {
    const list = visible.get(second);
    if (list === undefined) visible.set(second, [job]);
    else list.push(job);
  };
  for (let i = 0; i < webhooks; i++) enqueue(0, { due: rates.map(() => undefined) });

  const receive = (job: Job, second: number): Path => {
    const at = second * 1000;
    work.jobReceives++;
    let path: Path = { aws: 0, provider: 0 };
    let waitSeconds = Number.POSITIVE_INFINITY;
    job.due.forEach((due, i) => {
      if (Number.isNaN(due)) return;
      let tookToken = false;
      let deliverNow = due !== undefined && due <= at;
      if (due === undefined) {
        const answer = unlimited ? ({ kind: 'now' } as const) : take(buckets[i] as Bucket, at, bookAheadMs);
        tookToken = true;
        work.deliverCalls++;
        work.bucket[answer.kind]++;
        if (answer.kind === 'now') deliverNow = true;
        else if (answer.kind === 'booked') job.due[i] = answer.at;
        else waitSeconds = Math.min(waitSeconds, DELAY_LIMIT_SECONDS);
      }
      if (deliverNow) {
        job.due[i] = Number.NaN;
        work.deliveries++;
        work.deliverCalls += 2 + PROVIDER_CALLS_PER_DELIVERY;
        work.drainSeconds = Math.max(work.drainSeconds, second);
        path = longer(path, { aws: (tookToken ? 1 : 0) + 2, provider: PROVIDER_CALLS_PER_DELIVERY });
        return;
      }
      const booked = job.due[i];
      if (booked !== undefined) waitSeconds = Math.min(waitSeconds, Math.ceil((booked - at) / 1000));
      if (tookToken) path = longer(path, { aws: 1, provider: 0 });
    });
    if (Number.isFinite(waitSeconds)) {
      // One SendMessage carries every pending account; it comes back when the earliest is due.
      work.resends++;
      work.deliverCalls++;
      path = { aws: path.aws + 1, provider: path.provider };
      enqueue(second + Math.max(1, waitSeconds), job);
    }
    return path;
  };

  while (visible.size > 0) {
    const second = Math.min(...visible.keys());
    const jobs = visible.get(second) as Job[];
    visible.delete(second);
    for (let start = 0; start < jobs.length; start += batchSize) {
      let slowest: Path = { aws: 0, provider: 0 };
      for (const job of jobs.slice(start, start + batchSize)) slowest = longer(slowest, receive(job, second));
      work.deliverInvocations++;
      const key = `${slowest.aws}/${slowest.provider}`;
      const counted = pathCounts.get(key) ?? { ...slowest, invocations: 0 };
      counted.invocations++;
      pathCounts.set(key, counted);
    }
  }
  work.paths = [...pathCounts.values()].sort((a, b) => b.invocations - a.invocations);
  return work;
}
