import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ContactSchema } from '../../../shared/contact.js';
import type { Route } from '../../../shared/config/routes.js';
import { HttpConnectionError, HttpTimeoutError, type HttpRequest, type HttpResponse } from '../../../shared/http.js';
import { LeadFetchTransientError, LeadUnavailableError, type MetaLeadReference } from '../../../shared/leads.js';
import { SecretNotFoundError, type SecretStore } from '../../../shared/secrets.js';
import { createMetaLeadFetcher, DEFAULT_GRAPH_API_VERSION, LEAD_FIELDS } from '../../../shared/sources/meta-graph.js';
import { testRoute } from '../../helpers/routes.js';
import { scriptedHttp as http } from '../../helpers/scripted-http.js';

const STAGE = 'test';
const SECRET_NAME = `contact-relay/${STAGE}/source/meta-leads`;
const PAGE = '100000000000001';
const PAGE_TOKEN = 'EAAG-page-token-1';
const APP_SECRET = 'app-secret';
const graphLead = readFileSync(new URL('../../fixtures/meta-leads/graph-lead.json', import.meta.url), 'utf8');

const reference: MetaLeadReference = {
  kind: 'meta-lead',
  leadgenId: '1500000000000301',
  pageId: PAGE,
  formId: '1300000000000201',
  adId: '120210000000000101',
  createdAt: '2026-11-21T09:59:40.000Z',
};
const EVENT_KEY = 'meta-leads:1500000000000301';

/** A secret store over values that may change, remembering which names were dropped from its cache. */
function secretStore(initial: Record<string, unknown>) {
  const values = new Map(Object.entries(initial));
  const cached = new Map<string, unknown>();
  const forgotten: string[] = [];
  const store: Pick<SecretStore, 'get' | 'forget'> = {
    get: (async (name: string, schema: { parse: (value: unknown) => unknown }) => {
      if (!cached.has(name)) {
        if (!values.has(name)) throw new SecretNotFoundError(name);
        cached.set(name, values.get(name));
      }
      return schema.parse(cached.get(name));
    }) as SecretStore['get'],
    forget: (name) => {
      forgotten.push(name);
      cached.delete(name);
    },
  };
  return { store, values, forgotten };
}

const json = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const graphError = (status: number, code: number, subcode?: number, extra: Record<string, unknown> = {}) =>
  json(status, {
    error: {
      message: `Graph says ${code}`,
      type: 'OAuthException',
      code,
      ...(subcode !== undefined ? { error_subcode: subcode } : {}),
      fbtrace_id: 'AbC',
      ...extra,
    },
  });

const SECRET = { appSecret: APP_SECRET, verifyToken: 'v', pageAccessTokens: { [PAGE]: PAGE_TOKEN } };

function fetcher(
  answer: Parameters<typeof http>[0],
  options: { secrets?: Record<string, unknown>; baseUrl?: string } = {},
) {
  const secrets = secretStore(options.secrets ?? { [SECRET_NAME]: SECRET });
  const client = http(answer);
  const fetch = createMetaLeadFetcher({
    secrets: secrets.store,
    stage: STAGE,
    http: client.client,
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
  });
  return { fetch, requests: client.requests, secrets };
}

const route = (options: Partial<Route> = {}) => testRoute({ source: 'meta-leads', ...options });

async function failure(answer: HttpResponse | Error): Promise<unknown> {
  const { fetch } = fetcher(() => answer);
  return fetch(reference, route(), EVENT_KEY).then(
    () => expect.unreachable('the lead should not have been read'),
    (error: unknown) => error,
  );
}

describe('Function: createMetaLeadFetcher (the request)', () => {
  it("GETs the lead from graph.facebook.com at the default version with the page's token, its fields and the app secret proof", async () => {
    const { fetch, requests } = fetcher(() => json(200, JSON.parse(graphLead)));
    await fetch(reference, route(), EVENT_KEY);
    expect(requests).toHaveLength(1);
    const [request] = requests as [HttpRequest];
    expect(request.method).toBe('GET');
    const url = new URL(request.url);
    expect(`${url.origin}${url.pathname}`).toBe(
      `https://graph.facebook.com/${DEFAULT_GRAPH_API_VERSION}/1500000000000301`,
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      fields: 'field_data,created_time,ad_id,form_id,campaign_name',
      access_token: PAGE_TOKEN,
      appsecret_proof: createHmac('sha256', APP_SECRET).update(PAGE_TOKEN).digest('hex'),
    });
    expect(LEAD_FIELDS).toBe(url.searchParams.get('fields'));
  });

  it("uses META_GRAPH_URL (a trailing slash dropped), the route's version and the route's own secret", async () => {
    const own = `contact-relay/${STAGE}/source/meta-leads-brand-b`;
    const { fetch, requests } = fetcher(() => json(200, JSON.parse(graphLead)), {
      baseUrl: 'http://127.0.0.1:4010/meta/',
      secrets: { [own]: { appSecret: APP_SECRET, pageAccessTokens: { [PAGE]: 'brand-b-token' } } },
    });
    await fetch(reference, route({ secretName: own, metaLeads: { graphApiVersion: 'v25.0' } }), EVENT_KEY);
    const url = new URL(requests[0]?.url ?? '');
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:4010/meta/v25.0/1500000000000301');
    expect(url.searchParams.get('access_token')).toBe('brand-b-token');
  });
});

