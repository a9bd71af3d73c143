/**
 * Chatwoot (99digital) as the Ruby server behaves, per
 * ../shared/contracts/chatwoot/README.md, where that differs from the docs:
 * - `POST /api/v1/accounts/{account_id}/contacts`: `inbox_id` is optional
 *   (when given it must be an inbox of the account, else 404 and nothing is
 *   stored); body keys outside the permitted list are ignored; a failed
 *   validation answers 422 `{message: <full messages joined with ", ">,
 *   attributes: [...]}`; success is 200 `{payload:{contact, contact_inbox}}`
 *   as create.json.jbuilder renders it;
 * - `GET .../contacts/search?q=` and `POST .../contacts/filter` answer
 *   `{meta:{count, current_page}, payload:[contact, ...]}`;
 * - `GET /api/v1/accounts/{account_id}/inboxes/{id}` answers the inbox
 *   record, or 404 for an inbox the account does not have.
 *
 * Accounts are not modelled: any token the state accepts may use any
 * positive account id. Inboxes are any positive id (an API inbox) unless
 * `options.inboxes` lists them, which also lets a test use a WhatsApp inbox.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatedContact, EmulatorState } from '../state.js';
import { isRecord, json, type EmulatedApi, type EmulatedRequest, type EmulatedResponse } from '../http-kit.js';

export type ChatwootChannelType = 'Channel::Api' | 'Channel::WebWidget' | 'Channel::Whatsapp' | 'Channel::Sms' | 'Channel::Email';

export interface ChatwootInbox {
  id: number;
  /** The inbox belongs to this account only; any account when absent. */
  accountId?: number;
  channelType?: ChatwootChannelType;
  name?: string;
}

