/**
 * The sources each HTTP ingest function serves, by the name in their URL
 * (`/hooks/{source}/{route}`). serverless.yml routes the same paths to the
 * same functions.
 */
import type { Source } from '../ingest.js';
import { calendlySource } from './calendly.js';
import { customSource } from './custom.js';
import { formSource } from './form.js';
import { googleFormsSource } from './google-forms.js';
import { jotformSource } from './jotform.js';
import { metaLeadsSource } from './meta-leads.js';
import { shopifySource } from '../shopify/webhook.js';
import { tallySource } from './tally.js';
import { typeformSource } from './typeform.js';
import { webflowSource } from './webflow.js';
import { woocommerceSource } from './woocommerce.js';

const byName = (sources: Source[]) => new Map<string, Source>(sources.map((source) => [source.name, source]));

// Each map is marked pure so a bundle that uses one leaves the other's sources out: the shops
// function carries no form parser, and the forms function no shop parser.

/** The forms function: form tools, lead sources and any JSON webhook. */
export const FORM_SOURCES: ReadonlyMap<string, Source> = /* @__PURE__ */ byName([
  formSource,
  typeformSource,
  tallySource,
  jotformSource,
  webflowSource,
  googleFormsSource,
  customSource,
  metaLeadsSource,
  calendlySource,
]);

/** The shops function. */
export const SHOP_SOURCES: ReadonlyMap<string, Source> = /* @__PURE__ */ byName([shopifySource, woocommerceSource]);
