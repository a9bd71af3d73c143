/**
 * How fast each provider account may be written to: its own `rate`, else its provider's default, which stays
 * under the provider's documented limit even in the worst minute (a full burst, then the rate).
 */
import { describe, expect, it } from 'vitest';
import {
  accountRate,
  DEFAULT_ACCOUNT_RATES,
  findRoute,
  parseRoutesConfig,
  PROVIDERS,
  RouteConfigError,
} from '../../../shared/config/routes.js';

const withAccounts = (accounts: Record<string, unknown>) => () =>
  parseRoutesConfig({ accounts, sources: { form: { default: { deliverTo: Object.keys(accounts) } } } });

/** The documented limits, a minute: 2Chat per account; Kirim Free writes; Callbell 300/s; Chatwoot per IP. */
const DOCUMENTED_PER_MINUTE = { twochat: 80, kirim: 60, callbell: 300 * 60, chatwoot: 3000 };

describe('Constant: DEFAULT_ACCOUNT_RATES', () => {
  it.each(PROVIDERS)('keeps %s under its documented limit in any minute, burst included', (provider) => {
    const { perMinute, burst } = DEFAULT_ACCOUNT_RATES[provider];
    expect(burst).toBeGreaterThanOrEqual(1);
    expect(burst + perMinute).toBeLessThan(DOCUMENTED_PER_MINUTE[provider]);
  });

  it('keeps Callbell under 300 requests in any second, burst included', () => {
    const { perMinute, burst } = DEFAULT_ACCOUNT_RATES.callbell;
    expect(burst + perMinute / 60).toBeLessThan(300);
  });
});

describe('Function: accountRate', () => {
  it('gives an account without a rate its provider default', () => {
    const config = withAccounts({ shop: { provider: 'twochat' }, crm: { provider: 'chatwoot' } })();
    const accounts = findRoute(config, 'form', 'default')?.accounts ?? [];
    expect(accounts.map(accountRate)).toEqual([DEFAULT_ACCOUNT_RATES.twochat, DEFAULT_ACCOUNT_RATES.chatwoot]);
  });

  it('takes an account’s own rate and burst (a Kirim Pro plan)', () => {
    const config = withAccounts({ pro: { provider: 'kirim', rate: { perMinute: 540, burst: 30 } } })();
    expect(accountRate(config.accounts['pro']!)).toEqual({ perMinute: 540, burst: 30 });
  });

  it('makes a tenth of perMinute the burst when none is given, and at least one', () => {
    const config = withAccounts({
      pro: { provider: 'kirim', rate: { perMinute: 540 } },
      trial: { provider: 'twochat', rate: { perMinute: 5 } },
    })();
    expect(accountRate(config.accounts['pro']!)).toEqual({ perMinute: 540, burst: 54 });
    expect(accountRate(config.accounts['trial']!)).toEqual({ perMinute: 5, burst: 1 });
  });
});

describe('Function: parseRoutesConfig (account rate)', () => {
  it.each([
    [{ perMinute: 0 }, 'accounts.shop.rate.perMinute: '],
    [{ perMinute: 12.5 }, 'accounts.shop.rate.perMinute: '],
    [{ perMinute: 60_001 }, 'accounts.shop.rate.perMinute: '],
    [{ perMinute: '70' }, 'accounts.shop.rate.perMinute: '],
    [{}, 'accounts.shop.rate.perMinute: '],
    [{ perMinute: 70, burst: 0 }, 'accounts.shop.rate.burst: '],
    [{ perMinute: 70, burst: 1.5 }, 'accounts.shop.rate.burst: '],
    [{ perMinute: 70, burst: 71 }, 'accounts.shop.rate.burst: must not exceed perMinute (70)'],
    [{ perMinute: 70, perSecond: 2 }, 'accounts.shop.rate: '],
  ])('refuses rate %j, naming the field', (rate, message) => {
    const parse = withAccounts({ shop: { provider: 'twochat', rate } });
    expect(parse).toThrow(RouteConfigError);
    expect(parse).toThrow(message);
  });

  it('refuses a rate that is not an object', () => {
    expect(withAccounts({ shop: { provider: 'twochat', rate: 70 } })).toThrow('accounts.shop.rate: ');
  });
});
