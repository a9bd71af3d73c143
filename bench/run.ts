/**
 * `npm run bench`: each performance target next to its floor, in
 * one run, on this machine. Prints a table with every target marked met or
 * not and writes everything measured to bench/results/latest.json.
 *
 *   1. bundle size per function from `osls package` (scratch copy, no
 *      credentials), split by an esbuild metafile of the same build into our
 *      code, the AWS SDK and each other dependency;
 *   2. cold init: import + handler build in a fresh Node process, next to a
 *      baseline bundle with only the SDK clients the function uses;
 *   3. warm per-event compute (verify + parse + validate + map) next to
 *      HMAC-SHA256 + JSON.parse of the same bytes; the whole ingest handlers
 *      against local DynamoDB and SQS, next to the same three SDK calls alone;
 *   4. delivery throughput and TCP connections per provider host, next to a
 *      bare keep-alive client sending the same requests to the same emulators
 *      (one emulator process, one server per provider, cleared every 1,000
 *      contacts so its linear lookups do not bound the rate);
 *   5. GetSecretValue calls over the warm invocations of the real shops, forms
 *      and deliver bundles (counted at the emulator), and the cache over
 *      1,000 invocations on a simulated clock (one call per secret per TTL);
 *   6. peak RSS of the deliver path over the contacts;
 *   7. cost per million webhooks by component, at steady load and in bursts, at 1 and 4 accounts;
 *   8. hostile inputs: bodies anyone may post to a public URL (60,000 repeats
 *      of one form field in 256 KB, a 65,000-item list, 4,000 multipart parts,
 *      1,000 phones at the cap, an 18,000-email answer) answered within
 *      HOSTILE_TARGET_MS each.
 * Every measuring process is a fresh Node (the one running this script: npm
 * puts the project's node 22 first on PATH) running esbuild bundles built
 * with serverless.yml's options and NODE_OPTIONS, from one snapshot of the
 * sources.
 * Plus what-if builds for the choices the issue asks about (zod import form,
 * AWS SDK bundled or external, libphonenumber-js metadata, undici or the
 * built-in HTTP clients).
 *
 * Knobs (env): BENCH_COLD_RUNS (15), BENCH_CONTACTS (5000),
 * BENCH_INGEST (500 per source), BENCH_QUICK=1 (a smoke run), BENCH_KEEP=1
 * (keep the scratch copy), BENCH_ONLY=hostile (measure 8 alone, in seconds:
 * `BENCH_ONLY=hostile npm run bench`; written to bench/results/hostile.json).
 */
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { oslsWithoutCredentials, scratchCopy } from '../local/scratch.js';
import { baselineSource, composition, sdkUse, type Composition, type SdkUse } from './lib/bundles.js';
import { runChild, startServiceChild, type ServiceChild } from './lib/children.js';
import { coldRounds, lambdaEnv, type ColdSummary } from './lib/cold.js';
import { COMPONENTS, deliverCpuFromMeasured, GROWTH, PRICES, type Durations } from './lib/cost.js';
import { costScenarios, ROUTES } from './lib/cost-scenarios.js';
import { shopifyOrder, STAGE, typeformResponse } from './lib/fixtures.js';
import { readService, type ServiceConfig } from './lib/service.js';
import { round, type Summary } from './lib/stats.js';
import { LIBRARIES, whatIfVariants, type WhatIf } from './lib/variants.js';
import { listZip } from './lib/zip.js';
import type { HostileCase } from './procs/hostile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env['BENCH_QUICK'] === '1';
const num = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
};
const COLD_RUNS = num('BENCH_COLD_RUNS', quick ? 3 : 15);
const WHATIF_RUNS = Math.max(3, Math.round(COLD_RUNS / 3));
const LIBRARY_RUNS = Math.max(3, Math.round(COLD_RUNS / 4));
const ROUND_SIZE = 1000;
const CONTACTS = num('BENCH_CONTACTS', quick ? 500 : 5000);
const INGEST_PER_SOURCE = num('BENCH_INGEST', quick ? 50 : 500);
const WARM_MS = quick ? 300 : 1500;
const KB = 1024;
const ONLY = process.env['BENCH_ONLY'] ?? '';
if (ONLY !== '' && ONLY !== 'hostile') throw new Error(`BENCH_ONLY takes "hostile" (measure 8 alone), got "${ONLY}"`);
/** Calls per hostile input after the first. */
const HOSTILE_RUNS = quick ? 5 : 20;
/** Any answer, refusal or not, within a second: far inside the functions' 10 s timeout, however many arrive. */
const HOSTILE_TARGET_MS = 1000;

const TARGETS = {
  budgetBytes: 250 * KB,
  coldRatio: 1.25,
  warmRatio: 3,
  /** Typeform's floor includes one phone parse with libphonenumber-js. */
  typeformWarmRatio: 2,
  throughputRatio: 0.7,
  connectionsPerHost: 16,
  rssMb: 128,
};

const startedAt = new Date();
const t0 = performance.now();
const log = (message: string) =>
  console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}`);

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const machine = describeMachine();
  const ws = openWorkspace();
  let emulator: ServiceChild | undefined;
  try {
    if (ONLY === 'hostile') return await hostileAlone(ws, machine);

    // 1. osls package, then the same entry points through esbuild with a metafile.
    const packaged = await packageService(ws);
    const functions = await buildFunctions(ws, packaged.zips);
    const variants = whatIfVariants(ws.service, ws.scratch);
    const whatIfBuilds = await buildWhatIfs(ws, variants, functions);
    const libraryBuilds = await buildLibraries(ws);
    const procs = await buildProcs(ws);
    log('built what-if variants, library bundles and the measuring processes');

    // 2. Cold init: every function next to its baseline, interleaved.
    const colds = await measureColdInit(ws, functions, variants, whatIfBuilds, libraryBuilds);

    // The emulators, in their own process.
    log('starting the emulators (4 providers + AWS endpoints) …');
    emulator = startServiceChild(path.join(ws.scratch, 'bench/procs/emulator.ts'), {
      cwd: ws.scratch,
      nodeFlags: ['--import', 'tsx'],
      timeoutMs: 60_000,
    });
    const endpoints = (await emulator.ready) as Endpoints;

    // 3. Warm per-event compute.
    const fixtures: Fixtures = {
      order: shopifyOrder(root),
      typeform: typeformResponse(root),
      writeInput: inputWriter(ws.buildDir),
    };
    const warm = await measureWarm(ws, procs, fixtures);

    // 4 + 6. Delivery throughput, connections, peak RSS.
    const delivery = await measureDelivery(ws, procs, fixtures, emulator, endpoints);

    // 3 (whole handlers) + 5 + cost: the real bundles against the local AWS endpoints.
    const handlers = await measureHandlers(ws, procs, fixtures, functions, emulator, endpoints);
    await emulator.stop();
    emulator = undefined;

    // 8. Hostile inputs, with nothing else running.
    log('hostile inputs …');
    const hostile = await hostileInputs(ws);

    // 7. Cost.
    const cost = estimateCost(ws.service, handlers.result);

    const rows: Row[] = [
      ...bundleRows(functions),
      ...coldRows(functions, colds.cold),
      ...computeRows(warm, handlers.result),
      ...deliveryRows(delivery),
      secretsRow(warm, handlers.result),
      rssRow(delivery, colds.cold),
      costRow(ws.service, cost),
      ...hostile.rows,
    ];
    const measured: Measured = {
      machine,
      ws,
      packaged,
      functions,
      variants,
      whatIfBuilds,
      libraryBuilds,
      ...colds,
      fixtures,
      warm,
      delivery,
      handlers,
      hostile,
      cost,
      rows,
    };
    const elapsedSeconds = (performance.now() - t0) / 1000;
    printReport(measured, elapsedSeconds);
    writeReport(measured, elapsedSeconds);
  } finally {
    await emulator?.stop().catch(() => undefined);
    if (process.env['BENCH_KEEP'] === '1') log(`scratch copy kept at ${ws.scratch}`);
    else rmSync(ws.scratch, { recursive: true, force: true });
  }
}

type Machine = ReturnType<typeof describeMachine>;

function describeMachine() {
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    arch: os.arch(),
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    loadAverageAtStart: os.loadavg().map((value) => round(value, 2)),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
  if (!process.version.startsWith('v22.'))
    log(
      `warning: running on Node ${process.version}; Lambda runs Node 22 (npm run bench uses the project's node 22 from node_modules/.bin)`,
    );
  log(
    `machine: ${machine.cpus} × ${machine.cpuModel}, load ${machine.loadAverageAtStart.join(' ')}, Node ${process.version}`,
  );
  return machine;
}

