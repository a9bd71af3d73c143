/**
 * Tally: `POST /hooks/tally/{route}`.
 *
 * With a signing secret set on the webhook, Tally sends `Tally-Signature`:
 * the base64 HMAC-SHA256 of the raw body. Tally signs only when the user
 * sets a secret, so a route may say `auth: "none"` and accept unsigned
 * requests; by default (`hmac`) an unsigned request is refused.
 *
 * `data.fields` lists every question with its `key`, `label`, Tally `type`
 * and `value`. Choice questions give option ids, turned into the options'
 * texts here; checkbox questions also add one true/false field per option.
 */
import { routeAuth } from '../config/routes.js';
import type { Source } from '../ingest.js';
import { requireHmac } from '../signatures.js';
import * as z from '../zod.js';
import { checkBodySize, WebhookRejectedError } from '../webhook.js';
import {
  checkBody,
  firstTimestamp,
  mapTypedFields,
  readJsonBody,
  signingSecret,
  type TypedField,
  type TypedFieldType,
  type TypedFieldValue,
} from './fields.js';
import { contactReading } from './mapping.js';

const text = z.nullish(z.string());

/** Values differ by type (text, number, boolean, option ids, file objects, a matrix object): read as unknown and converted below. */
const TallyFieldSchema = z.object({
  key: z.string(),
  label: text,
  type: z.string(),
  value: z.unknown(),
  options: z.nullish(z.array(z.object({ id: z.string(), text: text }))),
});
type TallyField = z.infer<typeof TallyFieldSchema>;

const TallyEnvelopeSchema = z.object({ eventType: z.string() });

export const TallyWebhookSchema = z.object({
  eventId: text,
  eventType: z.literal('FORM_RESPONSE'),
  createdAt: text,
  data: z.object({
    responseId: text,
    submissionId: text,
    formId: z.string().check(z.minLength(1)),
    formName: text,
    createdAt: text,
    fields: z.array(TallyFieldSchema),
  }),
});
type TallyWebhook = z.infer<typeof TallyWebhookSchema>;

const FIELD_TYPES: Record<string, TypedFieldType> = {
  INPUT_EMAIL: 'email',
  INPUT_PHONE_NUMBER: 'phone',
  HIDDEN_FIELDS: 'hidden',
  INPUT_TEXT: 'text',
  TEXTAREA: 'text',
  INPUT_NUMBER: 'number',
  LINEAR_SCALE: 'number',
  RATING: 'number',
  MULTIPLE_CHOICE: 'choice',
  DROPDOWN: 'choice',
  CHECKBOXES: 'choice',
  MULTI_SELECT: 'choice',
  RANKING: 'choice',
  INPUT_DATE: 'date',
  INPUT_TIME: 'date',
  INPUT_LINK: 'url',
  FILE_UPLOAD: 'url',
  SIGNATURE: 'url',
};

/** One list item as text: an option id becomes its text, an uploaded file its URL. */
function itemText(item: unknown, options: Map<string, string>): string | undefined {
  if (typeof item === 'string') return options.get(item) ?? item;
  if (typeof item === 'number' && Number.isFinite(item)) return String(item);
  if (typeof item === 'object' && item !== null && 'url' in item && typeof item.url === 'string') return item.url;
  return undefined;
}

function fieldValue(field: TallyField): TypedFieldValue {
  const options = new Map(
    (field.options ?? []).flatMap((option) => (option.text ? [[option.id, option.text] as const] : [])),
  );
  const { value } = field;
  if (typeof value === 'string') return options.get(value) ?? value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value))
    return value.map((item) => itemText(item, options)).filter((item): item is string => item !== undefined);
  // null, and a matrix's row → columns object: nothing a contact can use.
  return null;
}

/** Every field named by its key and its label; a per-option checkbox field (true/false) is typed boolean. */
export function tallyFields(webhook: TallyWebhook): TypedField[] {
  return webhook.data.fields.map((field) => {
    const value = fieldValue(field);
    const type: TypedFieldType = typeof value === 'boolean' ? 'boolean' : (FIELD_TYPES[field.type] ?? 'other');
    return { names: [field.key, ...(field.label ? [field.label] : [])], type, value };
  });
}

/** `eventId` is the same on every retry of a delivery; the response id is the fallback. */
function tallyEventKey(webhook: TallyWebhook): string {
  const id = webhook.eventId?.trim() || webhook.data.responseId?.trim() || webhook.data.submissionId?.trim();
  if (!id)
    throw new WebhookRejectedError(
      400,
      'malformed_body',
      'body is not a Tally webhook: it has neither eventId nor data.responseId',
    );
  return `tally:${webhook.data.formId}:${id}`;
}

export const tallySource: Source = {
  name: 'tally',
  unknownRouteStatus: 404,
  async read(request, route, context) {
    checkBodySize(request);
    if (routeAuth(route) === 'hmac') {
      requireHmac({
        given: request.headers['tally-signature'],
        header: 'Tally-Signature',
        secret: await signingSecret(context, route),
        signed: request.rawBody,
        encoding: 'base64',
      });
    }

    const body = readJsonBody(request, 'Tally');
    const envelope = checkBody(TallyEnvelopeSchema, body, 'Tally');
    if (envelope.eventType !== 'FORM_RESPONSE')
      return { kind: 'ignored', reason: `Tally event type "${envelope.eventType}" carries no form response` };
    const webhook = checkBody(TallyWebhookSchema, body, 'Tally');

    const eventKey = tallyEventKey(webhook);
    const mapped = mapTypedFields(tallyFields(webhook), route, {
      source: 'tally',
      eventKey,
      now: context.now,
      occurredAt: firstTimestamp(webhook.data.createdAt, webhook.createdAt),
    });
    return contactReading(eventKey, mapped);
  },
};
