import type { WebhookRequest } from '../../shared/webhook.js';

export function jsonRequest(
  body: unknown,
  headers: Record<string, string> = {},
  routeName = 'default',
): WebhookRequest {
  return {
    source: 'form',
    routeName,
    headers: { 'content-type': 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  };
}

export function urlencodedRequest(
  body: string,
  headers: Record<string, string> = {},
  routeName = 'default',
): WebhookRequest {
  return {
    source: 'form',
    routeName,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    query: {},
    rawBody: Buffer.from(body),
  };
}