// ---------------------------------------------------------------- the scratch copy

/** The scratch copy everything is built and measured from, one snapshot of the sources. */
interface Workspace {
  scratch: string;
  buildDir: string;
  service: ServiceConfig;
  /** NODE_OPTIONS, as node flags. */
  flags: string[];
  /** serverless.yml's esbuild options, working in the scratch copy. */
  common: esbuild.BuildOptions;
}

function openWorkspace(): Workspace {
  const scratch = scratchCopy('contact-relay-bench-');
  const buildDir = path.join(scratch, '.bench-build');
  mkdirSync(buildDir, { recursive: true });
  const service = readService(scratch);
  const flags = service.nodeOptions.split(/\s+/).filter(Boolean);
  return { scratch, buildDir, service, flags, common: { ...service.esbuild, absWorkingDir: scratch } };
}

// ---------------------------------------------------------------- builds

interface FunctionBuild {
  name: string;
  bundle: string;
  composition: Composition;
  zipBytes: number | undefined;
  matchesPackage: boolean | undefined;
  sdk: SdkUse;
  baseline: { bundle: string; bytes: number; source: string };
}

type Zips = Record<string, { bytes: number; entries: ReturnType<typeof listZip> }>;

interface Packaged {
  seconds: number;
  zips: Zips;
  zipBytesTotal: number;
}

interface VariantBuild {
  bundle?: string;
  baseline?: string;
  composition?: Composition;
  error?: string;
}

interface LibraryBuild {
  label: string;
  bytes?: number;
  bundle?: string;
  error?: string;
}

async function build(
  options: esbuild.BuildOptions & { entryPoints: string[]; outdir: string },
): Promise<{ file: string; metafile: esbuild.Metafile }> {
  const result = await esbuild.build({ ...options, metafile: true, logLevel: 'silent', write: true });
  const file = Object.keys(result.metafile.outputs).find((name) => !name.endsWith('.map'));
  if (file === undefined) throw new Error(`no output for ${options.entryPoints.join(', ')}`);
  return { file, metafile: result.metafile };
}

/** 1. `osls package` in the scratch copy, with no credentials: one zip per function. */
async function packageService({ scratch, service }: Workspace): Promise<Packaged> {
  log('osls package (scratch copy, no credentials) …');
  const packageStarted = performance.now();
  const packaged = await oslsWithoutCredentials(scratch, ['package', '--stage', STAGE], { timeoutMs: 300_000 });
  const seconds = (performance.now() - packageStarted) / 1000;
  // One zip per function (package.individually in serverless.yml): .serverless/{function}.zip.
  const zipFiles = Object.fromEntries(
    service.functions.map((fn) => [fn.name, path.join(scratch, '.serverless', `${fn.name}.zip`)]),
  );
  const missing = Object.values(zipFiles).filter((file) => !existsSync(file));
  if (packaged.code !== 0 || missing.length > 0) {
    throw new Error(
      `osls package failed (${packaged.code}; missing ${missing.join(', ') || 'nothing'}):\n${packaged.output.slice(-3000)}`,
    );
  }
  const zips: Zips = Object.fromEntries(
    Object.entries(zipFiles).map(([name, file]) => [name, { bytes: statSync(file).size, entries: listZip(file) }]),
  );
  const zipBytesTotal = Object.values(zips).reduce((sum, zip) => sum + zip.bytes, 0);
  log(
    `packaged in ${seconds.toFixed(1)} s: ${Object.keys(zips).length} zips, ${(zipBytesTotal / KB / KB).toFixed(2)} MB together`,
  );
  return { seconds, zips, zipBytesTotal };
}

/** 1. Each function's entry point through esbuild with a metafile, and a baseline bundle with only the SDK clients it uses. */
async function buildFunctions({ scratch, buildDir, service, common }: Workspace, zips: Zips): Promise<FunctionBuild[]> {
  const functions: FunctionBuild[] = [];
  for (const fn of service.functions) {
    const outdir = path.join(buildDir, 'functions', path.dirname(fn.entry));
    const { file, metafile } = await build({ ...common, entryPoints: [fn.entry], outdir });
    const bundle = path.join(scratch, file);
    const zipBytes = zips[fn.name]?.entries.find((entry) => entry.name === fn.bundle)?.bytes;
    const sdk = sdkUse(metafile, file, scratch);
    const source = baselineSource(sdk);
    const baselineEntry = path.join(buildDir, 'baselines-src', `${fn.name}.mjs`);
    mkdirSync(path.dirname(baselineEntry), { recursive: true });
    writeFileSync(baselineEntry, source);
    const baseline = await build({
      ...common,
      entryPoints: [baselineEntry],
      outdir: path.join(buildDir, 'baselines', fn.name),
    });
    functions.push({
      name: fn.name,
      bundle,
      composition: composition(metafile, file),
      zipBytes,
      matchesPackage: zipBytes === undefined ? undefined : zipBytes === statSync(bundle).size,
      sdk,
      baseline: {
        bundle: path.join(scratch, baseline.file),
        bytes: statSync(path.join(scratch, baseline.file)).size,
        source,
      },
    });
  }
  log(
    `built ${functions.length} functions and their SDK-only baselines with esbuild (${functions.every((f) => f.matchesPackage) ? 'byte sizes identical to the osls package zip' : 'WARNING: sizes differ from the zip'})`,
  );
  return functions;
}

/** What-if builds of the real functions, by what-if and function; a failed build keeps its error. */
async function buildWhatIfs(
  { scratch, buildDir, service, common }: Workspace,
  variants: Record<string, WhatIf>,
  functions: FunctionBuild[],
): Promise<Record<string, Record<string, VariantBuild>>> {
  const whatIfBuilds: Record<string, Record<string, VariantBuild>> = {};
  for (const [key, whatIf] of Object.entries(variants)) {
    const byFunction: Record<string, VariantBuild> = {};
    whatIfBuilds[key] = byFunction;
    for (const fn of service.functions.filter((f) => whatIf.functions.includes(f.name))) {
      try {
        // Only bundles whose cold init is measured need their source map (NODE_OPTIONS loads it).
        const measured = whatIf.coldFunctions.includes(fn.name);
        const options = { ...common, ...whatIf.options, ...(measured ? {} : { sourcemap: false }) };
        const { file, metafile } = await build({
          ...options,
          entryPoints: [fn.entry],
          outdir: path.join(buildDir, `whatif-${key}`, path.dirname(fn.entry)),
        });
        const baselineEntry = path.join(buildDir, 'baselines-src', `${fn.name}.mjs`);
        const baseline = !measured
          ? undefined
          : whatIf.rebuildBaseline
            ? path.join(
                scratch,
                (
                  await build({
                    ...options,
                    entryPoints: [baselineEntry],
                    outdir: path.join(buildDir, `whatif-${key}`, 'baselines', fn.name),
                  })
                ).file,
              )
            : functions.find((f) => f.name === fn.name)?.baseline.bundle;
        byFunction[fn.name] = {
          bundle: path.join(scratch, file),
          composition: composition(metafile, file),
          ...(baseline !== undefined ? { baseline } : {}),
        };
      } catch (error) {
        byFunction[fn.name] = { error: (error as Error).message.split('\n')[0] ?? 'build failed' };
      }
    }
  }
  return whatIfBuilds;
}

/** Library-only bundles: the size and load time of each option on its own. */
async function buildLibraries({ scratch, buildDir, common }: Workspace): Promise<Record<string, LibraryBuild>> {
  const libraryBuilds: Record<string, LibraryBuild> = {};
  for (const [key, library] of Object.entries(LIBRARIES)) {
    try {
      const result = await esbuild.build({
        ...common,
        stdin: { contents: library.contents, resolveDir: scratch, sourcefile: `${key}.mjs`, loader: 'ts' },
        outfile: path.join(buildDir, 'libraries', `${key}.mjs`),
        metafile: true,
        logLevel: 'silent',
      });
      const file = Object.keys(result.metafile.outputs).find((name) => !name.endsWith('.map')) as string;
      libraryBuilds[key] = {
        label: library.label,
        bytes: result.metafile.outputs[file]?.bytes ?? 0,
        bundle: path.join(scratch, file),
      };
    } catch (error) {
      libraryBuilds[key] = { label: library.label, error: (error as Error).message.split('\n')[0] ?? 'build failed' };
    }
  }
  return libraryBuilds;
}

