/**
 * 2Chat (../shared/seeds/2chat-create-contact.txt):
 * `POST {base}/open/contacts` with `X-User-API-Key`. A contact needs a first
 * name and at least one `contact_detail` (the doc's examples spell it in the
 * singular, and so do we). Phones go as PH, or WAPH when the route says its
 * numbers are on WhatsApp. 2Chat documents no duplicate handling, so the
 * person is searched first (`GET /open/contacts/search?query=`).
 */
import type { Contact } from '../contact.js';
import * as z from '../zod.js';
import { DEFAULT_BASE_URLS, parseJson, retryAfterMs, type DeliveryTarget, type ProviderAdapter, type ProviderAnswer } from './types.js';
import type { HttpResponse } from '../http.js';

export const TwoChatCredentialsSchema = z.object({
  apiKey: z.string().check(z.minLength(1)),
});

export interface TwoChatContactRequest {
  first_name: string;
  last_name?: string;
  profile_pic_url?: string;
  contact_detail: Array<{ type: 'E' | 'A' | 'PH' | 'WAPH'; value: string }>;
}

export const TwoChatCreatedSchema = z.object({
  success: z.literal(true),
  contact: z.object({
    uuid: z.string(),
    first_name: z.nullable(z.string()),
    last_name: z.nullable(z.string()),
    details: z.array(z.object({ id: z.number(), value: z.string(), type: z.string() })),
  }),
});

const TwoChatErrorSchema = z.object({ message: z.optional(z.string()), error: z.optional(z.string()) });

/** The search answer is undocumented: read any array of contacts carrying a uuid. */
const TwoChatSearchSchema = z.object({
  contacts: z.optional(z.array(z.object({ uuid: z.string() }))),
  data: z.optional(z.array(z.object({ uuid: z.string() }))),
});

/** The documented body; its first name falls back to the last name, then to the first detail. */
export function toTwoChatRequest(contact: Contact, target: DeliveryTarget): TwoChatContactRequest {
  const details: TwoChatContactRequest['contact_detail'] = [];
  for (const phone of contact.phones) {
    details.push({ type: phone.whatsapp === true || target.route.whatsappNumbers ? 'WAPH' : 'PH', value: phone.e164 });
  }
  for (const email of contact.emails) details.push({ type: 'E', value: email });
  const firstName = contact.firstName ?? contact.lastName ?? details[0]?.value ?? '';
  const request: TwoChatContactRequest = { first_name: firstName, contact_detail: details };
  if (contact.firstName !== undefined && contact.lastName !== undefined) request.last_name = contact.lastName;
  if (contact.avatarUrl !== undefined) request.profile_pic_url = contact.avatarUrl;
  return request;
}

/** 2Chat answers meaning "the number is not ready yet" or "slow down". */
const TRANSIENT = new Set([409, 410, 429, 486]);

function readError(response: HttpResponse): ProviderAnswer {
  const parsed = TwoChatErrorSchema.safeParse(parseJson(response.body));
  const message = (parsed.success ? (parsed.data.message ?? parsed.data.error) : undefined) ?? `HTTP ${response.status}`;
  if (response.status === 401 || response.status === 403) return { kind: 'unauthorized', httpStatus: response.status, message };
  if (TRANSIENT.has(response.status) || response.status >= 500) {
    const wait = retryAfterMs(response.headers);
    return { kind: 'transient', httpStatus: response.status, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  // 402 (no credits), 422 (malformed) and the rest: the same request would fail again.
  return { kind: 'failed', httpStatus: response.status, message };
}

export function readTwoChatCreate(response: HttpResponse): ProviderAnswer {
  if (response.status < 200 || response.status >= 300) return readError(response);
  const created = TwoChatCreatedSchema.safeParse(parseJson(response.body));
  if (created.success) return { kind: 'created', id: created.data.contact.uuid };
  return { kind: 'failed', httpStatus: response.status, code: 'unexpected_response', message: '2Chat answered 2xx without the created contact' };
}

export function readTwoChatSearch(response: HttpResponse): ProviderAnswer {
  if (response.status < 200 || response.status >= 300) return readError(response);
  const parsed = TwoChatSearchSchema.safeParse(parseJson(response.body));
  if (!parsed.success) return { kind: 'failed', httpStatus: response.status, code: 'unexpected_response', message: '2Chat search answered without a contacts list' };
  const found = parsed.data.contacts?.[0] ?? parsed.data.data?.[0];
  return found === undefined ? { kind: 'not_found' } : { kind: 'exists', id: found.uuid };
}

export const twoChatAdapter: ProviderAdapter<typeof TwoChatCredentialsSchema> = {
  provider: 'twochat',
  credentials: TwoChatCredentialsSchema,
  defaultBaseUrl: () => DEFAULT_BASE_URLS.twochat,
  skipReason: (contact) => (contact.phones.length === 0 && contact.emails.length === 0 ? '2Chat needs an email or a valid phone number' : undefined),
  lookup: ({ contact, credentials, baseUrl }) => {
    // Phone first: it is what a WhatsApp contact is keyed by.
    const query = contact.phones[0]?.e164 ?? contact.emails[0];
    if (query === undefined) return undefined;
    return {
      method: 'GET',
      url: `${baseUrl}/open/contacts/search?query=${encodeURIComponent(query)}`,
      headers: { 'x-user-api-key': credentials.apiKey },
    };
  },
  readLookup: readTwoChatSearch,
  create: ({ contact, target, credentials, baseUrl }) => ({
    method: 'POST',
    url: `${baseUrl}/open/contacts`,
    headers: { 'content-type': 'application/json', 'x-user-api-key': credentials.apiKey },
    body: JSON.stringify(toTwoChatRequest(contact, target)),
  }),
  readCreate: readTwoChatCreate,
  // "List WhatsApp Numbers" (developers.2chat.co/docs/API/WhatsApp/list-numbers): read-only, one small list.
  healthCheck: (credentials, baseUrl) => ({ method: 'GET', url: `${baseUrl}/open/whatsapp/get-numbers`, headers: { 'x-user-api-key': credentials.apiKey } }),
};
