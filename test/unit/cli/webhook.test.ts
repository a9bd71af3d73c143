/**
 * The CLI signs as each platform signs: every request it builds, fed to the
 * real source through the real ingest use case, is accepted with the right
 * contact; signed with another secret, it is refused. The headers of Meta Lead
 * Ads, Calendly and custom routes are also checked against the formats their
 * senders document, computed here independently.
 */
import { describe, expect, it, vi } from 'vitest';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import { SOURCES, type Contact, type SourceName } from '../../../shared/contact.js';
import { ingestWebhook, type IngestDependencies, type Source, type SourceSecret } from '../../../shared/ingest.js';
import { calendlySource } from '../../../shared/sources/calendly.js';
import { customSource } from '../../../shared/sources/custom.js';
import { formSource } from '../../../shared/sources/form.js';
import { googleFormsSource } from '../../../shared/sources/google-forms.js';
import { jotformSource } from '../../../shared/sources/jotform.js';
import { metaLeadsSource } from '../../../shared/sources/meta-leads.js';
import { shopifySource } from '../../../shared/shopify/webhook.js';
import { tallySource } from '../../../shared/sources/tally.js';
import { typeformSource } from '../../../shared/sources/typeform.js';
import { webflowSource } from '../../../shared/sources/webflow.js';
import { woocommerceSource } from '../../../shared/sources/woocommerce.js';
import type { WebhookAnswer, WebhookRequest } from '../../../shared/webhook.js';
import { leadgenIds } from '../../../cli/meta-leads.js';
import { sampleGraphLeadPath, samplePath } from '../../../cli/samples.js';
import { buildWebhook, jotformBody, secretField, stableId, type SignedWebhook } from '../../../cli/webhook.js';
import { CliError } from '../../../cli/io.js';
import { readAnswer } from '../../../cli/post.js';

/** Sources whose samples become a contact at ingest (a Meta webhook names leads, read at delivery: see below). */
type RoundTripSource = Exclude<SourceName, 'meta-leads'>;
const SOURCE_OBJECTS: Record<RoundTripSource, Source> = {
  shopify: shopifySource,
  woocommerce: woocommerceSource,
  typeform: typeformSource,
  tally: tallySource,
  jotform: jotformSource,
  webflow: webflowSource,
  'google-forms': googleFormsSource,
  form: formSource,
  custom: customSource,
  calendly: calendlySource,
};

const ROUND_TRIP = Object.keys(SOURCE_OBJECTS) as RoundTripSource[];
const SECRET: SourceSecret = { secret: 'cli-unit-secret', token: 'cli-unit-token', appSecret: 'cli-unit-app-secret' };
const now = new Date('2026-11-21T10:00:00.000Z');

const CUSTOM_FIELDS = {
  fullName: '/name',
  firstName: '/first_name',
  lastName: '/last_name',
  email: '/email',
  phone: '/phone',
  country: '/country',
};

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    ...Object.fromEntries(SOURCES.map((source) => [source, { default: { deliverTo: ['twochat'] } }])),
    form: {
      default: { deliverTo: ['twochat'], defaultRegion: 'US' },
      tokened: { deliverTo: ['twochat'], auth: 'token' },
      signed: { deliverTo: ['twochat'], auth: 'hmac', secretName: 'contact-relay/test/source/forms-signed' },
    },
    tally: { default: { deliverTo: ['twochat'] }, open: { deliverTo: ['twochat'], auth: 'none' } },
    shopify: {
      default: { deliverTo: ['twochat'] },
      eu: { deliverTo: ['twochat'], shopDomains: ['eu-shop.myshopify.com'] },
    },
    custom: {
      // As config/routes.json's default custom route: the token, fields by pointer, the id at /id.
      default: { deliverTo: ['twochat'], custom: { fields: CUSTOM_FIELDS, eventId: '/id' } },
      stamped: {
        deliverTo: ['twochat'],
        custom: {
          fields: CUSTOM_FIELDS,
          signature: {
            header: 'X-Signature',
            prefix: 'sha256=',
            signedString: '{timestamp}.{body}',
            timestampHeader: 'X-Timestamp',
          },
        },
      },
      legacy: {
        deliverTo: ['twochat'],
        custom: { fields: CUSTOM_FIELDS, signature: { header: 'X-Hook-Sig', algorithm: 'sha1', encoding: 'base64' } },
      },
      open: { deliverTo: ['twochat'], auth: 'none', custom: { fields: CUSTOM_FIELDS } },
    },
  },
});
const route = (source: SourceName, name = 'default') => findRoute(routes, source, name) as ResolvedRoute;

