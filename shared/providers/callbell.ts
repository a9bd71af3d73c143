/**
 * Callbell's contacts API (https://docs.callbell.eu/api/reference/contacts_api/post_contacts):
 * `POST {base}/v1/contacts` with `Authorization: Bearer`. A contact is keyed
 * by its `identifier` (the WhatsApp number); `source` and `name` are
 * required. Tags, custom fields and the assigned user must already exist in
 * the Callbell account, so they come from the route's `callbell` options
 * only. Callbell has no email field: the email goes only into the custom
 * field the route names. Callbell documents no duplicate handling and no
 * error body (https://docs.callbell.eu/api/reference/errors), so the person
 * is looked up first (`GET /v1/contacts/phone/:number`) and errors are read
 * leniently.
 */
import { displayName, type Contact, type Phone } from '../contact.js';
import type { HttpResponse } from '../http.js';
import * as z from '../zod.js';
import {
  DEFAULT_BASE_URLS,
  parseJson,
  retryAfterMs,
  type DeliveryTarget,
  type ProviderAdapter,
  type ProviderAnswer,
} from './types.js';

export const CallbellCredentialsSchema = z.object({
  token: z.string().check(z.minLength(1)),
});

interface CallbellContactRequest {
  identifier: string;
  source: 'whatsapp';
  name: string;
  tags?: string[];
  custom_fields?: Record<string, string>;
  assigned_user?: string;
}

const CallbellContactSchema = z.object({ uuid: z.string().check(z.minLength(1)) });

/**
 * The create and update pages' examples answer `{contact: [ {...} ]}` (an
 * array) while their tables say "contact: Contact"; the get-by-phone page
 * answers one object. Both shapes are read everywhere, so a change of mind on
 * Callbell's side breaks nothing.
 */
const CallbellContactAnswerSchema = z.object({
  contact: z.nullable(z.union([CallbellContactSchema, z.array(CallbellContactSchema)])),
});

/** Assumption: the error body is undocumented; take whatever of these fields is there, in any shape. */
const CallbellErrorSchema = z.object({
  error: z.optional(z.unknown()),
  message: z.optional(z.unknown()),
  errors: z.optional(z.unknown()),
});

/** The phone Callbell gets: one flagged as WhatsApp if any, else the first. */
function callbellPhone(contact: Contact): Phone | undefined {
  return contact.phones.find((phone) => phone.whatsapp === true) ?? contact.phones[0];
}

/**
 * Callbell's identifier for an E.164 number: its digits without the '+'.
 * The create page's example sends "123456789" and the get-by-phone page's
 * example asks for "5790372023", both digits only.
 * Assumption: Callbell keys WhatsApp contacts on these digits, so sending the
 * '+' could make a second contact next to one made in the Callbell inbox.
 */
export function toCallbellIdentifier(e164: string): string {
  return e164.replace(/^\+/, '');
}

/**
 * The documented create body. Callbell's contact has no email field, and a
 * custom field must exist in the account before a create may fill it (an
 * `email`-typed one is checked as an email): the email goes into the custom
 * field the route names, else it is not sent at all. Not as the name, and not
 * as the free-text `note` the create page lists since July 2026, which is the
 * team's to write.
 */
export function toCallbellRequest(contact: Contact, target: DeliveryTarget): CallbellContactRequest {
  const phone = callbellPhone(contact);
  if (phone === undefined)
    throw new Error('toCallbellRequest needs a contact with a phone (skipReason rules the others out)');
  const email = contact.emails[0];
  const options = target.route.callbell;
  // `name` is required: without one, the number names the person.
  const request: CallbellContactRequest = {
    identifier: toCallbellIdentifier(phone.e164),
    source: 'whatsapp',
    name: displayName(contact) ?? phone.e164,
  };
  if (options?.tags !== undefined && options.tags.length > 0) request.tags = [...options.tags];
  if (email !== undefined && options?.emailCustomField !== undefined) {
    request.custom_fields = { [options.emailCustomField]: email };
  }
  if (options?.assignedUser !== undefined) request.assigned_user = options.assignedUser;
  return request;
}

/** Why this contact cannot become a Callbell contact; never names the raw number. */
export function callbellSkipReason(contact: Contact): string | undefined {
  if (callbellPhone(contact) !== undefined) return undefined;
  const rejected = contact.rejectedPhones;
  if (rejected.length === 0) return 'Callbell needs a phone number (its contact identifier) and the contact has none';
  const reasons = [...new Set(rejected.map((phone) => phone.reason))].join('; ');
  return `Callbell needs a valid phone number (its contact identifier); ${rejected.length} phone number${rejected.length === 1 ? ' was' : 's were'} rejected: ${reasons}`;
}

/** Flatten whatever an error field holds (string, list, Rails-style `{field: [msgs]}`) into one line. */
function errorText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (Array.isArray(value)) {
    const parts = value.map(errorText).filter((part): part is string => part !== undefined);
    return parts.length === 0 ? undefined : parts.join('; ');
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const message = errorText(record['message']);
    if (message !== undefined) return message;
    const parts = Object.entries(record)
      .map(([field, inner]) => {
        const text = errorText(inner);
        return text === undefined ? undefined : `${field}: ${text}`;
      })
      .filter((part): part is string => part !== undefined);
    return parts.length === 0 ? undefined : parts.join('; ');
  }
  return undefined;
}

