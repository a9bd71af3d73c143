/**
 * Meta's Graph API as far as Lead Ads need it: deliver reads each lead a leadgen webhook names with
 * `GET /{version}/{leadgen_id}?fields=…&access_token=…` and the page's access token. The emulator mounts it
 * under `/meta`; `POST /_emulator/meta/leads` stores the leads it serves.
 *
 * What each behaviour comes from:
 * - The lead object, its fields and their types: the User Lead Gen Info reference
 *   (https://developers.facebook.com/docs/marketing-api/reference/user-lead-gen-info/), whose field list is
 *   `LEAD_FIELDS`; `field_data` is a list of `{name, values: [..]}`. Graph answers the requested fields plus
 *   `id`, and leaves out a field the lead has no value for (public answers that ask for `campaign_name` of a
 *   lead without one: https://github.com/facebook/facebook-python-business-sdk/issues/217).
 * - Reading a lead with the page's access token: Retrieving Leads
 *   (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving). Its rate limit is per
 *   page, and page tokens get Business Use Case limits
 *   (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/).
 * - Every error is the envelope `{error: {message, type, code, error_subcode?, fbtrace_id}}` of Handling Errors
 *   (https://developers.facebook.com/docs/graph-api/guides/error-handling): 190 an invalid token, 200-299 a
 *   permission the token lacks, 4/17/32/613 and the Pages limit 80001 throttling, 1 and 2 a passing fault.
 *
 * Handling Errors gives codes but no HTTP statuses. Assumption: the statuses, types and messages below are the
 * ones Graph's answers show in public threads:
 * - no `access_token`: 400, OAuthException 104 (https://github.com/node-facebook/facebook-node-sdk/issues/105);
 * - a token no page has: 400, OAuthException 190 (https://github.com/hellostealth/stealth/issues/199);
 * - an `appsecret_proof` that is not the token's HMAC with the app secret of a secret giving that token: 400,
 *   GraphMethodException 100 (see `proofRefused`);
 * - a token of another page: 403, OAuthException 200 (https://github.com/snarfed/bridgy/issues/78). Assumption:
 *   Graph may answer 100/33 instead, since its 100/33 message covers "missing permissions"; the emulator keeps
 *   the two apart so a client's handling of each can be tested;
 * - an unknown numeric id, or a method the lead does not support: 400, GraphMethodException 100 with subcode 33
 *   (https://github.com/roughike/flutter_facebook_login/issues/44);
 * - an id that is not a number: 400, OAuthException 803 (https://github.com/facebookarchive/php-graph-sdk/issues/1121);
 * - a throttled call: 400, OAuthException with `is_transient: true`
 *   (https://github.com/facebook/facebook-nodejs-business-sdk/issues/97);
 * - a path that is not `/v{major}.{minor}/{id}`, e.g. a malformed version: 400, OAuthException 2500
 *   "Unknown path components" (Graph reads the first segment as a node and the rest as an edge it lacks);
 * - a field the lead object does not have: 400, OAuthException 100 naming the field.
 * Assumption: without `fields`, a lead is answered with `id`, `created_time` and `field_data`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { EmulatorState } from '../state.js';
import { isRecord, json, type EmulatedApi, type EmulatedRequest, type EmulatedResponse } from '../http-kit.js';

/** The lead object's fields (User Lead Gen Info); a read may ask for any of them. */
export const LEAD_FIELDS = [
  'id',
  'ad_id',
  'ad_name',
  'adset_id',
  'adset_name',
  'campaign_id',
  'campaign_name',
  'created_time',
  'custom_disclaimer_responses',
  'field_data',
  'form_id',
  'home_listing',
  'is_organic',
  'partner_name',
  'platform',
  'post',
  'retailer_item_id',
  'vehicle',
] as const;
type LeadField = (typeof LEAD_FIELDS)[number];
const isLeadField = (name: string): name is LeadField => (LEAD_FIELDS as readonly string[]).includes(name);

