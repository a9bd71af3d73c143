import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { fromHttpApiEvent } from '../../../shared/adapters/http-api.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { ingestWebhook, type IngestDependencies } from '../../../shared/ingest.js';
import { MAX_FORM_FIELDS } from '../../../shared/sources/form.js';
import { decodeEntities, jotformFields, jotformSource, parseJotformBody } from '../../../shared/sources/jotform.js';
import { WebhookRejectedError, type WebhookRequest } from '../../../shared/webhook.js';
import { httpApiEvent } from '../../../local/lambda.js';

/** Ingest's answer once the job is queued: exactly 200, the one status every sender counts as delivered. */
const ACCEPTED = { statusCode: 200, body: { status: 'accepted' } } as const;

const FIXTURES = new URL('../../fixtures/jotform/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const rawRequestText = (name: string) => fixture(name).toString('utf8').trim();

const BOUNDARY = '------------------------d74496d66958873e';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
const FORM_ID = '241692120026345';
const SUBMISSION_ID = '5945194041717462825';
const now = new Date('2026-11-21T10:00:00.000Z');

function jotformRequest(
  rawBody: Buffer,
  options: {
    contentType?: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    routeName?: string;
  } = {},
): WebhookRequest {
  return {
    source: 'jotform',
    routeName: options.routeName ?? 'default',
    headers: { 'content-type': options.contentType ?? MULTIPART, ...options.headers },
    query: options.query ?? { token: 't' },
    rawBody,
  };
}

/** A multipart body as a WHATWG encoder writes it (its own boundary), for the variants. */
async function multipart(fields: Record<string, string>): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? '' };
}

async function variant(name: string, submissionID = '5945194041717462999') {
  const { body, contentType } = await multipart({
    formID: FORM_ID,
    submissionID,
    formTitle: 'Contact Us',
    rawRequest: rawRequestText(name),
  });
  return { body, contentType };
}

const routes = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    jotform: {
      default: { deliverTo: ['twochat'] },
      uk: { deliverTo: ['twochat'], fields: { fullName: ['q3_yourName'] } },
      de: {
        deliverTo: ['twochat'],
        tags: ['de-leads'],
        fields: {
          firstName: ['q10_vorname'],
          lastName: ['nachname'],
          email: ['kontakt'],
          phone: ['q13_rueckruf'],
          country: ['land'],
          attributes: ['kampagne'],
        },
      },
    },
  },
});
const quietLogger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
function setup(acceptance: 'accepted' | 'duplicate' = 'accepted') {
  const accept = vi.fn<IngestDependencies['accept']>(async () => acceptance);
  const sourceSecret = vi.fn(async () => ({ secret: 's', token: 't' }));
  return { accept, sourceSecret, deps: { routes, accept, sourceSecret, logger: quietLogger, now: () => now } };
}

describe('Fixture: submission.multipart', () => {
  it('carries exactly submission.rawRequest.json as its rawRequest part', async () => {
    const form = await new Response(fixture('submission.multipart'), {
      headers: { 'content-type': MULTIPART },
    }).formData();
    expect(form.get('rawRequest')).toBe(rawRequestText('submission.rawRequest.json'));
    expect(form.get('formID')).toBe(FORM_ID);
  });
});

