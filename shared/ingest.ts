/**
 * The ingest use case, the same for every source: find the route, let the
 * source verify and read the request, record the event once and put one
 * delivery job on the queue, then answer the sender. Sources only know how
 * to read their payloads.
 *
 * Answers: 200 for everything the sender must count as delivered (accepted,
 * duplicate, ignored, skipped; the body's `status` tells them apart), 4xx for
 * a request we refuse, 5xx only when the event could not be stored, so the
 * sender retries. Each sender's rules, with their doc pages, are in
 * test/contracts/sources.md.
 */
import type { Contact, SourceName } from './contact.js';
import { findRoute, type ResolvedRoute, type RoutesConfig } from './config/routes.js';
import { encodeDeliveryJob, JobTooLargeError, toDeliveryJob } from './jobs.js';
import { logger as defaultLogger } from './logging.js';
import type { JobQueue } from './queue.js';
import { SecretFormatError, SecretNotFoundError, sourceSecretName, type SecretStore } from './secrets.js';
import type { OutcomeStore } from './store.js';
import * as z from './zod.js';
import { rejection, WebhookRejectedError, type WebhookAnswer, type WebhookRequest } from './webhook.js';

export type SourceReading =
  | {
      kind: 'contact';
      eventKey: string;
      contact: Contact;
      skipReason?: string;
      /** Other keys of the same event, marked as seen (e.g. a Shopify order's key, which reconcile uses). */
      aliases?: string[];
    }
  | { kind: 'ignored'; reason: string };

export interface ReadContext {
  now: Date;
  /** The route's signing secret (`route.secretName`, else `contact-relay/{stage}/source/{source}`), read on demand. */
  secret: () => Promise<SourceSecret>;
}

export interface Source {
  name: SourceName;
  /** Status for a URL naming no route: 404, except where a sender disables hooks on 404. */
  unknownRouteStatus: 400 | 404;
  read(request: WebhookRequest, route: ResolvedRoute, context: ReadContext): SourceReading | Promise<SourceReading>;
}

/**
 * A source's secret: `secret` signs (HMAC) its webhooks; `token` is a shared
 * token for senders that cannot sign (Jotform, plain forms).
 */
export const SourceSecretSchema = z
  .object({
    secret: z.optional(z.string().check(z.minLength(1))),
    token: z.optional(z.string().check(z.minLength(1))),
  })
  .check(z.refine((value) => value.secret !== undefined || value.token !== undefined, 'needs "secret" (a signing secret) or "token"'));
export type SourceSecret = z.infer<typeof SourceSecretSchema>;

/** Reads a route's source secret through the shared cache. */
export function sourceSecretReader(secrets: SecretStore, stage: string): (route: ResolvedRoute) => Promise<SourceSecret> {
  return (route) => secrets.get(route.secretName ?? sourceSecretName(stage, route.source), SourceSecretSchema);
}

export type Acceptance = 'accepted' | 'duplicate';

export interface IngestDependencies {
  routes: RoutesConfig;
  /** Record the event and queue its delivery job; `duplicate` when it was accepted before. */
  accept: (contact: Contact, route: ResolvedRoute, eventKey: string, aliases?: string[]) => Promise<Acceptance>;
  /** The route's source secret; a missing or malformed one is a 500 (our configuration, not the sender's fault). */
  sourceSecret?: (route: ResolvedRoute) => Promise<SourceSecret>;
  logger?: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
}

export class NotAcceptedError extends Error {
  override name = 'NotAcceptedError';
}

/**
 * Dedupe, then queue. The dedupe record is written first as `pending` and
 * becomes `queued` once the job is on the queue; if queueing fails it is
 * removed so the sender's retry is accepted, and a pending record left by a
 * crashed attempt goes stale and is taken over. A job queued twice is
 * harmless: delivery keeps one outcome per provider.
 */
