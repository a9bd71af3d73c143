import { describe, expect, it } from 'vitest';
import { normalisePhone } from '../../shared/phone.js';

describe('Function: normalisePhone', () => {
  it('keeps an international number as E.164', () => {
    expect(normalisePhone('+44 20 7946 0018')).toEqual({ ok: true, e164: '+442079460018', country: 'GB' });
  });

  it('reads a national number with the payload country hint', () => {
    expect(normalisePhone('020 7946 0018', { country: 'GB' })).toMatchObject({ ok: true, e164: '+442079460018' });
    expect(normalisePhone('(415) 555-0132', { country: 'us' })).toMatchObject({ ok: true, e164: '+14155550132' });
  });

  it('falls back to the route default region when the payload names no country', () => {
    expect(normalisePhone('0612345678', { defaultRegion: 'NL' })).toMatchObject({ ok: true, e164: '+31612345678' });
  });

  it('prefers the payload country over the route default region', () => {
    expect(normalisePhone('0612345678', { country: 'NL', defaultRegion: 'US' })).toMatchObject({
      ok: true,
      e164: '+31612345678',
    });
  });

  it('reads a 00 international prefix whatever the region', () => {
    expect(normalisePhone('0044 20 7946 0018')).toMatchObject({ ok: true, e164: '+442079460018' });
    expect(normalisePhone('0049-30-901820', { defaultRegion: 'US' })).toMatchObject({ ok: true, e164: '+4930901820' });
  });

  it('accepts a phone sent as a JSON number', () => {
    expect(normalisePhone(14155550132, { defaultRegion: 'US' })).toMatchObject({ ok: true, e164: '+14155550132' });
  });

  it('never guesses a region for a national number', () => {
    expect(normalisePhone('020 7946 0018')).toMatchObject({ ok: false, reason: 'NO_REGION' });
  });

  it.each([
    ['', 'EMPTY'],
    ['   ', 'EMPTY'],
    ['call me', 'NOT_A_NUMBER'],
    ['+1 415', 'TOO_SHORT'],
    ['+999 1234 5678', 'INVALID_COUNTRY'],
    ['+44 20 7946 0018 1234 5678 99', 'TOO_LONG'],
  ])('reports %j as %s', (input, reason) => {
    const result = normalisePhone(input, { defaultRegion: 'US' });
    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) expect(result.message).toMatch(/^phone number /);
  });

  // The message becomes a skip reason, which is logged and sent back to the sender: it names the problem only.
  it.each([
    '415/555/01329',
    '\uFF0B\uFF11 \uFF14\uFF11\uFF15 \uFF15\uFF15\uFF15 \uFF10\uFF11',
    '415\u2011555\u2011013',
    '415_555_0132',
    '+1 415 555',
    '+999 1234 5678',
    '+44 20 7946 0018 1234 5678 99',
    'call 0612 345 678 after six',
    '020 7946 0018',
  ])('rejects %j with a message that holds none of its digits', (input) => {
    const result = normalisePhone(input, input.startsWith('020') ? {} : { defaultRegion: 'US' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/^phone number [^\p{N}]+$/u);
  });

  it('reports a well-formed but unassigned number as invalid', () => {
    expect(normalisePhone('+1 000 555 0132')).toMatchObject({ ok: false });
  });

  it('ignores an unknown country hint and uses the default region', () => {
    expect(normalisePhone('(415) 555-0132', { country: 'XX', defaultRegion: 'US' })).toMatchObject({
      ok: true,
      e164: '+14155550132',
    });
  });

  it('refuses a national number whose international form is longer than E.164 allows', () => {
    // Found by the property tests: accepted by libphonenumber's small metadata, refused by every E.164 check downstream.
    expect(normalisePhone('010000000000000', { defaultRegion: 'DE' })).toMatchObject({ ok: false, reason: 'TOO_LONG' });
    expect(normalisePhone('+4910000000000000')).toMatchObject({ ok: false });
  });

  it('refuses a national number that is not valid once written internationally', () => {
    // Found by the property tests: regions sharing a calling code (Isle of Man with +44).
    const result = normalisePhone('5000000000', { defaultRegion: 'IM' });
    expect(result.ok).toBe(false);
  });

  it('refuses a number that reads back as a different number (found by the property tests)', () => {
    // "+55 0 90 30000000": a Brazilian carrier code is stripped once, then again when read back.
    expect(normalisePhone('+5509030000000')).toMatchObject({ ok: false, reason: 'INVALID' });
  });

  it('rejects a JSON number too large to be exact', () => {
    expect(normalisePhone(2 ** 60)).toMatchObject({ ok: false, reason: 'EMPTY' });
  });
});
