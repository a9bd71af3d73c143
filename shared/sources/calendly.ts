/**
 * Calendly: `POST /hooks/calendly/{route}`.
 *
 * Calendly signs each webhook with the subscription's signing key:
 * `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">`
 * (https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures,
 * https://developer.calendly.com/docs/webhooks/overview). Calendly's own
 * example refuses a signature whose timestamp is more than 3 minutes old, so
 * a captured request cannot be replayed; the route may widen or narrow that
 * window (`calendly.toleranceSeconds`). The signature is checked before the
 * timestamp's age, so an unsigned request learns nothing about our clock.
 *
 * Only `invitee.created` (someone booked) carries a new contact; every other
 * event Calendly sends (`invitee.canceled`, `invitee_no_show.created`,
 * `routing_form_submission.created`, ...; the list is on
 * https://developer.calendly.com/api-docs/calendly-api/webhooks/get-sample-webhook-data)
 * is answered `ignored`. The envelope is `{event, created_at, created_by,
 * payload}` with the invitee as `payload`: its names, email, SMS reminder
 * number, the booking form's `questions_and_answers`, the UTM `tracking` and
 * the `scheduled_event` (https://developer.calendly.com/api-docs/overview/examples/webhooks
 * reads `payload.scheduled_event.event_type`).
 *
 * The event key is the invitee's URI. A reschedule sends `invitee.canceled`
 * for the old invitee and `invitee.created` for a new invitee with its own
 * URI (https://developer.calendly.com/docs/api-guides/see-how-webhook-payloads-change-when-invitees-reschedule-events):
 * the cancel is ignored and the new booking is a new event here, delivered
 * again with its new start time.
 */
import type { ResolvedRoute } from '../config/routes.js';
import type { Source } from '../ingest.js';
import { constantTimeEqual, decodeSignature, hmacSha256 } from '../signatures.js';
import * as z from '../zod.js';
import { checkBodySize, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { checkBody, firstTimestamp, mapTypedFields, readJsonBody, signingSecret, type TypedField } from './fields.js';
import type { MappedContact } from './form.js';
import { contactReading, isoTime, trimmed } from './mapping.js';

/** The window Calendly's signature example allows, in seconds; a route's `calendly.toleranceSeconds` replaces it. */
export const CALENDLY_DEFAULT_TOLERANCE_SECONDS = 180;

const SIGNATURE_HEADER = 'Calendly-Webhook-Signature';
const HEADER_SHAPE = 't=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">';

// ---------------------------------------------------------------------------
// Signature

interface CalendlySignatureHeader {
  /** `t` as sent: the signed string starts with exactly these digits. */
  timestamp: string;
  /** Every `v1` value; one matching is enough. */
  signatures: string[];
}

function malformed(problem: string): WebhookRejectedError {
  return new WebhookRejectedError(
    401,
    'invalid_signature',
    `the ${SIGNATURE_HEADER} header is not ${HEADER_SHAPE}: ${problem}`,
  );
}

/**
 * The header's `t` and `v1` values. Pairs are split at commas and at their first `=`, spaces around either
 * ignored, in any order. Assumption: Calendly documents one `v1`; should several come (as Stripe sends during a
 * key rotation), any of them may match. Other keys (a future `v2`) are skipped. 401 `invalid_signature` naming
 * the problem when there is no single `t` of digits or no `v1`.
 */
export function parseCalendlySignature(header: string): CalendlySignatureHeader {
  const timestamps: string[] = [];
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    if (part.trim() === '') continue;
    const equals = part.indexOf('=');
    // The part itself is not quoted back: the header is whatever the caller sent, and errors are logged.
    if (equals < 0) throw malformed('a comma-separated part is not key=value');
    const key = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    if (key === 't') timestamps.push(value);
    else if (key === 'v1') signatures.push(value);
  }
  if (timestamps.length === 0) throw malformed('it has no t=');
  if (timestamps.length > 1) throw malformed('it has more than one t=');
  const [timestamp] = timestamps as [string];
  if (!/^\d{1,16}$/.test(timestamp)) throw malformed('t= is not a Unix time in seconds');
  if (signatures.length === 0) throw malformed('it has no v1=');
  return { timestamp, signatures };
}