const DEFAULT_FIELDS: LeadField[] = ['created_time', 'field_data'];
const VERSION = /^v\d+\.\d+$/;
const GRAPH_ID = /^\d+$/;
/** Secrets whose `pageAccessTokens` read leads: `contact-relay/{stage}/source/meta-leads…`. */
const META_SECRET_NAME = /^contact-relay\/[^/]+\/source\/meta-leads/;

/** A lead as Graph holds it, and the page it came through (which decides whose token may read it). */
export interface StoredLead {
  pageId: string;
  lead: Record<string, unknown> & { id: string };
}

export interface GraphError {
  message: string;
  type: 'OAuthException' | 'GraphMethodException';
  code: number;
  error_subcode?: number;
  is_transient?: boolean;
}

/** Graph's error envelope; each answer gets its own trace id, as Graph's do. */
export function graphError(status: number, error: GraphError): EmulatedResponse {
  return json(status, { error: { ...error, fbtrace_id: `A${randomBytes(16).toString('base64url')}` } });
}

const oauthError = (status: number, code: number, message: string) =>
  graphError(status, { message, type: 'OAuthException', code });

/** Messages of the throttling codes (Handling Errors and Rate Limits list the codes). */
const THROTTLING: Record<number, string> = {
  4: '(#4) Application request limit reached',
  17: '(#17) User request limit reached',
  32: '(#32) Page request limit reached',
  613: '(#613) Calls to this api have exceeded the rate limit',
  80001: '(#80001) There have been too many calls to this Page account. Wait a bit and try again',
};

/**
 * The body of an armed fault on the Graph API: the given code, else one a client reads as temporary — 2 (API
 * Service) for a 5xx, 4 (Application request limit) for a 429, 1 (API Unknown) otherwise. Assumption: Graph
 * does not use 429 itself; a 429 fault tests a client's reading of the status alone.
 */
export function graphFaultBody(status: number, code?: number): unknown {
  const chosen = code ?? (status >= 500 ? 2 : status === 429 ? 4 : 1);
  // 80000-80014 are the Business Use Case limits (80005 the LeadGen one) of the Rate Limits page.
  const businessLimit = chosen >= 80000 && chosen <= 80014;
  const throttled =
    THROTTLING[chosen] ?? (businessLimit ? `(#${chosen}) Too many calls for this business use case` : undefined);
  const message =
    throttled ?? (chosen === 2 ? 'Service temporarily unavailable' : `Emulated fault ${status} (code ${chosen})`);
  const transient = throttled !== undefined || chosen === 1 || chosen === 2;
  const error: GraphError = {
    message,
    type: 'OAuthException',
    code: chosen,
    ...(transient ? { is_transient: true } : {}),
  };
  return graphError(status, error).body;
}

/** What a page token opens: its pages, and the app secrets of the secrets naming it (for `appsecret_proof`). */
interface TokenGrant {
  pages: Set<string>;
  appSecrets: Set<string>;
}

/**
 * Grants by page access token, from every `…/source/meta-leads…` secret the emulator holds, read at each call so
 * a secret set after the start counts.
 */
function grantsByToken(secrets: ReadonlyMap<string, string>): Map<string, TokenGrant> {
  const grants = new Map<string, TokenGrant>();
  for (const [name, text] of secrets) {
    if (!META_SECRET_NAME.test(name)) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    if (!isRecord(value) || !isRecord(value['pageAccessTokens'])) continue;
    const appSecret = value['appSecret'];
    for (const [pageId, token] of Object.entries(value['pageAccessTokens'])) {
      if (typeof token !== 'string' || token === '') continue;
      const grant = grants.get(token) ?? { pages: new Set<string>(), appSecrets: new Set<string>() };
      grant.pages.add(pageId);
      if (typeof appSecret === 'string' && appSecret !== '') grant.appSecrets.add(appSecret);
      grants.set(token, grant);
    }
  }
  return grants;
}

/** Every page some meta-leads secret gives a token for. */
function knownPages(secrets: ReadonlyMap<string, string>): string[] {
  return [...new Set([...grantsByToken(secrets).values()].flatMap((grant) => [...grant.pages]))].sort();
}

