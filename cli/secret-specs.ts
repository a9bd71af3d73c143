/**
 * Every secret a route config needs, with its shape and a template: provider
 * accounts (`contact-relay/{stage}/provider/{account}`), source secrets for
 * routes whose auth checks a signature or a token (the route's `secretName`,
 * else `contact-relay/{stage}/source/{source}`), and Shopify Admin API
 * credentials for routes with `reconcile`, and the stage's lookup key (the
 * person index's hashes of emails and phones). Shared by `doctor` and
 * `secrets init`.
 */
import { findRoute, type ProviderName, type ResolvedRoute, type RoutesConfig } from '../shared/config/routes.js';
import { SOURCES, type SourceName } from '../shared/contact.js';
import { SourceSecretSchema } from '../shared/ingest.js';
import { PROVIDER_ADAPTERS } from '../shared/providers/index.js';
import { providerSecretName } from '../shared/secrets.js';
import { ShopifyAdminCredentialsSchema, shopifyAdminSecretName } from '../shared/shopify/admin.js';
import type * as z from '../shared/zod.js';
import { LookupKeySchema, lookupKeySecretName, MIN_LOOKUP_KEY_LENGTH } from '../shared/person-key.js';
import { describeIssues } from '../shared/validation.js';
import { routeSecretName, secretField } from './webhook.js';

export const PROVIDER_LABELS: Record<ProviderName, string> = {
  twochat: '2Chat',
  kirim: 'Kirim.chat',
  callbell: 'Callbell',
  chatwoot: '99digital (Chatwoot)',
};

const PROVIDER_TEMPLATES: Record<ProviderName, Record<string, string>> = {
  twochat: { apiKey: '<2Chat API key>' },
  kirim: { token: '<Kirim API token>', phoneNumberId: '<WhatsApp phone_number_id (Kirim: GET /v1/accounts)>' },
  callbell: { token: '<Callbell API token>' },
  chatwoot: {
    baseUrl: 'https://online.99digital.co.il',
    accountId: '<account id, a number>',
    inboxId: '<inbox id, a number>',
    accessToken: '<user access token>',
  },
};

/** A field of a source secret (SourceSecretSchema) some route's check or delivery needs. */
type SourceSecretField = 'secret' | 'token' | 'captchaSecret' | 'appSecret' | 'verifyToken' | 'pageAccessTokens';

/** What each source's secret fields are, in its sender's words (README, "Webhook URLs"): those it can use. */
const SOURCE_PLACEHOLDERS: Record<SourceName, Partial<Record<SourceSecretField, unknown>>> = {
  shopify: { secret: '<app client secret, or the admin Webhooks page signing key>' },
  woocommerce: { secret: "<the webhook's secret: a long random string without &<>\"'>" },
  typeform: { secret: "<the webhook's secret>" },
  tally: { secret: '<the signing secret>' },
  jotform: { token: '<a long random string, also in the webhook URL ?token=>' },
  webflow: { secret: "<the app's client secret>" },
  'google-forms': { secret: "<a long random string, also the Apps Script's CONTACT_RELAY_SECRET>" },
  form: {
    secret: '<a long random string: the HMAC key your form signs with>',
    token: '<a long random string: the form sends it as ?token= or X-Contact-Relay-Token>',
    captchaSecret: "<your captcha widget's secret key (Turnstile, reCAPTCHA or hCaptcha)>",
  },
  // https://developers.facebook.com/docs/graph-api/webhooks/getting-started: the App Secret signs, the Verify Token
  // answers the subscription check; https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving:
  // a Page access token with leads_retrieval reads the page's leads.
  'meta-leads': {
    appSecret: "<the Meta app's App Secret (App settings > Basic)>",
    verifyToken: "<a long random string, also the Verify Token of the app's Webhooks product>",
    pageAccessTokens: { '<page id>': '<long-lived Page access token with leads_retrieval>' },
  },
  // https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures
  calendly: { secret: "<the webhook subscription's signing_key>" },
  custom: {
    secret: '<the HMAC key the sender signs with (custom.signature)>',
    token: '<a long random string: the sender sends it as ?token= or X-Contact-Relay-Token>',
    captchaSecret: "<your captcha widget's secret key (Turnstile, reCAPTCHA or hCaptcha)>",
  },
};

