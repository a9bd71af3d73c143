/**
 * `npm run soak -- [options]`: the fault-injection soak. N webhooks
 * over every source into the pipeline, random transient faults at every
 * provider, some webhooks delivered again; then the invariant check and a
 * summary table. Exits 1 when the invariant is violated, 2 on bad options.
 *
 * It runs in this one process: the real handlers are invoked directly (not
 * through serverless-offline) against the emulator with dynalite and fauxqs.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startLocalPipeline } from '../local/pipeline.js';
import {
  EMULATED_PROVIDERS,
  RANDOM_FAULT_KINDS,
  type EmulatedProvider,
  type RandomFaultKind,
} from '../local/emulator/state.js';
import { peopleCapacity } from './soak/people.js';
import { formatSoak } from './soak/report.js';
import { runSoak } from './soak/run.js';

const USAGE = `usage: npm run soak -- [options]
  --size N             webhooks (distinct events), spread over all sources     (300)
  --fault-rate R       share of provider requests given a random fault, 0..1   (0.2)
  --redeliver-rate R   share of webhooks their sender delivers again, 0..1     (0.1)
  --concurrency N      webhook requests in flight at once                      (32)
  --consumers N        queue consumers handing batches to deliver at once      (32)
  --seed N             seed for people, payloads and fault draws               (random, printed)
  --visibility S       the delivery queue's visibility timeout, seconds        (10, as npm start)
  --mix K=W,...        fault kinds and weights: 429, 500, 503, hang, reset     (429=30,500=25,503=25,hang=2,reset=18)
  --hang-ms MS         how long a hung answer is held                          (10500: past the 10 s client timeout)
  --retry-after S      Retry-After of a 429, seconds                           (1)
  --outage P:S[@F]     provider P answers 503 to everything for S seconds, so jobs are
                       dead-lettered and the redrive has work; from the start, or once a
                       share F of the events has its contact at P (e.g. kirim:60@0.5)  (none)
  --timeout MIN        give up waiting for the queue to drain after MIN minutes (30)
  --json FILE          also write the whole result as JSON
  --quiet              no progress lines
  --shared-deliver     let every consumer call one deliver handler instance concurrently
                       (Lambda never does; reproduces what the shared batch processor does then)`;

function fail(message: string): never {
  console.error(`npm run soak: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        size: { type: 'string', default: '300' },
        'fault-rate': { type: 'string', default: '0.2' },
        'redeliver-rate': { type: 'string', default: '0.1' },
        concurrency: { type: 'string', default: '32' },
        consumers: { type: 'string', default: '32' },
        seed: { type: 'string' },
        visibility: { type: 'string', default: '10' },
        mix: { type: 'string' },
        'hang-ms': { type: 'string' },
        'retry-after': { type: 'string' },
        timeout: { type: 'string', default: '30' },
        outage: { type: 'string' },
        json: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        'shared-deliver': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
}
const parsed = parseOptions();
if (parsed.help) {
  console.log(USAGE);
  process.exit(0);
}

function number(name: string, text: string | undefined, check: (value: number) => boolean, rule: string): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value) || !check(value))
    fail(`--${name} must be ${rule}, got "${text}"`);
  return value;
}
const whole = (min: number) => (value: number) => Number.isInteger(value) && value >= min;
const share = (value: number) => value >= 0 && value <= 1;

const size = number('size', parsed.size, whole(1), 'a whole number >= 1');
if (size > peopleCapacity()) fail(`--size can be at most ${peopleCapacity()} (distinct fictional phone numbers)`);
const faultRate = number('fault-rate', parsed['fault-rate'], share, 'a number from 0 to 1');
const redeliverRate = number('redeliver-rate', parsed['redeliver-rate'], share, 'a number from 0 to 1');
const concurrency = number('concurrency', parsed.concurrency, whole(1), 'a whole number >= 1');
const consumers = number('consumers', parsed.consumers, whole(1), 'a whole number >= 1');
const seed =
  parsed.seed === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : number('seed', parsed.seed, whole(0), 'a whole number >= 0');
const visibility = number('visibility', parsed.visibility, whole(1), 'a whole number of seconds >= 1');
const timeoutMinutes = number('timeout', parsed.timeout, (value) => value > 0, 'a number of minutes > 0');
const hangMs =
  parsed['hang-ms'] === undefined
    ? undefined
    : number('hang-ms', parsed['hang-ms'], whole(0), 'a whole number of milliseconds');
const retryAfterSeconds =
  parsed['retry-after'] === undefined
    ? undefined
    : number('retry-after', parsed['retry-after'], (value) => value >= 0, 'a number of seconds >= 0');
let mix: Partial<Record<RandomFaultKind, number>> | undefined;
if (parsed.mix !== undefined) {
  mix = {};
  for (const part of parsed.mix.split(',')) {
    const [kind = '', weight] = part.split('=').map((text) => text.trim());
    if (!(RANDOM_FAULT_KINDS as readonly string[]).includes(kind))
      fail(`--mix: unknown fault kind "${kind}" (kinds: ${RANDOM_FAULT_KINDS.join(', ')})`);
    mix[kind as RandomFaultKind] = number('mix', weight, (value) => value >= 0, `a weight >= 0 for ${kind}`);
  }
}

let outage: { provider: EmulatedProvider; seconds: number; afterShare?: number } | undefined;
if (parsed.outage !== undefined) {
  const [provider = '', timing = ''] = parsed.outage.split(':');
  const [secondsText, afterText] = timing.split('@');
  if (!(EMULATED_PROVIDERS as readonly string[]).includes(provider))
    fail(`--outage: provider must be one of ${EMULATED_PROVIDERS.join(', ')}, got "${provider}"`);
  outage = {
    provider: provider as EmulatedProvider,
    seconds: number('outage', secondsText, (value) => value > 0, 'PROVIDER:SECONDS[@SHARE] with SECONDS > 0'),
    ...(afterText !== undefined
      ? {
          afterShare: number(
            'outage',
            afterText,
            (value) => value >= 0 && value < 1,
            'PROVIDER:SECONDS@SHARE with SHARE from 0 to below 1',
          ),
        }
      : {}),
  };
}

const log = parsed.quiet ? undefined : (line: string) => console.error(line);
log?.(
  `soak: ${size} webhooks, fault rate ${faultRate}, re-delivery rate ${redeliverRate}, seed ${seed} (repeat with --seed ${seed}); in-process pipeline (real handlers, emulator, dynalite, fauxqs; not serverless-offline)`,
);

const pipeline = await startLocalPipeline({
  stage: 'soak',
  sourceSecret: { secret: 'soak-signing-secret', token: 'soak-token' },
  providerKeys: {
    twochat: 'soak-2chat-key',
    kirim: 'soak-kirim-key',
    callbell: 'soak-callbell-key',
    chatwoot: 'soak-chatwoot-key',
  },
  visibilityTimeoutSeconds: visibility,
});
let exitCode = 1;
try {
  const result = await runSoak(pipeline, {
    size,
    faultRate,
    redeliverRate,
    concurrency,
    consumers,
    seed,
    visibilityTimeoutSeconds: visibility,
    settleTimeoutMs: timeoutMinutes * 60_000,
    ...(mix !== undefined ? { mix } : {}),
    ...(hangMs !== undefined ? { hangMs } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...(log !== undefined ? { log } : {}),
    sharedDeliver: parsed['shared-deliver'],
    ...(outage !== undefined ? { outage } : {}),
  });
  console.log(formatSoak(result));
  if (parsed.json !== undefined) writeFileSync(parsed.json, `${JSON.stringify(result, null, 2)}\n`);
  exitCode = result.ok ? 0 : 1;
} catch (error) {
  console.error(`npm run soak: the run failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await pipeline.close().catch(() => undefined);
}
process.exit(exitCode);
