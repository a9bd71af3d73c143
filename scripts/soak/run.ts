/**
 * The soak: N webhooks over every source, posted concurrently to the real
 * ingest handlers while the emulator injects random transient faults on
 * every provider and some senders deliver the same webhook again; several
 * queue consumers hand the delivery queue to the real deliver handler until
 * it is empty; then, with the faults cleared, the real redrive handler moves
 * whatever was dead-lettered back and the queue is drained again. Finally
 * the evidence (every answer, the DynamoDB table, the emulator's contacts
 * and requests) goes to `checkSoak`.
 *
 * Everything runs in one process against the pipeline of local/pipeline.ts,
 * not through serverless-offline: the handlers are the same code, invoked
 * directly with API Gateway and SQS events.
 */
import { readFileSync } from 'node:fs';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { parse as parseYaml } from 'yaml';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { findRoute, parseRoutesConfig } from '../../shared/config/routes.js';
import type { RedriveReport } from '../../shared/operations/redrive.js';
import { storeDefaults } from '../../shared/store.js';
import { startQueuePoller, type QueuePoller } from '../../local/emulator/queue-poller.js';
import { seededRandom, type Random } from '../../local/emulator/random.js';
import {
  EMULATED_PROVIDERS,
  type EmulatedProvider,
  type Fault,
  type RandomFaultKind,
  type RandomFaultPlan,
} from '../../local/emulator/state.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import type { BurstLimits } from './burst.js';
import { checkSoak, type Answer, type SentWebhook, type SoakResult, type TableItem } from './check.js';
import { makePeople } from './people.js';
import { makeWebhooks, type SoakWebhook, type WebhookRequest } from './webhooks.js';

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

export interface SoakOptions {
  /** Webhooks (distinct events), before re-deliveries. */
  size: number;
  /** Share of provider requests that get a random transient fault. */
  faultRate: number;
  /** Share of webhooks whose sender delivers them again. */
  redeliverRate: number;
  /** Webhook requests in flight at once. */
  concurrency: number;
  /** Queue consumers (pollers) handing batches to the deliver function at once. */
  consumers: number;
  seed: number;
  /** The queue's visibility timeout, as the pipeline was provisioned (reported only). */
  visibilityTimeoutSeconds: number;
  /** Weights of the fault kinds (default: the emulator's DEFAULT_RANDOM_FAULT_MIX). */
  mix?: Partial<Record<RandomFaultKind, number>>;
  /** How long a hung answer is held (default: the emulator's, just past the provider client's 10 s response timeout). */
  hangMs?: number;
  retryAfterSeconds?: number;
  /** Give up waiting for the queue to drain after this long (each drain). */
  settleTimeoutMs: number;
  /**
   * A provider answering 503 to everything for a while: jobs that reach it maxReceiveCount times
   * meanwhile are dead-lettered, so the redrive has something to complete. It starts once `afterShare`
   * of the events have their contact at that provider (0, the default: at the start), and ends after
   * `seconds`, or as soon as the dead-letter queue holds `untilParked` jobs (so a slow machine gets
   * its dead letters too, and a fast one does not wait longer than it needs).
   */
  outage?: { provider: EmulatedProvider; seconds: number; afterShare?: number; untilParked?: number };
  /**
   * Hand every consumer's batches to the one deliver handler of `target`, concurrently, instead of giving
   * each consumer a handler instance of its own (one invocation at a time per instance, as Lambda runs them).
   * Only to reproduce what concurrent invocations of one instance do.
   */
  sharedDeliver?: boolean;
  /** The routes file the functions were started with (default: config/routes.json). */
  routes?: unknown;
  /**
   * Burst mode: each provider limited as `limits` says (an absent provider is not limited), and the run judged
   * by its time to drain against the limits' theoretical minimum, dead letters, duplicates and 429s.
   */
  burst?: { limits: BurstLimits };
  /** Progress lines; silent when absent. */
  log?: (line: string) => void;
}

export interface SoakCounters {
  /** Webhook requests made, re-deliveries and sender retries included. */
  requests: number;
  /** Requests repeated by a sender because the answer was a 5xx (or the handler threw). */
  senderRetries: number;
  batches: number;
  jobsHandedOver: number;
  /** Jobs the deliver function reported failed (they come back after the visibility timeout). */
  jobsReportedFailed: number;
  /** Invocations or queue calls that threw inside the consumers (a deliver timeout is a TimeoutError). */
  consumerErrors: number;
  consumerErrorsByKind: Record<string, number>;
  consumerErrorSamples: string[];
}

