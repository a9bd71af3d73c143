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
import { createHash } from 'node:crypto';
import type { Contact, SourceName } from './contact.js';
import { findRoute, retentionDays, type ResolvedRoute, type RoutesConfig } from './config/routes.js';
import { encodeDeliveryJob, JobTooLargeError, toDeliveryJob, type JobSubject } from './jobs.js';
import { isLeadReference, type LeadReference } from './leads.js';
import { logger as defaultLogger } from './logging.js';
import type { JobQueue } from './queue.js';
import { SecretNotFoundError, SecretUnusableError, sourceSecretName, type SecretStore } from './secrets.js';
import type { FormProtectionDependencies } from './sources/protection.js';
import type { OutcomeStore } from './store.js';
import * as z from './zod.js';
import { internalError, rejection, WebhookRejectedError, type WebhookAnswer, type WebhookRequest } from './webhook.js';

export type SourceReading =
  | {
      kind: 'contact';
      eventKey: string;
      contact: Contact;
      skipReason?: string;
      /** Other keys of the same event, marked as seen once it is queued (a Shopify order's key, for reconcile). */
      aliases?: string[];
      /**
       * `signedBodyKey` of the verified bytes, for senders whose event key comes from unsigned headers: the same
       * bytes under fresh ids are then a duplicate, not a new event.
       */
      bodyKey?: string;
    }
  | {
      /**
       * Leads named by reference (Meta Lead Ads), one event each, fetched at delivery. Several may come in one
       * webhook; each is accepted (or found a duplicate) on its own.
       */
      kind: 'leads';
      leads: Array<{ eventKey: string; lead: LeadReference }>;
    }
  | {
      kind: 'ignored';
      reason: string;
      /** Set for a submission that gave itself away as spam (a filled honeypot): answered as accepted under it. */
      decoyEventKey?: string;
    };

export interface ReadContext {
  now: Date;
  /** The route's signing secret (`route.secretName`, else `contact-relay/{stage}/source/{source}`), read on demand. */
  secret: () => Promise<SourceSecret>;
  /** What plain form routes' protection needs (sources/protection.ts); absent where nothing wires it. */
  protection?: FormProtectionDependencies;
}

export interface Source {
  name: SourceName;
  /** Status for a URL naming no route: 404, except where a sender disables hooks on 404. */
  unknownRouteStatus: 400 | 404;
  read(request: WebhookRequest, route: ResolvedRoute, context: ReadContext): SourceReading | Promise<SourceReading>;
  /**
   * A `GET` to the webhook URL: the sender checking the endpoint before it subscribes it (Meta's
   * `hub.challenge`). Sources without one are never routed a GET.
   */
  subscription?(request: WebhookRequest, route: ResolvedRoute, context: ReadContext): Promise<WebhookAnswer>;
}

/**
 * A source's secret: `secret` signs (HMAC) its webhooks; `token` is a shared
 * token for senders that cannot sign (Jotform, plain forms); `captchaSecret`
 * checks a form's captcha tokens with the vendor's siteverify API. Meta Lead
 * Ads routes hold the app's `appSecret` (it signs the webhooks), the
 * `verifyToken` of the subscription check and a `pageAccessTokens` map of
 * page id to the page token leads are read with.
 */
const Filled = z.string().check(z.minLength(1));
export const SourceSecretSchema = z
  .object({
    secret: z.optional(Filled),
    token: z.optional(Filled),
    captchaSecret: z.optional(Filled),
    appSecret: z.optional(Filled),
    verifyToken: z.optional(Filled),
    // Keys checked here rather than by the key schema, whose refusal would say only "Invalid key in record".
    pageAccessTokens: z.optional(
      z.record(z.string(), Filled).check(
        z.superRefine((tokens, ctx) => {
          for (const page of Object.keys(tokens).filter((key) => !/^\d+$/.test(key))) {
            ctx.issues.push({ code: 'custom', input: page, path: [page], message: 'must be a numeric page id' });
          }
        }),
      ),
    ),
  })
  .check(
    z.refine(
      (value) =>
        value.secret !== undefined ||
        value.token !== undefined ||
        value.captchaSecret !== undefined ||
        value.appSecret !== undefined,
      'needs "secret" (a signing secret), "token", "captchaSecret" or "appSecret"',
    ),
  );
