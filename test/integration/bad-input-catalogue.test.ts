/**
 * The bad-input catalogue: every bad input we handle, its exact answer, run
 * against the real functions of the local pipeline. README's "Bad input"
 * table is checked against CATALOGUE below, row for row, so neither can
 * drift from the other.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoutesConfig } from '../../shared/config/routes.js';
import { deliverContact } from '../../shared/delivery.js';
import { SecretStore } from '../../shared/secrets.js';
import { createHttpClient } from '../../shared/http.js';
import { findRoute, type ResolvedRoute } from '../../shared/config/routes.js';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { MAX_REJECTED_PHONES } from '../../shared/contact.js';
import { MAX_JOB_BYTES, parseDeliveryJob, type DeliveryJob } from '../../shared/jobs.js';
import { MAX_FIELD_CHARS, MAX_FORM_FIELDS } from '../../shared/sources/form.js';
import { MAX_BODY_BYTES } from '../../shared/webhook.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { testContact } from '../helpers/contacts.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MAX_CHANGES } from '../../shared/sources/meta-leads.js';
import { createDynamoStore } from '../../shared/store.js';
import { META_PAGE_ID, META_SECRET, SOURCE_SECRET, STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline();
});
afterAll(() => pipeline.close());

const order = readFileSync(new URL('../fixtures/shopify/orders-create-billing-phone.json', import.meta.url));
const sign = (body: Buffer | string, secret = SOURCE_SECRET.secret) =>
  createHmac('sha256', secret).update(body).digest('base64');
const shopifyHeaders = (body: Buffer | string, overrides: Record<string, string | undefined> = {}) =>
  Object.fromEntries(
    Object.entries({
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': 'jsmith.myshopify.com',
      'x-shopify-webhook-id': `wh-${Math.random()}`,
      'x-shopify-hmac-sha256': sign(body),
      ...overrides,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

type Answer = { statusCode: number; body: Record<string, unknown> };
const read = (result: APIGatewayProxyStructuredResultV2): Answer => ({
  statusCode: result.statusCode ?? 0,
  body: JSON.parse(result.body as string) as Record<string, unknown>,
});
const shops = async (body: Buffer | string, headers: Record<string, string>, route = 'default') =>
  read(await pipeline.shops(httpApiEvent('shopify', route, body.toString(), headers), lambdaContext()));
const forms = async (
  source: string,
  body: Buffer | string,
  headers: Record<string, string>,
  route = 'default',
  query = '',
) =>
  read(
    await pipeline.forms(
      {
        ...httpApiEvent(source, route, Buffer.from(body).toString('base64'), headers),
        isBase64Encoded: true,
        queryStringParameters: Object.fromEntries(new URLSearchParams(query)),
      },
      lambdaContext(),
    ),
  );

const count = (value: number) => value.toLocaleString('en');

/** A Meta Lead Ads webhook naming these leads of `pageId`, signed with the app secret as Meta signs. */
function metaWebhook(leadgenIds: string[], pageId = META_PAGE_ID) {
  const changes = leadgenIds.map((id) => ({
    field: 'leadgen',
    value: { leadgen_id: id, page_id: pageId, form_id: '1300000000000201', created_time: 1795255180 },
  }));
  const body = JSON.stringify({ object: 'page', entry: [{ id: pageId, time: 1795255181, changes }] });
  const signature = `sha256=${createHmac('sha256', META_SECRET.appSecret).update(body).digest('hex')}`;
  return { body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature } };
}

/**
 * Delivers the lead named by a Meta webhook with the real deliver function and returns the claim the 2Chat
 * account's outcome record now gives: the lead is queued through forms, taken off the queue and handed to
 * deliver, as the event source mapping would.
 */
