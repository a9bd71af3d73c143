import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { ContactSchema, type Contact } from '../../../shared/contact.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies, type SourceSecret } from '../../../shared/ingest.js';
import { SecretFormatError } from '../../../shared/secrets.js';
import { calendlySource, parseCalendlySignature } from '../../../shared/sources/calendly.js';
import { MAX_BODY_BYTES, WebhookRejectedError, type WebhookRequest } from '../../../shared/webhook.js';
import { testRoute } from '../../helpers/routes.js';

const SECRET = 'calendly-signing-key';
const now = new Date('2026-11-21T10:00:00.000Z');
const NOW_SECONDS = now.getTime() / 1000;
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/calendly/${name}.json`, import.meta.url), 'utf8');

const INVITEE_URI = 'https://api.calendly.com/scheduled_events/EVT5N6B7V8C9X0Z1/invitees/INV7K2M9P4Q1R8S3';

const sign = (timestamp: string | number, body: string, secret = SECRET) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

function request(body: string | Buffer, headers: Record<string, string> = {}, routeName = 'default'): WebhookRequest {
  return {
    source: 'calendly',
    routeName,
    headers: { 'content-type': 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(body),
  };
}
/** Signed as Calendly signs: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">`. */
function signed(body: string, options: { routeName?: string; at?: number; secret?: string } = {}): WebhookRequest {
  const timestamp = String(options.at ?? NOW_SECONDS);
  const header = `t=${timestamp},v1=${sign(timestamp, body, options.secret)}`;
  return request(body, { 'calendly-webhook-signature': header }, options.routeName);
}

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    calendly: {
      default: { deliverTo: ['twochat'] },
      us: { deliverTo: ['twochat'], defaultRegion: 'US', tags: ['booked-call'] },
      lenient: { deliverTo: ['twochat'], calendly: { toleranceSeconds: 600 } },
      strict: { deliverTo: ['twochat'], calendly: { toleranceSeconds: 30 } },
      questions: {
        deliverTo: ['twochat'],
        defaultRegion: 'US',
        fields: {
          phone: ['Best WhatsApp number to reach you'],
          attributes: ['Company', 'What should we prepare?', 'Topic'],
        },
      },
    },
  },
});

function deps(secret: SourceSecret = { secret: SECRET }) {
  return {
    routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: async () => secret,
    logger: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    now: () => now,
  };
}

async function acceptedContact(req: WebhookRequest): Promise<{ contact: Contact; eventKey: string }> {
  const d = deps();
  const answer = await ingestWebhook(req, calendlySource, d);
  expect(answer).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
  expect(d.accept).toHaveBeenCalledTimes(1);
  const [contact, , eventKey] = d.accept.mock.calls[0] ?? [];
  expect(ContactSchema.parse(contact)).toEqual(contact);
  return { contact: contact as Contact, eventKey: eventKey as string };
}

async function refusal(req: WebhookRequest, secret?: SourceSecret) {
  const d = deps(secret);
  const answer = await ingestWebhook(req, calendlySource, d);
  expect(d.accept).not.toHaveBeenCalled();
  return answer;
}

/** A fixture with some of its invitee's fields replaced. */
function withInvitee(name: string, changes: Record<string, unknown>): string {
  const webhook = JSON.parse(fixture(name)) as { payload: Record<string, unknown> };
  return JSON.stringify({ ...webhook, payload: { ...webhook.payload, ...changes } });
}

describe('Function: parseCalendlySignature', () => {
  it('reads t and v1 in either order, with spaces around the pairs and their equals signs', () => {
    expect(parseCalendlySignature('t=1795000000,v1=ab12')).toEqual({ timestamp: '1795000000', signatures: ['ab12'] });
    expect(parseCalendlySignature(' v1 = ab12 , t = 1795000000 ')).toEqual({
      timestamp: '1795000000',
      signatures: ['ab12'],
    });
  });

  it('keeps every v1 and skips keys it does not know', () => {
    expect(parseCalendlySignature('t=1795000000,v0=zz,v1=aa,v1=bb,')).toEqual({
      timestamp: '1795000000',
      signatures: ['aa', 'bb'],
    });
  });

  it.each([
    ['v1=ab12', 'it has no t='],
    ['t=1795000000', 'it has no v1='],
    ['t=1795000000,t=1795000001,v1=ab12', 'it has more than one t='],
    ['t=2026-11-21T10:00:00Z,v1=ab12', 't= is not a Unix time in seconds'],
    ['t=-5,v1=ab12', 't= is not a Unix time in seconds'],
    ['t=1795000000;v1=ab12', 't= is not a Unix time in seconds'],
    ['t=1795000000,v1ab12', 'a comma-separated part is not key=value'],
  ])('refuses %j with 401 invalid_signature naming the header and the problem', (header, problem) => {
    let thrown: unknown;
    try {
      parseCalendlySignature(header);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WebhookRejectedError);
    expect(thrown).toMatchObject({ statusCode: 401, code: 'invalid_signature' });
    expect((thrown as Error).message).toContain('Calendly-Webhook-Signature');
    expect((thrown as Error).message).toContain(problem);
  });
});