/** The bench itself in the scratch copy, without its results. */
function copyBench(scratch: string): void {
  cpSync(path.join(root, 'bench'), path.join(scratch, 'bench'), {
    recursive: true,
    filter: (source) => !source.includes(`${path.sep}results`),
  });
}

/** The bench's own measuring processes, bundled like the functions (same options, same snapshot). */
async function buildProcs({ scratch, buildDir, common }: Workspace): Promise<Record<string, string | undefined>> {
  copyBench(scratch);
  const procs: Record<string, string | undefined> = {};
  for (const name of ['warm', 'deliver-ours', 'deliver-bare', 'deliver-undici', 'handlers']) {
    try {
      const { file } = await build({
        ...common,
        entryPoints: [`bench/procs/${name}.ts`],
        outdir: path.join(buildDir, 'procs'),
      });
      procs[name] = path.join(scratch, file);
    } catch (error) {
      if (name !== 'deliver-undici') throw error;
      log(
        `undici is not resolvable from node_modules: its delivery run is skipped (${(error as Error).message.split('\n')[0]})`,
      );
    }
  }
  return procs;
}

// ---------------------------------------------------------------- 2. cold init

interface Colds {
  cold: Record<string, ColdSummary>;
  whatIfCold: Record<string, ColdSummary>;
  libraryCold: Record<string, ColdSummary>;
}

/** An HTTP API request to `/hooks/{source}/…` on a route no config has: the source is loaded, nothing else is called. */
function firstCallEvent(source: string) {
  const rawPath = `/hooks/${source}/bench-first-call`;
  return {
    version: '2.0',
    routeKey: `POST /hooks/${source}/{route}`,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: rawPath }, requestId: 'bench-first-call' },
    pathParameters: { route: 'bench-first-call' },
    body: '{}',
    isBase64Encoded: false,
  };
}

/**
 * Every function next to its baseline, then each what-if's cold functions next to their baselines (rebuilt, or run
 * under the what-if's node flags, where it changes them), then the library bundles. The forms function is also
 * called once with a Typeform request after init: what loading a source per request moves to the first call.
 */
async function measureColdInit(
  { scratch, buildDir, service, flags }: Workspace,
  functions: FunctionBuild[],
  variants: Record<string, WhatIf>,
  whatIfBuilds: Record<string, Record<string, VariantBuild>>,
  libraryBuilds: Record<string, LibraryBuild>,
): Promise<Colds> {
  const coldScript = path.join(scratch, 'bench/procs/cold.mjs');
  const firstCall = path.join(buildDir, 'first-call-typeform.json');
  writeFileSync(firstCall, JSON.stringify(firstCallEvent('typeform')));
  const eventOf = (name: string) => (name === 'forms' ? { event: firstCall } : {});
  log(
    `cold init: ${service.functions.length} functions + baselines × ${COLD_RUNS} runs (${flags.join(' ') || 'no NODE_OPTIONS'}) …`,
  );
  const coldItems = functions.flatMap((fn) => [
    { key: fn.name, bundle: fn.bundle, env: lambdaEnv(fn.name, service.memorySizeMb), flags, ...eventOf(fn.name) },
    { key: `${fn.name}:baseline`, bundle: fn.baseline.bundle, env: lambdaEnv(fn.name, service.memorySizeMb), flags },
  ]);
  const cold = await coldRounds(coldItems, COLD_RUNS, coldScript);
  log('cold init: the levers and choices (what-ifs) and library bundles …');
  const whatIfItems = Object.entries(variants).flatMap(([key, whatIf]) =>
    functions
      .filter((fn) => whatIf.coldFunctions.includes(fn.name) && whatIfBuilds[key]?.[fn.name]?.bundle !== undefined)
      .flatMap((fn) => {
        const build = whatIfBuilds[key]?.[fn.name] as VariantBuild;
        const env = lambdaEnv(fn.name, service.memorySizeMb);
        const itemFlags = whatIf.nodeFlags ?? flags;
        const baseline = whatIf.rebuildBaseline ? (build.baseline as string) : fn.baseline.bundle;
        // The function as it is and its baseline in the same rounds: a lever is compared within one stretch of load.
        return [
          { key: `${fn.name}:${key}`, bundle: build.bundle as string, env, flags: itemFlags, ...eventOf(fn.name) },
          { key: `${fn.name}:${key}:baseline`, bundle: baseline, env, flags: itemFlags },
          { key: `${fn.name}:${key}:now`, bundle: fn.bundle, env, flags, ...eventOf(fn.name) },
          { key: `${fn.name}:${key}:now:baseline`, bundle: fn.baseline.bundle, env, flags },
        ];
      }),
  );
  const whatIfCold = await coldRounds(whatIfItems, WHATIF_RUNS, coldScript);
  const libraryCold = await coldRounds(
    Object.entries(libraryBuilds)
      .filter(([, lib]) => lib.bundle !== undefined)
      .map(([key, lib]) => ({
        key,
        bundle: lib.bundle as string,
        env: lambdaEnv('library', service.memorySizeMb),
        flags,
      })),
    LIBRARY_RUNS,
    coldScript,
  );
  return { cold, whatIfCold, libraryCold };
}

// ---------------------------------------------------------------- 3, 4, 5, 6. against the emulators

interface Endpoints {
  providers: Record<string, string>;
  aws: string;
  resources: { tableName: string; queueUrl: string; queueArn: string; dlqUrl: string; dlqArn: string };
}

/** The inputs of the measuring processes, and where each process's input file goes (its BENCH_INPUT). */
interface Fixtures {
  order: ReturnType<typeof shopifyOrder>;
  typeform: string;
  writeInput: (name: string, value: unknown) => string;
}

function inputWriter(buildDir: string): Fixtures['writeInput'] {
  const inputs = path.join(buildDir, 'inputs');
  mkdirSync(inputs, { recursive: true });
  return (name, value) => {
    const file = path.join(inputs, `${name}.json`);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };
}

/** 3. Warm per-event compute next to HMAC-SHA256 + JSON.parse of the same bytes. */
async function measureWarm(
  { service, flags }: Workspace,
  procs: Record<string, string | undefined>,
  { order, typeform, writeInput }: Fixtures,
): Promise<WarmResult> {
  log(
    `warm compute: Shopify order ${order.body.length} B (${order.lineItems} line items), Typeform ${typeform.length} B …`,
  );
  const { result } = await runChild<WarmResult>(procs['warm'] as string, {
    env: {
      ...lambdaEnv('warm', service.memorySizeMb),
      BENCH_INPUT: writeInput('warm', { shopifyBody: order.body, typeformBody: typeform, measureMs: WARM_MS }),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
    nodeFlags: flags,
    timeoutMs: 120_000,
  });
  return result;
}

/** Where the functions' provider and Secrets Manager calls go: the emulators. */
function providerEnv(endpoints: Endpoints): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.aws,
    ...Object.fromEntries(
      Object.entries(endpoints.providers).map(([provider, url]) => [
        `PROVIDER_URL_${provider.toUpperCase()}`,
        `${url}/${provider}`,
      ]),
    ),
  };
}

type DeliverRun = DeliverResult & {
  processWallMs: number;
  emulator: Pick<EmulatorStats, 'connections' | 'requests' | 'contacts' | 'statuses' | 'secretCalls' | 'cpuMs'>;
};

interface Delivery {
  concurrency: number;
  ours: DeliverRun;
  bare: DeliverRun;
  thinRun: DeliverRun;
  fetchRun: DeliverRun;
  undiciRun: DeliverRun | undefined;
  burstContacts: number;
  burstConcurrency: number;
  oursBurst: DeliverRun;
  bareBurst: DeliverRun;
}