describe('Function: createMetaLeadFetcher (mapping field_data)', () => {
  it('maps the standard questions to the contact, the custom ones and where the lead came from to attributes', async () => {
    const { fetch } = fetcher(() => json(200, JSON.parse(graphLead)));
    const mapped = await fetch(reference, route({ tags: ['ads'] }), EVENT_KEY);
    expect(mapped.skipReason).toBeUndefined();
    expect(ContactSchema.parse(mapped.contact)).toEqual(mapped.contact);
    expect(mapped.contact).toEqual({
      firstName: 'Grace',
      lastName: 'Brewster Hopper',
      emails: ['grace.hopper@example.com'],
      phones: [{ e164: '+14155550194' }],
      rejectedPhones: [],
      address: { city: 'Arlington', postalCode: '22201', countryCode: 'US' },
      tags: ['meta-leads', 'ads'],
      attributes: {
        meta_leadgen_id: '1500000000000301',
        meta_page_id: PAGE,
        meta_form_id: '1300000000000201',
        meta_ad_id: '120210000000000101',
        meta_campaign_name: 'Winter open day',
        job_title: 'Rear admiral',
        'which_course_interests_you?': 'compilers',
        preferred_days: 'monday, thursday',
      },
      origin: {
        source: 'meta-leads',
        route: 'default',
        eventKey: EVENT_KEY,
        occurredAt: '2026-11-21T09:59:40.000Z',
        personKey: 'grace.hopper@example.com',
      },
    });
    // Attribute order is kept by providers that cap attributes: where the lead came from first.
    expect(Object.keys(mapped.contact.attributes).slice(0, 2)).toEqual(['meta_leadgen_id', 'meta_page_id']);
  });

  it("honours the route's field names, default region and WhatsApp flag: a custom question read as the phone", async () => {
    const lead = {
      id: '1500000000000301',
      created_time: '2026-11-21T09:59:40+0000',
      field_data: [
        { name: 'first_name', values: ['Ada'] },
        { name: 'last_name', values: ['Lovelace'] },
        { name: 'your_whatsapp', values: ['020 7946 0958'] },
        { name: 'phone_number', values: ['+14155550194'] },
      ],
    };
    const { fetch } = fetcher(() => json(200, lead));
    const mapped = await fetch(
      reference,
      route({ fields: { phone: ['your_whatsapp'] }, defaultRegion: 'GB', whatsappNumbers: true }),
      EVENT_KEY,
    );
    expect(mapped.contact).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: [],
      phones: [{ e164: '+442079460958', whatsapp: true }],
    });
    expect(mapped.skipReason).toBeUndefined();
  });

  it('gives a skip reason naming the problem, never the value, for a lead with no usable email or phone', async () => {
    const lead = {
      id: '1',
      field_data: [
        { name: 'full_name', values: ['Ada Lovelace'] },
        { name: 'email', values: ['not-an-address'] },
      ],
    };
    const { fetch } = fetcher(() => json(200, lead));
    const mapped = await fetch(reference, route(), EVENT_KEY);
    expect(mapped.skipReason).toBe('no usable email or phone: email is not a valid address');
    expect(mapped.skipReason).not.toContain('not-an-address');
  });

  it("dates the contact by the webhook's created_time when Graph gives none", async () => {
    const { fetch } = fetcher(() => json(200, { id: '1', field_data: [{ name: 'email', values: ['a@example.com'] }] }));
    const mapped = await fetch({ ...reference, createdAt: '2026-11-20T08:00:00.000Z' }, route(), EVENT_KEY);
    expect(mapped.contact.origin.occurredAt).toBe('2026-11-20T08:00:00.000Z');
  });
});

