/**
 * Google Forms: `POST /hooks/google-forms/{route}`. Google Forms has no
 * webhooks; the Apps Script in `integrations/google-forms/forwarder.gs` runs
 * on each submission and posts
 *
 *   {formId, responseId, submittedAt, respondentEmail?, answers: {<question title>: string | string[]}}
 *
 * signed with the route's secret: `X-Contact-Relay-Signature: sha256=<base64
 * HMAC-SHA256 of the body>` (always: the script can keep a secret, so the
 * route cannot be opened). Answers are keyed by question title, so titles
 * such as "Name", "Email" or "Phone number" are found automatically and any
 * other title can be named in the route's `fields`.
 */
import type { Source } from '../ingest.js';
import type { ResolvedRoute } from '../config/routes.js';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';
import { checkBodySize, mediaType, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { requireRouteAuth } from './auth.js';
import { checkFieldCount, mapFormToContact, type MappedContact } from './form.js';
import { contactReading } from './mapping.js';

/** Apps Script form and response ids are URL-safe base64-like strings ("2_ABaOnud…"); nothing else belongs in a dedupe key. */
const GoogleId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be a Google Forms id (letters, digits, "_" and "-")'));

export const GoogleFormsResponseSchema = z.object({
  formId: GoogleId,
  responseId: GoogleId,
  /** ISO 8601, from `FormResponse.getTimestamp()`. */
  submittedAt: z.optional(z.string()),
  /** Present when the form collects respondents' emails. */
  respondentEmail: z.optional(z.nullable(z.string())),
  /** Question title → answer: text, or a list for checkboxes and grids. */
  answers: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
});
type GoogleFormsResponse = z.infer<typeof GoogleFormsResponseSchema>;

function malformed(message: string): WebhookRejectedError {
  return new WebhookRejectedError(400, 'malformed_body', message);
}

/** Read the forwarder's JSON; 400 when it is not what the script sends. */
function parseGoogleFormsBody(request: WebhookRequest): GoogleFormsResponse {
  checkBodySize(request);
  const type = mediaType(request);
  if (type !== 'application/json') {
    throw new WebhookRejectedError(
      415,
      'unsupported_content_type',
      `content type ${type === undefined ? '(none)' : `"${type}"`} is not supported; the forwarder script sends application/json`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.rawBody.toString('utf8'));
  } catch (error) {
    throw malformed(`body is not valid JSON: ${(error as Error).message}`);
  }
  const response = GoogleFormsResponseSchema.safeParse(parsed);
  if (!response.success)
    throw malformed(`not a Google Forms response from the forwarder script: ${describeIssues(response.error)}`);
  checkFieldCount(response.data.answers);
  return response.data;
}

function googleFormsEventKey(formId: string, responseId: string): string {
  return `google-forms:${formId}:${responseId}`;
}

/** The submission time the script reports, else when we received it. */
function occurredAt(submittedAt: string | undefined, now: Date): Date {
  const time = submittedAt === undefined ? Number.NaN : Date.parse(submittedAt);
  return Number.isNaN(time) ? now : new Date(time);
}

/** A response to a Contact: answers by title; the collected respondent email when no answer gives an email. */
export function mapGoogleFormsResponse(
  response: GoogleFormsResponse,
  route: ResolvedRoute,
  now: Date,
): MappedContact & { eventKey: string } {
  const eventKey = googleFormsEventKey(response.formId, response.responseId);
  const respondentEmail = response.respondentEmail?.trim();
  return {
    eventKey,
    ...mapFormToContact(response.answers, route, eventKey, occurredAt(response.submittedAt, now), {
      sourceTag: 'google-forms',
      ...(respondentEmail ? { fallback: { email: [respondentEmail] } } : {}),
    }),
  };
}

/** `POST /hooks/google-forms/{route}`: HMAC-signed JSON from the forwarder script. */
export const googleFormsSource: Source = {
  name: 'google-forms',
  unknownRouteStatus: 404,
  async read(request, route, { now, secret }) {
    await requireRouteAuth(request, route, secret);
    const response = parseGoogleFormsBody(request);
    const { eventKey, ...mapped } = mapGoogleFormsResponse(response, route, now);
    return contactReading(eventKey, mapped);
  },
};