async function deliverMetaLead(leadgenId: string, pageId = META_PAGE_ID) {
  const { body, headers } = metaWebhook([leadgenId], pageId);
  expect(await forms('meta-leads', body, headers)).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
  const eventKey = `meta-leads:${leadgenId}`;
  const { queueUrl, queueArn } = pipeline.resources;
  for (;;) {
    const receive = new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 });
    const { Messages = [] } = await pipeline.sqs.send(receive);
    if (Messages.length === 0) throw new Error(`no job for ${eventKey} on the queue`);
    const message = Messages.find((one) => parseDeliveryJob(one.Body ?? '').eventKey === eventKey);
    if (message === undefined) continue;
    const attributes = {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: '0',
    };
    const record = {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes,
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    };
    await pipeline.deliver({ Records: [record] }, lambdaContext('contact-relay-itest-deliver'));
    const credentials = { accessKeyId: 't', secretAccessKey: 't' };
    const client = new DynamoDBClient({ endpoint: pipeline.emulator.url, region: 'us-east-1', credentials });
    // A settled outcome comes back as it stands; a transient one is free to claim, as the next receive will.
    return createDynamoStore({ client, tableName: pipeline.resources.tableName }).claimOutcome(eventKey, 'twochat');
  }
}

/** The job a row's webhook put on the delivery queue (no poller runs here, so every job waits there). */
async function queuedJob(eventKey: unknown): Promise<DeliveryJob | undefined> {
  const seen: DeliveryJob[] = [];
  for (;;) {
    const { queueUrl } = pipeline.resources;
    const receive = new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 });
    const { Messages = [] } = await pipeline.sqs.send(receive);
    if (Messages.length === 0) return seen.find((job) => job.eventKey === eventKey);
    seen.push(...Messages.map((message) => parseDeliveryJob(message.Body ?? '')));
  }
}

interface Row {
  input: string;
  answer: string;
  check: () => Promise<void>;
}