export interface SoakPhases {
  /** First webhook sent → last webhook answered. */
  ingestMs: number;
  /** First webhook sent → the delivery queue empty and idle, before the redrive (the first of the quiet looks). */
  drainMs: number;
  /** Start → delivery queue empty and idle (before the redrive). */
  settledMs: number;
  /** Start → redrive done and the queue empty again. */
  totalMs: number;
  settled: boolean;
}

export interface OutagePhase {
  provider: EmulatedProvider;
  seconds: number;
  afterShare?: number;
  /** When it started and ended, from the start of the run (it ends early when the queue has drained). */
  startedAtMs?: number;
  endedAtMs?: number;
  /** Requests answered 503 by the outage. */
  answered: number;
}

export interface RedrivePhase {
  /** Jobs in the dead-letter queue once the queue first went quiet. */
  parked: number;
  /** Jobs the redrive moved back (all rounds). */
  redriven: number;
  rounds: RedriveReport[];
  /** Dead-letter queue depth at the end. */
  leftInDlq: number;
  /** Delivery queue depth at the end. */
  leftInQueue: number;
  settled: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type RedeliveryMode = 'after' | 'concurrent' | 'later';

interface Plan {
  webhook: SoakWebhook;
  mode?: RedeliveryMode;
  extraCopies: number;
}

/** What the steps of one run share; `inFlight`, `answered` and `accepted` change as it goes. */
interface Run {
  target: LocalPipeline;
  options: SoakOptions;
  log: (line: string) => void;
  counters: SoakCounters;
  /** When the consumers were up and the first webhook went out (ms since the epoch). */
  started: number;
  /** Batches the deliver function is working on now. */
  inFlight: number;
  /** Webhook copies answered (after the sender's retries), and of them accepted. */
  answered: number;
  accepted: number;
}

export async function runSoak(target: LocalPipeline, options: SoakOptions): Promise<SoakResult> {
  const random = seededRandom(options.seed);
  const plans = planWebhooks(target, options, random);
  const faults = injectRandomFaults(target, options);
  if (options.burst !== undefined) limitProviders(target, options.burst.limits);
  const run: Run = {
    target,
    options,
    log: options.log ?? (() => undefined),
    counters: {
      requests: 0,
      senderRetries: 0,
      batches: 0,
      jobsHandedOver: 0,
      jobsReportedFailed: 0,
      consumerErrors: 0,
      consumerErrorsByKind: {},
      consumerErrorSamples: [],
    },
    started: 0,
    inFlight: 0,
    answered: 0,
    accepted: 0,
  };
  const consumers = await startConsumers(run);
  run.started = Date.now();
  const outage = armOutage(run);
  const progress = logProgress(run, plans);

  const sent = await sendWebhooks(run, plans, random);
  const ingestMs = Date.now() - run.started;
  run.log(
    `${elapsed(run)}  all ${run.counters.requests} webhook requests answered (${run.accepted} accepted); draining the delivery queue`,
  );

  const drain = await settle(run);
  const settled = drain.settled;
  const settledMs = Date.now() - run.started;
  const parked = await queueDepth(target, target.resources.dlqUrl);
  run.log(
    `${elapsed(run)}  delivery queue ${settled ? 'empty' : 'NOT empty (timed out)'}; ${parked} job(s) in the dead-letter queue`,
  );

  // Providers answer again before the scheduled redrive runs.
  outage.end();
  target.emulator.state.setRandomFaults({});
  const redrive = await redriveDeadLetters(run, settled);
  const totalMs = Date.now() - run.started;
  clearInterval(progress);
  await Promise.all(consumers.map((consumer) => consumer.stop()));
  const redrivePhase: RedrivePhase = {
    parked,
    redriven: redrive.redriven,
    rounds: redrive.rounds,
    leftInDlq: await queueDepth(target, target.resources.dlqUrl),
    leftInQueue: await queueDepth(target, target.resources.queueUrl),
    settled: redrive.settled,
  };

  return checkRun(
    run,
    plans,
    sent,
    faults,
    { ingestMs, settledMs, totalMs, settled, drainMs: drain.quietSince - run.started },
    redrivePhase,
    outage.phase(),
  );
}

/** The emulated providers' rate limits for a burst: these and no others, every account's count afresh. */
function limitProviders(target: LocalPipeline, limits: BurstLimits): void {
  const rateLimits = target.emulator.state.rateLimits;
  rateLimits.clear();
  for (const provider of EMULATED_PROVIDERS) {
    const plan = limits[provider];
    if (plan !== undefined) rateLimits.set(provider, plan);
  }
}

/** Requests each limited provider counted (let through or refused), from the emulator's limiter. */
function countedRequests(target: LocalPipeline): Partial<Record<EmulatedProvider, number>> {
  const snapshot = target.emulator.state.rateLimits.snapshot((account) => account) as Record<
    string,
    { accounts: Array<{ served: number; limited: number }> }
  >;
  return Object.fromEntries(
    Object.entries(snapshot).map(([provider, { accounts }]) => [
      provider,
      accounts.reduce((sum, account) => sum + account.served + account.limited, 0),
    ]),
  );
}

/** One webhook per person, and which of them their sender delivers again, and how. */
function planWebhooks(target: LocalPipeline, options: SoakOptions, random: Random): Plan[] {
  const people = makePeople(options.size, random);
  const webhooks = makeWebhooks(people, random, target.sourceSecret);
  return webhooks.map((webhook) => {
    if (random() >= options.redeliverRate) return { webhook, extraCopies: 0 };
    const draw = random();
    const mode: RedeliveryMode = draw < 0.4 ? 'after' : draw < 0.7 ? 'concurrent' : 'later';
    return { webhook, mode, extraCopies: random() < 0.2 ? 2 : 1 };
  });
}

/** Random transient faults at every provider, drawn from the seed; returns their plan. */
function injectRandomFaults(target: LocalPipeline, options: SoakOptions): RandomFaultPlan {
  const plan: RandomFaultPlan = {
    rate: options.faultRate,
    ...(options.mix !== undefined ? { mix: options.mix } : {}),
    ...(options.hangMs !== undefined ? { hangMs: options.hangMs } : {}),
    ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
  };
  target.emulator.state.setRandomFaults(
    Object.fromEntries(EMULATED_PROVIDERS.map((provider) => [provider, plan])),
    options.seed,
  );
  return plan;
}

/**
 * The consumers: the event source mapping, several at once. Lambda runs one invocation at a time per
 * execution environment: each consumer gets its own instance of the deliver module (its own cold start:
 * runtime, secrets cache, HTTP client, batch processor), and a context giving the function's configured timeout.
 */
async function startConsumers(run: Run): Promise<QueuePoller[]> {
  const { target, options, counters } = run;
  const deliverTimeoutMs = functionTimeoutSeconds('deliver') * 1000;
  const instances = options.sharedDeliver
    ? []
    : await Promise.all(Array.from({ length: options.consumers }, (_, container) => target.deliverInstance(container)));
  const invoker =
    (deliver: Handler<SQSEvent, SQSBatchResponse>) =>
    async (event: SQSEvent): Promise<SQSBatchResponse> => {
      run.inFlight++;
      counters.batches++;
      counters.jobsHandedOver += event.Records.length;
      const deadline = Date.now() + deliverTimeoutMs;
      try {
        const response = await deliver(event, {
          ...lambdaContext('contact-relay-soak-deliver'),
          getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        });
        counters.jobsReportedFailed += response?.batchItemFailures.length ?? 0;
        return response;
      } finally {
        run.inFlight--;
      }
    };
  const onError = (error: unknown) => {
    counters.consumerErrors++;
    const kind = (error as Error).name ?? 'Error';
    counters.consumerErrorsByKind[kind] = (counters.consumerErrorsByKind[kind] ?? 0) + 1;
    if (counters.consumerErrorSamples.length < 5)
      counters.consumerErrorSamples.push((error as Error).stack ?? String(error));
  };
  return Array.from({ length: options.consumers }, (_, container) =>
    startQueuePoller({
      sqs: target.sqs,
      queueUrl: target.resources.queueUrl,
      queueArn: target.resources.queueArn,
      invoke: invoker(instances[container] ?? target.deliver),
      onError,
    }),
  );
}

/** Messages in a queue: visible, in flight and delayed. */
async function queueDepth(target: LocalPipeline, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await target.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes['ApproximateNumberOfMessages'] ?? 0) +
    Number(Attributes['ApproximateNumberOfMessagesNotVisible'] ?? 0) +
    Number(Attributes['ApproximateNumberOfMessagesDelayed'] ?? 0)
  );
}

