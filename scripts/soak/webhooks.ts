/**
 * One webhook per person, from each source in turn, built on that source's
 * fixture (test/fixtures/) with the person's details and fresh ids, and
 * signed with the pipeline's source secret for the source's default route in
 * config/routes.json as the tool signs it: by cli/webhook.ts's buildWebhook,
 * the CLI's signer. What a retry keeps or renews is the soak's:
 *
 *   shopify       the same delivery: body, webhook and event ids, signature and trigger time of the first attempt
 *   woocommerce   a new X-WC-Webhook-Delivery-ID on every attempt
 *   webflow       a fresh timestamp, and so signature, on every attempt
 *   calendly      stamped afresh on every attempt (t=), the invitee URI (the event) kept
 *   jotform       multipart/form-data as Jotform writes it, the route token in ?token=
 *   form          JSON or urlencoded, open; half carry an Idempotency-Key, the rest are keyed by their body
 *   custom        JSON by pointer, X-Contact-Relay-Token, its id at /id
 *
 * Meta Lead Ads is not in the mix: its webhook names a lead that deliver reads
 * from the Graph API, so each webhook would need its lead stored in the
 * emulator's Graph API first and the pipeline's secret would need page
 * tokens; `request(attempt)` only builds bytes, and the invariant here is
 * about the providers, which the meta-leads integration tests cover end to end.
 *
 * `request(attempt)` gives the bytes of delivery attempt `attempt` (0 = the
 * first); a re-delivery is what the sender itself would send again.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { buildWebhook } from '../../cli/webhook.js';
import { findRoute, parseRoutesConfig } from '../../shared/config/routes.js';
import type { SourceName } from '../../shared/contact.js';
import type { Random } from '../../local/emulator/random.js';
import type { Person } from './people.js';

export interface SourceSecret {
  secret: string;
  token: string;
}

export interface WebhookRequest {
  source: SourceName;
  /** The function that serves the source. */
  handler: 'forms' | 'shops';
  rawBody: Buffer;
  headers: Record<string, string>;
  query: Record<string, string>;
}

export interface SoakWebhook {
  index: number;
  source: SourceName;
  person: Person;
  request(attempt: number, now: Date): WebhookRequest;
}

/** The sources the soak sends: all but Meta Lead Ads (see above). */
export type SoakSource = Exclude<SourceName, 'meta-leads'>;

/** Every soak source, in the order people are spread over them. */
export const SOAK_SOURCES: readonly SoakSource[] = [
  'form',
  'typeform',
  'tally',
  'jotform',
  'webflow',
  'google-forms',
  'shopify',
  'woocommerce',
  'calendly',
  'custom',
];

export const SHOP_DOMAIN = 'soak-shop.myshopify.com';
export const WOO_STORE = 'https://soak-shop.example.com/';

const fixture = <T>(path: string): T =>
  JSON.parse(readFileSync(new URL(`../../test/fixtures/${path}`, import.meta.url), 'utf8')) as T;

const sample = <T>(file: string): T =>
  JSON.parse(readFileSync(new URL(`../../cli/samples/${file}`, import.meta.url), 'utf8')) as T;

const FIXTURES = {
  // Shaped as Calendly documents an invitee.created webhook (cli/samples.ts says where).
  calendly: sample<{ event: string; created_at: string; payload: Record<string, unknown> }>('calendly.json'),
  typeform: fixture<Record<string, unknown>>('typeform/with-phone.json'),
  tally: fixture<Record<string, unknown>>('tally/national-phone.json'),
  webflow: fixture<{ triggerType: string; payload: Record<string, unknown> }>('webflow/national-phone.json'),
  googleForms: fixture<Record<string, unknown>>('google-forms/response.json'),
  jotform: fixture<Record<string, unknown>>('jotform/submission.rawRequest.json'),
  shopify: fixture<Record<string, unknown>>('shopify/orders-create-billing-phone.json'),
  woocommerce: fixture<Record<string, unknown>>('woocommerce/order-billing-phone.json'),
};

const ROUTES = parseRoutesConfig(routesFile);

