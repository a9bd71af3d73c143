/**
 * Reads a Meta Lead Ads lead from the Graph API at delivery:
 * `GET {base}/{version}/{leadgen_id}?fields=field_data,created_time,ad_id,form_id,campaign_name&access_token=…`
 * with the token of the lead's Page
 * (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving), and maps its
 * `field_data` to a contact of the route.
 *
 * Graph errors are read by their documented codes
 * (https://developers.facebook.com/docs/graph-api/guides/error-handling): a refused token, a missing
 * permission or a lead that cannot be seen will stay so until someone acts, and fail the job's accounts
 * under a code naming the fix (LeadUnavailableError); downtime and rate limits leave them transient
 * (LeadFetchTransientError), so the queue brings the job back.
 */
import { fitContact, type Contact } from '../contact.js';
import type { ResolvedRoute } from '../config/routes.js';
import { HttpTransportError, type HttpClient, type HttpResponse } from '../http.js';
import { SourceSecretSchema, type SourceSecret } from '../ingest.js';
import { LeadFetchTransientError, LeadUnavailableError, type LeadFetcher, type MetaLeadReference } from '../leads.js';
import { sourceSecretName, type SecretStore } from '../secrets.js';
import { hmacSha256 } from '../signatures.js';
import * as z from '../zod.js';
import { mapTypedFields, type TypedField, type TypedFieldType } from './fields.js';
import { regionOf, type MappedContact } from './form.js';
import { addressOf, isoTime } from './mapping.js';

/**
 * The Graph API version leads are read with unless the route says otherwise (`metaLeads.graphApiVersion`):
 * the newest when this was written, introduced July 29, 2026 (https://developers.facebook.com/docs/graph-api/changelog).
 * Each version is served for at least two years after the next one is released
 * (https://developers.facebook.com/docs/graph-api/guides/versioning).
 */
export const DEFAULT_GRAPH_API_VERSION = 'v26.0';

export const DEFAULT_GRAPH_URL = 'https://graph.facebook.com';

/** The lead's fields read: its answers, when it was made, and where it came from. */
export const LEAD_FIELDS = 'field_data,created_time,ad_id,form_id,campaign_name';

interface MetaLeadFetcherOptions {
  secrets: Pick<SecretStore, 'get' | 'forget'>;
  stage: string;
  http: HttpClient;
  /** `META_GRAPH_URL`: another Graph API (the local emulator); default https://graph.facebook.com. */
  baseUrl?: string | undefined;
}

const GraphLeadSchema = z.object({
  id: z.nullish(z.string()),
  created_time: z.nullish(z.string()),
  field_data: z.nullish(z.array(z.object({ name: z.string(), values: z.nullish(z.array(z.unknown())) }))),
  ad_id: z.nullish(z.string()),
  form_id: z.nullish(z.string()),
  campaign_name: z.nullish(z.string()),
});
export type GraphLead = z.infer<typeof GraphLeadSchema>;

const GraphErrorSchema = z.object({
  error: z.object({
    message: z.nullish(z.string()),
    type: z.nullish(z.string()),
    code: z.nullish(z.number()),
    error_subcode: z.nullish(z.number()),
    /** Assumption: Graph marks errors worth retrying with `is_transient`, as its answers show; not in the table. */
    is_transient: z.nullish(z.boolean()),
  }),
});
type GraphError = z.infer<typeof GraphErrorSchema>['error'];

// ---------------------------------------------------------------------------
// Field data → contact

/**
 * Meta's standard questions, by the `name` a lead's `field_data` gives them. Assumption: the names are the
 * lower-cased question types of the form's `questions` (FULL_NAME → `full_name`, PHONE → `phone_number`,
 * ZIP → `zip_code`...), as the Graph lead example shows for `full_name` and `email`
 * (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving); every other name is a
 * custom question, kept as an attribute under its own name.
 */
const CONTACT_QUESTIONS: Record<string, TypedFieldType> = {
  full_name: 'name',
  first_name: 'first_name',
  last_name: 'last_name',
  email: 'email',
  phone_number: 'phone',
};
const ADDRESS_QUESTIONS = {
  street_address: 'line1',
  city: 'city',
  state: 'region',
  province: 'region',
  zip_code: 'postalCode',
  post_code: 'postalCode',
  country: 'countryCode',
} as const;
const isAddressQuestion = (name: string): name is keyof typeof ADDRESS_QUESTIONS =>
  Object.hasOwn(ADDRESS_QUESTIONS, name);

