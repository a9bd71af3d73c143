/**
 * Shopify webhooks delivered through Amazon EventBridge: the same reading,
 * mapping and dedupe as the HTTPS webhooks (webhook.ts, deliveries.ts), without
 * the signature. EventBridge invokes the function asynchronously and
 * retries it when it throws, then hands the event to the dead-letter queue;
 * so an event that could not be accepted (table or queue down) or is not a
 * Shopify delivery throws, and one that is fine but carries no contact, or
 * one too large to queue, is logged and returns.
 *
 * All events of the bus go to one route, named by `SHOPIFY_EVENTS_ROUTE`.
 *
 * Unlike the HTTPS webhooks, no body key and no age check: the bus is not a
 * public URL, so no one outside the AWS account can replay an event onto it;
 * the copy and its HTTPS twin share `X-Shopify-Event-Id`, so whichever comes
 * second is a duplicate.
 */
import { EnvConfigError, type Env } from '../config/env.js';
import { findRoute, type ResolvedRoute, type RoutesConfig } from '../config/routes.js';
import { fromShopifyEventBridgeEvent, MalformedEventError } from '../adapters/eventbridge.js';
import type { IngestDependencies, SourceReading } from '../ingest.js';
import { JobTooLargeError } from '../jobs.js';
import { logger as defaultLogger } from '../logging.js';
import { isShopAllowed, readShopifyDelivery } from './deliveries.js';
import { WebhookRejectedError } from '../webhook.js';

/**
 * The Shopify route EventBridge events are delivered under, from
 * `SHOPIFY_EVENTS_ROUTE` (validated with the rest of the environment; default
 * `default`); checked at cold start, so a route that does not exist stops the
 * function with the variable named instead of failing every event.
 */
export function shopifyEventsRoute(routes: RoutesConfig, env: Pick<Env, 'SHOPIFY_EVENTS_ROUTE'>): ResolvedRoute {
  const name = env.SHOPIFY_EVENTS_ROUTE ?? 'default';
  const route = findRoute(routes, 'shopify', name);
  if (route === undefined) {
    const defined = Object.keys(routes.sources.shopify ?? {});
    const list = defined.length > 0 ? defined.join(', ') : 'none';
    const problem = `names route "${name}", which config/routes.json does not define under sources.shopify (defined: ${list})`;
    throw new EnvConfigError(`invalid environment: SHOPIFY_EVENTS_ROUTE ${problem}`);
  }
  return route;
}

export type ShopifyEventOutcome =
  | { status: 'accepted' | 'duplicate'; eventKey: string }
  | { status: 'skipped'; reason: string; eventKey: string }
  | { status: 'ignored'; reason: string };

interface ShopifyEventDependencies {
  route: ResolvedRoute;
  accept: IngestDependencies['accept'];
  logger?: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
}

/** Accept one EventBridge event; throws when EventBridge should retry it (or dead-letter it). */
export async function ingestShopifyEvent(event: unknown, deps: ShopifyEventDependencies): Promise<ShopifyEventOutcome> {
  const log = deps.logger ?? defaultLogger;
  const { route } = deps;
  let reading: SourceReading;
  let where: Record<string, string>;
  try {
    const { delivery, payload, eventBridgeId } = fromShopifyEventBridgeEvent(event);
    where = {
      source: 'shopify',
      transport: 'eventbridge',
      route: route.name,
      topic: delivery.topic,
      shop: delivery.shopDomain,
      ...(eventBridgeId !== undefined ? { eventBridgeId } : {}),
    };
    if (!isShopAllowed(route, delivery.shopDomain)) {
      // The bus is trusted, so this is the route's choice rather than an attack: nothing to retry.
      const reason = `shop "${delivery.shopDomain}" is not in this route's shopDomains`;
      log.warn('shopify event ignored', { ...where, reason });
      return { status: 'ignored', reason };
    }
    reading = readShopifyDelivery(delivery, payload, route, deps.now?.() ?? new Date());
  } catch (error) {
    if (error instanceof MalformedEventError || error instanceof WebhookRejectedError) {
      log.error('shopify event malformed', {
        source: 'shopify',
        transport: 'eventbridge',
        route: route.name,
        reason: error.message,
      });
      throw error instanceof MalformedEventError ? error : new MalformedEventError(error.message, { cause: error });
    }
    throw error;
  }
  if (reading.kind !== 'contact') {
    const reason = reading.kind === 'ignored' ? reading.reason : 'a Shopify event names no leads';
    log.info('shopify event ignored', { ...where, reason });
    return { status: 'ignored', reason };
  }
  const { eventKey, contact } = reading;
  if (reading.skipReason !== undefined) {
    log.info('shopify event skipped', { ...where, eventKey, reason: reading.skipReason });
    return { status: 'skipped', reason: reading.skipReason, eventKey };
  }
  try {
    const acceptance = await deps.accept(contact, route, eventKey, reading.aliases);
    log.info(acceptance === 'accepted' ? 'shopify event accepted' : 'shopify event duplicate', { ...where, eventKey });
    return { status: acceptance, eventKey };
  } catch (error) {
    if (error instanceof JobTooLargeError) {
      // Every retry would build the same job: recorded as a skip, not thrown for EventBridge to retry.
      log.warn('shopify event skipped', { ...where, eventKey, reason: error.message });
      return { status: 'skipped', reason: error.message, eventKey };
    }
    // Not durably accepted: throwing makes EventBridge retry, which is what we want.
    log.error('shopify event not accepted', { ...where, eventKey, error: error as Error });
    throw error;
  }
}
