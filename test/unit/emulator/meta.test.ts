/** The emulator's Graph API for Meta Lead Ads, over HTTP as deliver and `send meta-leads` call it. */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localFunctionEnv } from '../../../local/emulator/local-env.js';
import { startEmulator, type Emulator } from '../../../local/emulator/server.js';

const PAGE = '100000000000001';
const OTHER_PAGE = '100000000000002';
const TOKEN = 'unit-meta-page-token';
const OTHER_TOKEN = 'unit-other-page-token';
const APP_SECRET = 'unit-meta-app-secret';
const SECRETS = {
  'contact-relay/unit/source/meta-leads': {
    appSecret: APP_SECRET,
    verifyToken: 'v',
    pageAccessTokens: { [PAGE]: TOKEN },
  },
  'contact-relay/unit/source/meta-leads-other': {
    appSecret: 'other-app-secret',
    verifyToken: 'v',
    pageAccessTokens: { [OTHER_PAGE]: OTHER_TOKEN },
  },
};
/** The fields deliver asks for. */
const FIELDS = 'field_data,created_time,ad_id,form_id,campaign_name';

const LEAD = {
  id: '1500000000000301',
  created_time: '2026-11-21T09:59:40+0000',
  field_data: [
    { name: 'full_name', values: ['Grace Hopper'] },
    { name: 'email', values: ['grace.hopper@example.com'] },
    { name: 'which_plan', values: ['pro', 'team'] },
  ],
  form_id: '1300000000000201',
  ad_id: '120210000000000101',
  ad_name: 'Autumn promo',
  page_id: PAGE,
};

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ secrets: SECRETS });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.state.reset());

const call = (path: string, init?: RequestInit) => fetch(`${emulator.url}${path}`, init);
const seed = (lead: unknown) =>
  call('/_emulator/meta/leads', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(lead),
  });
const read = (id: string, query: Record<string, string>, version = 'v26.0') =>
  call(`/meta/${version}/${id}?${new URLSearchParams(query).toString()}`);
const body = async (response: Response) => (await response.json()) as Record<string, unknown>;
const graphError = async (response: Response) => ((await body(response))['error'] ?? {}) as Record<string, unknown>;

describe('Emulator: Meta Graph API reads a seeded lead', () => {
  it('answers the requested fields and the id, field_data as stored, leaving out a field the lead has none of', async () => {
    expect((await seed(LEAD)).status).toBe(201);
    const response = await read(LEAD.id, { fields: FIELDS, access_token: TOKEN });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      field_data: LEAD.field_data,
      created_time: LEAD.created_time,
      ad_id: LEAD.ad_id,
      form_id: LEAD.form_id,
      id: LEAD.id,
    });
  });

  it('answers campaign_name when the lead has one, and id, created_time, field_data when no fields are asked for', async () => {
    await seed({ ...LEAD, campaign_name: 'Spring' });
    expect(await body(await read(LEAD.id, { fields: 'campaign_name', access_token: TOKEN }))).toEqual({
      campaign_name: 'Spring',
      id: LEAD.id,
    });
    expect(await body(await read(LEAD.id, { access_token: TOKEN }))).toEqual({
      created_time: LEAD.created_time,
      field_data: LEAD.field_data,
      id: LEAD.id,
    });
  });

  it('accepts the appsecret_proof of the token with the app secret, and refuses another', async () => {
    await seed(LEAD);
    const proof = createHmac('sha256', APP_SECRET).update(TOKEN).digest('hex');
    expect((await read(LEAD.id, { fields: 'form_id', access_token: TOKEN, appsecret_proof: proof })).status).toBe(200);
    const wrong = await read(LEAD.id, {
      fields: 'form_id',
      access_token: TOKEN,
      appsecret_proof: createHmac('sha256', 'other-app-secret').update(TOKEN).digest('hex'),
    });
    expect(wrong.status).toBe(400);
    expect(await graphError(wrong)).toMatchObject({ type: 'GraphMethodException', code: 100 });
  });

  it('records each Graph call under provider meta with the access token and proof masked', async () => {
    await seed(LEAD);
    const proof = createHmac('sha256', APP_SECRET).update(TOKEN).digest('hex');
    await read(LEAD.id, { fields: FIELDS, access_token: TOKEN, appsecret_proof: proof });
    await read(LEAD.id, { fields: FIELDS, access_token: 'not-a-token' });
    const recorded = (await (await call('/_emulator/requests?provider=meta')).json()) as Array<{
      method: string;
      path: string;
      status: number;
    }>;
    expect(recorded.map((request) => [request.method, request.status])).toEqual([
      ['GET', 200],
      ['GET', 400],
    ]);
    expect(recorded[0]?.path).toMatch(
      /^\/v26\.0\/1500000000000301\?fields=field_data%2Ccreated_time%2Cad_id%2Cform_id%2Ccampaign_name&access_token=\*{8}oken&appsecret_proof=\*{8}/,
    );
    const text = JSON.stringify(recorded);
    for (const secret of [TOKEN, proof, 'not-a-token']) expect(text).not.toContain(secret);
  });
});

