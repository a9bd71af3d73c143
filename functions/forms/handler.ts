/**
 * Form webhooks: `POST /hooks/form/{route}`. Thin: adapter in, use case,
 * adapter out. Everything it needs is built once at cold start.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { fromHttpApiEvent, toHttpApiResult } from '../../shared/adapters/http-api.js';
import { ingestWebhook } from '../../shared/ingest.js';
import { logger } from '../../shared/logging.js';
import { createRuntime, ingestDependencies } from '../../shared/runtime.js';
import { formSource } from '../../shared/sources/form.js';

const deps = ingestDependencies(createRuntime());

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => toHttpApiResult(await ingestWebhook(fromHttpApiEvent(event, 'form'), formSource, deps)));
