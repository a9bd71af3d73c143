/**
 * Kirim.chat, as its API reference describes it (https://developers.kirim.chat/):
 * `POST {base}/v1/{phone_number_id}/contacts` with `Authorization: Bearer`
 * (https://developers.kirim.chat/api/operations/phone_number_idcontacts/post/).
 * The contact belongs to the WhatsApp account named by the Meta
 * phone_number_id in the path, and its only required field is an E.164
 * `phone_number`, so a contact without a valid phone is skipped.
 *
 * Kirim documents no duplicate behaviour for contacts, so the person is looked
 * up first by exact phone (`GET /v1/{phone_number_id}/contacts?phone=`,
 * https://developers.kirim.chat/api/operations/phone_number_idcontacts/get/),
 * and every create carries an `Idempotency-Key`
 * (https://developers.kirim.chat/concepts/idempotency/): a job retried after a
 * lost answer gets the first creation replayed instead of making a second one.
 */
import { createHash } from 'node:crypto';
import { displayName, type Contact } from '../contact.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import * as z from '../zod.js';
import {
  DEFAULT_BASE_URLS,
  parseJson,
  retryAfterMs,
  type DeliveryTarget,
  type ProviderAdapter,
  type ProviderAnswer,
  type RequestContext,
} from './types.js';

export const KirimCredentialsSchema = z.object({
  token: z.string().check(z.minLength(1)),
  /** Meta's phone_number_id of the connected WhatsApp number (Kirim: `GET /v1/accounts`). */
  phoneNumberId: z.string().check(z.minLength(1)),
});
export type KirimCredentials = z.infer<typeof KirimCredentialsSchema>;

interface KirimContactRequest {
  phone_number: string;
  name?: string;
  email?: string;
  /** Kirim accepts any values; we send strings only so every contact's metadata reads alike. */
  metadata?: Record<string, string>;
}

/**
 * The documented 201 body. Only the id is needed, and the doc's own example
 * carries nothing but `id` and `object` (no `request_id`), so the rest is
 * not required.
 */
const KirimCreatedSchema = z.object({
  data: z.object({
    id: z.string().check(z.minLength(1)),
    object: z.optional(z.string()),
  }),
  request_id: z.optional(z.string()),
});

const optionalText = z.optional(z.nullable(z.string()));

/**
 * Kirim's error envelope (https://developers.kirim.chat/concepts/errors/); every
 * field is optional so a proxy's or a partial body still reads.
 */
const KirimErrorSchema = z.object({
  error: z.object({
    type: optionalText,
    code: optionalText,
    message: optionalText,
    param: optionalText,
    request_id: optionalText,
  }),
});

/** What a gateway in front of Kirim may answer instead of the envelope. */
const PlainErrorSchema = z.object({ error: optionalText, message: optionalText });

/**
 * The documented list answer `{data: [contact], has_more, next_cursor, request_id}`
 * (https://developers.kirim.chat/concepts/pagination/). Only what the lookup reads is required.
 */
const KirimListSchema = z.object({
  data: z.array(z.object({ id: z.string().check(z.minLength(1)), phone_number: optionalText })),
  has_more: z.optional(z.boolean()),
  next_cursor: optionalText,
});

/** Metadata keys we add; prefixed so a form field called "source" keeps its own value. */
const KIRIM_ORIGIN_KEYS = { source: 'origin_source', route: 'origin_route' } as const;

/** The phone Kirim gets: one known to be on WhatsApp first, else the first valid one. */
export function kirimPhone(contact: Contact): string | undefined {
  return (contact.phones.find((phone) => phone.whatsapp === true) ?? contact.phones[0])?.e164;
}

export function kirimSkipReason(contact: Contact): string | undefined {
  if (kirimPhone(contact) !== undefined) return undefined;
  const rejected = contact.rejectedPhones;
  if (rejected.length === 0) return 'Kirim.chat needs a phone number and the contact has none';
  // The reasons name the problem, never the number: skip reasons end up in logs.
  const reasons = [...new Set(rejected.map((phone) => phone.reason))].join('; ');
  return `Kirim.chat needs a valid E.164 phone number; ${rejected.length} phone number${rejected.length === 1 ? ' was' : 's were'} rejected: ${reasons}`;
}

/** The documented body: phone, name, first email, and the attributes, tags and origin as string metadata. */
// The route comes from the contact's origin; the target is taken for symmetry with the other providers' builders.
export function toKirimRequest(contact: Contact, _target: DeliveryTarget): KirimContactRequest {
  const phone = kirimPhone(contact);
  if (phone === undefined)
    throw new Error('toKirimRequest needs a contact with a valid phone number (check kirimSkipReason first)');
  const request: KirimContactRequest = { phone_number: phone };
  const name = displayName(contact);
  if (name !== undefined) request.name = name;
  const email = contact.emails[0];
  if (email !== undefined) request.email = email;

  const metadata: Record<string, string> = { ...contact.attributes };
  // Kirim has no tags field; metadata is the only place they can live.
  if (contact.tags.length > 0 && !Object.hasOwn(metadata, 'tags')) metadata['tags'] = contact.tags.join(', ');
  metadata[KIRIM_ORIGIN_KEYS.source] = contact.origin.source;
  metadata[KIRIM_ORIGIN_KEYS.route] = contact.origin.route;
  request.metadata = metadata;
  return request;
}