describe('Function: parseJotformBody', () => {
  it("reads Jotform's multipart webhook body and decodes rawRequest", async () => {
    const submission = await parseJotformBody(jotformRequest(fixture('submission.multipart')));
    expect(submission).toEqual({
      formID: FORM_ID,
      submissionID: SUBMISSION_ID,
      formTitle: 'Contact Us',
      rawRequest: JSON.parse(rawRequestText('submission.rawRequest.json')) as unknown,
    });
    expect(submission.rawRequest['q3_fullName']).toEqual({ first: 'Ada', last: 'Lovelace' });
    expect(submission.rawRequest['path']).toBe('/submit/241692120026345');
  });

  it('reads the same fields from an urlencoded body', async () => {
    const body = new URLSearchParams({
      formID: FORM_ID,
      submissionID: SUBMISSION_ID,
      rawRequest: '{"q4_email":"ada@example.com"}',
    }).toString();
    const submission = await parseJotformBody(
      jotformRequest(Buffer.from(body), { contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(submission).toEqual({
      formID: FORM_ID,
      submissionID: SUBMISSION_ID,
      rawRequest: { q4_email: 'ada@example.com' },
    });
  });

  async function rejectionOf(request: WebhookRequest): Promise<WebhookRejectedError> {
    const error: unknown = await parseJotformBody(request).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(WebhookRejectedError);
    return error as WebhookRejectedError;
  }

  it.each([
    [
      'a body that is not multipart',
      () => Promise.resolve({ body: Buffer.from('formID=1'), contentType: MULTIPART }),
      /^body is not valid multipart\/form-data: /,
    ],
    [
      'a multipart type without a boundary',
      async () => ({ ...(await variant('no-phone.rawRequest.json')), contentType: 'multipart/form-data' }),
      /^body is not valid multipart\/form-data: /,
    ],
    [
      'no rawRequest',
      () => multipart({ formID: FORM_ID, submissionID: SUBMISSION_ID }),
      /^not a Jotform submission: rawRequest: /,
    ],
    [
      'no submissionID',
      () => multipart({ formID: FORM_ID, rawRequest: '{}' }),
      /^not a Jotform submission: submissionID: /,
    ],
    [
      'a submissionID unfit for a key',
      () => multipart({ formID: FORM_ID, submissionID: 'a:b', rawRequest: '{}' }),
      /submissionID: must be a Jotform id/,
    ],
    [
      'a rawRequest that is not JSON',
      () => multipart({ formID: FORM_ID, submissionID: SUBMISSION_ID, rawRequest: '{"q3_name":' }),
      /^rawRequest is not valid JSON: /,
    ],
    [
      'a rawRequest that is not an object',
      () => multipart({ formID: FORM_ID, submissionID: SUBMISSION_ID, rawRequest: '["q3"]' }),
      /^rawRequest must be a JSON object of answers$/,
    ],
  ])('answers 400 malformed_body for %s', async (_name, build, message) => {
    const { body, contentType } = await build();
    const error = await rejectionOf(jotformRequest(body, { contentType }));
    expect([error.statusCode, error.code]).toEqual([400, 'malformed_body']);
    expect(error.message).toMatch(message);
  });

  it('answers 415 for a JSON body, naming what Jotform sends', async () => {
    const error = await rejectionOf(jotformRequest(Buffer.from('{}'), { contentType: 'application/json' }));
    expect([error.statusCode, error.code]).toEqual([415, 'unsupported_content_type']);
    expect(error.message).toContain('Jotform sends multipart/form-data');
  });

  it('answers 413 too_many_fields for more parts than a form may send, multipart or urlencoded', async () => {
    const envelope = { formID: FORM_ID, submissionID: SUBMISSION_ID, rawRequest: '{}' };
    const form = new FormData();
    for (const [name, value] of Object.entries(envelope)) form.append(name, value);
    for (let i = 0; i < MAX_FORM_FIELDS; i += 1) form.append('pad', '1');
    const response = new Response(form);
    const body = Buffer.from(await response.arrayBuffer());
    const contentType = response.headers.get('content-type') ?? '';
    const urlencoded = `${new URLSearchParams(envelope).toString()}${'&a=1'.repeat(MAX_FORM_FIELDS)}`;
    const urlencodedType = { contentType: 'application/x-www-form-urlencoded' };
    const requests = [jotformRequest(body, { contentType }), jotformRequest(Buffer.from(urlencoded), urlencodedType)];
    for (const request of requests) {
      const error = await rejectionOf(request);
      expect([error.statusCode, error.code]).toEqual([413, 'too_many_fields']);
      const cap = MAX_FORM_FIELDS;
      expect(error.message).toBe(`the submission has more than ${cap} parts; a form may send at most ${cap}`);
    }
  });
});

describe('Function: jotformFields under the form caps', () => {
  it('answers 413 too_many_fields for more answers, list items or compound parts than MAX_FORM_FIELDS', () => {
    const answers = Object.fromEntries(Array.from({ length: MAX_FORM_FIELDS + 1 }, (_, i) => [`q${i}_a`, 'x']));
    const list = { q1_phones: Array.from({ length: MAX_FORM_FIELDS + 1 }, () => '1') };
    const name = Object.fromEntries(Array.from({ length: MAX_FORM_FIELDS + 1 }, (_, i) => [`p${i}`, 'x']));
    const parts = { q1_name: name };
    for (const rawRequest of [answers, list, parts]) {
      expect(() => jotformFields(rawRequest)).toThrow(WebhookRejectedError);
      expect(() => jotformFields(rawRequest)).toThrow(`more than ${MAX_FORM_FIELDS} answers`);
    }
    // Bookkeeping keys are no answers: they do not count.
    const bookkeeping = Object.fromEntries(Array.from({ length: MAX_FORM_FIELDS + 1 }, (_, i) => [`key${i}`, 'x']));
    const { fields } = jotformFields({ ...bookkeeping, q1_email: 'ada@example.com' });
    expect(fields).toEqual({ q1_email: 'ada@example.com', email: 'ada@example.com' });
  });
});

describe('Function: jotformFields', () => {
  it('keys answers by full key and bare name, flattens compound answers and leaves out bookkeeping', () => {
    const { fields, typed } = jotformFields(
      JSON.parse(rawRequestText('submission.rawRequest.json')) as Record<string, unknown>,
    );
    expect(fields).toEqual({
      q3_fullName: 'Ada Lovelace',
      fullName: 'Ada Lovelace',
      'q3_fullName.first': 'Ada',
      'fullName.first': 'Ada',
      'q3_fullName.last': 'Lovelace',
      'fullName.last': 'Lovelace',
      q4_email: 'ada@example.com',
      email: 'ada@example.com',
      q5_phoneNumber: '(415) 555-0132',
      phoneNumber: '(415) 555-0132',
      'q5_phoneNumber.full': '(415) 555-0132',
      'phoneNumber.full': '(415) 555-0132',
      q6_country: 'United States',
      country: 'United States',
      q7_howDid: ['Newsletter', 'A friend'],
      howDid: ['Newsletter', 'A friend'],
      q8_utm_source: 'spring-campaign',
      utm_source: 'spring-campaign',
    });
    expect(typed).toEqual({
      firstName: ['q3_fullName.first'],
      lastName: ['q3_fullName.last'],
      phone: ['q5_phoneNumber'],
    });
  });

  it('knows compound controls by their parts, whatever they are called', () => {
    const { fields, typed } = jotformFields(
      JSON.parse(rawRequestText('national-uk.rawRequest.json')) as Record<string, unknown>,
    );
    expect(fields).toMatchObject({
      q3_yourName: "Siobhán O'Brien",
      q5_contactNumber: '020 7946 0018',
      q9_address: '10 Downing Street, London, SW1A 2AA, United Kingdom',
      'address.country': 'United Kingdom',
    });
    expect(typed).toEqual({
      firstName: ['q3_yourName.first'],
      lastName: ['q3_yourName.last'],
      phone: ['q5_contactNumber'],
      country: ['q9_address.country'],
    });
  });

  it('reads the phone control with its country-code box as an international number', () => {
    expect(jotformFields({ q5_phone: { country: '44', area: '20', phone: '7946 0018' } }).fields['q5_phone']).toBe(
      '+44 20 7946 0018',
    );
  });
});

describe('Function: decodeEntities', () => {
  it("undoes Jotform's HTML escaping of answers", () => {
    expect(decodeEntities('O&#039;Brien &amp; &quot;Sons&quot; &lt;ltd&gt; &#x2019;&apos;')).toBe(
      'O\'Brien & "Sons" <ltd> ’\'',
    );
    expect(decodeEntities('&nbsp; &#99999999; & plain')).toBe('&nbsp; &#99999999; & plain');
  });
});

describe('Function: ingestWebhook with the Jotform source', () => {
  it("turns Jotform's webhook into a contact, the region coming from the country answer", async () => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(jotformRequest(fixture('submission.multipart')), jotformSource, deps);
    const eventKey = `jotform:${FORM_ID}:${SUBMISSION_ID}`;
    expect(answer).toEqual({ statusCode: 200, body: { status: 'accepted', eventKey } });
    expect(accept).toHaveBeenCalledTimes(1);
    expect(accept.mock.calls[0]?.[0]).toEqual({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      phones: [{ e164: '+14155550132' }],
      rejectedPhones: [],
      tags: ['jotform'],
      attributes: {},
      origin: {
        source: 'jotform',
        route: 'default',
        eventKey,
        occurredAt: now.toISOString(),
        personKey: 'ada@example.com',
      },
    });
  });

  it('takes the token from the X-Contact-Relay-Token header too', async () => {
    const { deps } = setup();
    const answer = await ingestWebhook(
      jotformRequest(fixture('submission.multipart'), { query: {}, headers: { 'x-contact-relay-token': 't' } }),
      jotformSource,
      deps,
    );
    expect(answer).toMatchObject(ACCEPTED);
  });

  it('answers 200 duplicate for a submission accepted before', async () => {
    const answer = await ingestWebhook(
      jotformRequest(fixture('submission.multipart')),
      jotformSource,
      setup('duplicate').deps,
    );
    expect(answer).toEqual({
      statusCode: 200,
      body: { status: 'duplicate', eventKey: `jotform:${FORM_ID}:${SUBMISSION_ID}` },
    });
  });

  it.each([
    ['no token', {}, 'missing_token'],
    ['a wrong token', { token: 'x' }, 'invalid_token'],
  ])('answers 401 for %s, before reading the body, and accepts nothing', async (_name, query, code) => {
    for (const body of [fixture('submission.multipart'), Buffer.from('not multipart at all')]) {
      const { accept, deps } = setup();
      const answer = await ingestWebhook(jotformRequest(body, { query }), jotformSource, deps);
      expect(answer.statusCode).toBe(401);
      expect(answer.body).toMatchObject({ error: { code } });
      expect(accept).not.toHaveBeenCalled();
    }
  });

  it('answers 400 for a malformed body that carries the right token', async () => {
    const { accept, deps } = setup();
    const answer = await ingestWebhook(jotformRequest(Buffer.from('not multipart at all')), jotformSource, deps);
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'malformed_body' } });
    expect(accept).not.toHaveBeenCalled();
  });

  it('answers 404 for an unknown route and never reads the secret', async () => {
    const { accept, sourceSecret, deps } = setup();
    const answer = await ingestWebhook(
      jotformRequest(fixture('submission.multipart'), { routeName: 'nope' }),
      jotformSource,
      deps,
    );
    expect(answer).toEqual({
      statusCode: 404,
      body: { error: { code: 'unknown_route', message: 'no route "nope" is configured for source "jotform"' } },
    });
    expect(accept).not.toHaveBeenCalled();
    expect(sourceSecret).not.toHaveBeenCalled();
  });

  it('reads a base64-encoded API Gateway body with the token in the query string', async () => {
    const { accept, deps } = setup();
    const event = {
      ...httpApiEvent(
        'jotform',
        'default',
        fixture('submission.multipart').toString('utf8'),
        { 'Content-Type': MULTIPART },
        true,
      ),
      queryStringParameters: { token: 't' },
    };
    const answer = await ingestWebhook(fromHttpApiEvent(event, 'jotform'), jotformSource, deps);
    expect(answer).toMatchObject(ACCEPTED);
    expect(accept).toHaveBeenCalledWith(
      expect.objectContaining({ emails: ['ada@example.com'] }),
      expect.anything(),
      `jotform:${FORM_ID}:${SUBMISSION_ID}`,
      undefined,
    );
  });

  it('accepts a submission without a phone on its email', async () => {
    const { accept, deps } = setup();
    const { body, contentType } = await variant('no-phone.rawRequest.json');
    expect(await ingestWebhook(jotformRequest(body, { contentType }), jotformSource, deps)).toMatchObject(ACCEPTED);
    expect(accept.mock.calls[0]?.[0]).toMatchObject({
      firstName: 'Grace',
      lastName: 'Hopper',
      emails: ['grace@example.com'],
      phones: [],
    });
  });

  it("makes a national number E.164 with the address control's country, and unescapes names", async () => {
    const { accept, deps } = setup();
    const { body, contentType } = await variant('national-uk.rawRequest.json');
    expect(await ingestWebhook(jotformRequest(body, { contentType }), jotformSource, deps)).toMatchObject(ACCEPTED);
    expect(accept.mock.calls[0]?.[0]).toMatchObject({
      firstName: 'Siobhán',
      lastName: "O'Brien",
      emails: ['siobhan@example.co.uk'],
      phones: [{ e164: '+442079460018' }],
    });
  });

  it('lets the route name the full name field by its q<N>_ key', async () => {
    const { accept, deps } = setup();
    const { body, contentType } = await variant('national-uk.rawRequest.json');
    expect(
      await ingestWebhook(jotformRequest(body, { contentType, routeName: 'uk' }), jotformSource, deps),
    ).toMatchObject(ACCEPTED);
    expect(accept.mock.calls[0]?.[0]).toMatchObject({ firstName: 'Siobhán', lastName: "O'Brien" });
  });

  it('skips a form whose field names nothing recognises, saying why', async () => {
    const { accept, deps } = setup();
    const { body, contentType } = await variant('renamed.rawRequest.json');
    const answer = await ingestWebhook(jotformRequest(body, { contentType }), jotformSource, deps);
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        status: 'skipped',
        reason: 'no usable email or phone: no email or phone field found',
        eventKey: `jotform:${FORM_ID}:5945194041717462999`,
      },
    });
    expect(accept).not.toHaveBeenCalled();
  });

  it('maps those fields once the route names them, by q<N>_ key or bare name', async () => {
    const { accept, deps } = setup();
    const { body, contentType } = await variant('renamed.rawRequest.json');
    expect(
      await ingestWebhook(jotformRequest(body, { contentType, routeName: 'de' }), jotformSource, deps),
    ).toMatchObject(ACCEPTED);
    expect(accept.mock.calls[0]?.[0]).toMatchObject({
      firstName: 'Lin',
      lastName: 'Wu',
      emails: ['lin@example.com'],
      phones: [{ e164: '+4930901820' }],
      tags: ['jotform', 'de-leads'],
      attributes: { kampagne: 'herbst' },
      origin: { source: 'jotform', route: 'de' },
    });
  });
});
