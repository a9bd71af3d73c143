/**
 * Property tests for Calendly webhooks: any change to a signed body, to the timestamp it was signed with or to
 * the signature is refused before anything is accepted; any well-formed `invitee.created`, signed within the
 * window, becomes one event keyed by its invitee URI; and whatever arrives, the source only ever refuses with a
 * WebhookRejectedError.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ContactSchema, type Contact } from '../../../shared/contact.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies } from '../../../shared/ingest.js';
import { CALENDLY_DEFAULT_TOLERANCE_SECONDS, calendlySource } from '../../../shared/sources/calendly.js';
import { MAX_BODY_BYTES, WebhookRejectedError, type WebhookRequest } from '../../../shared/webhook.js';
import { NOW } from '../../helpers/arbitraries/clock-and-secret.js';
import { emailText, jsonLeaf, nameText, phoneText } from '../../helpers/arbitraries/fields.js';
import { withJunk } from '../../helpers/arbitraries/payloads.js';
import { mutate, mutateText, mutation, textMutation } from '../../helpers/arbitraries/mutations.js';
import { contentType, headerValue } from '../../helpers/arbitraries/any-request.js';
import { testRoute } from '../../helpers/routes.js';

const SECRET = 'calendly-signing-key';
const NOW_SECONDS = NOW.getTime() / 1000;
const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: { calendly: { default: { deliverTo: ['twochat'], defaultRegion: 'US' } } },
});

function deps() {
  return {
    routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: async () => ({ secret: SECRET }),
    logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    now: () => NOW,
  };
}

const digest = (timestamp: string, body: Buffer) =>
  createHmac('sha256', SECRET)
    .update(Buffer.concat([Buffer.from(`${timestamp}.`), body]))
    .digest('hex');
const request = (body: Buffer, header: string | undefined, type = 'application/json'): WebhookRequest => ({
  source: 'calendly',
  routeName: 'default',
  headers: { 'content-type': type, ...(header !== undefined ? { 'calendly-webhook-signature': header } : {}) },
  query: {},
  rawBody: body,
});

// ---------------------------------------------------------------------------
// What Calendly sends

const nullable = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.option(arbitrary, { nil: null, freq: 4 });
const calendlyId = fc.stringMatching(/^[A-Z0-9]{16}$/);
/** Invitee URIs as Calendly writes them, and (rarely) any text that is not blank. */
const inviteeUri = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(calendlyId, calendlyId)
      .map(([event, invitee]) => `https://api.calendly.com/scheduled_events/${event}/invitees/${invitee}`),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).filter((uri) => uri.trim() !== '') },
);
const question = fc.record({
  question: fc.oneof(
    fc.constantFrom('Company', 'Your phone number', 'Email for the invoice', 'WhatsApp', 'Anything else?'),
    fc.string({ maxLength: 20 }),
  ),
  answer: nullable(fc.oneof(phoneText, emailText, fc.string({ maxLength: 30 }))),
  position: fc.nat(20),
});
const tracking = fc.record({
  utm_campaign: nullable(fc.string({ maxLength: 12 })),
  utm_source: nullable(fc.string({ maxLength: 12 })),
  utm_medium: nullable(fc.string({ maxLength: 12 })),
  utm_content: nullable(fc.string({ maxLength: 12 })),
  utm_term: nullable(fc.string({ maxLength: 12 })),
  salesforce_uuid: nullable(fc.uuid()),
});
const scheduledEvent = fc.record(
  {
    uri: calendlyId.map((id) => `https://api.calendly.com/scheduled_events/${id}`),
    name: fc.string({ maxLength: 20 }),
    start_time: fc
      .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
      .map((date) => date.toISOString()),
    event_type: calendlyId.map((id) => `https://api.calendly.com/event_types/${id}`),
    status: fc.constantFrom('active', 'canceled'),
  },
  { requiredKeys: [] },
);
const invitee = fc.record(
  {
    uri: inviteeUri,
    email: nullable(emailText),
    name: nullable(nameText),
    first_name: nullable(nameText),
    last_name: nullable(nameText),
    text_reminder_number: nullable(phoneText),
    timezone: nullable(fc.constantFrom('Europe/Paris', 'America/New_York', 'Asia/Kolkata')),
    created_at: nullable(
      fc
        .date({ noInvalidDate: true, min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z') })
        .map((date) => date.toISOString()),
    ),
    rescheduled: fc.boolean(),
    old_invitee: nullable(inviteeUri),
    questions_and_answers: fc.array(question, { maxLength: 4 }),
    tracking: nullable(tracking),
    scheduled_event: nullable(scheduledEvent),
    status: fc.constant('active'),
  },
  { requiredKeys: ['uri'] },
);
const inviteeCreated = fc.record({
  event: fc.constant('invitee.created'),
  created_at: fc.constant('2026-11-21T09:59:59.000000Z'),
  created_by: fc.constant('https://api.calendly.com/users/AAAABBBBCCCCDDDD'),
  payload: invitee,
});
const otherEvent = fc.record({
  event: fc.constantFrom(
    'invitee.canceled',
    'invitee_no_show.created',
    'invitee_no_show.deleted',
    'routing_form_submission.created',
    'event_type.updated',
  ),
  created_at: fc.constant('2026-11-21T09:59:59.000000Z'),
  payload: fc.oneof(invitee, fc.dictionary(fc.string({ maxLength: 8 }), jsonLeaf, { maxKeys: 3 })),
});
const webhook = fc.oneof({ weight: 3, arbitrary: inviteeCreated }, { weight: 1, arbitrary: otherEvent });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** A timestamp Calendly may send: anywhere in the default window around our clock. */
const freshTimestamp = fc
  .integer({ min: -CALENDLY_DEFAULT_TOLERANCE_SECONDS, max: CALENDLY_DEFAULT_TOLERANCE_SECONDS })
  .map((skew) => String(NOW_SECONDS + skew));

const HEX = '0123456789abcdef';

describe('Property: calendlySource refuses what was changed after signing', () => {
  it('refuses any change to a signed body with 401, accepting nothing', async () => {
    await fc.assert(
      fc.asyncProperty(webhook, freshTimestamp, mutation, async (value, timestamp, change) => {
        const genuine = json(value);
        const tampered = mutate(genuine, change);
        fc.pre(tampered.length <= MAX_BODY_BYTES);
        const d = deps();
        const answer = await ingestWebhook(
          request(tampered, `t=${timestamp},v1=${digest(timestamp, genuine)}`),
          calendlySource,
          d,
        );
        expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'invalid_signature' } } });
        expect(d.accept).not.toHaveBeenCalled();
      }),
    );
  });

  it('refuses the signature with any other timestamp, fresh or not, with 401', async () => {
    const otherTimestamp = fc.oneof(
      freshTimestamp,
      fc.nat(9_999_999_999).map(String),
      freshTimestamp.map((timestamp) => `0${timestamp}`),
      fc.tuple(freshTimestamp, textMutation('0123456789')).map(([timestamp, change]) => mutateText(timestamp, change)),
    );
    await fc.assert(
      fc.asyncProperty(webhook, freshTimestamp, otherTimestamp, async (value, timestamp, other) => {
        fc.pre(other !== timestamp);
        const body = json(value);
        const d = deps();
        const answer = await ingestWebhook(
          request(body, `t=${other},v1=${digest(timestamp, body)}`),
          calendlySource,
          d,
        );
        expect(answer.statusCode).toBe(401);
        expect(d.accept).not.toHaveBeenCalled();
      }),
    );
  });

  it('refuses any change to the signature with 401 invalid_signature', async () => {
    await fc.assert(
      fc.asyncProperty(webhook, freshTimestamp, textMutation(HEX), async (value, timestamp, change) => {
        const body = json(value);
        const genuine = digest(timestamp, body);
        const forged = mutateText(genuine, change);
        fc.pre(forged.toLowerCase() !== genuine);
        const d = deps();
        const answer = await ingestWebhook(request(body, `t=${timestamp},v1=${forged}`), calendlySource, d);
        expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'invalid_signature' } } });
        expect(d.accept).not.toHaveBeenCalled();
      }),
    );
  });

  it('refuses a genuine signature made outside the window with 401 stale_signature', async () => {
    const skew = fc.oneof(
      fc.integer({ min: CALENDLY_DEFAULT_TOLERANCE_SECONDS + 1, max: 10 ** 8 }),
      fc.integer({ min: -(10 ** 8), max: -(CALENDLY_DEFAULT_TOLERANCE_SECONDS + 1) }),
    );
    await fc.assert(
      fc.asyncProperty(inviteeCreated, skew, async (value, seconds) => {
        const body = json(value);
        const timestamp = String(NOW_SECONDS + seconds);
        const d = deps();
        const answer = await ingestWebhook(
          request(body, `t=${timestamp},v1=${digest(timestamp, body)}`),
          calendlySource,
          d,
        );
        expect(answer).toMatchObject({ statusCode: 401, body: { error: { code: 'stale_signature' } } });
        expect(d.accept).not.toHaveBeenCalled();
      }),
    );
  });
});

