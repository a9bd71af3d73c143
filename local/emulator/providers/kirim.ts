/**
 * Kirim.chat as its API reference describes it; test/contracts/kirim.md lists
 * each behaviour with its page, and the emulator's own choices as "Assumption:".
 *
 * - `POST /v1/{phone_number_id}/contacts` with `Authorization: Bearer`, an
 *   E.164 `phone_number`, optional `name`, `email`, `metadata`; 201
 *   `{data:{id:"ctc_…", object:"contact", ...}, request_id}`.
 * - `GET /v1/{phone_number_id}/contacts?phone=+E164` filters by exact phone:
 *   `{data, has_more, next_cursor, request_id}`, `limit` 1–100 (25), opaque cursors.
 * - `GET /v1/accounts` lists the phone_number_ids the local secrets pair with
 *   the caller's token.
 * - Errors in the `{error:{type, code, message, param?, request_id}}` envelope,
 *   with `X-Request-Id` echoing `request_id`.
 * - `Idempotency-Key`: the same key and request (method, path, canonical JSON
 *   body) within 24 h replays the stored answer (`Idempotent-Replayed: true`);
 *   another request answers 422 `idempotency_key_reuse`; while the first is
 *   still running, a second waits up to 30 s for it, then answers 409
 *   `idempotency_in_progress`. A create runs until its answer is out: an armed
 *   `delayMs` fault keeps its key locked that long.
 * - A token marked restricted (`kirimSettings(state).restrictedTokens`) gets
 *   403 `permission_error` on every phone-scoped call, as an organisation
 *   without access to the number would.
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorState } from '../state.js';
import { E164, isRecord, json, type EmulatedRequest, type EmulatedResponse } from '../http-kit.js';

const CONTACTS_PATH = /^\/v1\/([^/]+)\/contacts\/?$/;
/** Meta's ids are digits; the list page gives the path parameter's pattern. */
const PHONE_NUMBER_ID = /^\d{6,20}$/;
/** The `phone` filter's pattern on the organisation-wide list page. */
const PHONE_FILTER = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const IDEMPOTENCY_KEY_MAX = 255;
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

interface KirimSettings {
  /** How long a request waits for another one running under its key before 409 (Kirim: 30 s). */
  inFlightWaitMs: number;
  /** Tokens whose organisation may not use the phone-scoped endpoints: they get 403 `permission_error`. */
  restrictedTokens: Set<string>;
}

const KIRIM_IN_FLIGHT_WAIT_MS = 30_000;

const settingsByState = new WeakMap<EmulatorState, KirimSettings>();

/**
 * The emulator's Kirim knobs for one emulator, kept across `state.reset()` as credentials are. A test
 * may shorten `inFlightWaitMs` to reach the 409 without a 30 s wait: it stands for a first request
 * that runs longer than Kirim's 30 s.
 */
export function kirimSettings(state: EmulatorState): KirimSettings {
  let settings = settingsByState.get(state);
  if (settings === undefined) {
    settings = { inFlightWaitMs: KIRIM_IN_FLIGHT_WAIT_MS, restrictedTokens: new Set() };
    settingsByState.set(state, settings);
  }
  return settings;
}

type ErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found' | 'conflict';

function withRequestId(status: number, body: Record<string, unknown>, requestId: string): EmulatedResponse {
  return json(status, { ...body, request_id: requestId }, { 'x-request-id': requestId });
}

function kirimError(status: number, type: ErrorType, code: string, message: string, param?: string): EmulatedResponse {
  const requestId = `req_${ulid()}`;
  const error = { type, code, message, ...(param !== undefined ? { param } : {}), request_id: requestId };
  return json(status, { error }, { 'x-request-id': requestId });
}

const notFound = (message: string, param?: string) =>
  kirimError(404, 'not_found', 'resource_not_found', message, param);
const invalid = (code: string, message: string, param?: string) =>
  kirimError(400, 'invalid_request_error', code, message, param);

