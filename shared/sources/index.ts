/**
 * The sources each HTTP ingest function serves, by the name in their URL
 * (`/hooks/{source}/{route}`). serverless.yml routes the same paths to the
 * same functions.
 */
import type { Source } from '../ingest.js';
import { shopifySource } from '../shopify/webhook.js';
import { woocommerceSource } from './woocommerce.js';

/**
 * The forms function's sources (form tools, lead sources and any JSON webhook), each loaded on the first request
 * that names it: a cold start builds none of their schemas, and a warm function only those it was sent
 * (`npm run bench` measures what this saves at cold start and costs the first request).
 */
export const FORM_SOURCES: ReadonlyMap<string, () => Promise<Source>> = new Map([
  ['form', () => import('./form.js').then((module) => module.formSource)],
  ['typeform', () => import('./typeform.js').then((module) => module.typeformSource)],
  ['tally', () => import('./tally.js').then((module) => module.tallySource)],
  ['jotform', () => import('./jotform.js').then((module) => module.jotformSource)],
  ['webflow', () => import('./webflow.js').then((module) => module.webflowSource)],
  ['google-forms', () => import('./google-forms.js').then((module) => module.googleFormsSource)],
  ['custom', () => import('./custom.js').then((module) => module.customSource)],
  ['meta-leads', () => import('./meta-leads.js').then((module) => module.metaLeadsSource)],
  ['calendly', () => import('./calendly.js').then((module) => module.calendlySource)],
]);

/** The shops function's sources (both are used by every shop, so loaded at once). */
export const SHOP_SOURCES: ReadonlyMap<string, Source> = /* @__PURE__ */ new Map(
  [shopifySource, woocommerceSource].map((source) => [source.name, source]),
);