export async function acceptEvent(
  contact: Contact,
  route: ResolvedRoute,
  eventKey: string,
  deps: { store: OutcomeStore; queue: JobQueue; now?: () => Date },
  aliases: string[] = [],
): Promise<Acceptance> {
  const job = toDeliveryJob(contact, route, eventKey, deps.now?.() ?? new Date());
  // A job the queue would refuse is refused before anything is recorded (JobTooLargeError).
  encodeDeliveryJob(job);
  const begun = await deps.store.beginIngest(eventKey);
  if (begun === 'queued') return 'duplicate';
  // Another attempt is queueing this event right now and may still fail: only a queued
  // event is a duplicate, so this one is told to retry rather than that it was received.
  if (begun === 'pending') throw new NotAcceptedError('an earlier delivery of this event is still being accepted; retry later');
  // Aliases only mark the event as seen under its other keys; an alias seen before does not make this a duplicate.
  await Promise.all(aliases.map((alias) => deps.store.markSeen(alias)));
  try {
    await deps.queue.send(job);
  } catch (error) {
    await deps.store.abandonIngest(eventKey).catch(() => undefined);
    throw new NotAcceptedError(`the delivery job could not be queued: ${(error as Error).message}`, { cause: error });
  }
  await deps.store.completeIngest(eventKey);
  return 'accepted';
}

export async function ingestWebhook(request: WebhookRequest, source: Source, deps: IngestDependencies): Promise<WebhookAnswer> {
  const log = deps.logger ?? defaultLogger;
  const route = findRoute(deps.routes, source.name, request.routeName);
  if (route === undefined) {
    return rejection(new WebhookRejectedError(source.unknownRouteStatus, 'unknown_route', `no route "${request.routeName}" is configured for source "${source.name}"`));
  }
  let reading: SourceReading;
  const secret = () => {
    if (deps.sourceSecret === undefined) throw new SecretNotFoundError(sourceSecretName('(none)', source.name));
    return deps.sourceSecret(route);
  };
  try {
    reading = await source.read(request, route, { now: deps.now?.() ?? new Date(), secret });
  } catch (error) {
    if (error instanceof WebhookRejectedError) {
      log.warn('webhook rejected', { source: source.name, route: route.name, code: error.code, reason: error.message });
      return rejection(error);
    }
    if (error instanceof SecretNotFoundError || error instanceof SecretFormatError) {
      // Our configuration is wrong, not the request: a 5xx keeps the sender retrying until it is fixed.
      log.error('source secret unusable', { source: source.name, route: route.name, error });
      return rejection(new WebhookRejectedError(500, 'source_secret_unavailable', `this route's signing secret is missing or malformed (${error.message})`));
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
  let acceptance: Acceptance;
  try {
    acceptance = await deps.accept(contact, route, eventKey, reading.aliases);
  } catch (error) {
    if (error instanceof JobTooLargeError) {
      // The same payload gives the same job: a retry cannot help, so no 5xx.
      const where = { source: source.name, route: route.name, eventKey };
      log.warn('webhook rejected', { ...where, code: 'job_too_large', reason: error.message });
      return rejection(new WebhookRejectedError(413, 'job_too_large', `${error.message}; send less text`));
    }
    // Not durably accepted: a 5xx makes the sender retry, which is what we want.
    log.error('webhook not accepted', { source: source.name, route: route.name, eventKey, error: error as Error });
    return rejection(new WebhookRejectedError(503, 'not_accepted', 'the event could not be stored; retry the webhook later'));
  }
  log.info(acceptance === 'accepted' ? 'webhook accepted' : 'webhook duplicate', { source: source.name, route: route.name, eventKey });
  // Exactly 200, never 202: Webflow counts any other status as a failed delivery, retries it and then deactivates
  // the webhook (https://developers.webflow.com/data/reference/error-handling); every other sender takes 200 too.
  return { statusCode: 200, body: { status: acceptance, eventKey } };
}
