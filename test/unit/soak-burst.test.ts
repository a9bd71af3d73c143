/**
 * The soak's burst mode, without running one: how `--limit` is read, the account rates it gives the route
 * config (kept under the emulated limit: checked against the emulator's own limiter), and how a run's evidence
 * becomes the figures and the verdict.
 */
import { describe, expect, it } from 'vitest';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { accountRate, parseRoutesConfig } from '../../shared/config/routes.js';
import { RateLimits } from '../../local/emulator/rate-limits.js';
import type { EmulatedContact, RecordedRequest } from '../../local/emulator/state.js';
import {
  accountRateUnder,
  burstViolations,
  DEFAULT_BURST_LIMITS,
  expectedMinimumMs,
  formatBurstLimits,
  InvalidBurstLimitError,
  measureBurst,
  parseBurstLimits,
  routesUnderLimits,
  type BurstEvidence,
} from '../../scripts/soak/burst.js';
import { formatBurst } from '../../scripts/soak/report.js';

describe('--limit', () => {
  it('starts from 2Chat 600 and Kirim 300 a minute, Callbell 300 a second and Chatwoot 3,000 a minute', () => {
    expect(parseBurstLimits(undefined)).toEqual({
      twochat: { perMinute: 600 },
      kirim: { perMinute: 300 },
      callbell: { perMinute: 300, windowMs: 1_000 },
      chatwoot: { perMinute: 3_000 },
    });
  });

  it('changes the providers it names, per minute or per second, and turns one off', () => {
    expect(parseBurstLimits('twochat=900, kirim=120/min,callbell=50/s,chatwoot=off')).toEqual({
      twochat: { perMinute: 900 },
      kirim: { perMinute: 120 },
      callbell: { perMinute: 50, windowMs: 1_000 },
    });
    expect(parseBurstLimits('kirim=60')).toEqual({ ...DEFAULT_BURST_LIMITS, kirim: { perMinute: 60 } });
  });

  it('takes a bucket capacity after +, and writes the limits back as it reads them', () => {
    const limits = parseBurstLimits('twochat=720+12,kirim=300+5,callbell=300/s+20,chatwoot=off');
    expect(limits).toEqual({
      twochat: { perMinute: 720, burst: 12 },
      kirim: { perMinute: 300, burst: 5 },
      callbell: { perMinute: 300, windowMs: 1_000, burst: 20 },
    });
    expect(formatBurstLimits(limits)).toBe('twochat=720+12,kirim=300+5,callbell=300/s+20');
    expect(parseBurstLimits(formatBurstLimits(DEFAULT_BURST_LIMITS))).toEqual(DEFAULT_BURST_LIMITS);
  });

  it.each([
    ['whatsapp=10', '--limit: unknown provider "whatsapp" (providers: twochat, kirim, callbell, chatwoot)'],
    ['kirim=0', '--limit kirim=0: give requests a minute (600), a second (300/s), or off; optionally +BURST'],
    ['kirim=fast', '--limit kirim=fast: give requests a minute (600), a second (300/s), or off; optionally +BURST'],
    ['kirim=10/h', '--limit kirim=10/h: give requests a minute (600), a second (300/s), or off; optionally +BURST'],
    [
      'chatwoot=3000+10',
      '--limit chatwoot=3000+10: burst does not apply to chatwoot: rack-attack counts fixed windows, not a bucket',
    ],
  ])('refuses %s', (text, message) => {
    expect(() => parseBurstLimits(text)).toThrow(new InvalidBurstLimitError(message));
  });
});

