/**
 * A burst above a provider account's rate, through the pipeline: the real forms and deliver handlers, the
 * queue on fauxqs (deferred jobs come back through its DelaySeconds), deliver's calls held to its role, and
 * the emulated provider enforcing its limit with 429s. The account's rate is set under that limit, as README
 * tells a user to set it: the burst drains at the rate, with no 429, nothing dead-lettered, nobody twice.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';

/** Kirim's limit in the emulator, and the account's rate under it: a token bucket lets burst + rate go a minute. */
const KIRIM_LIMIT = { perMinute: 240, burst: 5 };
const KIRIM_RATE = { perMinute: 200, burst: 5 };
const LEADS = 24;

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline({
    routes: {
      accounts: { kirim: { provider: 'kirim', rate: KIRIM_RATE }, twochat: { provider: 'twochat' } },
      sources: {
        form: { default: { deliverTo: ['kirim', 'twochat'], defaultRegion: 'US' } },
        shopify: { default: { deliverTo: ['twochat'] } },
      },
    },
    visibilityTimeoutSeconds: 30,
  });
  pipeline.emulator.state.rateLimits.set('kirim', KIRIM_LIMIT);
}, 60_000);
afterAll(async () => pipeline?.close());

async function queued(url: string): Promise<number> {
  const { Attributes = {} } = await pipeline.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(Attributes).reduce((sum, count) => sum + Number(count), 0);
}

describe('Delivery paced to an account rate', () => {
  it('drains a burst at the account rate with no 429, no dead letter and every person created once', async () => {
    const sent = Date.now();
    const answers = await Promise.all(
      Array.from({ length: LEADS }, (_, n) => {
        const digits = String(n).padStart(2, '0');
        const body = JSON.stringify({
          name: `Paced Lead${digits}`,
          email: `paced${digits}@example.com`,
          phone: `+1 415 555 01${digits}`,
        });
        const headers = { 'content-type': 'application/json', 'idempotency-key': `paced-${digits}` };
        return pipeline.forms(httpApiEvent('form', 'default', body, headers), lambdaContext());
      }),
    );
    for (const answer of answers) expect(answer.statusCode).toBe(200);
    const poller = pipeline.startPoller();
    const state = pipeline.emulator.state;
    const at = (provider: string) => state.contacts.filter((contact) => contact.provider === provider);
    await eventually(() => {
      expect(at('kirim')).toHaveLength(LEADS);
      expect(at('twochat')).toHaveLength(LEADS);
    }, 60_000);
    const drained = Date.now() - sent;
    await poller.stop();

    expect(new Set(at('kirim').map((contact) => contact.phone)).size).toBe(LEADS);
    expect(state.requests.filter((request) => request.rateLimited)).toEqual([]);
    // The burst the account may send at once, then one delivery per interval of its rate: never faster.
    const intervalMs = 60_000 / KIRIM_RATE.perMinute;
    expect(drained).toBeGreaterThanOrEqual((LEADS - KIRIM_RATE.burst) * intervalMs);
    expect(await queued(pipeline.resources.queueUrl)).toBe(0);
    expect(await queued(pipeline.resources.dlqUrl)).toBe(0);
    // Deliver put the deferred jobs back itself, with its own role.
    const sends = (pipeline.emulator.iam?.decisions ?? []).filter(
      (entry) => entry.function === 'deliver' && entry.action === 'sqs:SendMessage',
    );
    expect(sends.length).toBeGreaterThanOrEqual(LEADS - KIRIM_RATE.burst);
    for (const entry of sends)
      expect(entry).toMatchObject({ resource: pipeline.resources.queueArn, decision: 'allowed' });
  }, 90_000);
});
