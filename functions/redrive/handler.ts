/**
 * Scheduled redrive: when the dead-letter queue holds jobs, no move is
 * running and every provider account passes its health check, start SQS's
 * native message-move task from the DLQ back to the delivery queue. One
 * summary log line and a `DeadLettersRedriven` metric per run.
 */
import middy from '@middy/core';
import { SQSClient } from '@aws-sdk/client-sqs';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { requireEnv } from '../../shared/config/env.js';
import { logger, metricsNamespace } from '../../shared/logging.js';
import { checkProviderAccounts } from '../../shared/operations/healthcheck.js';
import { redriveDeadLetters, type RedriveReport } from '../../shared/operations/redrive.js';
import { createRuntime, providerContext } from '../../shared/runtime.js';

const runtime = createRuntime();
const providers = providerContext(runtime);
const queues = {
  queueArn: requireEnv(runtime.env, 'QUEUE_ARN'),
  dlqUrl: requireEnv(runtime.env, 'DLQ_URL'),
  dlqArn: requireEnv(runtime.env, 'DLQ_ARN'),
};
const sqs = new SQSClient({});
const metrics = new Metrics({ namespace: metricsNamespace(runtime.env.STAGE), serviceName: 'contact-relay' });

export const handler = middy<unknown, RedriveReport>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async () => {
    const report = await redriveDeadLetters({
      sqs,
      ...queues,
      checkHealth: () => checkProviderAccounts(runtime.routes, providers),
    });
    // Held back by providers is worth a look; empty or already moving is routine.
    if (!report.started && report.unhealthy !== undefined) logger.warn('redrive', { ...report });
    else logger.info('redrive', { ...report });
    // The count SQS gave when the task started; the move itself runs on in SQS after this function returns.
    metrics.addMetric('DeadLettersRedriven', MetricUnit.Count, report.started ? report.dlqMessages : 0);
    return report;
  });
