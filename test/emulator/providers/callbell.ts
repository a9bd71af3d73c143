/**
 * Callbell as ../shared/seeds/callbell-create-contact.txt documents it:
 * `POST /v1/contacts` with `Authorization: Bearer`, required `identifier`,
 * `source` and `name`, optional `tags`, `custom_fields`, `assigned_user`; the
 * answer is the doc's example shape, `{contact: [ {...} ]}`. The lookup
 * `GET /v1/contacts/phone/:number` answers one contact object; `GET /v1/channels`
 * lists the account's channels (the health check). Error bodies
 * are undocumented: the emulator answers `{error: "..."}` naming the field.
 */
import { createHash } from 'node:crypto';
import type { EmulatorState } from '../state.js';
import { isRecord, json, type EmulatedApi, type EmulatedResponse } from '../http-kit.js';

/** A phone number as the doc's example sends it ("123456789"); a leading '+' is tolerated. */
const IDENTIFIER = /^\+?\d{1,15}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LOOKUP = /^\/v1\/contacts\/phone\/([^/]+)$/;

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

/** `GET /channels` as documented: one main WhatsApp channel per account, its uuid derived from the token so it is stable. */
function channels(token: string): EmulatedResponse {
  const uuid = createHash('sha256').update(token).digest('hex').slice(0, 32);
  return json(200, { channels: [{ uuid, title: 'Emulated WhatsApp', type: 'whatsapp', main: true, discardedAt: false }], meta: { page: 1, pages: 1 } });
}

function bearer(header: string | string[] | undefined): string | undefined {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  return match?.[1];
}

function invalid(message: string): EmulatedResponse {
  return json(422, { error: message });
}

function create(state: EmulatorState, scope: string, body: unknown): EmulatedResponse {
  if (!isRecord(body)) return invalid('Request body must be a JSON object');
  const { identifier, source, name, tags, custom_fields: customFields, assigned_user: assignedUser, note } = body;
  if (identifier === undefined) return invalid('identifier is required');
  if (typeof identifier !== 'string' || !IDENTIFIER.test(identifier)) return invalid('identifier must be a phone number (digits, e.g. "123456789")');
  if (source === undefined) return invalid('source is required');
  // Other channels exist at Callbell but are out of this project's scope.
  if (source !== 'whatsapp') return invalid(`source must be "whatsapp", got ${JSON.stringify(source)}`);
  if (typeof name !== 'string' || name.trim() === '') return invalid('name is required');
  if (tags !== undefined && (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string'))) return invalid('tags must be an array of strings');
  if (customFields !== undefined && (!isRecord(customFields) || !Object.values(customFields).every((value) => typeof value === 'string'))) {
    return invalid('custom_fields must be an object of strings');
  }
  if (assignedUser !== undefined && (typeof assignedUser !== 'string' || !EMAIL.test(assignedUser))) return invalid('assigned_user must be the email of a user');
  if (note !== undefined && typeof note !== 'string') return invalid('note must be a string');

  const digits = identifier.replace(/^\+/, '');
  const phone = `+${digits}`;
  // Callbell documents no answer for a duplicate; refusing one with 422 is the
  // emulator's choice, so clients must cope with a create that does not create.
  if (state.contacts.some((contact) => contact.provider === 'callbell' && contact.scope === scope && contact.phone === phone)) {
    return invalid('Contact already exists');
  }

  const uuid = crypto.randomUUID().replaceAll('-', '');
  const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const contact = {
    uuid,
    name,
    phoneNumber: digits,
    avatarUrl: null,
    createdAt,
    source: 'whatsapp',
    href: `https://dash.callbell.eu/contacts/${uuid}`,
    tags: (tags as string[] | undefined) ?? [],
    assignedUser: (assignedUser as string | undefined) ?? null,
    customFields: (customFields as Record<string, string> | undefined) ?? {},
  };
  // Callbell keeps no email field; for inspection, the email is whatever the
  // client put in the note or a custom field.
  const email = [note, ...Object.values(contact.customFields)].find((value): value is string => typeof value === 'string' && EMAIL.test(value));
  state.contacts.push({
    id: uuid,
    provider: 'callbell',
    scope,
    name,
    phone,
    identifier: digits,
    ...(email !== undefined ? { email } : {}),
    raw: { ...contact, ...(typeof note === 'string' ? { note } : {}) },
    createdAt: new Date().toISOString(),
  });
  return json(200, { contact: [contact] });
}

function findByPhone(state: EmulatorState, scope: string, segment: string): EmulatedResponse {
  let number: string;
  try {
    number = decodeURIComponent(segment);
  } catch {
    return json(404, { error: 'Contact not found' });
  }
  const phone = `+${number.replace(/^\+/, '')}`;
  const found = state.contacts.find((contact) => contact.provider === 'callbell' && contact.scope === scope && contact.phone === phone);
  if (found === undefined) return json(404, { error: 'Contact not found' });
  const { note: _note, ...contact } = found.raw;
  return json(200, { contact });
}
