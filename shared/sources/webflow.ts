/**
 * Webflow form submissions: `POST /hooks/webflow/{route}`.
 *
 * Webflow signs `"{x-webflow-timestamp}:{raw body}"` with HMAC-SHA256 and
 * sends the hex digest as `x-webflow-signature`; the timestamp is in
 * milliseconds. A request whose timestamp is more than five minutes from our
 * clock is refused even when signed, so a captured request cannot be
 * replayed later.
 *
 * The `form_submission` payload's `data` is flat: field name → value, the
 * names being what the designer typed ("First Name", "Phone Number"). A
 * phone number may arrive as a JSON number. Other trigger types are ignored.
 */
import type { Source } from '../ingest.js';
import { requireHmac } from '../signatures.js';
import * as z from '../zod.js';
import { checkBodySize, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import {
  checkBody,
  firstTimestamp,
  mapTypedFields,
  readJsonBody,
  signingSecret,
  type TypedField,
  type TypedFieldValue,
} from './fields.js';
import { contactReading } from './mapping.js';

/** How far `x-webflow-timestamp` may be from our clock, either way. */
export const WEBFLOW_MAX_SKEW_MS = 5 * 60 * 1000;

const text = z.nullish(z.string());

const WebflowEnvelopeSchema = z.object({ triggerType: z.string() });

export const WebflowFormSubmissionSchema = z.object({
  triggerType: z.literal('form_submission'),
  payload: z.object({
    name: text,
    siteId: z.string().check(z.minLength(1)),
    data: z.record(z.string(), z.unknown()),
    submittedAt: text,
    id: z.string().check(z.minLength(1)),
    formId: text,
  }),
});
type WebflowFormSubmission = z.infer<typeof WebflowFormSubmissionSchema>;

function dataValue(value: unknown): TypedFieldValue {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value))
    return value.filter((item) => typeof item === 'string' || typeof item === 'number').map(String);
  return null;
}

/** Each data key is a field named by itself; Webflow gives no types a contact can use. */
export function webflowFields(submission: WebflowFormSubmission): TypedField[] {
  return Object.entries(submission.payload.data).map(([name, value]) => ({ names: [name], value: dataValue(value) }));
}

function webflowEventKey(submission: WebflowFormSubmission): string {
  return `webflow:${submission.payload.siteId}:${submission.payload.id}`;
}

/** Signature first (nothing unauthenticated is read further), then the timestamp's age. */
async function verifyWebflow(request: WebhookRequest, secret: () => Promise<string>, now: Date): Promise<void> {
  const timestamp = request.headers['x-webflow-timestamp']?.trim();
  if (timestamp === undefined || timestamp === '')
    throw new WebhookRejectedError(401, 'missing_timestamp', 'the x-webflow-timestamp header is missing');
  if (!/^\d{1,16}$/.test(timestamp))
    throw new WebhookRejectedError(
      401,
      'invalid_timestamp',
      'the x-webflow-timestamp header is not a time in milliseconds',
    );
  requireHmac({
    given: request.headers['x-webflow-signature'],
    header: 'x-webflow-signature',
    secret: await secret(),
    // The exact bytes: the timestamp as sent, a colon, the raw body.
    signed: Buffer.concat([Buffer.from(`${timestamp}:`, 'utf8'), request.rawBody]),
    encoding: 'hex',
  });
  const skew = Math.abs(now.getTime() - Number(timestamp));
  if (skew > WEBFLOW_MAX_SKEW_MS) {
    throw new WebhookRejectedError(
      401,
      'stale_timestamp',
      `x-webflow-timestamp is ${Math.round(skew / 1000)} s from our clock; at most ${WEBFLOW_MAX_SKEW_MS / 1000} s is accepted`,
    );
  }
}

export const webflowSource: Source = {
  name: 'webflow',
  unknownRouteStatus: 404,
  async read(request, route, context) {
    checkBodySize(request);
    await verifyWebflow(request, () => signingSecret(context, route), context.now);

    const body = readJsonBody(request, 'Webflow');
    const envelope = checkBody(WebflowEnvelopeSchema, body, 'Webflow');
    if (envelope.triggerType !== 'form_submission')
      return { kind: 'ignored', reason: `Webflow trigger type "${envelope.triggerType}" carries no form submission` };
    const submission = checkBody(WebflowFormSubmissionSchema, body, 'Webflow');

    const eventKey = webflowEventKey(submission);
    const mapped = mapTypedFields(webflowFields(submission), route, {
      source: 'webflow',
      eventKey,
      now: context.now,
      occurredAt: firstTimestamp(submission.payload.submittedAt),
    });
    return contactReading(eventKey, mapped);
  },
};