describe('Source: calendly, signatures', () => {
  const body = fixture('invitee-created');

  it('accepts a fresh signature and keys the event by the invitee URI', async () => {
    const { eventKey } = await acceptedContact(signed(body));
    expect(eventKey).toBe(`calendly:${INVITEE_URI}`);
  });

  /** The body sent with this signature header. */
  const withHeader = (header: string, sent = body) => request(sent, { 'calendly-webhook-signature': header });
  const good = sign(NOW_SECONDS, body);

  it('accepts the pairs in the other order, spaced, and a second v1 beside a wrong one', async () => {
    await acceptedContact(withHeader(`v1 = ${good} , t = ${NOW_SECONDS}`));
    await acceptedContact(withHeader(`t=${NOW_SECONDS},v1=${sign(NOW_SECONDS, body, 'old-key')},v1=${good}`));
  });

  const bodyAlone = createHmac('sha256', SECRET).update(body).digest('hex');
  const base64 = Buffer.from(good, 'hex').toString('base64');
  it.each([
    ['unsigned', request(body), 'missing_signature'],
    ['with an empty header', withHeader('  '), 'missing_signature'],
    ['with a header that has no t=', withHeader(`v1=${good}`), 'invalid_signature'],
    ['with a header that has no v1=', withHeader(`t=${NOW_SECONDS}`), 'invalid_signature'],
    ['signed with another key', signed(body, { secret: 'another-key' }), 'invalid_signature'],
    ['signed over the body alone', withHeader(`t=${NOW_SECONDS},v1=${bodyAlone}`), 'invalid_signature'],
    ['signed for another timestamp', withHeader(`t=${NOW_SECONDS - 1},v1=${good}`), 'invalid_signature'],
    ['with a signature that is not hex', withHeader(`t=${NOW_SECONDS},v1=${base64}`), 'invalid_signature'],
    [
      'with a body changed after signing',
      withHeader(`t=${NOW_SECONDS},v1=${good}`, body.replace('Marie.Curie', 'Mallory')),
      'invalid_signature',
    ],
    ['signed 181 s ago', signed(body, { at: NOW_SECONDS - 181 }), 'stale_signature'],
    ['dated 181 s ahead', signed(body, { at: NOW_SECONDS + 181 }), 'stale_signature'],
    [
      'stale and signed with another key: the signature is told first',
      signed(body, { at: NOW_SECONDS - 3600, secret: 'other' }),
      'invalid_signature',
    ],
  ])('answers 401 when %s, and accepts nothing', async (_case, req, code) => {
    const answer = await refusal(req);
    expect(answer).toEqual({ statusCode: 401, body: { error: { code, message: expect.any(String) as string } } });
  });

  it('names how old a stale signature is and how old one may be; and when it is dated ahead', async () => {
    expect(await refusal(signed(body, { at: NOW_SECONDS - 200 }))).toMatchObject({
      body: {
        error: {
          code: 'stale_signature',
          message: 'the Calendly-Webhook-Signature was made 200 s ago; at most 180 s is accepted',
        },
      },
    });
    expect(await refusal(signed(body, { at: NOW_SECONDS + 200 }))).toMatchObject({
      body: {
        error: {
          code: 'stale_signature',
          message: 'the Calendly-Webhook-Signature is dated 200 s ahead of our clock; at most 180 s is accepted',
        },
      },
    });
  });

  it('accepts a signature up to 180 s old or ahead by default', async () => {
    await acceptedContact(signed(body, { at: NOW_SECONDS - 180 }));
    await acceptedContact(signed(body, { at: NOW_SECONDS + 180 }));
  });

  it("takes the window from the route's calendly.toleranceSeconds", async () => {
    await acceptedContact(signed(body, { routeName: 'lenient', at: NOW_SECONDS - 590 }));
    expect(await refusal(signed(body, { routeName: 'lenient', at: NOW_SECONDS - 610 }))).toMatchObject({
      statusCode: 401,
      body: { error: { code: 'stale_signature' } },
    });
    await acceptedContact(signed(body, { routeName: 'strict', at: NOW_SECONDS - 30 }));
    expect(await refusal(signed(body, { routeName: 'strict', at: NOW_SECONDS - 31 }))).toMatchObject({
      statusCode: 401,
      body: {
        error: {
          code: 'stale_signature',
          message: 'the Calendly-Webhook-Signature was made 31 s ago; at most 30 s is accepted',
        },
      },
    });
  });

  it('refuses with a secret error when the route secret has no signing key, and answers 500 without naming it', async () => {
    const route = testRoute({ source: 'calendly' });
    const context = { now, secret: async () => ({ token: 'a-token' }) };
    await expect(calendlySource.read(signed(body), route, context)).rejects.toBeInstanceOf(SecretFormatError);
    const answer = await refusal(signed(body), { token: 'a-token' });
    expect(answer).toEqual({
      statusCode: 500,
      body: { error: { code: 'internal_error', message: 'the webhook could not be processed; try again later' } },
    });
  });

  it('answers 404 for an unknown route', async () => {
    expect(await refusal(signed(body, { routeName: 'nope' }))).toMatchObject({
      statusCode: 404,
      body: { error: { code: 'unknown_route' } },
    });
  });
});

