/**
 * Shop webhooks, one function for the whole family:
 * `POST /hooks/{shopify|woocommerce}/{route}`.
 * Thin: the URL picks the source, the use case does the rest. Everything it
 * needs is built once at cold start.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { fromHttpApiEvent, sourceOfHttpApiEvent, toHttpApiResult } from '../../shared/adapters/http-api.js';
import { ingestWebhook } from '../../shared/ingest.js';
import { logger } from '../../shared/logging.js';
import { SHOP_SOURCES } from '../../shared/sources/index.js';
import { createRuntime, ingestDependencies } from '../../shared/runtime.js';

const deps = ingestDependencies(createRuntime());

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const source = SHOP_SOURCES.get(sourceOfHttpApiEvent(event) ?? '');
    // API Gateway only routes this function's own paths here; anything else is a wiring mistake.
    if (source === undefined)
      return toHttpApiResult({
        statusCode: 404,
        body: { error: { code: 'unknown_source', message: `no shop source at ${event.rawPath}` } },
      });
    return toHttpApiResult(await ingestWebhook(fromHttpApiEvent(event, source.name), source, deps));
  });
