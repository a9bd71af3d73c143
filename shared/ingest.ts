/**
 * The ingest use case, the same for every source: find the route, let the
 * source verify and read the request, then hand the Contact to delivery and
 * answer the sender (DESIGN §9). Sources only know how to read their payloads.
 */
import type { Contact, SourceName } from './contact.js';
import { findRoute, type ResolvedRoute, type RoutesConfig } from './config/routes.js';
import type { Outcome } from './delivery.js';
import { logger as defaultLogger } from './logging.js';
import { rejection, WebhookRejectedError, type WebhookAnswer, type WebhookRequest } from './webhook.js';

export type SourceReading =
  | { kind: 'contact'; eventKey: string; contact: Contact; skipReason?: string }
  | { kind: 'ignored'; reason: string };

export interface Source {
  name: SourceName;
  /** Status for a URL naming no route: 404, except where a sender disables hooks on 404. */
  unknownRouteStatus: 400 | 404;
  read(request: WebhookRequest, route: ResolvedRoute, now: Date): SourceReading | Promise<SourceReading>;
}

export interface IngestDependencies {
  routes: RoutesConfig;
  deliver: (contact: Contact, route: ResolvedRoute) => Promise<Outcome[]>;
  logger?: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
}

export async function ingestWebhook(request: WebhookRequest, source: Source, deps: IngestDependencies): Promise<WebhookAnswer> {
  const log = deps.logger ?? defaultLogger;
  const route = findRoute(deps.routes, source.name, request.routeName);
  if (route === undefined) {
    return rejection(new WebhookRejectedError(source.unknownRouteStatus, 'unknown_route', `no route "${request.routeName}" is configured for source "${source.name}"`));
  }
  let reading: SourceReading;
  try {
    reading = await source.read(request, route, deps.now?.() ?? new Date());
  } catch (error) {
    if (error instanceof WebhookRejectedError) {
      log.warn('webhook rejected', { source: source.name, route: route.name, code: error.code, reason: error.message });
      return rejection(error);
    }
    throw error;
  }
  if (reading.kind === 'ignored') {
    log.info('webhook ignored', { source: source.name, route: route.name, reason: reading.reason });
    return { statusCode: 200, body: { status: 'ignored', reason: reading.reason } };
  }
  const { eventKey, contact } = reading;
  if (reading.skipReason !== undefined) {
    log.info('webhook skipped', { source: source.name, route: route.name, eventKey, reason: reading.skipReason });
    return { statusCode: 200, body: { status: 'skipped', reason: reading.skipReason, eventKey } };
  }
  const outcomes = await deps.deliver(contact, route);
  for (const outcome of outcomes) log.info('delivery outcome', { source: source.name, route: route.name, eventKey, ...outcome });
  if (outcomes.some((outcome) => outcome.status === 'transient')) {
    // Delivery is inline until the queue lands: a retryable failure asks the sender to retry.
    return rejection(new WebhookRejectedError(503, 'delivery_pending', 'a provider could not be reached; retry the webhook later'));
  }
  return { statusCode: 202, body: { status: 'accepted', eventKey, outcomes } };
}