/**
 * `appsecret_proof` is the hex HMAC-SHA256 of the token keyed with the app secret
 * (https://developers.facebook.com/docs/graph-api/securing-requests). Assumption: a call without one is
 * served (the app does not require it); a wrong one is 400 GraphMethodException 100, as answers show
 * (https://github.com/facebook/facebook-python-business-sdk/issues/528).
 */
function proofRefused(proof: string | null, token: string, grant: TokenGrant): boolean {
  if (proof === null) return false;
  const proofWith = (appSecret: string) => createHmac('sha256', appSecret).update(token).digest('hex');
  return ![...grant.appSecrets].some((appSecret) => proofWith(appSecret) === proof);
}

/** The Graph API under `/meta`: `request.path` is what follows it. */
export function metaGraphApi(state: EmulatorState): EmulatedApi {
  return (request) => {
    const segments = request.path.split('/').filter((segment) => segment !== '');
    const [version, leadgenId] = segments;
    if (segments.length !== 2 || version === undefined || leadgenId === undefined || !VERSION.test(version)) {
      const rest = segments.length > 1 ? `/${segments.slice(1).join('/')}` : request.path;
      return graphError(400, { message: `Unknown path components: ${rest}`, type: 'OAuthException', code: 2500 });
    }
    const token = request.query.get('access_token');
    if (token === null || token === '') {
      return oauthError(400, 104, 'An access token is required to request this resource.');
    }
    const grant = grantsByToken(state.secrets).get(token);
    if (grant === undefined) {
      return oauthError(400, 190, 'Invalid OAuth access token.');
    }
    if (proofRefused(request.query.get('appsecret_proof'), token, grant)) {
      const message = 'Invalid appsecret_proof provided in the API argument';
      return graphError(400, { message, type: 'GraphMethodException', code: 100 });
    }
    if (!GRAPH_ID.test(leadgenId)) {
      return oauthError(400, 803, `(#803) Some of the aliases you requested do not exist: ${leadgenId}`);
    }
    const stored = state.metaLeads.get(leadgenId);
    if (request.method !== 'GET' || stored === undefined) return unsupported(request.method, leadgenId);
    if (!grant.pages.has(stored.pageId)) {
      return oauthError(403, 200, '(#200) Permissions error: this page access token cannot read leads of that page');
    }
    return readLead(stored, request);
  };
}

function unsupported(method: string, id: string): EmulatedResponse {
  return graphError(400, {
    message:
      `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to ` +
      'missing permissions, or does not support this operation.',
    type: 'GraphMethodException',
    code: 100,
    error_subcode: 33,
  });
}

/** The requested fields the lead has, and its id. */
function readLead(stored: StoredLead, request: EmulatedRequest): EmulatedResponse {
  const asked = (request.query.get('fields') ?? '')
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
  const unknown = asked.find((field) => !isLeadField(field));
  if (unknown !== undefined) {
    return oauthError(400, 100, `(#100) Tried accessing nonexisting field (${unknown}) on node type (Lead)`);
  }
  const fields = asked.length === 0 ? DEFAULT_FIELDS : asked;
  const answer: Record<string, unknown> = {};
  for (const field of fields) {
    if (stored.lead[field] !== undefined) answer[field] = stored.lead[field];
  }
  answer['id'] = stored.lead.id;
  return json(200, answer);
}

const refuse = (message: string) => json(400, { error: { code: 'invalid_lead', message } });
const isDigits = (value: unknown): value is string => typeof value === 'string' && GRAPH_ID.test(value);
const ID_FIELDS = ['ad_id', 'adset_id', 'campaign_id', 'form_id'];
const TEXT_FIELDS = ['ad_name', 'adset_name', 'campaign_name', 'partner_name', 'platform', 'retailer_item_id'];
const OBJECT_FIELDS = ['home_listing', 'post', 'vehicle'];

