/**
 * Scheduled provider health check: one cheap authenticated call per provider
 * account of the route config. Each account gets one log line (error level
 * when unhealthy) and a `ProviderCredentialsHealthy` metric (1/0) with its
 * Account and Provider dimensions; `ProviderCredentialsFailing` counts the
 * unhealthy ones for the alarm. A failing key is never a failed invocation:
 * the function reports it and returns.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { logger, metricsNamespace } from '../../shared/logging.js';
import { checkProviderAccounts, summarizeHealth, type HealthSummary } from '../../shared/operations/healthcheck.js';
import { createRuntime, providerContext } from '../../shared/runtime.js';

const runtime = createRuntime();
const providers = providerContext(runtime);
const metrics = new Metrics({ namespace: metricsNamespace(runtime.env.STAGE), serviceName: 'contact-relay' });

export const handler = middy<unknown, HealthSummary>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async () => {
    const results = await checkProviderAccounts(runtime.routes, providers);
    for (const result of results) {
      // Powertools Logger drops a `message` attribute (it is the line's own message): log it as `detail`.
      const { message, ...rest } = result;
      const line = { ...rest, ...(message !== undefined ? { detail: message } : {}) };
      if (result.healthy) logger.info('provider account health', line);
      else logger.error('provider account health', line);
      // One metric blob per account: dimensions are per blob, and each account needs its own values.
      metrics
        .singleMetric()
        .addDimensions({ Account: result.account, Provider: result.provider })
        .addMetric('ProviderCredentialsHealthy', MetricUnit.Count, result.healthy ? 1 : 0);
    }
    const summary = summarizeHealth(results);
    metrics.addMetric('ProviderCredentialsFailing', MetricUnit.Count, summary.unhealthy.length);
    return summary;
  });
