/**
 * What becomes of a queue message after one receive of a paced job: done, retried by SQS (an attempt),
 * dead-lettered by deliver (an attempt that spends the job's last), or sent back with a delay (not an attempt).
 */
import { describe, expect, it } from 'vitest';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../shared/config/routes.js';
import {
  deliveryRate,
  gateAccount,
  pacingDefaults,
  planJob,
  rateLimitedUntil,
  type AccountStep,
} from '../../shared/deferral.js';
import type { OutcomeStore } from '../../shared/store.js';
import { toDeliveryJob, type Deferral, type DeliveryJob } from '../../shared/jobs.js';
import { testContact } from '../helpers/contacts.js';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const routes = parseRoutesConfig({
  accounts: {
    twochat: { provider: 'twochat', rate: { perMinute: 600, burst: 10 } },
    kirim: { provider: 'kirim', rate: { perMinute: 300, burst: 5 } },
  },
  sources: { form: { default: { deliverTo: ['twochat', 'kirim'] } } },
});
const route = findRoute(routes, 'form', 'default') as ResolvedRoute;

function job(deferral?: Deferral): DeliveryJob {
  const base = toDeliveryJob(testContact(), route, 'form:default:evt-1', new Date(NOW));
  return deferral === undefined ? base : { ...base, deferral };
}

const receive = (count: number, maxReceiveCount?: number) => ({ count, maxReceiveCount, now: NOW });

describe('Function: planJob', () => {
  it('is done when every account reached a final outcome', () => {
    const steps: AccountStep[] = [
      { account: 'twochat', kind: 'final' },
      { account: 'kirim', kind: 'final' },
    ];
    expect(planJob(job(), steps, receive(1))).toEqual({ kind: 'done' });
  });

  it('defers to the earliest account, keeps what is settled and booked, and counts no attempt for it', () => {
    const steps: AccountStep[] = [
      { account: 'twochat', kind: 'final' },
      { account: 'kirim', kind: 'deferred', until: NOW + 2_500, booked: NOW + 2_500 },
    ];
    expect(planJob(job(), steps, receive(1))).toEqual({
      kind: 'defer',
      delaySeconds: 3, // whole seconds, rounded up: never before the booked time
      deferral: { attempts: 0, throttles: 0, done: ['twochat'], booked: { kirim: NOW + 2_500 } },
    });
  });

  it('counts the receives of the message that failed before this deferral as attempts, and only those', () => {
    const steps: AccountStep[] = [{ account: 'kirim', kind: 'deferred', until: NOW + 60_000 }];
    const plan = planJob(job({ attempts: 1, throttles: 0, done: ['twochat'], booked: {} }), steps, receive(3));
    // One attempt before the earlier deferral, and receives 1 and 2 of this message failed: 3 in all.
    expect(plan).toEqual({
      kind: 'defer',
      delaySeconds: 60,
      deferral: { attempts: 3, throttles: 0, done: ['twochat'], booked: {} },
    });
  });

  it('never asks SQS for more than its longest delay', () => {
    const steps: AccountStep[] = [{ account: 'kirim', kind: 'deferred', until: NOW + 3_600_000 }];
    expect(planJob(job(), steps, receive(1))).toMatchObject({ kind: 'defer', delaySeconds: 900 });
  });

  it('leaves a real failure to SQS when no account waits for a token', () => {
    const steps: AccountStep[] = [
      { account: 'twochat', kind: 'failed' },
      { account: 'kirim', kind: 'final' },
    ];
    expect(planJob(job(), steps, { ...receive(2, 5), retryDelayMs: 360_000 })).toEqual({ kind: 'retry', attempts: 2 });
  });

  it('counts a real failure while another account waits, but sends the job back so the wait keeps its token', () => {
    const steps: AccountStep[] = [
      { account: 'twochat', kind: 'failed' },
      { account: 'kirim', kind: 'deferred', until: NOW + 40_000, booked: NOW + 40_000 },
    ];
    expect(planJob(job(), steps, { ...receive(1, 5), retryDelayMs: 360_000 })).toEqual({
      kind: 'defer',
      delaySeconds: 40,
      deferral: {
        attempts: 1,
        throttles: 0,
        done: [],
        booked: { kirim: NOW + 40_000 },
        // Tried again when the queue would have brought the failed job back.
        retryAt: { twochat: NOW + 360_000 },
      },
    });
    // At maxReceiveCount the job goes to the dead-letter queue, waiting accounts and all.
    expect(planJob(job(), steps, { ...receive(5, 5), retryDelayMs: 360_000 })).toEqual({
      kind: 'dead-letter',
      attempts: 5,
    });
  });

  it('keeps a failed account waiting until its retry time while a booked one is served', () => {
    const deferred = job({
      attempts: 1,
      throttles: 0,
      done: [],
      booked: {},
      retryAt: { twochat: NOW + 300_000 },
    });
    const steps: AccountStep[] = [
      { account: 'twochat', kind: 'deferred', until: NOW + 300_000 },
      { account: 'kirim', kind: 'final' },
    ];
    expect(planJob(deferred, steps, receive(1))).toEqual({
      kind: 'defer',
      delaySeconds: 300,
      deferral: { attempts: 1, throttles: 0, done: ['kirim'], booked: {}, retryAt: { twochat: NOW + 300_000 } },
    });
  });

  it('dead-letters a deferred job whose real attempts reach maxReceiveCount, counting those before it', () => {
    const deferred = job({ attempts: 3, throttles: 0, done: [], booked: {} });
    const steps: AccountStep[] = [{ account: 'kirim', kind: 'failed' }];
    expect(planJob(deferred, steps, receive(1, 5))).toEqual({ kind: 'retry', attempts: 4 });
    expect(planJob(deferred, steps, receive(2, 5))).toEqual({ kind: 'dead-letter', attempts: 5 });
  });

  it('defers a 429 as no attempt until it happened more than maxThrottles times, then counts it', () => {
    const steps: AccountStep[] = [{ account: 'kirim', kind: 'throttled', until: NOW + 10_000 }];
    const throttled = (throttles: number) => job({ attempts: 0, throttles, done: [], booked: {} });
    expect(planJob(throttled(pacingDefaults.maxThrottles - 1), steps, receive(1))).toEqual({
      kind: 'defer',
      delaySeconds: 10,
      deferral: { attempts: 0, throttles: pacingDefaults.maxThrottles, done: [], booked: {} },
    });
    expect(planJob(throttled(pacingDefaults.maxThrottles), steps, receive(1))).toEqual({
      kind: 'retry',
      attempts: 1,
    });
  });
});

