/**
 * The runs the bench prices: steady load (every account below its rate) and bursts, at one provider account
 * per route and at four, each account at its provider's default rate.
 */
import { deliveryRate } from '../../shared/deferral.js';
import { simulateDeliveries, type Work } from './cost-model.js';
import { priceWork, type Durations, type IngestShape, type Priced } from './cost.js';

/** An account at its provider's default rate, counted in deliveries as delivery takes its tokens. */
const atDefault = (provider: 'twochat' | 'kirim' | 'callbell' | 'chatwoot') =>
  deliveryRate({ name: provider, provider });

/**
 * One account: 2Chat at its default (70 requests a minute, burst 5: 35 deliveries a minute, burst 2, since a
 * delivery is its lookup and its create). Four: one account of each provider.
 */
export const ROUTES = {
  '1 account (2Chat)': [atDefault('twochat')],
  '4 accounts (2Chat, Kirim, Callbell, Chatwoot)': [
    atDefault('twochat'),
    atDefault('kirim'),
    atDefault('callbell'),
    atDefault('chatwoot'),
  ],
};

export const BURSTS = [100, 1_000, 10_000];

/** Webhooks a steady scenario is simulated with: its counts per webhook do not depend on it. */
const STEADY_WEBHOOKS = 1_000;

export interface Scenario {
  route: string;
  load: string;
  work: Work;
  cost: Priced;
}

export function costScenarios(ingest: IngestShape, durations: Durations, batchSize: number): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const [route, rates] of Object.entries(ROUTES)) {
    const runs: Array<[string, Work]> = [
      [
        'steady, 1 job per invocation',
        simulateDeliveries({ webhooks: STEADY_WEBHOOKS, rates, batchSize: 1, unlimited: true }),
      ],
      [
        `steady, batches of ${batchSize}`,
        simulateDeliveries({ webhooks: STEADY_WEBHOOKS, rates, batchSize, unlimited: true }),
      ],
      ...BURSTS.map((webhooks): [string, Work] => [
        `burst of ${webhooks.toLocaleString('en-US')}`,
        simulateDeliveries({ webhooks, rates, batchSize }),
      ]),
    ];
    for (const [load, work] of runs) scenarios.push({ route, load, work, cost: priceWork(work, ingest, durations) });
  }
  return scenarios;
}
