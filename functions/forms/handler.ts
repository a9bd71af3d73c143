/**
 * Form webhooks, one function for the whole family:
 * `POST /hooks/{form|typeform|tally|jotform|webflow|google-forms}/{route}`.
 * Thin: the URL picks the source, the use case does the rest. Everything it
 * needs is built once at cold start.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { fromHttpApiEvent, sourceOfHttpApiEvent, toHttpApiResult } from '../../shared/adapters/http-api.js';
import { ingestWebhook, type Source } from '../../shared/ingest.js';
import { logger } from '../../shared/logging.js';
import { createRuntime, formProtection, ingestDependencies } from '../../shared/runtime.js';
import { formSource } from '../../shared/sources/form.js';
import { googleFormsSource } from '../../shared/sources/google-forms.js';
import { jotformSource } from '../../shared/sources/jotform.js';
import { tallySource } from '../../shared/sources/tally.js';
import { typeformSource } from '../../shared/sources/typeform.js';
import { webflowSource } from '../../shared/sources/webflow.js';

const runtime = createRuntime();
const deps = { ...ingestDependencies(runtime), protection: formProtection(runtime) };
const sources = new Map<string, Source>([formSource, typeformSource, tallySource, jotformSource, webflowSource, googleFormsSource].map((source) => [source.name, source]));

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const source = sources.get(sourceOfHttpApiEvent(event) ?? '');
    // API Gateway only routes this function's own paths here; anything else is a wiring mistake.
    if (source === undefined) return toHttpApiResult({ statusCode: 404, body: { error: { code: 'unknown_source', message: `no form source at ${event.rawPath}` } } });
    return toHttpApiResult(await ingestWebhook(fromHttpApiEvent(event, source.name), source, deps));
  });
