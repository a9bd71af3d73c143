/**
 * Kirim.chat (../shared/seeds/kirim-create-contact.txt):
 * `POST {base}/v1/{phone_number_id}/contacts` with `Authorization: Bearer`.
 * The contact belongs to the WhatsApp account named by the Meta
 * phone_number_id in the path, and its only required field is an E.164
 * `phone_number`, so a contact without a valid phone is skipped.
 *
 * Kirim documents no duplicate behaviour for contacts, so the person is looked
 * up first (`GET /v1/{phone_number_id}/contacts?phone=`), and every create
 * carries an `Idempotency-Key` derived from the event, so a job retried after
 * a lost answer replays the first creation instead of making a second one.
 */
import { createHash } from 'node:crypto';
import { displayName, type Contact } from '../contact.js';
import type { HttpResponse } from '../http.js';
import * as z from '../zod.js';
import { DEFAULT_BASE_URLS, parseJson, retryAfterMs, type DeliveryTarget, type ProviderAdapter, type ProviderAnswer } from './types.js';

export const KirimCredentialsSchema = z.object({
  token: z.string().check(z.minLength(1)),
  /** Meta's phone_number_id of the connected WhatsApp number (Kirim: `GET /v1/accounts`). */
  phoneNumberId: z.string().check(z.minLength(1)),
});
export type KirimCredentials = z.infer<typeof KirimCredentialsSchema>;

