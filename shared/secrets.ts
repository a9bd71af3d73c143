/**
 * Secrets from AWS Secrets Manager, validated and cached.
 *
 * One GetSecretValue call per secret per TTL however many invocations a warm
 * container serves: the cache keeps the in-flight promise, so concurrent
 * readers of one secret share a single call. `forget(name)` drops one entry,
 * used when a provider answers 401 after a key rotation.
 *
 * Written here rather than with Powertools Parameters because we need a
 * per-entry drop and in-flight sharing; it is 60 lines either way.
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type * as z from './zod.js';
import { describeIssues } from './validation.js';

export const DEFAULT_SECRET_TTL_MS = 5 * 60 * 1000;

/**
 * A secret the code cannot use: missing, or not the shape it needs. Our
 * configuration's fault, never the caller's; callers that treat both alike
 * test this class.
 */
export class SecretUnusableError extends Error {
  override name = 'SecretUnusableError';
  constructor(
    readonly secretName: string,
    message: string,
  ) {
    super(message);
  }
}

export class SecretNotFoundError extends SecretUnusableError {
  override name = 'SecretNotFoundError';
  constructor(secretName: string) {
    super(secretName, `secret "${secretName}" does not exist in Secrets Manager (create it: see README, "Secrets")`);
  }
}

export class SecretFormatError extends SecretUnusableError {
  override name = 'SecretFormatError';
  constructor(secretName: string, detail: string) {
    // The detail names fields, never values.
    super(secretName, `secret "${secretName}" has the wrong shape: ${detail}`);
  }
}

interface CacheEntry {
  expiresAt: number;
  value: Promise<unknown>;
}

export interface SecretStoreOptions {
  client?: Pick<SecretsManagerClient, 'send'>;
  ttlMs?: number;
  now?: () => number;
}

export class SecretStore {
  readonly #client: Pick<SecretsManagerClient, 'send'>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(options: SecretStoreOptions = {}) {
    this.#client = options.client ?? new SecretsManagerClient({});
    // The functions pass SECRETS_TTL_SECONDS here, validated with the rest of their environment (config/env.ts).
    this.#ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The secret's JSON value, validated with `schema`; cached for the TTL. */
  async get<S extends z.ZodMiniType>(name: string, schema: S): Promise<z.infer<S>> {
    const now = this.#now();
    let entry = this.#cache.get(name);
    if (entry === undefined || entry.expiresAt <= now) {
      entry = { expiresAt: now + this.#ttlMs, value: this.#fetch(name) };
      this.#cache.set(name, entry);
      // A failed read is not cached: the next caller tries again.
      entry.value.catch(() => {
        if (this.#cache.get(name) === entry) this.#cache.delete(name);
      });
    }
    const raw = await entry.value;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new SecretFormatError(name, describeIssues(parsed.error));
    return parsed.data as z.infer<S>;
  }

  /** Drop one cached secret so the next read goes to Secrets Manager. */
  forget(name: string): void {
    this.#cache.delete(name);
  }

  async #fetch(name: string): Promise<unknown> {
    let text: string | undefined;
    try {
      const out = await this.#client.send(new GetSecretValueCommand({ SecretId: name }));
      text = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    } catch (error) {
      if (
        error instanceof ResourceNotFoundException ||
        (error as { name?: string }).name === 'ResourceNotFoundException'
      ) {
        throw new SecretNotFoundError(name);
      }
      throw error;
    }
    if (text === undefined) throw new SecretFormatError(name, 'it has no value');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new SecretFormatError(name, 'its value is not JSON');
    }
  }
}

/** `contact-relay/{stage}/provider/{account}` */
export function providerSecretName(stage: string, account: string): string {
  return `contact-relay/${stage}/provider/${account}`;
}

/** `contact-relay/{stage}/source/{source}` */
export function sourceSecretName(stage: string, source: string): string {
  return `contact-relay/${stage}/source/${source}`;
}
