/**
 * Route config: which provider accounts each (source, route) delivers to,
 * and how its payloads map to a Contact. One JSON file (config/routes.json),
 * validated here at cold start, by `npm start`, by the tests and by
 * `osls package`; every error names the field that is wrong.
 */
import { SOURCES, type SourceName } from '../contact.js';
import { isRegion } from './regions.js';
import { SHOP_DOMAIN, SHOP_DOMAIN_EXAMPLE } from '../shopify/domain.js';
import { CustomRouteSchema, topLevelMembers } from './custom.js';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';

export const PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NAME_RULE = 'must be lower-case letters, digits and dashes (e.g. "main-shop")';

/** How long an event's history (ingest record, outcomes, person index) is kept when no `retentionDays` says. */
export const DEFAULT_RETENTION_DAYS = 30;

/**
 * Whole days, 2 to 3,650. It is also the dedupe window (an event's keys live as long as its record), so never
 * shorter than a sender's retry window, the longest of which is Meta's 36 hours
 * (https://developers.facebook.com/docs/graph-api/webhooks/getting-started, "Event Notifications"); Tally's
 * 5 min + 30 min + 1 h + 6 h + 24 h comes next (https://developers.tally.so/api-reference/endpoint/webhooks/events/retry).
 */
export const MIN_RETENTION_DAYS = 2;
const RetentionDaysSchema = z.number().check(z.int(), z.gte(MIN_RETENTION_DAYS), z.lte(3650));

const RegionSchema = z
  .string()
  .check(
    z.refine(
      (value) => isRegion(value),
      'must be an ISO 3166-1 alpha-2 region libphonenumber knows, such as "US" or "GB"',
    ),
  );

const FieldNames = z.array(z.string().check(z.minLength(1))).check(z.minLength(1));

/** Explicit field names; when absent, the source's automatic detection applies. */
const FieldMappingSchema = z.strictObject({
  firstName: z.optional(FieldNames),
  lastName: z.optional(FieldNames),
  fullName: z.optional(FieldNames),
  email: z.optional(FieldNames),
  phone: z.optional(FieldNames),
  country: z.optional(FieldNames),
  tags: z.optional(FieldNames),
  /** Extra fields copied into the contact's attributes under their own names. */
  attributes: z.optional(FieldNames),
});
export type FieldMapping = z.infer<typeof FieldMappingSchema>;

/**
 * How fast the relay may call one provider account: requests a minute, and how many may go at once, counted as
 * the provider counts them (a delivery takes as many as it makes: the adapter's `rateCost`).
 */
export interface AccountRate {
  perMinute: number;
  burst: number;
}

/**
 * The rate an account gets when its config names none: below each provider's documented limit, with headroom
 * for the clocks of concurrent deliver functions and for requests the relay does not count (health checks).
 * In any minute a token bucket hands out at most `burst + perMinute` tokens, so that sum stays under the limit.
 * - 2Chat: 80 requests a minute per account, 30 on a trial, no rate headers
 *   (https://developers.2chat.co/docs/API/api-response-codes). 70 + 5 = 75 a minute at most.
 * - Kirim.chat: writes 60 a minute on Free, 600 on Pro, per organisation
 *   (https://developers.kirim.chat/concepts/rate-limits/; its `X-RateLimit-Reset` says when that organisation's
 *   bucket is full again). Free is the default: 50 + 5 = 55.
 * - Callbell: 429 above 300 requests a second (https://docs.callbell.eu/api/reference/rate_limits).
 *   250 a second, and a burst of 40: at most 290 in any second.
 * - Chatwoot: rack-attack's `req/ip` throttle, 3,000 a minute per IP in fixed one-minute windows by default
 *   (RACK_ATTACK_LIMIT; https://github.com/chatwoot/chatwoot/blob/develop/config/initializers/rack_attack.rb). The
 *   self-hosting page (https://developers.chatwoot.com/self-hosted/monitoring/rate-limiting) says 60 rpm in its
 *   prose; the code it links sets 3,000, and the code is what answers. 2,400 + 100 = 2,500.
 * Trial 2Chat accounts, Kirim Pro and self-hosted Chatwoot with another limit set `rate` on the account.
 */
export const DEFAULT_ACCOUNT_RATES: Readonly<Record<ProviderName, AccountRate>> = {
  twochat: { perMinute: 70, burst: 5 },
  kirim: { perMinute: 50, burst: 5 },
  callbell: { perMinute: 15_000, burst: 40 },
  chatwoot: { perMinute: 2_400, burst: 100 },
};

