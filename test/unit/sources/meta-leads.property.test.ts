/**
 * Property tests for Meta Lead Ads webhooks through `ingestWebhook`: any change to a signed body or to its
 * signature is refused before a lead is accepted; any valid notification gives one event per distinct
 * leadgen change, with every id kept digit for digit whether Meta wrote it as a string or a JSON number.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies } from '../../../shared/ingest.js';
import { MAX_BODY_BYTES, type WebhookRequest } from '../../../shared/webhook.js';
import { metaLeadsSource } from '../../../shared/sources/meta-leads.js';
import { mutate, mutation } from '../../helpers/arbitraries/mutations.js';

const APP_SECRET = 'app-secret';
const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: { 'meta-leads': { default: { deliverTo: ['twochat'] } } },
});

function deps() {
  return {
    routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    acceptLead: vi.fn<NonNullable<IngestDependencies['acceptLead']>>(async () => 'accepted'),
    sourceSecret: async () => ({ appSecret: APP_SECRET, verifyToken: 'v' }),
    logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
  };
}

const digest = (body: Buffer) => createHmac('sha256', APP_SECRET).update(body).digest();
const request = (body: Buffer, signature: string): WebhookRequest => ({
  source: 'meta-leads',
  method: 'POST',
  routeName: 'default',
  headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
  query: {},
  rawBody: body,
});

/** Graph ids, many of them past 2^53 (ad ids are 18 digits). */
const graphId = fc.bigInt({ min: 1n, max: 10n ** 20n }).map(String);

interface LeadValue {
  leadgen_id: string;
  page_id?: string;
  form_id?: string;
  ad_id?: string;
  adgroup_id?: string;
  created_time?: number;
}
const leadValue: fc.Arbitrary<LeadValue> = fc.record(
  {
    leadgen_id: fc.oneof(graphId, fc.constantFrom('1500000000000301', '1500000000000302')),
    page_id: graphId,
    form_id: graphId,
    ad_id: graphId,
    adgroup_id: graphId,
    created_time: fc.integer({ min: 1_400_000_000, max: 2_000_000_000 }),
  },
  { requiredKeys: ['leadgen_id'] },
);
const otherChange = fc.record({
  field: fc.constantFrom('feed', 'mention', 'ratings', 'leadgen_update'),
  value: fc.dictionary(fc.constantFrom('verb', 'item', 'post_id'), fc.string({ maxLength: 8 })),
});
const change = fc.oneof(
  { weight: 3, arbitrary: leadValue.map((value) => ({ field: 'leadgen', value })) },
  { weight: 1, arbitrary: otherChange },
);
const notification = fc.record({
  object: fc.constant('page'),
  entry: fc.array(
    fc.record({
      id: graphId,
      time: fc.integer({ min: 1_400_000_000, max: 2_000_000_000 }),
      changes: fc.array(change, { maxLength: 5 }),
    }),
    {
      minLength: 1,
      maxLength: 4,
    },
  ),
});
type Notification = typeof notification extends fc.Arbitrary<infer T> ? T : never;

/** The notification's JSON text, with its ids as strings or as JSON numbers, as Meta's examples write either. */
function text(body: Notification, numericIds: boolean): string {
  const json = JSON.stringify(body);
  return numericIds ? json.replace(/"(leadgen_id|page_id|form_id|ad_id|adgroup_id|id)":"(\d+)"/g, '"$1":$2') : json;
}

/** What each distinct leadgen change should become, in order. */
function expectedLeads(body: Notification) {
  const seen = new Set<string>();
  return body.entry.flatMap((entry) =>
    entry.changes.flatMap((item) => {
      if (item.field !== 'leadgen') return [];
      const value = item.value as LeadValue;
      if (seen.has(value.leadgen_id)) return [];
      seen.add(value.leadgen_id);
      return [
        {
          eventKey: `meta-leads:${value.leadgen_id}`,
          lead: {
            kind: 'meta-lead',
            leadgenId: value.leadgen_id,
            pageId: value.page_id ?? entry.id,
            ...(value.form_id !== undefined ? { formId: value.form_id } : {}),
            ...(value.ad_id !== undefined ? { adId: value.ad_id } : {}),
            ...(value.adgroup_id !== undefined ? { adgroupId: value.adgroup_id } : {}),
            ...(value.created_time !== undefined
              ? { createdAt: new Date(value.created_time * 1000).toISOString() }
              : {}),
          },
        },
      ];
    }),
  );
}

describe('Property: metaLeadsSource refuses what was changed after signing', () => {
  it('refuses any mutation of a signed body with 401, before any lead is accepted', async () => {
    await fc.assert(
      fc.asyncProperty(notification, fc.boolean(), mutation, async (body, numeric, change) => {
        const genuine = Buffer.from(text(body, numeric));
        const tampered = mutate(genuine, change);
        fc.pre(tampered.length <= MAX_BODY_BYTES);
        const d = deps();
        const answer = await ingestWebhook(
          request(tampered, `sha256=${digest(genuine).toString('hex')}`),
          metaLeadsSource,
          d,
        );
        expect(answer.statusCode).toBe(401);
        expect(d.acceptLead).not.toHaveBeenCalled();
      }),
    );
  });

  it('refuses any other digest of a genuine body with 401', async () => {
    await fc.assert(
      fc.asyncProperty(
        notification,
        fc.nat(31),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        async (body, at, mask, upper) => {
          const genuine = Buffer.from(text(body, false));
          const wrong = Buffer.from(digest(genuine));
          wrong[at] = (wrong[at] as number) ^ mask;
          const hex = wrong.toString('hex');
          const d = deps();
          const answer = await ingestWebhook(
            request(genuine, `sha256=${upper ? hex.toUpperCase() : hex}`),
            metaLeadsSource,
            d,
          );
          expect(answer.statusCode).toBe(401);
          expect(d.acceptLead).not.toHaveBeenCalled();
        },
      ),
    );
  });
});

describe('Property: metaLeadsSource reads every lead of a valid notification', () => {
  it('gives one event per distinct leadgen change, in order, with every id kept exactly', async () => {
    await fc.assert(
      fc.asyncProperty(notification, fc.boolean(), async (body, numeric) => {
        const raw = Buffer.from(text(body, numeric));
        const d = deps();
        const answer = await ingestWebhook(request(raw, `sha256=${digest(raw).toString('hex')}`), metaLeadsSource, d);
        const expected = expectedLeads(body);
        const accepted = d.acceptLead.mock.calls.map(([lead, , eventKey]) => ({ eventKey, lead }));
        expect(accepted).toEqual(expected);
        if (expected.length === 0) {
          expect(answer).toEqual({
            statusCode: 200,
            body: { status: 'ignored', reason: 'the Meta webhook has no leadgen change' },
          });
        } else {
          expect(answer).toEqual({
            statusCode: 200,
            body: { status: 'accepted', events: expected.map(({ eventKey }) => ({ eventKey, status: 'accepted' })) },
          });
        }
      }),
    );
  });
});
