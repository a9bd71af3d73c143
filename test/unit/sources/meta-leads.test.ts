import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent, toHttpApiResult } from '../../../shared/adapters/http-api.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies, type SourceSecret } from '../../../shared/ingest.js';
import { MetaLeadReferenceSchema } from '../../../shared/leads.js';
import { FORM_SOURCES } from '../../../shared/sources/index.js';
import { MAX_CHANGES, metaLeadsSource, quoteIntegers } from '../../../shared/sources/meta-leads.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';

const APP_SECRET = 'meta-app-secret';
const VERIFY_TOKEN = 'meta-verify-token-7f3a';
const SECRET: SourceSecret = {
  appSecret: APP_SECRET,
  verifyToken: VERIFY_TOKEN,
  pageAccessTokens: { '100000000000001': 'page-token' },
};
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/meta-leads/${name}.json`, import.meta.url), 'utf8');

const sign = (body: string, secret = APP_SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

function post(body: string, headers: Record<string, string> = {}, routeName = 'default'): WebhookRequest {
  return {
    source: 'meta-leads',
    method: 'POST',
    routeName,
    headers: { 'content-type': 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(body),
  };
}
const signed = (body: string) => post(body, { 'x-hub-signature-256': sign(body) });

function get(query: Record<string, string>, routeName = 'default'): WebhookRequest {
  return { source: 'meta-leads', method: 'GET', routeName, headers: {}, query, rawBody: Buffer.alloc(0) };
}
const check = (overrides: Record<string, string | undefined> = {}) => {
  const query = {
    'hub.mode': 'subscribe',
    'hub.challenge': '1158201444',
    'hub.verify_token': VERIFY_TOKEN,
    ...overrides,
  };
  return get(
    Object.fromEntries(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined)),
  );
};

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: { 'meta-leads': { default: { deliverTo: ['twochat'] } } },
});

function deps(secret: SourceSecret = SECRET) {
  return {
    routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    acceptLead: vi.fn<NonNullable<IngestDependencies['acceptLead']>>(async () => 'accepted'),
    sourceSecret: async () => secret,
    logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    now: () => new Date('2026-11-21T10:00:00.000Z'),
  };
}

type ErrorBody = { error: { code: string; message: string } };
async function refused(request: WebhookRequest, secret: SourceSecret = SECRET) {
  const d = deps(secret);
  const answer = await ingestWebhook(request, metaLeadsSource, d);
  expect(d.acceptLead).not.toHaveBeenCalled();
  return { statusCode: answer.statusCode, ...(answer.body as ErrorBody).error };
}

describe('Function: metaLeadsSource.subscription (Meta’s verification GET)', () => {
  it('answers the documented check with the challenge alone, as plain text through the HTTP edge', async () => {
    const d = deps();
    const answer = await ingestWebhook(check(), metaLeadsSource, d);
    expect(answer).toEqual({ statusCode: 200, body: { challenge: '1158201444' } });

    const event = httpApiEvent('meta-leads', 'default', '', {});
    event.requestContext.http.method = 'GET';
    event.queryStringParameters = {
      'hub.mode': 'subscribe',
      'hub.challenge': '987654321',
      'hub.verify_token': VERIFY_TOKEN,
    };
    const result = toHttpApiResult(await ingestWebhook(fromHttpApiEvent(event, 'meta-leads'), metaLeadsSource, deps()));
    expect(result).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: '987654321',
    });
  });

  it('refuses a wrong verify token with 403 and never echoes it', async () => {
    const given = `${VERIFY_TOKEN}x`;
    const answer = await refused(check({ 'hub.verify_token': given }));
    expect(answer).toMatchObject({ statusCode: 403, code: 'verification_failed' });
    expect(answer.message).toContain('hub.verify_token does not match');
    expect(answer.message).not.toContain(given);
    expect(answer.message).not.toContain(VERIFY_TOKEN);
  });

  it.each([
    ['a missing verify token', { 'hub.verify_token': undefined }, 'hub.verify_token is missing'],
    ['another mode', { 'hub.mode': 'unsubscribe' }, 'hub.mode must be "subscribe"'],
    ['no mode', { 'hub.mode': undefined }, 'hub.mode is missing'],
    ['no challenge', { 'hub.challenge': undefined }, 'hub.challenge is missing'],
    ['a challenge that is markup', { 'hub.challenge': '<script>alert(1)</script>' }, 'hub.challenge must be'],
  ])('refuses %s with 403 naming the problem', async (_case, overrides, message) => {
    expect(await refused(check(overrides))).toMatchObject({
      statusCode: 403,
      code: 'verification_failed',
      message: expect.stringContaining(message),
    });
  });

  it('answers 500 when the secret has no verifyToken: our configuration, so Meta is not told it failed the check', async () => {
    const d = deps({ appSecret: APP_SECRET });
    const answer = await ingestWebhook(check(), metaLeadsSource, d);
    expect(answer).toEqual({
      statusCode: 500,
      body: { error: { code: 'internal_error', message: expect.any(String) } },
    });
    expect(d.logger.error).toHaveBeenCalledWith(
      'source secret unusable',
      expect.objectContaining({ code: 'source_secret_unavailable' }),
    );
  });

  it('is served by the forms function', async () => {
    expect(await FORM_SOURCES.get('meta-leads')?.()).toBe(metaLeadsSource);
  });
});

describe('Function: metaLeadsSource.read (signature)', () => {
  const body = fixture('webhook-string-ids');

  it('accepts a body signed with the app secret as X-Hub-Signature-256: sha256=<hex>', async () => {
    const d = deps();
    const answer = await ingestWebhook(signed(body), metaLeadsSource, d);
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'accepted', events: [{ eventKey: 'meta-leads:1500000000000301', status: 'accepted' }] },
    });
  });

  it('takes the hex digest in capitals too', async () => {
    const header = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex').toUpperCase()}`;
    const answer = await ingestWebhook(post(body, { 'x-hub-signature-256': header }), metaLeadsSource, deps());
    expect(answer.statusCode).toBe(200);
  });

  it.each([
    ['no header', {}, 'missing_signature'],
    [
      'a signature made with another secret',
      { 'x-hub-signature-256': sign(body, 'other-secret') },
      'invalid_signature',
    ],
    [
      'the SHA-1 header only',
      { 'x-hub-signature': `sha1=${createHmac('sha1', APP_SECRET).update(body).digest('hex')}` },
      'missing_signature',
    ],
    [
      'a bare digest without "sha256="',
      { 'x-hub-signature-256': createHmac('sha256', APP_SECRET).update(body).digest('hex') },
      'invalid_signature',
    ],
    [
      'a base64 digest',
      { 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('base64')}` },
      'invalid_signature',
    ],
  ])('refuses %s with 401', async (_case, headers, code) => {
    expect(await refused(post(body, headers))).toMatchObject({ statusCode: 401, code });
  });

  it('refuses a body changed after signing', async () => {
    const header = sign(body);
    const changed = body.replace('1500000000000301', '1500000000000302');
    expect(await refused(post(changed, { 'x-hub-signature-256': header }))).toMatchObject({
      statusCode: 401,
      code: 'invalid_signature',
    });
  });

  it('answers 500 when the secret has no appSecret, before reading the body', async () => {
    const d = deps({ verifyToken: VERIFY_TOKEN, secret: 'not-the-app-secret' });
    const answer = await ingestWebhook(signed(body), metaLeadsSource, d);
    expect(answer.statusCode).toBe(500);
    expect(d.acceptLead).not.toHaveBeenCalled();
  });
});

describe('Function: metaLeadsSource.read (leads)', () => {
  async function leadsOf(body: string) {
    const d = deps();
    const answer = await ingestWebhook(signed(body), metaLeadsSource, d);
    return {
      answer,
      calls: d.acceptLead.mock.calls.map(([lead, route, eventKey]) => ({ lead, route: route.name, eventKey })),
    };
  }

  it("reads Meta's documented shape, with ids as JSON numbers past 2^53, digit for digit", async () => {
    const { calls } = await leadsOf(fixture('webhook-numeric-ids'));
    expect(calls).toEqual([
      {
        route: 'default',
        eventKey: 'meta-leads:1500000000000301',
        lead: {
          kind: 'meta-lead',
          leadgenId: '1500000000000301',
          pageId: '100000000000001',
          formId: '1300000000000201',
          adId: '120210000000000101',
          adgroupId: '120210000000000101',
          createdAt: '2026-11-21T09:59:40.000Z',
        },
      },
    ]);
    // The same number read by JSON.parse alone would have lost its last digits.
    expect(String(JSON.parse('120210000000000101'))).not.toBe('120210000000000101');
  });

  it('reads the same lead from ids sent as strings (what real deliveries carry)', async () => {
    const numeric = await leadsOf(fixture('webhook-numeric-ids'));
    const strings = await leadsOf(fixture('webhook-string-ids'));
    expect(strings.calls).toEqual(numeric.calls);
  });

  it('gives one event per leadgen change across entries, skips other fields and repeats, and uses the entry id for a missing page_id', async () => {
    const { answer, calls } = await leadsOf(fixture('webhook-batch'));
    expect(calls.map((call) => [call.eventKey, call.lead.pageId, call.lead.adId ?? null])).toEqual([
      ['meta-leads:1500000000000401', '100000000000001', null],
      ['meta-leads:1500000000000402', '100000000000001', '120210000000000102'],
      ['meta-leads:1500000000000403', '100000000000002', null],
    ]);
    for (const call of calls) expect(MetaLeadReferenceSchema.parse(call.lead)).toEqual(call.lead);
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'accepted',
        events: calls.map((call) => ({ eventKey: call.eventKey, status: 'accepted' })),
      },
    });
  });

  it('answers duplicate when every lead was accepted before', async () => {
    const d = deps();
    d.acceptLead.mockResolvedValue('duplicate');
    const answer = await ingestWebhook(signed(fixture('webhook-string-ids')), metaLeadsSource, d);
    expect(answer.body).toEqual({
      status: 'duplicate',
      events: [{ eventKey: 'meta-leads:1500000000000301', status: 'duplicate' }],
    });
  });

  it.each([
    [
      'another object',
      { object: 'instagram', entry: [{ id: '1', time: 1, changes: [{ field: 'comments', value: {} }] }] },
      'Meta webhook object "instagram" carries no Page leads',
    ],
    [
      'a Page change that is not a lead',
      { object: 'page', entry: [{ id: '1', time: 1, changes: [{ field: 'feed', value: { verb: 'add' } }] }] },
      'the Meta webhook has no leadgen change',
    ],
    [
      'a Page entry without changes',
      { object: 'page', entry: [{ id: '1', time: 1 }] },
      'the Meta webhook has no leadgen change',
    ],
  ])('ignores %s with 200 and a reason', async (_case, body, reason) => {
    const { answer, calls } = await leadsOf(JSON.stringify(body));
    expect(answer).toEqual({ statusCode: 200, body: { status: 'ignored', reason } });
    expect(calls).toEqual([]);
  });

  const leadgen = (value: unknown) =>
    JSON.stringify({
      object: 'page',
      entry: [{ id: '100000000000001', time: 1, changes: [{ field: 'leadgen', value }] }],
    });
  it.each([
    ['invalid JSON', '{"object":"page",', 'body is not valid JSON'],
    ['no object field', JSON.stringify({ entry: [] }), 'object:'],
    ['entry that is not a list', JSON.stringify({ object: 'page', entry: {} }), 'entry:'],
    ['a leadgen change without leadgen_id', leadgen({ page_id: '1' }), 'entry[0].changes[0].value.leadgen_id'],
    [
      'a leadgen id that is not numeric',
      leadgen({ leadgen_id: 'abc' }),
      'entry[0].changes[0].value.leadgen_id: must be a numeric id',
    ],
    [
      'a negative leadgen id',
      leadgen({ leadgen_id: -5 }),
      'entry[0].changes[0].value.leadgen_id: must be a numeric id',
    ],
    ['a fractional form id', leadgen({ leadgen_id: '1', form_id: 1.5 }), 'entry[0].changes[0].value.form_id'],
    ['a leadgen value that is not an object', leadgen('1500000000000301'), 'entry[0].changes[0].value'],
    [
      'a lead with neither page_id nor entry id',
      JSON.stringify({
        object: 'page',
        entry: [{ time: 1, changes: [{ field: 'leadgen', value: { leadgen_id: '1' } }] }],
      }),
      'entry[0].changes[0].value.page_id is missing and so is entry[0].id',
    ],
  ])('refuses %s with 400 naming the problem', async (_case, body, message) => {
    expect(await refused(signed(body))).toMatchObject({
      statusCode: 400,
      code: 'malformed_body',
      message: expect.stringContaining(message),
    });
  });

  it('refuses a body that is not JSON by its content type with 415', async () => {
    const body = fixture('webhook-string-ids');
    const request = post(body, { 'content-type': 'text/plain', 'x-hub-signature-256': sign(body) });
    expect(await refused(request)).toMatchObject({ statusCode: 415, code: 'unsupported_content_type' });
  });

  it(`refuses more than ${MAX_CHANGES} changes with 413 before accepting any`, async () => {
    const changes = Array.from({ length: MAX_CHANGES + 1 }, (_, index) => ({
      field: 'leadgen',
      value: { leadgen_id: String(index + 1) },
    }));
    const body = JSON.stringify({ object: 'page', entry: [{ id: '100000000000001', time: 1, changes }] });
    expect(await refused(signed(body))).toMatchObject({ statusCode: 413, code: 'too_many_changes' });
  });

  it('accepts a lead of a Page that has no token in the secret yet: delivery reports it', async () => {
    const d = deps({ appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN });
    const answer = await ingestWebhook(signed(fixture('webhook-string-ids')), metaLeadsSource, d);
    expect(answer.statusCode).toBe(200);
    expect(d.acceptLead).toHaveBeenCalledTimes(1);
  });
});

describe('Function: quoteIntegers', () => {
  it('quotes integer literals outside strings and leaves strings, fractions and exponents alone', () => {
    const text = '{"a":120210000000000101,"b":"12 \\"34\\"","c":[-7,1.5,2e3,0],"d":true,"e":null}';
    expect(JSON.parse(quoteIntegers(text))).toEqual({
      a: '120210000000000101',
      b: '12 "34"',
      c: ['-7', 1.5, 2000, '0'],
      d: true,
      e: null,
    });
  });
});
