/**
 * The fault-injection soak (`npm run soak`) at a CI size: a few
 * hundred webhooks over every source through the real handlers, random
 * transient faults on one in five provider requests (429 with Retry-After,
 * 500, 503, answers held past the client timeout, connection resets), some
 * webhooks delivered twice, and one provider down once half the contacts
 * are there, until jobs are dead-lettered, so the redrive has to complete
 * them. The
 * invariant: every accepted event reaches every provider account on its
 * route exactly once, nothing lost, nothing duplicated, every re-delivery a
 * duplicate, nothing left in any queue.
 *
 * The queue's visibility timeout is 2 s (10 s under `npm run soak`), so jobs
 * reach maxReceiveCount within the outage, and a batch held up by a hung
 * answer is handed to a second consumer while the first still works on it.
 *
 * And the burst mode (`npm run soak -- --burst N`) at a CI size: webhooks
 * all at once into providers that answer 429 above their limit, drained at
 * the limit's pace with nothing dead-lettered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { startEmulator, type Emulator } from '../../local/emulator/server.js';
import { EMULATED_PROVIDERS, RANDOM_FAULT_KINDS } from '../../local/emulator/state.js';
import { SOURCE_SECRET, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { parseBurstLimits, routesUnderLimits } from '../../scripts/soak/burst.js';
import { formatSoak } from '../../scripts/soak/report.js';
import { runSoak } from '../../scripts/soak/run.js';
import type { SoakResult } from '../../scripts/soak/check.js';

const VISIBILITY_SECONDS = 2;

describe('Soak: webhooks under random provider faults and re-deliveries', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ visibilityTimeoutSeconds: VISIBILITY_SECONDS });
  });
  afterAll(() => pipeline.close());
  let result: SoakResult;

  it('keeps the invariant: every accepted event at every provider exactly once, no duplicates, the dead-letter queue redriven', async () => {
    result = await runSoak(
      { ...pipeline, sourceSecret: SOURCE_SECRET },
      {
        size: 240,
        faultRate: 0.2,
        redeliverRate: 0.1,
        concurrency: 16,
        consumers: 16,
        seed: 20_261_121,
        visibilityTimeoutSeconds: VISIBILITY_SECONDS,
        // Down once half the contacts are there, until 20 jobs are dead-lettered (60 s at most).
        outage: { provider: 'kirim', seconds: 60, afterShare: 0.5, untilParked: 20 },
        settleTimeoutMs: 90_000,
        ...(process.env['SOAK_LOG'] ? { log: (line: string) => console.log(line) } : {}),
      },
    );
    if (!result.ok || process.env['SOAK_LOG']) console.log(formatSoak(result));
    expect(result.violations).toEqual([]);
    expect(result.ok).toBe(true);
    // About 90 s alone; with the whole suite on a 2-core machine, more than twice that.
  }, 300_000);

  it('exercised what it claims to: every source, every fault kind at the stated rate, re-deliveries, dead letters', () => {
    expect(result?.ok).toBe(true);
    // Every source but Meta Lead Ads, whose leads deliver reads from the Graph API (lead-sources.test.ts covers it).
    const sources = [
      'calendly',
      'custom',
      'form',
      'google-forms',
      'jotform',
      'shopify',
      'tally',
      'typeform',
      'webflow',
      'woocommerce',
    ];
    expect(Object.keys(result.webhooks.bySource).sort()).toEqual(sources);
    expect(result.webhooks.accepted).toBe(240);
    expect(result.webhooks.redeliveries).toBeGreaterThan(0);
    expect(result.webhooks.redeliveriesAnsweredDuplicate).toBe(result.webhooks.redeliveries);
    for (const [provider, figures] of Object.entries(result.providers)) {
      expect(figures.contacts, provider).toBe(240);
      expect(figures.faultShare, provider).toBeGreaterThan(0.12);
      expect(figures.faultShare, provider).toBeLessThan(0.3);
    }
    for (const kind of RANDOM_FAULT_KINDS) {
      expect(
        Object.values(result.providers).reduce((sum, figures) => sum + figures.faults[kind], 0),
        kind,
      ).toBeGreaterThan(0);
    }
    expect(result.queue.parked).toBeGreaterThan(0);
    expect(result.queue.redriven).toBeGreaterThanOrEqual(result.queue.parked);
    expect([result.queue.leftInQueue, result.queue.leftInDlq]).toEqual([0, 0]);
  });
});

describe('Burst soak: webhooks all at once into rate-limited providers', () => {
  // 2Chat at 720 requests a minute (3 per new contact: 120 contacts need 30 s) and Kirim at 300 writes a minute
  // (1 each: 24 s), each with a bucket of five seconds' requests: enough for the jitter of one busy process, too
  // little to hide a relay running faster than the limit (a minute's bucket, the emulator's default, would take
  // this whole burst at once). Callbell and Chatwoot at their documented limits. The route's accounts get their
  // rates from these.
  const limits = parseBurstLimits('twochat=720+60,kirim=300+25');
  const routes = routesUnderLimits(routesFile, limits);
  const BURST_VISIBILITY_SECONDS = 360;
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ visibilityTimeoutSeconds: BURST_VISIBILITY_SECONDS, routes });
  });
  afterAll(() => pipeline.close());

  it('drains within 1.2× the limit’s minimum: nothing dead-lettered, no contact twice, 429s at most 1%', async () => {
    const result = await runSoak(
      { ...pipeline, sourceSecret: SOURCE_SECRET },
      {
        size: 120,
        faultRate: 0,
        redeliverRate: 0,
        concurrency: 16,
        consumers: 10,
        seed: 20_261_203,
        visibilityTimeoutSeconds: BURST_VISIBILITY_SECONDS,
        settleTimeoutMs: 90_000,
        routes,
        burst: { limits },
        ...(process.env['SOAK_LOG'] ? { log: (line: string) => console.log(line) } : {}),
      },
    );
    if (!result.ok || process.env['SOAK_LOG']) console.log(formatSoak(result));
    expect(result.violations).toEqual([]);
    const burst = result.burst;
    // Limited for real: every contact costs 2Chat its three counted requests, and the limit's pace sets the time.
    expect(burst?.slowest).toBe('twochat');
    expect(burst?.minimumMs).toBe(30_000);
    expect(burst?.providers.twochat.counted).toBe(360);
    expect(burst?.providers.kirim.counted).toBe(120);
    expect(burst?.ratio).toBeLessThanOrEqual(1.2);
    expect(burst?.deadLetters).toBe(0);
    expect(burst?.duplicateContacts).toBe(0);
    for (const provider of EMULATED_PROVIDERS) {
      expect(result.providers[provider].contacts, provider).toBe(120);
      expect(burst?.providers[provider].rateLimitedShare, provider).toBeLessThanOrEqual(0.01);
    }
  }, 120_000);
});

describe('Emulator: random faults (what the soak injects)', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ credentials: { twochat: ['rf-key'], kirim: ['rf-kirim'] } });
  });
  afterAll(() => emulator.close());

  const call = (path: string, init?: RequestInit) => fetch(`${emulator.url}${path}`, init);
  const search = () =>
    call('/twochat/open/contacts/search?query=%2B14155550132', { headers: { 'x-user-api-key': 'rf-key' } }).then(
      (response) => ({ status: response.status, retryAfter: response.headers.get('retry-after') }),
    );
  const setFaults = (body: unknown) => call('/_emulator/random-faults', { method: 'POST', body: JSON.stringify(body) });

  it('answers the drawn share of requests with the drawn kind, and counts them', async () => {
    await call('/_emulator/requests', { method: 'DELETE' });
    expect(
      (await setFaults({ rate: 1, mix: { '429': 1 }, retryAfterSeconds: 2, providers: ['twochat'], seed: 1 })).status,
    ).toBe(201);
    expect(await search()).toEqual({ status: 429, retryAfter: '2' });
    expect((await setFaults({ rate: 1, mix: { '503': 1 }, providers: ['twochat'] })).status).toBe(201);
    expect((await search()).status).toBe(503);
    // Other providers have no plan.
    expect((await call('/kirim/v1/accounts', { headers: { authorization: 'Bearer rf-kirim' } })).status).toBe(200);
    const state = (await (await call('/_emulator/random-faults')).json()) as {
      injected: Record<string, Record<string, number>>;
      draws: Record<string, number>;
    };
    expect(state.injected['twochat']).toMatchObject({ '429': 1, '503': 1 });
    expect(state.draws).toMatchObject({ twochat: 2, kirim: 0 });
    expect(
      emulator.state.requests.filter((request) => request.provider === 'twochat').map((request) => request.fault),
    ).toEqual(['429', '503']);
  });

  it('resets the connection, or holds the answer of a served request (a create that is done but answered late)', async () => {
    await setFaults({ rate: 1, mix: { reset: 1 }, providers: ['twochat'] });
    await expect(search()).rejects.toThrow();
    await setFaults({ rate: 1, mix: { hang: 1 }, hangMs: 300, providers: ['twochat'] });
    const started = Date.now();
    const created = await call('/twochat/open/contacts', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-api-key': 'rf-key' },
      body: JSON.stringify({ first_name: 'Ada', contact_detail: [{ type: 'PH', value: '+14155550199' }] }),
    });
    expect(created.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(emulator.state.contacts.filter((contact) => contact.phone === '+14155550199')).toHaveLength(1);
  });

  it('draws about the rate it is given, takes armed faults first, and stops on DELETE', async () => {
    await setFaults({ rate: 0.2, providers: ['twochat'], seed: 42 });
    const draws = emulator.state.randomFaultDraws.twochat;
    let faulted = 0;
    for (let i = 0; i < 500; i++) if (emulator.state.takeFault('twochat', 'GET') !== undefined) faulted++;
    expect(emulator.state.randomFaultDraws.twochat - draws).toBe(500);
    expect(faulted).toBeGreaterThan(70);
    expect(faulted).toBeLessThan(130);

    emulator.state.faults.push({ provider: 'twochat', status: 418, times: 1 });
    await setFaults({ rate: 1, mix: { '500': 1 }, providers: ['twochat'] });
    expect((await search()).status).toBe(418);
    expect((await search()).status).toBe(500);
    expect(await (await call('/_emulator/random-faults', { method: 'DELETE' })).json()).toEqual({ status: 'cleared' });
    expect((await search()).status).toBe(200);
  });

  it.each([
    [{ rate: 2 }, 'rate must be a number from 0 to 1'],
    [{ rate: 0.2, mix: { timeout: 1 } }, 'mix: unknown kind "timeout" (kinds: 429, 500, 503, hang, reset)'],
    [{ rate: 0.2, providers: ['whatsapp'] }, 'providers must be a list of twochat, kirim, callbell, chatwoot'],
  ])('refuses %j', async (body, message) => {
    const response = await setFaults(body);
    expect([response.status, await response.json()]).toEqual([
      400,
      { error: { code: 'invalid_random_faults', message } },
    ]);
  });
});
