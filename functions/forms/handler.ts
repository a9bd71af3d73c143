/**
 * Form and lead webhooks, one function for the whole family:
 * `POST /hooks/{form|typeform|tally|jotform|webflow|google-forms|meta-leads|calendly|custom}/{route}`,
 * and Meta's subscription check, `GET /hooks/meta-leads/{route}`.
 * Thin: the URL picks the source, the use case does the rest. Everything it
 * needs is built once at cold start, except the sources: each is loaded by the
 * first request that names it.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { fromHttpApiEvent, sourceOfHttpApiEvent, toHttpApiResult } from '../../shared/adapters/http-api.js';
import { ingestWebhook } from '../../shared/ingest.js';
import { logger } from '../../shared/logging.js';
import { FORM_SOURCES } from '../../shared/sources/index.js';
import { createRuntime, formProtection, ingestDependencies } from '../../shared/runtime.js';

const runtime = createRuntime();
const deps = { ...ingestDependencies(runtime), protection: formProtection(runtime) };

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const load = FORM_SOURCES.get(sourceOfHttpApiEvent(event) ?? '');
    // API Gateway only routes this function's own paths here; anything else is a wiring mistake.
    if (load === undefined)
      return toHttpApiResult({
        statusCode: 404,
        body: { error: { code: 'unknown_source', message: `no form source at ${event.rawPath}` } },
      });
    const source = await load();
    return toHttpApiResult(await ingestWebhook(fromHttpApiEvent(event, source.name), source, deps));
  });
