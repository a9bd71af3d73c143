/**
 * The emulator, a Secrets Manager client and an HTTP client for one describe
 * block of provider tests that run the real adapter over real sockets.
 * Registers its own beforeAll/afterAll and resets the emulator before each test.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { ProviderName } from '../../shared/config/routes.js';
import { createHttpClient, type HttpClient } from '../../shared/http.js';
import type { ProviderContext } from '../../shared/providers/types.js';
import { SecretStore } from '../../shared/secrets.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';

export interface ProviderEmulatorOptions {
  stage: string;
  provider: ProviderName;
  /** Secret name → value, as the emulator's Secrets Manager serves them. */
  secrets: Record<string, unknown>;
  /** Keys the emulated provider accepts. */
  keys: string[];
  responseTimeoutMs?: number;
}

export interface ProviderEmulator {
  readonly server: Emulator;
  /** A fresh secret cache each call, so every delivery reads the secret as a cold function would. */
  providerContext(): ProviderContext;
  /** Calls the emulated provider received, as [method, path, status]. */
  calls(): Array<[string, string, number]>;
  secretReads(): number;
}

export function useProviderEmulator(options: ProviderEmulatorOptions): ProviderEmulator {
  let server: Emulator | undefined;
  let secretsClient: SecretsManagerClient | undefined;
  let http: HttpClient | undefined;
  const started = () => {
    if (server === undefined || secretsClient === undefined || http === undefined)
      throw new Error('the emulator is not started yet');
    return { server, secretsClient, http };
  };

  beforeAll(async () => {
    server = await startEmulator({ secrets: options.secrets, credentials: { [options.provider]: options.keys } });
    const credentials = { accessKeyId: 't', secretAccessKey: 't' };
    secretsClient = new SecretsManagerClient({ endpoint: server.url, region: 'us-east-1', credentials });
    http = createHttpClient({ connectTimeoutMs: 1000, responseTimeoutMs: options.responseTimeoutMs ?? 2000 });
  });
  afterAll(async () => {
    http?.close();
    secretsClient?.destroy();
    await server?.close();
  });
  beforeEach(() => started().server.state.reset());

  return {
    get server() {
      return started().server;
    },
    providerContext: () => {
      const { server: emulator, secretsClient: client, http: httpClient } = started();
      return {
        stage: options.stage,
        secrets: new SecretStore({ client }),
        http: httpClient,
        baseUrls: { [options.provider]: `${emulator.url}/${options.provider}` },
        retry: { baseDelayMs: 1, maxDelayMs: 5 },
      };
    },
    calls: () =>
      started()
        .server.state.requests.filter((request) => request.provider === options.provider)
        .map((request): [string, string, number] => [request.method, request.path, request.status]),
    secretReads: () =>
      started().server.state.requests.filter((request) => request.provider === 'secretsmanager').length,
  };
}