export type SourceSecret = z.infer<typeof SourceSecretSchema>;

/** Reads a route's source secret through the shared cache. */
export function sourceSecretReader(
  secrets: SecretStore,
  stage: string,
): (route: ResolvedRoute) => Promise<SourceSecret> {
  return (route) => secrets.get(route.secretName ?? sourceSecretName(stage, route.source), SourceSecretSchema);
}

export type Acceptance = 'accepted' | 'duplicate';

/**
 * A key over the exact signed bytes. A sender's retry sends the same bytes (Shopify: "the original payload",
 * https://shopify.dev/changelog/updates-to-webhook-retry-mechanism), and no two events of one sender share them,
 * so it names the event whatever ids the unsigned headers carry. Only for bytes whose signature was checked.
 */
export function signedBodyKey(source: SourceName, rawBody: Buffer): string {
  return `${source}:body:sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
}

export interface IngestDependencies {
  routes: RoutesConfig;
  /** Record the event and queue its delivery job; `duplicate` when it was accepted before (under either key). */
  accept: (
    contact: Contact,
    route: ResolvedRoute,
    eventKey: string,
    aliases?: string[],
    bodyKey?: string,
  ) => Promise<Acceptance>;
  /** Record a lead named by reference (Meta Lead Ads) and queue its job; needed by sources that read leads. */
  acceptLead?: (lead: LeadReference, route: ResolvedRoute, eventKey: string) => Promise<Acceptance>;
  /** The route's source secret; a missing or malformed one is a 500 (our configuration, not the sender's fault). */
  sourceSecret?: (route: ResolvedRoute) => Promise<SourceSecret>;
  /** Plain form routes' protection (honeypot, captcha, origins, rate limits). */
  protection?: FormProtectionDependencies;
  logger?: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
}

export class NotAcceptedError extends Error {
  override name = 'NotAcceptedError';
}

/** What acceptEvent writes with: the table, the queue, and the person index's hashes of a contact. */
export interface AcceptDependencies {
  store: OutcomeStore;
  queue: JobQueue;
  now?: () => Date;
  /**
   * The keyed hashes of a contact's emails and phones (shared/person-key.ts), for the person index; absent, or
   * throwing (the lookup key missing), no index is written and the event is accepted all the same.
   */
  personHashes?: (contact: Contact) => Promise<string[]>;
  logger?: Pick<typeof defaultLogger, 'warn'>;
}

/**
 * Dedupe, then queue. Each key of the event is recorded first as `pending`
 * and becomes `queued` once the job is on the queue; if queueing fails they
 * are removed so the sender's retry is accepted, and a pending record left by
 * a crashed attempt goes stale and is taken over. A job queued twice under one
 * event key is harmless: delivery keeps one outcome per provider.
 *
 * The body key is claimed before the event key, so a replay under fresh ids
 * stops at one refused write, and marked queued before it, so no crash leaves
 * it free while the event key says queued. Aliases are written only once the
 * job is queued: an alias of an event that never reached the queue would hide
 * the order from reconcile for good.
 */
export async function acceptEvent(
  subject: JobSubject,
  route: ResolvedRoute,
  eventKey: string,
  deps: AcceptDependencies,
  aliases: string[] = [],
  bodyKey?: string,
): Promise<Acceptance> {
  const { store } = deps;
  const received = deps.now?.() ?? new Date();
  const job = toDeliveryJob(subject, route, eventKey, received);
  const retention = retentionDays(route);
  const details = (listed: boolean) => ({
    source: route.source,
    route: route.name,
    receivedAt: received.getTime(),
    retentionDays: retention,
    listed,
  });
  // A job the queue would refuse is refused before anything is recorded (JobTooLargeError).
  encodeDeliveryJob(job);
  const claimed: string[] = [];
  const release = () => Promise.all(claimed.map((key) => store.abandonIngest(key).catch(() => undefined)));
  // Completed one after another, body key first (see above).
  const complete = async () => {
    for (const key of claimed) await store.completeIngest(key);
  };
  // An alias seen before does not make this a duplicate: it only marks the event as seen under its other keys.
  const markAliases = () => Promise.all(aliases.map((alias) => store.markSeen(alias, retention)));
  for (const key of bodyKey === undefined ? [eventKey] : [bodyKey, eventKey]) {
    const begun = await store.beginIngest(key, details(key === eventKey));
    if (begun === 'new') {
      claimed.push(key);
      continue;
    }
    if (begun === 'queued') {
      // Queued before: the keys claimed here name the same event and stay taken. The aliases are written
      // again in case the attempt that queued it died before writing them.
      await complete();
      await markAliases();
      // The count is history only: a table that refuses it does not make the duplicate an error.
      await store.countDuplicate(eventKey).catch((error: unknown) => {
        const where = { source: route.source, route: route.name, eventKey };
        (deps.logger ?? defaultLogger).warn('duplicate not counted', { ...where, error: error as Error });
      });
      return 'duplicate';
    }
    // Another attempt is queueing this event right now and may still fail: only a queued
    // event is a duplicate, so this one is told to retry rather than that it was received.
    await release();
    throw new NotAcceptedError('an earlier delivery of this event is still being accepted; retry later');
  }
  try {
    await deps.queue.send(job);
  } catch (error) {
    await release();
    throw new NotAcceptedError(`the delivery job could not be queued: ${(error as Error).message}`, { cause: error });
  }
  await complete();
  await markAliases();
  // A lead named by reference is read at delivery: its contact is unknown here, so it gets no person index.
  if (!isLeadReference(subject)) await indexPerson(subject, eventKey, details(true), deps);
  return 'accepted';
}

/**
 * The person index of an accepted event, written once its job is queued: nothing here may fail the accept
 * (the event is safely queued, and a sender told to retry would get 'duplicate' and no index either), so a
 * missing lookup key or a failed write is a warning, and the event is found by its key alone.
 */
async function indexPerson(
  contact: Contact,
  eventKey: string,
  entry: { source: string; route: string; receivedAt: number; retentionDays: number },
  deps: AcceptDependencies,
): Promise<void> {
  if (deps.personHashes === undefined) return;
  const where = { source: entry.source, route: entry.route, eventKey };
  try {
    const hashes = await deps.personHashes(contact);
    if (hashes.length > 0) await deps.store.indexPerson(eventKey, hashes, entry);
  } catch (error) {
    (deps.logger ?? defaultLogger).warn('person index not written', { ...where, error: error as Error });
  }
}

export async function ingestWebhook(
  request: WebhookRequest,
  source: Source,
  deps: IngestDependencies,
): Promise<WebhookAnswer> {
  const log = deps.logger ?? defaultLogger;
  const route = findRoute(deps.routes, source.name, request.routeName);
  if (route === undefined) {
    return rejection(
      new WebhookRejectedError(
        source.unknownRouteStatus,
        'unknown_route',
        `no route "${request.routeName}" is configured for source "${source.name}"`,
      ),
    );
  }
  let reading: SourceReading;
  const secret = () => {
    if (deps.sourceSecret === undefined) throw new SecretNotFoundError(sourceSecretName('(none)', source.name));
    return deps.sourceSecret(route);
  };
  try {
    const protection = deps.protection === undefined ? {} : { protection: deps.protection };
    const context = { now: deps.now?.() ?? new Date(), secret, ...protection };
    if ((request.method ?? 'POST') === 'GET') {
      if (source.subscription === undefined) {
        return rejection(new WebhookRejectedError(405, 'method_not_allowed', `${source.name} webhooks are POSTed`));
      }
      return await source.subscription(request, route, context);
    }
    reading = await source.read(request, route, context);
  } catch (error) {
    if (error instanceof WebhookRejectedError) {
      log.warn('webhook rejected', { source: source.name, route: route.name, code: error.code, reason: error.message });
      return rejection(error);
    }
    if (error instanceof SecretUnusableError) {
      // Our configuration is wrong, not the request: a 5xx keeps the sender retrying until it is fixed. Only the
      // log names the secret; the caller gets the generic answer.
      const where = { source: source.name, route: route.name };
      log.error('source secret unusable', { ...where, code: 'source_secret_unavailable', error });
      return internalError();
    }
    throw error;
  }
  if (reading.kind === 'ignored' && reading.decoyEventKey !== undefined) {
    // Answered as an accepted submission would be, so a bot learns nothing from it; nothing is queued.
    log.info('webhook trapped', { source: source.name, route: route.name, reason: reading.reason });
    return { statusCode: 200, body: { status: 'accepted', eventKey: reading.decoyEventKey } };
  }
  if (reading.kind === 'ignored') {
    log.info('webhook ignored', { source: source.name, route: route.name, reason: reading.reason });
    return { statusCode: 200, body: { status: 'ignored', reason: reading.reason } };
  }
  if (reading.kind === 'leads') return acceptLeads(reading.leads, route, source, deps, log);
  const { eventKey, contact } = reading;
  if (reading.skipReason !== undefined) {
    log.info('webhook skipped', { source: source.name, route: route.name, eventKey, reason: reading.skipReason });
    return { statusCode: 200, body: { status: 'skipped', reason: reading.skipReason, eventKey } };
  }
  const { aliases, bodyKey } = reading;
  // The body key only where the source has one: the call is otherwise the one it always was.
  const accepted = await acceptOne(source, route, eventKey, log, () =>
    bodyKey === undefined
      ? deps.accept(contact, route, eventKey, aliases)
      : deps.accept(contact, route, eventKey, aliases, bodyKey),
  );
  if ('error' in accepted) return accepted.error;
  // Exactly 200, never 202: Webflow counts any other status as a failed delivery, retries it and then deactivates
  // the webhook (https://developers.webflow.com/data/reference/error-handling); every other sender takes 200 too.
  return { statusCode: 200, body: { status: accepted.acceptance, eventKey } };
}

/** One event accepted, logged; or the answer that tells the sender it was not. */
async function acceptOne(
  source: Source,
  route: ResolvedRoute,
  eventKey: string,
  log: NonNullable<IngestDependencies['logger']>,
  accept: () => Promise<Acceptance>,
): Promise<{ acceptance: Acceptance } | { error: WebhookAnswer }> {
  const where = { source: source.name, route: route.name, eventKey };
  try {
    const acceptance = await accept();
    log.info(acceptance === 'accepted' ? 'webhook accepted' : 'webhook duplicate', where);
    return { acceptance };
  } catch (error) {
    if (error instanceof JobTooLargeError) {
      // The same payload gives the same job: a retry cannot help, so no 5xx.
      log.warn('webhook rejected', { ...where, code: 'job_too_large', reason: error.message });
      return { error: rejection(new WebhookRejectedError(413, 'job_too_large', `${error.message}; send less text`)) };
    }
    // Not durably accepted: a 5xx makes the sender retry, which is what we want.
    log.error('webhook not accepted', { ...where, error: error as Error });
    const message = 'the event could not be stored; retry the webhook later';
    return { error: rejection(new WebhookRejectedError(503, 'not_accepted', message)) };
  }
}

/**
 * Each lead of a webhook is its own event, accepted one after another. One that cannot be stored makes the
 * whole webhook a 5xx: the sender sends all of it again, and the leads accepted before are then duplicates.
 */
async function acceptLeads(
  leads: Array<{ eventKey: string; lead: LeadReference }>,
  route: ResolvedRoute,
  source: Source,
  deps: IngestDependencies,
  log: NonNullable<IngestDependencies['logger']>,
): Promise<WebhookAnswer> {
  const events: Array<{ eventKey: string; status: Acceptance }> = [];
  for (const { eventKey, lead } of leads) {
    const accepted = await acceptOne(source, route, eventKey, log, () => {
      if (deps.acceptLead === undefined) throw new Error(`no lead acceptance is wired for ${source.name}`);
      return deps.acceptLead(lead, route, eventKey);
    });
    if ('error' in accepted) return accepted.error;
    events.push({ eventKey, status: accepted.acceptance });
  }
  const status = events.some((event) => event.status === 'accepted') ? 'accepted' : 'duplicate';
  return { statusCode: 200, body: { status, events } };
}
