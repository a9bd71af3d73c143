/**
 * The what-if builds for the choices the bench reports on (zod import form,
 * AWS SDK bundled or external, libphonenumber-js metadata, the source maps)
 * and the library-only bundles, each option's size and load time on its own.
 */
import type { BuildOptions } from 'esbuild';
import { getCountries } from 'libphonenumber-js';
import { aliasPlugin, sourceRewritePlugin } from './bundles.js';
import type { ServiceConfig } from './service.js';

/** The functions whose what-if builds get a cold-init measurement (one ingest, one deliver). */
export const COLD_WHATIF_FUNCTIONS = ['forms', 'deliver'];

export interface WhatIf {
  label: string;
  options: BuildOptions;
  /** Whether the SDK-only baseline is rebuilt with the what-if's options (it changes how the SDK is bundled). */
  rebuildBaseline: boolean;
  /** Whether COLD_WHATIF_FUNCTIONS get a cold-init measurement of it. */
  cold: boolean;
  functions: string[];
}

/** What-if builds of the real functions (the sources stay untouched: esbuild resolves or rewrites on the way in). */
export function whatIfVariants(service: ServiceConfig, scratch: string): Record<string, WhatIf> {
  const regions = getCountries();
  const sdkExternal = [
    ...(service.esbuild.external ?? []),
    '@aws-sdk/*',
    '@smithy/*',
    '@aws-crypto/*',
    '@aws/lambda-invoke-store',
  ];
  const everyFunction = service.functions.map((fn) => fn.name);
  return {
    'zod-namespace': {
      label:
        "zod as a namespace import (`import * as z from './zod.js'`, a module re-exporting zod/mini) instead of `export { z }` from validation.ts",
      options: { plugins: [sourceRewritePlugin({ zodNamespace: true }, scratch)] },
      rebuildBaseline: false,
      cold: true,
      functions: everyFunction,
    },
    'regions-list': {
      label: 'routes.ts checks defaultRegion against a constant region list instead of importing phone.ts',
      options: { plugins: [sourceRewritePlugin({ regions }, scratch)] },
      rebuildBaseline: false,
      cold: false,
      functions: ['deliver', 'healthcheck', 'redrive'],
    },
    'esm-first': {
      label: 'mainFields [module, main]: the AWS SDK bundled from its ES modules (tree-shaken) instead of dist-cjs',
      options: { mainFields: ['module', 'main'] },
      rebuildBaseline: true,
      cold: true,
      functions: everyFunction,
    },
    'sdk-external': {
      label: 'AWS SDK external (the nodejs22.x runtime provides it)',
      options: { external: sdkExternal },
      rebuildBaseline: true,
      cold: true,
      functions: ['forms', 'deliver'],
    },
    'source-fixes': {
      label: '(a) + (b): the two source changes, build options as now',
      options: { plugins: [sourceRewritePlugin({ zodNamespace: true, regions }, scratch)] },
      rebuildBaseline: false,
      cold: true,
      functions: everyFunction,
    },
    recommended: {
      label: '(a) + (b) + (c): the two source changes and mainFields [module, main]',
      options: {
        mainFields: ['module', 'main'],
        plugins: [sourceRewritePlugin({ zodNamespace: true, regions }, scratch)],
      },
      rebuildBaseline: true,
      cold: true,
      functions: everyFunction,
    },
    'maps-no-sources': {
      label: 'source maps without sourcesContent (smaller .map for --enable-source-maps to load)',
      options: { sourcesContent: false },
      rebuildBaseline: true,
      cold: true,
      functions: ['forms', 'deliver'],
    },
    'phone-max': {
      label: 'libphonenumber-js/max metadata (strict validation, phone types)',
      options: { plugins: [aliasPlugin('phone-max', { 'libphonenumber-js': 'libphonenumber-js/max' }, scratch)] },
      rebuildBaseline: false,
      cold: false,
      functions: ['forms', 'deliver'],
    },
    'phone-mobile': {
      label: 'libphonenumber-js/mobile metadata',
      options: { plugins: [aliasPlugin('phone-mobile', { 'libphonenumber-js': 'libphonenumber-js/mobile' }, scratch)] },
      rebuildBaseline: false,
      cold: false,
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