describe("Emulator: Meta Graph API answers Graph's error envelope", () => {
  beforeEach(async () => {
    await seed(LEAD);
  });

  const envelope = (fields: Record<string, unknown>) => ({
    ...fields,
    message: expect.any(String) as string,
    fbtrace_id: expect.stringMatching(/^\S{8,}$/) as string,
  });

  it('refuses a token no meta-leads secret gives: 400, OAuthException 190', async () => {
    const response = await read(LEAD.id, { fields: FIELDS, access_token: 'expired-or-wrong' });
    expect(response.status).toBe(400);
    expect(await body(response)).toEqual({ error: envelope({ type: 'OAuthException', code: 190 }) });
  });

  it('refuses a call without a token: 400, OAuthException 104', async () => {
    const response = await read(LEAD.id, { fields: FIELDS });
    expect(response.status).toBe(400);
    expect(await graphError(response)).toEqual(envelope({ type: 'OAuthException', code: 104 }));
  });

  it("refuses another page's token with the permission error: 403, code 200", async () => {
    const response = await read(LEAD.id, { fields: FIELDS, access_token: OTHER_TOKEN });
    expect(response.status).toBe(403);
    expect(await graphError(response)).toEqual(envelope({ type: 'OAuthException', code: 200 }));
  });

  it('answers an unknown lead id, or a method a lead does not support, with 100 and subcode 33', async () => {
    const unknown = await read('1599999999999999', { fields: FIELDS, access_token: TOKEN });
    expect(unknown.status).toBe(400);
    expect(await graphError(unknown)).toEqual(envelope({ type: 'GraphMethodException', code: 100, error_subcode: 33 }));
    const posted = await call(`/meta/v26.0/${LEAD.id}?access_token=${TOKEN}`, { method: 'POST' });
    expect([posted.status, (await graphError(posted))['error_subcode']]).toEqual([400, 33]);
  });

  it('answers an id that is not a number with 803', async () => {
    const response = await read('{leadgen_id}', { access_token: TOKEN });
    expect(response.status).toBe(400);
    expect(await graphError(response)).toMatchObject({ code: 803, type: 'OAuthException' });
  });

  it.each(['26.0', 'v26', 'version26'])('answers the malformed version %s with 400, code 2500', async (version) => {
    const response = await read(LEAD.id, { fields: FIELDS, access_token: TOKEN }, version);
    expect(response.status).toBe(400);
    expect(await graphError(response)).toMatchObject({ type: 'OAuthException', code: 2500 });
  });

  it('refuses a field the lead object does not have, naming it', async () => {
    const response = await read(LEAD.id, { fields: 'field_data,phone', access_token: TOKEN });
    expect(response.status).toBe(400);
    const error = await graphError(response);
    expect(error).toMatchObject({ type: 'OAuthException', code: 100 });
    expect(error['message']).toContain('(phone)');
  });
});

describe('Emulator: faults armed on the Meta Graph API', () => {
  const arm = (fault: Record<string, unknown>) =>
    call('/_emulator/faults', { method: 'POST', body: JSON.stringify({ provider: 'meta', ...fault }) });

  it('answers the Pages rate limit 80001 (400, transient) for the armed times, then the lead', async () => {
    await seed(LEAD);
    expect((await arm({ code: 80001, times: 2 })).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const response = await read(LEAD.id, { fields: FIELDS, access_token: TOKEN });
      expect(response.status).toBe(400);
      expect(await graphError(response)).toMatchObject({ type: 'OAuthException', code: 80001, is_transient: true });
    }
    expect((await read(LEAD.id, { fields: FIELDS, access_token: TOKEN })).status).toBe(200);
    expect(
      emulator.state.requests.filter((request) => request.provider === 'meta').map((request) => request.status),
    ).toEqual([400, 400, 200]);
  });

  it('answers a 5xx with code 2 (API Service), and the application limit 4 with the status given', async () => {
    await seed(LEAD);
    await arm({ status: 503 });
    const down = await read(LEAD.id, { access_token: TOKEN });
    expect([down.status, (await graphError(down))['code']]).toEqual([503, 2]);
    await arm({ code: 4, status: 403 });
    const limited = await read(LEAD.id, { access_token: TOKEN });
    expect([limited.status, (await graphError(limited))['code']]).toEqual([403, 4]);
  });

  it.each([
    [{ provider: 'twochat', status: 500, code: 4 }, 'code is a Graph API error code: only provider meta takes it'],
    [{ provider: 'meta', code: 'four' }, 'code must be a Graph error code such as 4, 17, 32, 613 or 80001'],
  ])('refuses the malformed fault %j', async (fault, message) => {
    const response = await call('/_emulator/faults', { method: 'POST', body: JSON.stringify(fault) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'invalid_fault', message } });
  });
});

