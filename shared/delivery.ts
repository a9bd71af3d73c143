/**
 * Delivery of one Contact to every provider account of its route. Each
 * account ends in exactly one outcome; one provider's failure never stops
 * another's delivery. Kept behind this one function so it can move behind
 * a queue without the sources noticing.
 */
import type { Contact } from './contact.js';
import type { ProviderName, ResolvedRoute } from './config/routes.js';
import { SecretFormatError, SecretNotFoundError } from './secrets.js';
import { deliverWithAdapter } from './providers/engine.js';
import { callbellAdapter } from './providers/callbell.js';
import { chatwootAdapter } from './providers/chatwoot.js';
import { kirimAdapter } from './providers/kirim.js';
import { twoChatAdapter } from './providers/twochat.js';
import type { Outcome, ProviderAdapter, ProviderContext } from './providers/types.js';

export type { Outcome } from './providers/types.js';

const ADAPTERS: Partial<Record<ProviderName, ProviderAdapter>> = {
  twochat: twoChatAdapter,
  kirim: kirimAdapter,
  callbell: callbellAdapter,
  chatwoot: chatwootAdapter,
};

export async function deliverContact(contact: Contact, route: ResolvedRoute, context: ProviderContext): Promise<Outcome[]> {
  return Promise.all(
    route.accounts.map(async (account): Promise<Outcome> => {
      const base = { account: account.name, provider: account.provider };
      const adapter = ADAPTERS[account.provider];
      if (adapter === undefined) return { ...base, status: 'failed', code: 'provider_not_supported', message: `provider "${account.provider}" is not supported yet` };
      try {
        return await deliverWithAdapter(adapter, contact, { route, account }, context);
      } catch (error) {
        // A missing or malformed secret is a configuration fault: the delivery can succeed once it is fixed.
        if (error instanceof SecretNotFoundError || error instanceof SecretFormatError) {
          return { ...base, status: 'transient', message: error.message };
        }
        throw error;
      }
    }),
  );
}
