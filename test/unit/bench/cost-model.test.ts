import { describe, expect, it } from 'vitest';
import { DELAY_LIMIT_SECONDS, simulateDeliveries } from '../../../bench/lib/cost-model.js';
import { deliverCpuFromMeasured, PRICES, priceWork } from '../../../bench/lib/cost.js';

const perSecond = { perMinute: 60, burst: 5 };

describe('the deferral cost model, worked by hand', () => {
  it('delivers a burst no larger than the bucket at once: one token write each, nothing re-sent', () => {
    const work = simulateDeliveries({ webhooks: 5, rates: [perSecond], batchSize: 10 });
    expect(work.bucket).toEqual({ now: 5, booked: 0, refused: 0 });
    expect(work.resends).toBe(0);
    expect(work.deliverInvocations).toBe(1);
    expect(work.jobReceives).toBe(5);
    expect(work.deliveries).toBe(5);
    expect(work.drainSeconds).toBe(0);
  });

  it('books the first job past the burst one interval ahead and re-sends it once, to come back when due', () => {
    const work = simulateDeliveries({ webhooks: 6, rates: [perSecond], batchSize: 10 });
    expect(work.bucket).toEqual({ now: 5, booked: 1, refused: 0 });
    expect(work.resends).toBe(1);
    // The batch of six at t = 0, then the booked job alone at t = 1 s.
    expect(work.deliverInvocations).toBe(2);
    expect(work.jobReceives).toBe(7);
    expect(work.deliveries).toBe(6);
    expect(work.drainSeconds).toBe(1);
  });

  it('refuses a job booked beyond 900 s ahead and books it when it comes back 900 s later', () => {
    // One a second, burst 1: slots 1 … 900 s ahead are bookable, so the 902nd job is refused.
    const rate = { perMinute: 60, burst: 1 };
    const work = simulateDeliveries({ webhooks: 902, rates: [rate], batchSize: 10 });
    expect(work.bucket).toEqual({ now: 1, booked: 901, refused: 1 });
    // 900 booked at t = 0, the refused one, then that one again when it is booked at t = 900 s.
    expect(work.resends).toBe(902);
    // 91 batches at t = 0; one return a second for 900 s (the refused job shares t = 900 with the last);
    // the last job alone at 901 s.
    expect(work.deliverInvocations).toBe(91 + 900 + 1);
    expect(work.deliveries).toBe(902);
    expect(work.drainSeconds).toBe(DELAY_LIMIT_SECONDS + 1);
  });

  it('re-sends a job once per return while any of its accounts waits, and takes no second token for a booked one', () => {
    const a = { perMinute: 60, burst: 1 };
    const b = { perMinute: 30, burst: 1 };
    const work = simulateDeliveries({ webhooks: 2, rates: [a, b], batchSize: 10 });
    // The second job books a at 1 s and b at 2 s: back at 1 s for a, then again at 2 s for b.
    expect(work.bucket).toEqual({ now: 2, booked: 2, refused: 0 });
    expect(work.resends).toBe(2);
    expect(work.jobReceives).toBe(4);
    expect(work.deliverInvocations).toBe(3);
    expect(work.deliveries).toBe(4);
  });

  it('keeps the bucket writes per webhook at one per account up to the 900 s horizon, and multiplies them beyond', () => {
    const within = simulateDeliveries({ webhooks: 800, rates: [perSecond], batchSize: 10 });
    const beyond = simulateDeliveries({ webhooks: 3_000, rates: [perSecond], batchSize: 10 });
    const writesPerWebhook = (work: typeof within) =>
      (work.bucket.now + work.bucket.booked + work.bucket.refused) / work.webhooks;
    expect(writesPerWebhook(within)).toBe(1);
    // 905 jobs fit the horizon; the other 2,095 are refused at t = 0, then again every 900 s until booked.
    expect(beyond.bucket.refused).toBeGreaterThanOrEqual(2_095);
    expect(writesPerWebhook(beyond)).toBeGreaterThan(1.6);
    expect(beyond.deliveries).toBe(3_000);
  });
});

describe('pricing the counted work', () => {
  it('solves the measured deliver CPU for its per-invocation base and its per-call share', () => {
    // 4 accounts × (2 writes + 2 provider calls) = 16 calls a job: 6 + 16 = 22 ms alone, 6 + 160 = 166 ms for ten.
    const cpu = deliverCpuFromMeasured({ accounts: 4, singleCpuMs: 22, batchCpuMs: 166, batchSize: 10 });
    expect(cpu.deliverCpuMsPerCall).toBeCloseTo(1, 10);
    expect(cpu.deliverBaseCpuMs).toBeCloseTo(6, 10);
  });

  it('prices one steady webhook to one account from its calls: token + claim + record, two provider calls', () => {
    const work = simulateDeliveries({ webhooks: 1, rates: [perSecond], batchSize: 1, unlimited: true });
    const durations = {
      memoryMb: 1024,
      vcpuShare: 1,
      awsCallMs: 10,
      providerCallMs: 100,
      deliverBaseCpuMs: 0,
      deliverCpuMsPerCall: 0,
    };
    const priced = priceWork(work, { writes: 2, awsCalls: 3, cpuMs: 0 }, durations);
    expect(priced.deliverMs).toBe(3 * 10 + 2 * 100);
    expect(priced.perMillion['Lambda GB-s, deliver']).toBeCloseTo(0.23 * 1e6 * PRICES.lambdaGbSecond, 10);
    expect(priced.perMillion['Lambda GB-s, ingest']).toBeCloseTo(0.03 * 1e6 * PRICES.lambdaGbSecond, 10);
    // Ingest's send, then the receive and the delete of a one-job batch.
    expect(priced.perWebhook.sqsRequests).toBe(3);
    expect(priced.perWebhook.lambdaRequests).toBe(2);
    expect(priced.perWebhook).toMatchObject({ ingestWrites: 2, outcomeWrites: 2, bucketWrites: 1, reads: 0 });
    expect(priced.perMillion['DynamoDB writes, token bucket']).toBe(PRICES.dynamoPerMillionWriteUnits);
  });

  it('charges a deferral one send, one bucket write and its share of a receive and a delete', () => {
    const durations = {
      memoryMb: 256,
      vcpuShare: 0.5,
      awsCallMs: 10,
      providerCallMs: 250,
      deliverBaseCpuMs: 1,
      deliverCpuMsPerCall: 1,
    };
    const ingest = { writes: 2, awsCalls: 3, cpuMs: 5 };
    // Six jobs: five delivered in the first batch, one deferred and back alone.
    const deferred = priceWork(
      simulateDeliveries({ webhooks: 6, rates: [perSecond], batchSize: 10 }),
      ingest,
      durations,
    );
    expect(deferred.perWebhook.sqsRequests * 6).toBe(6 + 1 + 2 * 2);
    expect(deferred.perWebhook.bucketWrites * 6).toBe(6);
    expect(deferred.perWebhook.outcomeWrites * 6).toBe(12);
  });
});
