/**
 * Meta Lead Ads (Facebook and Instagram): `GET` and `POST /hooks/meta-leads/{route}`.
 *
 * The `GET` is Meta's subscription check: `hub.mode=subscribe`, the route's
 * verify token in `hub.verify_token`, and a `hub.challenge` echoed back as
 * the body (https://developers.facebook.com/docs/graph-api/webhooks/getting-started,
 * "Verification Requests").
 *
 * The `POST` carries `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
 * body>` keyed with the app secret (same page, "Validating Payloads") and a
 * Page notification whose `leadgen` changes name each lead by id only:
 * `{object:"page", entry:[{id, time, changes:[{field:"leadgen", value:{leadgen_id, page_id, form_id,
 * adgroup_id, ad_id, created_time}}]}]}`
 * (https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-leadgen).
 * Each lead becomes its own event, keyed by its `leadgen_id`; the person's
 * answers are read from the Graph API at delivery (meta-graph.ts), so Meta
 * gets its 200 without waiting for the Graph API.
 */
import type { Source } from '../ingest.js';
import type { MetaLeadReference } from '../leads.js';
import type { ResolvedRoute } from '../config/routes.js';
import { SecretFormatError, sourceSecretName } from '../secrets.js';
import { constantTimeEqual, requireHmac } from '../signatures.js';
import * as z from '../zod.js';
import { formatPath } from '../validation.js';
import { checkBodySize, WebhookRejectedError, type WebhookRequest } from '../webhook.js';
import { checkBody, readJsonBody } from './fields.js';
import { isoTime } from './mapping.js';

export const SIGNATURE_HEADER = 'x-hub-signature-256';
const SIGNATURE_PREFIX = 'sha256=';

/**
 * Changes one webhook may carry. Meta aggregates event notifications into batches of at most 1,000 updates
 * (https://developers.facebook.com/docs/graph-api/webhooks/getting-started, "Event Notifications"): a body
 * with more is no delivery of Meta's, and each lead is a queue write, so it is refused before any is accepted.
 */
export const MAX_CHANGES = 1000;

/**
 * What a challenge may hold. Meta documents it as an int; Assumption: it stays a short run of URL-safe
 * characters, so anything else (markup, a megabyte of text) is never echoed back.
 */
const CHALLENGE = /^[A-Za-z0-9._~-]{1,256}$/;

/**
 * Graph ids as the body gives them. Meta's own example shows them as JSON numbers and real deliveries as
 * strings; ad ids pass 2^53, so numbers are read from the text (quoteIntegers) and kept digit for digit.
 */
const GraphId = z.string().check(z.regex(/^\d{1,32}$/, 'must be a numeric id'));
const OptionalId = z.nullish(GraphId);

const EnvelopeSchema = z.object({ object: z.string() });

const NotificationSchema = z.object({
  object: z.literal('page'),
  entry: z.array(
    z.object({
      id: OptionalId,
      changes: z.nullish(z.array(z.object({ field: z.string(), value: z.unknown() }))),
    }),
  ),
});

const LeadgenValueSchema = z.object({
  leadgen_id: GraphId,
  page_id: OptionalId,
  form_id: OptionalId,
  ad_id: OptionalId,
  adgroup_id: OptionalId,
  created_time: z.optional(z.unknown()),
});

/**
 * The JSON text with every integer literal outside a string written as a string, so JSON.parse keeps ids
 * past 2^53 exactly (JSON.parse's source-text reviver is Node 21+ and untyped in TypeScript's lib). Only for text that
 * already parsed as JSON: a well-formed number token is then a run of `-0123456789.eE+`. Linear in the text.
 */
export function quoteIntegers(text: string): string {
  const parts: string[] = [];
  let copied = 0;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === 0x22) {
      // A string: skip to its closing quote, stepping over escapes.
      index += 1;
      while (index < text.length && text.charCodeAt(index) !== 0x22) index += text.charCodeAt(index) === 0x5c ? 2 : 1;
      index += 1;
    } else if (code === 0x2d || (code >= 0x30 && code <= 0x39)) {
      let end = index + 1;
      while (end < text.length && isNumberCharacter(text.charCodeAt(end))) end += 1;
      const token = text.slice(index, end);
      if (/^-?\d+$/.test(token)) {
        parts.push(text.slice(copied, index), `"${token}"`);
        copied = end;
      }
      index = end;
    } else index += 1;
  }
  parts.push(text.slice(copied));
  return parts.join('');
}

function isNumberCharacter(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x65 || code === 0x45 || code === 0x2b || code === 0x2d
  );
}

/**
 * `created_time` as ISO 8601: Meta sends Unix seconds; an ISO string is taken too. Anything else is left
 * out rather than refused: delivery reads the lead's own `created_time` from the Graph API anyway.
 */
function leadTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (/^\d{1,12}$/.test(value)) return new Date(Number(value) * 1000).toISOString();
  return isoTime(value);
}

const metaLeadEventKey = (leadgenId: string) => `meta-leads:${leadgenId}`;

/** The secret's name for messages; the stage is not known at ingest, so it stays a placeholder. */
function secretNameOf(route: ResolvedRoute): string {
  return route.secretName ?? sourceSecretName('{stage}', 'meta-leads');
}

const refuseCheck = (message: string) => new WebhookRejectedError(403, 'verification_failed', message);

