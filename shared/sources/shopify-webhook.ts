/**
 * `POST /hooks/shopify/{route}`: Shopify's HTTPS webhooks. The order of the
 * checks is the point: the signature over the exact bytes first (nothing
 * unsigned is parsed), then the delivery headers and the shop allow-list,
 * then the topic (a topic we do not map is answered without parsing), and
 * only then the JSON. Mapping and dedupe are shared with the EventBridge
 * delivery (shopify.ts).
 */
import type { Source } from '../ingest.js';
import { requireHmac } from '../signatures.js';
import { checkBodySize, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { readJsonBody, signingSecret } from './fields.js';
import { isShopAllowed, isShopifyContactTopic, readShopifyDelivery, ignoredTopicReason, SHOPIFY_HEADERS, shopifyDeliveryFromHeaders } from './shopify.js';

/** Throws 401 unless `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body under `secret`. */
export function verifyShopifyHmac(request: WebhookRequest, secret: string): void {
  requireHmac({ given: request.headers[SHOPIFY_HEADERS.hmac.toLowerCase()], header: SHOPIFY_HEADERS.hmac, secret, signed: request.rawBody, encoding: 'base64' });
}

export const shopifySource: Source = {
  name: 'shopify',
  unknownRouteStatus: 404,
  async read(request, route, context) {
    checkBodySize(request);
    // An unsigned request is refused before the secret is fetched: it costs no Secrets Manager call.
    if (!request.headers[SHOPIFY_HEADERS.hmac.toLowerCase()]?.trim()) {
      throw new WebhookRejectedError(401, 'missing_signature', `the ${SHOPIFY_HEADERS.hmac} header is missing`);
    }
    verifyShopifyHmac(request, await signingSecret(context, route));
    const delivery = shopifyDeliveryFromHeaders(request.headers);
    if (!isShopAllowed(route, delivery.shopDomain)) {
      throw new WebhookRejectedError(401, 'shop_not_allowed', `shop "${delivery.shopDomain}" is not in this route's shopDomains`);
    }
    if (!isShopifyContactTopic(delivery.topic)) return { kind: 'ignored', reason: ignoredTopicReason(delivery.topic) };
    return readShopifyDelivery(delivery, readJsonBody(request, 'Shopify'), route, context.now);
  },
};