/** The request as API Gateway hands it to the functions: lower-cased headers, the query parsed. */
function toRequest(source: SourceName, routeName: string, signed: SignedWebhook): WebhookRequest {
  const url = new URL(signed.path, 'http://127.0.0.1');
  expect(url.pathname).toBe(`/hooks/${source}/${routeName}`);
  return {
    source,
    routeName,
    headers: Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value])),
    query: Object.fromEntries(url.searchParams),
    rawBody: signed.body,
  };
}

async function ingest(
  source: RoundTripSource,
  signed: SignedWebhook,
  routeName = 'default',
  secret: SourceSecret = SECRET,
): Promise<{ answer: WebhookAnswer; contact?: Contact; eventKey?: string }> {
  const accept = vi.fn<IngestDependencies['accept']>(async () => 'accepted');
  const answer = await ingestWebhook(toRequest(source, routeName, signed), SOURCE_OBJECTS[source], {
    routes,
    accept,
    sourceSecret: async () => secret,
    logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    now: () => now,
  });
  const [contact, , eventKey] = accept.mock.calls[0] ?? [];
  return { answer, ...(contact ? { contact } : {}), ...(eventKey ? { eventKey } : {}) };
}

const sample = (source: SourceName) => readFileSync(samplePath(source));

/** Who each shipped sample becomes (cli/samples/). */
const PEOPLE: Record<SourceName, { phone: string; email?: string; name: string }> = {
  shopify: { name: 'John Smith', email: 'john@example.com', phone: '+14155550132' },
  woocommerce: { name: 'Jane Doe', email: 'jane.doe@example.com', phone: '+14155550143' },
  typeform: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+14155550158' },
  tally: { name: 'Jan Peeters', phone: '+32471123456' },
  jotform: { name: 'Mary Somerville', email: 'mary@example.com', phone: '+14155550163' },
  webflow: { name: 'Ford Prefect', phone: '+442079460018' },
  'google-forms': { name: 'Emmy Noether', email: 'emmy@example.com', phone: '+14155550171' },
  form: { name: 'Katherine Johnson', email: 'katherine@example.com', phone: '+14155550186' },
  'meta-leads': { name: 'Grace Hopper', email: 'grace.hopper@example.com', phone: '+14155550194' },
  calendly: { name: 'Hedy Lamarr', email: 'hedy@example.com', phone: '+14155550127' },
  custom: { name: 'Rosalind Franklin', email: 'rosalind@example.com', phone: '+442079460321' },
};

describe('buildWebhook: each sample, signed as its platform signs, is accepted by the real source', () => {
  it.each(ROUND_TRIP.map((source) => [source]))('%s', async (source) => {
    const signed = buildWebhook({
      route: route(source),
      payload: sample(source),
      secret: SECRET,
      secretName: `contact-relay/test/source/${source}`,
      now,
    });
    const { answer, contact } = await ingest(source, signed);
    expect(answer.statusCode, JSON.stringify(answer.body)).toBe(200);
    const person = PEOPLE[source];
    expect([contact?.firstName, contact?.lastName].filter(Boolean).join(' ')).toBe(person.name);
    expect(contact?.phones.map((phone) => phone.e164)).toEqual([person.phone]);
    if (person.email) expect(contact?.emails).toEqual([person.email]);
  });

  it.each(ROUND_TRIP.filter((source) => source !== 'form').map((source) => [source]))(
    '%s: signed with another secret, it is refused with 401',
    async (source) => {
      const signed = buildWebhook({
        route: route(source),
        payload: sample(source),
        secret: { secret: 'wrong', token: 'wrong' },
        now,
      });
      const { answer } = await ingest(source, signed);
      expect(answer.statusCode).toBe(401);
    },
  );
});

