/**
 * The what-if builds for the levers and choices the bench reports on (source
 * maps, libphonenumber-js in the route schema, the forms function's sources
 * loaded per request, AWS SDK bundled or external, libphonenumber-js
 * metadata) and the library-only bundles, each option's size and load time
 * on its own.
 */
import type { BuildOptions } from 'esbuild';
import { aliasPlugin, eagerSourcesPlugin, regionCheckPlugin } from './bundles.js';
import type { ServiceConfig } from './service.js';

export interface WhatIf {
  label: string;
  options: BuildOptions;
  /** Whether the SDK-only baseline is rebuilt with the what-if's options (it changes how the SDK is bundled). */
  rebuildBaseline: boolean;
  /** The functions whose cold init is measured with it, next to their baseline under the same node flags. */
  coldFunctions: string[];
  /** Node flags for its cold runs and its baselines' (NODE_OPTIONS as in serverless.yml when absent). */
  nodeFlags?: string[];
  /** Functions built with it (sizes). */
  functions: string[];
}

/**
 * The levers the cold-init target is measured against (each a what-if of the sources as they are: the files stay
 * untouched, esbuild resolves or rewrites on the way in), then the choices of libraries and AWS SDK bundling.
 */
export function whatIfVariants(service: ServiceConfig, scratch: string): Record<string, WhatIf> {
  const sdkExternal = [
    ...(service.esbuild.external ?? []),
    '@aws-sdk/*',
    '@smithy/*',
    '@aws-crypto/*',
    '@aws/lambda-invoke-store',
  ];
  const everyFunction = service.functions.map((fn) => fn.name);
  const mapsOn = service.nodeOptions.includes('--enable-source-maps');
  return {
    'source-maps': {
      label: mapsOn
        ? 'no source maps: built with sourcemap false and run without --enable-source-maps (baselines alike)'
        : 'source maps on: --enable-source-maps in NODE_OPTIONS, maps as serverless.yml builds them (baselines alike)',
      options: mapsOn ? { sourcemap: false } : { sourcemap: true, sourcesContent: false },
      rebuildBaseline: true,
      coldFunctions: everyFunction,
      nodeFlags: mapsOn
        ? service.nodeOptions.split(/\s+/).filter((flag) => flag !== '' && flag !== '--enable-source-maps')
        : [...service.nodeOptions.split(/\s+/).filter(Boolean), '--enable-source-maps'],
      functions: everyFunction,
    },
    'phone-in-routes': {
      label: 'route schema checks defaultRegion with libphonenumber-js (isRegion from shared/phone.ts)',
      options: { plugins: [regionCheckPlugin()] },
      rebuildBaseline: false,
      coldFunctions: ['deliver', 'healthcheck', 'redrive'],
      functions: ['deliver', 'healthcheck', 'redrive'],
    },
    'eager-sources': {
      label: 'forms loads every source at init (static imports) instead of the one a request names',
      options: { plugins: [eagerSourcesPlugin()] },
      rebuildBaseline: false,
      coldFunctions: ['forms'],
      functions: ['forms'],
    },
    'sdk-external': {
      label: 'AWS SDK external (the nodejs22.x runtime provides it)',
      options: { external: sdkExternal },
      rebuildBaseline: true,
      coldFunctions: ['forms', 'deliver'],
      functions: ['forms', 'deliver'],
    },
    'phone-max': {
      label: 'libphonenumber-js/max metadata (strict validation, phone types)',
      options: { plugins: [aliasPlugin('phone-max', { 'libphonenumber-js': 'libphonenumber-js/max' }, scratch)] },
      rebuildBaseline: false,
      coldFunctions: [],
      functions: ['forms', 'deliver'],
    },
    'phone-mobile': {
      label: 'libphonenumber-js/mobile metadata',
      options: { plugins: [aliasPlugin('phone-mobile', { 'libphonenumber-js': 'libphonenumber-js/mobile' }, scratch)] },
      rebuildBaseline: false,
      coldFunctions: [],
      functions: ['forms', 'deliver'],
    },
  };
}

/** Library-only bundles: the size and load time of each option on its own. */
export const LIBRARIES: Record<string, { label: string; contents: string }> = {
  'zod-validation': {
    label: 'zod through shared/zod.ts (`import * as z`, now)',
    contents:
      "import * as z from './shared/zod.ts'; export const S = z.object({ a: z.string(), b: z.optional(z.number()) }); export const handler = async () => S.safeParse({ a: 'x' }).success;",
  },
  'zod-mini-namespace': {
    label: "zod/mini namespace import + { en } from 'zod/locales'",
    contents:
      "import * as z from 'zod/mini'; import { en } from 'zod/locales'; z.config(en()); export const S = z.object({ a: z.string(), b: z.optional(z.number()) }); export const handler = async () => S.safeParse({ a: 'x' }).success;",
  },
  'zod-classic': {
    label: "zod (classic) namespace import + { en } from 'zod/locales'",
    contents:
      "import * as z from 'zod'; import { en } from 'zod/locales'; z.config(en()); export const S = z.object({ a: z.string(), b: z.number().optional() }); export const handler = async () => S.safeParse({ a: 'x' }).success;",
  },
  'http-node': {
    label: 'node:http client (shared/http.ts)',
    contents:
      "import { createHttpClient } from './shared/http.ts'; export const client = createHttpClient(); export const handler = async () => client.connectionsOpened();",
  },
  undici: {
    label: 'undici package (Agent + request), bundled',
    contents:
      "import { Agent, request } from 'undici'; export const agent = new Agent({ connections: 16 }); export const handler = async () => typeof request;",
  },
  'phone-min': {
    label: 'libphonenumber-js (min metadata, now)',
    contents:
      "import { parsePhoneNumberWithError, isSupportedCountry, validatePhoneNumberLength } from 'libphonenumber-js'; export const handler = async () => [parsePhoneNumberWithError('+14155550132').number, isSupportedCountry('US'), validatePhoneNumberLength('+1415')];",
  },
  'phone-max': {
    label: 'libphonenumber-js/max',
    contents:
      "import { parsePhoneNumberWithError, isSupportedCountry, validatePhoneNumberLength } from 'libphonenumber-js/max'; export const handler = async () => [parsePhoneNumberWithError('+14155550132').number, isSupportedCountry('US'), validatePhoneNumberLength('+1415')];",
  },
  'phone-mobile': {
    label: 'libphonenumber-js/mobile',
    contents:
      "import { parsePhoneNumberWithError, isSupportedCountry, validatePhoneNumberLength } from 'libphonenumber-js/mobile'; export const handler = async () => [parsePhoneNumberWithError('+14155550132').number, isSupportedCountry('US'), validatePhoneNumberLength('+1415')];",
  },
};
