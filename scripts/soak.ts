/**
 * `npm run soak -- [options]`: the fault-injection soak. N webhooks
 * over every source into the pipeline, random transient faults at every
 * provider, some webhooks delivered again; then the invariant check and a
 * summary table. Exits 1 when the invariant is violated, 2 on bad options.
 *
 * `--burst N`: N webhooks at once into rate-limited providers, no faults and
 * no re-deliveries unless asked; judged also by the time to drain against the
 * theoretical minimum, dead letters, duplicates and 429s (scripts/soak/burst.ts).
 *
 * It runs in this one process: the real handlers are invoked directly (not
 * through serverless-offline) against the emulator with dynalite and fauxqs.
 */
// First: sets the log level before any import creates the functions' logger.
import './soak/log-level.js';
import { writeFileSync } from 'node:fs';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import routesFile from '../config/routes.json' with { type: 'json' };
import { parseRoutesConfig } from '../shared/config/routes.js';
import { startLocalPipeline } from '../local/pipeline.js';
import {
  EMULATED_PROVIDERS,
  RANDOM_FAULT_KINDS,
  type EmulatedProvider,
  type RandomFaultKind,
} from '../local/emulator/state.js';
import {
  COUNTED_REQUESTS_PER_CONTACT,
  DEFAULT_BURST_LIMITS,
  expectedMinimumMs,
  formatBurstLimits,
  HEADROOM,
  InvalidBurstLimitError,
  parseBurstLimits,
  routesUnderLimits,
  type BurstLimits,
} from './soak/burst.js';
import { peopleCapacity } from './soak/people.js';
import { overrideRoutesFile } from './soak/routes-override.js';
import { formatSoak } from './soak/report.js';
import { runSoak } from './soak/run.js';

