/**
 * Every provider client, by the provider name a route's account gives. The
 * adapters are pure request builders and answer readers; the engine
 * (engine.ts) runs them.
 */
import type { ProviderName } from '../config/routes.js';
import { callbellAdapter } from './callbell.js';
import { chatwootAdapter } from './chatwoot.js';
import { kirimAdapter } from './kirim.js';
import { twoChatAdapter } from './twochat.js';
import type { ProviderAdapter } from './types.js';

export const PROVIDER_ADAPTERS: Readonly<Record<ProviderName, ProviderAdapter>> = {
  twochat: twoChatAdapter,
  kirim: kirimAdapter,
  callbell: callbellAdapter,
  chatwoot: chatwootAdapter,
};
