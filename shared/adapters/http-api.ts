/**
 * The API Gateway HTTP API (payload 2.0) edge: event in, WebhookRequest out;
 * WebhookAnswer in, result out. The raw bytes are recovered exactly as sent,
 * base64-decoded when API Gateway encoded them, because signatures cover them.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { SourceName } from '../contact.js';
import type { WebhookAnswer, WebhookRequest } from '../webhook.js';

export function fromHttpApiEvent(event: APIGatewayProxyEventV2, source: SourceName): WebhookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const body = event.body ?? '';
  return {
    source,
    method: event.requestContext?.http?.method ?? 'POST',
    routeName: event.pathParameters?.['route'] ?? '',
    headers,
    query: { ...event.queryStringParameters },
    rawBody: event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
    ...(event.requestContext?.http?.sourceIp ? { sourceIp: event.requestContext.http.sourceIp } : {}),
  };
}

/** The source a webhook URL names: `/hooks/{source}/{route}`. */
export function sourceOfHttpApiEvent(event: APIGatewayProxyEventV2): string | undefined {
  const match = /^\/hooks\/([^/]+)\//.exec(event.rawPath ?? event.requestContext?.http?.path ?? '');
  return match?.[1];
}

export function toHttpApiResult(answer: WebhookAnswer): APIGatewayProxyStructuredResultV2 {
  // A subscription check is answered with the challenge alone, as the sender compares it byte for byte.
  if ('challenge' in answer.body) {
    return {
      statusCode: answer.statusCode,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: answer.body.challenge,
    };
  }
  return {
    statusCode: answer.statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(answer.body),
  };
}
