/**
 * Hostile inputs, in a process of its own (bundled like a function): bodies
 * an attacker can send to a public URL, each at the 256 KB body limit or at
 * a parser's cap, through the path a request takes in the forms function —
 * API Gateway event → adapter → `ingestWebhook` (verify, parse, map) → result
 * — with an `accept` that resolves at once, so only our own compute is timed.
 * The first call runs in a fresh heap with cold code, as in a new container;
 * then `runs` more. Each case reports its answer, so a case that stops being
 * refused shows in the table.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { fromHttpApiEvent, toHttpApiResult } from '../../shared/adapters/http-api.js';
import { parseRoutesConfig } from '../../shared/config/routes.js';
import type { SourceName } from '../../shared/contact.js';
import { ingestWebhook, type Source } from '../../shared/ingest.js';
import { formSource } from '../../shared/sources/form.js';
import { jotformSource } from '../../shared/sources/jotform.js';
import { tallySource } from '../../shared/sources/tally.js';
import { MAX_BODY_BYTES } from '../../shared/webhook.js';
import { reportResult } from '../lib/children.js';
import { median } from '../lib/stats.js';

interface Input {
  /** Timed calls after the first. */
  runs: number;
}

export interface HostileCase {
  id: string;
  label: string;
  bytes: number;
  /** `413 too_many_fields`, `200 accepted`, … */
  answer: string;
  firstMs: number;
  medianMs: number;
  maxMs: number;
}

const input = JSON.parse(readFileSync(process.env['BENCH_INPUT'] as string, 'utf8')) as Input;
const routes = parseRoutesConfig(routesFile);
const quiet = { info() {}, warn() {}, error() {} };
const SECRET = { secret: 'bench-hostile-signing-secret', token: 'bench-hostile-token' };
const deps = {
  routes,
  accept: () => Promise.resolve('accepted' as const),
  sourceSecret: () => Promise.resolve(SECRET),
  logger: quiet,
};

/** `count` pairs of `name=<digits>` filling exactly `bytes`: the first pairs take one digit more. */
function repeatedPairs(name: string, count: number, bytes: number): string {
  const shortest = count * (name.length + 2) + (count - 1);
  const longer = bytes - shortest;
  if (longer < 0 || longer > count) throw new Error(`${count} pairs of "${name}" cannot fill ${bytes} bytes`);
  return Array.from({ length: count }, (_, i) => `${name}=${i < longer ? '12' : '1'}`).join('&');
}

function event(source: SourceName, body: Buffer, headers: Record<string, string>, query: Record<string, string> = {}) {
  return {
    version: '2.0',
    routeKey: `POST /hooks/${source}/{route}`,
    rawPath: `/hooks/${source}/default`,
    rawQueryString: new URLSearchParams(query).toString(),
    headers,
    queryStringParameters: query,
    pathParameters: { route: 'default' },
    // API Gateway base64-encodes bodies it does not take for text: the costlier path.
    body: body.toString('base64'),
    isBase64Encoded: true,
    requestContext: { http: { method: 'POST', path: `/hooks/${source}/default`, sourceIp: '198.51.100.7' } },
  } as unknown as APIGatewayProxyEventV2;
}

async function answer(source: Source, request: APIGatewayProxyEventV2): Promise<string> {
  const result = toHttpApiResult(await ingestWebhook(fromHttpApiEvent(request, source.name), source, deps));
  const body = JSON.parse(result.body as string) as { status?: string; error?: { code: string } };
  return `${result.statusCode} ${body.error?.code ?? body.status}`;
}

async function measure(id: string, label: string, source: Source, request: APIGatewayProxyEventV2) {
  const bytes = Buffer.from(request.body ?? '', 'base64').length;
  let started = performance.now();
  const given = await answer(source, request);
  const firstMs = performance.now() - started;
  const times = [firstMs];
  for (let run = 0; run < input.runs; run += 1) {
    started = performance.now();
    await answer(source, request);
    times.push(performance.now() - started);
  }
  return { id, label, bytes, answer: given, firstMs, medianMs: median(times), maxMs: Math.max(...times) };
}