describe('Source: calendly, invitee.created', () => {
  it('maps names, email, the reminder number, the booking and the tracking parameters', async () => {
    const { contact, eventKey } = await acceptedContact(signed(fixture('invitee-created')));
    expect(contact).toEqual({
      firstName: 'Marie',
      lastName: 'Skłodowska Curie',
      emails: ['marie.curie@example.com'],
      phones: [{ e164: '+33612345678' }],
      rejectedPhones: [],
      tags: ['calendly'],
      attributes: {
        calendly_event_type: 'https://api.calendly.com/event_types/TYPE1A2S3D4F5G6H',
        calendly_event_name: 'Intro call',
        calendly_event_start: '2026-11-25T14:00:00.000Z',
        calendly_timezone: 'Europe/Paris',
        calendly_utm_campaign: 'winter-webinar',
        calendly_utm_source: 'newsletter',
        calendly_utm_medium: 'email',
        calendly_utm_content: 'hero-button',
        // Every answered question follows, under its own text.
        Company: 'Radium Institute',
        'What should we prepare?': 'Isotope supply for the new lab\nand a site visit',
      },
      origin: {
        source: 'calendly',
        route: 'default',
        eventKey,
        occurredAt: '2026-11-21T09:58:11.000Z',
        personKey: 'marie.curie@example.com',
      },
    });
  });

  it("adds the answers the route names as attributes after Calendly's own, and the route's tags", async () => {
    const { contact } = await acceptedContact(signed(fixture('invitee-created'), { routeName: 'questions' }));
    expect(Object.entries(contact.attributes).slice(-2)).toEqual([
      ['Company', 'Radium Institute'],
      ['What should we prepare?', 'Isotope supply for the new lab\nand a site visit'],
    ]);
    const tagged = await acceptedContact(signed(fixture('invitee-created'), { routeName: 'us' }));
    expect(tagged.contact.tags).toEqual(['calendly', 'booked-call']);
  });

  it('splits the full name when Calendly asked for one name, and reads a phone question by its words in the route region', async () => {
    const { contact } = await acceptedContact(signed(fixture('single-name-phone-question'), { routeName: 'us' }));
    expect(contact).toMatchObject({
      firstName: 'Lise',
      lastName: 'Meitner',
      emails: ['lise@example.net'],
      phones: [{ e164: '+14155550148' }],
    });
    // Tracking that is all null adds nothing.
    expect(Object.keys(contact.attributes).filter((name) => name.includes('utm'))).toEqual([]);
  });

  it('prefers the reminder number to a question that merely mentions a phone', async () => {
    const body = withInvitee('single-name-phone-question', { text_reminder_number: '+1 212 555 0199' });
    const { contact } = await acceptedContact(signed(body, { routeName: 'us' }));
    expect(contact.phones).toEqual([{ e164: '+12125550199' }]);
  });

  it("takes the phone from the question the route's fields name, over the reminder number", async () => {
    const body = withInvitee('single-name-phone-question', { text_reminder_number: '+1 212 555 0199' });
    const { contact } = await acceptedContact(signed(body, { routeName: 'questions' }));
    expect(contact.phones).toEqual([{ e164: '+14155550148' }]);
    expect(contact.attributes).toMatchObject({ Topic: 'Fission' });
  });

  it('keys a retry, signed afresh, to the same event, and a reschedule (a new invitee) to a new one', async () => {
    const first = await acceptedContact(signed(fixture('invitee-created'), { at: NOW_SECONDS - 60 }));
    const retry = await acceptedContact(signed(fixture('invitee-created')));
    expect(retry.eventKey).toBe(first.eventKey);
    const rescheduled = await acceptedContact(signed(fixture('rescheduled')));
    expect(rescheduled.eventKey).toBe(
      'calendly:https://api.calendly.com/scheduled_events/EVTY7Z8A9B0C1D2E/invitees/INVR1S2T3U4V5W6X',
    );
    expect(rescheduled.contact.attributes['calendly_event_start']).toBe('2026-11-27T10:00:00.000Z');
  });

  it('answers skipped, naming the problem and not the value, when there is no usable email or phone', async () => {
    const answer = await refusal(signed(fixture('without-contact')));
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'skipped',
        reason: 'no usable email or phone: email is not a valid address',
        eventKey: 'calendly:https://api.calendly.com/scheduled_events/EVTF3G4H5J6K7L8M/invitees/INVN9P8Q7R6S5T4U',
      },
    });
    expect(JSON.stringify(answer)).not.toContain('rosalind at example');
  });

  it('answers skipped with "no email or phone field found" when the invitee has neither', async () => {
    const body = withInvitee('without-contact', { email: null });
    expect(await refusal(signed(body))).toMatchObject({
      statusCode: 200,
      body: { status: 'skipped', reason: 'no usable email or phone: no email or phone field found' },
    });
  });
});

