/**
 * 99digital, a Chatwoot white-label: `POST {base}/api/v1/accounts/{account_id}/contacts` with the
 * `api_access_token` header (https://docs.99digital.co.il/online-api/contacts/create-contact,
 * https://developers.chatwoot.com/api-reference/contacts/create-contact). The host, account, inbox
 * and token all come from the account secret, so the same adapter serves 99digital and any
 * self-hosted Chatwoot.
 *
 * Duplicates: Chatwoot refuses a second contact with the same email
 * (case-insensitive), phone number or identifier in an account with
 * 422 `{"message":"Email has already been taken","attributes":["email"]}`.
 * That refusal is the lookup, so there is no search before create: one call
 * per contact, and no window between a search and a create for two
 * deliveries of the same person to race through. An identifier is always
 * sent because, unlike the phone, it has a unique index in the database: two
 * concurrent creates of a phone-only person cannot both land (the loser gets
 * a 500, which is retried into the 422).
 *
 * A WhatsApp (or SMS) inbox needs the contact's phone and refuses an email-only contact with a 422
 * that names the missing phone, rolling the contact back. That answer is read as a skip, so no
 * channel type has to be kept in the secret (where it could go stale when the inbox changes) and no
 * inbox is fetched per delivery: the refusal costs the one call the delivery makes anyway.
 */
import { createHash } from 'node:crypto';
import { displayName, type Contact } from '../contact.js';
import type { HttpResponse } from '../http.js';
import * as z from '../zod.js';
import {
  parseJson,
  retryAfterMs,
  type DeliveryTarget,
  type ProviderAdapter,
  type ProviderAnswer,
  type RequestContext,
} from './types.js';

/** Account, inbox and contact ids are integers; a secret typed by hand may quote them. */
const PositiveId = z.pipe(
  z.union([z.number(), z.string().check(z.regex(/^\d+$/, 'must be a positive whole number'))]),
  z.pipe(
    z.transform((value: number | string) => Number(value)),
    z.int('must be a positive whole number').check(z.positive('must be a positive whole number')),
  ),
);

export const ChatwootCredentialsSchema = z.object({
  /**
   * Required rather than defaulting to 99digital: a self-hosted token sent to
   * the wrong host would leak it. A path prefix is allowed (Chatwoot behind a
   * reverse proxy); the API or dashboard path itself is a copy-paste slip.
   */
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://online.99digital.co.il' })
    .check(
      z.refine(
        (value) => !/\/(api|app)(\/|$)/.test(new URL(value).pathname),
        'must be the Chatwoot host only (e.g. https://online.99digital.co.il), without /api/... or /app/...',
      ),
    ),
  accountId: PositiveId,
  inboxId: PositiveId,
  accessToken: z.string().check(z.minLength(1)),
});
export type ChatwootCredentials = z.infer<typeof ChatwootCredentialsSchema>;

/** The keys of `contact_create_payload` this client fills. */
interface ChatwootContactRequest {
  inbox_id: number;
  name?: string;
  email?: string;
  phone_number?: string;
  avatar_url?: string;
  identifier?: string;
  additional_attributes?: { city?: string; country_code?: string };
  custom_attributes?: Record<string, string>;
}

/** `ApplicationRecord` caps every string column at 255 characters and answers 422 past it. */
const MAX_STRING = 255;

const truncate = (value: string, max = MAX_STRING) => {
  const chars = [...value];
  return chars.length <= max ? value : chars.slice(0, max).join('');
};

/**
 * The person's id at its source, namespaced by the source so a Shopify
 * customer id never collides with a form's email. Chatwoot compares
 * identifiers case-sensitively and keeps them forever, so the same person
 * must always produce the same string: the source's person key, else the
 * (lower-cased) email, else the phone. Past 255 characters it becomes a hash,
 * which is as stable and fits the column.
 */