export interface KirimContactRequest {
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
export const KirimCreatedSchema = z.object({
  data: z.object({
    id: z.string().check(z.minLength(1)),
    object: z.optional(z.string()),
  }),
  request_id: z.optional(z.string()),
});

const optionalText = z.optional(z.nullable(z.string()));

/** Kirim's documented error envelope; every field is optional so a proxy's or a partial body still reads. */
export const KirimErrorSchema = z.object({
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

const ListedContact = z.object({ id: z.optional(z.string()) });

/**
 * The lookup answer is undocumented. Kirim's list style is `{data: [...]}`
 * with items shaped like the created contact; a bare array, `{contacts: [...]}`
 * and a single `{data: {...}}` match are read too.
 */
export const KirimListSchema = z.union([
  z.object({ data: z.array(ListedContact) }),
  z.object({ contacts: z.array(ListedContact) }),
  z.array(ListedContact),
  z.object({ data: z.object({ id: z.string().check(z.minLength(1)) }) }),
]);

/** Metadata keys we add; prefixed so a form field called "source" keeps its own value. */
export const KIRIM_ORIGIN_KEYS = { source: 'origin_source', route: 'origin_route' } as const;

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
  if (phone === undefined) throw new Error('toKirimRequest needs a contact with a valid phone number (check kirimSkipReason first)');
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
 * Same event, route and account → same key, so Kirim replays the first
 * creation when a job is retried after a lost answer. The route is part of
 * the key because two routes can carry one sender event to one account with
 * different metadata, and a reused key with another body is refused.
 */
export function kirimIdempotencyKey(contact: Contact, target: DeliveryTarget): string {
  const material = JSON.stringify([target.account.name, contact.origin.source, contact.origin.route, contact.origin.eventKey]);
  return `contact-relay-${createHash('sha256').update(material).digest('hex')}`;
}

/** Codes meaning "this person is already a contact": whichever spelling Kirim uses, it is not a failure. */
const DUPLICATE_CODES = new Set(['contact_already_exists', 'duplicate_contact', 'contact_exists', 'already_exists', 'resource_already_exists']);
const RATE_LIMIT_CODES = new Set(['rate_limited', 'rate_limit_exceeded', 'too_many_requests']);
/** Another request with our key is still running (an SQS redelivery racing the first attempt): its answer will be replayable. */
const IN_FLIGHT_CODES = new Set(['idempotency_key_in_use', 'request_in_progress']);

interface KirimError {
  type?: string;
  code?: string;
  message?: string;
  param?: string;
  requestId?: string;
}

export function readKirimError(body: string): KirimError {
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
export function describeKirimError(status: number, error: KirimError): string {
  const head = error.message ?? ([error.code, error.type ? `(${error.type})` : undefined].filter(Boolean).join(' ') || `HTTP ${status}`);
  const details = [error.param ? `param ${error.param}` : undefined, error.requestId ? `request_id ${error.requestId}` : undefined].filter(Boolean);
  return details.length > 0 ? `${head}; ${details.join('; ')}` : head;
}

/** Any non-2xx answer, by Kirim's `code` first and the HTTP status after. */
function readError(response: HttpResponse): ProviderAnswer {
  const status = response.status;
  const error = readKirimError(response.body);
  const code = error.code;
  const message = describeKirimError(status, error);

  if (status === 401 || status === 403) return { kind: 'unauthorized', httpStatus: status, message };
  if (
    status === 429 ||
    status === 408 ||
    status >= 500 ||
    error.type === 'rate_limit_error' ||
    (code !== undefined && (RATE_LIMIT_CODES.has(code) || IN_FLIGHT_CODES.has(code)))
  ) {
    const wait = retryAfterMs(response.headers);
    return { kind: 'transient', httpStatus: status, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  if (code !== undefined && DUPLICATE_CODES.has(code)) return { kind: 'exists' };
  // invalid_phone_number, idempotency_key_reused and the rest: the same request would be refused again.
  const hint = status === 404 ? ' (is phoneNumberId in the account secret a WhatsApp number connected to this Kirim.chat token?)' : '';
  const failedCode = code ?? error.type;
  return { kind: 'failed', httpStatus: status, ...(failedCode !== undefined ? { code: failedCode } : {}), message: `${message}${hint}` };
}

export function readKirimCreate(response: HttpResponse): ProviderAnswer {
  if (response.status < 200 || response.status >= 300) return readError(response);
  const created = KirimCreatedSchema.safeParse(parseJson(response.body));
  if (created.success) return { kind: 'created', id: created.data.data.id };
  return { kind: 'failed', httpStatus: response.status, code: 'unexpected_response', message: 'Kirim.chat answered 2xx without the created contact' };
}

/** 404 and 405 mean the list endpoint is not there, 400 that it refuses the filter: the create call decides then. */
const LOOKUP_UNAVAILABLE = new Set([400, 404, 405]);

export function readKirimLookup(response: HttpResponse): ProviderAnswer {
  if (LOOKUP_UNAVAILABLE.has(response.status)) return { kind: 'not_found' };
  if (response.status < 200 || response.status >= 300) return readError(response);
  const parsed = KirimListSchema.safeParse(parseJson(response.body));
  if (!parsed.success) return { kind: 'failed', httpStatus: response.status, code: 'unexpected_response', message: 'Kirim.chat lookup answered without a contacts list' };
  const list = parsed.data;
  const found = Array.isArray(list) ? list[0] : 'contacts' in list ? list.contacts[0] : Array.isArray(list.data) ? list.data[0] : list.data;
  if (found === undefined) return { kind: 'not_found' };
  return found.id !== undefined ? { kind: 'exists', id: found.id } : { kind: 'exists' };
}

function authHeaders(credentials: KirimCredentials): Record<string, string> {
  return { authorization: `Bearer ${credentials.token}` };
}

function contactsUrl(baseUrl: string, credentials: KirimCredentials): string {
  return `${baseUrl}/v1/${encodeURIComponent(credentials.phoneNumberId)}/contacts`;
}

export const kirimAdapter: ProviderAdapter<typeof KirimCredentialsSchema> = {
  provider: 'kirim',
  credentials: KirimCredentialsSchema,
  defaultBaseUrl: () => DEFAULT_BASE_URLS.kirim,
  skipReason: (contact) => kirimSkipReason(contact),
  lookup: ({ contact, credentials, baseUrl }) => {
    const phone = kirimPhone(contact);
    if (phone === undefined) return undefined;
    return { method: 'GET', url: `${contactsUrl(baseUrl, credentials)}?phone=${encodeURIComponent(phone)}`, headers: authHeaders(credentials) };
  },
  readLookup: readKirimLookup,
  create: ({ contact, target, credentials, baseUrl }) => ({
    method: 'POST',
    url: contactsUrl(baseUrl, credentials),
    headers: { ...authHeaders(credentials), 'content-type': 'application/json', 'idempotency-key': kirimIdempotencyKey(contact, target) },
    body: JSON.stringify(toKirimRequest(contact, target)),
  }),
  readCreate: readKirimCreate,
  // "List connected WhatsApp accounts" (developers.kirim.chat/api/operations/accounts/), the call the
  // contact doc points to for phone_number_id. It proves the token only, not that phoneNumberId is one of them.
  healthCheck: (credentials, baseUrl) => ({ method: 'GET', url: `${baseUrl}/v1/accounts`, headers: authHeaders(credentials) }),
};