/** A token a millisecond at most: the bucket counts in whole milliseconds. */
const MAX_PER_MINUTE = 60_000;

const RateSchema = z
  .strictObject({
    perMinute: z.number().check(z.int(), z.positive(), z.lte(MAX_PER_MINUTE)),
    /** Tokens that may go at once after an idle spell; a tenth of `perMinute` (at least 1) when absent. */
    burst: z.optional(z.number().check(z.int(), z.positive())),
  })
  .check(
    z.superRefine((rate, ctx) => {
      // More than a minute's worth at once would exceed, in the first minute, the limit perMinute stands for.
      if (rate.burst !== undefined && rate.burst > rate.perMinute)
        ctx.issues.push({
          code: 'custom',
          input: rate.burst,
          path: ['burst'],
          message: `must not exceed perMinute (${rate.perMinute})`,
        });
    }),
  );

const AccountSchema = z.strictObject({
  provider: z.enum(PROVIDERS),
  /** The account's own rate, for a plan whose limit is not the default's (DEFAULT_ACCOUNT_RATES). */
  rate: z.optional(RateSchema),
});
export type Account = z.infer<typeof AccountSchema>;

/** The rate deliveries to an account are held to: its own `rate`, else its provider's default. */
export function accountRate(account: Account): AccountRate {
  if (account.rate === undefined) return DEFAULT_ACCOUNT_RATES[account.provider];
  const { perMinute, burst } = account.rate;
  return { perMinute, burst: burst ?? Math.max(1, Math.floor(perMinute / 10)) };
}

const CAPTCHA_PROVIDERS = ['turnstile', 'recaptcha', 'hcaptcha'] as const;
export type CaptchaProvider = (typeof CAPTCHA_PROVIDERS)[number];

/** `https://www.example.com`: what a browser sends as `Origin` (scheme, host, and a port only when not the default). */
function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

const NEEDS_A_LIMIT = 'needs "perIp" or "perRoute"';

const RateLimitSchema = z.strictObject({
  requests: z.number().check(z.int(), z.positive()),
  windowSeconds: z.number().check(z.int(), z.positive(), z.lte(24 * 3600)),
});

/**
 * Plain form routes only: what keeps spam out of a form that posts straight
 * to its public URL (shared/sources/protection.ts applies it).
 */