/** How far a signature's timestamp may be from our clock, either way, in seconds. */
function calendlyTolerance(route: Pick<ResolvedRoute, 'calendly'>): number {
  return route.calendly?.toleranceSeconds ?? CALENDLY_DEFAULT_TOLERANCE_SECONDS;
}

/**
 * Throws 401 unless the request carries a Calendly signature of its raw body under `secret`, made within
 * `toleranceSeconds` of `now`: `missing_signature` without the header, `invalid_signature` for a malformed
 * header or a signature that does not match, `stale_signature` for a matching one signed too long ago, or
 * too far ahead of our clock (a replay, or a clock far off).
 */
function requireCalendlySignature(request: WebhookRequest, secret: string, now: Date, toleranceSeconds: number): void {
  const header = request.headers['calendly-webhook-signature'];
  if (header === undefined || header.trim() === '') {
    throw new WebhookRejectedError(401, 'missing_signature', `the ${SIGNATURE_HEADER} header is missing`);
  }
  const { timestamp, signatures } = parseCalendlySignature(header);
  // The exact bytes: the timestamp as sent, a period, the raw body.
  const expected = hmacSha256(secret, Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), request.rawBody]));
  const matches = signatures.some((given) => {
    const digest = decodeSignature(given, 'hex');
    return digest !== undefined && constantTimeEqual(digest, expected);
  });
  if (!matches) {
    const what = `the HMAC-SHA256 of "{t}.{body}" under this route's signing key`;
    throw new WebhookRejectedError(401, 'invalid_signature', `the ${SIGNATURE_HEADER} header's v1 is not ${what}`);
  }

  const age = now.getTime() / 1000 - Number(timestamp);
  const limit = `at most ${toleranceSeconds} s is accepted`;
  if (age > toleranceSeconds) {
    const message = `the ${SIGNATURE_HEADER} was made ${Math.round(age)} s ago; ${limit}`;
    throw new WebhookRejectedError(401, 'stale_signature', message);
  }
  if (-age > toleranceSeconds) {
    const message = `the ${SIGNATURE_HEADER} is dated ${Math.round(-age)} s ahead of our clock; ${limit}`;
    throw new WebhookRejectedError(401, 'stale_signature', message);
  }
}

// ---------------------------------------------------------------------------
// Payload

/** Calendly adds fields over time: every schema keeps only what is read and tolerates the rest. */
const text = z.nullish(z.string());

const CalendlyEnvelopeSchema = z.object({ event: z.string() });

const QuestionAndAnswerSchema = z.object({
  question: z.string(),
  answer: text,
  position: z.nullish(z.number()),
});

/** The UTM and Salesforce parameters the booking page was opened with. */
const TRACKING_KEYS = [
  'utm_campaign',
  'utm_source',
  'utm_medium',
  'utm_content',
  'utm_term',
  'salesforce_uuid',
] as const;
type TrackingKey = (typeof TRACKING_KEYS)[number];
const TrackingSchema = z.object(
  Object.fromEntries(TRACKING_KEYS.map((key) => [key, text])) as Record<TrackingKey, typeof text>,
);

const ScheduledEventSchema = z.object({
  uri: text,
  name: text,
  start_time: text,
  event_type: text,
});

const CalendlyInviteeCreatedSchema = z.object({
  event: z.literal('invitee.created'),
  created_at: text,
  payload: z.object({
    uri: z.string(),
    email: text,
    name: text,
    first_name: text,
    last_name: text,
    text_reminder_number: text,
    timezone: text,
    created_at: text,
    rescheduled: z.nullish(z.boolean()),
    old_invitee: text,
    questions_and_answers: z.nullish(z.array(QuestionAndAnswerSchema)),
    tracking: z.nullish(TrackingSchema),
    scheduled_event: z.nullish(ScheduledEventSchema),
  }),
});
type CalendlyInviteeCreated = z.infer<typeof CalendlyInviteeCreatedSchema>;
type Invitee = CalendlyInviteeCreated['payload'];

/**
 * The invitee's own details, typed, then each answer of the booking form named by its question. The route's
 * `fields` may name a question ("WhatsApp number") or one of Calendly's keys (`text_reminder_number`); without
 * them the typed details come first and questions are read by their words ("Your phone number").
 */
