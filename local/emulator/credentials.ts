/**
 * Which credentials the emulator accepts: the ones the local secrets give
 * each provider account of the route config, so the local stack
 * authenticates exactly as it would in AWS.
 */
import type { RoutesConfig } from '../../shared/config/routes.js';
import type { EmulatedProvider } from './state.js';

/** The secret field each provider's key lives in (README, "Secrets"). */
const CREDENTIAL_FIELD: Record<EmulatedProvider, string> = {
  twochat: 'apiKey',
  kirim: 'token',
  callbell: 'token',
  chatwoot: 'accessToken',
};

export function credentialsFromSecrets(
  routes: RoutesConfig,
  secrets: Record<string, unknown>,
  stage: string,
): Record<EmulatedProvider, string[]> {
  const out: Record<EmulatedProvider, string[]> = { twochat: [], kirim: [], callbell: [], chatwoot: [] };
  for (const [account, { provider }] of Object.entries(routes.accounts)) {
    const secret = secrets[`contact-relay/${stage}/provider/${account}`];
    const value =
      typeof secret === 'object' && secret !== null
        ? (secret as Record<string, unknown>)[CREDENTIAL_FIELD[provider]]
        : undefined;
    if (typeof value === 'string') out[provider].push(value);
  }
  return out;
}
