import { findRoute, parseRoutesConfig, type ResolvedRoute, type Route } from '../../shared/config/routes.js';
import type { SourceName } from '../../shared/contact.js';

/** A resolved route for tests: `deliverTo` one 2Chat account unless options say otherwise. */
export function testRoute(options: Partial<Route> & { source?: SourceName } = {}): ResolvedRoute {
  const { source = 'form', ...route } = options;
  const config = parseRoutesConfig({
    accounts: {
      twochat: { provider: 'twochat' },
      kirim: { provider: 'kirim' },
      callbell: { provider: 'callbell' },
      chatwoot: { provider: 'chatwoot' },
    },
    sources: { [source]: { default: { deliverTo: ['twochat'], ...route } } },
  });
  return findRoute(config, source, 'default') as ResolvedRoute;
}
