/**
 * The CLI signs as each platform signs: every request it builds, fed to the
 * real source through the real ingest use case, is accepted with the right
 * contact; signed with another secret, it is refused.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import { SOURCES, type Contact, type SourceName } from '../../../shared/contact.js';
import { ingestWebhook, type IngestDependencies, type Source, type SourceSecret } from '../../../shared/ingest.js';
import { formSource } from '../../../shared/sources/form.js';
import { googleFormsSource } from '../../../shared/sources/google-forms.js';
import { jotformSource } from '../../../shared/sources/jotform.js';
import { shopifySource } from '../../../shared/sources/shopify-webhook.js';
import { tallySource } from '../../../shared/sources/tally.js';
import { typeformSource } from '../../../shared/sources/typeform.js';
import { webflowSource } from '../../../shared/sources/webflow.js';
import { woocommerceSource } from '../../../shared/sources/woocommerce.js';
import type { WebhookAnswer, WebhookRequest } from '../../../shared/webhook.js';
import { samplePath } from '../../../cli/samples.js';
import { buildWebhook, jotformBody, secretField, stableId, type SignedWebhook } from '../../../cli/webhook.js';
import { CliError } from '../../../cli/io.js';

const SOURCE_OBJECTS: Record<SourceName, Source> = {
  shopify: shopifySource,
  woocommerce: woocommerceSource,
  typeform: typeformSource,
  tally: tallySource,
  jotform: jotformSource,
  webflow: webflowSource,
  'google-forms': googleFormsSource,
  form: formSource,
};

const SECRET: SourceSecret = { secret: 'cli-unit-secret', token: 'cli-unit-token' };
const now = new Date('2026-11-21T10:00:00.000Z');

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
    shopify: { default: { deliverTo: ['twochat'] }, eu: { deliverTo: ['twochat'], shopDomains: ['eu-shop.myshopify.com'] } },
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

async function ingest(source: SourceName, signed: SignedWebhook, routeName = 'default', secret: SourceSecret = SECRET): Promise<{ answer: WebhookAnswer; contact?: Contact; eventKey?: string }> {
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
};

describe('buildWebhook: each sample, signed as its platform signs, is accepted by the real source', () => {
  it.each(SOURCES.map((source) => [source]))('%s', async (source) => {
    const signed = buildWebhook({ route: route(source), payload: sample(source), secret: SECRET, secretName: `contact-relay/test/source/${source}`, now });
    const { answer, contact } = await ingest(source, signed);
    expect(answer.statusCode, JSON.stringify(answer.body)).toBe(200);
    const person = PEOPLE[source];
    expect([contact?.firstName, contact?.lastName].filter(Boolean).join(' ')).toBe(person.name);
    expect(contact?.phones.map((phone) => phone.e164)).toEqual([person.phone]);
    if (person.email) expect(contact?.emails).toEqual([person.email]);
  });

  it.each(SOURCES.filter((source) => source !== 'form').map((source) => [source]))('%s: signed with another secret, it is refused with 401', async (source) => {
    const signed = buildWebhook({ route: route(source), payload: sample(source), secret: { secret: 'wrong', token: 'wrong' }, now });
    const { answer } = await ingest(source, signed);
    expect(answer.statusCode).toBe(401);
  });
});

describe('buildWebhook: headers and options', () => {
  it('Shopify: topic, shop, delivery ids; the same payload gives the same delivery id, --event-id overrides it', () => {
    const payload = sample('shopify');
    const first = buildWebhook({ route: route('shopify'), payload, secret: SECRET, now });
    const again = buildWebhook({ route: route('shopify'), payload, secret: SECRET, now: new Date(now.getTime() + 60_000) });
    expect(first.headers).toMatchObject({ 'x-shopify-topic': 'orders/create', 'x-shopify-shop-domain': 'demo-shop.myshopify.com', 'content-type': 'application/json' });
    expect(first.headers['x-shopify-webhook-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(again.headers['x-shopify-webhook-id']).toBe(first.headers['x-shopify-webhook-id']);
    expect(first.body.equals(payload)).toBe(true);
    const chosen = buildWebhook({ route: route('shopify'), payload, secret: SECRET, eventId: 'evt-7', topic: 'customers/create', now });
    expect(chosen.headers).toMatchObject({ 'x-shopify-webhook-id': 'evt-7', 'x-shopify-event-id': 'evt-7', 'x-shopify-topic': 'customers/create' });
  });

  it("Shopify: the route's shopDomains give the default shop; a bad --shop is refused", async () => {
    const signed = buildWebhook({ route: route('shopify', 'eu'), payload: sample('shopify'), secret: SECRET, now });
    expect(signed.headers['x-shopify-shop-domain']).toBe('eu-shop.myshopify.com');
    expect((await ingest('shopify', signed, 'eu')).answer.statusCode).toBe(200);
    expect(() => buildWebhook({ route: route('shopify'), payload: sample('shopify'), secret: SECRET, shop: 'example.com', now })).toThrow(CliError);
  });

  it('Shopify: a topic that carries no contact is answered ignored', async () => {
    const signed = buildWebhook({ route: route('shopify'), payload: sample('shopify'), secret: SECRET, topic: 'products/create', now });
    expect((await ingest('shopify', signed)).answer).toMatchObject({ statusCode: 200, body: { status: 'ignored' } });
  });

  it('WooCommerce: topic, resource and event headers; a new delivery id per send unless given', () => {
    const a = buildWebhook({ route: route('woocommerce'), payload: sample('woocommerce'), secret: SECRET, topic: 'customer.created', now });
    const b = buildWebhook({ route: route('woocommerce'), payload: sample('woocommerce'), secret: SECRET, now });
    expect(a.headers).toMatchObject({ 'x-wc-webhook-topic': 'customer.created', 'x-wc-webhook-resource': 'customer', 'x-wc-webhook-event': 'created', 'x-wc-webhook-source': 'https://shop.example.com/' });
    expect(a.headers['x-wc-webhook-delivery-id']).not.toBe(b.headers['x-wc-webhook-delivery-id']);
    expect(buildWebhook({ route: route('woocommerce'), payload: sample('woocommerce'), secret: SECRET, eventId: 'd-1', now }).headers['x-wc-webhook-delivery-id']).toBe('d-1');
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

    const signed = buildWebhook({ route: route('form', 'signed'), payload: sample('form'), secret: SECRET, secretName: 'contact-relay/test/source/forms-signed', now });
    expect(signed.proof).toBe('X-Contact-Relay-Signature (secret contact-relay/test/source/forms-signed)');
    expect((await ingest('form', signed, 'signed')).answer.statusCode).toBe(200);

    const urlencoded = buildWebhook({ route: route('form'), payload: Buffer.from('name=Bob&email=bob%40example.com'), now });
    expect(urlencoded.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect((await ingest('form', urlencoded)).answer.statusCode).toBe(200);
  });

  it('a secret without the field the route checks is a failure naming the secret', () => {
    expect(() => buildWebhook({ route: route('form', 'tokened'), payload: sample('form'), secret: { secret: 'only-a-secret' }, secretName: 'contact-relay/test/source/form', now })).toThrow(
      'secret "contact-relay/test/source/form" has no "token": form route "tokened" checks a token',
    );
  });

  it('stableId is UUID-shaped and depends on every part', () => {
    expect(stableId('a', 'b')).toBe(stableId('a', 'b'));
    expect(stableId('a', 'b')).not.toBe(stableId('ab'));
  });
});