describe('Property: calendlySource reads every well-formed invitee.created', () => {
  it('gives one event keyed by the invitee URI: a contact tagged calendly, or a skip under the same key', async () => {
    await fc.assert(
      fc.asyncProperty(inviteeCreated, freshTimestamp, async (value, timestamp) => {
        const body = json(value);
        const d = deps();
        const answer = await ingestWebhook(
          request(body, `t=${timestamp},v1=${digest(timestamp, body)}`),
          calendlySource,
          d,
        );
        const eventKey = `calendly:${value.payload.uri.trim()}`;
        if (d.accept.mock.calls.length === 0) {
          expect(answer).toMatchObject({ statusCode: 200, body: { status: 'skipped', eventKey } });
          return;
        }
        expect(answer).toEqual({ statusCode: 200, body: { status: 'accepted', eventKey } });
        expect(d.accept).toHaveBeenCalledTimes(1);
        const [contact, , key] = d.accept.mock.calls[0] ?? [];
        expect(key).toBe(eventKey);
        const parsed = ContactSchema.parse(contact) as Contact;
        expect(parsed.origin).toMatchObject({ source: 'calendly', route: 'default', eventKey });
        expect(parsed.tags[0]).toBe('calendly');
        expect(parsed.emails.length + parsed.phones.length).toBeGreaterThan(0);
      }),
    );
  });

  it('answers every other event ignored, naming it, and accepts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(otherEvent, freshTimestamp, async (value, timestamp) => {
        const body = json(value);
        const d = deps();
        const answer = await ingestWebhook(
          request(body, `t=${timestamp},v1=${digest(timestamp, body)}`),
          calendlySource,
          d,
        );
        expect(answer).toEqual({
          statusCode: 200,
          body: { status: 'ignored', reason: `Calendly event "${value.event}" carries no new booking` },
        });
        expect(d.accept).not.toHaveBeenCalled();
      }),
    );
  });
});

