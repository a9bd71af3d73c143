import { isSupportedCountry } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { isRegion } from '../../../shared/config/regions.js';
import { parseRoutesConfig } from '../../../shared/config/routes.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const everyTwoLetterCode = [...LETTERS].flatMap((first) => [...LETTERS].map((second) => `${first}${second}`));

describe('the regions a route may name', () => {
  it('are exactly the regions libphonenumber-js reads national numbers of, so a route never names one it cannot', () => {
    const differing = everyTwoLetterCode.filter((code) => isRegion(code) !== isSupportedCountry(code));
    expect(differing).toEqual([]);
    expect(everyTwoLetterCode.filter((code) => isRegion(code)).length).toBeGreaterThan(200);
  });

  it('are matched in any case', () => {
    expect(isRegion('gb')).toBe(true);
    expect(isRegion('Us')).toBe(true);
    expect(isRegion('UK')).toBe(false);
  });

  it('let a route name one as its defaultRegion and refuse any other, naming the field', () => {
    const withRegion = (defaultRegion: string) => ({
      sources: { typeform: { default: { deliverTo: ['main'], defaultRegion } } },
      accounts: { main: { provider: 'twochat' } },
    });
    expect(() => parseRoutesConfig(withRegion('GB'))).not.toThrow();
    expect(() => parseRoutesConfig(withRegion('UK'))).toThrow(
      'sources.typeform.default.defaultRegion: must be an ISO 3166-1 alpha-2 region',
    );
  });
});