/** The body's leads, one per `leadgen` change (the first of any repeated `leadgen_id`), or why there is none. */
function readLeadgenNotification(request: WebhookRequest): { leads: MetaLeadReference[] } | { ignored: string } {
  const body = readJsonBody(request, 'Meta Lead Ads');
  const envelope = checkBody(EnvelopeSchema, body, 'Meta Lead Ads');
  if (envelope.object !== 'page') return { ignored: `Meta webhook object "${envelope.object}" carries no Page leads` };
  // Parsed again with integers as strings: only now are ids read.
  const notification = checkBody(
    NotificationSchema,
    JSON.parse(quoteIntegers(request.rawBody.toString('utf8'))),
    'Meta Lead Ads',
  );
  const changeCount = notification.entry.reduce((count, entry) => count + (entry.changes?.length ?? 0), 0);
  if (changeCount > MAX_CHANGES) {
    const message = `the webhook carries ${changeCount} changes; Meta sends at most ${MAX_CHANGES} in one`;
    throw new WebhookRejectedError(413, 'too_many_changes', message);
  }

  const leads: MetaLeadReference[] = [];
  const seen = new Set<string>();
  notification.entry.forEach((entry, entryIndex) => {
    (entry.changes ?? []).forEach((change, changeIndex) => {
      if (change.field !== 'leadgen') return;
      const where = `entry[${entryIndex}].changes[${changeIndex}].value`;
      const parsed = LeadgenValueSchema.safeParse(change.value);
      if (!parsed.success) {
        const at = ['entry', entryIndex, 'changes', changeIndex, 'value'];
        const problems = parsed.error.issues
          .map((issue) => `${formatPath([...at, ...issue.path])}: ${issue.message}`)
          .join('; ');
        throw new WebhookRejectedError(400, 'malformed_body', `body is not a Meta Lead Ads webhook: ${problems}`);
      }
      const value = parsed.data;
      // The entry is the Page the change happened on, so its id stands in for a missing page_id.
      const pageId = value.page_id ?? entry.id;
      if (pageId === null || pageId === undefined) {
        const problem = `${where}.page_id is missing and so is entry[${entryIndex}].id`;
        throw new WebhookRejectedError(400, 'malformed_body', `body is not a Meta Lead Ads webhook: ${problem}`);
      }
      if (seen.has(value.leadgen_id)) return;
      seen.add(value.leadgen_id);
      const createdAt = leadTime(value.created_time);
      leads.push({
        kind: 'meta-lead',
        leadgenId: value.leadgen_id,
        pageId,
        ...(value.form_id ? { formId: value.form_id } : {}),
        ...(value.ad_id ? { adId: value.ad_id } : {}),
        ...(value.adgroup_id ? { adgroupId: value.adgroup_id } : {}),
        ...(createdAt !== undefined ? { createdAt } : {}),
      });
    });
  });
  if (leads.length === 0) return { ignored: 'the Meta webhook has no leadgen change' };
  return { leads };
}

export const metaLeadsSource: Source = {
  name: 'meta-leads',
  unknownRouteStatus: 404,

  async subscription(request, route, context) {
    const mode = request.query['hub.mode'];
    if (mode !== 'subscribe') {
      throw refuseCheck(
        mode === undefined ? 'hub.mode is missing; Meta sends "subscribe"' : 'hub.mode must be "subscribe"',
      );
    }
    const challenge = request.query['hub.challenge'];
    if (challenge === undefined || challenge === '') throw refuseCheck('hub.challenge is missing');
    if (!CHALLENGE.test(challenge)) throw refuseCheck('hub.challenge must be 1 to 256 letters, digits or "._~-"');
    const { verifyToken } = await context.secret();
    if (verifyToken === undefined) {
      const detail = `needs "verifyToken": Meta Lead Ads route "${route.name}" answers Meta's subscription check`;
      throw new SecretFormatError(secretNameOf(route), detail);
    }
    const given = request.query['hub.verify_token'];
    if (given === undefined || given === '') throw refuseCheck('hub.verify_token is missing');
    // Never echoed: a wrong token may be a near miss of the right one.
    if (!constantTimeEqual(given, verifyToken))
      throw refuseCheck("hub.verify_token does not match this route's verify token");
    return { statusCode: 200, body: { challenge } };
  },

  async read(request, route, context) {
    checkBodySize(request);
    const { appSecret } = await context.secret();
    if (appSecret === undefined) {
      throw new SecretFormatError(
        secretNameOf(route),
        `needs "appSecret": Meta signs Lead Ads webhooks with the app secret`,
      );
    }
    const header = request.headers[SIGNATURE_HEADER]?.trim();
    // Meta always names the algorithm; a bare digest is not its header, whatever it decodes to.
    if (header && !header.toLowerCase().startsWith(SIGNATURE_PREFIX)) {
      const message = `the X-Hub-Signature-256 header must be "${SIGNATURE_PREFIX}<hex HMAC-SHA256 of the body>"`;
      throw new WebhookRejectedError(401, 'invalid_signature', message);
    }
    const given = header?.slice(SIGNATURE_PREFIX.length);
    requireHmac({ given, header: 'X-Hub-Signature-256', secret: appSecret, signed: request.rawBody, encoding: 'hex' });

    const read = readLeadgenNotification(request);
    if ('ignored' in read) return { kind: 'ignored', reason: read.ignored };
    // A lead of a Page with no token in the secret is still accepted: the token may be added before delivery
    // reads the lead, and delivery reports the missing token (meta-graph.ts).
    return { kind: 'leads', leads: read.leads.map((lead) => ({ eventKey: metaLeadEventKey(lead.leadgenId), lead })) };
  },
};