/** Time since the start, for progress lines. */
function elapsed(run: Run): string {
  return `${((Date.now() - run.started) / 1000).toFixed(1).padStart(6)} s`;
}

const OUTAGE_TIMES = Number.MAX_SAFE_INTEGER;

interface ArmedOutage {
  /** Ends it (if it is on) and stops waiting for it to start. */
  end(): void;
  /** What it did, for the report; undefined when none was asked for. */
  phase(): OutagePhase | undefined;
}

/** An outage, if asked for: armed faults come before random ones. */
function armOutage(run: Run): ArmedOutage {
  const { target, options, log } = run;
  const state = target.emulator.state;
  let outageFault: Fault | undefined;
  let outageStartedAt: number | undefined;
  let outageEndedAt: number | undefined;
  let outageTimer: NodeJS.Timeout | undefined;
  const endOutage = () => {
    if (outageFault === undefined || !state.faults.includes(outageFault)) return;
    state.faults.splice(state.faults.indexOf(outageFault), 1);
    outageEndedAt = Date.now();
    log(`${elapsed(run)}  outage over: ${outageFault.provider} answers again`);
  };
  const startOutage = (outage: NonNullable<SoakOptions['outage']>) => {
    outageFault = { provider: outage.provider, status: 503, times: OUTAGE_TIMES };
    state.faults.push(outageFault);
    outageStartedAt = Date.now();
    outageTimer = setTimeout(endOutage, outage.seconds * 1000);
    if (outage.untilParked !== undefined) {
      const enough = outage.untilParked;
      const watch = setInterval(() => {
        if (outageFault === undefined || !state.faults.includes(outageFault)) return clearInterval(watch);
        void queueDepth(target, target.resources.dlqUrl)
          .then((parked) => {
            if (parked < enough) return;
            clearInterval(watch);
            endOutage();
          })
          .catch(() => undefined);
      }, 500);
    }
    log(`${elapsed(run)}  outage: ${outage.provider} answers 503 to everything for ${outage.seconds} s`);
  };
  let outageWatch: NodeJS.Timeout | undefined;
  const outage = options.outage;
  if (outage !== undefined) {
    const threshold = Math.ceil((outage.afterShare ?? 0) * options.size);
    if (threshold <= 0) startOutage(outage);
    else {
      outageWatch = setInterval(() => {
        if (state.contacts.filter((contact) => contact.provider === outage.provider).length < threshold) return;
        clearInterval(outageWatch);
        startOutage(outage);
      }, 100);
    }
  }
  return {
    end() {
      clearInterval(outageWatch);
      clearTimeout(outageTimer);
      endOutage();
    },
    phase: () =>
      outage === undefined
        ? undefined
        : {
            ...outage,
            answered: outageFault === undefined ? 0 : OUTAGE_TIMES - outageFault.times,
            ...(outageStartedAt !== undefined ? { startedAtMs: outageStartedAt - run.started } : {}),
            ...(outageEndedAt !== undefined ? { endedAtMs: outageEndedAt - run.started } : {}),
          },
  };
}