const FormProtectionSchema = z.strictObject({
  /** A field real visitors never see or fill; a submission that fills it is answered as accepted and dropped. */
  honeypot: z.optional(z.string().check(z.minLength(1))),
  /** A token from the vendor's widget, checked with its siteverify API and the secret's `captchaSecret`. */
  captcha: z.optional(
    z.strictObject({
      provider: z.enum(CAPTCHA_PROVIDERS),
      /** The form field holding the token, when not the widget's own (`cf-turnstile-response`, ...). */
      field: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
  /** Pages allowed to post here: the request's `Origin` (else its `Referer`'s origin) must be one of them. */
  origins: z.optional(
    z
      .array(z.string().check(z.refine(isOrigin, 'must be an origin such as "https://www.example.com" (no path)')))
      .check(z.minLength(1)),
  ),
  /** Requests counted in fixed windows, per source IP and/or for the whole route; over the limit: 429. */
  rateLimit: z.optional(
    z
      .strictObject({ perIp: z.optional(RateLimitSchema), perRoute: z.optional(RateLimitSchema) })
      .check(z.refine((limit) => limit.perIp !== undefined || limit.perRoute !== undefined, NEEDS_A_LIMIT)),
  ),
});

const RouteSchema = z.strictObject({
  /** Provider account names (keys of `accounts`) this route creates contacts in. */
  deliverTo: z.array(z.string()).check(z.minLength(1)),
  /** Region for national phone numbers when the payload names no country. */
  defaultRegion: z.optional(RegionSchema),
  /** The numbers this route collects are WhatsApp numbers (2Chat gets WAPH instead of PH). */
  whatsappNumbers: z._default(z.boolean(), false),
  /** Tags added to every contact of this route. */
  tags: z._default(z.array(z.string().check(z.minLength(1))), []),
  /**
   * Secret holding this route's signing secret, instead of `contact-relay/{stage}/source/{source}`;
   * under `contact-relay/{stage}/source/` too, the only secrets the ingest functions may read.
   */
  secretName: z.optional(z.string().check(z.minLength(1))),
  /**
   * How requests prove they come from the sender: `hmac` (a signature with the
   * route's `secret`), `token` (the route's `token` in the URL or a header) or
   * `none`. Defaults per source (see AUTH_DEFAULTS); senders that always sign
   * cannot be set to anything else.
   */
  auth: z.optional(z.enum(['none', 'token', 'hmac'])),
  /** Shopify routes only: accept webhooks from these shops alone (`my-shop.myshopify.com`). */
  shopDomains: z.optional(
    z
      .array(z.string().check(z.regex(SHOP_DOMAIN, `must be a shop domain such as "${SHOP_DOMAIN_EXAMPLE}"`)))
      .check(z.minLength(1)),
  ),
  /**
   * Shopify routes only: refuse a delivery whose `X-Shopify-Triggered-At` is older than this (401
   * `stale_delivery`); default 48. At most 720, and at most the route's retention in hours (how long an
   * event's keys are kept: an older delivery could no longer be recognised as a duplicate).
   */
  maxDeliveryAgeHours: z.optional(z.number().check(z.int(), z.positive(), z.lte(720))),
  fields: z.optional(FieldMappingSchema),
  /** Plain form routes only: honeypot, captcha, allowed origins, rate limits. */
  protection: z.optional(FormProtectionSchema),
  /** Days this route's events, outcomes and person index are kept; the config's `retentionDays` when absent. */
  retentionDays: z.optional(RetentionDaysSchema),
  /**
   * Shopify routes only: reconcile orders through the Admin API, so an order
   * whose webhook never arrived is still delivered. Credentials live in the
   * secret `secretName` (default `contact-relay/{stage}/shopify-admin/{route}`;
   * under `contact-relay/{stage}/shopify-admin/` too, the only secrets reconcile may read).
   */
  reconcile: z.optional(
    z.strictObject({
      secretName: z.optional(z.string().check(z.minLength(1))),
      /** How far back the first run looks when there is no checkpoint yet. */
      lookbackHours: z._default(z.number().check(z.int(), z.positive(), z.lte(24 * 60)), 24),
    }),
  ),
  /** Meta Lead Ads routes only. */
  metaLeads: z.optional(
    z.strictObject({
      /** The Graph API version leads are read with, e.g. `v24.0`; default in shared/sources/meta-graph.ts. */
      graphApiVersion: z.optional(
        z.string().check(z.regex(/^v\d+\.\d+$/, 'must be a Graph API version such as "v24.0"')),
      ),
    }),
  ),
  /** Calendly routes only. */
  calendly: z.optional(
    z.strictObject({
      /** How far a signature's timestamp may be from our clock, either way (default 180 s). */
      toleranceSeconds: z.optional(z.number().check(z.int(), z.positive(), z.lte(3600))),
    }),
  ),
  /** `custom` routes only: where the contact is in the JSON, and how requests are signed. */
  custom: z.optional(CustomRouteSchema),
  /** Callbell options: its tags and custom fields must already exist in the Callbell account. */
  callbell: z.optional(
    z.strictObject({
      tags: z.optional(z.array(z.string().check(z.minLength(1)))),
      /** Email of the Callbell user new contacts are assigned to. */
      assignedUser: z.optional(z.email()),
      /** Callbell has no email field: the custom field that receives the email (else the email is not sent to Callbell). */
      emailCustomField: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
});
export type Route = z.infer<typeof RouteSchema>;

export type RouteAuth = 'none' | 'token' | 'hmac';

/** What each source does by default, and what it may be set to. */
const AUTH_RULES: Record<SourceName, { default: RouteAuth; allowed: readonly RouteAuth[] }> = {
  shopify: { default: 'hmac', allowed: ['hmac'] },
  woocommerce: { default: 'hmac', allowed: ['hmac'] },
  typeform: { default: 'hmac', allowed: ['hmac'] },
  webflow: { default: 'hmac', allowed: ['hmac'] },
  'google-forms': { default: 'hmac', allowed: ['hmac'] },
  tally: { default: 'hmac', allowed: ['hmac', 'none'] },
  jotform: { default: 'token', allowed: ['token'] },
  form: { default: 'none', allowed: ['none', 'token', 'hmac'] },
  'meta-leads': { default: 'hmac', allowed: ['hmac'] },
  calendly: { default: 'hmac', allowed: ['hmac'] },
  // `hmac` when the route sets `custom.signature` (see routeAuth).
  custom: { default: 'token', allowed: ['none', 'token', 'hmac'] },
};

export function routeAuth(route: Pick<Route, 'auth' | 'custom'> & { source: SourceName }): RouteAuth {
  if (route.auth === undefined && route.source === 'custom' && route.custom?.signature !== undefined) return 'hmac';
  return route.auth ?? AUTH_RULES[route.source].default;
}

type RouteProblem = { path: string[]; input: unknown; message: string };

/** Sources a route may set these options for. */
const OPTIONS_OF: Array<[keyof Route, SourceName, string]> = [
  ['metaLeads', 'meta-leads', 'only Meta Lead Ads routes read leads from the Graph API'],
  ['calendly', 'calendly', 'only Calendly routes have Calendly options'],
  ['custom', 'custom', 'only custom routes map JSON by pointer'],
];

function sourceOptionProblems(source: string, route: Route): RouteProblem[] {
  const problems: RouteProblem[] = OPTIONS_OF.filter(
    ([key, owner]) => route[key] !== undefined && source !== owner,
  ).map(([key, , message]) => ({
    path: [key],
    input: route[key],
    message,
  }));
  if (source !== 'custom') return problems;
  if (route.custom === undefined) {
    problems.push({
      path: ['custom'],
      input: undefined,
      message: 'a custom route needs "custom": {"fields": {...}} saying where the contact is',
    });
    return problems;
  }
  if (route.fields !== undefined) {
    problems.push({
      path: ['fields'],
      input: route.fields,
      message: 'custom routes map fields by JSON pointer in "custom.fields"',
    });
  }
  const auth = routeAuth({ ...route, source: 'custom' });
  if (auth === 'hmac' && route.custom.signature === undefined) {
    problems.push({
      path: ['custom', 'signature'],
      input: undefined,
      message: 'needed when auth is "hmac": say which header carries the signature',
    });
  }
  if (auth !== 'hmac' && route.custom.signature !== undefined) {
    problems.push({
      path: ['auth'],
      input: route.auth,
      message: 'must be "hmac" (or unset) when custom.signature is set',
    });
  }
  const signature = route.custom.signature;
  if (
    signature !== undefined &&
    signature.signedString.includes('{timestamp}') !== (signature.timestampHeader !== undefined)
  ) {
    const message = 'signedString contains {timestamp} exactly when timestampHeader is set';
    problems.push({ path: ['custom', 'signature'], input: signature, message });
  }
  const honeypot = route.protection?.honeypot;
  if (honeypot !== undefined && topLevelMembers(route.custom.fields).includes(honeypot)) {
    const message = `"${honeypot}" is a member custom.fields reads, one real senders fill: name a field only bots fill`;
    problems.push({ path: ['protection', 'honeypot'], input: honeypot, message });
  }
  return problems;
}

/** The form field each captcha widget puts its token in. */
export const CAPTCHA_FIELDS: Record<CaptchaProvider, string> = {
  turnstile: 'cf-turnstile-response',
  recaptcha: 'g-recaptcha-response',
  hcaptcha: 'h-captcha-response',
};

function protectionProblems(source: string, route: Route): Array<{ path: string[]; input: unknown; message: string }> {
  const { protection } = route;
  if (protection === undefined) return [];
  if (source !== 'form' && source !== 'custom') {
    return [
      {
        path: [],
        input: protection,
        message: 'only plain form and custom routes (sources.form, sources.custom) have protection',
      },
    ];
  }
  const { honeypot, captcha } = protection;
  if (honeypot === undefined) return [];
  const mapped = Object.values(route.fields ?? {}).flat();
  const tokenField = captcha === undefined ? undefined : (captcha.field ?? CAPTCHA_FIELDS[captcha.provider]);
  if (mapped.includes(honeypot) || honeypot === tokenField) {
    const message = `"${honeypot}" is a field real visitors fill: name a field only bots fill`;
    return [{ path: ['honeypot'], input: honeypot, message }];
  }
  return [];
}

/**
 * Form routes anyone can post to: no token or signature and no captcha. The
 * local stack serves them; a deployed stage answers them 403 unless its
 * `allowOpenFormRoutes` param says otherwise (shared/sources/protection.ts).
 */
export function isOpenFormRoute(route: ResolvedRoute): boolean {
  const public_ = route.source === 'form' || route.source === 'custom';
  return public_ && routeAuth(route) === 'none' && route.protection?.captcha === undefined;
}

/** The config paths of the open form routes (`sources.form.default`), for warnings. */
export function openFormRoutes(config: RoutesConfig): string[] {
  return (['form', 'custom'] as const).flatMap((source) =>
    Object.keys(config.sources[source] ?? {})
      .filter((name) => isOpenFormRoute(findRoute(config, source, name) as ResolvedRoute))
      .map((name) => `sources.${source}.${name}`),
  );
}

/** The kinds of secret a route names, each readable only by the functions that use it (infra/iam.yml). */
type RouteSecretKind = 'source' | 'shopify-admin';
const SECRET_READERS: Record<RouteSecretKind, string> = {
  source: 'the ingest functions',
  'shopify-admin': 'reconcile',
};

/**
 * Why a route's own secret name is outside what its readers' roles grant, or undefined. Without a
 * stage, any stage segment passes (one routes file serves every stage); `osls package` names the stage.
 */
function secretNameProblem(name: string, kind: RouteSecretKind, stage: string | undefined): string | undefined {
  const [app, stageSegment = '', ...rest] = name.split('/');
  const under = rest.length > 1 && rest[0] === kind && rest.slice(1).join('/') !== '';
  const stageOk = stage === undefined ? /^[a-zA-Z0-9-]+$/.test(stageSegment) : stageSegment === stage;
  if (app === 'contact-relay' && stageOk && under) return undefined;
  const prefix = `contact-relay/${stage ?? '{stage}'}/${kind}/`;
  return `must start with "${prefix}": ${SECRET_READERS[kind]} may read no other secret`;
}

/**
 * Deliver reads a Meta Lead Ads route's secret too (its page tokens fetch the leads), and may read no other
 * source secret: so a Meta route's own secret is named `source/meta-leads…` (infra/iam.yml grants that prefix).
 */
const META_LEADS_SECRET_PREFIX = 'meta-leads';

function routeSecretProblems(source: string, route: Route, stage: string | undefined): RouteProblem[] {
  const problems: RouteProblem[] = [];
  const ownName = route.secretName?.split('/')[3];
  if (source === 'meta-leads' && ownName !== undefined && !ownName.startsWith(META_LEADS_SECRET_PREFIX)) {
    const message = `must be named "contact-relay/${stage ?? '{stage}'}/source/${META_LEADS_SECRET_PREFIX}…": deliver reads it and may read no other source secret`;
    problems.push({ path: ['secretName'], input: route.secretName, message });
  }
  const named: Array<[string[], string | undefined, RouteSecretKind]> = [
    [['secretName'], route.secretName, 'source'],
    [['reconcile', 'secretName'], route.reconcile?.secretName, 'shopify-admin'],
  ];
  for (const [path, name, kind] of named) {
    const message = name === undefined ? undefined : secretNameProblem(name, kind, stage);
    if (message !== undefined) problems.push({ path, input: name, message });
  }
  return problems;
}

const SourceRoutes = z.record(z.string(), RouteSchema);

const routesConfigSchema = (stage?: string) =>
  z
    .strictObject({
      $schema: z.optional(z.string()),
      /** Days every route's history is kept unless the route sets its own (default 30). */
      retentionDays: z._default(RetentionDaysSchema, DEFAULT_RETENTION_DAYS),
      accounts: z.record(z.string(), AccountSchema),
      sources: z.partialRecord(z.enum(SOURCES), SourceRoutes),
    })
    .check(
      z.superRefine((config, ctx) => {
        const known = Object.keys(config.accounts);
        // Names are checked here rather than as record keys so the message can say what is wrong.
        for (const account of known) {
          if (!NAME.test(account))
            ctx.issues.push({
              code: 'custom',
              input: account,
              path: ['accounts', account],
              message: `account name "${account}" ${NAME_RULE}`,
            });
        }
        for (const [source, routes] of Object.entries(config.sources)) {
          for (const [routeName, route] of Object.entries(routes ?? {})) {
            if (!NAME.test(routeName)) {
              ctx.issues.push({
                code: 'custom',
                input: routeName,
                path: ['sources', source, routeName],
                message: `route name "${routeName}" ${NAME_RULE} (it is a URL path segment)`,
              });
            }
            route.deliverTo.forEach((account, index) => {
              if (!(account in config.accounts)) {
                ctx.issues.push({
                  code: 'custom',
                  input: account,
                  path: ['sources', source, routeName, 'deliverTo', index],
                  message: `unknown account "${account}" (accounts defined: ${known.length ? known.join(', ') : 'none'})`,
                });
              }
            });
            const rules = AUTH_RULES[source as SourceName];
            if (route.auth !== undefined && !rules.allowed.includes(route.auth)) {
              ctx.issues.push({
                code: 'custom',
                input: route.auth,
                path: ['sources', source, routeName, 'auth'],
                message: `${source} routes can use ${rules.allowed.map((a) => `"${a}"`).join(' or ')}`,
              });
            }
            if (route.shopDomains !== undefined && source !== 'shopify') {
              ctx.issues.push({
                code: 'custom',
                input: route.shopDomains,
                path: ['sources', source, routeName, 'shopDomains'],
                message: 'only Shopify routes have shop domains',
              });
            }
            if (route.maxDeliveryAgeHours !== undefined && source !== 'shopify') {
              const path = ['sources', source, routeName, 'maxDeliveryAgeHours'];
              const message = 'only Shopify routes say when a delivery was triggered';
              ctx.issues.push({ code: 'custom', input: route.maxDeliveryAgeHours, path, message });
            }
            const retentionDays = route.retentionDays ?? config.retentionDays;
            if (route.maxDeliveryAgeHours !== undefined && route.maxDeliveryAgeHours > retentionDays * 24) {
              const path = ['sources', source, routeName, 'maxDeliveryAgeHours'];
              const message = `must not exceed the route's retention, ${retentionDays * 24} hours (retentionDays ${retentionDays}): an older delivery's keys are gone, so it would be accepted again`;
              ctx.issues.push({ code: 'custom', input: route.maxDeliveryAgeHours, path, message });
            }
            for (const problem of protectionProblems(source, route)) {
              const path = ['sources', source, routeName, 'protection', ...problem.path];
              ctx.issues.push({ code: 'custom', input: problem.input, path, message: problem.message });
            }
            for (const problem of sourceOptionProblems(source, route)) {
              const path = ['sources', source, routeName, ...problem.path];
              ctx.issues.push({ code: 'custom', input: problem.input, path, message: problem.message });
            }
            for (const { path, input, message } of routeSecretProblems(source, route, stage)) {
              ctx.issues.push({ code: 'custom', input, path: ['sources', source, routeName, ...path], message });
            }
            if (route.reconcile !== undefined && source !== 'shopify') {
              ctx.issues.push({
                code: 'custom',
                input: route.reconcile,
                path: ['sources', source, routeName, 'reconcile'],
                message: 'only Shopify routes can be reconciled',
              });
            }
            if (new Set(route.deliverTo).size !== route.deliverTo.length) {
              ctx.issues.push({
                code: 'custom',
                input: route.deliverTo,
                path: ['sources', source, routeName, 'deliverTo'],
                message: 'lists an account twice',
              });
            }
          }
        }
      }),
    );
const RoutesConfigSchema = routesConfigSchema();
export type RoutesConfig = z.infer<typeof RoutesConfigSchema>;

export class RouteConfigError extends Error {
  override name = 'RouteConfigError';
}

/**
 * Validate a parsed routes file; throws a RouteConfigError naming every bad field. With `stage`, a
 * route's own secret names must also be that stage's (`osls package --stage prod` checks prod's).
 */
export function parseRoutesConfig(raw: unknown, file = 'config/routes.json', stage?: string): RoutesConfig {
  const parsed = (stage === undefined ? RoutesConfigSchema : routesConfigSchema(stage)).safeParse(raw);
  if (!parsed.success) throw new RouteConfigError(`invalid route config ${file}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export interface ResolvedRoute extends Route {
  source: SourceName;
  name: string;
  accounts: Array<Account & { name: string }>;
}

/** The route a webhook URL names, with its accounts resolved; undefined when there is none. */
export function findRoute(config: RoutesConfig, source: SourceName, routeName: string): ResolvedRoute | undefined {
  const routes = config.sources[source];
  if (routes === undefined || !Object.hasOwn(routes, routeName)) return undefined;
  const route = routes[routeName] as Route;
  return {
    ...route,
    retentionDays: route.retentionDays ?? config.retentionDays ?? DEFAULT_RETENTION_DAYS,
    source,
    name: routeName,
    accounts: route.deliverTo.map((account) => ({ name: account, ...(config.accounts[account] as Account) })),
  };
}

/** Days an event of this route is kept: its own `retentionDays`, else the config's, else 30. */
export function retentionDays(route: Pick<Route, 'retentionDays'>): number {
  return route.retentionDays ?? DEFAULT_RETENTION_DAYS;
}