/** 4 + 6. Delivery throughput, connections per provider host and peak RSS: our client, then the others on the same requests. */
async function measureDelivery(
  { service, flags }: Workspace,
  procs: Record<string, string | undefined>,
  { writeInput }: Fixtures,
  emulator: ServiceChild,
  endpoints: Endpoints,
): Promise<Delivery> {
  const deliverRun = async (
    proc: string,
    args: string[],
    contacts: number,
    concurrency: number,
  ): Promise<DeliverRun> => {
    await emulator.call('reset');
    const before = await emulator.call<EmulatorStats>('stats');
    const run = await runChild<DeliverResult>(proc, {
      args,
      env: {
        ...lambdaEnv('deliver', service.memorySizeMb, providerEnv(endpoints)),
        BENCH_INPUT: writeInput(`deliver-${contacts}-${concurrency}`, {
          contacts,
          concurrency,
          roundSize: ROUND_SIZE,
          providers: endpoints.providers,
          aws: endpoints.aws,
        }),
      },
      nodeFlags: flags,
      timeoutMs: 600_000,
      onRequest: (message, reply) => {
        if (message.type === 'clear') void emulator.call('clear').then(() => reply({ type: 'cleared' }));
      },
    });
    const after = (await emulator.call<EmulatorStats>('stats')) as EmulatorStats;
    return {
      ...run.result,
      processWallMs: run.wallMs,
      emulator: {
        connections: after.connections,
        requests: after.requests,
        contacts: after.contacts,
        statuses: after.statuses,
        secretCalls: after.secretCalls,
        cpuMs: after.cpuMs - (before?.cpuMs ?? 0),
      },
    };
  };
  const concurrency = service.deliverBatchSize;
  // One unrecorded run first, so the emulators' code is compiled before any client is measured against them.
  await deliverRun(procs['deliver-bare'] as string, ['bare'], Math.min(CONTACTS, 500), concurrency);
  log(`delivery: ${CONTACTS} contacts, ${concurrency} in flight (the deliver batch size), our client …`);
  const ours = await deliverRun(procs['deliver-ours'] as string, [], CONTACTS, concurrency);
  log('delivery: bare node:http keep-alive client …');
  const bare = await deliverRun(procs['deliver-bare'] as string, ['bare'], CONTACTS, concurrency);
  log('delivery: our engine and adapters over a thin node:http transport …');
  const thinRun = await deliverRun(procs['deliver-ours'] as string, ['thin'], CONTACTS, concurrency);
  log('delivery: built-in fetch …');
  const fetchRun = await deliverRun(procs['deliver-bare'] as string, ['fetch'], CONTACTS, concurrency);
  let undiciRun: DeliverRun | undefined;
  if (procs['deliver-undici'] !== undefined) {
    log('delivery: undici package …');
    undiciRun = await deliverRun(procs['deliver-undici'], [], CONTACTS, concurrency);
  }
  const burstContacts = Math.min(CONTACTS, quick ? 500 : 2000);
  const burstConcurrency = 100;
  log(
    `delivery: burst, ${burstConcurrency} contacts in flight (${burstContacts} contacts): our client and the bare one …`,
  );
  const oursBurst = await deliverRun(procs['deliver-ours'] as string, [], burstContacts, burstConcurrency);
  const bareBurst = await deliverRun(procs['deliver-bare'] as string, ['bare'], burstContacts, burstConcurrency);
  return {
    concurrency,
    ours,
    bare,
    thinRun,
    fetchRun,
    undiciRun,
    burstContacts,
    burstConcurrency,
    oursBurst,
    bareBurst,
  };
}

/** 3 (whole handlers) + 5: the real shops, forms and deliver bundles against the local AWS endpoints, and the emulator's counts. */
async function measureHandlers(
  { service, flags }: Workspace,
  procs: Record<string, string | undefined>,
  { order, typeform, writeInput }: Fixtures,
  functions: FunctionBuild[],
  emulator: ServiceChild,
  endpoints: Endpoints,
): Promise<{ result: HandlersResult; emulatorStats: EmulatorStats }> {
  log(
    `whole handlers: ${INGEST_PER_SOURCE} Shopify + ${INGEST_PER_SOURCE} Typeform webhooks, then their jobs through deliver …`,
  );
  await emulator.call('reset');
  const deliverSingles = Math.min(Math.round(INGEST_PER_SOURCE * 0.6), INGEST_PER_SOURCE * 2);
  const { result } = await runChild<HandlersResult>(procs['handlers'] as string, {
    env: {
      ...lambdaEnv('handlers', service.memorySizeMb, providerEnv(endpoints)),
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.aws,
      AWS_ENDPOINT_URL_SQS: endpoints.aws,
      TABLE_NAME: endpoints.resources.tableName,
      QUEUE_URL: endpoints.resources.queueUrl,
      QUEUE_ARN: endpoints.resources.queueArn,
      DLQ_URL: endpoints.resources.dlqUrl,
      DLQ_ARN: endpoints.resources.dlqArn,
      BENCH_INPUT: writeInput('handlers', {
        bundles: Object.fromEntries(
          ['shops', 'forms', 'deliver'].map((name) => [name, functions.find((fn) => fn.name === name)?.bundle]),
        ),
        shopifyBody: order.body,
        typeformBody: typeform,
        ingestPerSource: INGEST_PER_SOURCE,
        deliverSingles,
        batchSize: service.deliverBatchSize,
        providers: endpoints.providers,
        aws: endpoints.aws,
        resources: endpoints.resources,
      }),
    },
    nodeFlags: flags,
    timeoutMs: 600_000,
  });
  const emulatorStats = await emulator.call<EmulatorStats>('stats');
  return { result, emulatorStats };
}

// ---------------------------------------------------------------- 8. hostile inputs

interface HostileResult {
  cases: HostileCase[];
  runs: number;
}

/** 8. The hostile-input process, bundled with serverless.yml's options from the scratch copy, and its rows. */
async function hostileInputs({
  scratch,
  buildDir,
  service,
  flags,
  common,
}: Workspace): Promise<{ result: HostileResult; rows: Row[] }> {
  copyBench(scratch);
  const { file } = await build({
    ...common,
    entryPoints: ['bench/procs/hostile.ts'],
    outdir: path.join(buildDir, 'procs'),
  });
  const inputFile = path.join(buildDir, 'hostile-input.json');
  writeFileSync(inputFile, JSON.stringify({ runs: HOSTILE_RUNS }));
  const env = { ...lambdaEnv('forms', service.memorySizeMb), BENCH_INPUT: inputFile, POWERTOOLS_LOG_LEVEL: 'SILENT' };
  const child = { env, nodeFlags: flags, timeoutMs: 300_000 };
  const { result } = await runChild<HostileResult>(path.join(scratch, file), child);
  const rows: Row[] = result.cases.map((item) => ({
    id: '8',
    measure: `hostile input: ${item.label} (${(item.bytes / KB).toFixed(0)} KB)`,
    value: `max ${item.maxMs.toFixed(1)} ms`,
    floor: `first ${item.firstMs.toFixed(1)} ms, median ${item.medianMs.toFixed(1)} ms`,
    ratio: `answered ${item.answer}`,
    target: `≤ ${HOSTILE_TARGET_MS} ms`,
    met: item.maxMs <= HOSTILE_TARGET_MS,
  }));
  return { result, rows };
}

/** BENCH_ONLY=hostile: measure 8 alone, print its rows and write bench/results/hostile.json. */
async function hostileAlone(ws: Workspace, machine: Machine): Promise<void> {
  log(`hostile inputs alone: ${HOSTILE_RUNS + 1} calls each …`);
  const { result, rows } = await hostileInputs(ws);
  console.log(['', ...rowsTable(rows), ''].join('\n'));
  const resultsDir = path.join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const { nodeOptions } = ws.service;
  const targetMs = HOSTILE_TARGET_MS;
  const report = { startedAt: startedAt.toISOString(), machine, nodeOptions, targetMs, ...result };
  writeFileSync(path.join(resultsDir, 'hostile.json'), `${JSON.stringify(report, null, 2)}\n`);
  log('wrote bench/results/hostile.json');
}

// ---------------------------------------------------------------- 7. cost

type Cost = ReturnType<typeof estimateCost>;

/**
 * 7. Cost per million webhooks as the work grows: steady load and bursts, at one and four provider accounts,
 * from the calls each makes (bench/lib/cost-model.ts) and Lambda durations estimated from the CPU measured
 * here (scaled to the memory's vCPU share) plus assumed round trips in AWS.
 */