/** A progress line every 5 s, until the returned timer is cleared. */
function logProgress(run: Run, plans: readonly Plan[]): NodeJS.Timeout {
  const { target, log } = run;
  const state = target.emulator.state;
  const totalCopies = plans.reduce((sum, entry) => sum + 1 + entry.extraCopies, 0);
  return setInterval(() => {
    void Promise.all([queueDepth(target, target.resources.queueUrl), queueDepth(target, target.resources.dlqUrl)])
      .then(([queued, parked]) => {
        const contacts = EMULATED_PROVIDERS.map(
          (provider) => `${provider} ${state.contacts.filter((contact) => contact.provider === provider).length}`,
        ).join(', ');
        log(
          `${elapsed(run)}  webhooks ${run.answered}/${totalCopies} answered, ${run.accepted} accepted · queue ${queued}, batches running ${run.inFlight}, dead letters ${parked} · contacts: ${contacts}`,
        );
      })
      .catch(() => undefined);
  }, 5_000);
}

/** The senders: every webhook and its planned re-deliveries, `concurrency` requests at once; what each was answered. */
async function sendWebhooks(run: Run, plans: readonly Plan[], random: Random): Promise<SentWebhook[]> {
  const { target, options, counters } = run;
  const sent: SentWebhook[] = plans.map(({ webhook, mode, extraCopies }) => ({
    index: webhook.index,
    source: webhook.source,
    person: webhook.person,
    ...(mode !== undefined ? { redelivery: mode } : {}),
    copies: 1 + extraCopies,
    answers: [],
  }));
  const attempts = new Map<number, number>();

  /** One delivery by the sender, retried on a 5xx as senders do (3 more tries). */
  async function deliverCopy(webhook: SoakWebhook, record: SentWebhook, copy: number): Promise<void> {
    const failedTries: Answer['failedTries'] = [];
    for (let retry = 0; ; retry++) {
      const attempt = attempts.get(webhook.index) ?? 0;
      attempts.set(webhook.index, attempt + 1);
      const answer = await post(target, webhook.request(attempt, new Date()));
      counters.requests++;
      if (answer.status >= 500 && retry < 3) {
        counters.senderRetries++;
        failedTries.push({ status: answer.status, ...(answer.error !== undefined ? { error: answer.error } : {}) });
        await sleep(200 * 2 ** retry);
        continue;
      }
      record.answers.push({ copy, status: answer.status, body: answer.body, senderRetries: retry, failedTries });
      run.answered++;
      if (answer.status === 200 && (answer.body as { status?: unknown } | null)?.status === 'accepted') run.accepted++;
      return;
    }
  }

  async function sendOne(entry: Plan, record: SentWebhook, later: Plan[]): Promise<void> {
    const { webhook, mode, extraCopies } = entry;
    if (mode === 'concurrent') {
      // The sender timed out and retried while the first request was still being served.
      await Promise.all(Array.from({ length: 1 + extraCopies }, (_, copy) => deliverCopy(webhook, record, copy)));
      return;
    }
    await deliverCopy(webhook, record, 0);
    if (mode === 'after') for (let copy = 1; copy <= extraCopies; copy++) await deliverCopy(webhook, record, copy);
    if (mode === 'later') later.push(entry);
  }

  const later: Plan[] = [];
  await pool(plans.length, options.concurrency, (index) =>
    sendOne(plans[index] as Plan, sent[index] as SentWebhook, later),
  );
  // Re-deliveries that come minutes later (a sender's retry schedule), while delivery is under way.
  shuffle(later, random);
  await pool(later.length, options.concurrency, async (index) => {
    const entry = later[index] as Plan;
    for (let copy = 1; copy <= entry.extraCopies; copy++)
      await deliverCopy(entry.webhook, sent[entry.webhook.index] as SentWebhook, copy);
  });
  return sent;
}