/** The request `source`'s sender makes with `payload` on its default route, built and signed by buildWebhook. */
function sent(
  source: SoakSource,
  secrets: SourceSecret,
  payload: Buffer,
  now: Date,
  sender: { topic?: string; eventId?: string | undefined; shop?: string } = {},
): WebhookRequest {
  const route = findRoute(ROUTES, source, 'default');
  if (route === undefined) throw new Error(`config/routes.json has no default ${source} route`);
  const webhook = buildWebhook({ route, payload, secret: secrets, now, ...sender });
  const query = Object.fromEntries(new URL(webhook.path, 'http://localhost').searchParams);
  const handler = source === 'shopify' || source === 'woocommerce' ? 'shops' : 'forms';
  return { source, handler, rawBody: webhook.body, headers: webhook.headers, query };
}

function hex(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

function uuid(random: Random): string {
  const h = hex(random, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[Math.floor(random() * 4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function ulidLike(random: Random): string {
  let out = '01';
  for (let i = 0; i < 24; i++) out += CROCKFORD[Math.floor(random() * 32)];
  return out;
}

function alphanumeric(random: Random, length: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += chars[Math.floor(random() * chars.length)];
  return out;
}

const clone = <T>(value: T): T => structuredClone(value);
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const fullName = (person: Person) => `${person.firstName} ${person.lastName}`;

/** The phone as this person's payload gives it: national (with a country elsewhere in the payload) or international. */
const phoneText = (person: Person) => (person.givesNational ? person.national : person.international);

type Builder = (person: Person, index: number, random: Random, secrets: SourceSecret) => SoakWebhook['request'];

const BUILDERS: Record<SoakSource, Builder> = {
  form(person, index, random, secrets) {
    const idempotencyKey = random() < 0.5 ? `soak-${index}-${hex(random, 8)}` : undefined;
    const urlencoded = random() < 0.5;
    // The route's default region is US: a national US number needs no country; a British one does.
    const country: Record<string, string> =
      person.givesNational && person.country !== 'US'
        ? { country: random() < 0.5 ? person.country : person.countryName }
        : {};
    const body = urlencoded
      ? Buffer.from(
          new URLSearchParams({
            first_name: person.firstName,
            last_name: person.lastName,
            email: person.email,
            phone: phoneText(person),
            ...country,
          }).toString(),
          'utf8',
        )
      : json({
          name: fullName(person),
          email: person.email,
          phone: phoneText(person),
          ...country,
          message: 'Please call me back',
        });
    // buildWebhook sends it urlencoded when it is not JSON.
    return (_attempt, now) => sent('form', secrets, body, now, { eventId: idempotencyKey });
  },

  typeform(person, _index, random, secrets) {
    const payload = clone(FIXTURES.typeform) as {
      event_id: string;
      form_response: {
        token: string;
        hidden: Record<string, string>;
        definition: { fields: Array<Record<string, unknown>> };
        answers: Array<Record<string, unknown>>;
      };
    };
    payload.event_id = ulidLike(random);
    const response = payload.form_response;
    response.token = hex(random, 32);
    const [first, last, email, phone] = response.answers as [
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    first['text'] = person.firstName;
    last['text'] = person.lastName;
    email['email'] = person.email;
    if (person.givesNational) {
      // A short-text "Mobile" question and the country as a hidden field, as in national-phone.json.
      response.definition.fields[3] = {
        id: 'Mb8vBn2MqW4f',
        title: 'Mobile',
        type: 'short_text',
        ref: '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
        properties: {},
      };
      response.answers[3] = {
        type: 'text',
        text: person.national,
        field: { id: 'Mb8vBn2MqW4f', type: 'short_text', ref: '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' },
      };
      response.hidden = { ...response.hidden, country: person.country };
    } else {
      // Typeform's phone question answers in E.164.
      phone['phone_number'] = person.e164;
    }
    const body = json(payload);
    return (_attempt, now) => {
      const request = sent('typeform', secrets, body, now);
      return { ...request, headers: { ...request.headers, 'user-agent': 'Typeform Webhooks' } };
    };
  },

  tally(person, _index, random, secrets) {
    const payload = clone(FIXTURES.tally) as {
      eventId: string;
      data: { responseId: string; submissionId: string; respondentId: string; fields: Array<Record<string, unknown>> };
    };
    payload.eventId = uuid(random);
    payload.data.responseId = alphanumeric(random, 6);
    payload.data.submissionId = payload.data.responseId;
    payload.data.respondentId = alphanumeric(random, 6);
    payload.data.fields = [
      ...(person.givesNational
        ? [
            {
              key: 'question_Jx4kQ2_0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
              label: 'country',
              type: 'HIDDEN_FIELDS',
              value: person.country,
            },
          ]
        : []),
      { key: 'question_5LmN8p', label: 'Full name', type: 'INPUT_TEXT', value: fullName(person) },
      { key: 'question_2PqR7s', label: 'Email', type: 'INPUT_EMAIL', value: person.email },
      person.givesNational
        ? { key: 'question_8RtY3u', label: 'Your WhatsApp number', type: 'INPUT_TEXT', value: person.national }
        : { key: 'question_8RtY3u', label: 'Phone number', type: 'INPUT_PHONE_NUMBER', value: person.e164 },
    ];
    const body = json(payload);
    return (_attempt, now) => sent('tally', secrets, body, now);
  },

  webflow(person, _index, random, secrets) {
    const payload = clone(FIXTURES.webflow);
    payload.payload['id'] = hex(random, 24);
    payload.payload['data'] = {
      'First Name': person.firstName,
      'Last Name': person.lastName,
      Email: person.email,
      // Webflow hands a number field over as a JSON number.
      'Phone Number': person.givesNational ? Number(person.nationalDigits) : person.international,
      ...(person.givesNational ? { country: person.country } : {}),
    };
    delete payload.payload['schema'];
    const body = json(payload);
    // Webflow signs "{timestamp}:{body}" and stamps every attempt afresh.
    return (_attempt, now) => sent('webflow', secrets, body, now);
  },

  'google-forms'(person, _index, random, secrets) {
    const payload = clone(FIXTURES.googleForms) as {
      responseId: string;
      answers: Record<string, unknown>;
      respondentEmail?: string;
    };
    payload.responseId = `2_AB${alphanumeric(random, 40)}`;
    payload.answers = {
      'Full name': fullName(person),
      'Phone number': phoneText(person),
      ...(person.givesNational ? { Country: person.countryName } : {}),
      'How did you hear about us?': ['Newsletter'],
    };
    payload.respondentEmail = person.email;
    const body = json(payload);
    return (_attempt, now) => sent('google-forms', secrets, body, now);
  },

  jotform(person, index, random, secrets) {
    const raw = clone(FIXTURES.jotform);
    raw['q3_fullName'] = { first: person.firstName, last: person.lastName };
    raw['q4_email'] = person.email;
    raw['q5_phoneNumber'] = { full: phoneText(person) };
    if (person.givesNational) raw['q6_country'] = person.countryName;
    else delete raw['q6_country'];
    raw['event_id'] = `${Date.UTC(2026, 10, 21)}_241692120026345_${alphanumeric(random, 7)}`;
    // PHP's json_encode writes "/" as "\/", as Jotform's rawRequest does.
    const rawRequest = JSON.stringify(raw).replaceAll('/', '\\/');
    const submissionID = String(5_945_194_041_717_000_000n + BigInt(index));
    const boundary = `------------------------${hex(random, 16)}`;
    const parts: Array<[string, string]> = [
      ['action', ''],
      ['username', 'soak'],
      ['formID', '241692120026345'],
      ['type', 'WEB'],
      ['formTitle', 'Contact Us'],
      ['submissionID', submissionID],
      ['rawRequest', rawRequest],
      ['pretty', `Full Name:${fullName(person)}, E-mail:${person.email}, Phone Number:${phoneText(person)}`],
      ['ip', '203.0.113.7'],
    ];
    const body = Buffer.from(
      `${parts.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('')}--${boundary}--\r\n`,
      'utf8',
    );
    // buildWebhook sends a captured multipart body as it is, under its boundary.
    return (_attempt, now) => sent('jotform', secrets, body, now);
  },

  shopify(person, index, random, secrets) {
    const order = clone(FIXTURES.shopify) as Record<string, unknown> & {
      customer: Record<string, unknown>;
      billing_address: Record<string, unknown>;
      shipping_address: Record<string, unknown>;
    };
    const orderId = 5_000_000_000_000 + index;
    const customerId = 7_000_000_000_000 + index;
    order['id'] = orderId;
    order['admin_graphql_api_id'] = `gid://shopify/Order/${orderId}`;
    order['name'] = `#${10_000 + index}`;
    order['order_number'] = 10_000 + index;
    order['email'] = person.email;
    order['contact_email'] = person.email;
    order['phone'] = null;
    order['customer'] = {
      ...order.customer,
      id: customerId,
      admin_graphql_api_id: `gid://shopify/Customer/${customerId}`,
      first_name: person.firstName,
      last_name: person.lastName,
      email: person.email,
      phone: null,
      default_address: null,
    };
    const address = {
      first_name: person.firstName,
      last_name: person.lastName,
      name: fullName(person),
      country: person.countryName,
      country_code: person.country,
    };
    // The checkout's phone sits on the billing address, in whatever form the buyer typed it.
    order['billing_address'] = { ...order.billing_address, ...address, phone: phoneText(person) };
    order['shipping_address'] = { ...order.shipping_address, ...address, phone: null };
    const body = json(order);
    const webhookId = uuid(random);
    // Shopify's event id names the event, its webhook id the delivery: they differ.
    const eventId = uuid(random);
    // A Shopify retry is the same delivery: same body, same ids, same signature, and the first attempt's trigger
    // time (a route refuses deliveries triggered longer ago than its maxDeliveryAgeHours).
    let delivery: WebhookRequest | undefined;
    return (_attempt, now) => {
      if (delivery === undefined) {
        const request = sent('shopify', secrets, body, now, {
          topic: 'orders/create',
          shop: SHOP_DOMAIN,
          eventId: webhookId,
        });
        delivery = { ...request, headers: { ...request.headers, 'x-shopify-event-id': eventId } };
      }
      return delivery;
    };
  },

  woocommerce(person, index, random, secrets) {
    const order = clone(FIXTURES.woocommerce) as Record<string, unknown> & {
      billing: Record<string, unknown>;
      shipping: Record<string, unknown>;
    };
    const orderId = 100_000 + index;
    order['id'] = orderId;
    order['number'] = String(orderId);
    order['order_key'] = `wc_order_${hex(random, 13)}`;
    order['customer_id'] = 0;
    order['billing'] = {
      ...order.billing,
      first_name: person.firstName,
      last_name: person.lastName,
      email: person.email,
      phone: phoneText(person),
      country: person.country,
    };
    order['shipping'] = {
      ...order.shipping,
      first_name: person.firstName,
      last_name: person.lastName,
      country: person.country,
    };
    const body = json(order);
    // WooCommerce makes a new delivery id for every attempt; the order (and so the event key) stays the same.
    return (attempt, now) =>
      sent('woocommerce', secrets, body, now, {
        topic: 'order.created',
        shop: WOO_STORE,
        eventId: createHmac('sha256', 'delivery').update(`${orderId}:${attempt}`).digest('hex').slice(0, 32),
      });
  },

  calendly(person, _index, random, secrets) {
    const webhook = clone(FIXTURES.calendly);
    const event = alphanumeric(random, 16).toUpperCase();
    const invitee = alphanumeric(random, 16).toUpperCase();
    webhook.payload = {
      ...webhook.payload,
      name: fullName(person),
      first_name: person.firstName,
      last_name: person.lastName,
      email: person.email,
      // Calendly's reminder number carries its country code; the route has no region to read a national one in.
      text_reminder_number: person.international,
      event: `https://api.calendly.com/scheduled_events/${event}`,
      uri: `https://api.calendly.com/scheduled_events/${event}/invitees/${invitee}`,
      cancel_url: `https://calendly.com/cancellations/${invitee}`,
      reschedule_url: `https://calendly.com/reschedulings/${invitee}`,
    };
    const body = json(webhook);
    // Assumption: Calendly signs each attempt when it sends it (a fresh t=), over the same body.
    return (_attempt, now) => sent('calendly', secrets, body, now);
  },

  custom(person, index, random, secrets) {
    // The default custom route reads /name or /first_name and /last_name, /email, /phone, /country, and /id.
    const names =
      random() < 0.5 ? { name: fullName(person) } : { first_name: person.firstName, last_name: person.lastName };
    const country = person.givesNational ? { country: random() < 0.5 ? person.country : person.countryName } : {};
    const id = `soak-${index}-${hex(random, 12)}`;
    const body = json({ id, ...names, email: person.email, phone: phoneText(person), ...country, message: 'Call me' });
    return (_attempt, now) => sent('custom', secrets, body, now);
  },
};

/** One webhook per person, the sources taken in turn. */
export function makeWebhooks(people: readonly Person[], random: Random, secrets: SourceSecret): SoakWebhook[] {
  return people.map((person, index) => {
    const source = SOAK_SOURCES[index % SOAK_SOURCES.length] as SoakSource;
    return { index, source, person, request: BUILDERS[source](person, index, random, secrets) };
  });
}