function estimateCost(service: ServiceConfig, handlers: HandlersResult) {
  const vcpuShare = Math.min(1, service.memorySizeMb / 1769);
  const durations: Durations = {
    memoryMb: service.memorySizeMb,
    vcpuShare,
    awsCallMs: 10,
    providerCallMs: 250,
    // The bench's route delivers to four accounts (config/routes.json: one of each provider).
    ...deliverCpuFromMeasured({
      accounts: 4,
      singleCpuMs: handlers.deliverSingle.cpuMsPerInvocation,
      batchCpuMs: handlers.deliverBatch.cpuMsPerInvocation,
      batchSize: handlers.deliverBatch.batchSize,
    }),
  };
  // A Typeform response: beginIngest + SendMessage + completeIngest.
  // Record (+ its index entry) begun and completed, and the person index of one email and one phone: 6 write
  // units; beginIngest, SendMessage, completeIngest, BatchWriteItem in turn.
  const ingest = { writes: 6, awsCalls: 4, cpuMs: handlers.forms.cpuMsPerInvocation };
  return { durations, ingest, scenarios: costScenarios(ingest, durations, service.deliverBatchSize) };
}

// ---------------------------------------------------------------- figures and targets

interface Row {
  id: string;
  measure: string;
  value: string;
  floor: string;
  ratio: string;
  target: string;
  met: boolean | undefined;
}

const fmtKb = (bytes: number) => `${(bytes / KB).toFixed(1)} KB`;

const providerConnections = (run: { emulator: { connections: Record<string, number> } }) =>
  Object.fromEntries(Object.entries(run.emulator.connections).filter(([name]) => name !== 'aws'));
const maxConnections = (run: { emulator: { connections: Record<string, number> } }) =>
  Math.max(...Object.values(providerConnections(run)));

/** 1. Each bundle's own code and non-AWS dependencies against the budget. */
function bundleRows(functions: FunctionBuild[]): Row[] {
  return functions.map((fn) => {
    const c = fn.composition;
    const deps = c.dependencies
      .slice(0, 3)
      .map((dep) => `${dep.name} ${fmtKb(dep.bytes)}`)
      .join(', ');
    return {
      id: '1',
      measure: `bundle ${fn.name}: ours + non-AWS deps`,
      value: fmtKb(c.budgetBytes),
      floor: `total ${fmtKb(c.totalBytes)}, AWS SDK ${fmtKb(c.awsSdkBytes)}`,
      ratio: `ours ${fmtKb(c.oursBytes)}; ${deps}`,
      target: `≤ ${fmtKb(TARGETS.budgetBytes)}`,
      met: c.budgetBytes <= TARGETS.budgetBytes,
    };
  });
}

/** How far a cold init is above the target ratio of its baseline, in ms ('' when within it). */
function overTarget(mine: ColdSummary, base: ColdSummary): string {
  const over = mine.importMs.median - TARGETS.coldRatio * base.importMs.median;
  return over > 0 ? `, ${over.toFixed(1)} ms over the target` : '';
}

/** 2. Each function's cold init against its SDK-only baseline. */
function coldRows(functions: FunctionBuild[], cold: Record<string, ColdSummary>): Row[] {
  return functions.map((fn) => {
    const mine = cold[fn.name] as ColdSummary;
    const base = cold[`${fn.name}:baseline`] as ColdSummary;
    const ratio = mine.importMs.median / base.importMs.median;
    return {
      id: '2',
      measure: `cold init ${fn.name} (import + build handler)`,
      value: mine.failed ? `failed: ${mine.failed}` : `${mine.importMs.median.toFixed(1)} ms`,
      floor: `SDK-only ${base.importMs.median.toFixed(1)} ms`,
      ratio: `${ratio.toFixed(2)}× (CPU ${(mine.importCpuMs.median / base.importCpuMs.median).toFixed(2)}×)${overTarget(mine, base)}${mine.connects > 0 ? `, ${mine.connects} connects at init!` : ''}`,
      target: `≤ ${TARGETS.coldRatio}×`,
      met: !mine.failed && ratio <= TARGETS.coldRatio && mine.connects === 0,
    };
  });
}

/** 3. Warm per-event compute, and the whole ingest handlers. */
function computeRows(warm: WarmResult, handlers: HandlersResult): Row[] {
  const rows: Row[] = [];
  for (const [name, result, target] of [
    ['Shopify order', warm.shopify, TARGETS.warmRatio],
    ['Typeform response', warm.typeform, TARGETS.typeformWarmRatio],
  ] as const) {
    const floorName = result.phone === undefined ? 'HMAC+JSON.parse' : `HMAC+JSON.parse+parse ${result.phone}`;
    const over = result.ours.medianUs - target * result.floor.medianUs;
    rows.push({
      id: '3',
      measure: `warm compute ${name} (${(result.bytes / KB).toFixed(1)} KB): verify+parse+validate+map`,
      value: `${result.ours.medianUs.toFixed(1)} µs (${Math.round(result.ours.eventsPerSecond)}/s)`,
      floor: `${floorName} ${result.floor.medianUs.toFixed(1)} µs (${Math.round(result.floor.eventsPerSecond)}/s)`,
      ratio: `${result.ratio.toFixed(2)}×${over > 0 ? `, ${over.toFixed(1)} µs over the target` : ''}`,
      target: `≤ ${target}×`,
      met: result.ratio <= target,
    });
  }
  for (const [name, run] of [
    ['shops (Shopify)', handlers.shops],
    ['forms (Typeform)', handlers.forms],
  ] as const) {
    rows.push({
      id: '3',
      measure: `whole ingest handler ${name}, local DynamoDB + SQS`,
      value: `${run.ms.median.toFixed(2)} ms/event, CPU ${run.cpuMsPerInvocation.toFixed(2)} ms`,
      floor: `SDK-only ${handlers.floor.ms.median.toFixed(2)} ms, CPU ${handlers.floor.cpuMsPerInvocation.toFixed(2)} ms`,
      ratio: `${(run.ms.median / handlers.floor.ms.median).toFixed(2)}× (CPU ${(run.cpuMsPerInvocation / handlers.floor.cpuMsPerInvocation).toFixed(2)}×)${run.unexpected > 0 ? `, ${run.unexpected} not 200 accepted!` : `, ${run.invocations} × 200 accepted`}`,
      target: 'info',
      met: undefined,
    });
  }
  return rows;
}

/** 4. Delivery throughput against the bare client, and connections per provider host. */
function deliveryRows({ concurrency, ours, bare, burstConcurrency, oursBurst, bareBurst }: Delivery): Row[] {
  const throughputRatio = ours.contactsPerSecond / bare.contactsPerSecond;
  return [
    {
      id: '4',
      measure: `delivery ${CONTACTS} contacts, ${concurrency} in flight (deliverContact)`,
      value: `${Math.round(ours.contactsPerSecond)} contacts/s`,
      floor: `bare keep-alive ${Math.round(bare.contactsPerSecond)}/s`,
      ratio: `${throughputRatio.toFixed(2)}×`,
      target: `≥ ${TARGETS.throughputRatio}×`,
      met: throughputRatio >= TARGETS.throughputRatio,
    },
    {
      id: '4',
      measure: `TCP connections per provider host (${concurrency} in flight)`,
      value: Object.entries(providerConnections(ours))
        .map(([name, count]) => `${name} ${count}`)
        .join(', '),
      floor: `bare max ${maxConnections(bare)}`,
      ratio: `max ${maxConnections(ours)}`,
      target: `≤ ${TARGETS.connectionsPerHost}`,
      met: maxConnections(ours) <= TARGETS.connectionsPerHost,
    },
    {
      id: '4',
      measure: `TCP connections per provider host, burst (${burstConcurrency} in flight)`,
      value: Object.entries(providerConnections(oursBurst))
        .map(([name, count]) => `${name} ${count}`)
        .join(', '),
      floor: `bare max ${maxConnections(bareBurst)}`,
      ratio: `max ${maxConnections(oursBurst)} (${Math.round(oursBurst.contactsPerSecond)} vs ${Math.round(bareBurst.contactsPerSecond)}/s)`,
      target: `≤ ${TARGETS.connectionsPerHost}`,
      met: maxConnections(oursBurst) <= TARGETS.connectionsPerHost,
    },
  ];
}