export function callbellErrorMessage(response: HttpResponse): string {
  const parsed = CallbellErrorSchema.safeParse(parseJson(response.body));
  const fields = parsed.success ? [parsed.data.error, parsed.data.message, parsed.data.errors] : [];
  const texts = [...new Set(fields.map(errorText).filter((text): text is string => text !== undefined))];
  return texts.length > 0 ? texts.join('; ') : `HTTP ${response.status}`;
}

/**
 * Assumption: Callbell documents no answer to a create for a number it already
 * has; these words for "already a contact" are a guess, so matched loosely.
 */
const ALREADY_EXISTS = /already (exists?|taken|registered|been taken|in use)|duplicate/i;

function contactId(body: string): string | undefined {
  const parsed = CallbellContactAnswerSchema.safeParse(parseJson(body));
  if (!parsed.success || parsed.data.contact === null) return undefined;
  const contact = parsed.data.contact;
  return Array.isArray(contact) ? contact[0]?.uuid : contact.uuid;
}

function readError(response: HttpResponse): ProviderAnswer {
  const message = callbellErrorMessage(response);
  // Callbell's errors page says only that authentication errors are 4xx
  // (https://docs.callbell.eu/api/reference/errors). Assumption: a missing,
  // wrong or revoked token gets 401, and 403 is a token not allowed to do this.
  if (response.status === 401 || response.status === 403)
    return { kind: 'unauthorized', httpStatus: response.status, message };
  // 5xx are "usually safe to retry" (the errors page); 429 above 300 requests a
  // second (https://docs.callbell.eu/api/reference/rate_limits); 408 is a timeout.
  if (response.status === 429 || response.status === 408 || response.status >= 500) {
    const wait = retryAfterMs(response.headers);
    return {
      kind: 'transient',
      httpStatus: response.status,
      message,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    };
  }
  // The rest, such as the "validation error" of a custom field value (its status
  // is undocumented) or a tag or user the account lacks: the same request would
  // be refused again; the message says which field.
  return { kind: 'failed', httpStatus: response.status, message };
}

export function readCallbellCreate(response: HttpResponse): ProviderAnswer {
  if (response.status >= 200 && response.status < 300) {
    const id = contactId(response.body);
    if (id !== undefined) return { kind: 'created', id };
    return {
      kind: 'failed',
      httpStatus: response.status,
      code: 'unexpected_response',
      message: 'Callbell answered 2xx without the created contact',
    };
  }
  // A lookup miss followed by a refused duplicate (another delivery won the
  // race, or the lookup's number form differs): the person is there.
  // Assumption (no page documents it): 409 on a create can only mean that; 422
  // only when the message says so.
  if (response.status === 409 || (response.status === 422 && ALREADY_EXISTS.test(callbellErrorMessage(response)))) {
    const id = contactId(response.body);
    return { kind: 'exists', ...(id !== undefined ? { id } : {}) };
  }
  return readError(response);
}

/** Assumption: the get-by-phone page documents no miss; a 404 (or an empty `contact`) is read as one. */
export function readCallbellLookup(response: HttpResponse): ProviderAnswer {
  if (response.status === 404) return { kind: 'not_found' };
  if (response.status < 200 || response.status >= 300) return readError(response);
  const parsed = CallbellContactAnswerSchema.safeParse(parseJson(response.body));
  if (!parsed.success)
    return {
      kind: 'failed',
      httpStatus: response.status,
      code: 'unexpected_response',
      message: 'Callbell lookup answered without a contact',
    };
  const contact = parsed.data.contact;
  const found = contact === null ? undefined : Array.isArray(contact) ? contact[0] : contact;
  return found === undefined ? { kind: 'not_found' } : { kind: 'exists', id: found.uuid };
}

/**
 * The token goes as a bearer (https://docs.callbell.eu/api/reference/authorization); the
 * `Accept: application/json` that https://docs.callbell.eu/api/reference/format_and_headers
 * asks clients for is added by the HTTP client to every request.
 */
function callbellHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export const callbellAdapter: ProviderAdapter<typeof CallbellCredentialsSchema> = {
  provider: 'callbell',
  // Lookup and create. Assumption: Callbell's limit (https://docs.callbell.eu/api/reference/rate_limits) counts
  // every request of the token; its page does not say which.
  rateCost: () => 2,
  credentials: CallbellCredentialsSchema,
  defaultBaseUrl: () => DEFAULT_BASE_URLS.callbell,
  skipReason: callbellSkipReason,
  lookup: ({ contact, credentials, baseUrl }) => {
    const phone = callbellPhone(contact);
    if (phone === undefined) return undefined;
    // https://docs.callbell.eu/api/reference/contacts_api/get_contact_by_phone: without
    // `channel_uuid` it searches the main WhatsApp channel, where a create without
    // `channel_uuid` puts the contact. The same digits as the identifier, so lookup
    // and create agree on who the person is.
    return {
      method: 'GET',
      url: `${baseUrl}/v1/contacts/phone/${toCallbellIdentifier(phone.e164)}`,
      headers: callbellHeaders(credentials.token),
    };
  },
  readLookup: readCallbellLookup,
  create: ({ contact, target, credentials, baseUrl }) => ({
    method: 'POST',
    url: `${baseUrl}/v1/contacts`,
    headers: { 'content-type': 'application/json', ...callbellHeaders(credentials.token) },
    body: JSON.stringify(toCallbellRequest(contact, target)),
  }),
  readCreate: readCallbellCreate,
  // https://docs.callbell.eu/api/reference/channels_api/get_channels: the account's channels,
  // read-only; one page is enough.
  healthCheck: (credentials, baseUrl) => ({
    method: 'GET',
    url: `${baseUrl}/v1/channels`,
    headers: callbellHeaders(credentials.token),
  }),
};