describe('Function: createMetaLeadFetcher (Graph errors)', () => {
  it.each([
    ['190 with subcode 463 (expired)', graphError(400, 190, 463), 'the token has expired'],
    ['190 with subcode 460 (password changed)', graphError(400, 190, 460), 'password'],
    ['190 with subcode 467 (invalid)', graphError(400, 190, 467), 'the token is invalid'],
    ['190 without a subcode', graphError(400, 190), 'the token was refused'],
  ])(
    'fails the lead for good on %s, naming the secret, the page and the fix, never the token',
    async (_case, answer, why) => {
      const error = await failure(answer);
      expect(error).toBeInstanceOf(LeadUnavailableError);
      const { code, message, httpStatus } = error as LeadUnavailableError;
      expect(code).toBe('meta_token_invalid');
      expect(httpStatus).toBe(400);
      expect(message).toContain(why);
      expect(message).toContain(`secret "${SECRET_NAME}"`);
      expect(message).toContain(`"pageAccessTokens"."${PAGE}"`);
      expect(message).toContain('long-lived page access token');
      expect(message).not.toContain(PAGE_TOKEN);
    },
  );

  it('reads a refused token afresh once: a token replaced since it was cached is used at once', async () => {
    const { fetch, requests, secrets } = fetcher((request) =>
      new URL(request.url).searchParams.get('access_token') === PAGE_TOKEN
        ? graphError(400, 190, 463)
        : json(200, JSON.parse(graphLead)),
    );
    // Cached with the old token, then replaced in Secrets Manager.
    await expect(fetch(reference, route(), EVENT_KEY)).rejects.toBeInstanceOf(LeadUnavailableError);
    secrets.values.set(SECRET_NAME, { ...SECRET, pageAccessTokens: { [PAGE]: 'EAAG-page-token-2' } });
    const mapped = await fetch(reference, route(), EVENT_KEY);
    expect(mapped.contact.emails).toEqual(['grace.hopper@example.com']);
    expect(secrets.forgotten).toEqual([SECRET_NAME, SECRET_NAME]);
    // The first read is not repeated with the same token; the second is repeated with the new one.
    expect(requests.map((request) => new URL(request.url).searchParams.get('access_token'))).toEqual([
      PAGE_TOKEN,
      PAGE_TOKEN,
      'EAAG-page-token-2',
    ]);
  });

  it.each([
    ['4 (app rate limit)', graphError(400, 4)],
    ['17 (user rate limit)', graphError(400, 17)],
    ['32 (page rate limit)', graphError(400, 32)],
    ['613 (custom rate limit)', graphError(400, 613)],
    ['80005 (LeadGen business rate limit)', graphError(400, 80005)],
    ['1 (API unknown)', graphError(500, 1)],
    ['2 (API service)', graphError(503, 2)],
    ['an error Graph marks transient', graphError(400, 9999, undefined, { is_transient: true })],
    ['HTTP 502 with an HTML page', { status: 502, headers: {}, body: '<html>Bad gateway</html>' }],
    ['HTTP 429 without a body', { status: 429, headers: {}, body: '' }],
    ['HTTP 200 that is not JSON', { status: 200, headers: {}, body: '<html>maintenance</html>' }],
    ['a timeout', new HttpTimeoutError('response', 10_000, 'GET https://graph.facebook.com/v26.0/1500000000000301')],
    [
      'a refused connection',
      new HttpConnectionError(
        'ECONNREFUSED',
        'GET https://graph.facebook.com/v26.0/1500000000000301',
        new Error('refused'),
      ),
    ],
  ])('leaves the lead to be retried on %s', async (_case, answer) => {
    const error = await failure(answer);
    expect(error).toBeInstanceOf(LeadFetchTransientError);
    expect((error as Error).message).not.toContain(PAGE_TOKEN);
  });

  it.each([
    ['10 (permission denied)', graphError(400, 10), 'meta_permission_missing', 'leads_retrieval'],
    ['200 (API permission)', graphError(403, 200), 'meta_permission_missing', 'pages_manage_metadata'],
    ['294 (a permission of the 200-299 range)', graphError(403, 294), 'meta_permission_missing', 'ads_management'],
    ['3 (API method: a capability the app lacks)', graphError(400, 3), 'meta_permission_missing', 'leads_retrieval'],
    [
      '100 with subcode 33 (no such object, or not visible)',
      graphError(400, 100, 33),
      'meta_lead_not_found',
      'leads_retrieval',
    ],
    ['100 without subcode (an invalid parameter)', graphError(400, 100), 'meta_graph_error', 'Graph error 100'],
    ['HTTP 404 without a Graph error', { status: 404, headers: {}, body: 'Not found' }, 'meta_graph_error', 'HTTP 404'],
  ])('fails the lead for good on %s', async (_case, answer, code, named) => {
    const error = await failure(answer);
    expect(error).toBeInstanceOf(LeadUnavailableError);
    expect(error).toMatchObject({ code, message: expect.stringContaining(named) });
  });

  it('leaves a lead of a Page with no token transient, naming the secret and the page, without calling Graph', async () => {
    const { fetch, requests } = fetcher(() => json(200, JSON.parse(graphLead)), {
      secrets: { [SECRET_NAME]: { appSecret: APP_SECRET } },
    });
    const error = await fetch(reference, route(), EVENT_KEY).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LeadFetchTransientError);
    expect((error as Error).message).toMatch(/^meta_page_token_missing: /);
    expect((error as Error).message).toContain(`secret "${SECRET_NAME}" has no token for page ${PAGE}`);
    expect(requests).toEqual([]);
  });

  it('lets a missing secret surface as the secret error delivery keeps transient', async () => {
    const { fetch } = fetcher(() => json(200, {}), { secrets: {} });
    await expect(fetch(reference, route(), EVENT_KEY)).rejects.toBeInstanceOf(SecretNotFoundError);
  });
});
