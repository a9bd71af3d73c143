/**
 * A delivery job: what ingest puts on the queue and `deliver` takes off it.
 * The contact travels whole, so delivery never re-reads the webhook; the
 * route is named, not copied, so a job follows the current route config.
 * A sender that names a lead without its contents (Meta Lead Ads) gives a
 * job with the lead's reference instead, which delivery fetches.
 */
import { ContactSchema, fitContact, SourceNameSchema, type Contact } from './contact.js';
import type { ResolvedRoute } from './config/routes.js';
import { isLeadReference, LeadReferenceSchema, type LeadReference } from './leads.js';
import * as z from './zod.js';
import { describeIssues } from './validation.js';

/**
 * What a job deferred for its accounts' rates carries back onto the queue: SQS counts receives per message,
 * and a deferred job is a new message, so its real attempts travel with it.
 */
const DeferralSchema = z.strictObject({
  /** Receives of this job that failed for real (not deferrals). */
  attempts: z.number().check(z.int(), z.nonnegative()),
  /** Provider 429s this job was deferred for: past a limit they count as attempts. */
  throttles: z.number().check(z.int(), z.nonnegative()),
  /** Accounts whose outcome an earlier receive made final: never called, nor charged a token, again. */
  done: z.array(z.string()),
  /** The time (epoch ms) each account's booked token may be used. */
  booked: z.record(z.string(), z.number()),
  /** Accounts that failed for real while others waited for their token: not tried again before this time. */
  retryAt: z.optional(z.record(z.string(), z.number())),
});
export type Deferral = z.infer<typeof DeferralSchema>;

const JobBase = {
  v: z.literal(1),
  eventKey: z.string().check(z.minLength(1)),
  source: SourceNameSchema,
  route: z.string().check(z.minLength(1)),
  acceptedAt: z.string(),
  deferral: z.optional(DeferralSchema),
};

const ContactJobSchema = z.object({ ...JobBase, contact: ContactSchema });
const LeadJobSchema = z.object({ ...JobBase, lead: LeadReferenceSchema });
const DeliveryJobSchema = z.union([ContactJobSchema, LeadJobSchema]);
export type ContactJob = z.infer<typeof ContactJobSchema>;
type LeadJob = z.infer<typeof LeadJobSchema>;
export type DeliveryJob = ContactJob | LeadJob;

export class InvalidJobError extends Error {
  override name = 'InvalidJobError';
}

/**
 * The largest job we queue, in UTF-8 bytes. SQS takes up to 1 MiB
 * (1,048,576 bytes) per message and a queue's `MaximumMessageSize` defaults
 * to that (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html);
 * 256 KiB was the limit and the default until 2025, so a job this size fits
 * any queue, and a batch of ten fits the 6 MB a Lambda invocation may carry
 * (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html).
 * A fitted contact (`fitContact`) is a few KB; only text the sender made
 * enormous (a 200 KB name) comes near it.
 */
export const MAX_JOB_BYTES = 256 * 1024;

/** A job too large to queue: retrying cannot help, so the sender is told (413), never asked to retry. */
export class JobTooLargeError extends Error {
  override name = 'JobTooLargeError';
  constructor(readonly bytes: number) {
    super(`the contact is ${bytes} bytes once mapped; the most a delivery job may carry is ${MAX_JOB_BYTES}`);
  }
}

/** What a job delivers: a contact, or a reference to a lead that delivery fetches. */
export type JobSubject = Contact | LeadReference;

export function toDeliveryJob(subject: Contact, route: ResolvedRoute, eventKey: string, now: Date): ContactJob;
export function toDeliveryJob(subject: JobSubject, route: ResolvedRoute, eventKey: string, now: Date): DeliveryJob;
export function toDeliveryJob(subject: JobSubject, route: ResolvedRoute, eventKey: string, now: Date): DeliveryJob {
  const base = { v: 1 as const, eventKey, source: route.source, route: route.name, acceptedAt: now.toISOString() };
  return isLeadReference(subject) ? { ...base, lead: subject } : { ...base, contact: fitContact(subject) };
}

/** Characters SQS refuses in a message body, read per code point; every one of them is in the BMP. */
const SQS_REFUSED = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * The job as an SQS message body. The contact's text is already clean
 * (`fitContact`), but the event key is the sender's, kept exactly, and may
 * hold a character SQS refuses (#x9 | #xA | #xD | #x20–#xD7FF |
 * #xE000–#xFFFD | #x10000–#x10FFFF are allowed:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 * JSON.stringify already escapes control characters and lone surrogates;
 * U+FFFE and U+FFFF it writes as they are, so every refused character left is
 * written as a JSON `\uXXXX` escape, which JSON.parse turns back into the
 * same character. Throws JobTooLargeError over MAX_JOB_BYTES.
 */
export function encodeDeliveryJob(job: DeliveryJob): string {
  const escapeCharacter = (character: string) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
  const body = JSON.stringify(job).replace(SQS_REFUSED, escapeCharacter);
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_JOB_BYTES) throw new JobTooLargeError(bytes);
  return body;
}

export function parseDeliveryJob(body: string): DeliveryJob {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new InvalidJobError('delivery job is not JSON');
  }
  const parsed = DeliveryJobSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidJobError(`delivery job is malformed: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
