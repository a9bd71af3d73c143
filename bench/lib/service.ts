/**
 * What the bench reads from serverless.yml, so it measures what `osls package`
 * builds and deploys: the esbuild options serverless-esbuild passes (custom.esbuild,
 * minus the plugin's own keys, as its bundle step does), the function entry
 * points, the memory size, NODE_OPTIONS and the deliver function's batch size.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildOptions } from 'esbuild';
import { parse } from 'yaml';

export interface ServiceFunction {
  name: string;
  /** e.g. functions/deliver/handler.ts */
  entry: string;
  /** e.g. functions/deliver/handler.mjs, as it sits in the zip */
  bundle: string;
}

export interface ServiceConfig {
  esbuild: BuildOptions;
  /** The raw custom.esbuild block, for the report. */
  esbuildRaw: Record<string, unknown>;
  functions: ServiceFunction[];
  memorySizeMb: number;
  architecture: string;
  runtime: string;
  nodeOptions: string;
  deliverBatchSize: number;
}

/** serverless-esbuild's own option names: removed before esbuild sees the options (its bundle.ts). */
const PLUGIN_KEYS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'config',
];

export function readService(root: string): ServiceConfig {
  const doc = parse(readFileSync(path.join(root, 'serverless.yml'), 'utf8')) as {
    provider: { runtime: string; architecture?: string; memorySize?: number; environment?: Record<string, unknown> };
    custom?: { esbuild?: Record<string, unknown> };
    functions: Record<string, { handler: string; memorySize?: number; events?: Array<Record<string, unknown>> }>;
  };
  const raw = doc.custom?.esbuild ?? {};
  if (raw['config'] !== undefined)
    throw new Error('bench: custom.esbuild.config (a JS config file) is not supported; read its options here');
  const runtimeTarget = /^nodejs(\d+)\.x$/.exec(doc.provider.runtime)?.[1];
  const outputFileExtension = (raw['outputFileExtension'] as string | undefined) ?? '.js';
  const exclude = ((raw['exclude'] as string[] | undefined) ?? ['aws-sdk']).filter((name) => name !== '*');
  const rest = Object.fromEntries(Object.entries(raw).filter(([key]) => !PLUGIN_KEYS.includes(key)));
  const esbuild: BuildOptions = {
    // serverless-esbuild's defaults, then the runtime's target, then custom.esbuild (its mergeDeepRight order).
    bundle: true,
    platform: 'node',
    ...(runtimeTarget !== undefined ? { target: `node${runtimeTarget}` } : {}),
    ...rest,
    external: [...((rest['external'] as string[] | undefined) ?? []), ...exclude],
    ...(outputFileExtension !== '.js' ? { outExtension: { '.js': outputFileExtension } } : {}),
  };
  const functions = Object.entries(doc.functions).map(([name, fn]): ServiceFunction => {
    const file = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
    return { name, entry: `${file}.ts`, bundle: `${file}${outputFileExtension}` };
  });
  const deliverSqs = doc.functions['deliver']?.events?.find((event) => event['sqs'] !== undefined)?.['sqs'] as
    | { batchSize?: number }
    | undefined;
  const nodeOptions = doc.provider.environment?.['NODE_OPTIONS'];
  return {
    esbuild,
    esbuildRaw: raw,
    functions,
    memorySizeMb: doc.provider.memorySize ?? 1024,
    architecture: doc.provider.architecture ?? 'x86_64',
    runtime: doc.provider.runtime,
    nodeOptions: typeof nodeOptions === 'string' ? nodeOptions : '',
    deliverBatchSize: deliverSqs?.batchSize ?? 10,
  };
}
