/**
 * 2Chat, as its developer docs describe it (test/contracts/twochat.md lists every page and assumption):
 * - create: `POST {base}/open/contacts` with `X-User-API-Key`, a first name and at least one
 *   `contact_detail` {type: E|A|PH|WAPH, value} (https://developers.2chat.co/docs/API/Contacts/create-contact).
 *   The page's field table spells the list `contact_details`, but its cURL, Python and NodeJS examples all send
 *   `contact_detail`, and so do 2Chat's own agent skills and Pipedream's 2Chat action: we send the singular.
 * - duplicates: 2Chat refuses none, so the person is searched first
 *   (https://developers.2chat.co/docs/API/Contacts/search-contacts). The search matches substrings of names,
 *   phones and emails, so a hit is the person only when one of its details is one of our phones or emails.
 * - status codes: https://developers.2chat.co/docs/API/api-response-codes.
 */
import type { Contact } from '../contact.js';
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
import type { HttpRequest, HttpResponse } from '../http.js';

const TwoChatCredentialsSchema = z.object({
  apiKey: z.string().check(z.minLength(1)),
});
type TwoChatCredentials = z.infer<typeof TwoChatCredentialsSchema>;

interface TwoChatContactRequest {
  first_name: string;
  last_name?: string;
  profile_pic_url?: string;
  contact_detail: Array<{ type: 'E' | 'A' | 'PH' | 'WAPH'; value: string }>;
}

const DetailSchema = z.object({ value: z.string(), type: z.string() });

export const TwoChatCreatedSchema = z.object({
  success: z.literal(true),
  contact: z.object({
    uuid: z.string(),
    first_name: z.nullable(z.string()),
    last_name: z.nullable(z.string()),
    details: z.array(DetailSchema),
  }),
});

/** The documented search answer `{success, page, count, contacts:[{uuid, ..., details:[{value, type}]}]}`. */
export const TwoChatSearchSchema = z.object({
  page: z.number(),
  // The docs never say whether `count` is this page's size or the total; `hasMorePages` reads it either way.
  count: z.optional(z.number()),
  contacts: z.array(z.object({ uuid: z.string(), details: z.optional(z.array(DetailSchema)) })),
});

const TwoChatErrorSchema = z.object({ message: z.optional(z.string()), error: z.optional(z.string()) });

/** The most a search page may hold ("between 1 and 100"): fewer pages for the engine's page limit. */
export const TWOCHAT_RESULTS_PER_PAGE = 100;

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

/**
 * What the person is searched by, in order: the first phone's digits, then the first email. The docs' own
 * example query is bare digits ("2123334444"), and digits are a substring of a number stored with or
 * without "+". The email is searched too when the phone finds nobody: a person kept in 2Chat with only
 * our email is still the person, and creating them again is the duplicate the search exists to prevent.
 */
function twoChatSearchQueries(contact: Contact): string[] {
  const phone = contact.phones[0];
  const email = contact.emails[0];
  return [...(phone !== undefined ? [phone.e164.slice(1)] : []), ...(email !== undefined ? [email] : [])];
}

function searchRequest(context: RequestContext<TwoChatCredentials>, query: string, page: number): HttpRequest {
  const params = new URLSearchParams({
    query,
    results_per_page: String(TWOCHAT_RESULTS_PER_PAGE),
    page_number: String(page),
  });
  return {
    method: 'GET',
    url: `${context.baseUrl}/open/contacts/search?${params.toString()}`,
    headers: { 'x-user-api-key': context.credentials.apiKey },
  };
}

/** The search after the one `request` made: its next page, else the next query from page 0. */
function nextSearch(
  context: RequestContext<TwoChatCredentials>,
  request: HttpRequest,
  morePages: boolean,
): HttpRequest | undefined {
  const params = new URL(request.url).searchParams;
  const query = params.get('query') ?? '';
  if (morePages) return searchRequest(context, query, Number(params.get('page_number') ?? 0) + 1);
  const queries = twoChatSearchQueries(context.contact);
  const following = queries[queries.indexOf(query) + 1];
  return following === undefined ? undefined : searchRequest(context, following, 0);
}

/** A stored phone written with spaces, dashes, dots, brackets or without "+" is still the same number. */
const phoneDigits = (value: string) => value.replace(/[\s().-]/g, '').replace(/^\+/, '');

/** True when one of the hit's details is one of our phones (same digits) or emails (any case). */
export function isSamePerson(details: ReadonlyArray<{ value: string }>, contact: Contact): boolean {
  const phones = new Set(contact.phones.map((phone) => phone.e164.slice(1)));
  const emails = new Set(contact.emails.map((email) => email.toLowerCase()));
  return details.some(({ value }) => phones.has(phoneDigits(value)) || emails.has(value.trim().toLowerCase()));
}

/**
 * A further page exists when this one is full, unless `count` read as a total says it was the last.
 * When `count` equals this page's size it may be either reading, so the next page is asked for: at worst
 * one empty page.
 */