/**
 * Kirim keeps a key for 24 hours with a hash of the method, the path and the
 * body, replays the stored answer for the same request and refuses another
 * request under it (422 `idempotency_key_reuse`). So the key covers
 * everything Kirim compares, besides the event: a retry of the same event
 * replays, and the same event sent again after the request changed (a route's
 * metadata or the secret's phone_number_id edited, then a redrive) is a new
 * request rather than a refusal. A duplicate is still kept out then: each
 * attempt looks the person up by phone before it creates.
 */
export function kirimIdempotencyKey(contact: Contact, target: DeliveryTarget, phoneNumberId: string): string {
  const { source, route, eventKey } = contact.origin;
  const body = toKirimRequest(contact, target);
  const material = JSON.stringify([target.account.name, source, route, eventKey, phoneNumberId, body]);
  return `contact-relay-${createHash('sha256').update(material).digest('hex')}`;
}

interface KirimError {
  type?: string;
  code?: string;
  message?: string;
  param?: string;
  requestId?: string;
}

function readKirimError(body: string): KirimError {
  const raw = parseJson(body);
  const envelope = KirimErrorSchema.safeParse(raw);
  const out: KirimError = {};
  if (envelope.success) {
    const { type, code, message, param, request_id: requestId } = envelope.data.error;
    if (type) out.type = type;
    if (code) out.code = code;
    if (message) out.message = message;
    if (param) out.param = param;
    if (requestId) out.requestId = requestId;
    return out;
  }
  const plain = PlainErrorSchema.safeParse(raw);
  const message = plain.success ? (plain.data.message ?? plain.data.error) : undefined;
  if (message) out.message = message;
  return out;
}

/** Kirim's message when it gives one, else its code and type; the request id helps Kirim's support find the call. */
function describeKirimError(status: number, error: KirimError): string {
  const head =
    error.message ??
    ([error.code, error.type ? `(${error.type})` : undefined].filter(Boolean).join(' ') || `HTTP ${status}`);
  const details = [
    error.param ? `param ${error.param}` : undefined,
    error.requestId ? `request_id ${error.requestId}` : undefined,
  ].filter(Boolean);
  return details.length > 0 ? `${head}; ${details.join('; ')}` : head;
}

/**
 * Another request under the key was run with a different body or path. Both spellings are
 * documented: `idempotency_key_reuse` (422) on https://developers.kirim.chat/concepts/idempotency/,
 * `idempotency_conflict` (409) on https://developers.kirim.chat/guides/failed-sends/.
 */
const KEY_REUSE_CODES = new Set(['idempotency_key_reuse', 'idempotency_conflict']);

const PERMISSION_HINT =
  'the token is valid but its organisation may not do this (a plan limit, a scope the API key lacks, a suspended ' +
  'organisation, or a phone_number_id that is not one of its numbers: GET /v1/accounts lists them); ' +
  'retrying will not help until that is changed in Kirim.chat';

/**
 * How long to wait before the retry. Kirim sends `Retry-After` on a 429
 * (https://developers.kirim.chat/concepts/rate-limits/); `X-RateLimit-Reset`, on
 * every answer, is when the bucket is full again, so it bounds a 429's wait but
 * says nothing about a 409 or a 5xx.
 */
function waitFor(response: HttpResponse): number | undefined {
  const retryAfter = response.headers['retry-after'];
  if (response.status === 429) return retryAfterMs(response.headers);
  return retryAfter === undefined ? undefined : retryAfterMs({ 'retry-after': retryAfter });
}

