/**
 * The pipeline of local/pipeline.ts in a test process, with the itest
 * stage's secrets, its environment stubbed through vitest, and optionally a
 * route config in place of config/routes.json.
 */
import { vi } from 'vitest';
import shippedRoutes from '../../config/routes.json' with { type: 'json' };
import { startLocalPipeline, type LocalPipeline } from '../../local/pipeline.js';
import type { FunctionRoles } from '../../local/emulator/iam.js';

export const STAGE = 'itest';
export const SHOP = 'itest-shop.myshopify.com';
/** Every source's secret in the pipeline: signs HMAC sources, and is the token of token sources. */
export const SOURCE_SECRET = { secret: 'itest-signing-secret', token: 'itest-token' };
/** Meta Lead Ads routes' secret: the app secret signs webhooks, the page token reads the page's leads from Graph. */
export const META_PAGE_ID = '100000000000001';
export const META_SECRET = {
  appSecret: SOURCE_SECRET.secret,
  verifyToken: 'itest-verify-token',
  pageAccessTokens: { [META_PAGE_ID]: 'itest-page-token' },
};
export const PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;
export const KEYS = {
  twochat: 'itest-2chat-key',
  kirim: 'itest-kirim-key',
  callbell: 'itest-callbell-key',
  chatwoot: 'itest-chatwoot-key',
};

export type Pipeline = LocalPipeline;

export interface PipelineOptions {
  visibilityTimeoutSeconds?: number;
  logLevel?: 'DEBUG' | 'INFO' | 'SILENT';
  /** The roles the functions' AWS calls are evaluated against; the project's own by default. */
  roles?: FunctionRoles;
  /** The route config the functions load instead of config/routes.json (validated as at cold start). */
  routes?: unknown;
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  return startLocalPipeline({
    stage: STAGE,
    sourceSecret: SOURCE_SECRET,
    providerKeys: KEYS,
    moreSecrets: {
      [`contact-relay/${STAGE}/shopify-admin/default`]: { shopDomain: SHOP, accessToken: 'itest-shopify-token' },
      [`contact-relay/${STAGE}/source/meta-leads`]: META_SECRET,
      // The person index's hashes are keyed with it (shared/person-key.ts).
      [`contact-relay/${STAGE}/lookup-key`]: { key: 'itest-lookup-key-of-at-least-32-characters' },
    },
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 1,
    ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
    ...(options.roles !== undefined ? { roles: options.roles } : {}),
    // Through vitest, so each pipeline imports the handlers afresh and the test file's environment is restored after.
    setEnv: (env) => {
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
      vi.resetModules();
      const routes = unpaced(options.routes ?? shippedRoutes);
      vi.doMock('../../config/routes.json', () => ({ default: routes }));
      return () => {
        vi.unstubAllEnvs();
        vi.doUnmock('../../config/routes.json');
      };
    },
  });
}

/**
 * The route config with every account that names no rate allowed the most the bucket takes: the tests send
 * in a second what providers' documented rates spread over minutes. Pacing has its own tests, whose accounts
 * name their rates (test/unit/pacing.test.ts, test/integration/pacing.test.ts).
 */
export function unpaced(routes: unknown): unknown {
  const config = routes as { accounts?: Record<string, Record<string, unknown>> };
  if (config.accounts === undefined) return routes;
  const accounts = Object.fromEntries(
    Object.entries(config.accounts).map(([name, account]) => [
      name,
      'rate' in account ? account : { ...account, rate: { perMinute: 60_000, burst: 60_000 } },
    ]),
  );
  return { ...config, accounts };
}

/** Poll until `check` passes or the time is up (the queue is asynchronous). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