/** A field's values as text: Graph gives strings; a number is taken as written, anything else dropped. */
function valuesOf(values: readonly unknown[] | null | undefined): string[] {
  return (values ?? []).flatMap((value) => {
    if (typeof value === 'string') return [value];
    return typeof value === 'number' && Number.isFinite(value) ? [String(value)] : [];
  });
}

/** The lead's answers as typed fields, named by their `name`; `country` as the region code when it names one. */
function graphLeadFields(lead: GraphLead): TypedField[] {
  return (lead.field_data ?? []).map(({ name, values }) => {
    const texts = valuesOf(values);
    const key = name.trim().toLowerCase();
    if (key === 'country') {
      const first = texts[0];
      return {
        names: [name],
        type: 'country' as const,
        value: first === undefined ? null : (regionOf(first) ?? first),
      };
    }
    const type = CONTACT_QUESTIONS[key] ?? 'text';
    return { names: [name], type, value: texts.length === 1 ? (texts[0] as string) : texts };
  });
}

/** The standard address questions as the contact's address. */
function leadAddress(fields: readonly TypedField[]): Contact['address'] {
  const parts: Record<string, string | undefined> = {};
  for (const field of fields) {
    const key = (field.names[0] ?? '').trim().toLowerCase();
    if (!isAddressQuestion(key)) continue;
    const part = ADDRESS_QUESTIONS[key];
    const text = Array.isArray(field.value)
      ? field.value[0]
      : typeof field.value === 'string'
        ? field.value
        : undefined;
    if (parts[part] !== undefined || text === undefined) continue;
    // Only a country given as a name or code we can read becomes the address's code.
    const value = part === 'countryCode' ? regionOf(text) : text;
    if (value !== undefined) parts[part] = value;
  }
  const { line1, city, region, postalCode, countryCode } = parts;
  return addressOf({ line1, line2: undefined, city, region, postalCode, countryCode });
}

/** Custom questions (and standard ones that are not name, email, phone or address) as attributes. */
function questionAttributes(lead: GraphLead): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const { name, values } of lead.field_data ?? []) {
    const key = name.trim().toLowerCase();
    if (Object.hasOwn(CONTACT_QUESTIONS, key) || isAddressQuestion(key) || Object.hasOwn(attributes, name)) continue;
    const texts = valuesOf(values)
      .map((text) => text.trim())
      .filter((text) => text !== '');
    if (texts.length > 0) attributes[name] = texts.join(', ');
  }
  return attributes;
}

/**
 * The lead as a contact of `route`: names, email and phone found as every typed source finds them (the
 * route's `fields` first, then Meta's standard questions), tagged `meta-leads` and the route's tags, with
 * where it came from as `meta_*` attributes, then the route's named attributes, then the custom questions.
 */
function mapGraphLead(
  lead: GraphLead,
  reference: MetaLeadReference,
  route: ResolvedRoute,
  eventKey: string,
  now: Date,
): MappedContact {
  const fields = graphLeadFields(lead);
  const mapped = mapTypedFields(fields, route, {
    source: 'meta-leads',
    eventKey,
    now,
    occurredAt: isoTime(lead.created_time) ?? reference.createdAt,
  });
  const origin: Record<string, string | null | undefined> = {
    meta_leadgen_id: reference.leadgenId,
    meta_page_id: reference.pageId,
    meta_form_id: lead.form_id ?? reference.formId,
    meta_ad_id: lead.ad_id ?? reference.adId,
    meta_campaign_name: lead.campaign_name,
  };
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(origin)) if (value) attributes[name] = value;
  for (const [name, value] of [
    ...Object.entries(mapped.contact.attributes),
    ...Object.entries(questionAttributes(lead)),
  ]) {
    if (!Object.hasOwn(attributes, name)) attributes[name] = value;
  }
  const address = leadAddress(fields);
  const contact: Contact = fitContact({ ...mapped.contact, attributes, ...(address !== undefined ? { address } : {}) });
  return mapped.skipReason === undefined ? { contact } : { contact, skipReason: mapped.skipReason };
}

// ---------------------------------------------------------------------------
// Graph errors → delivery outcomes

/** Codes of Graph's rate limits (https://developers.facebook.com/docs/graph-api/overview/rate-limiting). */
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613]);
/** Business Use Case rate limits: 80000 (Ads Insights) … 80014 (Catalog Batch); 80005 is LeadGen. Same page. */
const isBusinessRateLimit = (code: number) => code >= 80000 && code <= 80014;