/** 5. GetSecretValue calls: at most one per secret over the warm invocations, and per TTL on the simulated clock. */
function secretsRow(warm: WarmResult, handlers: HandlersResult): Row {
  const sum = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
  const secretsOk =
    Object.values(handlers.shops.secretCalls).every((count) => count <= 1) &&
    Object.values(handlers.forms.secretCalls).every((count) => count <= 1) &&
    Object.values(handlers.deliverSecretCalls).every((count) => count <= 1) &&
    warm.secrets.calls <= warm.secrets.expected &&
    warm.secrets.coldCalls === warm.secrets.secrets;
  const deliverInvocations = handlers.deliverSingle.invocations + handlers.deliverBatch.invocations;
  return {
    id: '5',
    measure: 'GetSecretValue calls over warm invocations (run < TTL)',
    value: `shops ${sum(handlers.shops.secretCalls)} in ${handlers.shops.invocations} inv., forms ${sum(handlers.forms.secretCalls)} in ${handlers.forms.invocations}, deliver ${sum(handlers.deliverSecretCalls)} in ${deliverInvocations}`,
    floor: `secrets read: ${Object.keys(handlers.shops.secretCalls).length}, ${Object.keys(handlers.forms.secretCalls).length}, ${Object.keys(handlers.deliverSecretCalls).length}`,
    ratio: `max ${Math.max(...[handlers.shops.secretCalls, handlers.forms.secretCalls, handlers.deliverSecretCalls].flatMap((calls) => Object.values(calls)))} per secret; TTL sim ${warm.secrets.calls}/${warm.secrets.expected}`,
    target: '1 per secret per TTL',
    met: secretsOk,
  };
}

/** 6. Peak RSS of the deliver path. */
function rssRow({ ours, bare }: Delivery, cold: Record<string, ColdSummary>): Row {
  return {
    id: '6',
    measure: `peak RSS, deliver path over ${CONTACTS} contacts`,
    value: `${ours.maxRssMb.toFixed(1)} MB (${ours.rssAtStartMb.toFixed(0)} MB at start)`,
    floor: `bare client ${bare.maxRssMb.toFixed(1)} MB`,
    ratio: `deliver bundle after init ${cold['deliver']?.rssMb.toFixed(0)} MB (SDK-only ${cold['deliver:baseline']?.rssMb.toFixed(0)} MB)`,
    target: `≤ ${TARGETS.rssMb} MB`,
    met: ours.maxRssMb <= TARGETS.rssMb,
  };
}

/** 7. Cost per million webhooks, for information: steady at one and four accounts, and the largest burst. */
function costRow(service: ServiceConfig, { scenarios }: Cost): Row {
  const total = (route: string, load: string) =>
    scenarios.find((scenario) => scenario.route === route && scenario.load.startsWith(load))?.cost.total ?? Number.NaN;
  const [one, four] = Object.keys(ROUTES) as [string, string];
  return {
    id: '7',
    measure: `cost per million webhooks (arm64, ${service.memorySizeMb} MB, DynamoDB on demand), Lambda estimated`,
    value: `steady $${total(one, 'steady, 1').toFixed(2)} (1 account) / $${total(four, 'steady, 1').toFixed(2)} (4)`,
    floor: `batches of ${service.deliverBatchSize}: $${total(one, 'steady, b').toFixed(2)} / $${total(four, 'steady, b').toFixed(2)}`,
    ratio: `burst of 10,000: $${total(one, 'burst of 10,000').toFixed(2)} / $${total(four, 'burst of 10,000').toFixed(2)}`,
    target: 'info',
    met: undefined,
  };
}

// ---------------------------------------------------------------- the report

/** Everything measured, for the printed report and bench/results/latest.json. */
interface Measured extends Colds {
  machine: Machine;
  ws: Workspace;
  packaged: Packaged;
  functions: FunctionBuild[];
  variants: Record<string, WhatIf>;
  whatIfBuilds: Record<string, Record<string, VariantBuild>>;
  libraryBuilds: Record<string, LibraryBuild>;
  fixtures: Fixtures;
  warm: WarmResult;
  delivery: Delivery;
  handlers: { result: HandlersResult; emulatorStats: EmulatorStats };
  hostile: { result: HostileResult; rows: Row[] };
  cost: Cost;
  rows: Row[];
}

function table(header: string[], body: string[][]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line)];
}

/** The table of every target, marked met or not. */
function rowsTable(rows: Row[]): string[] {
  const met = (row: Row) => (row.met === undefined ? '–' : row.met ? 'met' : 'NOT MET');
  return table(
    ['#', 'measure', 'ours', 'floor', 'ratio / detail', 'target', 'met'],
    rows.map((row) => [row.id, row.measure, row.value, row.floor, row.ratio, row.target, met(row)]),
  );
}

