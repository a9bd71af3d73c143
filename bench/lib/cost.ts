/**
 * Cost per million webhooks, component by component, from the work a run makes (cost-model.ts) and the
 * durations the bench measured. us-east-1 list prices, arm64, DynamoDB on demand, free tiers left out.
 */
import { PROVIDER_CALLS_PER_DELIVERY, type Work } from './cost-model.js';

export const PRICES = {
  // https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html
  // (HTTP APIs, us-east-1: $1.00 a million for the first 300 million a month, metered in 512 KB increments;
  // https://aws.amazon.com/api-gateway/pricing/)
  httpApiPerMillionRequests: 1.0,
  // https://aws.amazon.com/lambda/pricing/ (Arm: $0.20 a million requests, $0.0000133334 a GB-second for the
  // first 7.5 billion GB-s a month; duration rounded up to the millisecond)
  lambdaPerMillionRequests: 0.2,
  lambdaGbSecond: 0.0000133334,
  // https://aws.amazon.com/sqs/pricing/ (standard queues: $0.40 a million requests; every 64 KB chunk of a
  // request's payload is billed as one request, and a batch call is one request)
  sqsPerMillionRequests: 0.4,
  // https://aws.amazon.com/dynamodb/pricing/on-demand/ (on demand, us-east-1, since the November 2024 cut:
  // $0.625 a million write request units, $0.125 a million read request units; figures as quoted at
  // https://airbyte.com/data-engineering-resources/dynamodb-pricing). One write unit writes an item up to 1 KB;
  // a strongly consistent read of up to 4 KB is one read unit, an eventually consistent one half.
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
};

/** What one ingest costs in calls: a Typeform response (no body key, no alias). */
export interface IngestShape {
  /**
   * beginIngest (conditional PutItem) + completeIngest (UpdateItem) per key: 2 for a source with one event key,
   * 4 with a signed-body key (Shopify, WooCommerce, signed forms), +1 PutItem per alias (a Shopify order: 5).
   * The event's own record is listed in the GSI `recent` (projection ALL), so both its writes also write the
   * index: +2 (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html). The person index is
   * one item per email and phone: +2 for a contact with one of each. Every item is under 1 KB: one write unit
   * each. A refused conditional write (a duplicate) still costs its unit:
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalWrites.ReturnConsumedCapacity
   */
  writes: number;
  /** Sequential AWS calls on its path (writes + SendMessage). */
  awsCalls: number;
  /** CPU time measured per invocation here (ms). */
  cpuMs: number;
}

/** The duration model of a deliver invocation and its inputs. */
export interface Durations {
  memoryMb: number;
  /** The share of a vCPU the memory buys: memory ÷ 1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). */
  vcpuShare: number;
  /** Assumption: one in-region DynamoDB or SQS call, ~10 ms round trip. */
  awsCallMs: number;
  /** Assumption: one provider API call, ~250 ms round trip. */
  providerCallMs: number;
  /** Deliver's CPU per invocation apart from its calls (ms, measured). */
  deliverBaseCpuMs: number;
  /** Deliver's CPU per SDK or provider call (ms, measured). */
  deliverCpuMsPerCall: number;
}

/**
 * Deliver's CPU from the two measured runs (one job per invocation and full batches, each job to every
 * account of the bench's route): cpu = base + calls × perCall, solved for base and perCall. The measured
 * deliver made 2 table writes and PROVIDER_CALLS_PER_DELIVERY provider calls per account (no token yet).
 */
export function deliverCpuFromMeasured(measured: {
  accounts: number;
  singleCpuMs: number;
  batchCpuMs: number;
  batchSize: number;
}): Pick<Durations, 'deliverBaseCpuMs' | 'deliverCpuMsPerCall'> {
  const callsPerJob = measured.accounts * (2 + PROVIDER_CALLS_PER_DELIVERY);
  const perCall = Math.max(0, (measured.batchCpuMs - measured.singleCpuMs) / ((measured.batchSize - 1) * callsPerJob));
  return { deliverCpuMsPerCall: perCall, deliverBaseCpuMs: Math.max(0, measured.singleCpuMs - perCall * callsPerJob) };
}