/** Subcodes of an invalid token and what the person must do (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
const TOKEN_SUBCODES: Record<number, string> = {
  458: 'the app is no longer installed for the person who made the token',
  459: 'the person who made the token must log in to Facebook to clear a checkpoint',
  460: 'the password of the person who made the token changed',
  463: 'the token has expired',
  464: 'the person who made the token has not confirmed their account',
  467: 'the token is invalid',
  492: 'the session is invalid (the person who made the token may no longer hold a role on the Page)',
};

/**
 * The permissions reading a lead with its ad fields needs
 * (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving, "Before You Start"), with
 * pages_manage_metadata for the webhook subscription
 * (https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-leadgen).
 */
const LEAD_PERMISSIONS =
  'leads_retrieval, ads_management, pages_show_list, pages_read_engagement, pages_manage_ads and pages_manage_metadata';

interface FailureContext {
  reference: MetaLeadReference;
  secretName: string;
  token: string;
}

/** Graph's own words, shortened, with the token taken out should it ever echo it. */
function graphSaid(error: GraphError, token: string): string {
  const said = (error.message ?? '').split(token).join('[token]').slice(0, 200);
  const code = `Graph error ${error.code ?? '(no code)'}${error.error_subcode ? `, subcode ${error.error_subcode}` : ''}`;
  return said === '' ? code : `${code}: ${said}`;
}

/** What a Graph answer other than 2xx means for the lead: by its Graph error code, else by its HTTP status. */
function graphFailure(response: HttpResponse, context: FailureContext): LeadUnavailableError | LeadFetchTransientError {
  const { reference, secretName, token } = context;
  const { status } = response;
  let error: GraphError | undefined;
  try {
    const parsed = GraphErrorSchema.safeParse(JSON.parse(response.body));
    if (parsed.success) error = parsed.data.error;
  } catch {
    // Not JSON: judged by the status alone below.
  }
  const page = `page ${reference.pageId}`;
  const lead = `lead ${reference.leadgenId}`;
  if (error === undefined) {
    if (status >= 500 || status === 429 || status === 408) {
      return new LeadFetchTransientError(`the Graph API answered HTTP ${status} reading ${lead}`, status);
    }
    const message = `the Graph API answered HTTP ${status} reading ${lead}, with no Graph error`;
    return new LeadUnavailableError('meta_graph_error', message, status);
  }
  const said = graphSaid(error, token);
  const code = error.code ?? undefined;
  // 1 API Unknown and 2 API Service: "temporary issue due to downtime"; and the rate limits.
  if (code === 1 || code === 2 || (code !== undefined && (RATE_LIMIT_CODES.has(code) || isBusinessRateLimit(code)))) {
    return new LeadFetchTransientError(`the Graph API could not give ${lead} now (${said})`, status);
  }
  // 190 "access token has expired, been revoked, or is otherwise invalid"; 102 API Session the same.
  if (code === 190 || code === 102) {
    const why = (error.error_subcode ? TOKEN_SUBCODES[error.error_subcode] : undefined) ?? 'the token was refused';
    const message =
      `the page access token for ${page} in secret "${secretName}" no longer works: ${why} (${said}); ` +
      `put a new long-lived page access token into "pageAccessTokens"."${reference.pageId}" of that secret`;
    return new LeadUnavailableError('meta_token_invalid', message, status);
  }
  // 10 API Permission Denied, 200-299 API Permission, 3 API Method (a capability the app lacks).
  if (code === 3 || code === 10 || (code !== undefined && code >= 200 && code <= 299)) {
    const message =
      `the page token for ${page} in secret "${secretName}" may not read ${lead} (${said}): the app needs ${LEAD_PERMISSIONS}, ` +
      'granted by someone who can advertise on the Page and its ad account, and a page token made after granting them';
    return new LeadUnavailableError('meta_permission_missing', message, status);
  }
  // 100 with subcode 33: the object "does not exist, cannot be loaded due to missing permissions, or does not
  // support this operation".
  if (code === 100 && error.error_subcode === 33) {
    const message =
      `the Graph API cannot find ${lead} with the token for ${page} in secret "${secretName}" (${said}): ` +
      "check that the token is the Page's own and carries leads_retrieval, and that the app is Live (a Dev-mode app reads only " +
      'leads submitted by its own app roles)';
    return new LeadUnavailableError('meta_lead_not_found', message, status);
  }
  if (error.is_transient === true || status >= 500) {
    return new LeadFetchTransientError(`the Graph API could not give ${lead} now (${said})`, status);
  }
  return new LeadUnavailableError('meta_graph_error', `the Graph API refused to give ${lead} (${said})`, status);
}

// ---------------------------------------------------------------------------
// The fetcher

/** `appsecret_proof`: the hex HMAC-SHA256 of the token keyed with the app secret, for apps that require it. */
function appSecretProof(token: string, appSecret: string): string {
  return hmacSha256(appSecret, token).toString('hex');
}

