/**
 * Every secret a route config needs, with its shape and a template: provider
 * accounts (`contact-relay/{stage}/provider/{account}`), source secrets for
 * routes whose auth checks a signature or a token (the route's `secretName`,
 * else `contact-relay/{stage}/source/{source}`), and Shopify Admin API
 * credentials for routes with `reconcile`. Shared by `doctor` and
 * `secrets init`.
 */
import { findRoute, type ProviderName, type RoutesConfig } from '../shared/config/routes.js';
import { SOURCES, type SourceName } from '../shared/contact.js';
import { SourceSecretSchema } from '../shared/ingest.js';
import { HEALTH_ADAPTERS } from '../shared/operations/healthcheck.js';
import { providerSecretName } from '../shared/secrets.js';
import { ShopifyAdminCredentialsSchema, shopifyAdminSecretName } from '../shared/shopify-admin.js';
import type * as z from '../shared/zod.js';
import { describeIssues } from '../shared/validation.js';
import { routeSecretName, secretField } from './webhook.js';

export const PROVIDER_LABELS: Record<ProviderName, string> = { twochat: '2Chat', kirim: 'Kirim.chat', callbell: 'Callbell', chatwoot: '99digital (Chatwoot)' };

export const PROVIDER_TEMPLATES: Record<ProviderName, Record<string, string>> = {
  twochat: { apiKey: '<2Chat API key>' },
  kirim: { token: '<Kirim API token>', phoneNumberId: '<WhatsApp phone_number_id (Kirim: GET /v1/accounts)>' },
  callbell: { token: '<Callbell API token>' },
  chatwoot: { baseUrl: 'https://online.99digital.co.il', accountId: '<account id, a number>', inboxId: '<inbox id, a number>', accessToken: '<user access token>' },
};

/** What each source's signing secret or token is, in its sender's words (README, "Webhook URLs"). */
const SOURCE_PLACEHOLDERS: Record<SourceName, { secret: string; token: string }> = {
  shopify: { secret: "<app client secret, or the admin Webhooks page signing key>", token: '<a long random string>' },
  woocommerce: { secret: "<the webhook's secret: a long random string without &<>\"'>", token: '<a long random string>' },
  typeform: { secret: "<the webhook's secret>", token: '<a long random string>' },
  tally: { secret: '<the signing secret>', token: '<a long random string>' },
  jotform: { secret: '<a long random string>', token: '<a long random string, also in the webhook URL ?token=>' },
  webflow: { secret: "<the app's client secret>", token: '<a long random string>' },
  'google-forms': { secret: "<a long random string, also the Apps Script's CONTACT_RELAY_SECRET>", token: '<a long random string>' },
  form: { secret: '<a long random string: the HMAC key your form signs with>', token: '<a long random string: the form sends it as ?token= or X-Contact-Relay-Token>' },
};

export const SHOPIFY_ADMIN_TEMPLATE = { shopDomain: '<my-shop.myshopify.com>', accessToken: '<Admin API access token, shpat_…>', apiVersion: '2025-07' };

export interface SecretSpec {
  name: string;
  kind: 'provider' | 'source' | 'shopify-admin';
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

/** Fields still holding a template placeholder such as "<2Chat API key>". */
export function placeholders(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value)
    .filter(([, field]) => typeof field === 'string' && PLACEHOLDER.test(field.trim()))
    .map(([field]) => field);
}

function shapeProblem(schema: z.ZodMiniType, value: unknown): string | undefined {
  const left = placeholders(value);
  if (left.length > 0) return `${left.join(', ')} still ${left.length === 1 ? 'holds' : 'hold'} the template placeholder`;
  const parsed = schema.safeParse(value);
  return parsed.success ? undefined : describeIssues(parsed.error);
}

export function neededSecrets(config: RoutesConfig, stage: string): SecretSpec[] {
  const specs: SecretSpec[] = [];
  const routesOf = (account: string) =>
    SOURCES.flatMap((source) => Object.entries(config.sources[source] ?? {}).filter(([, route]) => route.deliverTo.includes(account)).map(([name]) => `${source}/${name}`));

  for (const [account, { provider }] of Object.entries(config.accounts)) {
    const adapter = HEALTH_ADAPTERS[provider];
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

  const sourceSecrets = new Map<string, { source: SourceName; fields: Set<'secret' | 'token'>; usedBy: string[] }>();
  for (const source of SOURCES) {
    for (const name of Object.keys(config.sources[source] ?? {})) {
      const route = findRoute(config, source, name);
      const field = route && secretField(route);
      if (route === undefined || field === undefined) continue;
      const secretName = routeSecretName(route, stage);
      const entry = sourceSecrets.get(secretName) ?? { source, fields: new Set(), usedBy: [] };
      entry.fields.add(field);
      entry.usedBy.push(`${source}/${name}`);
      sourceSecrets.set(secretName, entry);
    }
  }
  for (const [name, { source, fields, usedBy }] of sourceSecrets) {
    const needs = [...fields].sort();
    specs.push({
      name,
      kind: 'source',
      purpose: `webhook ${needs.map((field) => (field === 'secret' ? 'signing secret' : 'token')).join(' and ')} of ${usedBy.join(', ')}`,
      template: Object.fromEntries(needs.map((field) => [field, SOURCE_PLACEHOLDERS[source][field]])),
      usedBy,
      problem: (value) => {
        const shape = shapeProblem(SourceSecretSchema, value);
        if (shape !== undefined) return shape;
        const missing = needs.filter((field) => typeof (value as Record<string, unknown>)[field] !== 'string' || (value as Record<string, string>)[field] === '');
        return missing.length > 0 ? `needs "${missing.join('" and "')}": ${usedBy.join(', ')} ${missing.includes('secret') ? 'checks a signature' : 'checks a token'}` : undefined;
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

