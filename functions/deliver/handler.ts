/**
 * Delivery jobs from SQS, in batches with partial failure reporting: a job
 * with a transient outcome (a provider down, a refused key, an error) or that
 * cannot be read is reported failed alone and comes back after the visibility
 * timeout; after maxReceiveCount it lands in the dead-letter queue, where
 * redrive picks it up. Its neighbours are never re-delivered. Each provider
 * account is held to its rate: a job with an account out of tokens, or
 * refused with a 429, is sent back to the queue with a delay and this
 * message is done, which is not an attempt.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { deliverQueuedJob } from '../../shared/delivery.js';
import { logger } from '../../shared/logging.js';
import { createRuntime, deferralQueue, leadFetcher, outcomeStore, providerContext } from '../../shared/runtime.js';

const runtime = createRuntime();
// A 429 is not waited out inside the function: the job is deferred through the account's bucket instead.
const providers = { ...providerContext(runtime), onRateLimited: 'return' as const };
const deps = {
  routes: runtime.routes,
  providers,
  store: outcomeStore(runtime),
  leads: leadFetcher(runtime, providers),
  pacing: { queue: deferralQueue(runtime) },
  logger,
};

const recordHandler = async (record: SQSRecord): Promise<void> => {
  await deliverQueuedJob(record.body, { ...deps, receiveCount: Number(record.attributes.ApproximateReceiveCount) });
};

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  // Answer with the failed items even when all failed: SQS retries them alike, and the answer stays uniform.
  // A processor per invocation: it holds the batch's failures, which must never mix between invocations.
  .handler(async (event, context) =>
    processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
    }),
  );
