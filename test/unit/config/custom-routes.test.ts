/**
 * A `custom` route's options are checked when the config loads, each error
 * naming the field that is wrong.
 */
import { describe, expect, it } from 'vitest';
import {
  findRoute,
  parseRoutesConfig,
  RouteConfigError,
  routeAuth,
  type ResolvedRoute,
} from '../../../shared/config/routes.js';

const accounts = { twochat: { provider: 'twochat' } };
const load = (route: Record<string, unknown>) => () =>
  parseRoutesConfig({ accounts, sources: { custom: { lead: { deliverTo: ['twochat'], ...route } } } });
const loaded = (route: Record<string, unknown>) => findRoute(load(route)(), 'custom', 'lead') as ResolvedRoute;

describe('Function: parseRoutesConfig (custom routes)', () => {
  it('refuses a pointer without its leading "/", naming the field', () => {
    const parse = load({ custom: { fields: { email: 'email' } } });
    expect(parse).toThrow(RouteConfigError);
    expect(parse).toThrow('sources.custom.lead.custom.fields.email: must be a JSON pointer');
  });

  it('refuses a pointer with a bare "~", in a list and in attributes', () => {
    expect(load({ custom: { fields: { phone: ['/mobile', '/a~b'] } } })).toThrow(
      'sources.custom.lead.custom.fields.phone[1]: must be a JSON pointer',
    );
    expect(load({ custom: { fields: { attributes: { plan: 'plan' } } } })).toThrow(
      'custom.fields.attributes.plan: must be a JSON pointer',
    );
    expect(load({ custom: { fields: { email: '/email' }, eventId: 'id' } })).toThrow(
      'custom.eventId: must be a JSON pointer',
    );
  });

  it('refuses a custom route without custom options', () => {
    expect(load({})).toThrow('sources.custom.lead.custom: a custom route needs "custom"');
  });

  it('refuses auth "hmac" without signature settings', () => {
    expect(load({ auth: 'hmac', custom: { fields: { email: '/email' } } })).toThrow(
      'sources.custom.lead.custom.signature: needed when auth is "hmac"',
    );
  });

  it('refuses signature settings on a token or open route', () => {
    expect(
      load({ auth: 'token', custom: { fields: { email: '/email' }, signature: { header: 'X-Signature' } } }),
    ).toThrow('sources.custom.lead.auth: must be "hmac" (or unset) when custom.signature is set');
  });

  it('refuses {timestamp} in the signed string without a timestampHeader, and the reverse', () => {
    const noHeader = { header: 'X-Sig', signedString: '{timestamp}.{body}' };
    expect(load({ custom: { fields: { email: '/email' }, signature: noHeader } })).toThrow(
      'sources.custom.lead.custom.signature: signedString contains {timestamp} exactly when timestampHeader is set',
    );
    const unused = { header: 'X-Sig', timestampHeader: 'X-Timestamp' };
    expect(load({ custom: { fields: { email: '/email' }, signature: unused } })).toThrow(
      'signedString contains {timestamp} exactly when timestampHeader is set',
    );
  });

  it('refuses a signed string without {body}, an unknown algorithm or encoding, a bad header name', () => {
    const fields = { email: '/email' };
    expect(load({ custom: { fields, signature: { header: 'X-Sig', signedString: '{timestamp}' } } })).toThrow(
      'custom.signature.signedString: must contain {body}',
    );
    expect(load({ custom: { fields, signature: { header: 'X-Sig', algorithm: 'md5' } } })).toThrow(
      'custom.signature.algorithm',
    );
    expect(load({ custom: { fields, signature: { header: 'X-Sig', encoding: 'base32' } } })).toThrow(
      'custom.signature.encoding',
    );
    expect(load({ custom: { fields, signature: { header: 'X Sig' } } })).toThrow(
      'custom.signature.header: must be a header name',
    );
    expect(load({ custom: { fields, signature: { header: 'X-Sig', toleranceSeconds: 3601 } } })).toThrow(
      'custom.signature.toleranceSeconds',
    );
  });

  it('refuses plain "fields" on a custom route: custom routes map by pointer', () => {
    expect(load({ fields: { email: ['email'] }, custom: { fields: { email: '/email' } } })).toThrow(
      'sources.custom.lead.fields: custom routes map fields by JSON pointer in "custom.fields"',
    );
  });

  it('refuses a honeypot that custom.fields reads from the top of the body', () => {
    const protection = { honeypot: 'email' };
    expect(load({ auth: 'none', protection, custom: { fields: { email: ['/email'] } } })).toThrow(
      'sources.custom.lead.protection.honeypot: "email" is a member custom.fields reads',
    );
    expect(
      load({ auth: 'none', protection: { honeypot: 'a/b' }, custom: { fields: { attributes: { x: '/a~1b' } } } }),
    ).toThrow('protection.honeypot');
    // A member deeper in the body is not the top-level honeypot.
    expect(
      loaded({ auth: 'none', protection, custom: { fields: { email: '/contact/email' } } }).protection?.honeypot,
    ).toBe('email');
  });

  it('refuses an unknown contact field under custom.fields', () => {
    expect(load({ custom: { fields: { mobile: '/mobile' } } })).toThrow('custom.fields');
  });

  it('fills the signature defaults and makes the route hmac', () => {
    const route = loaded({ custom: { fields: { email: '/email' }, signature: { header: 'X-Signature' } } });
    expect(route.custom?.signature).toEqual({
      header: 'X-Signature',
      algorithm: 'sha256',
      encoding: 'hex',
      signedString: '{body}',
      toleranceSeconds: 300,
    });
    expect(routeAuth(route)).toBe('hmac');
  });

  it('is a token route by default, and may be open', () => {
    expect(routeAuth(loaded({ custom: { fields: { email: '/email' } } }))).toBe('token');
    expect(routeAuth(loaded({ auth: 'none', custom: { fields: { email: '/email' } } }))).toBe('none');
  });
});