describe('Function: rateLimitedUntil', () => {
  it("honours the provider's own wait when it sent one", () => {
    expect(rateLimitedUntil('twochat', 7_000, NOW)).toBe(NOW + 7_000);
    expect(rateLimitedUntil('chatwoot', 0, NOW)).toBe(NOW);
  });

  it("waits out the documented window otherwise: Chatwoot's next epoch minute, Callbell's second, a minute", () => {
    expect(rateLimitedUntil('chatwoot', undefined, NOW + 12_345)).toBe(NOW + 60_000);
    expect(rateLimitedUntil('callbell', undefined, NOW)).toBe(NOW + 1_000);
    expect(rateLimitedUntil('twochat', undefined, NOW)).toBe(NOW + 60_000);
  });
});

describe('Function: deliveryRate', () => {
  const [twochat, kirim] = route.accounts as [ResolvedRoute['accounts'][number], ResolvedRoute['accounts'][number]];

  it("counts a delivery as the requests its provider counts: 2Chat's searches and create, Kirim's write", () => {
    // 2Chat searches by phone, then by email, then creates: three of its 600 a minute.
    expect(deliveryRate(twochat, testContact())).toEqual({ perMinute: 200, burst: 3 });
    expect(deliveryRate(twochat, testContact({ emails: [] }))).toEqual({ perMinute: 300, burst: 5 });
    // Without the contact (a lead not fetched yet), the most a delivery can cost.
    expect(deliveryRate(twochat)).toEqual({ perMinute: 200, burst: 3 });
    expect(deliveryRate(kirim, testContact())).toEqual({ perMinute: 300, burst: 5 });
  });
});

describe('Function: gateAccount', () => {
  const [, kirim] = route.accounts as [ResolvedRoute['accounts'][number], ResolvedRoute['accounts'][number]];
  const refusing = (answer: Awaited<ReturnType<OutcomeStore['takeToken']>>) => ({ takeToken: async () => answer });

  it('tries again soon when every take lost a race, and only after the horizon when the bucket is booked out', async () => {
    const contended = refusing({ taken: false, readyAt: NOW + 200, contended: true });
    expect(await gateAccount(job(), kirim, contended, NOW)).toEqual({ go: false, until: NOW + 200 });
    const bookedOut = refusing({ taken: false, readyAt: NOW + 200 });
    expect(await gateAccount(job(), kirim, bookedOut, NOW)).toEqual({
      go: false,
      until: NOW + pacingDefaults.bookAheadMs,
    });
  });

  it('uses a booked token at its time, or within the grace after it, and takes a new one once that has passed', async () => {
    const booked = job({ attempts: 0, throttles: 0, done: [], booked: { kirim: NOW } });
    const none = refusing({ taken: true, at: NOW + 5_000 });
    expect(await gateAccount(booked, kirim, none, NOW - 1_000)).toEqual({ go: false, until: NOW, booked: NOW });
    expect(await gateAccount(booked, kirim, none, NOW + pacingDefaults.bookingGraceMs)).toEqual({ go: true });
    const late = NOW + pacingDefaults.bookingGraceMs + 1;
    expect(await gateAccount(booked, kirim, none, late)).toEqual({
      go: false,
      until: NOW + 5_000,
      booked: NOW + 5_000,
    });
  });
});
