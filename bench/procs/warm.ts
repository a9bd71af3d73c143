/**
 * Warm per-event compute, in a process of its own (bundled like a function):
 * verify + parse + validate + map — the source's `read` through
 * `ingestWebhook`, with an `accept` that resolves at once and the signing
 * secret already cached — next to the floor, HMAC-SHA256 and JSON.parse of
 * the same bytes; for the Typeform response the floor also parses its phone
 * once with libphonenumber-js, as any reader that normalises it must. Also
 * the secrets cache over 1,000 warm invocations on a
 * simulated clock (one GetSecretValue per secret per TTL).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parsePhoneNumberWithError } from 'libphonenumber-js';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../shared/config/routes.js';
import { ingestWebhook, type Source } from '../../shared/ingest.js';
import { normalisePhone } from '../../shared/phone.js';
import { DEFAULT_SECRET_TTL_MS, SecretStore } from '../../shared/secrets.js';
import { shopifySource } from '../../shared/shopify/webhook.js';
import { mapTypedFields } from '../../shared/sources/fields.js';
import { TypeformWebhookSchema, typeformFields, typeformSource } from '../../shared/sources/typeform.js';
import * as z from '../../shared/zod.js';
import type { WebhookRequest } from '../../shared/webhook.js';
import { reportResult } from '../lib/children.js';
import { shopifyHeaders, SOURCE_SECRETS, typeformHeaders } from '../lib/fixtures.js';
import { median } from '../lib/stats.js';

interface Input {
  shopifyBody: string;
  typeformBody: string;
  /** Time spent measuring each case, after the warm-up. */
  measureMs: number;
}

const input = JSON.parse(readFileSync(process.env['BENCH_INPUT'] as string, 'utf8')) as Input;
const routes = parseRoutesConfig(routesFile);
const quiet = { info() {}, warn() {}, error() {} };

function request(source: 'shopify' | 'typeform', body: string, headers: Record<string, string>): WebhookRequest {
  return { source, routeName: 'default', headers, query: {}, rawBody: Buffer.from(body, 'utf8') };
}

function deps(secret: string) {
  const cached = Promise.resolve({ secret });
  return { routes, accept: () => Promise.resolve('accepted' as const), sourceSecret: () => cached, logger: quiet };
}

interface CaseResult {
  medianUs: number;
  eventsPerSecond: number;
  samples: number;
}

/** Per-call times of `fn` (µs): a warm-up, then as many calls as fit in `measureMs`. */
async function measure(fn: () => unknown | Promise<unknown>): Promise<CaseResult> {
  const warmUntil = performance.now() + Math.min(500, input.measureMs / 2);
  while (performance.now() < warmUntil) await fn();
  const samples: number[] = [];
  const until = performance.now() + input.measureMs;
  const started = performance.now();
  while (performance.now() < until && samples.length < 200_000) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const elapsed = performance.now() - started;
  return { medianUs: median(samples), eventsPerSecond: samples.length / (elapsed / 1000), samples: samples.length };
}

/** `phone`: the floor also parses this number (the payload's own) to E.164 with libphonenumber-js. */
async function compute(source: Source, req: WebhookRequest, secret: string, phone?: string) {
  const d = deps(secret);
  const answer = await ingestWebhook(req, source, d);
  if (answer.statusCode !== 200 || !('status' in answer.body) || answer.body.status !== 'accepted') {
    throw new Error(`${source.name}: expected 200 accepted, got ${answer.statusCode} ${JSON.stringify(answer.body)}`);
  }
  const ours = await measure(() => ingestWebhook(req, source, d));
  const floor = await measure(async () => {
    createHmac('sha256', secret).update(req.rawBody).digest();
    const body = JSON.parse(req.rawBody.toString('utf8')) as unknown;
    return phone === undefined ? body : parsePhoneNumberWithError(phone).number;
  });
  return { bytes: req.rawBody.length, phone, ours, floor, ratio: ours.medianUs / floor.medianUs };
}

/** The phone a Typeform response answers with, as the sender wrote it. */
function typeformPhone(body: string): string {
  const { form_response } = JSON.parse(body) as { form_response: { answers: Array<{ phone_number?: string }> } };
  const phone = form_response.answers.find((answer) => answer.phone_number !== undefined)?.phone_number;
  if (phone === undefined) throw new Error('the Typeform fixture answers no phone_number: the floor needs one');
  return phone;
}

async function secretsOverTtl() {
  let calls = 0;
  let clock = 0;
  const client = {
    send: async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { SecretString: JSON.stringify({ secret: 'x' }) };
    },
  };
  const store = new SecretStore({ client: client as never, ttlMs: DEFAULT_SECRET_TTL_MS, now: () => clock });
  const names = ['a', 'b', 'c', 'd'].map((n) => `contact-relay/bench/provider/${n}`);
  const schema = z.object({ secret: z.string() });
  // A cold container with 10 records in flight at once: in-flight reads are shared.
  await Promise.all(Array.from({ length: 10 }, () => Promise.all(names.map((name) => store.get(name, schema)))));
  const coldCalls = calls;
  // 1,000 warm invocations one second apart, each reading every secret.
  const invocations = 1000;
  const spacingMs = 1000;
  for (let i = 1; i < invocations; i++) {
    clock += spacingMs;
    await Promise.all(names.map((name) => store.get(name, schema)));
  }
  const spanMs = (invocations - 1) * spacingMs;
  const expected = names.length * Math.ceil((spanMs + 1) / DEFAULT_SECRET_TTL_MS);
  return {
    secrets: names.length,
    invocations,
    spacingMs,
    ttlMs: DEFAULT_SECRET_TTL_MS,
    coldConcurrentReads: 10,
    coldCalls,
    calls,
    expected,
  };
}

const shopify = await compute(
  shopifySource,
  request('shopify', input.shopifyBody, shopifyHeaders(input.shopifyBody, 'evt-warm')),
  SOURCE_SECRETS.shopify,
);
const typeform = await compute(
  typeformSource,
  request('typeform', input.typeformBody, typeformHeaders(input.typeformBody)),
  SOURCE_SECRETS.typeform,
  typeformPhone(input.typeformBody),
);

/**
 * The Typeform path step by step on the same response, each step alone: where its time goes, for the bench to say
 * what bounds the target.
 */
async function typeformSteps(body: string, phone: string) {
  const route = findRoute(routes, 'typeform', 'default') as ResolvedRoute;
  const parsed = JSON.parse(body) as unknown;
  const webhook = TypeformWebhookSchema.parse(parsed);
  const fields = typeformFields(webhook.form_response);
  const now = new Date();
  const options = { source: 'typeform' as const, eventKey: 'typeform:bench', now, occurredAt: undefined };
  return {
    validate: await measure(() => TypeformWebhookSchema.safeParse(parsed)),
    fields: await measure(() => typeformFields(webhook.form_response)),
    mapWithPhone: await measure(() => mapTypedFields(fields, route, options)),
    phone: await measure(() => normalisePhone(phone, { defaultRegion: route.defaultRegion })),
  };
}

const typeformPhoneNumber = typeformPhone(input.typeformBody);
const typeformParts = await typeformSteps(input.typeformBody, typeformPhoneNumber);
const phone = await measure(() => normalisePhone('(415) 555-0132', { country: 'US' }));
const secrets = await secretsOverTtl();
reportResult({ shopify, typeform: { ...typeform, steps: typeformParts }, phone, secrets, node: process.version });
