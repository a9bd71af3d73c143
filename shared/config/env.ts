/**
 * Function environment, validated at cold start: a wrong value stops the
 * function with a message naming the variable instead of failing later.
 */
import { PROVIDERS, type ProviderName } from './routes.js';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';

const Url = z.url({ protocol: /^https?$/ });

/** The stage `npm start` runs: the only one whose functions may call another host than the real APIs. */
export const LOCAL_STAGE = 'local';

/**
 * Variables that send a service's calls, and the key, token or secret each call carries, to
 * another base URL. The local stack points them at its emulator, and `npm start` passes a user's
 * own (a real account's URL) on to the local functions; a deployed stage calls the public APIs.
 */
export const URL_OVERRIDES = [
  'PROVIDER_URL_TWOCHAT',
  'PROVIDER_URL_KIRIM',
  'PROVIDER_URL_CALLBELL',
  'PROVIDER_URL_CHATWOOT',
  'SHOPIFY_ADMIN_URL',
  'META_GRAPH_URL',
  'CAPTCHA_URL_TURNSTILE',
  'CAPTCHA_URL_RECAPTCHA',
  'CAPTCHA_URL_HCAPTCHA',
] as const;

/** `localhost`, 127.0.0.0/8 or `[::1]` (as the URL parser writes the host): calls that stay on this machine. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Why an http(s) override URL may not be used on `stage`, or undefined when it may; the caller
 * names the variable. Another host is honoured on the local stage only, and only over https, since
 * the calls carry credentials; plain http is for a loopback address (the emulator). A loopback URL
 * passes on every stage: what it carries never leaves the machine (or the Lambda sandbox), and the
 * test pipelines run the functions under stages of their own against a loopback emulator.
 */
export function urlOverrideProblem(url: URL, stage: string): string | undefined {
  if (isLoopbackHost(url.hostname)) return undefined;
  if (stage !== LOCAL_STAGE) {
    return `is honoured on stage ${LOCAL_STAGE} only (stage ${stage} calls the public API): unset it`;
  }
  if (url.protocol !== 'https:') {
    return 'must be an https URL: the calls carry credentials (http only to 127.0.0.1 or localhost)';
  }
  return undefined;
}

const EnvSchema = z
  .object({
    STAGE: z.string().check(z.regex(/^[a-zA-Z0-9-]+$/, 'must be letters, digits and dashes')),
    SECRETS_TTL_SECONDS: z.optional(z.string().check(z.regex(/^\d+$/, 'must be a whole number of seconds'))),
    /** Override a provider's API base URL (the local stack points these at the emulator); see URL_OVERRIDES. */
    PROVIDER_URL_TWOCHAT: z.optional(Url),
    PROVIDER_URL_KIRIM: z.optional(Url),
    PROVIDER_URL_CALLBELL: z.optional(Url),
    PROVIDER_URL_CHATWOOT: z.optional(Url),
    /** Serve plain form routes anyone can post to (no token, signature or captcha): `true` on the local stage only. */
    ALLOW_OPEN_FORM_ROUTES: z.optional(z.enum(['true', 'false'])),
    /** Captcha siteverify bases (the local stack points them at the emulator); see sources/protection.ts. */
    CAPTCHA_URL_TURNSTILE: z.optional(Url),
    CAPTCHA_URL_RECAPTCHA: z.optional(Url),
    CAPTCHA_URL_HCAPTCHA: z.optional(Url),
    /** Override the Shopify Admin API origin (the local stack points it at the emulator's stub). */
    SHOPIFY_ADMIN_URL: z.optional(Url),
    /** Override the Meta Graph API base URL leads are read from (the local stack points it at the emulator). */
    META_GRAPH_URL: z.optional(Url),
    /** shopifyEvents: the Shopify route every EventBridge event is delivered under (default `default`). */
    SHOPIFY_EVENTS_ROUTE: z.optional(
      z
        .string()
        .check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a route name: lower-case letters, digits and dashes')),
    ),
    /** The DynamoDB table of dedupe records, outcomes and checkpoints. */
    TABLE_NAME: z.optional(z.string()),
    /** The delivery queue and its dead-letter queue. */
    QUEUE_URL: z.optional(Url),
    QUEUE_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
    DLQ_URL: z.optional(Url),
    DLQ_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
  })
  .check(
    z.superRefine((env, ctx) => {
      for (const variable of URL_OVERRIDES) {
        // A value that is no http(s) URL at all has its own issue already.
        const url = env[variable] === undefined ? null : URL.parse(env[variable]);
        if (url === null || !/^https?:$/.test(url.protocol)) continue;
        const message = urlOverrideProblem(url, env.STAGE);
        if (message !== undefined) ctx.issues.push({ code: 'custom', input: env[variable], path: [variable], message });
      }
    }),
  );
export type Env = z.infer<typeof EnvSchema>;

export class EnvConfigError extends Error {
  override name = 'EnvConfigError';
}

export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings are what unset variables become in serverless.yml.
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) throw new EnvConfigError(`invalid environment: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Base URL overrides set in the environment; providers without one use their public API. */
export function providerBaseUrls(env: Env): Partial<Record<ProviderName, string>> {
  const urls: Partial<Record<ProviderName, string>> = {};
  for (const provider of PROVIDERS) {
    const override = env[`PROVIDER_URL_${provider.toUpperCase()}` as keyof Env];
    if (override !== undefined) urls[provider] = override.replace(/\/+$/, '');
  }
  return urls;
}

/** A variable this function cannot run without; named when missing. */
export function requireEnv<K extends keyof Env>(env: Env, name: K): NonNullable<Env[K]> {
  const value = env[name];
  if (value === undefined)
    throw new EnvConfigError(`invalid environment: ${String(name)} is required by this function`);
  return value as NonNullable<Env[K]>;
}