/** JSON with every object's keys sorted, so two bodies that differ only in key order hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface StoredResponse {
  fingerprint: string;
  response: EmulatedResponse;
  at: number;
  /** When the request that stored it has its answer out; until then the key is locked. */
  doneAt: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function kirimApi(state: EmulatorState): (request: EmulatedRequest) => Promise<EmulatedResponse> {
  const idempotency = new Map<string, StoredResponse>();
  // `state.reset()` swaps in a new contacts array; stored creations of forgotten contacts must go with them.
  let contactsSeen = state.contacts;

  return async (request) => {
    if (state.contacts !== contactsSeen) {
      idempotency.clear();
      contactsSeen = state.contacts;
    }

    const authorization = request.headers['authorization'];
    if (typeof authorization !== 'string' || authorization.trim() === '') {
      return kirimError(
        401,
        'authentication_error',
        'missing_api_key',
        'No API key provided. Send it as "Authorization: Bearer <token>".',
      );
    }
    const token = /^Bearer\s+(.+)$/i.exec(authorization.trim())?.[1];
    if (token === undefined || !state.credentials.kirim.has(token)) {
      return kirimError(401, 'authentication_error', 'invalid_api_key', 'Invalid API key provided.');
    }

    if (request.path === '/v1/accounts' && request.method === 'GET') return listAccounts(state, token, request.query);

    const match = CONTACTS_PATH.exec(request.path);
    const phoneNumberId = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (phoneNumberId === undefined || (request.method !== 'POST' && request.method !== 'GET')) {
      return notFound(`No such endpoint: ${request.method} ${request.path}`);
    }
    if (!PHONE_NUMBER_ID.test(phoneNumberId)) {
      return notFound(`No connected WhatsApp account with phone_number_id ${phoneNumberId}`, 'phone_number_id');
    }
    if (kirimSettings(state).restrictedTokens.has(token)) {
      const message = `This API key's organisation has no access to phone_number_id ${phoneNumberId}.`;
      return kirimError(403, 'permission_error', 'phone_number_forbidden', message);
    }
    if (request.method === 'GET') return list(state, phoneNumberId, request.query);

    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return create(state, phoneNumberId, request.json).response;
    if (key.length > IDEMPOTENCY_KEY_MAX) {
      const message = `Idempotency-Key must be at most ${IDEMPOTENCY_KEY_MAX} characters.`;
      return invalid('invalid_field_value', message, 'Idempotency-Key');
    }

    const slot = `${token}\n${key}`;
    const body = request.json === undefined ? request.rawBody : canonicalJson(request.json);
    const fingerprint = `${request.method} ${request.path}\n${body}`;
    const stored = idempotency.get(slot);
    if (stored !== undefined && Date.now() - stored.at < IDEMPOTENCY_TTL_MS) return replay(stored, fingerprint);

    const { response, ran } = create(state, phoneNumberId, request.json);
    const answer = { ...response, headers: { ...response.headers, 'idempotent-replayed': 'false' } };
    const now = Date.now();
    if (ran) idempotency.set(slot, { fingerprint, response, at: now, doneAt: now + (request.heldMs ?? 0) });
    return answer;
  };

  async function replay(stored: StoredResponse, fingerprint: string): Promise<EmulatedResponse> {
    if (stored.fingerprint !== fingerprint) {
      const message = 'This Idempotency-Key was already used with a different request; use a new key for it.';
      return kirimError(422, 'invalid_request_error', 'idempotency_key_reuse', message);
    }
    const running = stored.doneAt - Date.now();
    if (running > 0) {
      const { inFlightWaitMs } = kirimSettings(state);
      if (running > inFlightWaitMs) {
        await sleep(inFlightWaitMs);
        const message = 'A request with this Idempotency-Key is still being processed. Retry later with the same key.';
        return kirimError(409, 'conflict', 'idempotency_in_progress', message);
      }
      await sleep(running);
    }
    return { ...stored.response, headers: { ...stored.response.headers, 'idempotent-replayed': 'true' } };
  }
}

/** `ran` is false when the request was refused before anything was done, as idempotency stores only what ran. */
function create(
  state: EmulatorState,
  phoneNumberId: string,
  body: EmulatedRequest['json'],
): { response: EmulatedResponse; ran: boolean } {
  const refuse = (response: EmulatedResponse) => ({ response, ran: false });
  if (!isRecord(body)) return refuse(invalid('invalid_request', 'The request body must be a JSON object.'));

  const phone = body['phone_number'];
  if (phone === undefined || phone === null || phone === '') {
    return refuse(invalid('missing_required_field', 'Missing required field: phone_number.', 'phone_number'));
  }
  if (typeof phone !== 'string' || !E164.test(phone)) {
    const message = 'Phone number must be in E.164 format (e.g. +14155550123).';
    return refuse(invalid('invalid_phone_number', message, 'phone_number'));
  }
  const name = body['name'];
  if (name !== undefined && name !== null && typeof name !== 'string') {
    return refuse(invalid('invalid_field_value', 'name must be a string.', 'name'));
  }
  const email = body['email'];
  if (email !== undefined && email !== null && (typeof email !== 'string' || !EMAIL.test(email))) {
    return refuse(invalid('invalid_field_value', 'email must be a valid email address.', 'email'));
  }
  const metadata = body['metadata'];
  if (metadata !== undefined && metadata !== null && !isRecord(metadata)) {
    return refuse(invalid('invalid_field_value', 'metadata must be an object.', 'metadata'));
  }

  // Kirim documents no refusal of a second contact with the same phone, so none is made here: only the
  // client's lookup and Idempotency-Key keep a person from being created twice.
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
  return { response: withRequestId(201, { data: contact }, `req_${ulid()}`), ran: true };
}

