/**
 * Function environment, validated at cold start: a wrong value stops the
 * function with a message naming the variable instead of failing later.
 */
import { PROVIDERS, type ProviderName } from './routes.js';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';

const Url = z.url({ protocol: /^https?$/ });

export const EnvSchema = z.object({
  STAGE: z.string().check(z.regex(/^[a-zA-Z0-9-]+$/, 'must be letters, digits and dashes')),
  SECRETS_TTL_SECONDS: z.optional(z.string().check(z.regex(/^\d+$/, 'must be a whole number of seconds'))),
  /** Override a provider's API base URL (the local stack points these at the emulator). */
  PROVIDER_URL_TWOCHAT: z.optional(Url),
  PROVIDER_URL_KIRIM: z.optional(Url),
  PROVIDER_URL_CALLBELL: z.optional(Url),
  PROVIDER_URL_CHATWOOT: z.optional(Url),
  /** Override the Shopify Admin API origin (the local stack points it at the emulator's stub). */
  SHOPIFY_ADMIN_URL: z.optional(Url),
  /** The DynamoDB table of dedupe records, outcomes and checkpoints. */
  TABLE_NAME: z.optional(z.string()),
  /** The delivery queue and its dead-letter queue. */
  QUEUE_URL: z.optional(Url),
  QUEUE_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
  DLQ_URL: z.optional(Url),
  DLQ_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
});
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
  if (value === undefined) throw new EnvConfigError(`invalid environment: ${String(name)} is required by this function`);
  return value as NonNullable<Env[K]>;
}