/** Why a route needs each field, for doctor's message. */
const FIELD_USE: Record<SourceSecretField, { label: string; why: string }> = {
  secret: { label: 'signing secret', why: 'checks a signature' },
  token: { label: 'token', why: 'checks a token' },
  captchaSecret: { label: 'captcha secret', why: "checks captcha tokens with the vendor's siteverify API" },
  appSecret: { label: 'app secret', why: "checks Meta's signature" },
  verifyToken: { label: 'verify token', why: "answers Meta's subscription check" },
  pageAccessTokens: { label: 'page access tokens', why: 'reads each lead with its page token' },
};

/**
 * What the functions read from a route's source secret: the field its check needs (`secretField`), the
 * captcha secret of a protected form, and for Meta Lead Ads the verify token of the subscription check and
 * the page tokens deliver reads leads with.
 */
function sourceSecretFields(route: ResolvedRoute): SourceSecretField[] {
  if (route.source === 'meta-leads') return ['appSecret', 'verifyToken', 'pageAccessTokens'];
  const field = secretField(route);
  return [
    ...(field === undefined ? [] : [field]),
    ...(route.protection?.captcha !== undefined ? ['captchaSecret' as const] : []),
  ];
}

const filled = (value: unknown): boolean =>
  typeof value === 'string'
    ? value !== ''
    : typeof value === 'object' && value !== null && Object.keys(value).length > 0;

/** A random key: `openssl rand -base64 48` gives 64 characters (384 bits). */
const LOOKUP_KEY_TEMPLATE = {
  key: `<at least ${MIN_LOOKUP_KEY_LENGTH} random characters, e.g. from: openssl rand -base64 48>`,
};

const SHOPIFY_ADMIN_TEMPLATE = {
  shopDomain: '<my-shop.myshopify.com>',
  accessToken: '<Admin API access token, shpat_…>',
  apiVersion: '2025-07',
};

export interface SecretSpec {
  name: string;
  kind: 'provider' | 'source' | 'shopify-admin' | 'lookup-key';
  /** `2Chat account "twochat"`, `shopify/default (signature)`. */
  purpose: string;
  template: Record<string, unknown>;
  provider?: ProviderName;
  account?: string;
  /** Routes that use it, `source/route`. */
  usedBy: string[];
  /** Why the value is not usable (names fields, never values); undefined when it is. */
  problem(value: unknown): string | undefined;
}

const PLACEHOLDER = /^<.+>$/s;

/** A value that is, or holds (as a key or a value, at any depth), a template placeholder. */
function holdsPlaceholder(value: unknown): boolean {
  if (typeof value === 'string') return PLACEHOLDER.test(value.trim());
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, inner]) => PLACEHOLDER.test(key.trim()) || holdsPlaceholder(inner));
}

/** Fields still holding a template placeholder such as "<2Chat API key>" (or `{"<page id>": …}`). */
export function placeholders(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value)
    .filter(([, field]) => holdsPlaceholder(field))
    .map(([field]) => field);
}

function shapeProblem(schema: z.ZodMiniType, value: unknown): string | undefined {
  const left = placeholders(value);
  if (left.length > 0)
    return `${left.join(', ')} still ${left.length === 1 ? 'holds' : 'hold'} the template placeholder`;
  const parsed = schema.safeParse(value);
  return parsed.success ? undefined : describeIssues(parsed.error);
}