/** The cost per million webhooks, component by component and run by run, how each grows, and what it assumes. */
function costLines(service: ServiceConfig, { durations, ingest, scenarios }: Cost): string[] {
  const money = (value: number) => (value >= 0.005 ? `$${value.toFixed(2)}` : '–');
  const rates = Object.entries(ROUTES)
    .map(([route, list]) => `${route}: ${list.map((rate) => `${rate.perMinute}/min burst ${rate.burst}`).join(', ')}`)
    .join('; ');
  const vcpuMs = (cpuMs: number) => cpuMs / durations.vcpuShare;
  return [
    `Cost per million webhooks by component, us-east-1 (account rates: ${rates}):`,
    ...table(
      ['route', 'load', ...COMPONENTS, 'total'],
      scenarios.map(({ route, load, cost }) => [
        route.replace(/ \(.*/, ''),
        load,
        ...COMPONENTS.map((component) => money(cost.perMillion[component])),
        `$${cost.total.toFixed(2)}`,
      ]),
    ),
    ...table(
      ['route', 'load', 'deliver inv./webhook', 'SQS req./webhook', 'bucket writes (now/booked/refused)', 'drain'],
      scenarios.map(({ route, load, work, cost }) => [
        route.replace(/ \(.*/, ''),
        load,
        (work.deliverInvocations / work.webhooks).toFixed(2),
        cost.perWebhook.sqsRequests.toFixed(2),
        `${work.bucket.now}/${work.bucket.booked}/${work.bucket.refused}`,
        load.startsWith('burst') ? `${(work.drainSeconds / 60).toFixed(1)} min` : '–',
      ]),
    ),
    '  How each grows:',
    ...COMPONENTS.map((component) => `  - ${component}: ${GROWTH[component]}`),
    `  Durations: CPU measured here ÷ ${durations.vcpuShare.toFixed(3)} vCPU (${service.memorySizeMb} of 1,769 MB) + ${durations.awsCallMs} ms per sequential AWS call + ${durations.providerCallMs} ms per provider call (both assumed); ingest ${ingest.cpuMs.toFixed(1)} ms CPU → ${(vcpuMs(ingest.cpuMs) + ingest.awsCalls * durations.awsCallMs).toFixed(0)} ms; deliver ${durations.deliverBaseCpuMs.toFixed(1)} ms CPU per invocation + ${durations.deliverCpuMsPerCall.toFixed(2)} ms per SDK or provider call (solved from the 1-job and ${service.deliverBatchSize}-job runs), a batch lasting as long as its slowest job: a delivery 3 AWS calls + 2 provider calls, a deferral 2 AWS calls (token, SendMessage).`,
    `  Counts: Typeform ingest (${ingest.writes} write units with its index and person index); per account delivered 1 token + claim + record write; a deferral 1 SendMessage; receive + DeleteMessageBatch per batch; no reads in AWS. Free tiers, idle queue polling, CloudWatch Logs, Secrets Manager and data transfer are left out.`,
  ];
}

/** The what-if builds: sizes of every function, then cold imports of COLD_WHATIF_FUNCTIONS. */
function whatIfLines({ functions, variants, whatIfBuilds, cold, whatIfCold }: Measured): string[] {
  const lines: string[] = [];
  lines.push('Choices: what-if builds of the same sources, the files untouched (sizes minified, KB = 1,024 bytes):');
  const whatIfKeys = Object.keys(variants);
  lines.push(...whatIfKeys.map((key, i) => `  (${String.fromCharCode(97 + i)}) ${variants[key]?.label}`));
  lines.push(
    ...table(
      ['ours + non-AWS deps (AWS SDK)', 'now', ...whatIfKeys.map((_, i) => `(${String.fromCharCode(97 + i)})`)],
      functions.map((fn) => [
        fn.name,
        `${fmtKb(fn.composition.budgetBytes)} (${(fn.composition.awsSdkBytes / KB).toFixed(0)})`,
        ...whatIfKeys.map((key) => {
          const variant = whatIfBuilds[key]?.[fn.name];
          if (variant === undefined) return '';
          return variant.composition
            ? `${fmtKb(variant.composition.budgetBytes)} (${(variant.composition.awsSdkBytes / KB).toFixed(0)})`
            : 'build failed';
        }),
      ]),
    ),
  );
  const coldCell = (fnKey: string, baseKey: string) => {
    const fnCold = whatIfCold[fnKey] ?? cold[fnKey];
    const baseCold = whatIfCold[baseKey] ?? cold[baseKey];
    if (fnCold === undefined) return '–';
    if (fnCold.failed) return `failed: ${fnCold.failed.slice(0, 60)}`;
    if (baseCold === undefined || baseCold.failed) return `${fnCold.importMs.median.toFixed(0)} ms`;
    return `${fnCold.importMs.median.toFixed(0)}/${baseCold.importMs.median.toFixed(0)} ms = ${(fnCold.importMs.median / baseCold.importMs.median).toFixed(2)}×`;
  };
  const coldKeys = whatIfKeys.filter((key) => (variants[key]?.coldFunctions.length ?? 0) > 0);
  lines.push('');
  lines.push(
    ...table(
      [
        'cold import: function / its SDK-only baseline',
        'now',
        ...coldKeys.map((key) => `(${String.fromCharCode(97 + whatIfKeys.indexOf(key))})`),
      ],
      functions.map((fn) => [
        fn.name,
        coldCell(fn.name, `${fn.name}:baseline`),
        ...coldKeys.map((key) => {
          const whatIf = variants[key] as WhatIf;
          if (!whatIf.coldFunctions.includes(fn.name)) return '';
          const now = coldCell(`${fn.name}:${key}:now`, `${fn.name}:${key}:now:baseline`);
          return `${coldCell(`${fn.name}:${key}`, `${fn.name}:${key}:baseline`)} (now ${now.replace(/.* = /, '')})`;
        }),
      ]),
    ),
  );
  lines.push(
    `  (the what-if columns are medians of ${WHATIF_RUNS} runs, "now" of ${COLD_RUNS}; each what-if is next to a baseline built and run as it is: rebuilt where it changes how the SDK is bundled, run under its node flags where it changes them)`,
  );
  return lines;
}

/**
 * The levers measured against the cold-init and Typeform targets, each with its figures, and what still bounds
 * each target: the ms (µs) above it and where the time goes.
 */
function leverLines({ ws, variants, functions, packaged, cold, whatIfCold, whatIfBuilds, warm }: Measured): string[] {
  const flagsNow = ws.service.nodeOptions;
  const variantsLabel = variants['source-maps']?.label ?? '';
  const ms = (summary: ColdSummary | undefined) => summary?.importMs.median ?? Number.NaN;
  /** Within one what-if's rounds: the function as it is, or with the what-if, over its baseline. */
  const ratioOf = (fn: string, key: string, as: 'now' | 'what-if') =>
    as === 'now'
      ? ms(whatIfCold[`${fn}:${key}:now`]) / ms(whatIfCold[`${fn}:${key}:now:baseline`])
      : ms(whatIfCold[`${fn}:${key}`]) / ms(whatIfCold[`${fn}:${key}:baseline`]);
  const x = (value: number) => `${value.toFixed(2)}×`;
  const lines = [
    'Levers measured (cold init = import + build handler, ratio to the SDK-only baseline in the same run):',
  ];
  const zips = functions.map((fn) => `${fn.name} ${fmtKb(packaged.zips[fn.name]?.bytes ?? 0)}`).join(', ');
  lines.push(
    `  per-function packages (package.individually, in place): one zip per function, ${zips}; one package for the service would hold ${fmtKb(packaged.zipBytesTotal)} of bundles and maps for every function. A function's cold init here imports one bundle either way: what the zip size adds to Lambda's code download is not measured.`,
  );
  const regionFns = functions.filter((fn) => whatIfBuilds['phone-in-routes']?.[fn.name]?.composition !== undefined);
  lines.push(
    `  route schema without libphonenumber-js (constant region list, in place): ${regionFns
      .map((fn) => {
        const withPhone = whatIfBuilds['phone-in-routes']?.[fn.name]?.composition?.budgetBytes ?? Number.NaN;
        return `${fn.name} ${fmtKb(fn.composition.budgetBytes)} (with it ${fmtKb(withPhone)}), ${x(ratioOf(fn.name, 'phone-in-routes', 'now'))} (with it ${x(ratioOf(fn.name, 'phone-in-routes', 'what-if'))})`;
      })
      .join('; ')} — deliver keeps libphonenumber-js for the Lead Ads leads it maps.`,
  );
  const firstNow = whatIfCold['forms:eager-sources:now']?.firstCallMs?.median ?? Number.NaN;
  const firstEager = whatIfCold['forms:eager-sources']?.firstCallMs?.median ?? Number.NaN;
  lines.push(
    `  lazy per-source imports in forms (in place): init ${ms(whatIfCold['forms:eager-sources:now']).toFixed(1)} ms, ${x(ratioOf('forms', 'eager-sources', 'now'))} (every source at init: ${ms(whatIfCold['forms:eager-sources']).toFixed(1)} ms, ${x(ratioOf('forms', 'eager-sources', 'what-if'))}); first Typeform call ${firstNow.toFixed(1)} ms (eager ${firstEager.toFixed(1)} ms): the source's load moves to the first request that names it.`,
  );
  lines.push(
    `  source maps (NODE_OPTIONS now "${flagsNow}"; what-if (a): ${variantsLabel}): ${functions
      .map(
        (fn) =>
          `${fn.name} ${x(ratioOf(fn.name, 'source-maps', 'now'))} → ${x(ratioOf(fn.name, 'source-maps', 'what-if'))}`,
      )
      .join(', ')}.`,
  );
  const over = functions
    .map((fn) => ({ fn: fn.name, over: ms(cold[fn.name]) - TARGETS.coldRatio * ms(cold[`${fn.name}:baseline`]) }))
    .filter((item) => item.over > 0);
  lines.push(
    over.length === 0
      ? `  cold init: every function within ${TARGETS.coldRatio}× of its baseline.`
      : `  cold init still over ${TARGETS.coldRatio}×: ${over.map((item) => `${item.fn} by ${item.over.toFixed(1)} ms`).join(', ')}.`,
  );
  const tf = warm.typeform;
  const us = (step: WarmCase) => `${step.medianUs.toFixed(1)} µs`;
  lines.push(
    `  Typeform: ours ${us(tf.ours)} against ${TARGETS.typeformWarmRatio} × ${us(tf.floor)} = ${(TARGETS.typeformWarmRatio * tf.floor.medianUs).toFixed(1)} µs. Steps alone: zod validation ${us(tf.steps.validate)}, typed fields ${us(tf.steps.fields)}, mapping ${us(tf.steps.mapWithPhone)} (of which the phone ${us(tf.steps.phone)}); the rest of the path (signature check, route, answer) and the floor's HMAC + JSON.parse account for ${(tf.ours.medianUs - tf.steps.validate.medianUs - tf.steps.fields.medianUs - tf.steps.mapWithPhone.medianUs).toFixed(1)} µs. A national number read back costs ${us(warm.phone)}.`,
  );
  return lines;
}

/** The HTTP clients side by side on the same requests, and the warm side notes. */
function clientLines({ delivery, warm }: Measured): string[] {
  const { concurrency, ours, bare, thinRun, fetchRun, undiciRun } = delivery;
  return [
    ...table(
      [
        'HTTP client (same requests)',
        'contacts/s',
        'vs bare',
        'max conn/host',
        'client CPU µs/contact',
        'vs bare',
        'peak RSS (at start)',
      ],
      [ours, thinRun, bare, fetchRun, ...(undiciRun ? [undiciRun] : [])].map((run) => [
        run.client,
        String(Math.round(run.contactsPerSecond)),
        `${(run.contactsPerSecond / bare.contactsPerSecond).toFixed(2)}×`,
        String(maxConnections(run)),
        ((run.cpuMs * 1000) / run.contacts).toFixed(0),
        `${(run.cpuMs / run.contacts / (bare.cpuMs / bare.contacts)).toFixed(2)}×`,
        `${run.maxRssMb.toFixed(1)} MB (${run.rssAtStartMb.toFixed(0)})`,
      ]),
    ),
    `  ${CONTACTS} contacts in rounds of ${ROUND_SIZE} (provider emulators cleared between rounds, clock stopped), ${concurrency} in flight; emulator process CPU: ours run ${ours.emulator.cpuMs.toFixed(0)} ms over ${ours.elapsedMs.toFixed(0)} ms, bare run ${bare.emulator.cpuMs.toFixed(0)} ms over ${bare.elapsedMs.toFixed(0)} ms (near 100 % means the emulator bounds the rate, not the client).`,
    `  warm: phone normalisation alone ${warm.phone.medianUs.toFixed(1)} µs; secrets TTL simulation: ${warm.secrets.coldConcurrentReads} concurrent cold reads of ${warm.secrets.secrets} secrets → ${warm.secrets.coldCalls} calls; ${warm.secrets.invocations} invocations ${warm.secrets.spacingMs / 1000} s apart → ${warm.secrets.calls} calls (expected ${warm.secrets.expected}).`,
  ];
}

function printReport(measured: Measured, elapsedSeconds: number): void {
  const { machine, ws, rows, libraryBuilds, libraryCold } = measured;
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `contact-relay bench — ${startedAt.toISOString()} — ${machine.cpus} × ${machine.cpuModel} (${machine.arch}), Node ${process.version}, load at start ${machine.loadAverageAtStart.join(' ')}, now ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  lines.push(
    `cold runs ${COLD_RUNS} (median), contacts ${CONTACTS}, ingest ${INGEST_PER_SOURCE}/source, NODE_OPTIONS "${ws.service.nodeOptions}", run took ${elapsedSeconds.toFixed(0)} s`,
  );
  lines.push('');
  lines.push(...rowsTable(rows));
  lines.push('');
  lines.push(...costLines(ws.service, measured.cost));
  lines.push('');
  lines.push(...whatIfLines(measured));
  lines.push('');
  lines.push(...leverLines(measured));
  lines.push('');
  lines.push(
    ...table(
      ['library bundle (alone)', 'minified', 'cold import'],
      Object.entries(libraryBuilds).map(([key, lib]) => [
        lib.label,
        lib.bytes !== undefined ? fmtKb(lib.bytes) : `failed: ${lib.error}`,
        libraryCold[key]?.importMs.median !== undefined && !Number.isNaN(libraryCold[key]?.importMs.median)
          ? `${libraryCold[key]?.importMs.median.toFixed(1)} ms`
          : '–',
      ]),
    ),
  );
  lines.push('');
  lines.push(...clientLines(measured));
  const met = rows.filter((row) => row.met === true).length;
  const checked = rows.filter((row) => row.met !== undefined).length;
  lines.push('');
  lines.push(
    `${met} of ${checked} checks met. Other processes on this machine may have been using the CPU: treat the figures as noisy.`,
  );
  console.log(lines.join('\n'));
}

function writeReport(measured: Measured, elapsedSeconds: number): void {
  const {
    machine,
    ws,
    rows,
    packaged,
    functions,
    cold,
    variants,
    whatIfBuilds,
    whatIfCold,
    libraryBuilds,
    libraryCold,
    fixtures,
    warm,
    delivery,
    hostile,
    cost,
  } = measured;
  const { service } = ws;
  const { result: handlers, emulatorStats: handlerStats } = measured.handlers;
  const ingestSecretCalls = { shops: handlers.shops.secretCalls, forms: handlers.forms.secretCalls };
  const resultsDir = path.join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const report = {
    startedAt: startedAt.toISOString(),
    elapsedSeconds: round(elapsedSeconds, 1),
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((value) => round(value, 2)) },
    settings: {
      coldRuns: COLD_RUNS,
      whatIfRuns: WHATIF_RUNS,
      libraryRuns: LIBRARY_RUNS,
      roundSize: ROUND_SIZE,
      contacts: CONTACTS,
      ingestPerSource: INGEST_PER_SOURCE,
      warmMeasureMs: WARM_MS,
      quick,
    },
    service: {
      memorySizeMb: service.memorySizeMb,
      architecture: service.architecture,
      runtime: service.runtime,
      nodeOptions: service.nodeOptions,
      deliverBatchSize: service.deliverBatchSize,
      esbuild: service.esbuild,
    },
    targets: TARGETS,
    rows,
    package: { seconds: round(packaged.seconds, 1), zipBytes: packaged.zipBytesTotal, zips: packaged.zips },
    bundles: Object.fromEntries(
      functions.map((fn) => [
        fn.name,
        {
          ...fn.composition,
          zipBytes: fn.zipBytes,
          matchesPackage: fn.matchesPackage,
          sdk: fn.sdk,
          baseline: { bytes: fn.baseline.bytes, source: fn.baseline.source },
        },
      ]),
    ),
    cold,
    whatIfs: {
      labels: Object.fromEntries(Object.entries(variants).map(([key, whatIf]) => [key, whatIf.label])),
      builds: Object.fromEntries(
        Object.entries(whatIfBuilds).map(([key, byFn]) => [
          key,
          Object.fromEntries(
            Object.entries(byFn).map(([fn, b]) => [
              fn,
              b.composition
                ? {
                    budgetBytes: b.composition.budgetBytes,
                    totalBytes: b.composition.totalBytes,
                    awsSdkBytes: b.composition.awsSdkBytes,
                    dependencies: b.composition.dependencies,
                  }
                : { error: b.error },
            ]),
          ),
        ]),
      ),
      cold: whatIfCold,
    },
    libraries: Object.fromEntries(
      Object.entries(libraryBuilds).map(([key, lib]) => [
        key,
        { label: lib.label, bytes: lib.bytes, error: lib.error, cold: libraryCold[key] },
      ]),
    ),
    warm: {
      ...warm,
      order: {
        bytes: fixtures.order.body.length,
        lineItems: fixtures.order.lineItems,
        paddedLineItems: fixtures.order.padded,
      },
      typeformBytes: fixtures.typeform.length,
    },
    delivery: {
      concurrency: delivery.concurrency,
      ours: delivery.ours,
      thin: delivery.thinRun,
      bare: delivery.bare,
      fetch: delivery.fetchRun,
      undici: delivery.undiciRun,
      burst: {
        concurrency: delivery.burstConcurrency,
        contacts: delivery.burstContacts,
        ours: delivery.oursBurst,
        bare: delivery.bareBurst,
      },
    },
    handlers: { ...handlers, ingestSecretCalls, emulator: handlerStats },
    hostile: { targetMs: HOSTILE_TARGET_MS, ...hostile.result },
    cost: {
      prices: PRICES,
      durations: cost.durations,
      ingest: cost.ingest,
      growth: GROWTH,
      scenarios: cost.scenarios.map(({ route, load, work, cost: priced }) => ({
        route,
        load,
        perMillion: priced.perMillion,
        total: priced.total,
        perWebhook: priced.perWebhook,
        work,
      })),
    },
  };
  writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote bench/results/latest.json (${elapsedSeconds.toFixed(0)} s)`);
}

// ---------------------------------------------------------------- what the measuring processes report

interface WarmCase {
  medianUs: number;
  eventsPerSecond: number;
  samples: number;
}
interface WarmResult {
  shopify: { bytes: number; phone?: string; ours: WarmCase; floor: WarmCase; ratio: number };
  typeform: {
    bytes: number;
    phone?: string;
    ours: WarmCase;
    floor: WarmCase;
    ratio: number;
    /** Each step alone: zod validation, typed fields, the mapping (phone included), the phone alone. */
    steps: Record<'validate' | 'fields' | 'mapWithPhone' | 'phone', WarmCase>;
  };
  phone: WarmCase;
  secrets: {
    secrets: number;
    invocations: number;
    spacingMs: number;
    ttlMs: number;
    coldConcurrentReads: number;
    coldCalls: number;
    calls: number;
    expected: number;
  };
}
interface DeliverResult {
  client: string;
  contacts: number;
  concurrency: number;
  elapsedMs: number;
  contactsPerSecond: number;
  requests: number;
  outcomes: Record<string, number>;
  clientConnections?: Record<string, number>;
  cpuMs: number;
  maxRssMb: number;
  rssAtStartMb: number;
  rssAfterMb: number;
  rounds: number;
}
interface EmulatorStats {
  connections: Record<string, number>;
  requests: Record<string, number>;
  contacts: Record<string, number>;
  statuses: Record<string, Record<string, number>>;
  secretCalls: Record<string, number>;
  awsCalls: Record<string, number>;
  cpuMs: number;
  rssMb: number;
}
interface HandlerRun {
  invocations: number;
  ms: Summary;
  cpuMsPerInvocation: number;
  unexpected: number;
  secretCalls: Record<string, number>;
  coldImportMs: number;
}
interface HandlersResult {
  floor: HandlerRun;
  shops: HandlerRun;
  forms: HandlerRun;
  deliverSingle: HandlerRun;
  deliverBatch: HandlerRun & { batchSize: number };
  jobsQueued: number;
  deliverSecretCalls: Record<string, number>;
  maxRssMb: number;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