/** The rows, in README order. `answer` is what README prints. */
const CATALOGUE: Row[] = [
  {
    input: 'missing signature',
    answer: '401 `missing_signature`',
    check: async () =>
      expect(await shops(order, shopifyHeaders(order, { 'x-shopify-hmac-sha256': undefined }))).toMatchObject({
        statusCode: 401,
        body: { error: { code: 'missing_signature' } },
      }),
  },
  {
    input: 'signature made with another secret',
    answer: '401 `invalid_signature`',
    check: async () =>
      expect(
        await shops(order, shopifyHeaders(order, { 'x-shopify-hmac-sha256': sign(order, 'wrong-secret') })),
      ).toMatchObject({ statusCode: 401, body: { error: { code: 'invalid_signature' } } }),
  },
  {
    input: 'body changed after signing',
    answer: '401 `invalid_signature`',
    check: async () => {
      const headers = shopifyHeaders(order);
      expect(await shops(Buffer.concat([order, Buffer.from(' ')]), headers)).toMatchObject({
        statusCode: 401,
        body: { error: { code: 'invalid_signature' } },
      });
    },
  },
  {
    input: 'required sender header missing (e.g. `X-Shopify-Topic`)',
    answer: '401 `missing_header`',
    check: async () =>
      expect(await shops(order, shopifyHeaders(order, { 'x-shopify-topic': undefined }))).toMatchObject({
        statusCode: 401,
        body: { error: { code: 'missing_header' } },
      }),
  },
  {
    input: 'missing or wrong token (Jotform, token routes)',
    answer: '401 `missing_token` / `invalid_token`',
    check: async () => {
      const body = 'formID=1&submissionID=2&rawRequest=%7B%7D';
      expect(await forms('jotform', body, { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({
        statusCode: 401,
        body: { error: { code: 'missing_token' } },
      });
      expect(
        await forms('jotform', body, { 'content-type': 'application/x-www-form-urlencoded' }, 'default', 'token=nope'),
      ).toMatchObject({ statusCode: 401, body: { error: { code: 'invalid_token' } } });
    },
  },
  {
    input: "Meta's subscription check with another verify token",
    answer: '403 `verification_failed`',
    check: async () => {
      const event = httpApiEvent('meta-leads', 'default', '', {});
      const query = { 'hub.mode': 'subscribe', 'hub.verify_token': 'a-guess', 'hub.challenge': '42' };
      const http = { ...event.requestContext.http, method: 'GET' };
      const get = { ...event, requestContext: { ...event.requestContext, http }, queryStringParameters: query };
      expect(read(await pipeline.forms(get, lambdaContext()))).toMatchObject({
        statusCode: 403,
        body: { error: { code: 'verification_failed' } },
      });
    },
  },
  {
    input: 'stale timestamp (Webflow, more than 5 minutes off)',
    answer: '401 `stale_timestamp`',
    check: async () => {
      const body = readFileSync(new URL('../fixtures/webflow/example.json', import.meta.url));
      const timestamp = String(Date.now() - 10 * 60_000);
      const signature = createHmac('sha256', SOURCE_SECRET.secret)
        .update(`${timestamp}:${body.toString()}`)
        .digest('hex');
      expect(
        await forms('webflow', body, {
          'content-type': 'application/json',
          'x-webflow-timestamp': timestamp,
          'x-webflow-signature': signature,
        }),
      ).toMatchObject({ statusCode: 401, body: { error: { code: 'stale_timestamp' } } });
    },
  },
  {
    input: "stale signature (Calendly's `t=`, or a custom route's timestamp header, beyond its tolerance)",
    answer: '401 `stale_signature`',
    check: async () => {
      const body = readFileSync(new URL('../fixtures/calendly/invitee-created.json', import.meta.url));
      const at = Math.floor(Date.now() / 1000) - 10 * 60;
      const signature = createHmac('sha256', SOURCE_SECRET.secret).update(`${at}.`).update(body).digest('hex');
      const headers = { 'content-type': 'application/json', 'calendly-webhook-signature': `t=${at},v1=${signature}` };
      expect(await forms('calendly', body, headers)).toMatchObject({
        statusCode: 401,
        body: { error: { code: 'stale_signature' } },
      });
    },
  },
  {
    input: 'malformed JSON under a valid signature',
    answer: '400 `malformed_body`',
    check: async () => {
      const body = '{"id": 1, "email":';
      expect(await shops(body, shopifyHeaders(body))).toMatchObject({
        statusCode: 400,
        body: { error: { code: 'malformed_body' } },
      });
    },
  },
  {
    input: 'malformed form body (a JSON form that is not an object)',
    answer: '400 `malformed_body`',
    check: async () =>
      expect(await forms('form', '["a", "b"]', { 'content-type': 'application/json' })).toMatchObject({
        statusCode: 400,
        body: { error: { code: 'malformed_body' } },
      }),
  },
  {
    input: 'malformed multipart (Jotform)',
    answer: '400 `malformed_body`',
    check: async () =>
      expect(
        await forms(
          'jotform',
          '--x\r\nbroken',
          { 'content-type': 'multipart/form-data; boundary=x' },
          'default',
          `token=${SOURCE_SECRET.token}`,
        ),
      ).toMatchObject({
        statusCode: 400,
        body: { error: { code: 'malformed_body' } },
      }),
  },
  {
    input: 'wrong content type',
    answer: '415 `unsupported_content_type`',
    check: async () =>
      expect(await forms('form', 'name=Ada', { 'content-type': 'text/plain' })).toMatchObject({
        statusCode: 415,
        body: { error: { code: 'unsupported_content_type' } },
      }),
  },
  {
    input: 'body over 256 KB',
    answer: '413 `body_too_large`',
    check: async () => {
      const body = JSON.stringify({ email: 'big@example.com', padding: 'x'.repeat(300 * 1024) });
      expect(await forms('form', body, { 'content-type': 'application/json' })).toMatchObject({
        statusCode: 413,
        body: { error: { code: 'body_too_large' } },
      });
    },
  },
  {
    input: `more than ${count(MAX_FORM_FIELDS)} fields or values in a submission (e.g. 60,000 repeats of a name)`,
    answer: '413 `too_many_fields`',
    check: async () => {
      const over = MAX_FORM_FIELDS + 1;
      const tooMany = { statusCode: 413, body: { error: { code: 'too_many_fields' } } };
      const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };
      const json = { 'content-type': 'application/json' };
      const repeats = Array.from({ length: 60_000 }, () => 'aa=1')
        .join('&')
        .slice(0, MAX_BODY_BYTES);
      expect(await forms('form', repeats, urlencoded)).toMatchObject(tooMany);
      const list = JSON.stringify({ email: 'ada@example.com', phone: Array.from({ length: over }, () => '1') });
      expect(await forms('form', list, json)).toMatchObject(tooMany);
      const jotform = `formID=1&submissionID=2&rawRequest=%7B%7D${'&pad=1'.repeat(over)}`;
      const token = `token=${SOURCE_SECRET.token}`;
      expect(await forms('jotform', jotform, urlencoded, 'default', token)).toMatchObject(tooMany);
      const field = (i: number) => ({ key: `k${i}`, label: 'Q', type: 'INPUT_TEXT', value: 'x' });
      const fields = Array.from({ length: over }, (_, i) => field(i));
      const data = { formId: 'f', fields };
      const tally = JSON.stringify({ eventId: 'catalogue-fields', eventType: 'FORM_RESPONSE', data });
      expect(await forms('tally', tally, { ...json, 'tally-signature': sign(tally) })).toMatchObject(tooMany);
      const answers = Object.fromEntries(Array.from({ length: over }, (_, i) => [`Question ${i}`, 'x']));
      const google = JSON.stringify({ formId: 'f1', responseId: 'r1', answers });
      const signed = { ...json, 'x-contact-relay-signature': `sha256=${sign(google)}` };
      expect(await forms('google-forms', google, signed)).toMatchObject(tooMany);
    },
  },
  {
    input: `more than ${count(MAX_CHANGES)} leads in one Meta Lead Ads webhook`,
    answer: '413 `too_many_changes`',
    check: async () => {
      const ids = Array.from({ length: MAX_CHANGES + 1 }, (_, index) => String(1500000000000000 + index));
      const { body, headers } = metaWebhook(ids);
      expect(await forms('meta-leads', body, headers)).toMatchObject({
        statusCode: 413,
        body: { error: { code: 'too_many_changes' } },
      });
    },
  },
  {
    input: `a form field name or value over ${count(MAX_FIELD_CHARS)} characters`,
    answer: '413 `field_too_long`',
    check: async () => {
      const body = `email=ada%40example.com&message=${'x'.repeat(MAX_FIELD_CHARS + 1)}`;
      const answer = await forms('form', body, { 'content-type': 'application/x-www-form-urlencoded' });
      expect(answer).toMatchObject({ statusCode: 413, body: { error: { code: 'field_too_long' } } });
    },
  },
  {
    input: `contact too large to queue once mapped (over ${MAX_JOB_BYTES / 1024} KiB)`,
    answer: '413 `job_too_large`',
    check: async () => {
      // A plain form's fields stop at MAX_FIELD_CHARS; a signed sender's name may fill the body, and the job
      // wraps it in more than the body did.
      const tally = (name: string) =>
        JSON.stringify({
          eventId: 'catalogue-job-too-large',
          eventType: 'FORM_RESPONSE',
          createdAt: '2026-11-21T10:00:00.000Z',
          data: {
            responseId: 'r',
            formId: 'f',
            fields: [
              { key: 'k1', label: 'First name', type: 'INPUT_TEXT', value: name },
              { key: 'k2', label: 'Email', type: 'INPUT_EMAIL', value: 'big@example.com' },
            ],
          },
        });
      const body = tally('x'.repeat(MAX_BODY_BYTES - tally('').length));
      expect(body.length).toBe(MAX_BODY_BYTES);
      const answer = await forms('tally', body, { 'content-type': 'application/json', 'tally-signature': sign(body) });
      expect(answer).toMatchObject({ statusCode: 413, body: { error: { code: 'job_too_large' } } });
    },
  },
  {
    input: 'duplicate delivery (same event key)',
    answer: '200 `duplicate`',
    check: async () => {
      const headers = shopifyHeaders(order, { 'x-shopify-event-id': 'catalogue-duplicate' });
      expect(await shops(order, headers)).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
      expect(await shops(order, headers)).toMatchObject({ statusCode: 200, body: { status: 'duplicate' } });
    },
  },
  {
    input: 'unknown route',
    answer: '404 `unknown_route` (Typeform: 400)',
    check: async () => {
      expect(await shops(order, shopifyHeaders(order), 'nope')).toMatchObject({
        statusCode: 404,
        body: { error: { code: 'unknown_route' } },
      });
      const typeform = readFileSync(new URL('../fixtures/typeform/example.json', import.meta.url));
      expect(
        await forms(
          'typeform',
          typeform,
          { 'content-type': 'application/json', 'typeform-signature': `sha256=${sign(typeform)}` },
          'nope',
        ),
      ).toMatchObject({ statusCode: 400, body: { error: { code: 'unknown_route' } } });
    },
  },
  {
    input: 'topic or event that carries no contact',
    answer: '200 `ignored`',
    check: async () =>
      expect(await shops(order, shopifyHeaders(order, { 'x-shopify-topic': 'orders/fulfilled' }))).toMatchObject({
        statusCode: 200,
        body: { status: 'ignored' },
      }),
  },
  {
    input: 'payload without contact details',
    answer: '200 `skipped` with the reason',
    check: async () => {
      const body = readFileSync(new URL('../fixtures/shopify/orders-create-no-contact.json', import.meta.url));
      expect(await shops(body, shopifyHeaders(body))).toMatchObject({
        statusCode: 200,
        body: { status: 'skipped', reason: expect.stringContaining('no usable email or phone') as string },
      });
    },
  },
  {
    input: 'invalid phone (and no other contact detail)',
    answer: '200 `skipped`, the reason naming the phone and why',
    check: async () =>
      expect(
        await forms('form', JSON.stringify({ name: 'Ada', phone: '+1 415 555' }), {
          'content-type': 'application/json',
        }),
      ).toMatchObject({
        statusCode: 200,
        body: { status: 'skipped', reason: expect.stringContaining('phone number is too short') as string },
      }),
  },
  {
    input: 'invalid phone next to a valid email',
    answer: '200 `accepted`; providers that need a phone (Kirim, Callbell) record `skipped`',
    check: async () => {
      const form = JSON.stringify({ name: 'Ada', email: 'ada@example.com', phone: '+1 415 555' });
      const answer = await forms('form', form, { 'content-type': 'application/json' });
      expect(answer).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
      const route = findRoute(
        parseRoutesConfig({
          accounts: { kirim: { provider: 'kirim' } },
          sources: { form: { default: { deliverTo: ['kirim'] } } },
        }),
        'form',
        'default',
      ) as ResolvedRoute;
      const [outcome] = await deliverContact(
        testContact({ phones: [], rejectedPhones: [{ input: '12', reason: 'phone number is too short' }] }),
        route,
        providerContext(),
      );
      expect(outcome).toMatchObject({ status: 'skipped', reason: expect.stringContaining('phone') as string });
    },
  },
  {
    input: 'text holding characters SQS refuses (U+FFFF, control characters, a lone surrogate)',
    answer: '200 `accepted`; control characters and noncharacters removed, a lone surrogate made U+FFFD',
    check: async () => {
      const fields = { first_name: 'Ada\uFFFF\u0001', last_name: 'Love\ud83dlace', email: 'ada@example.com' };
      const form = JSON.stringify(fields);
      const answer = await forms('form', form, { 'content-type': 'application/json' });
      expect(answer).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
      const job = await queuedJob(answer.body['eventKey']);
      expect(job !== undefined && 'contact' in job ? job.contact : undefined).toMatchObject({
        firstName: 'Ada',
        lastName: 'Love\uFFFDlace',
      });
    },
  },
  {
    input: 'more phones, emails, tags or attributes than a contact keeps (e.g. 500 phones)',
    answer: '200 `accepted`, keeping the first 10 phones, 10 emails, 20 tags and 50 attributes',
    check: async () => {
      const phone = Array.from({ length: 500 }, () => '1');
      const form = JSON.stringify({ name: 'Ada', email: 'ada@example.com', phone });
      const answer = await forms('form', form, { 'content-type': 'application/json' });
      expect(answer).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
      const job = await queuedJob(answer.body['eventKey']);
      expect(job !== undefined && 'contact' in job ? job.contact.rejectedPhones : []).toHaveLength(MAX_REJECTED_PHONES);
    },
  },
  {
    input: 'invalid route config',
    answer: '`npm start`, `osls package` and cold start fail naming the field',
    check: async () =>
      expect(() =>
        parseRoutesConfig({ accounts: {}, sources: { form: { default: { deliverTo: ['ghost'] } } } }),
      ).toThrow('sources.form.default.deliverTo[0]: unknown account "ghost"'),
  },
  {
    input: 'missing or malformed source secret',
    answer: '500 `internal_error`, naming no stage or secret; the log line names it (the sender retries)',
    check: async () => {
      // Typeform: no row above reads its secret, so no warm cache still holds the good one.
      pipeline.emulator.state.secrets.set(`contact-relay/${STAGE}/source/typeform`, JSON.stringify({ wrong: 'shape' }));
      const body = readFileSync(new URL('../fixtures/typeform/example.json', import.meta.url));
      // Unsigned: anyone can send this, and learns nothing of the stage or its secrets.
      const answer = await forms('typeform', body, { 'content-type': 'application/json' });
      const message = 'the webhook could not be processed; try again later';
      expect(answer).toEqual({ statusCode: 500, body: { error: { code: 'internal_error', message } } });
    },
  },
  {
    input: 'missing or malformed provider secret',
    answer: 'delivery outcome `transient` naming the secret; the job is retried, then dead-lettered',
    check: async () => {
      const route = findRoute(
        parseRoutesConfig({
          accounts: { ghost: { provider: 'twochat' } },
          sources: { form: { default: { deliverTo: ['ghost'] } } },
        }),
        'form',
        'default',
      ) as ResolvedRoute;
      const [outcome] = await deliverContact(testContact(), route, providerContext());
      expect(outcome).toMatchObject({
        status: 'transient',
        message: expect.stringContaining(`secret "contact-relay/${STAGE}/provider/ghost" does not exist`) as string,
      });
    },
  },
  {
    input: 'a Meta lead the Graph API refuses to give (an expired or revoked Page token, error 190)',
    answer: 'delivery outcome `failed` with code `meta_token_invalid`, naming the secret, the Page and the fix',
    check: async () => {
      const lead = {
        id: '1500000000000901',
        created_time: '2026-11-21T09:59:40+0000',
        field_data: [{ name: 'email', values: ['lin@example.com'] }],
        page_id: META_PAGE_ID,
      };
      const post = (path: string, body: unknown) =>
        fetch(`${pipeline.emulator.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post('/_emulator/meta/leads', lead)).status).toBeLessThan(300);
      expect((await post('/_emulator/faults', { provider: 'meta', code: 190, times: 2 })).status).toBeLessThan(300);
      const claim = await deliverMetaLead(lead.id);
      expect(claim).toMatchObject({ kind: 'settled', outcome: { status: 'failed', code: 'meta_token_invalid' } });
      const message = claim.kind === 'settled' && claim.outcome.status === 'failed' ? claim.outcome.message : '';
      expect(message).toContain(`contact-relay/${STAGE}/source/meta-leads`);
      // The table keeps what logs keep: a run of digits as long as a phone number is masked, the Page's
      // last digits stay (the operator finds it among the secret's pageAccessTokens).
      expect(message).toContain(`page ${'*'.repeat(META_PAGE_ID.length - 2)}${META_PAGE_ID.slice(-2)} in secret`);
      expect(message).toMatch(/put a new long-lived page access token into "pageAccessTokens"/);
    },
  },
  {
    input: 'a Meta lead of a Page the secret has no token for',
    answer:
      'delivery outcome `transient` (`meta_page_token_missing`); retried, dead-lettered, delivered by redrive once the token is added',
    check: async () => {
      const claim = await deliverMetaLead('1500000000000902', '100000000000777');
      // Transient: the account is free to claim again, as the queue's next receive will; Graph was never asked.
      expect(claim.kind).toBe('claimed');
      const asked = pipeline.emulator.state.requests.filter(
        (request) => request.provider === 'meta' && request.path.includes('1500000000000902'),
      );
      expect(asked).toHaveLength(0);
    },
  },
];

function providerContext() {
  const client = new SecretsManagerClient({
    endpoint: pipeline.emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  });
  return {
    stage: STAGE,
    secrets: new SecretStore({ client }),
    http: createHttpClient(),
    baseUrls: { kirim: `${pipeline.emulator.url}/kirim`, twochat: `${pipeline.emulator.url}/twochat` },
  };
}

describe('Bad-input catalogue', () => {
  for (const row of CATALOGUE) it(`${row.input} → ${row.answer}`, row.check);

  it('README lists exactly these rows with these answers', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('## Bad input');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const rows = section
      .split('\n')
      .filter((line) => line.startsWith('| ') && !line.startsWith('| bad input') && !line.startsWith('|---'))
      .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| |\s\|$/g, '').trim()));
    expect(rows.map(([input, answer]) => ({ input, answer }))).toEqual(
      CATALOGUE.map(({ input, answer }) => ({ input, answer })),
    );
  });
});