/** The lead's URL; the token travels in the query, as Graph documents, and never in a message. */
function leadUrl(base: string, version: string, leadgenId: string, token: string, appSecret?: string): string {
  const query = new URLSearchParams({ fields: LEAD_FIELDS, access_token: token });
  // https://developers.facebook.com/docs/graph-api/securing-requests: required when the app enables
  // "Require App Secret", harmless otherwise.
  if (appSecret !== undefined) query.set('appsecret_proof', appSecretProof(token, appSecret));
  return `${base}/${version}/${encodeURIComponent(leadgenId)}?${query.toString()}`;
}

/**
 * A LeadFetcher for Meta Lead Ads. The Page's token is read from the route's source secret
 * (`secretName`, else `contact-relay/{stage}/source/meta-leads`) under `pageAccessTokens`.
 *
 * A Page with no token there is a setup not finished yet, not a lead that is gone: the lead stays
 * transient (`meta_page_token_missing` in its message), goes through the queue's retries to the dead-letter
 * queue and is redriven; once the token is in the secret it is delivered. Failing it for good would lose
 * the person for want of one setup step.
 *
 * A token Graph refuses is read afresh from Secrets Manager once before the lead is failed, so a token
 * replaced within the cache's lifetime is used at once.
 */
export function createMetaLeadFetcher(options: MetaLeadFetcherOptions): LeadFetcher {
  const base = (options.baseUrl ?? DEFAULT_GRAPH_URL).replace(/\/+$/, '');
  return async (lead, route, eventKey) => {
    const secretName = route.secretName ?? sourceSecretName(options.stage, 'meta-leads');
    const version = route.metaLeads?.graphApiVersion ?? DEFAULT_GRAPH_API_VERSION;
    const readSecret = () => options.secrets.get(secretName, SourceSecretSchema);
    const fetchWith = (secret: SourceSecret) =>
      fetchLead({ http: options.http, base, version, secretName }, lead, secret);

    let fetched = await fetchWith(await readSecret());
    if (
      'failure' in fetched &&
      fetched.failure instanceof LeadUnavailableError &&
      fetched.failure.code === 'meta_token_invalid'
    ) {
      options.secrets.forget(secretName);
      const fresh = await readSecret();
      if (fresh.pageAccessTokens?.[lead.pageId] !== fetched.token) fetched = await fetchWith(fresh);
    }
    if ('failure' in fetched) throw fetched.failure;
    return mapGraphLead(fetched.lead, lead, route, eventKey, new Date());
  };
}

type Fetched = { lead: GraphLead } | { failure: LeadUnavailableError | LeadFetchTransientError; token: string };

/** One read of the lead with the secret's token for its Page: the lead, or what Graph's refusal means. */
async function fetchLead(
  graph: { http: HttpClient; base: string; version: string; secretName: string },
  reference: MetaLeadReference,
  secret: SourceSecret,
): Promise<Fetched> {
  const token = secret.pageAccessTokens?.[reference.pageId];
  if (token === undefined) {
    throw new LeadFetchTransientError(
      `meta_page_token_missing: secret "${graph.secretName}" has no token for page ${reference.pageId}: add a ` +
        `long-lived page access token under "pageAccessTokens"."${reference.pageId}"; the lead waits in the queue until then`,
    );
  }
  let response: HttpResponse;
  try {
    const url = leadUrl(graph.base, graph.version, reference.leadgenId, token, secret.appSecret);
    response = await graph.http.request({ method: 'GET', url });
  } catch (error) {
    // The client's messages name the host and path only, never the query holding the token.
    if (error instanceof HttpTransportError)
      throw new LeadFetchTransientError(`the Graph API could not be reached: ${error.message}`);
    throw error;
  }
  if (response.status >= 200 && response.status < 300) return { lead: parseLead(response, reference) };
  return { failure: graphFailure(response, { reference, secretName: graph.secretName, token }), token };
}

/**
 * The lead of a 2xx answer. Assumption: an answer that is not a Graph lead (an HTML page from a proxy) is
 * an outage, not the lead's state, so it is retried.
 */
function parseLead(response: HttpResponse, reference: MetaLeadReference): GraphLead {
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    const message = `the Graph API answered lead ${reference.leadgenId} with something that is not JSON`;
    throw new LeadFetchTransientError(message, response.status);
  }
  const parsed = GraphLeadSchema.safeParse(body);
  if (!parsed.success) {
    const message = `the Graph API answered lead ${reference.leadgenId} with something that is not a lead`;
    throw new LeadFetchTransientError(message, response.status);
  }
  return parsed.data;
}