describe('Emulator: seeding Meta leads (POST /_emulator/meta/leads)', () => {
  it('lists the stored leads with their page, replaces a lead stored again, and forgets them on DELETE and on reset', async () => {
    expect(await body(await seed(LEAD))).toEqual({ id: LEAD.id, page_id: PAGE, replaced: false });
    const again = await seed({ ...LEAD, ad_name: 'Winter promo' });
    expect([again.status, await again.json()]).toEqual([200, { id: LEAD.id, page_id: PAGE, replaced: true }]);
    expect(await (await call('/_emulator/meta/leads')).json()).toEqual([{ ...LEAD, ad_name: 'Winter promo' }]);
    expect(await (await call('/_emulator/meta/leads', { method: 'DELETE' })).json()).toEqual({ status: 'cleared' });
    expect((await read(LEAD.id, { access_token: TOKEN })).status).toBe(400);
    await seed(LEAD);
    emulator.state.reset();
    expect(await (await call('/_emulator/meta/leads')).json()).toEqual([]);
  });

  it('stores a list of leads, each on its own page', async () => {
    const other = { ...LEAD, id: '1500000000000302', page_id: OTHER_PAGE };
    const response = await seed([LEAD, other]);
    expect([response.status, await response.json()]).toEqual([
      201,
      [
        { id: LEAD.id, page_id: PAGE, replaced: false },
        { id: other.id, page_id: OTHER_PAGE, replaced: false },
      ],
    ]);
    expect((await read(other.id, { access_token: OTHER_TOKEN })).status).toBe(200);
    expect((await read(other.id, { access_token: TOKEN })).status).toBe(403);
  });

  it("files a lead without page_id under the secrets' one page, and asks for page_id when they name several", async () => {
    const { page_id: _page, ...withoutPage } = LEAD;
    const refused = await seed(withoutPage);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: {
        code: 'invalid_lead',
        message: `page_id is required: the meta-leads secrets name pages ${PAGE}, ${OTHER_PAGE}`,
      },
    });

    const single = await startEmulator({
      secrets: { 'contact-relay/local/source/meta-leads': SECRETS['contact-relay/unit/source/meta-leads'] },
    });
    try {
      const stored = await fetch(`${single.url}/_emulator/meta/leads`, {
        method: 'POST',
        body: JSON.stringify(withoutPage),
      });
      expect(await stored.json()).toEqual({ id: LEAD.id, page_id: PAGE, replaced: false });
      expect((await fetch(`${single.url}/meta/v26.0/${LEAD.id}?access_token=${TOKEN}`)).status).toBe(200);
    } finally {
      await single.close();
    }
  });

  it.each([
    [[], 'give a lead or a list of leads'],
    ['lead', 'a lead must be a JSON object {id, created_time, field_data, form_id?, ad_id?, page_id?, …}'],
    [{ ...LEAD, id: 1500000000000301 }, 'id must be the lead id as a string of digits'],
    [{ ...LEAD, created_time: 'yesterday' }, 'created_time must be a date-time such as 2026-01-31T09:59:40+0000'],
    [{ ...LEAD, field_data: { email: 'a@b.c' } }, 'field_data must be a list of {name, values}'],
    [{ ...LEAD, field_data: [{ name: 'email', values: 'a@b.c' }] }, 'field_data[0].values must be a list of strings'],
    [{ ...LEAD, field_data: [{ values: ['x'] }] }, 'field_data[0].name must be a non-empty string'],
    [{ ...LEAD, ad_id: 'ad-1' }, 'ad_id must be a Graph id (a string of digits)'],
    [{ ...LEAD, page_id: 'my-page' }, 'page_id must be a page id (a string of digits)'],
    [[LEAD, { ...LEAD, is_organic: 'yes' }], 'lead 1: is_organic must be true or false'],
  ])('refuses the malformed seed %j', async (input, message) => {
    const response = await seed(input);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'invalid_lead', message } });
    expect(emulator.state.metaLeads.size).toBe(0);
  });

  it('refuses a key that is not a field of a Graph lead, naming it', async () => {
    const response = await seed({ ...LEAD, email: 'grace@example.com' });
    expect(response.status).toBe(400);
    expect(((await body(response))['error'] as { message: string }).message).toMatch(
      /^email is not a field of a Graph lead/,
    );
  });
});

describe('Function: localFunctionEnv', () => {
  it("points the functions' Graph API calls at the emulator's /meta", () => {
    const resources = {
      tableName: 't',
      queueUrl: 'http://q',
      queueArn: 'arn:q',
      dlqUrl: 'http://d',
      dlqArn: 'arn:d',
      maxReceiveCount: 5,
    };
    expect(localFunctionEnv('local', 'http://127.0.0.1:4010', resources)['META_GRAPH_URL']).toBe(
      'http://127.0.0.1:4010/meta',
    );
  });
});