describe('buildWebhook: headers and options', () => {
  it('Shopify: topic, shop, delivery ids; the same payload gives the same delivery id, --event-id overrides it', () => {
    const payload = sample('shopify');
    const first = buildWebhook({ route: route('shopify'), payload, secret: SECRET, now });
    const again = buildWebhook({
      route: route('shopify'),
      payload,
      secret: SECRET,
      now: new Date(now.getTime() + 60_000),
    });
    expect(first.headers).toMatchObject({
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': 'demo-shop.myshopify.com',
      'content-type': 'application/json',
    });
    expect(first.headers['x-shopify-webhook-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(again.headers['x-shopify-webhook-id']).toBe(first.headers['x-shopify-webhook-id']);
    expect(first.body.equals(payload)).toBe(true);
    const chosen = buildWebhook({
      route: route('shopify'),
      payload,
      secret: SECRET,
      eventId: 'evt-7',
      topic: 'customers/create',
      now,
    });
    expect(chosen.headers).toMatchObject({
      'x-shopify-webhook-id': 'evt-7',
      'x-shopify-event-id': 'evt-7',
      'x-shopify-topic': 'customers/create',
    });
  });

  it("Shopify: the route's shopDomains give the default shop; a bad --shop is refused", async () => {
    const signed = buildWebhook({ route: route('shopify', 'eu'), payload: sample('shopify'), secret: SECRET, now });
    expect(signed.headers['x-shopify-shop-domain']).toBe('eu-shop.myshopify.com');
    expect((await ingest('shopify', signed, 'eu')).answer.statusCode).toBe(200);
    expect(() =>
      buildWebhook({ route: route('shopify'), payload: sample('shopify'), secret: SECRET, shop: 'example.com', now }),
    ).toThrow(CliError);
  });

  it('Shopify: a topic that carries no contact is answered ignored', async () => {
    const signed = buildWebhook({
      route: route('shopify'),
      payload: sample('shopify'),
      secret: SECRET,
      topic: 'products/create',
      now,
    });
    expect((await ingest('shopify', signed)).answer).toMatchObject({ statusCode: 200, body: { status: 'ignored' } });
  });

  it('WooCommerce: topic, resource and event headers; a new delivery id per send unless given', () => {
    const a = buildWebhook({
      route: route('woocommerce'),
      payload: sample('woocommerce'),
      secret: SECRET,
      topic: 'customer.created',
      now,
    });
    const b = buildWebhook({ route: route('woocommerce'), payload: sample('woocommerce'), secret: SECRET, now });
    expect(a.headers).toMatchObject({
      'x-wc-webhook-topic': 'customer.created',
      'x-wc-webhook-resource': 'customer',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-source': 'https://shop.example.com/',
    });
    expect(a.headers['x-wc-webhook-delivery-id']).not.toBe(b.headers['x-wc-webhook-delivery-id']);
    expect(
      buildWebhook({ route: route('woocommerce'), payload: sample('woocommerce'), secret: SECRET, eventId: 'd-1', now })
        .headers['x-wc-webhook-delivery-id'],
    ).toBe('d-1');
  });

  it('Webflow: the timestamp is the send time, signed with the body', async () => {
    const signed = buildWebhook({ route: route('webflow'), payload: sample('webflow'), secret: SECRET, now });
    expect(signed.headers['x-webflow-timestamp']).toBe(String(now.getTime()));
    expect(signed.headers['x-webflow-signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('Tally: a route with "auth": "none" is sent unsigned and needs no secret', async () => {
    expect(secretField(route('tally', 'open'))).toBeUndefined();
    const signed = buildWebhook({ route: route('tally', 'open'), payload: sample('tally'), now });
    expect(signed.headers['tally-signature']).toBeUndefined();
    expect((await ingest('tally', signed, 'open')).answer.statusCode).toBe(200);
  });

  it('Jotform: the token goes in ?token=, as the Jotform webhook URL carries it', () => {
    const signed = buildWebhook({ route: route('jotform'), payload: sample('jotform'), secret: SECRET, now });
    expect(signed.path).toBe('/hooks/jotform/default?token=cli-unit-token');
    expect(signed.headers['content-type']).toMatch(/^multipart\/form-data; boundary=-+[0-9a-f]{16}$/);
  });

  it('Jotform: a captured multipart body is sent as it is; bare answers are wrapped with ids', async () => {
    const multipart = readFileSync(new URL('../../fixtures/jotform/submission.multipart', import.meta.url));
    const raw = jotformBody(multipart);
    expect(raw.body.equals(multipart)).toBe(true);
    expect(raw.contentType).toBe('multipart/form-data; boundary=------------------------d74496d66958873e');
    const answers = readFileSync(new URL('../../fixtures/jotform/submission.rawRequest.json', import.meta.url));
    const signed = buildWebhook({ route: route('jotform'), payload: answers, secret: SECRET, now });
    const { answer, eventKey } = await ingest('jotform', signed);
    expect(answer.statusCode).toBe(200);
    expect(eventKey).toMatch(/^jotform:240000000000000:\d+$/);
    expect(() => jotformBody(Buffer.from('not json'))).toThrow(CliError);
  });

  it('form: no auth, token or HMAC as the route says; --event-id is the Idempotency-Key; urlencoded bodies keep their type', async () => {
    const open = buildWebhook({ route: route('form'), payload: sample('form'), eventId: 'import:abc:2', now });
    expect(open.headers['idempotency-key']).toBe('import:abc:2');
    expect((await ingest('form', open)).eventKey).toBe('form:default:import:abc:2');

    const tokened = buildWebhook({ route: route('form', 'tokened'), payload: sample('form'), secret: SECRET, now });
    expect(tokened.headers['x-contact-relay-token']).toBe('cli-unit-token');
    expect((await ingest('form', tokened, 'tokened')).answer.statusCode).toBe(200);

    const signed = buildWebhook({
      route: route('form', 'signed'),
      payload: sample('form'),
      secret: SECRET,
      secretName: 'contact-relay/test/source/forms-signed',
      now,
    });
    expect(signed.proof).toBe('X-Contact-Relay-Signature (secret contact-relay/test/source/forms-signed)');
    expect((await ingest('form', signed, 'signed')).answer.statusCode).toBe(200);

    const urlencoded = buildWebhook({
      route: route('form'),
      payload: Buffer.from('name=Bob&email=bob%40example.com'),
      now,
    });
    expect(urlencoded.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect((await ingest('form', urlencoded)).answer.statusCode).toBe(200);
  });

  it('a secret without the field the route checks is a failure naming the secret', () => {
    expect(() =>
      buildWebhook({
        route: route('form', 'tokened'),
        payload: sample('form'),
        secret: { secret: 'only-a-secret' },
        secretName: 'contact-relay/test/source/form',
        now,
      }),
    ).toThrow('secret "contact-relay/test/source/form" has no "token": form route "tokened" checks a token');
  });

  it('stableId is UUID-shaped and depends on every part', () => {
    expect(stableId('a', 'b')).toBe(stableId('a', 'b'));
    expect(stableId('a', 'b')).not.toBe(stableId('ab'));
  });
});

const hex = (algorithm: 'sha256' | 'sha1', key: string, data: Buffer | string) =>
  createHmac(algorithm, key).update(data).digest('hex');
const unixSeconds = String(Math.floor(now.getTime() / 1000));

describe('buildWebhook: Meta Lead Ads, as Meta signs a notification', () => {
  it('X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body with the app secret; the body is sent as given', () => {
    const payload = sample('meta-leads');
    const signed = buildWebhook({
      route: route('meta-leads'),
      payload,
      secret: SECRET,
      secretName: 'contact-relay/test/source/meta-leads',
      now,
    });
    expect(signed.path).toBe('/hooks/meta-leads/default');
    expect(signed.body.equals(payload)).toBe(true);
    expect(signed.headers['content-type']).toBe('application/json');
    expect(signed.headers['x-hub-signature-256']).toBe(`sha256=${hex('sha256', 'cli-unit-app-secret', payload)}`);
    // The app secret signs, not the generic "secret" beside it.
    expect(signed.headers['x-hub-signature-256']).not.toBe(`sha256=${hex('sha256', 'cli-unit-secret', payload)}`);
    expect(signed.proof).toBe('X-Hub-Signature-256 (secret contact-relay/test/source/meta-leads)');
  });

  it('the route needs the appSecret; a secret without one is a failure naming the secret and the field', () => {
    expect(secretField(route('meta-leads'))).toBe('appSecret');
    const build = () =>
      buildWebhook({
        route: route('meta-leads'),
        payload: sample('meta-leads'),
        secret: { secret: 's' },
        secretName: 'contact-relay/test/source/meta-leads',
        now,
      });
    expect(build).toThrow('secret "contact-relay/test/source/meta-leads" has no "appSecret"');
  });
});

describe('buildWebhook: the Meta sample, through the real Meta Lead Ads source', () => {
  async function ingestMeta(signed: SignedWebhook, secret: SourceSecret = SECRET) {
    const acceptLead = vi.fn<NonNullable<IngestDependencies['acceptLead']>>(async () => 'accepted');
    const answer = await ingestWebhook(toRequest('meta-leads', 'default', signed), metaLeadsSource, {
      routes,
      accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
      acceptLead,
      sourceSecret: async () => secret,
      logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
      now: () => now,
    });
    return { answer, leads: acceptLead.mock.calls.map(([lead, , eventKey]) => ({ lead, eventKey })) };
  }

  it("is accepted as one lead, named by the sample's leadgen id on its page, in the answer send reads", async () => {
    const signed = buildWebhook({ route: route('meta-leads'), payload: sample('meta-leads'), secret: SECRET, now });
    const { answer, leads } = await ingestMeta(signed);
    expect(answer.statusCode, JSON.stringify(answer.body)).toBe(200);
    const [id] = leadgenIds(sample('meta-leads'));
    expect(leads).toEqual([
      {
        eventKey: `meta-leads:${id}`,
        lead: expect.objectContaining({ kind: 'meta-lead', leadgenId: id, pageId: '100000000000001' }) as unknown,
      },
    ]);
    const read = readAnswer(answer.statusCode, JSON.stringify(answer.body));
    expect(read).toMatchObject({
      outcome: 'accepted',
      eventKey: `meta-leads:${id}`,
      events: [{ eventKey: `meta-leads:${id}`, status: 'accepted' }],
    });
  });

  it('signed with another app secret, it is refused with 401 and no lead is accepted', async () => {
    const signed = buildWebhook({
      route: route('meta-leads'),
      payload: sample('meta-leads'),
      secret: { appSecret: 'wrong' },
      now,
    });
    const { answer, leads } = await ingestMeta(signed);
    expect(answer.statusCode).toBe(401);
    expect(leads).toEqual([]);
  });
});

describe('buildWebhook: Calendly, as Calendly signs a webhook', () => {
  it('Calendly-Webhook-Signature is t=<unix seconds of the send>,v1=<hex HMAC-SHA256 of "{t}.{body}">', () => {
    const payload = sample('calendly');
    const signed = buildWebhook({ route: route('calendly'), payload, secret: SECRET, now });
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signed.headers['calendly-webhook-signature'] ?? '');
    expect(match?.[1]).toBe(unixSeconds);
    expect(match?.[2]).toBe(hex('sha256', 'cli-unit-secret', `${unixSeconds}.${payload.toString('utf8')}`));
    expect(signed.body.equals(payload)).toBe(true);
  });

  it('a later send is stamped with its own time', () => {
    const later = buildWebhook({
      route: route('calendly'),
      payload: sample('calendly'),
      secret: SECRET,
      now: new Date(now.getTime() + 90_000),
    });
    expect(later.headers['calendly-webhook-signature']).toMatch(new RegExp(`^t=${Number(unixSeconds) + 90},v1=`));
  });

  it('the Calendly source keys the sample by its invitee URI, which the duplicate hint names', async () => {
    const signed = buildWebhook({ route: route('calendly'), payload: sample('calendly'), secret: SECRET, now });
    const invitee = (JSON.parse(sample('calendly').toString('utf8')) as { payload: { uri: string } }).payload.uri;
    expect((await ingest('calendly', signed)).eventKey).toContain(invitee);
  });
});

describe('buildWebhook: custom routes, as each route says', () => {
  const payload = () => sample('custom');

  it('a route without custom.signature sends its token in X-Contact-Relay-Token', () => {
    expect(secretField(route('custom'))).toBe('token');
    const signed = buildWebhook({
      route: route('custom'),
      payload: payload(),
      secret: SECRET,
      secretName: 'contact-relay/test/source/custom',
      now,
    });
    expect(signed.headers['x-contact-relay-token']).toBe('cli-unit-token');
    expect(signed.proof).toBe('X-Contact-Relay-Token (token of secret contact-relay/test/source/custom)');
  });

  it('a signature with a prefix, a timestamp header and "{timestamp}.{body}": the header is the prefix and the hex HMAC-SHA256', async () => {
    expect(secretField(route('custom', 'stamped'))).toBe('secret');
    const signed = buildWebhook({ route: route('custom', 'stamped'), payload: payload(), secret: SECRET, now });
    expect(signed.headers['x-timestamp']).toBe(unixSeconds);
    expect(signed.headers['x-signature']).toBe(
      `sha256=${hex('sha256', 'cli-unit-secret', `${unixSeconds}.${payload().toString('utf8')}`)}`,
    );
    expect(signed.headers['x-contact-relay-token']).toBeUndefined();
    const { answer, contact } = await ingest('custom', signed, 'stamped');
    expect(answer.statusCode, JSON.stringify(answer.body)).toBe(200);
    expect(contact?.phones.map((phone) => phone.e164)).toEqual([PEOPLE.custom.phone]);
  });

  it('sha1 in base64 over the body alone, with no prefix and no timestamp', async () => {
    const signed = buildWebhook({ route: route('custom', 'legacy'), payload: payload(), secret: SECRET, now });
    expect(signed.headers['x-hook-sig']).toBe(createHmac('sha1', 'cli-unit-secret').update(payload()).digest('base64'));
    expect(Object.keys(signed.headers).filter((name) => name.includes('timestamp'))).toEqual([]);
    expect((await ingest('custom', signed, 'legacy')).answer.statusCode).toBe(200);
    const forged = buildWebhook({
      route: route('custom', 'legacy'),
      payload: payload(),
      secret: { secret: 'wrong' },
      now,
    });
    expect((await ingest('custom', forged, 'legacy')).answer.statusCode).toBe(401);
  });

  it('an "auth": "none" route is sent unsigned and needs no secret', async () => {
    expect(secretField(route('custom', 'open'))).toBeUndefined();
    const signed = buildWebhook({ route: route('custom', 'open'), payload: payload(), now });
    expect(signed.proof).toBe('unsigned (the route has "auth": "none")');
    expect(Object.keys(signed.headers).sort()).toEqual(['content-type', 'user-agent']);
    expect((await ingest('custom', signed, 'open')).answer.statusCode).toBe(200);
  });

  it('a signing route whose secret has no "secret" is a failure naming it', () => {
    expect(() =>
      buildWebhook({
        route: route('custom', 'stamped'),
        payload: payload(),
        secret: { token: 't' },
        secretName: 'x',
        now,
      }),
    ).toThrow('secret "x" has no "secret"');
  });
});

describe('the shipped samples of Meta Lead Ads, Calendly and custom', () => {
  const lead = JSON.parse(readFileSync(sampleGraphLeadPath('meta-leads') ?? '', 'utf8')) as {
    id: string;
    page_id: string;
    field_data: Array<{ name: string; values: string[] }>;
  };
  const answer = (name: string) => lead.field_data.find((field) => field.name === name)?.values[0];
  const calendly = JSON.parse(sample('calendly').toString('utf8')) as {
    event: string;
    payload: Record<string, unknown>;
  };
  const custom = JSON.parse(sample('custom').toString('utf8')) as Record<string, string>;

  it("the Meta webhook names the Graph lead shipped beside it, on local/secrets.json's page", () => {
    expect(leadgenIds(sample('meta-leads'))).toEqual([lead.id]);
    expect(lead.page_id).toBe('100000000000001');
    expect([answer('full_name'), answer('email'), answer('phone_number')]).toEqual([
      PEOPLE['meta-leads'].name,
      PEOPLE['meta-leads'].email,
      PEOPLE['meta-leads'].phone,
    ]);
  });

  it('the Calendly sample is an invitee.created with the invitee named, reachable by text and mail', () => {
    expect(calendly.event).toBe('invitee.created');
    expect([calendly.payload['name'], calendly.payload['email']]).toEqual([
      PEOPLE.calendly.name,
      PEOPLE.calendly.email,
    ]);
    expect(String(calendly.payload['text_reminder_number']).replace(/[^\d+]/g, '')).toBe(PEOPLE.calendly.phone);
    expect(calendly.payload['uri']).toMatch(/^https:\/\/api\.calendly\.com\/scheduled_events\/\w+\/invitees\/\w+$/);
  });

  it("the custom sample has every field config/routes.json's default custom route points at", () => {
    const fields = findRoute(
      parseRoutesConfig(JSON.parse(readFileSync(new URL('../../../config/routes.json', import.meta.url), 'utf8'))),
      'custom',
      'default',
    )?.custom;
    const pointers = [...Object.values(fields?.fields ?? {}).flat(), fields?.eventId].filter(
      (pointer) => pointer !== undefined && pointer !== '/name',
    );
    for (const pointer of pointers)
      expect(custom[String(pointer).slice(1)], String(pointer)).toEqual(expect.any(String));
    expect(`${custom['first_name']} ${custom['last_name']}`).toBe(PEOPLE.custom.name);
  });

  it('each sample is a person no other sample is: its own email and phone', () => {
    const people = Object.values(PEOPLE);
    expect(new Set(people.map((person) => person.phone)).size).toBe(people.length);
    const emails = people.flatMap((person) => (person.email === undefined ? [] : [person.email]));
    expect(new Set(emails).size).toBe(emails.length);
    expect(new Set(people.map((person) => person.name)).size).toBe(people.length);
  });

  it("no sample is a person README's quick start posts first, so the sample is a new contact after it", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('## Quick start');
    const quickStart = readme
      .slice(start, readme.indexOf('\n## ', start + 1))
      .replaceAll('%2B', '+')
      .replaceAll('%40', '@');
    const emails = [...quickStart.matchAll(/[\w.+-]+@example\.com/g)].map(([email]) => email);
    const phones = [...quickStart.matchAll(/"phone":"([^"]+)"|phone=([^&'\s]+)/g)].map((match) =>
      (match[1] ?? match[2] ?? '').replace(/\D/g, ''),
    );
    expect(emails.length).toBeGreaterThanOrEqual(2);
    expect(phones.length).toBeGreaterThanOrEqual(2);
    for (const person of Object.values(PEOPLE)) {
      if (person.email !== undefined) expect(emails, person.name).not.toContain(person.email);
      const digits = person.phone.replace(/\D/g, '');
      // A national number in README ("(415) 555-0119") is the same person as its E.164 form.
      for (const phone of phones)
        expect(digits.endsWith(phone) || phone.endsWith(digits), `${person.name} ${phone}`).toBe(false);
    }
  });
});