/** One lead of a seed body, or why not, naming the field. */
function parseLead(input: unknown, defaultPage: () => string | { problem: string }): StoredLead | string {
  if (!isRecord(input))
    return 'a lead must be a JSON object {id, created_time, field_data, form_id?, ad_id?, page_id?, …}';
  const extra = Object.keys(input).find((key) => key !== 'page_id' && !isLeadField(key));
  if (extra !== undefined)
    return `${extra} is not a field of a Graph lead (fields: ${LEAD_FIELDS.join(', ')}; and page_id)`;
  const { id, created_time: createdTime, field_data: fieldData, page_id: pageId } = input;
  if (!isDigits(id)) return 'id must be the lead id as a string of digits';
  if (typeof createdTime !== 'string' || Number.isNaN(Date.parse(createdTime))) {
    return 'created_time must be a date-time such as 2026-01-31T09:59:40+0000';
  }
  if (!Array.isArray(fieldData)) return 'field_data must be a list of {name, values}';
  for (const [index, entry] of fieldData.entries()) {
    if (!isRecord(entry) || typeof entry['name'] !== 'string' || entry['name'] === '') {
      return `field_data[${index}].name must be a non-empty string`;
    }
    const values = entry['values'];
    if (!Array.isArray(values) || !values.every((value) => typeof value === 'string')) {
      return `field_data[${index}].values must be a list of strings`;
    }
  }
  const given = (field: string) => input[field] !== undefined;
  for (const field of ID_FIELDS)
    if (given(field) && !isDigits(input[field])) return `${field} must be a Graph id (a string of digits)`;
  for (const field of TEXT_FIELDS)
    if (given(field) && typeof input[field] !== 'string') return `${field} must be a string`;
  for (const field of OBJECT_FIELDS) if (given(field) && !isRecord(input[field])) return `${field} must be an object`;
  if (given('is_organic') && typeof input['is_organic'] !== 'boolean') return 'is_organic must be true or false';
  if (input['custom_disclaimer_responses'] !== undefined && !Array.isArray(input['custom_disclaimer_responses'])) {
    return 'custom_disclaimer_responses must be a list';
  }
  let page: string;
  if (pageId === undefined) {
    const fallback = defaultPage();
    if (typeof fallback !== 'string') return fallback.problem;
    page = fallback;
  } else if (isDigits(pageId)) {
    page = pageId;
  } else {
    return 'page_id must be a page id (a string of digits)';
  }
  const { page_id: _page, ...lead } = input;
  return { pageId: page, lead: { ...lead, id } };
}

/**
 * `/_emulator/meta/leads`: POST stores a lead (or a list of them) as Graph will answer it, filed under its
 * `page_id` — by default the one page the emulator's meta-leads secrets name. A lead stored again under the same
 * id replaces the first (so a sample can be sent twice). GET lists the leads, DELETE forgets them.
 */
export function metaLeadsInspection(state: EmulatorState, method: string, body: unknown): EmulatedResponse {
  if (method === 'GET') {
    return json(
      200,
      [...state.metaLeads.values()].map(({ pageId, lead }) => ({ ...lead, page_id: pageId })),
    );
  }
  if (method === 'DELETE') {
    state.metaLeads.clear();
    return json(200, { status: 'cleared' });
  }
  if (method !== 'POST') {
    return json(405, { error: { code: 'method_not_allowed', message: 'use GET, POST or DELETE' } });
  }
  const defaultPage = () => {
    const pages = knownPages(state.secrets);
    if (pages.length === 1 && pages[0] !== undefined) return pages[0];
    const why =
      pages.length === 0
        ? 'no contact-relay/{stage}/source/meta-leads secret gives a page token'
        : `the meta-leads secrets name pages ${pages.join(', ')}`;
    return { problem: `page_id is required: ${why}` };
  };
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) return refuse('give a lead or a list of leads');
  const parsed: StoredLead[] = [];
  for (const [index, input] of list.entries()) {
    const lead = parseLead(input, defaultPage);
    if (typeof lead === 'string') return refuse(Array.isArray(body) ? `lead ${index}: ${lead}` : lead);
    parsed.push(lead);
  }
  const answers = parsed.map((lead) => {
    const replaced = state.metaLeads.has(lead.lead.id);
    state.metaLeads.set(lead.lead.id, lead);
    return { id: lead.lead.id, page_id: lead.pageId, replaced };
  });
  if (Array.isArray(body)) return json(201, answers);
  const [answer] = answers;
  return json(answer?.replaced ? 200 : 201, answer);
}