export function chatwootIdentifier(contact: Contact): string | undefined {
  const key = contact.origin.personKey ?? contact.emails[0]?.toLowerCase() ?? contact.phones[0]?.e164;
  if (key === undefined || key === '') return undefined;
  const identifier = `${contact.origin.source}:${key}`;
  if ([...identifier].length <= MAX_STRING) return identifier;
  return `${contact.origin.source}:sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** Chatwoot keeps one phone per contact: a known WhatsApp number first, since 99digital inboxes are WhatsApp ones. */
function pickPhone(contact: Contact, target: DeliveryTarget): string | undefined {
  if (target.route.whatsappNumbers) return contact.phones[0]?.e164;
  return (contact.phones.find((phone) => phone.whatsapp === true) ?? contact.phones[0])?.e164;
}

export function toChatwootRequest(
  contact: Contact,
  target: DeliveryTarget,
  credentials: Pick<ChatwootCredentials, 'inboxId'>,
): ChatwootContactRequest {
  const request: ChatwootContactRequest = { inbox_id: credentials.inboxId };
  const name = displayName(contact)?.trim();
  if (name) request.name = truncate(name);
  const email = contact.emails[0];
  if (email !== undefined) request.email = email;
  const phone = pickPhone(contact, target);
  if (phone !== undefined) request.phone_number = phone;
  if (contact.avatarUrl !== undefined) request.avatar_url = contact.avatarUrl;
  const identifier = chatwootIdentifier(contact);
  if (identifier !== undefined) request.identifier = identifier;
  // The address goes where Chatwoot's own contact form puts it, so the
  // contact panel shows the city and the country flag.
  const city = contact.address?.city?.trim();
  const countryCode = contact.address?.countryCode?.trim().toUpperCase();
  if (city || countryCode) {
    request.additional_attributes = {
      ...(city ? { city: truncate(city) } : {}),
      ...(countryCode ? { country_code: countryCode } : {}),
    };
  }
  // The route's extra fields go to custom_attributes, not additional_attributes:
  // Chatwoot stores undefined custom attribute keys as they are (the API does not
  // check them against definitions), and once the account defines an attribute
  // with the same key it shows in the contact panel and works in filters and
  // automations. Arbitrary keys in additional_attributes are never shown at all.
  // 99digital's own doc lists only custom_attributes.
  if (Object.keys(contact.attributes).length > 0) request.custom_attributes = { ...contact.attributes };
  return request;
}

/**
 * Nothing a WhatsApp inbox can reach and nothing Chatwoot can dedupe on: a
 * contact without an email or a valid phone would be a nameless, unmergeable
 * record. Rejected phones are counted, never quoted (the reason is recorded).
 */
export function chatwootSkipReason(contact: Contact): string | undefined {
  if (contact.emails.length > 0 || contact.phones.length > 0) return undefined;
  const rejected = contact.rejectedPhones.length;
  const need = '99digital (Chatwoot) needs an email or a valid phone number';
  if (rejected === 0) return `${need}, and the contact has neither`;
  return `${need}: the contact has no email, and its ${rejected === 1 ? 'phone number' : `${rejected} phone numbers`} could not be made E.164`;
}

/**
 * Only the envelope and `id` are checked. The rest of the contact differs
 * between Chatwoot versions and forks (nulls, epoch or ISO times, the whole
 * Inbox record or a slim one) and nothing here reads it: refusing a created
 * contact over a field we do not use would record a failure for a person
 * who is in the inbox.
 */
const ChatwootContactSchema = z.object({ id: z.union([z.number(), z.string().check(z.minLength(1))]) });

/**
 * `{payload:{contact, contact_inbox}}` as create.json.jbuilder renders it
 * (`contact_inbox` holds nulls when no inbox was linked). A fork that answers
 * a duplicate with the existing contact may render it as `{payload: contact}`.
 */
const ChatwootCreatedSchema = z.object({
  payload: z.union([z.object({ contact: ChatwootContactSchema }), ChatwootContactSchema]),
});

/**
 * Every error body Chatwoot sends: `{message, attributes}` for a failed
 * validation (`attributes` missing in older versions), `{error}` from
 * render_unauthorized / not_found / could_not_create, and devise's
 * `{errors:[...]}` when no token was recognised.
 */
const ChatwootErrorSchema = z.object({
  message: z.optional(z.string()),
  attributes: z.optional(z.array(z.string())),
  error: z.optional(z.string()),
  errors: z.optional(z.array(z.unknown())),
});
type ChatwootError = z.infer<typeof ChatwootErrorSchema>;

/**
 * Rails' uniqueness text on the three unique columns, as one full message. Chatwoot renders a
 * failed validation as every full message joined with ", " and the attribute names beside them
 * (render_record_invalid in
 * https://github.com/chatwoot/chatwoot/blob/develop/app/controllers/concerns/request_exception_handler.rb),
 * so the message is split and each part checked: "Email has already been taken, Phone number should
 * be in e164 format" also refuses the phone, and the person is not known to be there. Older
 * versions send no `attributes` at all. Assumption: the text is Rails' English default whatever the
 * account's locale (Chatwoot's locale files do not translate it and production falls back to
 * English); a fork that translates it gets a failure that quotes the refusal, never a wrong `exists`.
 */
const UNIQUENESS = /^(?:email|phone number|identifier) has already been taken$/i;
const UNIQUE_ATTRIBUTES = new Set(['email', 'phone_number', 'identifier']);

const fullMessages = (message: string | undefined) => (message ?? '').split(', ').filter((part) => part !== '');

/** True when the 422 refused the contact for uniqueness only: every error is "... has already been taken". */
export function isChatwootDuplicate(error: Pick<ChatwootError, 'message' | 'attributes'>): boolean {
  const messages = fullMessages(error.message);
  if (messages.length === 0 || !messages.every((part) => UNIQUENESS.test(part))) return false;
  return (error.attributes ?? []).every((attribute) => UNIQUE_ATTRIBUTES.has(attribute));
}

/**
 * ContactInboxBuilder keys a WhatsApp, SMS or Twilio inbox's contacts by phone and an email inbox's
 * by email; without one it raises ActionController::ParameterMissing, which Chatwoot answers 422
 * `{"error":"param is missing or the value is empty: contact phone number"}` (Rails 8 adds
 * " or invalid") after rolling the new contact back
 * (https://github.com/chatwoot/chatwoot/blob/develop/app/builders/contact_inbox_builder.rb).
 */
const INBOX_NEEDS = /^param is missing or the value is empty(?: or invalid)?: contact (phone number|email)$/;

/** The delivery the answer belongs to; only the skip reason reads it (the inbox id, rejected phones). */
type ChatwootReadContext = Partial<Pick<RequestContext<ChatwootCredentials>, 'contact' | 'credentials'>>;

/** Why the inbox cannot take this contact, from the 422 that names what it lacks. */
function inboxSkipReason(error: ChatwootError, context?: ChatwootReadContext): string | undefined {
  const needs = INBOX_NEEDS.exec(error.error ?? '')?.[1];
  if (needs === undefined) return undefined;
  const id = context?.credentials === undefined ? '' : ` ${context.credentials.inboxId}`;
  const where = `99digital (Chatwoot) inbox${id}`;
  if (needs === 'email') return `${where} is an email inbox and needs an email; the contact has none`;
  // Rejected phones are counted, never quoted.
  const rejected = context?.contact?.rejectedPhones.length ?? 0;
  const phones = rejected === 1 ? 'its phone number' : `its ${rejected} phone numbers`;
  const why = rejected === 0 ? 'none' : `none that is valid (${phones} could not be made E.164)`;
  return `${where} is a WhatsApp or SMS inbox and needs a phone number; the contact has ${why}`;
}

/** Chatwoot's message with the refusals that are not duplicates first: they are what needs fixing. */
function refusalText(error: ChatwootError | undefined, response: HttpResponse): string {
  const messages = fullMessages(error?.message);
  const duplicates = messages.filter((part) => UNIQUENESS.test(part));
  if (duplicates.length === 0 || duplicates.length === messages.length) return errorText(error, response);
  const problems = messages.filter((part) => !UNIQUENESS.test(part));
  return `${problems.join(', ')} (also: ${duplicates.join(', ')})`;
}

function errorText(error: ChatwootError | undefined, response: HttpResponse): string {
  const fromErrors = error?.errors?.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join('; ');
  const text = error?.message ?? error?.error ?? (fromErrors || undefined);
  if (text !== undefined && text !== '') return text;
  // rack-attack answers 429 with a plain "Retry later"; HTML error pages say nothing useful.
  const plain = response.body.trim();
  if (error === undefined && plain !== '' && !plain.startsWith('<')) return truncate(plain, 200);
  return `HTTP ${response.status}`;
}

export function readChatwootCreate(response: HttpResponse, context?: ChatwootReadContext): ProviderAnswer {
  const { status } = response;
  if (status >= 200 && status < 300) {
    const created = ChatwootCreatedSchema.safeParse(parseJson(response.body));
    if (!created.success) {
      return {
        kind: 'failed',
        httpStatus: status,
        code: 'unexpected_response',
        message: `Chatwoot answered ${status} without the created contact`,
      };
    }
    const contact = 'contact' in created.data.payload ? created.data.payload.contact : created.data.payload;
    return { kind: 'created', id: String(contact.id) };
  }

  const parsed = ChatwootErrorSchema.safeParse(parseJson(response.body));
  const error = parsed.success ? parsed.data : undefined;
  const message = refusalText(error, response);

  if (status === 401 || status === 403) return { kind: 'unauthorized', httpStatus: status, message };
  if (status === 422 && error !== undefined) {
    // The 422 carries no id: the outcome is `exists` without providerContactId.
    if (isChatwootDuplicate(error)) return { kind: 'exists' };
    const reason = inboxSkipReason(error, context);
    if (reason !== undefined) return { kind: 'skipped', reason };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const wait = retryAfterMs(response.headers);
    return { kind: 'transient', httpStatus: status, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  if (status === 404) {
    // Chatwoot says 404 for an unknown account and for an inbox outside the account.
    return {
      kind: 'failed',
      httpStatus: status,
      code: 'not_found',
      message: `${message} (check baseUrl, accountId and inboxId in the account secret)`,
    };
  }
  const code = error?.attributes !== undefined && error.attributes.length > 0 ? error.attributes.join(',') : undefined;
  // Other 422 validation failures (e.g. "Phone number should be in e164 format"), 400 and the
  // rest: the same request would fail again.
  return { kind: 'failed', httpStatus: status, ...(code !== undefined ? { code } : {}), message };
}

export const chatwootAdapter: ProviderAdapter<typeof ChatwootCredentialsSchema> = {
  provider: 'chatwoot',
  // The create alone, whose refusal is the lookup; rack-attack counts every request of the IP
  // (https://github.com/chatwoot/chatwoot/blob/develop/config/initializers/rack_attack.rb).
  rateCost: () => 1,
  credentials: ChatwootCredentialsSchema,
  defaultBaseUrl: (credentials) => credentials.baseUrl,
  skipReason: (contact) => chatwootSkipReason(contact),
  create: ({ contact, target, credentials, baseUrl }) => ({
    method: 'POST',
    url: `${baseUrl}/api/v1/accounts/${credentials.accountId}/contacts`,
    headers: { 'content-type': 'application/json', api_access_token: credentials.accessToken },
    body: JSON.stringify(toChatwootRequest(contact, target, credentials)),
  }),
  readCreate: readChatwootCreate,
  /**
   * "Get an inbox" (developers.chatwoot.com/api-reference/inboxes/get-an-inbox): the same host,
   * account and inbox the create call uses, so a wrong accountId or inboxId shows up as a 404
   * here rather than as failed deliveries. Chatwoot's InboxPolicy lets an administrator, or an
   * agent who is a member of the inbox, see it: an agent's token outside the inbox gets 401 here.
   */
  healthCheck: (credentials, baseUrl) => ({
    method: 'GET',
    url: `${baseUrl}/api/v1/accounts/${credentials.accountId}/inboxes/${credentials.inboxId}`,
    headers: { api_access_token: credentials.accessToken },
  }),
};
