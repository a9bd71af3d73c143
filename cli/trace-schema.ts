/**
 * The documents `trace --json` and `events --json` print, as zod schemas: the contract scripts rely on.
 * Times are ISO 8601 in UTC with milliseconds (`2025-01-02T10:00:00.123Z`). A field a record does not
 * hold is left out, never null.
 */
import * as z from '../shared/zod.js';

const time = z.iso.datetime();
const count = z.number().check(z.int(), z.nonnegative());

/** An account's outcome details, as its latest history entry gives them. */
const OutcomeDetails = {
  /** Which receive of the job (SQS's ApproximateReceiveCount) made the attempt. */
  receiveCount: z.optional(count),
  httpStatus: z.optional(z.number().check(z.int())),
  /** The provider's error code (failed). */
  code: z.optional(z.string()),
  /** Why the contact was not sent to this provider (skipped). */
  reason: z.optional(z.string()),
  /** The provider's id of the contact (created, exists). */
  providerContactId: z.optional(z.string()),
  /** The provider's message (failed, transient), at most 300 characters, emails and phones masked. */
  message: z.optional(z.string()),
  /** When delivery tries the account again (transient, when known). */
  nextTryAt: z.optional(time),
};

export const TimelineEntrySchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('received'),
    at: time,
    source: z.optional(z.string()),
    route: z.optional(z.string()),
    /** What the webhook was answered: accepted (or pending while it was being queued). */
    answer: z.string(),
  }),
  /** Later webhooks with the same key, answered duplicate: how many, and the last one's time. */
  z.strictObject({ kind: z.literal('duplicates'), at: time, count }),
  z.strictObject({ kind: z.literal('queued'), at: time }),
  /** One recorded outcome of one provider account. */
  z.strictObject({
    kind: z.literal('attempt'),
    at: time,
    account: z.string(),
    provider: z.optional(z.string()),
    status: z.string(),
    ...OutcomeDetails,
  }),
  z.strictObject({ kind: z.literal('dead-lettered'), at: time }),
  /** Inferred: the first attempt after a dead-letter time is the job back from the dead-letter queue. */
  z.strictObject({ kind: z.literal('redriven'), at: time }),
]);

export const AccountStateSchema = z.strictObject({
  account: z.string(),
  provider: z.optional(z.string()),
  /** created, exists, skipped, failed, transient; in_progress while a delivery runs. */
  status: z.string(),
  attempts: count,
  ...OutcomeDetails,
});

export const EventTimelineSchema = z.strictObject({
  eventKey: z.string(),
  source: z.optional(z.string()),
  route: z.optional(z.string()),
  receivedAt: z.optional(time),
  /** The event's job is in the dead-letter queue now (dead-lettered, no attempt since). */
  parked: z.boolean(),
  accounts: z.array(AccountStateSchema),
  timeline: z.array(TimelineEntrySchema),
});

/** `trace --json`. */
export const TraceDocumentSchema = z.strictObject({
  stage: z.string(),
  /** What was looked up: an event key as given, or an email or phone, masked. */
  query: z.strictObject({ kind: z.enum(['event', 'email', 'phone']), value: z.string() }),
  events: z.array(EventTimelineSchema),
});
export type TraceDocument = z.infer<typeof TraceDocumentSchema>;

/** `events --json`. */
export const EventsDocumentSchema = z.strictObject({
  stage: z.string(),
  since: time,
  until: time,
  filters: z.strictObject({
    source: z.optional(z.string()),
    route: z.optional(z.string()),
    status: z.optional(z.string()),
  }),
  events: z.array(
    z.strictObject({
      eventKey: z.string(),
      source: z.optional(z.string()),
      route: z.optional(z.string()),
      receivedAt: z.optional(time),
      parked: z.boolean(),
      accounts: z.array(z.strictObject({ account: z.string(), provider: z.optional(z.string()), status: z.string() })),
    }),
  ),
  counts: z.strictObject({
    events: count,
    deadLettered: count,
    /** status → provider → accounts with that status now. */
    byStatus: z.record(z.string(), z.record(z.string(), count)),
  }),
});
export type EventsDocument = z.infer<typeof EventsDocumentSchema>;