export const COMPONENTS = [
  'API Gateway requests',
  'Lambda requests',
  'Lambda GB-s, ingest',
  'Lambda GB-s, deliver',
  'SQS requests',
  'DynamoDB writes, ingest',
  'DynamoDB writes, outcomes',
  'DynamoDB writes, token bucket',
  'DynamoDB reads',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** How each component grows with the work, for the report. */
export const GROWTH: Record<Component, string> = {
  'API Gateway requests': 'one per webhook: linear in webhooks, flat in accounts and bursts.',
  'Lambda requests':
    'one ingest per webhook plus one deliver per batch received; a deferred job adds a receive (a tenth of one ' +
    'invocation in a full batch), but returns come back spread at the account rate, so batches are thin.',
  'Lambda GB-s, ingest': 'fixed per webhook: linear in webhooks.',
  'Lambda GB-s, deliver':
    'mostly provider round trips (lookup + create) per account delivered: linear in webhooks × accounts; ' +
    'deferral receives add only two short AWS calls each.',
  'SQS requests':
    'one send per webhook + receive and delete per batch; each deferral adds one send and a receive/delete ' +
    'share: flat up to rate × 15 min, then one more round per job per 15 min of backlog ahead of it.',
  'DynamoDB writes, ingest':
    'fixed per webhook (6 for a Typeform response with an email and a phone: its record, the index, the person index): linear in webhooks.',
  'DynamoDB writes, outcomes': 'claim + record per account delivered: linear in webhooks × accounts, flat in bursts.',
  'DynamoDB writes, token bucket':
    'one per account per job up to rate × 15 min of backlog; beyond it every job refused is refused again ' +
    'every 15 min (a write each time): per webhook linear in burst size, in total quadratic.',
  'DynamoDB reads':
    'none in AWS: refusals return the refusing item (ReturnValuesOnConditionCheckFailure, no read units); ' +
    'only local dynalite adds a GetItem.',
};

export interface Priced {
  /** $ per million webhooks by component, and in total. */
  perMillion: Record<Component, number>;
  total: number;
  /** Calls or units per webhook behind each component. */
  perWebhook: {
    apiRequests: number;
    lambdaRequests: number;
    ingestGbSeconds: number;
    deliverGbSeconds: number;
    sqsRequests: number;
    ingestWrites: number;
    outcomeWrites: number;
    bucketWrites: number;
    reads: number;
  };
  /** Deliver's estimated duration summed over the run (ms), for the report. */
  deliverMs: number;
}

/**
 * Price one run. Assumptions: a job is under 6.4 KB, so a full batch's receive is one 64 KB chunk;
 * the event source mapping deletes a batch's successes with one DeleteMessageBatch
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html: "When your function successfully processes a
 * batch, Lambda deletes its messages from the queue"); its idle long polls are a fixed cost per queue, not
 * per webhook, and left out. Outcome and bucket items are under 1 KB (one write unit each).
 */
export function priceWork(work: Work, ingest: IngestShape, durations: Durations): Priced {
  const { webhooks } = work;
  const gb = durations.memoryMb / 1024;
  const ingestMs = ingest.cpuMs / durations.vcpuShare + ingest.awsCalls * durations.awsCallMs;
  const waits = work.paths.reduce(
    (sum, path) => sum + path.invocations * (path.aws * durations.awsCallMs + path.provider * durations.providerCallMs),
    0,
  );
  const deliverCpuMs =
    work.deliverInvocations * durations.deliverBaseCpuMs + work.deliverCalls * durations.deliverCpuMsPerCall;
  const deliverMs = deliverCpuMs / durations.vcpuShare + waits;
  const bucketWrites = work.bucket.now + work.bucket.booked + work.bucket.refused;
  const perWebhook = {
    apiRequests: 1,
    lambdaRequests: 1 + work.deliverInvocations / webhooks,
    ingestGbSeconds: (ingestMs / 1000) * gb,
    deliverGbSeconds: (deliverMs / 1000 / webhooks) * gb,
    // Ingest's send, deliver's re-sends, and the event source mapping's receive + delete per batch.
    sqsRequests: 1 + (work.resends + 2 * work.deliverInvocations) / webhooks,
    ingestWrites: ingest.writes,
    outcomeWrites: (2 * work.deliveries) / webhooks,
    bucketWrites: bucketWrites / webhooks,
    reads: 0,
  };
  const million = 1_000_000;
  const perMillion: Record<Component, number> = {
    'API Gateway requests': perWebhook.apiRequests * PRICES.httpApiPerMillionRequests,
    'Lambda requests': perWebhook.lambdaRequests * PRICES.lambdaPerMillionRequests,
    'Lambda GB-s, ingest': perWebhook.ingestGbSeconds * million * PRICES.lambdaGbSecond,
    'Lambda GB-s, deliver': perWebhook.deliverGbSeconds * million * PRICES.lambdaGbSecond,
    'SQS requests': perWebhook.sqsRequests * PRICES.sqsPerMillionRequests,
    'DynamoDB writes, ingest': perWebhook.ingestWrites * PRICES.dynamoPerMillionWriteUnits,
    'DynamoDB writes, outcomes': perWebhook.outcomeWrites * PRICES.dynamoPerMillionWriteUnits,
    'DynamoDB writes, token bucket': perWebhook.bucketWrites * PRICES.dynamoPerMillionWriteUnits,
    'DynamoDB reads': perWebhook.reads * PRICES.dynamoPerMillionReadUnits,
  };
  const total = COMPONENTS.reduce((sum, component) => sum + perMillion[component], 0);
  return { perMillion, total, perWebhook, deliverMs };
}
