/**
 * Jotform: `POST /hooks/jotform/{route}?token=…`. Jotform does not sign its
 * webhooks, so the route's token travels in the URL (the only thing a Jotform
 * webhook lets you set) or the `X-Contact-Relay-Token` header; see auth.ts.
 *
 * The body is `multipart/form-data` with `formID`, `submissionID`,
 * `formTitle`, `pretty` (a display string) and `rawRequest`: a JSON string of
 * the answers keyed `q<N>_<name>`, where `<name>` is the field's unique name
 * in the form builder (`q3_fullName`, `q4_email`). Compound controls answer
 * with objects (`{first, last}`, `{full}` or `{area, phone}`, an address);
 * they are flattened to `q3_fullName.first` and friends, and their shape says
 * what they are, so a name or phone control is found whatever it is called.
 */
import type { Source } from '../ingest.js';
import type { ResolvedRoute } from '../config/routes.js';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';
import { checkBodySize, mediaType, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { requireRouteAuth } from './auth.js';
import { mapFormToContact, MAX_FORM_FIELDS, tooManyFields } from './form.js';
import type { ContactField, FormFields, MappedContact } from './form.js';
import { contactReading } from './mapping.js';

/** Jotform ids are digits; anything safe in a dedupe key is accepted rather than guessing their future format. */
const JotformId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a Jotform id such as "5945194041717462825"'));

const JotformEnvelopeSchema = z.object({
  formID: JotformId,
  submissionID: JotformId,
  formTitle: z.optional(z.string()),
  rawRequest: z.string(),
});

interface JotformSubmission {
  formID: string;
  submissionID: string;
  formTitle?: string;
  /** `rawRequest`, decoded: answers under `q<N>_<name>` beside Jotform's own bookkeeping (`slug`, `event_id`, ...). */
  rawRequest: Record<string, unknown>;
}

function malformed(message: string): WebhookRejectedError {
  return new WebhookRejectedError(400, 'malformed_body', message);
}

/**
 * The envelope's text fields; uploaded files (none in Jotform's webhook) are left out. Jotform sends about ten
 * (formID, submissionID, rawRequest, pretty, ...); more than the plain form's cap of fields is no Jotform webhook.
 * Values are not capped: rawRequest and pretty carry the whole submission.
 */
async function envelopeFields(request: WebhookRequest): Promise<Record<string, string>> {
  const type = mediaType(request);
  const fields: Record<string, string> = {};
  let count = 0;
  const counted = () => {
    count += 1;
    if (count > MAX_FORM_FIELDS) throw tooManyFields('parts');
  };
  if (type === 'multipart/form-data') {
    let form: FormData;
    try {
      // Node's own WHATWG body parser: maintained with the runtime, no dependency, boundaries and encodings handled.
      form = await new Response(request.rawBody, {
        headers: { 'content-type': request.headers['content-type'] ?? type },
      }).formData();
    } catch (error) {
      throw malformed(`body is not valid multipart/form-data: ${(error as Error).message}`);
    }
    for (const [name, value] of form) {
      counted();
      if (typeof value === 'string' && !Object.hasOwn(fields, name)) fields[name] = value;
    }
    return fields;
  }
  if (type === 'application/x-www-form-urlencoded') {
    for (const [name, value] of new URLSearchParams(request.rawBody.toString('utf8'))) {
      counted();
      if (!Object.hasOwn(fields, name)) fields[name] = value;
    }
    return fields;
  }
  throw new WebhookRejectedError(
    415,
    'unsupported_content_type',
    `content type ${type === undefined ? '(none)' : `"${type}"`} is not supported; Jotform sends multipart/form-data (application/x-www-form-urlencoded is accepted too)`,
  );
}

/** Read Jotform's webhook body; 400 when it is not a Jotform submission. */
export async function parseJotformBody(request: WebhookRequest): Promise<JotformSubmission> {
  checkBodySize(request);
  const envelope = JotformEnvelopeSchema.safeParse(await envelopeFields(request));
  if (!envelope.success) throw malformed(`not a Jotform submission: ${describeIssues(envelope.error)}`);
  let rawRequest: unknown;
  try {
    rawRequest = JSON.parse(envelope.data.rawRequest);
  } catch (error) {
    throw malformed(`rawRequest is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof rawRequest !== 'object' || rawRequest === null || Array.isArray(rawRequest))
    throw malformed('rawRequest must be a JSON object of answers');
  const { formID, submissionID, formTitle } = envelope.data;
  return {
    formID,
    submissionID,
    ...(formTitle !== undefined ? { formTitle } : {}),
    rawRequest: rawRequest as Record<string, unknown>,
  };
}

function jotformEventKey(formID: string, submissionID: string): string {
  return `jotform:${formID}:${submissionID}`;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Jotform HTML-escapes answer text (`O&#039;Brien`); a contact's name should not carry the escapes. */
export function decodeEntities(text: string): string {
  return text.replace(
    /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g,
    (whole, decimal?: string, hex?: string, name?: string) => {
      if (name !== undefined) return ENTITIES[name] ?? whole;
      const code = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex ?? '', 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    },
  );
}

const ANSWER_KEY = /^q(\d+)_(.+)$/;

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return decodeEntities(value).trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

type Kind = 'name' | 'phone' | 'address' | 'other';

/** What a compound answer is, by the sub-fields Jotform's controls answer with. */
function kindOf(parts: Record<string, string>): Kind {
  if ('first' in parts || 'last' in parts) return 'name';
  if ('addr_line1' in parts || 'city' in parts || 'postal' in parts) return 'address';
  if ('full' in parts || 'phone' in parts) return 'phone';
  return 'other';
}

/** The one-string form of a compound answer: "Ada Lovelace", "+1 415 5550132", an address line. */
function combine(kind: Kind, parts: Record<string, string>): string {
  const join = (keys: string[], separator: string) =>
    keys
      .map((key) => parts[key] ?? '')
      .filter((part) => part !== '')
      .join(separator);
  switch (kind) {
    case 'name':
      return join(['first', 'middle', 'last'], ' ');
    case 'phone': {
      if (parts['full'] !== undefined && parts['full'] !== '') return parts['full'];
      // The phone control's optional country-code box holds digits ("44"); say it is a calling code.
      const code =
        parts['country'] !== undefined && /^\+?\d{1,4}$/.test(parts['country'])
          ? `+${parts['country'].replace(/^\+/, '')}`
          : '';
      return [code, join(['area', 'phone'], ' ')].filter((part) => part !== '').join(' ');
    }
    case 'address':
      return join(['addr_line1', 'addr_line2', 'city', 'state', 'postal', 'country'], ', ');
    default:
      return Object.values(parts)
        .filter((part) => part !== '')
        .join(' ');
  }
}

interface JotformFields {
  /** Each answer under its full key (`q3_fullName`) and its bare name (`fullName`); compound parts as `q3_fullName.first` and `fullName.first`. */
  fields: FormFields;
  /** Keys whose kind the answer's shape shows, in form order, for `mapFormToContact`'s `typed`. */
  typed: Partial<Record<ContactField, string[]>>;
}

/**
 * Flatten `rawRequest` answers into form fields. Jotform's bookkeeping keys (no `q<N>_` prefix) are left out.
 * Answers, list items and compound parts count against the plain form's cap of fields (413 `too_many_fields`).
 */
export function jotformFields(rawRequest: Record<string, unknown>): JotformFields {
  const fields: FormFields = {};
  const typed: Partial<Record<ContactField, string[]>> = {};
  let count = 0;
  const counted = (values: number) => {
    count += values;
    if (count > MAX_FORM_FIELDS) throw tooManyFields('answers');
  };
  // Full keys are unique; a bare name could meet another only through a sub-key ("a.b"), and the first one wins.
  const set = (keys: string[], value: string | string[]) => {
    for (const key of keys) if (!Object.hasOwn(fields, key)) fields[key] = value;
  };
  const addTyped = (field: ContactField, key: string) => {
    typed[field] = [...(typed[field] ?? []), key];
  };

  for (const [key, value] of Object.entries(rawRequest)) {
    const match = ANSWER_KEY.exec(key);
    const bare = match?.[2];
    if (bare === undefined) continue;
    const single = scalar(value);
    if (single !== undefined) {
      counted(1);
      set([key, bare], single);
    } else if (Array.isArray(value)) {
      counted(Math.max(1, value.length));
      set(
        [key, bare],
        value.map(scalar).filter((item): item is string => item !== undefined && item !== ''),
      );
    } else if (typeof value === 'object' && value !== null) {
      counted(Math.max(1, Object.keys(value).length));
      const parts: Record<string, string> = {};
      for (const [part, partValue] of Object.entries(value)) {
        const text = scalar(partValue);
        if (text !== undefined) parts[part] = text;
      }
      for (const [part, text] of Object.entries(parts)) set([`${key}.${part}`, `${bare}.${part}`], text);
      const kind = kindOf(parts);
      const whole = combine(kind, parts);
      if (whole !== '') set([key, bare], whole);
      if (kind === 'name') {
        addTyped('firstName', `${key}.first`);
        addTyped('lastName', `${key}.last`);
      } else if (kind === 'phone') {
        addTyped('phone', key);
      } else if (kind === 'address') {
        addTyped('country', `${key}.country`);
      }
    }
  }
  return { fields, typed };
}

/** A Jotform submission to a Contact: the route's `fields` by full key (`q4_email`) or bare name (`email`), else detected. */
export function mapJotformSubmission(
  submission: JotformSubmission,
  route: ResolvedRoute,
  now: Date,
): MappedContact & { eventKey: string } {
  const eventKey = jotformEventKey(submission.formID, submission.submissionID);
  const { fields, typed } = jotformFields(submission.rawRequest);
  return { eventKey, ...mapFormToContact(fields, route, eventKey, now, { typed, sourceTag: 'jotform' }) };
}

/** `POST /hooks/jotform/{route}`: token required, multipart (or urlencoded) body with `rawRequest`. */
export const jotformSource: Source = {
  name: 'jotform',
  unknownRouteStatus: 404,
  async read(request, route, { now, secret }) {
    await requireRouteAuth(request, route, secret);
    const submission = await parseJotformBody(request);
    const { eventKey, ...mapped } = mapJotformSubmission(submission, route, now);
    return contactReading(eventKey, mapped);
  },
};