/** One webhook request, as API Gateway hands it to the function serving its source, and the answer API Gateway gives. */
async function post(
  target: LocalPipeline,
  request: WebhookRequest,
): Promise<{ status: number; body: unknown; error?: string }> {
  const query = new URLSearchParams(request.query).toString();
  const event: APIGatewayProxyEventV2 = {
    ...httpApiEvent(request.source, 'default', request.rawBody.toString('base64'), request.headers),
    isBase64Encoded: true,
    rawQueryString: query,
    ...(query !== '' ? { queryStringParameters: request.query } : {}),
  };
  const handler = request.handler === 'forms' ? target.forms : target.shops;
  try {
    const result = await handler(event, lambdaContext(`contact-relay-soak-${request.handler}`));
    let body: unknown = result.body;
    try {
      body = JSON.parse(result.body ?? '');
    } catch {
      // Kept as text.
    }
    return { status: result.statusCode ?? 200, body };
  } catch (error) {
    // What API Gateway answers when the function fails (middy's TimeoutError when it ran out of time).
    return {
      status: 500,
      body: { message: 'Internal Server Error' },
      error: `${(error as Error).name}: ${(error as Error).message}`,
    };
  }
}

/**
 * The drain: until the delivery queue is empty (delayed jobs included) and no batch is running, three looks in
 * a row; `settled` false if the time ran out first. `quietSince` is the first of those looks: when the drain
 * was done.
 */
async function settle(run: Run): Promise<{ settled: boolean; quietSince: number }> {
  const { target, options } = run;
  const deadline = Date.now() + options.settleTimeoutMs;
  let quiet = 0;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    const lookedAt = Date.now();
    const idle =
      run.inFlight === 0 && (await queueDepth(target, target.resources.queueUrl)) === 0 && run.inFlight === 0;
    quiet = idle ? quiet + 1 : 0;
    if (quiet === 1) quietSince = lookedAt;
    if (quiet >= 3) return { settled: true, quietSince };
    await sleep(400);
  }
  return { settled: false, quietSince: Date.now() };
}