/**
 * `GET /v1/accounts` as documented. The emulator accepts any phone_number_id of
 * Meta's shape, so it has no account list of its own: the accounts it shows
 * are the phone_number_ids the local secrets pair with this token.
 */
function listAccounts(state: EmulatorState, token: string, query: URLSearchParams): EmulatedResponse {
  const status = query.get('status');
  if (status !== null && status !== 'connected' && status !== 'all') {
    return invalid('invalid_field_value', 'status must be "connected" or "all".', 'status');
  }
  const ids = new Set<string>();
  for (const text of state.secrets.values()) {
    let secret: unknown;
    try {
      secret = JSON.parse(text);
    } catch {
      continue;
    }
    if (isRecord(secret) && secret['token'] === token && typeof secret['phoneNumberId'] === 'string')
      ids.add(secret['phoneNumberId']);
  }
  const data = [...ids].map((id) => ({
    object: 'account',
    phone_number_id: id,
    phone_number: null,
    name: null,
    status: 'connected',
  }));
  return withRequestId(200, { data, has_more: false, next_cursor: null }, `req_${ulid()}`);
}

const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;

interface Cursor {
  offset: number;
  /** The filters the cursor was made for: a cursor only works with the same ones. */
  filters: string;
}

function readCursor(text: string): Cursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (isRecord(value) && Number.isInteger(value['offset']) && typeof value['filters'] === 'string') {
      return { offset: value['offset'] as number, filters: value['filters'] };
    }
  } catch {
    // Falls through to the refusal, as a tampered cursor does.
  }
  return undefined;
}

/** One WhatsApp account's contacts: `phone` matches exactly, `search` a part of the name or email. */
function list(state: EmulatorState, phoneNumberId: string, query: URLSearchParams): EmulatedResponse {
  const phone = query.get('phone');
  if (phone !== null && !PHONE_FILTER.test(phone)) {
    // A `+` sent unencoded arrives as a space: the same mistake a real server would refuse.
    const message = 'phone must be an E.164 number such as +14155550123 (URL-encode the "+").';
    return invalid('invalid_phone_number', message, 'phone');
  }
  const search = query.get('search');
  if (search !== null && (search.length < 1 || search.length > 200)) {
    return invalid('invalid_field_value', 'search must be 1 to 200 characters.', 'search');
  }
  const limitText = query.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return invalid('invalid_limit', `limit must be 1 to ${MAX_LIMIT}.`, 'limit');
  const filters = JSON.stringify([phoneNumberId, phone, search]);
  const cursorText = query.get('cursor');
  const cursor = cursorText === null ? { offset: 0, filters } : readCursor(cursorText);
  if (cursor === undefined || cursor.filters !== filters || cursor.offset < 0) {
    return invalid('invalid_cursor', 'cursor is malformed or was made for other filters.', 'cursor');
  }

  const needle = search?.toLowerCase();
  const matches = state.contacts.filter(
    (contact) =>
      contact.provider === 'kirim' &&
      contact.scope === phoneNumberId &&
      (phone === null || contact.phone === phone) &&
      (needle === undefined || [contact.name, contact.email].some((text) => text?.toLowerCase().includes(needle))),
  );
  const end = cursor.offset + limit;
  const hasMore = end < matches.length;
  const next = hasMore ? Buffer.from(JSON.stringify({ offset: end, filters }), 'utf8').toString('base64url') : null;
  const data = matches.slice(cursor.offset, end).map((contact) => contact.raw);
  return withRequestId(200, { data, has_more: hasMore, next_cursor: next }, `req_${ulid()}`);
}
