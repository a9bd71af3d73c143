/**
 * What a warm container keeps between invocations: validated env and route
 * config, one secrets cache, one keep-alive HTTP client. Built once at cold
 * start; a bad env or route file fails here with the field named.
 */
import routesFile from '../config/routes.json' with { type: 'json' };
import { loadEnv, providerBaseUrls } from './config/env.js';
import { parseRoutesConfig, type RoutesConfig } from './config/routes.js';
import { createHttpClient } from './http.js';
import type { ProviderContext } from './providers/types.js';
import { SecretStore } from './secrets.js';

export interface Runtime {
  routes: RoutesConfig;
  providers: ProviderContext;
}

export function createRuntime(env: Record<string, string | undefined> = process.env, routes: unknown = routesFile): Runtime {
  const config = loadEnv(env);
  return {
    routes: parseRoutesConfig(routes),
    providers: {
      stage: config.STAGE,
      secrets: new SecretStore(config.SECRETS_TTL_SECONDS === undefined ? {} : { ttlMs: Number(config.SECRETS_TTL_SECONDS) * 1000 }),
      http: createHttpClient(),
      baseUrls: providerBaseUrls(config),
    },
  };
}
