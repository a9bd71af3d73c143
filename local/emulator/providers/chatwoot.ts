/**
 * Chatwoot (99digital) as the Ruby server behaves, where that differs from the docs; each
 * behaviour and its source is listed in test/contracts/chatwoot.md:
 * - `POST /api/v1/accounts/{account_id}/contacts`: `inbox_id` is optional
 *   (when given it must be an inbox of the account, else 404 and nothing is
 *   stored); body keys outside the permitted list are ignored; a failed
 *   validation answers 422 `{message: <full messages joined with ", ">,
 *   attributes: [...]}`; an inbox that keys contacts by phone (WhatsApp, SMS)
 *   or email answers 422 `{error}` when the contact lacks it, and stores
 *   nothing; success is 200 `{payload:{contact, contact_inbox}}` as
 *   create.json.jbuilder renders it;
 * - `GET /api/v1/accounts/{account_id}/inboxes/{id}` answers the inbox
 *   record, or 404 for an inbox the account does not have.
 *
 * Accounts are not modelled: any token the state accepts may use any
 * positive account id. Inboxes are any positive id (an API inbox) unless
 * `setChatwootInboxes` lists them, which also lets a test use a WhatsApp inbox.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorState } from '../state.js';
import { isRecord, json, type EmulatedApi, type EmulatedRequest, type EmulatedResponse } from '../http-kit.js';

type ChatwootChannelType =
  | 'Channel::Api'
  | 'Channel::WebWidget'
  | 'Channel::Whatsapp'
  | 'Channel::Sms'
  | 'Channel::Email';

export interface ChatwootInbox {
  id: number;
  /** The inbox belongs to this account only; any account when absent. */
  accountId?: number;
  channelType?: ChatwootChannelType;
  name?: string;
}

/** The inboxes each emulator has; an emulator without an entry treats every positive id as an API inbox. */
const configuredInboxes = new WeakMap<EmulatorState, ChatwootInbox[]>();

/** The inboxes the emulated Chatwoot has from now on; undefined goes back to "every id is an API inbox". */
export function setChatwootInboxes(state: EmulatorState, inboxes: ChatwootInbox[] | undefined): void {
  if (inboxes === undefined) configuredInboxes.delete(state);
  else configuredInboxes.set(state, inboxes);
}

/** What the emulator keeps per contact, in `EmulatedContact.raw`. */
interface ContactRecord {
  id: number;
  account_id: number;
  name: string;
  email: string | null;
  phone_number: string | null;
  identifier: string | null;
  blocked: boolean;
  additional_attributes: Record<string, unknown>;
  custom_attributes: Record<string, unknown>;
  created_at: number;
  contact_inboxes: Array<{ source_id: string; inbox: SlimInbox }>;
}

interface SlimInbox {
  id: number;
  avatar_url: string;
  channel_id: number;
  name: string;
  channel_type: ChatwootChannelType;
  provider: string | null;
}

const CONTACTS_PATH = /^\/api\/v1\/accounts\/([^/]+)\/contacts\/?$/;
const INBOX_PATH = /^\/api\/v1\/accounts\/([^/]+)\/inboxes\/([^/]+)\/?$/;
/** Devise.email_regexp as config/initializers/devise.rb sets it: one @, no whitespace. */
const DEVISE_EMAIL = /^[^@\s]+@[^@\s]+$/;
/** Contact's phone format: anchored only at the end (`\z`), as the Ruby model is. */
const CHATWOOT_PHONE = /\+[1-9]\d{1,14}$/;
/** ApplicationRecord's cap on string columns. */
const MAX_STRING = 255;

const NOT_FOUND = { error: 'Resource could not be found' };

export function chatwootApi(state: EmulatorState): EmulatedApi {
  return (request) => {
    // Rack folds both spellings into HTTP_API_ACCESS_TOKEN, so Rails sees either.
    const header = request.headers['api_access_token'] ?? request.headers['api-access-token'];
    const token = Array.isArray(header) ? header[0] : header;
    // No token at all falls through to devise_token_auth's authenticate_user!;
    // an unknown one is refused by AccessTokenAuthHelper. Both are 401, with different bodies.
    if (token === undefined || token.trim() === '')
      return json(401, { errors: ['You need to sign in or sign up before continuing.'] });
    if (!state.credentials.chatwoot.has(token)) return json(401, { error: 'Invalid Access Token' });

    const inboxes = configuredInboxes.get(state);
    const inboxMatch = request.method === 'GET' ? INBOX_PATH.exec(request.path) : null;
    if (inboxMatch !== null) return showInbox(inboxes, inboxMatch[1] ?? '', inboxMatch[2] ?? '');

    const match = request.method === 'POST' ? CONTACTS_PATH.exec(request.path) : null;
    if (match === null) return json(404, { error: `No route matches [${request.method}] "${request.path}"` });
    const accountId = positiveId(decodeURIComponent(match[1] ?? ''));
    // `Account.find` runs before the action: an unknown account is a 404.
    if (accountId === undefined) return json(404, NOT_FOUND);
    return create(state, inboxes, accountId, request);
  };
}

