/**
 * Delivery jobs from SQS, in batches with partial failure reporting: a job
 * with a transient outcome (a provider down, a refused key, an error) or that
 * cannot be read is reported failed alone and comes back after the visibility
 * timeout; after maxReceiveCount it lands in the dead-letter queue, where
 * redrive picks it up. Its neighbours are never re-delivered.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { deliverQueuedJob } from '../../shared/delivery.js';
import { logger } from '../../shared/logging.js';
import { createRuntime, leadFetcher, outcomeStore, providerContext } from '../../shared/runtime.js';

const runtime = createRuntime();
const providers = providerContext(runtime);
const deps = {
  routes: runtime.routes,
  providers,
  store: outcomeStore(runtime),
  leads: leadFetcher(runtime, providers),
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