function calendlyFields(invitee: Invitee): TypedField[] {
  const own: TypedField[] = [
    { names: ['email'], type: 'email', value: invitee.email ?? null },
    { names: ['first_name'], type: 'first_name', value: invitee.first_name ?? null },
    { names: ['last_name'], type: 'last_name', value: invitee.last_name ?? null },
    { names: ['name'], type: 'name', value: invitee.name ?? null },
    { names: ['text_reminder_number'], type: 'phone', value: invitee.text_reminder_number ?? null },
  ];
  const answers = (invitee.questions_and_answers ?? []).map(
    ({ question, answer }): TypedField => ({ names: [question.trim()], type: 'text', value: answer ?? null }),
  );
  return [...own, ...answers];
}

/** The invitee's URI: the same on every retry of its `invitee.created`, and unique to the booking. */
function calendlyEventKey(webhook: CalendlyInviteeCreated): string {
  const uri = webhook.payload.uri.trim();
  if (uri === '') {
    throw new WebhookRejectedError(
      400,
      'malformed_body',
      'body is not a Calendly webhook: payload.uri (the invitee) is blank',
    );
  }
  return `calendly:${uri}`;
}

/** What was booked and where the person came from, named as the other sources name theirs (`calendly_*`). */
function calendlyAttributes(invitee: Invitee): Record<string, string> {
  const event = invitee.scheduled_event;
  const values: Record<string, string | undefined> = {
    calendly_event_type: trimmed(event?.event_type),
    calendly_event_name: trimmed(event?.name),
    calendly_event_start: isoTime(event?.start_time) ?? trimmed(event?.start_time),
    calendly_timezone: trimmed(invitee.timezone),
  };
  for (const key of TRACKING_KEYS) values[`calendly_${key}`] = trimmed(invitee.tracking?.[key]);
  const present = Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return Object.fromEntries(present);
}

/**
 * The booking as a contact of `route`: names, email and phone found as every typed source finds them, tagged
 * `calendly` and the route's tags, with the `calendly_*` attributes first, then the questions the route names
 * as attributes, then every other answered question under its own text (as Meta's custom questions are).
 * A skip reason when it has no usable email or phone.
 */
function mapCalendlyInvitee(
  webhook: CalendlyInviteeCreated,
  route: ResolvedRoute,
  eventKey: string,
  now: Date,
): MappedContact {
  const mapped = mapTypedFields(calendlyFields(webhook.payload), route, {
    source: 'calendly',
    eventKey,
    now,
    occurredAt: firstTimestamp(webhook.payload.created_at, webhook.created_at),
  });
  const attributes = calendlyAttributes(webhook.payload);
  const answers = (webhook.payload.questions_and_answers ?? []).flatMap(({ question, answer }) => {
    const text = trimmed(answer);
    return text === undefined ? [] : [[question.trim(), text] as const];
  });
  for (const [name, value] of [...Object.entries(mapped.contact.attributes), ...answers]) {
    if (name !== '' && !Object.hasOwn(attributes, name)) attributes[name] = value;
  }
  const contact = { ...mapped.contact, attributes };
  return mapped.skipReason === undefined ? { contact } : { contact, skipReason: mapped.skipReason };
}

export const calendlySource: Source = {
  name: 'calendly',
  // Calendly deletes a subscription only on 410 Gone (https://developer.calendly.com/docs/webhooks/overview).
  unknownRouteStatus: 404,
  async read(request, route, context) {
    checkBodySize(request);
    requireCalendlySignature(request, await signingSecret(context, route), context.now, calendlyTolerance(route));

    const body = readJsonBody(request, 'Calendly');
    const envelope = checkBody(CalendlyEnvelopeSchema, body, 'Calendly');
    if (envelope.event !== 'invitee.created') {
      return { kind: 'ignored', reason: `Calendly event "${envelope.event.slice(0, 100)}" carries no new booking` };
    }
    const webhook = checkBody(CalendlyInviteeCreatedSchema, body, 'Calendly');
    const eventKey = calendlyEventKey(webhook);
    return contactReading(eventKey, mapCalendlyInvitee(webhook, route, eventKey, context.now));
  },
};
