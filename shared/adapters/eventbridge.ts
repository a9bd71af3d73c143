/**
 * The Amazon EventBridge edge for Shopify's partner event source: event in,
 * the delivery (topic, shop, webhook and event ids) and the payload out.
 * Shopify puts the webhook's headers in `detail.metadata` and its body in
 * `detail.payload`:
 *
 *   { "detail-type": "shopifyWebhook", "source": "aws.partner/shopify.com/{app}/{name}",
 *     "detail": { "payload": {...},
 *                 "metadata": { "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "...",
 *                               "X-Shopify-Webhook-Id": "...", "X-Shopify-Event-Id": "...", ... } } }
 *
 * No signature is checked: only Shopify can put events on its partner event
 * source, so the bus is the trust boundary. No AWS types leak past here.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';
import { WebhookRejectedError } from '../webhook.js';
import { shopifyDeliveryFromHeaders, type ShopifyDelivery } from '../shopify/deliveries.js';

/** An event that is not a Shopify delivery; retrying it would not help, so it ends in the dead-letter queue. */
export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

interface ShopifyEventBridgeDelivery {
  delivery: ShopifyDelivery;
  /** The webhook body, as the Lambda runtime parsed it: numeric ids are already rounded, so only string ids are read. */
  payload: Record<string, unknown>;
  /** EventBridge's own id of the event, for logs. */
  eventBridgeId?: string;
}

export type ShopifyEventBridgeEvent = EventBridgeEvent<string, { payload: unknown; metadata: Record<string, unknown> }>;

const EnvelopeSchema = z.object({
  id: z.optional(z.string()),
  detail: z.object({
    payload: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
  }),
});

/**
 * Metadata keys as lower-cased header names. Shopify's newer event
 * deliveries drop the `X-` (`shopify-topic`); both spellings are read the
 * same, so such an event is read (and its topic ignored) rather than
 * rejected. Values that are not strings are not headers and are dropped.
 */
export function metadataAsHeaders(metadata: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') continue;
    const name = key.trim().toLowerCase();
    headers[name.startsWith('shopify-') ? `x-${name}` : name] = value;
  }
  return headers;
}

/** Read a Shopify EventBridge event; throws MalformedEventError naming what is missing. */
export function fromShopifyEventBridgeEvent(event: unknown): ShopifyEventBridgeDelivery {
  const parsed = EnvelopeSchema.safeParse(event);
  if (!parsed.success)
    throw new MalformedEventError(`not a Shopify EventBridge event: ${describeIssues(parsed.error)}`);
  let delivery: ShopifyDelivery;
  try {
    delivery = shopifyDeliveryFromHeaders(metadataAsHeaders(parsed.data.detail.metadata));
  } catch (error) {
    if (error instanceof WebhookRejectedError)
      throw new MalformedEventError(`not a Shopify EventBridge event: detail.metadata: ${error.message}`);
    throw error;
  }
  return {
    delivery,
    payload: parsed.data.detail.payload,
    ...(parsed.data.id !== undefined ? { eventBridgeId: parsed.data.id } : {}),
  };
}
