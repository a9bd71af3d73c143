/**
 * One sample payload per source, shipped in cli/samples/: each is a real
 * sender's payload shape (copied from test/fixtures) with its own person and
 * a valid phone number, so every sample becomes a contact at all four
 * providers.
 */
import path from 'node:path';
import type { SourceName } from '../shared/contact.js';
import { PROJECT_ROOT } from './context.js';

export interface Sample {
  source: SourceName;
  file: string;
  topic?: string;
  /** Who it becomes. */
  contact: string;
}

export const SAMPLES: Record<SourceName, Sample> = {
  shopify: { source: 'shopify', file: 'shopify.json', topic: 'orders/create', contact: 'John Smith, john@example.com, +1 415 555 0132 (billing address)' },
  woocommerce: { source: 'woocommerce', file: 'woocommerce.json', topic: 'order.created', contact: 'Jane Doe, jane.doe@example.com, +1 415 555 0143 (billing)' },
  typeform: { source: 'typeform', file: 'typeform.json', contact: 'Ada Lovelace, ada@example.com, +1 415 555 0158' },
  tally: { source: 'tally', file: 'tally.json', contact: 'Jan Peeters, +32 471 12 34 56 (national number, hidden field country=BE)' },
  jotform: { source: 'jotform', file: 'jotform.json', contact: 'Mary Somerville, mary@example.com, +1 415 555 0163 (sent as multipart/form-data)' },
  webflow: { source: 'webflow', file: 'webflow.json', contact: 'Ford Prefect, +44 20 7946 0018 (national number, country=GB)' },
  'google-forms': { source: 'google-forms', file: 'google-forms.json', contact: 'Emmy Noether, emmy@example.com, +1 415 555 0171' },
  form: { source: 'form', file: 'form.json', contact: 'Katherine Johnson, katherine@example.com, +1 415 555 0186' },
};

export const SAMPLES_DIR = path.join(PROJECT_ROOT, 'cli', 'samples');

export function samplePath(source: SourceName): string {
  return path.join(SAMPLES_DIR, SAMPLES[source].file);
}