/** `GET .../inboxes/{id}` (the health check): `Current.account.inboxes.find` makes another account's inbox a 404. */
type Inboxes = ChatwootInbox[] | undefined;

function showInbox(inboxes: Inboxes, accountSegment: string, inboxSegment: string): EmulatedResponse {
  const accountId = positiveId(decodeURIComponent(accountSegment));
  const inboxId = positiveId(decodeURIComponent(inboxSegment));
  const inbox = accountId === undefined || inboxId === undefined ? undefined : findInbox(inboxes, accountId, inboxId);
  if (accountId === undefined || inbox === undefined) return json(404, NOT_FOUND);
  return json(200, fullInbox(inbox, accountId));
}

function positiveId(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Strong parameters keep scalars only; a string column casts numbers with to_s and booleans to "t"/"f". */
function scalar(value: unknown): string | null | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value === null) return null;
  return undefined;
}

const isBlank = (value: string | null | undefined): value is null | undefined | '' =>
  value === null || value === undefined || value.trim() === '';
/** Ruby counts characters, not UTF-16 units. */
const length = (value: string) => [...value].length;

function accountContacts(state: EmulatorState, accountId: number): ContactRecord[] {
  return state.contacts
    .filter((contact) => contact.provider === 'chatwoot' && contact.scope === String(accountId))
    .map((contact) => contact.raw as unknown as ContactRecord);
}

function create(state: EmulatorState, inboxes: Inboxes, accountId: number, request: EmulatedRequest): EmulatedResponse {
  // Assumption: a body Rails cannot parse is a 400 with the body Rails' PublicExceptions renders for JSON.
  const unparsable = request.rawBody.trim() !== '' && request.json === undefined;
  if (unparsable) return json(400, { status: 400, error: 'Bad Request' });
  // Rails reads a non-object JSON body into `_json`: none of the permitted keys, so an empty contact.
  const params = isRecord(request.json) ? request.json : {};

  const name = scalar(params['name']);
  const rawEmail = scalar(params['email']);
  const phone = scalar(params['phone_number']);
  const identifier = scalar(params['identifier']);

  const messages: string[] = [];
  const attributes: string[] = [];
  const fail = (attribute: string, message: string) => {
    messages.push(message);
    if (!attributes.includes(attribute)) attributes.push(attribute);
  };

  // The length check is a before_validation callback, so its errors come first.
  // Assumption: in the order the columns were added (name, email, phone_number, then identifier).
  const columns: Array<[string, string, string | null | undefined]> = [
    ['name', 'Name', name],
    ['email', 'Email', rawEmail],
    ['phone_number', 'Phone number', phone],
    ['identifier', 'Identifier', identifier],
  ];
  for (const [attribute, label, value] of columns) {
    if (typeof value === 'string' && length(value) > MAX_STRING)
      fail(attribute, `${label} is too long (maximum is ${MAX_STRING} characters)`);
  }

  // prepare_email_attribute: blank becomes nil, anything else is lower-cased.
  const email = isBlank(rawEmail) ? null : rawEmail.toLowerCase();
  const existing = accountContacts(state, accountId);
  // The model's validations in declaration order: email, identifier, phone_number.
  if (email !== null) {
    if (existing.some((contact) => contact.email?.toLowerCase() === email))
      fail('email', 'Email has already been taken');
    // The model's message is "Invalid email"; Rails prefixes the attribute in full messages.
    if (!DEVISE_EMAIL.test(email)) fail('email', 'Email Invalid email');
  }
  if (!isBlank(identifier) && existing.some((contact) => contact.identifier === identifier))
    fail('identifier', 'Identifier has already been taken');
  if (!isBlank(phone)) {
    const taken = existing.some((contact) => contact.phone_number === phone);
    if (taken) fail('phone_number', 'Phone number has already been taken');
    if (!CHATWOOT_PHONE.test(phone)) fail('phone_number', 'Phone number should be in e164 format');
  }
  if (messages.length > 0) return json(422, { message: messages.join(', '), attributes });

  // The contact is saved before the inbox is looked up, inside one transaction:
  // a bad inbox, or one that needs what the contact lacks, rolls it back, so nothing is stored yet.
  let inbox: ChatwootInbox | undefined;
  const inboxParam = params['inbox_id'];
  if (inboxParam !== undefined && inboxParam !== null && inboxParam !== '') {
    const inboxId = positiveId(inboxParam);
    inbox = inboxId === undefined ? undefined : findInbox(inboxes, accountId, inboxId);
    if (inbox === undefined) return json(404, NOT_FOUND);
  }
  let sourceId: string | undefined;
  if (inbox !== undefined) {
    // `@source_id ||= generate_source_id`: only a missing source_id is generated; a blank one links nothing.
    const given = scalar(params['source_id']);
    const source = given ?? sourceIdFor(inbox, email, phone ?? null);
    if (typeof source === 'object') return json(422, { error: source.missing });
    if (!isBlank(source)) sourceId = source;
  }

  const now = Math.floor(Date.now() / 1000);
  const id = state.nextId();
  const additional = params['additional_attributes'];
  const custom = params['custom_attributes'];
  const record: ContactRecord = {
    id,
    account_id: accountId,
    // The column defaults to "" when no name is given.
    name: name ?? '',
    email,
    phone_number: phone ?? null,
    identifier: identifier ?? null,
    blocked: params['blocked'] === true || params['blocked'] === 'true',
    additional_attributes: isRecord(additional) ? { ...additional } : {},
    custom_attributes: isRecord(custom) ? { ...custom } : {},
    created_at: now,
    contact_inboxes:
      inbox !== undefined && sourceId !== undefined ? [{ source_id: sourceId, inbox: slimInbox(inbox) }] : [],
  };
  state.contacts.push({
    id: String(id),
    provider: 'chatwoot',
    scope: String(accountId),
    ...(record.name !== '' ? { name: record.name } : {}),
    ...(email !== null ? { email } : {}),
    ...(!isBlank(phone) ? { phone } : {}),
    ...(!isBlank(identifier) ? { identifier } : {}),
    raw: record as unknown as Record<string, unknown>,
    createdAt: new Date(now * 1000).toISOString(),
  });

  // `@contact_inbox` is nil when no inbox was given or a blank source id linked nothing.
  const linked = inbox !== undefined && sourceId !== undefined ? fullInbox(inbox, accountId) : null;
  const contactInbox = { inbox: linked, source_id: sourceId ?? null };
  return json(200, { payload: { contact: renderContact(record), contact_inbox: contactInbox } });
}

