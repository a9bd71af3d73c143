/**
 * Route options that belong to one source are refused on any other, and a
 * Meta Lead Ads route's own secret stays where deliver may read it.
 */
import { describe, expect, it } from 'vitest';
import {
  parseRoutesConfig,
  RouteConfigError,
  routeAuth,
  findRoute,
  type ResolvedRoute,
} from '../../../shared/config/routes.js';

const accounts = { twochat: { provider: 'twochat' } };
const config = (sources: Record<string, unknown>) => () => parseRoutesConfig({ accounts, sources });

describe('Function: parseRoutesConfig (source options)', () => {
  it.each([
    ['metaLeads', { graphApiVersion: 'v24.0' }, 'typeform', 'only Meta Lead Ads routes read leads from the Graph API'],
    ['calendly', { toleranceSeconds: 60 }, 'meta-leads', 'only Calendly routes have Calendly options'],
    ['custom', { fields: { email: '/email' } }, 'form', 'only custom routes map JSON by pointer'],
  ])('refuses %s on a %s route, naming the field', (option, value, source, message) => {
    const parse = config({ [source]: { default: { deliverTo: ['twochat'], [option]: value } } });
    expect(parse).toThrow(RouteConfigError);
    expect(parse).toThrow(`sources.${source}.default.${option}: ${message}`);
  });

  it('takes each option on its own source', () => {
    const parsed = parseRoutesConfig({
      accounts,
      sources: {
        'meta-leads': { default: { deliverTo: ['twochat'], metaLeads: { graphApiVersion: 'v24.0' } } },
        calendly: { default: { deliverTo: ['twochat'], calendly: { toleranceSeconds: 300 } } },
      },
    });
    expect(findRoute(parsed, 'calendly', 'default')?.calendly?.toleranceSeconds).toBe(300);
    expect(findRoute(parsed, 'meta-leads', 'default')?.metaLeads?.graphApiVersion).toBe('v24.0');
  });

  it('refuses a Graph API version that is not one, and a Calendly tolerance over an hour', () => {
    expect(
      config({ 'meta-leads': { default: { deliverTo: ['twochat'], metaLeads: { graphApiVersion: '24' } } } }),
    ).toThrow('metaLeads.graphApiVersion: must be a Graph API version such as "v24.0"');
    expect(config({ calendly: { default: { deliverTo: ['twochat'], calendly: { toleranceSeconds: 3601 } } } })).toThrow(
      'calendly.toleranceSeconds',
    );
  });

  it('keeps a Meta Lead Ads route’s own secret under source/meta-leads, where deliver may read it', () => {
    const named = (secretName: string) => config({ 'meta-leads': { brand: { deliverTo: ['twochat'], secretName } } });
    expect(named('contact-relay/prod/source/typeform')).toThrow(
      'sources.meta-leads.brand.secretName: must be named "contact-relay/{stage}/source/meta-leads…"',
    );
    expect(named('contact-relay/prod/source/meta-leads-brand')).not.toThrow();
  });

  it('signs with hmac only on Meta Lead Ads and Calendly routes', () => {
    expect(config({ calendly: { default: { deliverTo: ['twochat'], auth: 'none' } } })).toThrow(
      'calendly routes can use "hmac"',
    );
    expect(config({ 'meta-leads': { default: { deliverTo: ['twochat'], auth: 'token' } } })).toThrow(
      'meta-leads routes can use "hmac"',
    );
    const parsed = parseRoutesConfig({ accounts, sources: { calendly: { default: { deliverTo: ['twochat'] } } } });
    expect(routeAuth(findRoute(parsed, 'calendly', 'default') as ResolvedRoute)).toBe('hmac');
  });
});
