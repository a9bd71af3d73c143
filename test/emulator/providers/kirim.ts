/**
 * Kirim.chat as ../shared/seeds/kirim-create-contact.txt documents it:
 * `POST /v1/{phone_number_id}/contacts` with `Authorization: Bearer`, an
 * E.164 `phone_number`, optional `name`, `email`, `metadata`; 201
 * `{data:{id:"ctc_…", object:"contact", ...}, request_id}`; errors in the
 * `{error:{type, code, message, param?, request_id}}` envelope.
 *
 * Where the doc is silent, these are the emulator's own choices:
 * - `GET /v1/accounts` (documented) lists the phone_number_ids the local
 *   secrets pair with the caller's token;
 * - `GET /v1/{phone_number_id}/contacts?phone=+E164` lists matches as
 *   `{object:"list", data:[...], has_more, request_id}`;
 * - a create for a phone already in that WhatsApp account answers 409
 *   `contact_already_exists` (Kirim documents no duplicate behaviour);
 * - a phone_number_id that is not all digits (Meta's ids are) answers 404, as
 *   an unknown connected account would;
 * - `Idempotency-Key` works the usual way (the doc lists the header, not for
 *   contacts): a create that ran is stored per token and key; the same key
 *   with the same request replays it, with another request answers 422
 *   `idempotency_key_reused`. Requests refused before running (auth,
 *   validation) are not stored, so a corrected retry can use the same key.
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorState } from '../state.js';
import { E164, isRecord, json, type EmulatedApi, type EmulatedRequest, type EmulatedResponse } from '../http-kit.js';

const CONTACTS_PATH = /^\/v1\/([^/]+)\/contacts\/?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID: 10 characters of milliseconds and 16 random ones, the shape of Kirim's `ctc_…` and `req_…` ids. */
export function ulid(now = Date.now()): string {
  let time = '';
  let rest = now;
  for (let i = 0; i < 10; i++) {
    time = (CROCKFORD[rest % 32] as string) + time;
    rest = Math.floor(rest / 32);
  }
  let random = '';
  for (const byte of randomBytes(16)) random += CROCKFORD[byte % 32] as string;
  return time + random;
}

type ErrorType = 'invalid_request_error' | 'authentication_error';

function kirimError(status: number, type: ErrorType, code: string, message: string, param?: string): EmulatedResponse {
  return json(status, { error: { type, code, message, ...(param !== undefined ? { param } : {}), request_id: `req_${ulid()}` } });
}

interface StoredResponse {
  fingerprint: string;
  response: EmulatedResponse;
  at: number;
}

export function kirimApi(state: EmulatorState): EmulatedApi {
  const idempotency = new Map<string, StoredResponse>();
  // `state.reset()` swaps in a new contacts array; stored creations of forgotten contacts must go with them.
  let contactsSeen = state.contacts;

  return (request) => {
    if (state.contacts !== contactsSeen) {
      idempotency.clear();
      contactsSeen = state.contacts;
    }

    const authorization = request.headers['authorization'];
    if (typeof authorization !== 'string' || authorization.trim() === '') {
      return kirimError(401, 'authentication_error', 'missing_api_key', 'No API key provided. Send it as "Authorization: Bearer <token>".');
    }
    const token = /^Bearer\s+(.+)$/i.exec(authorization.trim())?.[1];
    if (token === undefined || !state.credentials.kirim.has(token)) {
      return kirimError(401, 'authentication_error', 'invalid_api_key', 'Invalid API key provided.');
    }

    if (request.path === '/v1/accounts' && request.method === 'GET') return listAccounts(state, token, request.query);

    const match = CONTACTS_PATH.exec(request.path);
    const phoneNumberId = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (phoneNumberId === undefined || (request.method !== 'POST' && request.method !== 'GET')) {
      return kirimError(404, 'invalid_request_error', 'resource_missing', `No such endpoint: ${request.method} ${request.path}`);
    }
    if (!/^\d+$/.test(phoneNumberId)) {
      return kirimError(404, 'invalid_request_error', 'resource_missing', `No connected WhatsApp account with phone_number_id ${phoneNumberId}`, 'phone_number_id');
    }
    if (request.method === 'GET') return list(state, phoneNumberId, request.query);

    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return create(state, phoneNumberId, request.json).response;

    const slot = `${token}\n${key}`;
    const fingerprint = `${request.method} ${request.path}\n${request.json === undefined ? request.rawBody : JSON.stringify(request.json)}`;
    const stored = idempotency.get(slot);
    if (stored !== undefined && Date.now() - stored.at < IDEMPOTENCY_TTL_MS) {
      if (stored.fingerprint !== fingerprint) {
        return kirimError(422, 'invalid_request_error', 'idempotency_key_reused', 'Keys for idempotent requests can only be used with the same parameters they were first used with.');
      }
      return { ...stored.response, headers: { ...stored.response.headers, 'idempotent-replayed': 'true' } };
    }
    const { response, ran } = create(state, phoneNumberId, request.json);
    if (ran) idempotency.set(slot, { fingerprint, response, at: Date.now() });
    return response;
  };
}

