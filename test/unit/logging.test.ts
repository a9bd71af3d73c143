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

  // Each written the way a person or a form tool types it; none was masked before NFKC and the wider separators.
  it.each([
    ['slashes', '415/555/01329', '41555501329'],
    ['underscores', '415_555_0132', '4155550132'],
    ['an underscore prefix', 'tel_4155550132', '4155550132'],
    ['full-width digits', '\uFF14\uFF11\uFF15\uFF15\uFF15\uFF15\uFF10\uFF11\uFF13\uFF12', '4155550132'],
    ['a full-width plus and hyphens', '\uFF0B1\uFF0D415\uFF0D555\uFF0D0132', '4155550132'],
    ['non-breaking hyphens', '415\u2011555\u20110132', '4155550132'],
    ['en and em dashes, a minus sign', '415\u2013555\u20140132 or 415\u2212555\u22120133', '4155550132'],
    ['non-breaking and ideographic spaces', '+1\u00A0415\u202F555\u30000132', '4155550132'],
    ['zero-width spaces, word joiners, soft hyphens', '415\u200B555\u20600132\u00AD', '4155550132'],
    ['dots', '415.555.0132', '4155550132'],
    ['square brackets and braces', '[415] {555} 0132', '4155550132'],
    ['wide gaps', '+1 (415) - 555 - 0132', '4155550132'],
    ['Arabic-Indic digits', '\u0664\u0661\u0665 \u0665\u0665\u0665 \u0660\u0661\u0663\u0662', '\u0665\u0665\u0665'],
  ])('masks a phone written with %s', (_, phone, digits) => {
    const masked = maskText(`phone "${phone}" could not be read`);
    expect(masked).not.toContain(phone);
    expect(masked).not.toContain(digits);
    expect(masked.normalize('NFKC').replace(/[^0-9]/g, '')).not.toContain(digits);
  });

  it('masks numbers that run into each other as one, so masking again changes nothing', () => {
    for (const text of ['4155550132 12345 12345', 'order 12345678 415 555 0132']) {
      const masked = maskText(text);
      expect(masked).not.toMatch(/0132|12345/);
      expect(maskText(masked)).toBe(masked);
    }
  });

  it('leaves dates, uuids and request ids readable', () => {
    const text = 'at 2026-11-21T05:10:01.123Z contact CON2226e836-36dc-4103-b2a2-6307749cf390 req_01HXYZ';
    expect(maskText(text)).toBe(text);
  });

  it('leaves uuids and X-Ray trace ids whose groups are all digits readable', () => {
    const text = 'job 12345678-1234-5678-9012-345678901234 X-Ray 1-67891233-abcdef012345678912345678 2026-11-21 05:10';
    expect(maskText(text)).toBe(text);
  });
});

describe('Function: maskingReplacer', () => {
  it('redacts values under secret-looking keys whatever they hold', () => {
    const line = JSON.stringify(
      {
        apiKey: 'k-123',
        headers: { authorization: 'Bearer abc', 'x-user-api-key': 'xyz' },
        accessToken: 'tok',
        secretName: 'contact-relay/dev/provider/a',
      },
      maskingReplacer,
    );
    expect(line).not.toMatch(/k-123|abc|xyz|tok"/);
  });

  it('masks a phone sent as a JSON number', () => {
    expect(JSON.stringify({ phone: 14155550132 }, maskingReplacer)).not.toContain('4155550132');
  });

  it.each([
    ['eventKey', 'form:default:+1 415 555 0132', '415 555 0132'],
    ['eventKey', 'form:default:415/555/01329', '415/555/01329'],
    ['eventKey', 'typeform:abc:ada@example.com', 'ada@example.com'],
    ['eventKey', 'form:default:\uFF14\uFF11\uFF15\uFF15\uFF15\uFF15\uFF10\uFF11\uFF13\uFF12', '4155550132'],
    ['providerContactId', '+14155550132', '4155550132'],
    ['contact_id', '415-555-0132', '555-0132'],
    ['createdAt', '(415) 555-0132', '555-0132'],
    ['updated_at', 'ada@example.com', 'ada@'],
  ])('masks personal data under the id-named key %s', (key, value, leaked) => {
    const line = JSON.stringify({ [key]: value }, maskingReplacer);
    expect(line).not.toContain(leaked);
    expect(line.normalize('NFKC')).not.toContain(leaked);
  });

  it.each([
    ['eventKey', 'form:default:sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
    ['eventKey', 'shopify:shop.myshopify.com:order:gid://shopify/Order/5678901234567'],
    ['eventKey', 'woocommerce:https://shop.example/:order:727:updated:2017-03-22T19:28:02'],
    ['providerContactId', '7234567890123456789'],
    ['messageId', 'b54557e4-1234-5678-9012-bf7d70bcd043'],
    ['occurredAt', '2026-11-21T05:10:01.123Z'],
    ['expiresAt', 1_790_000_000],
    ['xray_trace_id', '1-67891233-abcdef012345678912345678'],
  ])('keeps what systems write under the id-named key %s: %s', (key, value) => {
    expect(JSON.parse(JSON.stringify({ [key]: value }, maskingReplacer))).toEqual({ [key]: value });
  });

  it('keeps ids and counters', () => {
    expect(
      JSON.parse(
        JSON.stringify(
          { eventKey: 'shopify:12345678901234', count: 12, providerContactId: '1234567890' },
          maskingReplacer,
        ),
      ),
    ).toEqual({
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
    logger.info('delivery outcome', {
      email: 'ada@example.com',
      phone: '+14155550132',
      credentials: { apiKey: 'super-secret' },
      error: new Error('+14155550132 is taken'),
    });
    const output = lines.join('');
    expect(output).toContain('"message":"delivery outcome"');
    expect(output).not.toMatch(/ada@example\.com|4155550132|super-secret/);
  });
});
