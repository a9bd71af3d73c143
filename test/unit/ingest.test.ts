/**
 * The ingest use case beyond one contact per webhook: a sender's
 * subscription check (GET) and a webhook naming several leads, each its own
 * event, accepted one after another.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseRoutesConfig } from '../../shared/config/routes.js';
import {
  ingestWebhook,
  NotAcceptedError,
  SourceSecretSchema,
  type IngestDependencies,
  type Source,
} from '../../shared/ingest.js';
import type { LeadReference } from '../../shared/leads.js';
import { describeIssues } from '../../shared/validation.js';
import { WebhookRejectedError, type WebhookRequest } from '../../shared/webhook.js';

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: { 'meta-leads': { default: { deliverTo: ['twochat'] } }, calendly: { default: { deliverTo: ['twochat'] } } },
});
const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

const lead = (leadgenId: string): LeadReference => ({ kind: 'meta-lead', leadgenId, pageId: '100000000000001' });

function request(method: 'GET' | 'POST', source: WebhookRequest['source'] = 'meta-leads'): WebhookRequest {
  return {
    source,
    method,
    routeName: 'default',
    headers: {},
    query: { 'hub.challenge': 'c-123' },
    rawBody: Buffer.from('{}'),
  };
}

function deps(acceptLead: IngestDependencies['acceptLead']): IngestDependencies {
  return {
    routes,
    accept: vi.fn(async () => 'accepted' as const),
    acceptLead,
    sourceSecret: async () => ({ secret: 's' }),
    logger: QUIET,
  };
}

/** A source reading the leads it is given, and answering its subscription check with the challenge. */
function leadSource(leads: LeadReference[]): Source {
  return {
    name: 'meta-leads',
    unknownRouteStatus: 404,
    read: () => ({
      kind: 'leads',
      leads: leads.map((one) => ({ eventKey: `meta-leads:${one.leadgenId}`, lead: one })),
    }),
    subscription: async (req) => {
      const challenge = req.query['hub.challenge'];
      if (challenge === undefined) throw new WebhookRejectedError(403, 'verification_failed', 'no challenge');
      return { statusCode: 200, body: { challenge } };
    },
  };
}

describe('Function: ingestWebhook (subscription checks)', () => {
  it('answers a GET with the source’s subscription answer, reading nothing as a webhook', async () => {
    const source = leadSource([lead('1')]);
    const read = vi.spyOn(source, 'read');
    const acceptLead = vi.fn<NonNullable<IngestDependencies['acceptLead']>>(async () => 'accepted');
    const answer = await ingestWebhook(request('GET'), source, deps(acceptLead));
    expect(answer).toEqual({ statusCode: 200, body: { challenge: 'c-123' } });
    expect(read).not.toHaveBeenCalled();
    expect(acceptLead).not.toHaveBeenCalled();
  });

  it('answers a refused check with the source’s rejection', async () => {
    const source = leadSource([]);
    const answer = await ingestWebhook({ ...request('GET'), query: {} }, source, deps(vi.fn()));
    expect(answer).toMatchObject({ statusCode: 403, body: { error: { code: 'verification_failed' } } });
  });

  it('answers a GET to a source without subscription checks 405', async () => {
    const { subscription: _none, ...plain } = leadSource([]);
    const answer = await ingestWebhook(request('GET', 'calendly'), { ...plain, name: 'calendly' }, deps(vi.fn()));
    expect(answer).toMatchObject({ statusCode: 405, body: { error: { code: 'method_not_allowed' } } });
  });
});

describe('Function: ingestWebhook (several leads in one webhook)', () => {
  it('accepts each lead as its own event and lists them', async () => {
    const acceptLead = vi.fn<NonNullable<IngestDependencies['acceptLead']>>(async () => 'accepted');
    const answer = await ingestWebhook(request('POST'), leadSource([lead('1'), lead('2')]), deps(acceptLead));
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'accepted',
        events: [
          { eventKey: 'meta-leads:1', status: 'accepted' },
          { eventKey: 'meta-leads:2', status: 'accepted' },
        ],
      },
    });
    expect(acceptLead.mock.calls.map(([one, route, key]) => [one.leadgenId, route.name, key])).toEqual([
      ['1', 'default', 'meta-leads:1'],
      ['2', 'default', 'meta-leads:2'],
    ]);
  });

  it('is accepted when any lead is new, and a duplicate only when every lead was seen before', async () => {
    const seen = new Set(['meta-leads:1']);
    const acceptLead = vi.fn<NonNullable<IngestDependencies['acceptLead']>>(async (_lead, _route, key) =>
      seen.has(key) ? 'duplicate' : 'accepted',
    );
    const mixed = await ingestWebhook(request('POST'), leadSource([lead('1'), lead('2')]), deps(acceptLead));
    expect(mixed.body).toMatchObject({ status: 'accepted', events: [{ status: 'duplicate' }, { status: 'accepted' }] });
    const again = await ingestWebhook(request('POST'), leadSource([lead('1')]), deps(acceptLead));
    expect(again.body).toEqual({ status: 'duplicate', events: [{ eventKey: 'meta-leads:1', status: 'duplicate' }] });
  });

  it('answers 503 when a lead cannot be stored, so the sender sends the whole webhook again', async () => {
    const acceptLead = vi.fn<NonNullable<IngestDependencies['acceptLead']>>(async (one) => {
      if (one.leadgenId === '2') throw new NotAcceptedError('queue down');
      return 'accepted';
    });
    const answer = await ingestWebhook(
      request('POST'),
      leadSource([lead('1'), lead('2'), lead('3')]),
      deps(acceptLead),
    );
    expect(answer).toMatchObject({ statusCode: 503, body: { error: { code: 'not_accepted' } } });
    // The third is not tried: the retry brings all three, and the first is then a duplicate.
    expect(acceptLead).toHaveBeenCalledTimes(2);
  });
});

describe('SourceSecretSchema (Meta Lead Ads)', () => {
  it('takes page tokens by numeric page id, and names a key that is not one', () => {
    expect(
      SourceSecretSchema.safeParse({ appSecret: 'a', verifyToken: 'v', pageAccessTokens: { '100000000000001': 't' } })
        .success,
    ).toBe(true);
    const refused = SourceSecretSchema.safeParse({ appSecret: 'a', pageAccessTokens: { 'my-page': 't' } });
    expect(refused.success ? '' : describeIssues(refused.error)).toBe(
      'pageAccessTokens.my-page: must be a numeric page id',
    );
  });
});