describe('Account rates under the emulated limits', () => {
  it('keeps burst + perMinute within 95% of the limit, with a second’s worth as the burst', () => {
    expect(accountRateUnder('kirim', { perMinute: 300 })).toEqual({ perMinute: 281, burst: 4 });
    expect(accountRateUnder('twochat', { perMinute: 600 })).toEqual({ perMinute: 561, burst: 9 });
    expect(accountRateUnder('callbell', { perMinute: 300, windowMs: 1_000 })).toEqual({
      perMinute: 16_815,
      burst: 285,
    });
    for (const perMinute of [3, 10, 61, 300, 600, 3_000, 50_000]) {
      const rate = accountRateUnder('twochat', { perMinute });
      expect(rate.burst + rate.perMinute, String(perMinute)).toBeLessThanOrEqual(perMinute * 0.95);
      expect(rate.burst, String(perMinute)).toBeGreaterThanOrEqual(1);
      expect(rate.burst, String(perMinute)).toBeLessThanOrEqual(rate.perMinute);
    }
  });

  it('keeps the burst within the emulated bucket’s capacity when one is given', () => {
    expect(accountRateUnder('twochat', { perMinute: 720, burst: 12 })).toEqual({ perMinute: 673, burst: 11 });
    expect(accountRateUnder('kirim', { perMinute: 300, burst: 2 })).toEqual({ perMinute: 284, burst: 1 });
  });

  it('stays within what the route config accepts, and refuses a limit too low to send at all', () => {
    expect(accountRateUnder('callbell', { perMinute: 5_000, windowMs: 1_000 }).perMinute).toBe(60_000);
    expect(accountRateUnder('chatwoot', undefined)).toEqual({ perMinute: 60_000, burst: 1_000 });
    expect(() => accountRateUnder('kirim', { perMinute: 2 })).toThrow(InvalidBurstLimitError);
  });

  it('writes each account’s rate from its provider’s limit into the route config, and nothing else', () => {
    const limits = parseBurstLimits('chatwoot=off');
    const routes = routesUnderLimits(routesFile, limits) as typeof routesFile;
    expect(routes.sources).toEqual(routesFile.sources);
    const config = parseRoutesConfig(routes);
    for (const [name, account] of Object.entries(config.accounts))
      expect(accountRate(account), name).toEqual(accountRateUnder(account.provider, limits[account.provider]));
  });

  it.each([
    ['kirim', { perMinute: 300 }],
    ['twochat', { perMinute: 600 }],
    ['callbell', { perMinute: 300, windowMs: 1_000 }],
    ['chatwoot', { perMinute: 3_000 }],
    ['kirim', { perMinute: 300, burst: 5 }],
    ['twochat', { perMinute: 720, burst: 12 }],
  ] as const)(
    '%s: a relay taking every token its rate allows for ten minutes is never refused by the emulator',
    (provider, limit) => {
      const rate = accountRateUnder(provider, limit);
      let now = Date.UTC(2026, 10, 21, 12, 0, 30);
      const limiter = new RateLimits(() => now);
      limiter.set(provider, limit);
      // The relay's bucket (GCRA): full at `burst`, one token every 60 000 / perMinute ms after it is drawn down.
      const interval = Math.ceil(60_000 / rate.perMinute);
      let emptyAt = now - rate.burst * interval;
      let refused = 0;
      let sent = 0;
      for (const end = now + 10 * 60_000; now < end; ) {
        emptyAt = Math.max(emptyAt, now - rate.burst * interval);
        if (emptyAt + interval <= now) {
          emptyAt += interval;
          sent++;
          if (!limiter.take(provider, 'account')?.allowed) refused++;
        } else now = emptyAt + interval;
      }
      // Ten minutes at the bucket's rate (its interval is whole milliseconds, rounded up), and the burst.
      expect(sent).toBeGreaterThanOrEqual(rate.burst + Math.floor((10 * 60_000) / interval) - 1);
      expect(refused).toBe(0);
    },
  );
});

const request = (provider: RecordedRequest['provider'], rateLimited = false): RecordedRequest => ({
  provider,
  method: 'POST',
  path: '/',
  headers: {},
  body: undefined,
  status: rateLimited ? 429 : 201,
  at: '2026-11-21T12:00:00.000Z',
  ...(rateLimited ? { rateLimited: true as const } : {}),
});
const contact = (provider: EmulatedContact['provider'], phone: string): EmulatedContact =>
  ({ provider, id: `${provider}-${phone}-${Math.random()}`, phone }) as EmulatedContact;