const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };
const json = { 'content-type': 'application/json' };
const count = (n: number) => n.toLocaleString('en');

/** A Tally form response with these fields, signed with the route's secret. */
function signedTally(fields: unknown[]): APIGatewayProxyEventV2 {
  const data = { responseId: 'r', formId: 'f', fields };
  const body = Buffer.from(JSON.stringify({ eventId: 'bench-hostile', eventType: 'FORM_RESPONSE', data }));
  const signature = createHmac('sha256', SECRET.secret).update(body).digest('base64');
  return event('tally', body, { ...json, 'tally-signature': signature });
}

// The case of the issue: one name repeated 60,000 times in a 256 KB body, to the open default form route.
const repeats = event('form', Buffer.from(repeatedPairs('a', 60_000, MAX_BODY_BYTES)), urlencoded);

// One JSON list filling the body.
const items = Math.floor((MAX_BODY_BYTES - '{"phone":[]}'.length + 1) / 4);
const list = event('form', Buffer.from(JSON.stringify({ phone: Array.from({ length: items }, () => '1') })), json);

// At the cap: 1,000 distinct valid phones, every one normalised; the heaviest form still taken.
const phones = Array.from({ length: 1000 }, (_, i) => `phone=%2B1415555${String(i).padStart(4, '0')}`).join('&');
const atCap = event('form', Buffer.from(phones), urlencoded);

// Jotform's multipart envelope padded with tiny parts to the body limit, with the right token.
const boundary = 'bench-hostile';
const part = (name: string, value: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const envelope = part('formID', '1') + part('submissionID', '2') + part('rawRequest', '{}');
const close = `--${boundary}--\r\n`;
const parts = Math.floor((MAX_BODY_BYTES - envelope.length - close.length) / part('p', '1').length);
const multipart = Buffer.from(`${envelope}${part('p', '1').repeat(parts)}${close}`);
const multipartType = { 'content-type': `multipart/form-data; boundary=${boundary}` };
const jotform = event('jotform', multipart, multipartType, { token: SECRET.token });

// Tally at the cap, signed: 1,000 phone answers none of which is a number, so every one is read.
const phoneAnswer = (i: number) => ({ key: `k${i}`, label: 'Phone', type: 'INPUT_PHONE_NUMBER', value: `+1 55${i}` });
const badPhones = signedTally(Array.from({ length: 1000 }, (_, i) => phoneAnswer(i)));

// Tally, signed: one email answer listing distinct addresses near the body limit (each checked and kept once).
const emails = 18_000;
const addresses = Array.from({ length: emails }, (_, i) => `e${i}@x.co`);
const emailList = signedTally([{ key: 'k', label: 'Email', type: 'INPUT_EMAIL', value: addresses }]);

const cases: HostileCase[] = [];
cases.push(await measure('form-repeats', 'form, urlencoded: 60,000 repeats of one name', formSource, repeats));
cases.push(await measure('form-json-list', `form, JSON: one list of ${count(items)} phones`, formSource, list));
cases.push(await measure('form-at-cap', 'form, urlencoded: 1,000 valid phones (at the cap)', formSource, atCap));
cases.push(await measure('jotform-parts', `Jotform, multipart: ${count(parts)} parts`, jotformSource, jotform));
const atCapLabel = 'Tally, signed: 1,000 phone answers, none valid (at the cap)';
cases.push(await measure('tally-at-cap', atCapLabel, tallySource, badPhones));
const listLabel = `Tally, signed: one answer listing ${count(emails)} emails`;
cases.push(await measure('tally-email-list', listLabel, tallySource, emailList));

reportResult({ cases, runs: input.runs, node: process.version });
