/**
 * `POST /hooks/shopify/{route}`: Shopify's HTTPS webhooks. The order of the
 * checks is the point: the signature over the exact bytes first (nothing
 * unsigned is parsed), then the delivery headers and the shop allow-list,
 * then the topic (a topic we do not map is answered without parsing), the
 * delivery's age, and only then the JSON. Mapping and dedupe are shared with
 * the EventBridge delivery (deliveries.ts, events.ts).
 *
 * Shopify signs the body only: the event and webhook ids, the shop and the
 * trigger time are headers anyone holding a signed body can rewrite. So the
 * event is also keyed by a hash of the signed bytes (a replay under fresh ids
 * is a duplicate), and a delivery whose `X-Shopify-Triggered-At` is older
 * than the route's `maxDeliveryAgeHours` is refused.
 */
import { signedBodyKey, type Source } from '../ingest.js';
import type { ResolvedRoute } from '../config/routes.js';
import { requireHmac } from '../signatures.js';
import { checkBodySize, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { readJsonBody, signingSecret } from '../sources/fields.js';
import {
  ignoredTopicReason,
  isShopAllowed,
  isShopifyContactTopic,
  readShopifyDelivery,
  SHOPIFY_HEADERS,
  shopifyDeliveryFromHeaders,
  type ShopifyDelivery,
} from './deliveries.js';

/**
 * Shopify retries a failed delivery 8 times over 4 hours, and a retry carries the time it was first triggered
 * (https://shopify.dev/changelog/updates-to-webhook-retry-mechanism); in rare cases a webhook arrives up to a
 * day late (https://shopify.dev/docs/apps/build/webhooks/best-practices). 48 hours leaves room for both.
 */
const DEFAULT_MAX_DELIVERY_AGE_HOURS = 48;

/** Throws 401 unless `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body under `secret`. */
function verifyShopifyHmac(request: WebhookRequest, secret: string): void {
  requireHmac({
    given: request.headers[SHOPIFY_HEADERS.hmac.toLowerCase()],
    header: SHOPIFY_HEADERS.hmac,
    secret,
    signed: request.rawBody,
    encoding: 'base64',
  });
}

/**
 * Throws 401 `stale_delivery` when `X-Shopify-Triggered-At` is older than the route allows, which Shopify names as
 * the way to tell a stale payload. Any non-2xx answer makes Shopify retry (it counts only 200-range answers as
 * delivered, https://shopify.dev/docs/apps/build/webhooks/subscribe/https), and no status stops it; a refused order
 * is still delivered by `reconcile` on a route that has it, which reads orders whether or not their webhook came.
 * The header is not signed: this stops a replay that keeps Shopify's headers, and the body key one that does not.
 */
function requireFreshDelivery(
  delivery: Pick<ShopifyDelivery, 'triggeredAt'>,
  route: Pick<ResolvedRoute, 'maxDeliveryAgeHours'>,
  now: Date,
): void {
  if (delivery.triggeredAt === undefined) return;
  const triggered = Date.parse(delivery.triggeredAt);
  if (Number.isNaN(triggered)) {
    throw new WebhookRejectedError(400, 'invalid_header', `the ${SHOPIFY_HEADERS.triggeredAt} header is not a time`);
  }
  const maxHours = route.maxDeliveryAgeHours ?? DEFAULT_MAX_DELIVERY_AGE_HOURS;
  const ageHours = (now.getTime() - triggered) / 3_600_000;
  if (ageHours > maxHours) {
    const age = ageHours < 48 ? `${Math.floor(ageHours)} hours` : `${Math.floor(ageHours / 24)} days`;
    const limit = `this route takes deliveries up to ${maxHours} hours old (maxDeliveryAgeHours)`;
    const message = `this delivery was triggered ${age} ago (${SHOPIFY_HEADERS.triggeredAt}); ${limit}`;
    throw new WebhookRejectedError(401, 'stale_delivery', message);
  }
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
      throw new WebhookRejectedError(
        401,
        'shop_not_allowed',
        `shop "${delivery.shopDomain}" is not in this route's shopDomains`,
      );
    }
    if (!isShopifyContactTopic(delivery.topic)) return { kind: 'ignored', reason: ignoredTopicReason(delivery.topic) };
    requireFreshDelivery(delivery, route, context.now);
    const reading = readShopifyDelivery(delivery, readJsonBody(request, 'Shopify'), route, context.now);
    return reading.kind === 'contact' ? { ...reading, bodyKey: signedBodyKey('shopify', request.rawBody) } : reading;
  },
};
