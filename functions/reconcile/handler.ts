/**
 * Scheduled (EventBridge Scheduler): pull recent Shopify orders through the
 * GraphQL Admin API for every route with `reconcile`, and accept each into
 * the delivery pipeline under its webhook's event key. Thin: wiring built
 * once at cold start, the work in shared/operations/reconcile.ts.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { logger } from '../../shared/logging.js';
import {
  logReconcileReports,
  reconcileShopifyRoutes,
  type RouteReconcileReport,
} from '../../shared/operations/reconcile.js';
import { createRuntime, ingestDependencies, outcomeStore, providerContext } from '../../shared/runtime.js';

const runtime = createRuntime();
const providers = providerContext(runtime);
const store = outcomeStore(runtime);
const { accept } = ingestDependencies(runtime);
const adminBaseUrl = runtime.env.SHOPIFY_ADMIN_URL?.replace(/\/+$/, '');

/** Stop reading new pages with this much time left, so the checkpoint of what was done is still written. */
const STOP_MARGIN_MS = 30_000;

export const handler = middy<unknown, RouteReconcileReport[], Error, Context>()
  .use(injectLambdaContext(logger))
  .handler(async (_event, context) => {
    const reports = await reconcileShopifyRoutes({
      routes: runtime.routes,
      stage: runtime.env.STAGE,
      secrets: providers.secrets,
      http: providers.http,
      store,
      accept,
      logger,
      ...(adminBaseUrl !== undefined ? { adminBaseUrl } : {}),
      shouldStop: () => context.getRemainingTimeInMillis() < STOP_MARGIN_MS,
    });
    logReconcileReports(reports, logger);
    return reports;
  });
