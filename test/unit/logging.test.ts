import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, maskEmail, maskingReplacer, maskPhone, maskText } from '../../shared/logging.js';

describe('Function: maskEmail / maskPhone', () => {
  it('keeps the first letter and the domain of an email', () => {
    expect(maskEmail('ada.lovelace@example.com')).toBe('a***@example.com');
  });

  it('keeps the country prefix and the last two digits of a phone', () => {
    expect(maskPhone('+14155550132')).toBe('+14*******32');
    expect(maskPhone('020 7946 0018')).toBe('*********18');
  });
});

describe('Function: maskText', () => {
  it('masks emails and phones inside free text', () => {
    const text = maskText('Phone number +14155550132 or (415) 555-0132 and ada@example.com already taken');
    expect(text).not.toMatch(/4155550132|555-0132|ada@/);
    expect(text).toContain('a***@example.com');
  });

  it('masks mistyped emails too (found by the property tests)', () => {
    for (const typo of ['a@@a.com', 'ada.lovelace @example.com', 'ada@ example.com', "ada'@example.com"]) {
      expect(maskText(`email "${typo}" is not an email address`)).not.toContain(typo);
    }
  });

  it('leaves dates, uuids and request ids readable', () => {
    const text = 'at 2026-11-21T05:10:01.123Z contact CON2226e836-36dc-4103-b2a2-6307749cf390 req_01HXYZ';
    expect(maskText(text)).toBe(text);
  });
});

describe('Function: maskingReplacer', () => {
  it('redacts values under secret-looking keys whatever they hold', () => {
    const line = JSON.stringify({ apiKey: 'k-123', headers: { authorization: 'Bearer abc', 'x-user-api-key': 'xyz' }, accessToken: 'tok', secretName: 'contact-relay/dev/provider/a' }, maskingReplacer);
    expect(line).not.toMatch(/k-123|abc|xyz|tok"/);
  });

  it('masks a phone sent as a JSON number', () => {
    expect(JSON.stringify({ phone: 14155550132 }, maskingReplacer)).not.toContain('4155550132');
  });

  it('keeps ids and counters', () => {
    expect(JSON.parse(JSON.stringify({ eventKey: 'shopify:12345678901234', count: 12, providerContactId: '1234567890' }, maskingReplacer))).toEqual({
      eventKey: 'shopify:12345678901234',
      count: 12,
      providerContactId: '1234567890',
    });
  });
});

describe('Function: createLogger', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes one JSON line with personal data masked and secrets removed', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const logger = createLogger('test');
    logger.info('delivery outcome', { email: 'ada@example.com', phone: '+14155550132', credentials: { apiKey: 'super-secret' }, error: new Error('+14155550132 is taken') });
    const output = lines.join('');
    expect(output).toContain('"message":"delivery outcome"');
    expect(output).not.toMatch(/ada@example\.com|4155550132|super-secret/);
  });
});
