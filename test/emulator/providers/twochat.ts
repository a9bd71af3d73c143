/**
 * 2Chat as ../shared/seeds/2chat-create-contact.txt documents it:
 * `POST /open/contacts` with `X-User-API-Key`, `first_name` and at least one
 * `contact_detail` (the table's `contact_details` spelling is accepted too).
 * `GET /open/whatsapp/get-numbers` answers the documented envelope for the health check.
 */
import type { EmulatorState } from '../state.js';
import { E164, isRecord, json, type EmulatedApi } from '../http-kit.js';

const DETAIL_TYPES = new Set(['E', 'A', 'PH', 'WAPH']);

export function twoChatApi(state: EmulatorState): EmulatedApi {
  return (request) => {
    const key = request.headers['x-user-api-key'];
    if (typeof key !== 'string' || !state.credentials.twochat.has(key)) {
      return json(401, { success: false, message: 'Invalid or missing API key' });
    }
    if (request.method === 'POST' && request.path === '/open/contacts') return create(state, key, request.json);
    if (request.method === 'GET' && request.path === '/open/contacts/search') return search(state, key, request.query.get('query') ?? '');
    // "List WhatsApp Numbers": the emulator connects no numbers, so the list is empty (still proof the key works).
    if (request.method === 'GET' && request.path === '/open/whatsapp/get-numbers') return json(200, { success: true, numbers: [] });
    return json(404, { success: false, message: `Cannot ${request.method} ${request.path}` });
  };
}

function create(state: EmulatorState, scope: string, body: unknown) {
  if (!isRecord(body)) return json(422, { success: false, message: 'Request body must be a JSON object' });
  if (typeof body['first_name'] !== 'string' || body['first_name'].trim() === '') {
    return json(422, { success: false, message: 'first_name is required' });
  }
  const details = body['contact_detail'] ?? body['contact_details'];
  if (!Array.isArray(details) || details.length === 0) {
    return json(422, { success: false, message: 'At least one contact detail is required' });
  }
  for (const detail of details) {
    if (!isRecord(detail) || typeof detail['type'] !== 'string' || !DETAIL_TYPES.has(detail['type']) || typeof detail['value'] !== 'string') {
      return json(422, { success: false, message: 'Each contact detail needs a type (E, A, PH, WAPH) and a value' });
    }
    if ((detail['type'] === 'PH' || detail['type'] === 'WAPH') && !E164.test(detail['value'])) {
      return json(422, { success: false, message: `Phone number ${detail['value']} must be in international format` });
    }
  }
  const now = Math.floor(Date.now() / 1000);
  const uuid = `CON${crypto.randomUUID()}`;
  const stored = (details as Array<{ type: string; value: string }>).map((detail) => ({ id: state.nextId(), value: detail.value, type: detail.type, created_at: now, updated_at: 0 }));
  const contact = {
    uuid,
    first_name: body['first_name'],
    last_name: typeof body['last_name'] === 'string' ? body['last_name'] : null,
    channel_uuid: null,
    profile_pic_url: typeof body['profile_pic_url'] === 'string' ? body['profile_pic_url'] : null,
    details: stored,
  };
  state.contacts.push({
    id: uuid,
    provider: 'twochat',
    scope,
    name: [contact.first_name, contact.last_name].filter(Boolean).join(' '),
    ...(stored.find((d) => d.type === 'E') ? { email: stored.find((d) => d.type === 'E')?.value as string } : {}),
    ...(stored.find((d) => d.type === 'PH' || d.type === 'WAPH') ? { phone: stored.find((d) => d.type === 'PH' || d.type === 'WAPH')?.value as string } : {}),
    raw: contact,
    createdAt: new Date().toISOString(),
  });
  return json(200, { success: true, contact });
}

/** Matches any detail value exactly (phones, emails), as a lookup before create needs. */
function search(state: EmulatorState, scope: string, query: string) {
  if (query.trim() === '') return json(422, { success: false, message: 'query is required' });
  const needle = query.trim().toLowerCase();
  const contacts = state.contacts
    .filter((contact) => contact.provider === 'twochat' && contact.scope === scope)
    .map((contact) => contact.raw as { details: Array<{ value: string }> })
    .filter((contact) => contact.details.some((detail) => detail.value.toLowerCase() === needle));
  return json(200, { success: true, contacts, count: contacts.length });
}
