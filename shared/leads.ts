/**
 * A lead its sender names without its contents: Meta's Lead Ads webhook says
 * only that lead `leadgen_id` was submitted on page `page_id`; the person's
 * answers are read from the Graph API with the page's token. Ingest queues
 * the reference, so the sender gets its 200 at once, and delivery fetches the
 * lead, with the queue's retries, dead-letter queue and redrive behind it.
 */
import type { MappedContact } from './sources/form.js';
import type { ResolvedRoute } from './config/routes.js';
import * as z from './zod.js';

const Id = z.string().check(z.regex(/^\d{1,32}$/, 'must be a numeric id'));

export const MetaLeadReferenceSchema = z.object({
  kind: z.literal('meta-lead'),
  leadgenId: Id,
  pageId: Id,
  formId: z.optional(Id),
  adId: z.optional(Id),
  adgroupId: z.optional(Id),
  /** When Meta says the lead was created, ISO 8601. */
  createdAt: z.optional(z.string()),
});
export type MetaLeadReference = z.infer<typeof MetaLeadReferenceSchema>;

/** Every kind of reference a job may carry instead of a contact (one so far). */
export const LeadReferenceSchema = MetaLeadReferenceSchema;
export type LeadReference = MetaLeadReference;

export function isLeadReference(subject: object): subject is LeadReference {
  return 'kind' in subject && subject.kind === 'meta-lead';
}

/**
 * The lead could not be read and never will be as things stand (a refused or
 * expired token, a lead that is gone): every account of the job records a
 * failed outcome under `code`, with a message naming the fix.
 */
export class LeadUnavailableError extends Error {
  override name = 'LeadUnavailableError';
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/**
 * The lead could not be read now (a rate limit, Graph down, a timeout): the
 * accounts stay transient and the queue brings the job back.
 */
export class LeadFetchTransientError extends Error {
  override name = 'LeadFetchTransientError';
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/**
 * Reads a referenced lead into a contact of `route` (with a skip reason when
 * it has no email or phone). Throws LeadUnavailableError or
 * LeadFetchTransientError; a missing or malformed secret surfaces as the
 * secret errors, which delivery treats as transient.
 */
export type LeadFetcher = (lead: LeadReference, route: ResolvedRoute, eventKey: string) => Promise<MappedContact>;