/** The scheduled redrive, run until the dead-letter queue stays empty (three rounds at most), each followed by a drain. */
async function redriveDeadLetters(
  run: Run,
  settled: boolean,
): Promise<Pick<RedrivePhase, 'redriven' | 'rounds' | 'settled'>> {
  const { target, log } = run;
  const rounds: RedriveReport[] = [];
  const movesBefore = target.emulator.aws?.moveTasks.length ?? 0;
  let redriveSettled = settled;
  for (let round = 0; round < 3; round++) {
    const report = await target.redrive({}, lambdaContext('contact-relay-soak-redrive'));
    rounds.push(report);
    log(`${elapsed(run)}  redrive: ${report.started ? `moved ${report.dlqMessages} job(s) back` : report.reason}`);
    if (!report.started) break;
    redriveSettled = (await settle(run)).settled;
    const again = await queueDepth(target, target.resources.dlqUrl);
    if (again === 0) break;
    // Parked again: only an outcome claim still leased (a delivery that died mid-call) does that; wait the lease out.
    log(
      `${elapsed(run)}  ${again} job(s) dead-lettered again; waiting ${storeDefaults.leaseMs / 1000} s for outcome leases before the next redrive`,
    );
    await sleep(storeDefaults.leaseMs + 1_000);
  }
  const redriven = (target.emulator.aws?.moveTasks ?? [])
    .slice(movesBefore)
    .reduce((sum, task) => sum + task.ApproximateNumberOfMessagesMoved, 0);
  return { redriven, rounds, settled: redriveSettled };
}

/** The evidence (every answer, the table, the emulator's contacts and requests) to the invariant check. */
async function checkRun(
  run: Run,
  plans: readonly Plan[],
  sent: SentWebhook[],
  faults: RandomFaultPlan,
  phases: SoakPhases,
  redrive: RedrivePhase,
  outage: OutagePhase | undefined,
): Promise<SoakResult> {
  const { target, options, log, counters } = run;
  const state = target.emulator.state;
  const items = await scanTable(target);
  const routes = parseRoutesConfig(options.routes ?? routesFile);
  const accountsBySource = Object.fromEntries(
    [...new Set(plans.map(({ webhook }) => webhook.source))].map((source) => [
      source,
      findRoute(routes, source, 'default')?.accounts.map(({ name, provider }) => ({ name, provider })) ?? [],
    ]),
  );
  log(
    `${elapsed(run)}  checking the invariant over ${items.length} table items, ${state.contacts.length} contacts and ${state.requests.length} emulator requests`,
  );

  return checkSoak({
    options: {
      size: options.size,
      faultRate: options.faultRate,
      redeliverRate: options.redeliverRate,
      concurrency: options.concurrency,
      consumers: options.consumers,
      seed: options.seed,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      mix: faults.mix ?? 'default',
      hangMs: faults.hangMs ?? 'default',
      deliverInstances: options.sharedDeliver ? 'one, shared by every consumer' : 'one per consumer',
      ...(options.burst !== undefined ? { burst: true } : {}),
    },
    sent,
    items,
    contacts: state.contacts,
    requests: state.requests,
    faultsInjected: state.randomFaultsInjected,
    faultDraws: state.randomFaultDraws,
    accountsBySource,
    counters,
    phases,
    redrive,
    ...(outage !== undefined ? { outage } : {}),
    ...(options.burst !== undefined
      ? {
          burst: {
            limits: options.burst.limits,
            routes: options.routes ?? routesFile,
            counted: countedRequests(target),
            drainMs: phases.drainMs,
            deadLetters: redrive.parked,
          },
        }
      : {}),
  });
}

/** A function's configured timeout in serverless.yml (the provider default when it sets none). */
function functionTimeoutSeconds(name: string): number {
  const config = parseYaml(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8')) as {
    provider?: { timeout?: unknown };
    functions?: Record<string, { timeout?: unknown }>;
  };
  const timeout = config.functions?.[name]?.timeout ?? config.provider?.timeout;
  return typeof timeout === 'number' ? timeout : 6;
}

/** Run `task(0..count-1)` with at most `width` running at once. */
async function pool(count: number, width: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(width, count)) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

function shuffle<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

async function scanTable(target: LocalPipeline): Promise<TableItem[]> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: target.emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const items: TableItem[] = [];
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: target.resources.tableName,
          ConsistentRead: true,
          ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...((page.Items ?? []) as TableItem[]));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  } finally {
    client.destroy();
  }
  return items;
}