/** `ran` is false when the request was refused before anything was done, as idempotency stores only what ran. */
function create(state: EmulatorState, phoneNumberId: string, body: EmulatedRequest['json']): { response: EmulatedResponse; ran: boolean } {
  const refuse = (response: EmulatedResponse) => ({ response, ran: false });
  if (!isRecord(body)) return refuse(kirimError(400, 'invalid_request_error', 'invalid_request_body', 'The request body must be a JSON object.'));

  const phone = body['phone_number'];
  if (phone === undefined || phone === null || phone === '') {
    return refuse(kirimError(400, 'invalid_request_error', 'missing_required_param', 'Missing required param: phone_number.', 'phone_number'));
  }
  if (typeof phone !== 'string' || !E164.test(phone)) {
    return refuse(kirimError(400, 'invalid_request_error', 'invalid_phone_number', 'phone_number must be an E.164 number such as +14155550123.', 'phone_number'));
  }
  const name = body['name'];
  if (name !== undefined && name !== null && typeof name !== 'string') {
    return refuse(kirimError(400, 'invalid_request_error', 'invalid_param', 'name must be a string.', 'name'));
  }
  const email = body['email'];
  if (email !== undefined && email !== null && (typeof email !== 'string' || !EMAIL.test(email))) {
    return refuse(kirimError(400, 'invalid_request_error', 'invalid_email', 'email must be a valid email address.', 'email'));
  }
  const metadata = body['metadata'];
  if (metadata !== undefined && metadata !== null && !isRecord(metadata)) {
    return refuse(kirimError(400, 'invalid_request_error', 'invalid_metadata', 'metadata must be an object.', 'metadata'));
  }

  if (state.contacts.some((contact) => contact.provider === 'kirim' && contact.scope === phoneNumberId && contact.phone === phone)) {
    return { response: kirimError(409, 'invalid_request_error', 'contact_already_exists', `A contact with phone_number ${phone} already exists.`, 'phone_number'), ran: true };
  }

  const now = new Date().toISOString();
  const contact = {
    id: `ctc_${ulid()}`,
    object: 'contact',
    phone_number: phone,
    name: typeof name === 'string' ? name : null,
    email: typeof email === 'string' ? email : null,
    metadata: isRecord(metadata) ? metadata : null,
    whatsapp_account: { phone_number: phoneNumberId },
    created_at: now,
    updated_at: now,
  };
  state.contacts.push({
    id: contact.id,
    provider: 'kirim',
    scope: phoneNumberId,
    phone,
    ...(contact.name !== null ? { name: contact.name } : {}),
    ...(contact.email !== null ? { email: contact.email } : {}),
    raw: contact,
    createdAt: now,
  });
  return { response: json(201, { data: contact, request_id: `req_${ulid()}` }), ran: true };
}

/**
 * `GET /v1/accounts` as documented. The emulator accepts any all-digit
 * phone_number_id, so it has no account list of its own: the accounts it
 * shows are the phone_number_ids the local secrets pair with this token.
 */
function listAccounts(state: EmulatorState, token: string, query: URLSearchParams): EmulatedResponse {
  const status = query.get('status');
  if (status !== null && status !== 'connected' && status !== 'all') {
    return kirimError(400, 'invalid_request_error', 'invalid_param', 'status must be "connected" or "all".', 'status');
  }
  const ids = new Set<string>();
  for (const text of state.secrets.values()) {
    let secret: unknown;
    try {
      secret = JSON.parse(text);
    } catch {
      continue;
    }
    if (isRecord(secret) && secret['token'] === token && typeof secret['phoneNumberId'] === 'string') ids.add(secret['phoneNumberId']);
  }
  const data = [...ids].map((id) => ({ object: 'account', phone_number_id: id, phone_number: null, name: null, status: 'connected' }));
  return json(200, { data, has_more: false, next_cursor: null, request_id: `req_${ulid()}` });
}

/** Exact phone match inside one WhatsApp account; without `phone`, the account's contacts. */
function list(state: EmulatorState, phoneNumberId: string, query: URLSearchParams): EmulatedResponse {
  const phone = query.get('phone');
  if (phone !== null && !E164.test(phone)) {
    // A `+` sent unencoded arrives as a space: the same mistake a real server would refuse.
    return kirimError(400, 'invalid_request_error', 'invalid_phone_number', 'phone must be an E.164 number such as +14155550123 (URL-encode the "+").', 'phone');
  }
  const data = state.contacts
    .filter((contact) => contact.provider === 'kirim' && contact.scope === phoneNumberId && (phone === null || contact.phone === phone))
    .map((contact) => contact.raw);
  return json(200, { object: 'list', data, has_more: false, request_id: `req_${ulid()}` });
}
