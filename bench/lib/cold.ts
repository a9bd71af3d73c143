/**
 * Cold init: a bundle imported and its handler built in a fresh Node process
 * (bench/procs/cold.mjs), given the environment a function gets in Lambda.
 */
import { runChild } from './children.js';
import { STAGE } from './fixtures.js';
import { median, summarize, type Summary } from './stats.js';

/** The environment a function gets in Lambda (dummy values; nothing here is reachable). */
export function lambdaEnv(fn: string, memoryMb: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: `contact-relay-${STAGE}-${fn}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_EC2_METADATA_DISABLED: 'true',
    STAGE,
    POWERTOOLS_SERVICE_NAME: 'contact-relay',
    TABLE_NAME: `contact-relay-${STAGE}-events`,
    QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/000000000000/contact-relay-${STAGE}-delivery`,
    QUEUE_ARN: `arn:aws:sqs:us-east-1:000000000000:contact-relay-${STAGE}-delivery`,
    DLQ_URL: `https://sqs.us-east-1.amazonaws.com/000000000000/contact-relay-${STAGE}-delivery-dlq`,
    DLQ_ARN: `arn:aws:sqs:us-east-1:000000000000:contact-relay-${STAGE}-delivery-dlq`,
    SHOPIFY_EVENTS_ROUTE: 'default',
    ...extra,
  };
}

interface ColdSample {
  importMs: number;
  importCpuMs: number;
  /** With an event: the handler's first call. */
  firstCallMs?: number;
  connects: number;
  rssMb: number;
  sinceProcessStartMs: number;
}

export interface ColdSummary {
  importMs: Summary;
  importCpuMs: Summary;
  firstCallMs?: Summary;
  sinceProcessStartMs: Summary;
  rssMb: number;
  connects: number;
  failed?: string;
}

export interface ColdItem {
  key: string;
  bundle: string;
  env: NodeJS.ProcessEnv;
  flags: string[];
  /** A file holding an event the handler is called with once, after init. */
  event?: string;
}

async function coldOnce({ bundle, env, flags, event }: ColdItem, coldScript: string): Promise<ColdSample> {
  const { result } = await runChild<ColdSample>(coldScript, {
    args: event === undefined ? [bundle] : [bundle, event],
    env,
    nodeFlags: flags,
    timeoutMs: 60_000,
  });
  return result;
}

function summarizeCold(samples: ColdSample[], failed?: string): ColdSummary {
  if (samples.length === 0)
    return {
      importMs: summarize([Number.NaN]),
      importCpuMs: summarize([Number.NaN]),
      sinceProcessStartMs: summarize([Number.NaN]),
      rssMb: Number.NaN,
      connects: Number.NaN,
      ...(failed ? { failed } : {}),
    };
  const firstCalls = samples.flatMap((s) => (s.firstCallMs === undefined ? [] : [s.firstCallMs]));
  return {
    importMs: summarize(samples.map((s) => s.importMs)),
    importCpuMs: summarize(samples.map((s) => s.importCpuMs)),
    ...(firstCalls.length > 0 ? { firstCallMs: summarize(firstCalls) } : {}),
    sinceProcessStartMs: summarize(samples.map((s) => s.sinceProcessStartMs)),
    rssMb: median(samples.map((s) => s.rssMb)),
    connects: Math.max(...samples.map((s) => s.connects)),
    ...(failed ? { failed } : {}),
  };
}

/** Interleaved runs (a, b, c, a, b, c, …) after one unmeasured round, so load drifts hit every bundle alike. */
export async function coldRounds(
  items: ColdItem[],
  runs: number,
  coldScript: string,
): Promise<Record<string, ColdSummary>> {
  const samples = new Map<string, ColdSample[]>(items.map((item) => [item.key, []]));
  const failures = new Map<string, string>();
  for (let round = 0; round <= runs; round++) {
    for (const item of items) {
      if (failures.has(item.key)) continue;
      try {
        const sample = await coldOnce(item, coldScript);
        if (round > 0) samples.get(item.key)?.push(sample);
      } catch (error) {
        failures.set(item.key, (error as Error).message.split('\n').slice(0, 6).join(' | '));
      }
    }
  }
  return Object.fromEntries(
    items.map((item) => [item.key, summarizeCold(samples.get(item.key) ?? [], failures.get(item.key))]),
  );
}
