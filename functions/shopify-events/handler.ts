/**
 * Shopify webhooks through Amazon EventBridge (a rule on Shopify's partner
 * event bus targets this function): the same mapping and dedupe as
 * `POST /hooks/shopify/{route}`, into the route `SHOPIFY_EVENTS_ROUTE`.
 * Thin: wiring built once at cold start, the work in shared/shopify/events.ts.
 * A thrown error is EventBridge's signal to retry, then to dead-letter.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { ShopifyEventBridgeEvent } from '../../shared/adapters/eventbridge.js';
import { logger } from '../../shared/logging.js';
import { createRuntime, ingestDependencies } from '../../shared/runtime.js';
import { ingestShopifyEvent, shopifyEventsRoute, type ShopifyEventOutcome } from '../../shared/shopify/events.js';

const runtime = createRuntime();
const { accept } = ingestDependencies(runtime);
const route = shopifyEventsRoute(runtime.routes, runtime.env);

export const handler = middy<ShopifyEventBridgeEvent, ShopifyEventOutcome, Error, Context>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => ingestShopifyEvent(event, { route, accept, logger }));
