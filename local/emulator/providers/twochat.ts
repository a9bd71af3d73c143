/**
 * 2Chat's contacts API as its developer docs describe it; test/contracts/twochat.md lists each behaviour,
 * the page it comes from and each assumption.
 * - `POST /open/contacts` (https://developers.2chat.co/docs/API/Contacts/create-contact): a first name and at
 *   least one `contact_detail`, answered 201 (https://developers.2chat.co/docs/API/api-response-codes).
 * - `GET /open/contacts/search` (https://developers.2chat.co/docs/API/Contacts/search-contacts): a
 *   case-insensitive substring search over names and detail values, paged from 0.
 * - `GET /open/whatsapp/get-numbers` answers the documented envelope for the health check.
 */
import type { EmulatorState } from '../state.js';
import { E164, isRecord, json, type EmulatedApi } from '../http-kit.js';

const DETAIL_TYPES = new Set(['E', 'A', 'PH', 'WAPH']);
/** Assumption: the docs give 1–100 but no default; 10 is the example in their field table. */
const DEFAULT_RESULTS_PER_PAGE = 10;
const MAX_RESULTS_PER_PAGE = 100;

interface StoredDetail {
  id: number;
  value: string;
  type: string;
  created_at: number;
  updated_at: number;
}

interface StoredContact {
  id: number;
  uuid: string;
  first_name: string;
  last_name: string | null;
  channel_uuid: string | null;
  profile_pic_url: string | null;
  details: StoredDetail[];
}

/** 2Chat's error envelope: every answer carries a `message`. */
const refuse = (status: number, message: string) => json(status, { success: false, message });

export function twoChatApi(state: EmulatorState): EmulatedApi {
  return (request) => {
    const key = request.headers['x-user-api-key'];
    if (typeof key !== 'string' || !state.credentials.twochat.has(key)) {
      return refuse(401, 'Invalid or missing API key');
    }
    if (request.method === 'POST' && request.path === '/open/contacts') return create(state, key, request.json);
    if (request.method === 'GET' && request.path === '/open/contacts/search') return search(state, key, request.query);
    // "List WhatsApp Numbers": the emulator connects no numbers, so the list is empty (still proof the key works).
    if (request.method === 'GET' && request.path === '/open/whatsapp/get-numbers') {
      return json(200, { success: true, numbers: [] });
    }
    return refuse(404, `Cannot ${request.method} ${request.path}`);
  };
}

function create(state: EmulatorState, scope: string, body: unknown) {
  // Assumption: a body of the wrong JSON structure is 400 ("check ... the right JSON structure"), a missing or
  // invalid value 422 ("malformed or invalid request"), as the response codes page words them.
  if (!isRecord(body)) return refuse(400, 'Request body must be a JSON object');
  if (typeof body['first_name'] !== 'string' || body['first_name'].trim() === '') {
    return refuse(422, 'first_name is required');
  }
  // The documented examples send `contact_detail`; assumption: the table's `contact_details` is not read.
  const details = body['contact_detail'];
  if (details !== undefined && !Array.isArray(details)) return refuse(400, 'contact_detail must be a list');
  if (details === undefined || details.length === 0) return refuse(422, 'At least one contact detail is required');
  const stored: StoredDetail[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (const detail of details as unknown[]) {
    const type = isRecord(detail) ? detail['type'] : undefined;
    const value = isRecord(detail) ? detail['value'] : undefined;
    if (typeof type !== 'string' || !DETAIL_TYPES.has(type) || typeof value !== 'string') {
      return refuse(422, 'Each contact detail needs a type (E, A, PH, WAPH) and a value');
    }
    if ((type === 'PH' || type === 'WAPH') && !E164.test(value)) {
      return refuse(422, 'Phone numbers must be in international (E.164) format');
    }
    stored.push({ id: state.nextId(), value, type, created_at: now, updated_at: 0 });
  }
  const contact: StoredContact = {
    id: state.nextId(),
    uuid: `CON${crypto.randomUUID()}`,
    first_name: body['first_name'],
    last_name: typeof body['last_name'] === 'string' ? body['last_name'] : null,
    channel_uuid: null,
    profile_pic_url: typeof body['profile_pic_url'] === 'string' ? body['profile_pic_url'] : null,
    details: stored,
  };
  const email = stored.find((detail) => detail.type === 'E')?.value;
  const phone = stored.find((detail) => detail.type === 'PH' || detail.type === 'WAPH')?.value;
  state.contacts.push({
    id: contact.uuid,
    provider: 'twochat',
    scope,
    name: [contact.first_name, contact.last_name].filter(Boolean).join(' '),
    ...(email !== undefined ? { email } : {}),
    ...(phone !== undefined ? { phone } : {}),
    raw: contact as unknown as Record<string, unknown>,
    createdAt: new Date().toISOString(),
  });
  // The created answer carries no numeric contact id (the create page's example); the search answer does.
  const { id: _id, ...answer } = contact;
  return json(201, { success: true, contact: answer });
}

/** A whole number in [0, max], the default when absent, or undefined when invalid. */
function intParam(query: URLSearchParams, name: string, fallback: number, max: number): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  return Number.isInteger(value) && value >= 0 && value <= max ? value : undefined;
}

/**
 * Substring matches over first name, last name, the full name and every detail value, ignoring case
 * ("augusto" finds "Carlo Saugusto"), oldest contact first (assumption: the docs give no order).
 */
function search(state: EmulatorState, scope: string, query: URLSearchParams) {
  const perPage = intParam(query, 'results_per_page', DEFAULT_RESULTS_PER_PAGE, MAX_RESULTS_PER_PAGE);
  if (perPage === undefined || perPage === 0) return refuse(422, 'results_per_page must be between 1 and 100');
  const page = intParam(query, 'page_number', 0, Number.MAX_SAFE_INTEGER);
  if (page === undefined) return refuse(422, 'page_number must be a whole number from 0');
  // Assumption: no query lists every contact ("list all of your contacts or search for a specific one").
  const needle = (query.get('query') ?? '').trim().toLowerCase();
  const matches = state.contacts
    .filter((contact) => contact.provider === 'twochat' && contact.scope === scope)
    .map((contact) => contact.raw as unknown as StoredContact)
    .filter((contact) => {
      const fullName = `${contact.first_name} ${contact.last_name ?? ''}`;
      const values = contact.details.map((detail) => detail.value);
      const texts = [contact.first_name, contact.last_name ?? '', fullName, ...values];
      return texts.some((text) => text.toLowerCase().includes(needle));
    });
  const contacts = matches.slice(page * perPage, (page + 1) * perPage);
  // Assumption: `count` is the number of contacts on this page (the docs' example shows 2 with 2 contacts).
  return json(200, { success: true, page, count: contacts.length, contacts });
}