describe('Source: calendly, other events', () => {
  it.each([
    ['invitee-canceled', 'invitee.canceled'],
    ['routing-form-submission', 'routing_form_submission.created'],
  ])('answers %s ignored, naming the event', async (name, event) => {
    expect(await refusal(signed(fixture(name)))).toEqual({
      statusCode: 200,
      body: { status: 'ignored', reason: `Calendly event "${event}" carries no new booking` },
    });
  });

  it('ignores an event whose payload is not an invitee at all', async () => {
    const body = JSON.stringify({
      event: 'invitee_no_show.created',
      created_at: '2026-11-21T10:00:00.000000Z',
      payload: { invitee: INVITEE_URI },
    });
    expect(await refusal(signed(body))).toMatchObject({
      statusCode: 200,
      body: { status: 'ignored', reason: 'Calendly event "invitee_no_show.created" carries no new booking' },
    });
  });
});

describe('Source: calendly, malformed bodies', () => {
  it.each([
    ['not JSON', '{"event": "invitee.created",', 'body is not valid JSON'],
    ['without an event', JSON.stringify({ payload: {} }), 'body is not a Calendly webhook: event:'],
    [
      'with an event that is not text',
      JSON.stringify({ event: 7, payload: {} }),
      'body is not a Calendly webhook: event:',
    ],
    ['an invitee.created without a payload', JSON.stringify({ event: 'invitee.created' }), 'payload:'],
    ['an invitee.created whose payload has no uri', withInvitee('invitee-created', { uri: undefined }), 'payload.uri:'],
    [
      'an invitee.created whose uri is blank',
      withInvitee('invitee-created', { uri: '  ' }),
      'payload.uri (the invitee) is blank',
    ],
    [
      'an invitee.created whose questions are not a list',
      withInvitee('invitee-created', { questions_and_answers: { question: 'Company' } }),
      'payload.questions_and_answers:',
    ],
    [
      'an invitee.created whose answer is an object',
      withInvitee('invitee-created', { questions_and_answers: [{ question: 'Company', answer: {} }] }),
      'payload.questions_and_answers[0].answer:',
    ],
    ['an invitee.created whose email is a number', withInvitee('invitee-created', { email: 42 }), 'payload.email:'],
  ])('answers 400 malformed_body for %s, naming the problem', async (_case, body, problem) => {
    const answer = await refusal(signed(body));
    expect(answer).toMatchObject({ statusCode: 400, body: { error: { code: 'malformed_body' } } });
    expect(JSON.stringify(answer)).toContain(problem);
  });

  it('answers 415 for a body that is not JSON by its content type', async () => {
    const body = fixture('invitee-created');
    const req = { ...signed(body), headers: { ...signed(body).headers, 'content-type': 'text/plain' } };
    expect(await refusal(req)).toMatchObject({
      statusCode: 415,
      body: { error: { code: 'unsupported_content_type' } },
    });
  });

  it('answers 413 for a body over the limit, before reading the signature', async () => {
    expect(await refusal(request(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)))).toMatchObject({
      statusCode: 413,
      body: { error: { code: 'body_too_large' } },
    });
  });
});
