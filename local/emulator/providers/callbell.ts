/**
 * Callbell as its public API reference documents it (test/contracts/callbell.md lists each page):
 * - `POST /v1/contacts` with `Authorization: Bearer`: required `identifier`, `source` and `name`, optional
 *   `tags`, `custom_fields`, `assigned_user`, `team_uuid`, `channel_uuid`, `bot_status` and `note`; the
 *   answer is the create page's example shape, `{contact: [ {...} ]}`
 *   (https://docs.callbell.eu/api/reference/contacts_api/post_contacts);
 * - `GET /v1/contacts/phone/:number` answers one contact object
 *   (https://docs.callbell.eu/api/reference/contacts_api/get_contact_by_phone);
 * - `GET /v1/channels` lists the account's channels (https://docs.callbell.eu/api/reference/channels_api/get_channels).
 * Callbell documents no error body, no status for a refused body, a miss or a bad token, and no duplicate
 * handling: the emulator's `{error: "..."}` naming the field, its 422, 404 and 401 are assumptions.
 */
import { createHash } from 'node:crypto';
import type { EmulatedContact, EmulatorState } from '../state.js';
import { isRecord, json, type EmulatedApi, type EmulatedResponse } from '../http-kit.js';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LOOKUP = /^\/v1\/contacts\/phone\/([^/]+)$/;
/** The create page's parameters, required and optional; nothing else is accepted (an assumption, see above). */
const CREATE_FIELDS = new Set([
  'identifier',
  'source',
  'name',
  'tags',
  'custom_fields',
  'assigned_user',
  'team_uuid',
  'channel_uuid',
  'bot_status',
  'note',
]);
/** "A free-text note associated with the contact (up to 1000 characters)". */
const NOTE_MAX = 1000;

export function callbellApi(state: EmulatorState): EmulatedApi {
  return (request) => {
    const token = bearer(request.headers['authorization']);
    if (token === undefined || !state.credentials.callbell.has(token)) return json(401, { error: 'Unauthorized' });
    if (request.method === 'POST' && request.path === '/v1/contacts') return create(state, token, request.json);
    if (request.method === 'GET' && request.path === '/v1/channels') return channels(token);
    const lookup = request.method === 'GET' ? LOOKUP.exec(request.path) : null;
    if (lookup !== null) return findByPhone(state, token, lookup[1] ?? '');
    return json(404, { error: `Cannot ${request.method} ${request.path}` });
  };
}

/** `GET /channels` as documented: one main WhatsApp channel per account, its uuid derived from the token. */
function channels(token: string): EmulatedResponse {
  const uuid = createHash('sha256').update(token).digest('hex').slice(0, 32);
  const channel = { uuid, title: 'Emulated WhatsApp', type: 'whatsapp', main: true, discardedAt: false };
  return json(200, { channels: [channel], meta: { page: 1, pages: 1 } });
}

function bearer(header: string | string[] | undefined): string | undefined {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  return match?.[1];
}

function invalid(message: string): EmulatedResponse {
  return json(422, { error: message });
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);
/** Custom field values are strings, or lists of strings for checkbox fields. */
const isCustomFields = (value: unknown): value is Record<string, string | string[]> =>
  isRecord(value) && Object.values(value).every((inner) => isString(inner) || isStringList(inner));

interface CreateBody {
  identifier: string;
  source: string;
  name: string;
  tags?: string[];
  custom_fields?: Record<string, string | string[]>;
  assigned_user?: string;
  note?: string;
}

/** The body in the documented shape, or why it is refused, naming the field. */
function parseBody(body: Record<string, unknown>): CreateBody | string {
  const unknown = Object.keys(body).find((field) => !CREATE_FIELDS.has(field));
  if (unknown !== undefined) return `${unknown} is not a parameter of POST /contacts`;
  for (const field of ['identifier', 'source', 'name']) {
    const value = body[field];
    if (!isString(value) || value.trim() === '') return `${field} is required`;
  }
  const { tags, custom_fields: customFields, assigned_user: user, bot_status: botStatus, note } = body;
  if (tags !== undefined && !isStringList(tags)) return 'tags must be a list of strings';
  if (customFields !== undefined && !isCustomFields(customFields)) {
    return 'custom_fields must be an object of strings or lists of strings';
  }
  if (user !== undefined && !(isString(user) && EMAIL.test(user))) return 'assigned_user must be the email of a user';
  for (const field of ['team_uuid', 'channel_uuid']) {
    if (body[field] !== undefined && !isString(body[field])) return `${field} must be a string`;
  }
  if (botStatus !== undefined && botStatus !== 'bot_start' && botStatus !== 'bot_end') {
    return 'bot_status must be bot_start or bot_end';
  }
  if (note !== undefined && !(isString(note) && note.length <= NOTE_MAX)) {
    return `note must be a string of up to ${NOTE_MAX} characters`;
  }
  return body as unknown as CreateBody;
}

function create(state: EmulatorState, scope: string, input: unknown): EmulatedResponse {
  if (!isRecord(input)) return invalid('Request body must be a JSON object');
  const body = parseBody(input);
  if (typeof body === 'string') return invalid(body);
  const { identifier, source, name, tags, custom_fields: customFields, assigned_user: assignedUser, note } = body;

  // A WhatsApp identifier is a phone number, kept (and looked up) as its digits.
  const key = source === 'whatsapp' ? identifier.replace(/\D/g, '') : identifier;
  // No page says what a create for a number already there gets: refusing it with
  // 422 is the emulator's choice, so clients must cope with a create that does not create.
  if (find(state, scope, source, key) !== undefined) return invalid('Contact already exists');

  const uuid = crypto.randomUUID().replaceAll('-', '');
  const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const contact = {
    uuid,
    name,
    phoneNumber: key,
    avatarUrl: null,
    createdAt,
    source,
    href: `https://dash.callbell.eu/contacts/${uuid}`,
    conversationHref: `https://dash.callbell.eu/chat/${crypto.randomUUID().replaceAll('-', '')}`,
    tags: tags ?? [],
    assignedUser: assignedUser ?? null,
    customFields: customFields ?? {},
  };
  // Callbell keeps no email field; for inspection, the email is a custom field value that looks like one.
  const looksLikeEmail = (value: unknown): value is string => isString(value) && EMAIL.test(value);
  const email = Object.values(contact.customFields).find(looksLikeEmail);
  state.contacts.push({
    id: uuid,
    provider: 'callbell',
    scope,
    name,
    ...(source === 'whatsapp' ? { phone: `+${key}` } : {}),
    identifier: key,
    ...(email !== undefined ? { email } : {}),
    raw: { ...contact, ...(note !== undefined ? { note } : {}) },
    createdAt: new Date().toISOString(),
  });
  return json(200, { contact: [contact] });
}

/** Without `channel_uuid` the lookup searches the main WhatsApp channel: the emulator's WhatsApp contacts. */
function findByPhone(state: EmulatorState, scope: string, segment: string): EmulatedResponse {
  let number: string;
  try {
    number = decodeURIComponent(segment);
  } catch {
    return json(404, { error: 'Contact not found' });
  }
  const found = find(state, scope, 'whatsapp', number.replace(/\D/g, ''));
  if (found === undefined) return json(404, { error: 'Contact not found' });
  const { note: _note, ...contact } = found.raw;
  return json(200, { contact });
}

function find(state: EmulatorState, scope: string, source: string, key: string): EmulatedContact | undefined {
  if (key === '') return undefined;
  return state.contacts.find(
    (contact) =>
      contact.provider === 'callbell' &&
      contact.scope === scope &&
      contact.raw['source'] === source &&
      contact.identifier === key,
  );
}
