import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  findRoute,
  parseRoutesConfig,
  RouteConfigError,
  routeAuth,
  type ResolvedRoute,
} from '../../../shared/config/routes.js';
import { SOURCES } from '../../../shared/contact.js';

const shipped = JSON.parse(readFileSync(new URL('../../../config/routes.json', import.meta.url), 'utf8')) as unknown;

const valid = () => ({
  accounts: { main: { provider: 'twochat' } },
  sources: { form: { default: { deliverTo: ['main'] } } },
});

function errorOf(raw: unknown): string {
  try {
    parseRoutesConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(RouteConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('Function: parseRoutesConfig', () => {
  it('accepts the shipped config/routes.json with a default route for every source', () => {
    const config = parseRoutesConfig(shipped);
    for (const source of SOURCES) expect(findRoute(config, source, 'default'), source).toBeDefined();
  });

  it('fills defaults for optional route options', () => {
    const route = parseRoutesConfig(valid()).sources.form?.['default'];
    expect(route).toMatchObject({ whatsappNumbers: false, tags: [] });
  });

  it('names an unknown account in deliverTo with its path', () => {
    const raw = valid();
    raw.sources.form.default.deliverTo = ['main', 'nope'];
    expect(errorOf(raw)).toContain(
      'sources.form.default.deliverTo[1]: unknown account "nope" (accounts defined: main)',
    );
  });

  it('names an unknown provider', () => {
    const raw = { ...valid(), accounts: { main: { provider: 'whatsapp-cloud' } } };
    expect(errorOf(raw)).toMatch(/accounts\.main\.provider: Invalid option/);
  });

  it('names an unknown source', () => {
    const raw = { ...valid(), sources: { formz: { default: { deliverTo: ['main'] } } } };
    expect(errorOf(raw)).toContain('sources: Unrecognized key: "formz"');
  });

  it('names a misspelt route option instead of ignoring it', () => {
    const raw = { ...valid(), sources: { form: { default: { deliverTo: ['main'], defaultRegon: 'US' } } } };
    expect(errorOf(raw)).toMatch(/sources\.form\.default.*defaultRegon/);
  });

  it('rejects a default region libphonenumber does not know', () => {
    const raw = { ...valid(), sources: { form: { default: { deliverTo: ['main'], defaultRegion: 'UK' } } } };
    expect(errorOf(raw)).toContain('sources.form.default.defaultRegion: must be an ISO 3166-1 alpha-2 region');
  });

  it('rejects an empty deliverTo', () => {
    const raw = { ...valid(), sources: { form: { default: { deliverTo: [] } } } };
    expect(errorOf(raw)).toContain('sources.form.default.deliverTo: Too small');
  });

  it('rejects an account listed twice on one route', () => {
    const raw = { ...valid(), sources: { form: { default: { deliverTo: ['main', 'main'] } } } };
    expect(errorOf(raw)).toContain('sources.form.default.deliverTo: lists an account twice');
  });

  it('rejects route names that cannot be a URL segment', () => {
    const raw = { ...valid(), sources: { form: { 'My Route': { deliverTo: ['main'] } } } };
    expect(errorOf(raw)).toContain(
      'sources.form.My Route: route name "My Route" must be lower-case letters, digits and dashes',
    );
  });

  it('rejects a Callbell assigned user that is not an email', () => {
    const raw = {
      ...valid(),
      sources: { form: { default: { deliverTo: ['main'], callbell: { assignedUser: 'bob' } } } },
    };
    expect(errorOf(raw)).toContain('sources.form.default.callbell.assignedUser: Invalid email');
  });

  it('refuses an auth mode the sender cannot do', () => {
    const raw = {
      ...valid(),
      sources: {
        typeform: { default: { deliverTo: ['main'], auth: 'none' } },
        jotform: { default: { deliverTo: ['main'], auth: 'hmac' } },
      },
    };
    const message = errorOf(raw);
    expect(message).toContain('sources.typeform.default.auth: typeform routes can use "hmac"');
    expect(message).toContain('sources.jotform.default.auth: jotform routes can use "token"');
  });

  it('defaults auth per source', () => {
    const config = parseRoutesConfig({
      ...valid(),
      sources: {
        form: { default: { deliverTo: ['main'] } },
        tally: { default: { deliverTo: ['main'] } },
        jotform: { default: { deliverTo: ['main'] } },
      },
    });
    expect(
      ['form', 'tally', 'jotform'].map((source) =>
        routeAuth(findRoute(config, source as 'form', 'default') as ResolvedRoute),
      ),
    ).toEqual(['none', 'hmac', 'token']);
  });

  it('refuses shop domains on other sources and malformed ones', () => {
    expect(
      errorOf({
        ...valid(),
        sources: { form: { default: { deliverTo: ['main'], shopDomains: ['a.myshopify.com'] } } },
      }),
    ).toContain('only Shopify routes have shop domains');
    expect(
      errorOf({
        ...valid(),
        sources: { shopify: { default: { deliverTo: ['main'], shopDomains: ['https://a.com'] } } },
      }),
    ).toContain('must be a shop domain');
  });

  it('lists every problem at once', () => {
    const raw = { accounts: {}, sources: { form: { default: { deliverTo: ['a'] }, other: { deliverTo: ['b'] } } } };
    const message = errorOf(raw);
    expect(message).toContain('sources.form.default.deliverTo[0]');
    expect(message).toContain('sources.form.other.deliverTo[0]');
  });
});

describe('Function: parseRoutesConfig (secret names)', () => {
  const shopify = (route: Record<string, unknown>) => ({
    ...valid(),
    sources: { shopify: { main: { deliverTo: ['main'], ...route } } },
  });
  const ADMIN = 'contact-relay/prod/shopify-admin/main-shop';

  it('takes a route secret under contact-relay/{stage}/source/ and a reconcile secret under …/shopify-admin/', () => {
    const raw = shopify({ secretName: 'contact-relay/prod/source/main-shop', reconcile: { secretName: ADMIN } });
    const route = parseRoutesConfig(raw).sources.shopify?.['main'];
    expect([route?.secretName, route?.reconcile?.secretName]).toEqual(['contact-relay/prod/source/main-shop', ADMIN]);
  });

  it.each([
    'contact-relay/prod/main-shop',
    'contact-relay/prod/provider/main-shop',
    'contact-relay/prod/shopify-admin/main-shop',
    'contact-relay/prod/source/',
    'other-app/prod/source/main-shop',
    'main-shop',
  ])('refuses the route secret "%s", which no ingest role may read, naming the field', (secretName) => {
    expect(errorOf(shopify({ secretName }))).toContain(
      'sources.shopify.main.secretName: must start with "contact-relay/{stage}/source/": ' +
        'the ingest functions may read no other secret',
    );
  });

  it.each(['contact-relay/prod/source/main-shop', 'contact-relay/prod/provider/admin', 'shop-admin'])(
    'refuses the reconcile secret "%s", which the reconcile role may not read, naming the field',
    (secretName) => {
      expect(errorOf(shopify({ reconcile: { secretName } }))).toContain(
        'sources.shopify.main.reconcile.secretName: must start with "contact-relay/{stage}/shopify-admin/": ' +
          'reconcile may read no other secret',
      );
    },
  );

  it('with a stage (osls package, cold start), refuses another stage’s secret', () => {
    const raw = shopify({ secretName: 'contact-relay/prod/source/main', reconcile: { secretName: ADMIN } });
    const route = parseRoutesConfig(raw, 'config/routes.json', 'prod').sources.shopify?.['main'];
    expect(route?.secretName).toBe('contact-relay/prod/source/main');
    let message = '';
    try {
      parseRoutesConfig(raw, 'config/routes.json', 'dev');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'invalid route config config/routes.json: ' +
        'sources.shopify.main.secretName: must start with "contact-relay/dev/source/": ' +
        'the ingest functions may read no other secret; ' +
        'sources.shopify.main.reconcile.secretName: must start with "contact-relay/dev/shopify-admin/": ' +
        'reconcile may read no other secret',
    );
  });
});

describe('Function: findRoute', () => {
  it('resolves the accounts a route delivers to', () => {
    const route = findRoute(parseRoutesConfig(valid()), 'form', 'default');
    expect(route?.accounts).toEqual([{ name: 'main', provider: 'twochat' }]);
  });

  it('finds nothing for an unknown route or an inherited property name', () => {
    const config = parseRoutesConfig(valid());
    expect(findRoute(config, 'form', 'other')).toBeUndefined();
    expect(findRoute(config, 'form', 'constructor')).toBeUndefined();
    expect(findRoute(config, 'shopify', 'default')).toBeUndefined();
  });
});