export function neededSecrets(config: RoutesConfig, stage: string): SecretSpec[] {
  const specs: SecretSpec[] = [];
  const routesOf = (account: string) =>
    SOURCES.flatMap((source) =>
      Object.entries(config.sources[source] ?? {})
        .filter(([, route]) => route.deliverTo.includes(account))
        .map(([name]) => `${source}/${name}`),
    );

  for (const [account, { provider }] of Object.entries(config.accounts)) {
    const adapter = PROVIDER_ADAPTERS[provider];
    specs.push({
      name: providerSecretName(stage, account),
      kind: 'provider',
      purpose: `${PROVIDER_LABELS[provider]} account "${account}"`,
      template: PROVIDER_TEMPLATES[provider],
      provider,
      account,
      usedBy: routesOf(account),
      problem: (value) => shapeProblem(adapter.credentials, value),
    });
  }

  const sourceSecrets = new Map<string, { source: SourceName; fields: Set<SourceSecretField>; usedBy: string[] }>();
  for (const source of SOURCES) {
    for (const name of Object.keys(config.sources[source] ?? {})) {
      const route = findRoute(config, source, name);
      const fields = route === undefined ? [] : sourceSecretFields(route);
      if (route === undefined || fields.length === 0) continue;
      const secretName = routeSecretName(route, stage);
      const entry = sourceSecrets.get(secretName) ?? { source, fields: new Set(), usedBy: [] };
      for (const field of fields) entry.fields.add(field);
      entry.usedBy.push(`${source}/${name}`);
      sourceSecrets.set(secretName, entry);
    }
  }
  for (const [name, { source, fields, usedBy }] of sourceSecrets) {
    const needs = [...fields].sort();
    const labels = needs.map((field) => FIELD_USE[field].label);
    const named = labels.length > 1 ? `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}` : labels.join('');
    const placeholder = (field: SourceSecretField) => SOURCE_PLACEHOLDERS[source][field] ?? '<a long random string>';
    specs.push({
      name,
      kind: 'source',
      purpose: `webhook ${named} of ${usedBy.join(', ')}`,
      template: Object.fromEntries(needs.map((field) => [field, placeholder(field)])),
      usedBy,
      problem: (value) => {
        const shape = shapeProblem(SourceSecretSchema, value);
        if (shape !== undefined) return shape;
        const missing = needs.filter((field) => !filled((value as Record<string, unknown>)[field]));
        const why = [...new Set(missing.map((field) => FIELD_USE[field].why))].join(', ');
        return missing.length > 0 ? `needs "${missing.join('" and "')}": ${usedBy.join(', ')} ${why}` : undefined;
      },
    });
  }

  for (const [name, route] of Object.entries(config.sources.shopify ?? {})) {
    if (route.reconcile === undefined) continue;
    specs.push({
      name: route.reconcile.secretName ?? shopifyAdminSecretName(stage, name),
      kind: 'shopify-admin',
      purpose: `Shopify Admin API for reconcile of shopify/${name}`,
      template: SHOPIFY_ADMIN_TEMPLATE,
      usedBy: [`shopify/${name}`],
      problem: (value) => shapeProblem(ShopifyAdminCredentialsSchema, value),
    });
  }

  // Every accepted contact's emails and phones are indexed under hashes keyed with it; without it events are
  // accepted all the same, but `contact-relay trace <email|phone>` finds none of them.
  specs.push({
    name: lookupKeySecretName(stage),
    kind: 'lookup-key',
    purpose: 'lookup key: the person index hashes emails and phones with it (trace by email or phone)',
    template: LOOKUP_KEY_TEMPLATE,
    usedBy: [],
    problem: (value) => shapeProblem(LookupKeySchema, value),
  });
  return specs;
}

/** `contact-relay/prod/provider/twochat` → `provider-twochat.json`. */
export function templateFileName(secretName: string, stage: string): string {
  const prefix = `contact-relay/${stage}/`;
  const rest = secretName.startsWith(prefix) ? secretName.slice(prefix.length) : secretName;
  return `${rest.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')}.json`;
}

/** Secret names the functions may not read: their IAM policy allows `contact-relay/{stage}/*` only. */
export function outsideStage(specs: readonly SecretSpec[], stage: string): SecretSpec[] {
  return specs.filter((spec) => !spec.name.startsWith(`contact-relay/${stage}/`));
}