function findInbox(inboxes: Inboxes, accountId: number, inboxId: number): ChatwootInbox | undefined {
  if (inboxes === undefined) return { id: inboxId };
  const inAccount = (inbox: ChatwootInbox) => inbox.accountId === undefined || inbox.accountId === accountId;
  return inboxes.find((inbox) => inbox.id === inboxId && inAccount(inbox));
}

/**
 * ContactInboxBuilder's source id per channel. It checks the attribute is not nil, so a blank phone
 * passes and links nothing; a missing one is ActionController::ParameterMissing, answered 422 `{error}`.
 */
function sourceIdFor(inbox: ChatwootInbox, email: string | null, phone: string | null): string | { missing: string } {
  const missing = (what: string) => ({ missing: `param is missing or the value is empty: contact ${what}` });
  switch (inbox.channelType ?? 'Channel::Api') {
    case 'Channel::Api':
    case 'Channel::WebWidget':
      return randomUUID();
    case 'Channel::Whatsapp':
      // WhatsApp ids carry no "+".
      return phone === null ? missing('phone number') : phone.replace(/\+/g, '');
    case 'Channel::Sms':
      return phone ?? missing('phone number');
    case 'Channel::Email':
      return email ?? missing('email');
  }
}

function slimInbox(inbox: ChatwootInbox): SlimInbox {
  const channelType = inbox.channelType ?? 'Channel::Api';
  return {
    id: inbox.id,
    avatar_url: '',
    channel_id: inbox.id,
    name: inbox.name ?? `Emulated inbox ${inbox.id}`,
    channel_type: channelType,
    provider: channelType === 'Channel::Whatsapp' ? 'whatsapp_cloud' : null,
  };
}

/** `contact_inbox.inbox` is the whole Inbox record serialised, not the slim partial. */
function fullInbox(inbox: ChatwootInbox, accountId: number): Record<string, unknown> {
  const at = new Date(0).toISOString();
  return {
    id: inbox.id,
    channel_id: inbox.id,
    account_id: inbox.accountId ?? accountId,
    name: inbox.name ?? `Emulated inbox ${inbox.id}`,
    created_at: at,
    updated_at: at,
    enable_auto_assignment: true,
    greeting_enabled: false,
    greeting_message: null,
    email_address: null,
    working_hours_enabled: false,
    out_of_office_message: null,
    timezone: 'UTC',
    enable_email_collect: true,
    csat_survey_enabled: false,
    allow_messages_after_resolved: true,
    auto_assignment_config: {},
    lock_to_single_conversation: false,
    portal_id: null,
    sender_name_type: 'friendly',
    business_name: null,
    channel_type: inbox.channelType ?? 'Channel::Api',
  };
}

/** api/v1/models/_contact.json.jbuilder with contact inboxes. */
function renderContact(record: ContactRecord): Record<string, unknown> {
  return {
    additional_attributes: record.additional_attributes,
    availability_status: 'offline',
    email: record.email,
    id: record.id,
    name: record.name,
    phone_number: record.phone_number,
    blocked: record.blocked,
    identifier: record.identifier,
    thumbnail: '',
    custom_attributes: record.custom_attributes,
    created_at: record.created_at,
    contact_inboxes: record.contact_inboxes,
  };
}