const USAGE = `usage: npm run soak -- [options]
  --size N             webhooks (distinct events), spread over all sources     (300)
  --burst N            burst mode: N webhooks as fast as the senders go, into rate-limited providers;
                       fault rate and re-delivery rate 0 unless given; reports the time to drain against
                       the theoretical minimum, dead letters, duplicates and 429s, and exits 1 when the
                       drain takes > 1.2× the minimum, anything is dead-lettered or duplicated, or 429s
                       exceed 1% of a provider's requests
  --limit P=L,...      burst mode: each provider's emulated limit per account, requests a minute (600),
                       a second (300/s) or off, and optionally +B, its bucket's capacity (default a
                       window's worth); the route's account rates follow from it
                       (${formatBurstLimits(DEFAULT_BURST_LIMITS)})
  --fault-rate R       share of provider requests given a random fault, 0..1   (0.2; burst 0)
  --redeliver-rate R   share of webhooks their sender delivers again, 0..1     (0.1; burst 0)
  --concurrency N      webhook requests in flight at once                      (32)
  --consumers N        queue consumers handing batches to deliver at once      (32; burst 10)
  --seed N             seed for people, payloads and fault draws               (random, printed)
  --visibility S       the delivery queue's visibility timeout, seconds        (10, as npm start; burst 360)
  --mix K=W,...        fault kinds and weights: 429, 500, 503, hang, reset     (429=30,500=25,503=25,hang=2,reset=18)
  --hang-ms MS         how long a hung answer is held                          (10500: past the 10 s client timeout)
  --retry-after S      Retry-After of a 429, seconds                           (1)
  --outage P:S[@F]     provider P answers 503 to everything for S seconds, so jobs are
                       dead-lettered and the redrive has work; from the start, or once a
                       share F of the events has its contact at P (e.g. kirim:60@0.5)  (none)
  --timeout MIN        give up waiting for the queue to drain after MIN minutes (30; burst: twice the
                       theoretical minimum + 5, at least 30)
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
        size: { type: 'string' },
        burst: { type: 'string' },
        limit: { type: 'string' },
        'fault-rate': { type: 'string' },
        'redeliver-rate': { type: 'string' },
        concurrency: { type: 'string', default: '32' },
        consumers: { type: 'string' },
        seed: { type: 'string' },
        visibility: { type: 'string' },
        mix: { type: 'string' },
        'hang-ms': { type: 'string' },
        'retry-after': { type: 'string' },
        timeout: { type: 'string' },
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

if (parsed.burst !== undefined && parsed.size !== undefined) fail('give --burst N or --size N, not both');
if (parsed.limit !== undefined && parsed.burst === undefined) fail('--limit applies to --burst only');
const burstMode = parsed.burst !== undefined;
const size =
  parsed.burst !== undefined
    ? number('burst', parsed.burst, whole(1), 'a whole number >= 1')
    : number('size', parsed.size ?? '300', whole(1), 'a whole number >= 1');
if (size > peopleCapacity())
  fail(`--${burstMode ? 'burst' : 'size'} can be at most ${peopleCapacity()} (distinct fictional phone numbers)`);
const faultRate = number(
  'fault-rate',
  parsed['fault-rate'] ?? (burstMode ? '0' : '0.2'),
  share,
  'a number from 0 to 1',
);
const redeliverRate = number(
  'redeliver-rate',
  parsed['redeliver-rate'] ?? (burstMode ? '0' : '0.1'),
  share,
  'a number from 0 to 1',
);
let burst: { limits: BurstLimits; routes: unknown } | undefined;
if (burstMode) {
  try {
    const limits = parseBurstLimits(parsed.limit);
    burst = { limits, routes: routesUnderLimits(routesFile, limits) };
  } catch (error) {
    if (!(error instanceof InvalidBurstLimitError)) throw error;
    fail(error.message);
  }
}
const concurrency = number('concurrency', parsed.concurrency, whole(1), 'a whole number >= 1');
// A burst runs as AWS would: prod's deliver maximumConcurrency (serverless.yml, params.prod.deliverMaxConcurrency)
// and the queue's visibility timeout (infra/resources.yml, 6 × deliver's 60 s). The fault soak's shorter ones
// (npm start's) hand a slow batch to a second consumer on purpose; in a burst, where one machine runs every
// function, they would hand over batches merely slowed by the load, each copy deferring the job again.
const consumers = number('consumers', parsed.consumers ?? (burstMode ? '10' : '32'), whole(1), 'a whole number >= 1');
const seed =
  parsed.seed === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : number('seed', parsed.seed, whole(0), 'a whole number >= 0');
const visibility = number(
  'visibility',
  parsed.visibility ?? (burstMode ? '360' : '10'),
  whole(1),
  'a whole number of seconds >= 1',
);
const defaultTimeoutMinutes =
  burst === undefined ? 30 : Math.max(30, Math.ceil((2 * expectedMinimumMs(size, burst.limits)) / 60_000) + 5);
const timeoutMinutes = number(
  'timeout',
  parsed.timeout ?? String(defaultTimeoutMinutes),
  (value) => value > 0,
  'a number of minutes > 0',
);
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
if (burst !== undefined) {
  const accounts = parseRoutesConfig(burst.routes).accounts;
  log?.(
    `burst: limits ${formatBurstLimits(burst.limits) || 'none'}; account rates, requests a minute (perMinute + burst, ` +
      `${HEADROOM * 100}% headroom): ` +
      Object.entries(accounts)
        .map(([name, account]) => `${name} ${account.rate?.perMinute} + ${account.rate?.burst}`)
        .join(', ') +
      `; theoretical minimum ${(expectedMinimumMs(size, burst.limits) / 60_000).toFixed(1)} min ` +
      `(requests a new contact costs: ${JSON.stringify(COUNTED_REQUESTS_PER_CONTACT)}); timeout ${timeoutMinutes} min`,
  );
}
// The fault soak is not about pacing: its accounts go as fast as a bucket allows (no limit), as in the tests,
// or it would wait on the providers' documented default rates for hours.
const routes = burst?.routes ?? routesUnderLimits(routesFile, {});
// Before the handlers are imported: they read the route config once, at cold start.
const removeRoutesFile = overrideRoutesFile(routes);

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
  await checkFunctionsRoutes(routes);
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
    routes,
    ...(burst !== undefined ? { burst: { limits: burst.limits } } : {}),
  });
  console.log(formatSoak(result));
  if (parsed.json !== undefined) writeFileSync(parsed.json, `${JSON.stringify(result, null, 2)}\n`);
  exitCode = result.ok ? 0 : 1;
} catch (error) {
  console.error(`npm run soak: the run failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await pipeline.close().catch(() => undefined);
  removeRoutesFile();
}
process.exit(exitCode);

/** The functions' runtime (the module their handlers share) reads `routes`' accounts, or the rates mean nothing. */
async function checkFunctionsRoutes(routes: unknown): Promise<void> {
  const { createRuntime } = await import('../shared/runtime.js');
  const loaded = createRuntime().routes.accounts;
  if (!isDeepStrictEqual(loaded, parseRoutesConfig(routes).accounts))
    throw new Error(`the functions did not load the soak's route config: their accounts are ${JSON.stringify(loaded)}`);
}
