/**
 * Typeform: `POST /hooks/typeform/{route}`.
 *
 * Typeform signs the raw body: `Typeform-Signature: sha256=<base64
 * HMAC-SHA256>` with the secret set on the webhook. It disables a webhook at
 * once when it answers 404 or 410, so an unknown route answers 400.
 *
 * Answers are typed (`email`, `phone_number`, `text`, `choice`, ...) and
 * point at `definition.fields` by id; hidden fields arrive as
 * `form_response.hidden`. Each answer becomes a TypedField named by the
 * field's id, ref and title, each hidden field by its name.
 */
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

/** Typeform adds answer types and form properties over time: every schema keeps only what is read and tolerates the rest. */
const text = z.nullish(z.string());

const TypeformAnswerSchema = z.object({
  type: z.string(),
  field: z.object({ id: z.string(), ref: text, type: text }),
  text,
  email: text,
  phone_number: text,
  url: text,
  file_url: text,
  date: text,
  number: z.nullish(z.number()),
  boolean: z.nullish(z.boolean()),
  choice: z.nullish(z.object({ label: text, other: text })),
  choices: z.nullish(z.object({ labels: z.nullish(z.array(z.string())), other: text })),
});
type TypeformAnswer = z.infer<typeof TypeformAnswerSchema>;

const TypeformResponseSchema = z.object({
  form_id: z.string().check(z.minLength(1)),
  token: text,
  submitted_at: text,
  hidden: z.nullish(z.record(z.string(), z.unknown())),
  definition: z.nullish(z.object({ fields: z.nullish(z.array(z.object({ id: z.string(), ref: text, title: text }))) })),
  answers: z.nullish(z.array(TypeformAnswerSchema)),
});

const TypeformEnvelopeSchema = z.object({ event_id: text, event_type: z.string() });

export const TypeformWebhookSchema = z.object({
  event_id: text,
  event_type: z.literal('form_response'),
  form_response: TypeformResponseSchema,
});
type TypeformWebhook = z.infer<typeof TypeformWebhookSchema>;

const ANSWER_TYPES: Record<string, TypedFieldType> = {
  email: 'email',
  phone_number: 'phone',
  text: 'text',
  number: 'number',
  boolean: 'boolean',
  choice: 'choice',
  choices: 'choice',
  date: 'date',
  url: 'url',
  file_url: 'url',
};

function answerValue(answer: TypeformAnswer): TypedFieldValue {
  switch (answer.type) {
    case 'choice':
      return answer.choice?.label ?? answer.choice?.other ?? null;
    case 'choices':
      return [...(answer.choices?.labels ?? []), ...(answer.choices?.other ? [answer.choices.other] : [])];
    case 'number':
      return answer.number ?? null;
    case 'boolean':
      return answer.boolean ?? null;
    case 'email':
      return answer.email ?? null;
    case 'phone_number':
      return answer.phone_number ?? null;
    case 'text':
      return answer.text ?? null;
    case 'date':
      return answer.date ?? null;
    case 'url':
      return answer.url ?? null;
    case 'file_url':
      return answer.file_url ?? null;
    default:
      // payment, multi_format and answer types added later carry no contact detail.
      return null;
  }
}

/** Answers (named by field id, ref and title) and hidden fields (named by their key) as typed fields. */
export function typeformFields(response: TypeformWebhook['form_response']): TypedField[] {
  const definitions = new Map((response.definition?.fields ?? []).map((field) => [field.id, field]));
  const answers = (response.answers ?? []).map((answer): TypedField => {
    const definition = definitions.get(answer.field.id);
    const names = [answer.field.id, answer.field.ref, definition?.ref, definition?.title].filter(
      (name): name is string => typeof name === 'string' && name !== '',
    );
    return { names: [...new Set(names)], type: ANSWER_TYPES[answer.type] ?? 'other', value: answerValue(answer) };
  });
  const hidden = Object.entries(response.hidden ?? {}).map(
    ([name, value]): TypedField => ({
      names: [name],
      type: 'hidden',
      value: typeof value === 'string' || typeof value === 'number' ? value : null,
    }),
  );
  return [...answers, ...hidden];
}

/** Typeform's `event_id` identifies the delivery's event across retries; the response `token` is the fallback. */
function typeformEventKey(webhook: TypeformWebhook): string {
  const id = webhook.event_id?.trim() || webhook.form_response.token?.trim();
  if (!id)
    throw new WebhookRejectedError(
      400,
      'malformed_body',
      'body is not a Typeform webhook: it has neither event_id nor form_response.token',
    );
  return `typeform:${webhook.form_response.form_id}:${id}`;
}

const SIGNATURE_PREFIX = 'sha256=';

export const typeformSource: Source = {
  name: 'typeform',
  // Typeform disables a webhook at once on 404 or 410.
  unknownRouteStatus: 400,
  async read(request, route, context) {
    checkBodySize(request);
    const header = request.headers['typeform-signature']?.trim();
    // Typeform always names the algorithm; a bare digest is not its header, whatever it decodes to.
    if (header && !header.startsWith(SIGNATURE_PREFIX)) {
      throw new WebhookRejectedError(
        401,
        'invalid_signature',
        `the Typeform-Signature header must be "${SIGNATURE_PREFIX}<base64 HMAC-SHA256 of the body>"`,
      );
    }
    const given = header?.slice(SIGNATURE_PREFIX.length);
    requireHmac({
      given,
      header: 'Typeform-Signature',
      secret: await signingSecret(context, route),
      signed: request.rawBody,
      encoding: 'base64',
    });

    const body = readJsonBody(request, 'Typeform');
    const envelope = checkBody(TypeformEnvelopeSchema, body, 'Typeform');
    if (envelope.event_type !== 'form_response')
      return { kind: 'ignored', reason: `Typeform event type "${envelope.event_type}" carries no completed response` };
    const webhook = checkBody(TypeformWebhookSchema, body, 'Typeform');

    const eventKey = typeformEventKey(webhook);
    const mapped = mapTypedFields(typeformFields(webhook.form_response), route, {
      source: 'typeform',
      eventKey,
      now: context.now,
      occurredAt: firstTimestamp(webhook.form_response.submitted_at),
    });
    return contactReading(eventKey, mapped);
  },
};