function hasMorePages(page: number, count: number | undefined, onPage: number): boolean {
  if (onPage < TWOCHAT_RESULTS_PER_PAGE) return false;
  return count === undefined || count === onPage || count > page * TWOCHAT_RESULTS_PER_PAGE + onPage;
}

/** Each documented status (https://developers.2chat.co/docs/API/api-response-codes) and what it means to us. */
const ERRORS: Record<number, { kind: 'unauthorized' | 'failed' | 'transient'; code?: string }> = {
  400: { kind: 'failed', code: 'bad_request' },
  // "Unauthorized, usually in the context of an invalid API key": the engine re-reads a rotated key once.
  401: { kind: 'unauthorized' },
  // Trial expired or API credits used up: someone has to pay before any retry can succeed.
  402: { kind: 'failed', code: 'payment_required' },
  // "Operation is forbidden": the key was accepted; the same request would be refused again.
  403: { kind: 'failed', code: 'forbidden' },
  404: { kind: 'failed', code: 'not_found' },
  406: { kind: 'failed', code: 'not_supported' },
  // The connected number is restarting, connecting or busy: "try again in a few seconds".
  409: { kind: 'transient' },
  410: { kind: 'transient' },
  422: { kind: 'failed', code: 'invalid_request' },
  429: { kind: 'transient' },
  486: { kind: 'transient' },
};

function readError(response: HttpResponse): ProviderAnswer {
  const parsed = TwoChatErrorSchema.safeParse(parseJson(response.body));
  const httpStatus = response.status;
  const message = (parsed.success ? (parsed.data.message ?? parsed.data.error) : undefined) ?? `HTTP ${httpStatus}`;
  // 503 and 504 are documented as temporary; any other 5xx is read the same way.
  const meaning = ERRORS[httpStatus] ?? { kind: httpStatus >= 500 ? ('transient' as const) : ('failed' as const) };
  if (meaning.kind === 'unauthorized') return { kind: 'unauthorized', httpStatus, message };
  if (meaning.kind === 'transient') {
    const wait = retryAfterMs(response.headers);
    return { kind: 'transient', httpStatus, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  return { kind: 'failed', httpStatus, ...(meaning.code !== undefined ? { code: meaning.code } : {}), message };
}

/** 2Chat answers 201 to a create; any 2xx carrying the created contact counts. */
export function readTwoChatCreate(response: HttpResponse): ProviderAnswer {
  if (response.status < 200 || response.status >= 300) return readError(response);
  const created = TwoChatCreatedSchema.safeParse(parseJson(response.body));
  if (created.success) return { kind: 'created', id: created.data.contact.uuid };
  const message = '2Chat answered 2xx without the created contact';
  return { kind: 'failed', httpStatus: response.status, code: 'unexpected_response', message };
}

/** Reads one search page: the person, the next page or query, or nobody. */
export function readTwoChatSearch(
  response: HttpResponse,
  context: RequestContext<TwoChatCredentials>,
  request: HttpRequest,
): ProviderAnswer {
  if (response.status < 200 || response.status >= 300) return readError(response);
  const parsed = TwoChatSearchSchema.safeParse(parseJson(response.body));
  if (!parsed.success) {
    const message = '2Chat search answered without its page and contacts';
    return { kind: 'failed', httpStatus: response.status, code: 'unexpected_response', message };
  }
  const { page, count, contacts } = parsed.data;
  const person = contacts.find((hit) => isSamePerson(hit.details ?? [], context.contact));
  if (person !== undefined) return { kind: 'exists', id: person.uuid };
  const next = nextSearch(context, request, hasMorePages(page, count, contacts.length));
  return next === undefined ? { kind: 'not_found' } : { kind: 'next_page', request: next };
}

export const twoChatAdapter: ProviderAdapter<typeof TwoChatCredentialsSchema> = {
  provider: 'twochat',
  // A search per query (phone, then email) and the create: 2Chat's limit counts every request of the account
  // (https://developers.2chat.co/docs/API/api-response-codes).
  rateCost: (contact) => 1 + (contact === undefined ? 2 : twoChatSearchQueries(contact).length),
  credentials: TwoChatCredentialsSchema,
  defaultBaseUrl: () => DEFAULT_BASE_URLS.twochat,
  skipReason: (contact) =>
    contact.phones.length === 0 && contact.emails.length === 0
      ? '2Chat needs an email or a valid phone number'
      : undefined,
  // Pages are numbered from 0: the docs' example asks page_number=0 and is answered "page": 0.
  lookup: (context) => {
    const first = twoChatSearchQueries(context.contact)[0];
    return first === undefined ? undefined : searchRequest(context, first, 0);
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
  healthCheck: (credentials, baseUrl) => ({
    method: 'GET',
    url: `${baseUrl}/open/whatsapp/get-numbers`,
    headers: { 'x-user-api-key': credentials.apiKey },
  }),
};