/** Any non-2xx answer, by Kirim's `code` and `type` first and the HTTP status after. */
function readError(response: HttpResponse): ProviderAnswer {
  const status = response.status;
  const error = readKirimError(response.body);
  const { code, type } = error;
  const message = describeKirimError(status, error);
  const failed = (failedCode: string | undefined, text: string): ProviderAnswer => ({
    kind: 'failed',
    httpStatus: status,
    ...(failedCode !== undefined ? { code: failedCode } : {}),
    message: text,
  });

  // 401 is a missing, invalid or revoked key: the engine reads the secret again in case it was rotated.
  if (status === 401) return { kind: 'unauthorized', httpStatus: status, message };
  // 403 is the organisation's plan, the key's scope or a suspension, not the key itself (the SDK's
  // PermissionError, https://developers.kirim.chat/sdks/typescript/errors/): a fresh read of the secret would not help.
  if (status === 403 || type === 'permission_error') {
    const cause = code ?? type ?? 'permission_error';
    return failed(cause, `Kirim.chat refused with HTTP ${status} (${cause}): ${message}; ${PERMISSION_HINT}`);
  }
  if (code !== undefined && KEY_REUSE_CODES.has(code)) {
    const cause =
      'Kirim.chat ran a different request under this Idempotency-Key in the last 24 hours and will not run this one';
    return failed(code, `${message}; ${cause}`);
  }
  // 409 `idempotency_in_progress`: a request with our key is still running (a redelivery racing the
  // first attempt); Kirim asks for a retry later with the same key, and our key is the same on every attempt.
  // Its docs answer any other conflict with a retry too (the errors page's recipe).
  const retryable = status === 429 || status === 409 || status === 408 || status >= 500;
  if (retryable || type === 'rate_limit_error' || type === 'conflict') {
    const wait = waitFor(response);
    return { kind: 'transient', httpStatus: status, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  // invalid_phone_number, missing_required_field, account_not_connected and the rest: the same request
  // would be refused again.
  const hint =
    status === 404
      ? ' (is phoneNumberId in the account secret a WhatsApp number connected to this Kirim.chat token?)'
      : '';
  return failed(code ?? type, `${message}${hint}`);
}

export function readKirimCreate(response: HttpResponse): ProviderAnswer {
  if (response.status < 200 || response.status >= 300) return readError(response);
  const created = KirimCreatedSchema.safeParse(parseJson(response.body));
  if (created.success) return { kind: 'created', id: created.data.data.id };
  return {
    kind: 'failed',
    httpStatus: response.status,
    code: 'unexpected_response',
    message: 'Kirim.chat answered 2xx without the created contact',
  };
}

/** 404 and 405 mean the list endpoint is not there, 400 that it refuses the filter: the create call decides then. */
const LOOKUP_UNAVAILABLE = new Set([400, 404, 405]);

/**
 * The list filters by exact phone, yet a hit counts only when its
 * `phone_number` is our E.164: a server that ignored the filter would
 * otherwise make everyone "exists". A page without the person and with more
 * to come asks for the next one, with the same filter, as cursors require.
 */
export function readKirimLookup(
  response: HttpResponse,
  context: RequestContext<KirimCredentials>,
  request: HttpRequest,
): ProviderAnswer {
  if (LOOKUP_UNAVAILABLE.has(response.status)) return { kind: 'not_found' };
  if (response.status < 200 || response.status >= 300) return readError(response);
  const parsed = KirimListSchema.safeParse(parseJson(response.body));
  if (!parsed.success) {
    const message = 'Kirim.chat lookup answered without a contacts list';
    return { kind: 'failed', httpStatus: response.status, code: 'unexpected_response', message };
  }
  const phone = kirimPhone(context.contact);
  const hit = parsed.data.data.find((contact) => phone !== undefined && contact.phone_number === phone);
  if (hit !== undefined) return { kind: 'exists', id: hit.id };
  const cursor = parsed.data.next_cursor;
  if (parsed.data.has_more !== true || !cursor) return { kind: 'not_found' };
  const url = new URL(request.url);
  url.searchParams.set('cursor', cursor);
  return { kind: 'next_page', request: { ...request, url: url.toString() } };
}

function authHeaders(credentials: KirimCredentials): Record<string, string> {
  return { authorization: `Bearer ${credentials.token}` };
}

function contactsUrl(baseUrl: string, credentials: KirimCredentials): string {
  return `${baseUrl}/v1/${encodeURIComponent(credentials.phoneNumberId)}/contacts`;
}

export const kirimAdapter: ProviderAdapter<typeof KirimCredentialsSchema> = {
  provider: 'kirim',
  // The create only: Kirim.chat's write limit counts POST, PUT, PATCH and DELETE; the lookup is a read, whose
  // limit is ten times higher (https://developers.kirim.chat/concepts/rate-limits/).
  rateCost: () => 1,
  credentials: KirimCredentialsSchema,
  defaultBaseUrl: () => DEFAULT_BASE_URLS.kirim,
  skipReason: (contact) => kirimSkipReason(contact),
  lookup: ({ contact, credentials, baseUrl }) => {
    const phone = kirimPhone(contact);
    if (phone === undefined) return undefined;
    return {
      method: 'GET',
      url: `${contactsUrl(baseUrl, credentials)}?phone=${encodeURIComponent(phone)}`,
      headers: authHeaders(credentials),
    };
  },
  readLookup: readKirimLookup,
  create: ({ contact, target, credentials, baseUrl }) => ({
    method: 'POST',
    url: contactsUrl(baseUrl, credentials),
    headers: {
      ...authHeaders(credentials),
      'content-type': 'application/json',
      'idempotency-key': kirimIdempotencyKey(contact, target, credentials.phoneNumberId),
    },
    body: JSON.stringify(toKirimRequest(contact, target)),
  }),
  readCreate: readKirimCreate,
  // "List connected WhatsApp accounts" (https://developers.kirim.chat/api/operations/accounts/), the call the
  // contact doc points to for phone_number_id. It proves the token only, not that phoneNumberId is one of them.
  healthCheck: (credentials, baseUrl) => ({
    method: 'GET',
    url: `${baseUrl}/v1/accounts`,
    headers: authHeaders(credentials),
  }),
};
