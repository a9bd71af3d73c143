/**
 * The scheduled provider health check: one cheap authenticated GET per
 * provider account of the route config (the adapter's `healthCheck`), so a
 * revoked key, a deleted secret or a provider outage shows up before
 * deliveries start failing, and redrive knows when providers answer again.
 *
 * Each account ends in exactly one AccountHealth; one account's trouble never
 * hides another's. A 401/403 drops the cached secret and reads it once more,
 * as delivery does, so a key rotated since the last read is not reported.
 * Results carry the secret's name, never its values.
 */
import type { ProviderName, RoutesConfig } from '../config/routes.js';
import { HttpTransportError, type HttpResponse } from '../http.js';
import { PROVIDER_ADAPTERS } from '../providers/index.js';
import { parseJson, type ProviderContext } from '../providers/types.js';
import { providerSecretName, SecretFormatError, SecretNotFoundError } from '../secrets.js';
import * as z from '../zod.js';

type AccountHealthStatus =
  /** The provider accepted the key (2xx). */
  | 'ok'
  /** 401/403, also with the secret read afresh: the key is revoked or wrong. */
  | 'unauthorized'
  /** No usable answer: connection error, timeout, 408, 429 or 5xx — what delivery would retry. */
  | 'unreachable'
  /** Any other answer (e.g. 404 for an account or inbox id the provider does not know). */
  | 'failed'
  | 'secret_missing'
  | 'secret_invalid';

export interface AccountHealth {
  account: string;
  provider: ProviderName;
  healthy: boolean;
  status: AccountHealthStatus;
  httpStatus?: number;
  /** What went wrong, naming the secret, never a key. */
  message?: string;
}

/** The error text providers put in their bodies: 2Chat/Chatwoot `message`/`error`, Kirim `error.message`, devise `errors[]`. */
const ErrorBodySchema = z.object({
  message: z.optional(z.string()),
  error: z.optional(
    z.union([
      z.string(),
      z.object({ message: z.optional(z.nullable(z.string())), code: z.optional(z.nullable(z.string())) }),
    ]),
  ),
  errors: z.optional(z.array(z.unknown())),
});

const MAX_MESSAGE = 200;

function providerMessage(response: HttpResponse): string {
  const parsed = ErrorBodySchema.safeParse(parseJson(response.body));
  if (parsed.success) {
    const { message, error, errors } = parsed.data;
    const text =
      message ??
      (typeof error === 'string' ? error : (error?.message ?? error?.code ?? undefined)) ??
      errors?.filter((item) => typeof item === 'string').join('; ');
    if (text) return text.slice(0, MAX_MESSAGE);
  }
  return `HTTP ${response.status}`;
}

/** Secret fields that hold keys (apiKey, token, accessToken), as opposed to ids and hosts worth showing. */
const KEY_FIELD = /(secret|token|password|api[-_]?key|credential)/i;

/** The keys in the credentials taken out of a provider's text, in case it echoes what it refused. */
function withoutSecrets(text: string, credentials: unknown): string {
  let out = text;
  const entries = credentials !== null && typeof credentials === 'object' ? Object.entries(credentials) : [];
  for (const [field, value] of entries) {
    if (KEY_FIELD.test(field) && typeof value === 'string' && value !== '') out = out.split(value).join('[redacted]');
  }
  return out;
}

const isTransientStatus = (status: number) => status === 408 || status === 429 || status >= 500;

type Probe = { kind: 'answer'; response: HttpResponse } | { kind: 'transport'; message: string };

/** Check one account: read its secret, call the provider's health endpoint, re-read the secret once on 401/403. */
async function checkAccount(account: string, provider: ProviderName, context: ProviderContext): Promise<AccountHealth> {
  const base = { account, provider };
  const adapter = PROVIDER_ADAPTERS[provider];
  const secretName = providerSecretName(context.stage, account);
  const healthCheck = adapter.healthCheck;
  if (healthCheck === undefined) {
    return {
      ...base,
      healthy: false,
      status: 'failed',
      message: `the ${provider} adapter has no health check endpoint`,
    };
  }

  const readSecret = () => context.secrets.get(secretName, adapter.credentials);
  const probe = async (credentials: unknown): Promise<Probe> => {
    const baseUrl = (context.baseUrls[provider] ?? adapter.defaultBaseUrl(credentials)).replace(/\/+$/, '');
    try {
      return { kind: 'answer', response: await context.http.request(healthCheck(credentials, baseUrl)) };
    } catch (error) {
      if (error instanceof HttpTransportError) return { kind: 'transport', message: error.message };
      throw error;
    }
  };

  let credentials: unknown;
  try {
    credentials = await readSecret();
    let result = await probe(credentials);
    if (result.kind === 'answer' && (result.response.status === 401 || result.response.status === 403)) {
      // The key may have been rotated since it was cached: read it again, once,
      // and ask again only when the secret actually changed.
      context.secrets.forget(secretName);
      const fresh: unknown = await readSecret();
      if (JSON.stringify(fresh) !== JSON.stringify(credentials)) {
        credentials = fresh;
        result = await probe(credentials);
      }
    }

    if (result.kind === 'transport')
      return { ...base, healthy: false, status: 'unreachable', message: withoutSecrets(result.message, credentials) };
    const { status } = result.response;
    if (status >= 200 && status < 300) return { ...base, healthy: true, status: 'ok', httpStatus: status };
    const said = withoutSecrets(providerMessage(result.response), credentials);
    if (status === 401 || status === 403) {
      return {
        ...base,
        healthy: false,
        status: 'unauthorized',
        httpStatus: status,
        message: `${provider} refused the credentials in secret "${secretName}" (HTTP ${status}: ${said}); update the secret`,
      };
    }
    if (isTransientStatus(status))
      return {
        ...base,
        healthy: false,
        status: 'unreachable',
        httpStatus: status,
        message: `${provider} answered HTTP ${status}: ${said}`,
      };
    return {
      ...base,
      healthy: false,
      status: 'failed',
      httpStatus: status,
      message: `${provider} answered HTTP ${status}: ${said} (check the ids in secret "${secretName}")`,
    };
  } catch (error) {
    if (error instanceof SecretNotFoundError)
      return { ...base, healthy: false, status: 'secret_missing', message: error.message };
    if (error instanceof SecretFormatError)
      return { ...base, healthy: false, status: 'secret_invalid', message: error.message };
    // Secrets Manager itself failing (throttled, access denied) or a bug: reported for this account, the others still run.
    return {
      ...base,
      healthy: false,
      status: 'failed',
      message: withoutSecrets(`checking failed: ${(error as Error).message}`, credentials),
    };
  }
}

/** Every account of the route config, checked side by side. */
export async function checkProviderAccounts(
  routes: Pick<RoutesConfig, 'accounts'>,
  context: ProviderContext,
): Promise<AccountHealth[]> {
  return Promise.all(
    Object.entries(routes.accounts).map(([account, { provider }]) => checkAccount(account, provider, context)),
  );
}

export interface HealthSummary {
  checked: number;
  healthy: number;
  unhealthy: Array<Pick<AccountHealth, 'account' | 'provider' | 'status'>>;
}

export function summarizeHealth(results: readonly AccountHealth[]): HealthSummary {
  return {
    checked: results.length,
    healthy: results.filter((result) => result.healthy).length,
    unhealthy: results
      .filter((result) => !result.healthy)
      .map(({ account, provider, status }) => ({ account, provider, status })),
  };
}