export interface ChatwootApiOptions {
  /** The inboxes that exist; when absent, every positive inbox id is an API inbox. */
  inboxes?: ChatwootInbox[];
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

const ACCOUNT_PATH = /^\/api\/v1\/accounts\/([^/]+)\/contacts(\/search|\/filter)?\/?$/;
const INBOX_PATH = /^\/api\/v1\/accounts\/([^/]+)\/inboxes\/([^/]+)\/?$/;
/** Devise.email_regexp as config/initializers/devise.rb sets it: one @, no whitespace. */
const DEVISE_EMAIL = /^[^@\s]+@[^@\s]+$/;
/** Contact's phone format: anchored only at the end (`\z`), as the Ruby model is. */
const CHATWOOT_PHONE = /\+[1-9]\d{1,14}$/;
const RESULTS_PER_PAGE = 15;
/** ApplicationRecord's cap on string columns. */
const MAX_STRING = 255;

const NOT_FOUND = { error: 'Resource could not be found' };

export function chatwootApi(state: EmulatorState, options: ChatwootApiOptions = {}): EmulatedApi {
  return (request) => {
    // Rack folds both spellings into HTTP_API_ACCESS_TOKEN, so Rails sees either.
    const header = request.headers['api_access_token'] ?? request.headers['api-access-token'];
    const token = Array.isArray(header) ? header[0] : header;
    // No token at all falls through to devise_token_auth's authenticate_user!;
    // an unknown one is refused by AccessTokenAuthHelper. Both are 401, with different bodies.
    if (token === undefined || token.trim() === '') return json(401, { errors: ['You need to sign in or sign up before continuing.'] });
    if (!state.credentials.chatwoot.has(token)) return json(401, { error: 'Invalid Access Token' });

    const inboxMatch = request.method === 'GET' ? INBOX_PATH.exec(request.path) : null;
    if (inboxMatch !== null) return showInbox(options, inboxMatch[1] ?? '', inboxMatch[2] ?? '');

    const match = ACCOUNT_PATH.exec(request.path);
    if (match === null) return json(404, { error: `No route matches [${request.method}] "${request.path}"` });
    const accountId = positiveId(decodeURIComponent(match[1] ?? ''));
    // `Account.find` runs before the action: an unknown account is a 404 whatever the route.
    if (accountId === undefined) return json(404, NOT_FOUND);

    const action = match[2];
    if (action === undefined && request.method === 'POST') return create(state, options, accountId, request);
    if (action === '/search' && request.method === 'GET') return search(state, accountId, request.query);
    if (action === '/filter' && request.method === 'POST') return filter(state, accountId, request);
    return json(404, { error: `No route matches [${request.method}] "${request.path}"` });
  };
}

/** `GET .../inboxes/{id}` (the health check): an inbox outside the account is a 404, as `Current.account.inboxes.find` makes it. */
function showInbox(options: ChatwootApiOptions, accountSegment: string, inboxSegment: string): EmulatedResponse {
  const accountId = positiveId(decodeURIComponent(accountSegment));
  const inboxId = positiveId(decodeURIComponent(inboxSegment));
  const inbox = accountId === undefined || inboxId === undefined ? undefined : findInbox(options, accountId, inboxId);
  if (accountId === undefined || inbox === undefined) return json(404, NOT_FOUND);
  return json(200, fullInbox(inbox, accountId));
}

function positiveId(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Strong parameters keep scalars only; Rails casts numbers and booleans into a string column. */
function scalar(value: unknown): string | null | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return null;
  return undefined;
}

const isBlank = (value: string | null | undefined): value is null | undefined | '' => value === null || value === undefined || value.trim() === '';
/** Ruby counts characters, not UTF-16 units. */
const length = (value: string) => [...value].length;

function accountContacts(state: EmulatorState, accountId: number): EmulatedContact[] {
  return state.contacts.filter((contact) => contact.provider === 'chatwoot' && contact.scope === String(accountId));
}

function create(state: EmulatorState, options: ChatwootApiOptions, accountId: number, request: EmulatedRequest): EmulatedResponse {
  if (request.rawBody.trim() !== '' && request.json === undefined) {
    return json(400, { error: 'Error occurred while parsing request parameters' });
  }
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

  // The length check is a before_validation callback, so its errors come first, in column order.
  const columns: Array<[string, string, string | null | undefined]> = [
    ['name', 'Name', name],
    ['email', 'Email', rawEmail],
    ['phone_number', 'Phone number', phone],
    ['identifier', 'Identifier', identifier],
  ];
  for (const [attribute, label, value] of columns) {
    if (typeof value === 'string' && length(value) > MAX_STRING) fail(attribute, `${label} is too long (maximum is ${MAX_STRING} characters)`);
  }

  // prepare_email_attribute: blank becomes nil, anything else is lower-cased.
  const email = isBlank(rawEmail) ? null : rawEmail.toLowerCase();
  const existing = accountContacts(state, accountId);
  if (email !== null) {
    if (existing.some((contact) => contact.email?.toLowerCase() === email)) fail('email', 'Email has already been taken');
    // The model's message is "Invalid email"; Rails prefixes the attribute in full messages.
    if (!DEVISE_EMAIL.test(email)) fail('email', 'Email Invalid email');
  }
  if (!isBlank(identifier) && existing.some((contact) => contact.identifier === identifier)) fail('identifier', 'Identifier has already been taken');
  if (!isBlank(phone)) {
    if (existing.some((contact) => contact.phone === phone)) fail('phone_number', 'Phone number has already been taken');
    if (!CHATWOOT_PHONE.test(phone)) fail('phone_number', 'Phone number should be in e164 format');
  }
  if (messages.length > 0) return json(422, { message: messages.join(', '), attributes });

  // The contact is saved before the inbox is looked up, inside one transaction:
  // a bad inbox answers 404 and the contact is rolled back, so nothing is stored yet.
  let inbox: ChatwootInbox | undefined;
  const inboxParam = params['inbox_id'];
  if (inboxParam !== undefined && inboxParam !== null && inboxParam !== '') {
    const inboxId = positiveId(inboxParam);
    inbox = inboxId === undefined ? undefined : findInbox(options, accountId, inboxId);
    if (inbox === undefined) return json(404, NOT_FOUND);
  }
  let sourceId: string | undefined;
  if (inbox !== undefined) {
    const given = scalar(params['source_id']);
    const generated = isBlank(given) ? generateSourceId(inbox, email, isBlank(phone) ? null : phone) : given;
    if (typeof generated === 'object') return json(422, { error: generated.missing });
    sourceId = generated;
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
    contact_inboxes: inbox !== undefined && sourceId !== undefined ? [{ source_id: sourceId, inbox: slimInbox(inbox) }] : [],
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

  return json(200, {
    payload: {
      contact: renderContact(record),
      contact_inbox: { inbox: inbox === undefined ? null : fullInbox(inbox, accountId), source_id: sourceId ?? null },
    },
  });
}

function findInbox(options: ChatwootApiOptions, accountId: number, inboxId: number): ChatwootInbox | undefined {
  if (options.inboxes === undefined) return { id: inboxId };
  return options.inboxes.find((inbox) => inbox.id === inboxId && (inbox.accountId === undefined || inbox.accountId === accountId));
}

/** ContactInboxBuilder's source id per channel; a missing phone or email is ActionController::ParameterMissing (422). */
function generateSourceId(inbox: ChatwootInbox, email: string | null, phone: string | null): string | { missing: string } {
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

function listResponse(records: ContactRecord[], page: string | undefined): EmulatedResponse {
  const current = positiveId(page) ?? 1;
  const slice = records.slice((current - 1) * RESULTS_PER_PAGE, current * RESULTS_PER_PAGE);
  // Rails echoes `params[:page]` as given (a string), or the integer 1 by default.
  return json(200, { meta: { count: records.length, current_page: page ?? 1 }, payload: slice.map(renderContact) });
}

const records = (contacts: EmulatedContact[]) => contacts.map((contact) => contact.raw as unknown as ContactRecord);

/** name, email and phone by ILIKE '%q%', identifier by (case-sensitive) LIKE, and the id when q is a number. */
function search(state: EmulatorState, accountId: number, query: URLSearchParams): EmulatedResponse {
  const q = query.get('q')?.trim() ?? '';
  if (q === '') return json(422, { error: 'Specify search string with parameter q' });
  const needle = q.toLowerCase();
  const ilike = (value: string | null) => value !== null && value.toLowerCase().includes(needle);
  const found = records(accountContacts(state, accountId)).filter(
    (record) => ilike(record.name) || ilike(record.email) || ilike(record.phone_number) || (record.identifier?.includes(q) ?? false) || (/^\d+$/.test(q) && record.id === Number(q)),
  );
  return listResponse(found, query.get('page') ?? undefined);
}

const FILTER_ATTRIBUTES = ['name', 'email', 'phone_number', 'identifier'] as const;
type FilterAttribute = (typeof FILTER_ATTRIBUTES)[number];
const FILTER_OPERATORS = ['equal_to', 'not_equal_to', 'contains', 'does_not_contain'] as const;
type FilterOperator = (typeof FILTER_OPERATORS)[number];

interface Condition {
  attribute: FilterAttribute;
  operator: FilterOperator;
  values: string[];
  queryOperator: 'AND' | 'OR' | undefined;
}

/**
 * Contacts::FilterService for the standard text attributes, compared without
 * case; conditions chain left to right with SQL precedence (AND before OR).
 * Bad filters answer 422 `{error}` as the controller's rescue does.
 */
function filter(state: EmulatorState, accountId: number, request: EmulatedRequest): EmulatedResponse {
  const payload = isRecord(request.json) ? request.json['payload'] : undefined;
  if (!Array.isArray(payload) || payload.length === 0) return json(422, { error: 'Invalid filter: payload must be a non-empty array of conditions' });
  const conditions: Condition[] = [];
  for (const [index, item] of payload.entries()) {
    if (!isRecord(item)) return json(422, { error: `Invalid filter: condition ${index} is not an object` });
    const attribute = item['attribute_key'];
    if (typeof attribute !== 'string' || !(FILTER_ATTRIBUTES as readonly string[]).includes(attribute)) {
      return json(422, { error: `Invalid attribute key - [${String(attribute)}]. The key should be one of [${FILTER_ATTRIBUTES.join(',')}] or a custom attribute defined in the account.` });
    }
    const operator = item['filter_operator'];
    if (typeof operator !== 'string' || !(FILTER_OPERATORS as readonly string[]).includes(operator)) {
      return json(422, { error: `Invalid operator. The allowed operators for ${attribute} are [${FILTER_OPERATORS.join(',')}].` });
    }
    const values = item['values'];
    if (!Array.isArray(values) || values.length === 0 || !values.every((value) => typeof value === 'string' || typeof value === 'number')) {
      return json(422, { error: `Invalid value. The values provided for ${attribute} are invalid` });
    }
    const queryOperator = item['query_operator'];
    const last = index === payload.length - 1;
    if (!last && queryOperator !== 'AND' && queryOperator !== 'OR') {
      return json(422, { error: 'Invalid query operator. The allowed query operators are [AND,OR].' });
    }
    conditions.push({ attribute: attribute as FilterAttribute, operator: operator as FilterOperator, values: values.map(String), queryOperator: last ? undefined : (queryOperator as 'AND' | 'OR') });
  }

  const matches = (record: ContactRecord, condition: Condition): boolean => {
    const value = record[condition.attribute]?.toLowerCase() ?? null;
    const wanted = condition.values.map((item) => item.toLowerCase());
    switch (condition.operator) {
      case 'equal_to':
        return value !== null && wanted.includes(value);
      case 'not_equal_to':
        return value === null || !wanted.includes(value);
      case 'contains':
        return value !== null && wanted.some((item) => value.includes(item));
      case 'does_not_contain':
        return value === null || !wanted.some((item) => value.includes(item));
    }
  };

  const found = records(accountContacts(state, accountId)).filter((record) => {
    // OR of AND-groups: split the chain at each OR.
    let any = false;
    let group = true;
    for (const condition of conditions) {
      group = group && matches(record, condition);
      if (condition.queryOperator !== 'AND') {
        any = any || group;
        group = true;
      }
    }
    return any;
  });
  return listResponse(found, request.query.get('page') ?? undefined);
}