describe('Property: calendlySource refuses only with WebhookRejectedError', () => {
  const body = fc.oneof(
    { weight: 3, arbitrary: withJunk(webhook).map(json) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text)) },
  );
  /** The header as Calendly signs it, or anything else one might send in its place. */
  const header = (raw: Buffer) =>
    fc.oneof(
      { weight: 3, arbitrary: freshTimestamp.map((timestamp) => `t=${timestamp},v1=${digest(timestamp, raw)}`) },
      { weight: 1, arbitrary: headerValue },
      {
        weight: 1,
        arbitrary: fc
          .array(fc.tuple(fc.constantFrom('t', 'v1', 'v0', '', ' t '), fc.string({ maxLength: 12 })), { maxLength: 4 })
          .map((pairs) => pairs.map(([key, value]) => `${key}=${value}`).join(',')),
      },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );

  it('resolves, or rejects with a WebhookRejectedError, whatever the body, header and content type', async () => {
    const route = testRoute({ source: 'calendly', defaultRegion: 'US' });
    const context = { now: NOW, secret: async () => ({ secret: SECRET }) };
    await fc.assert(
      fc.asyncProperty(
        body.chain((raw) =>
          fc.tuple(
            fc.constant(raw),
            header(raw),
            fc.oneof({ weight: 3, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: contentType }),
          ),
        ),
        async ([raw, given, type]) => {
          try {
            const reading = await calendlySource.read(request(raw, given, type), route, context);
            expect(['contact', 'ignored']).toContain(reading.kind);
          } catch (error) {
            expect(error).toBeInstanceOf(WebhookRejectedError);
          }
        },
      ),
    );
  });
});