function evidence(overrides: Partial<BurstEvidence> = {}): BurstEvidence {
  const limits = parseBurstLimits('callbell=off,chatwoot=off');
  const all = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;
  const events = Array.from({ length: 300 }, () => all.map((provider) => ({ name: provider, provider })));
  return {
    limits,
    routes: routesUnderLimits(routesFile, limits),
    accountsOfEvents: events,
    // 300 new contacts: 2Chat 3 requests each, Kirim 2 (1 write counted), Callbell 2, Chatwoot 1.
    requests: [
      ...Array.from({ length: 900 }, () => request('twochat')),
      ...Array.from({ length: 600 }, () => request('kirim')),
      ...Array.from({ length: 600 }, () => request('callbell')),
      ...Array.from({ length: 300 }, () => request('chatwoot')),
    ],
    contacts: all.flatMap((provider) => Array.from({ length: 300 }, (_, i) => contact(provider, `+1415555${i}`))),
    counted: { twochat: 900, kirim: 300 },
    drainMs: 96_000,
    deadLetters: 0,
    ...overrides,
  };
}

describe('Burst figures and verdict', () => {
  it('measures the drain against the slowest limited provider: 300 contacts × 3 requests at 600 a minute', () => {
    const figures = measureBurst(evidence());
    expect(figures.slowest).toBe('twochat');
    expect(figures.minimumMs).toBe(90_000);
    expect(figures.ratio).toBeCloseTo(96 / 90, 6);
    expect(figures.providers.kirim.minimumMs).toBe(60_000);
    expect(figures.providers.callbell.minimumMs).toBeUndefined();
    expect(figures.providers.twochat).toMatchObject({ deliveries: 300, requests: 900, counted: 900, rateLimited: 0 });
    expect(figures.providers.kirim.accountRate).toEqual({ perMinute: 281, burst: 4 });
    expect(expectedMinimumMs(300, evidence().limits)).toBe(90_000);
    expect(burstViolations(figures)).toEqual([]);
  });

  it('fails a slow drain, any dead letter, any contact created twice, and 429s above 1% of all provider requests', () => {
    const base = evidence().requests;
    // 1% of all requests once these are added (each provider's own share is reported, not judged).
    const over = Math.floor((base.length + 40) / 100) + 1;
    const requests = [
      ...base,
      ...Array.from({ length: 40 - over }, () => request('callbell', false)),
      ...Array.from({ length: over }, () => request('kirim', true)),
    ];
    const figures = measureBurst(
      evidence({
        drainMs: 120_000,
        deadLetters: 2,
        requests,
        contacts: [...evidence().contacts, contact('kirim', '+14155550')],
      }),
    );
    const total = base.length + 40;
    expect(burstViolations(figures)).toEqual([
      'burst: drained in 120.0 s, 1.33× the theoretical minimum 90.0 s at twochat (target ≤ 1.2×)',
      'burst: 2 job(s) dead-lettered (target 0)',
      'burst: 1 contact(s) created twice (target 0)',
      `burst: providers answered 429 to ${over} of ${total} requests (${((over / total) * 100).toFixed(2)}%, target ≤ 1%)`,
    ]);
    // A single 429 is within the target.
    const within = measureBurst(evidence({ requests: [...base, request('kirim', true)] }));
    expect(burstViolations(within)).toEqual([]);
  });

  it('has no ratio to judge when nothing is limited', () => {
    const figures = measureBurst(evidence({ limits: {} }));
    expect(figures.ratio).toBeUndefined();
    expect(burstViolations(figures)).toEqual([]);
  });

  it('prints each provider’s limit, rate, requests and 429s, and the drain against its target', () => {
    const text = formatBurst(measureBurst(evidence({ drainMs: 120_000 })), { concurrency: 32 });
    expect(text).toMatch(/\| emulated limit, requests a minute +\| +600 \| +300 \| +none \| +none \|/);
    expect(text).toMatch(/\| account rate, requests a minute: perMinute \+ burst +\| +561 \+ 9 \| +281 \+ 4 \|/);
    expect(text).toMatch(/\| {3}counted by the limit, per delivery +\| +900, 3\.00 \| +300, 1\.00 \| +- \| +- \|/);
    expect(text).toMatch(/\| time to drain \(first sent → queue empty\) +\| +120\.0 s \(2\.0 min\) \|/);
    expect(text).toMatch(/\| theoretical minimum \(slowest: twochat\) +\| +90\.0 s \(1\.5 min\) \|/);
    expect(text).toMatch(/\| ratio +\| +1\.33× \| ≤ 1\.2×: MISSED \|/);
    expect(text).toMatch(/\| dead-lettered +\| +0 \| +0: met \|/);
  });
});
