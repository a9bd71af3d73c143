/**
 * One sample payload per source, shipped in cli/samples/: each is a real
 * sender's payload shape (copied from test/fixtures, or shaped as the
 * sender's documentation shows) with its own person and a valid phone number,
 * so every sample becomes a contact at all four providers.
 *
 * Meta Lead Ads names a lead without its answers: the sample webhook carries
 * the leadgen id, and `graph/meta-leads-lead.json` is the lead the Graph API answers
 * for it (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving),
 * which `send meta-leads --sample` stores in the emulator first.
 * Assumption: the webhook's ids are strings, as the App Dashboard's test
 * notifications send them (Meta's leadgen page shows them as numbers too;
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-leadgen).
 * The Calendly sample is an `invitee.created` webhook in the envelope Calendly
 * documents (`event`, `created_at`, `created_by`, `payload` = the invitee;
 * https://developer.calendly.com/docs/webhooks/overview). Assumption: its
 * `text_reminder_number` reads as the invitee typed it, with the country code.
 */
import path from 'node:path';
import type { SourceName } from '../shared/contact.js';
import { PROJECT_ROOT } from './context.js';

interface Sample {
  source: SourceName;
  file: string;
  topic?: string;
  /** Who it becomes. */
  contact: string;
  /** Meta Lead Ads: the Graph API lead the webhook names, stored in the emulator before the webhook is sent. */
  graphLead?: string;
}

export const SAMPLES: Record<SourceName, Sample> = {
  shopify: {
    source: 'shopify',
    file: 'shopify.json',
    topic: 'orders/create',
    contact: 'John Smith, john@example.com, +1 415 555 0132 (billing address)',
  },
  woocommerce: {
    source: 'woocommerce',
    file: 'woocommerce.json',
    topic: 'order.created',
    contact: 'Jane Doe, jane.doe@example.com, +1 415 555 0143 (billing)',
  },
  typeform: { source: 'typeform', file: 'typeform.json', contact: 'Ada Lovelace, ada@example.com, +1 415 555 0158' },
  tally: {
    source: 'tally',
    file: 'tally.json',
    contact: 'Jan Peeters, +32 471 12 34 56 (national number, hidden field country=BE)',
  },
  jotform: {
    source: 'jotform',
    file: 'jotform.json',
    contact: 'Mary Somerville, mary@example.com, +1 415 555 0163 (sent as multipart/form-data)',
  },
  webflow: {
    source: 'webflow',
    file: 'webflow.json',
    contact: 'Ford Prefect, +44 20 7946 0018 (national number, country=GB)',
  },
  'google-forms': {
    source: 'google-forms',
    file: 'google-forms.json',
    contact: 'Emmy Noether, emmy@example.com, +1 415 555 0171',
  },
  form: { source: 'form', file: 'form.json', contact: 'Katherine Johnson, katherine@example.com, +1 415 555 0186' },
  'meta-leads': {
    source: 'meta-leads',
    file: 'meta-leads.json',
    // In a folder of its own, so `replay cli/samples` replays the webhooks alone.
    graphLead: 'graph/meta-leads-lead.json',
    contact:
      'Grace Hopper, grace.hopper@example.com, +1 415 555 0194 (the Graph API lead of graph/meta-leads-lead.json)',
  },
  calendly: {
    source: 'calendly',
    file: 'calendly.json',
    contact: 'Hedy Lamarr, hedy@example.com, +1 415 555 0127 (text_reminder_number)',
  },
  custom: {
    source: 'custom',
    file: 'custom.json',
    contact: 'Rosalind Franklin, rosalind@example.com, +44 20 7946 0321 (national number, country=GB)',
  },
};

const SAMPLES_DIR = path.join(PROJECT_ROOT, 'cli', 'samples');

export function samplePath(source: SourceName): string {
  return path.join(SAMPLES_DIR, SAMPLES[source].file);
}

/** The Graph API lead a source's sample names (Meta Lead Ads), or undefined. */
export function sampleGraphLeadPath(source: SourceName): string | undefined {
  const file = SAMPLES[source].graphLead;
  return file === undefined ? undefined : path.join(SAMPLES_DIR, file);
}
