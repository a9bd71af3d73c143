/**
 * Meta Lead Ads for `send`: a leadgen webhook names its leads by id only, and
 * deliver reads each one from the Graph API. On the local stack that API is
 * the emulator, so `send meta-leads --sample` first stores the sample's lead
 * there (`POST {emulator}/_emulator/meta/leads`, a Graph lead object:
 * https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving),
 * then posts the signed webhook. Anywhere else (a deployed stage, or
 * `META_GRAPH_URL` naming another Graph API) the lead must already exist where
 * deliver reads it, so nothing is stored.
 */
import { readFileSync } from 'node:fs';
import * as z from '../shared/zod.js';
import { describeIssues } from '../shared/validation.js';
import { LOCAL_STAGE, localStack, type EnvVars, type Target } from './context.js';
import { CliError } from './io.js';
import { networkReason, UnreachableError } from './post.js';

const GraphId = z.string().check(z.regex(/^\d+$/, 'must be a Graph id (digits)'));

/**
 * A lead as the Graph API answers `GET /{leadgen_id}`, plus the page it came through (the emulator files
 * leads by page).
 */
export const GraphLeadSchema = z.object({
  id: GraphId,
  created_time: z.string().check(z.minLength(1)),
  field_data: z
    .array(z.object({ name: z.string().check(z.minLength(1)), values: z.array(z.string()) }))
    .check(z.minLength(1)),
  form_id: z.optional(GraphId),
  ad_id: z.optional(GraphId),
  page_id: GraphId,
});
export type GraphLead = z.infer<typeof GraphLeadSchema>;

export function readGraphLead(file: string, label: string): GraphLead {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read the Graph lead ${label}: ${(error as Error).message}`);
  }
  const parsed = GraphLeadSchema.safeParse(raw);
  if (!parsed.success) throw new CliError(`the Graph lead ${label} is not a lead: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const idText = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);

/**
 * The leadgen ids a webhook body names: every `changes[].value.leadgen_id` of a `leadgen` change, in order
 * (https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-leadgen). Empty when
 * the body is not such a notification; the service judges it then.
 */
export function leadgenIds(body: Buffer): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  if (!isObject(parsed) || !Array.isArray(parsed['entry'])) return [];
  const ids: string[] = [];
  for (const entry of parsed['entry']) {
    if (!isObject(entry) || !Array.isArray(entry['changes'])) continue;
    for (const change of entry['changes']) {
      if (!isObject(change) || change['field'] !== 'leadgen' || !isObject(change['value'])) continue;
      const id = idText(change['value']['leadgen_id']);
      if (id !== undefined) ids.push(id);
    }
  }
  return ids;
}

/** Whether `send` stores the lead in the emulator, and why not when it does not. */
type LeadSeeding = { seed: true; url: string } | { seed: false; why: string };

/**
 * The emulator is where deliver reads leads only on stage local with `META_GRAPH_URL` unset (as `npm start`
 * runs the functions); there `POST /_emulator/meta/leads` stores one.
 */
export function leadSeeding(target: Pick<Target, 'stage' | 'emulatorUrl'>, env: EnvVars, command: string): LeadSeeding {
  if (target.stage !== LOCAL_STAGE || target.emulatorUrl === undefined) {
    const why = `stage ${target.stage} reads leads from Meta's Graph API, so the lead must exist there`;
    return { seed: false, why };
  }
  const graph = localStack(env, {}, command).metaGraph;
  if (graph.source !== 'emulator') {
    const where = graph.url ?? "Meta's public Graph API (set but empty)";
    return { seed: false, why: `${graph.variable} points deliver at ${where}, so the lead must exist there` };
  }
  return { seed: true, url: `${target.emulatorUrl}/_emulator/meta/leads` };
}

/** Store `lead` in the emulator's Graph API; fails naming the emulator's answer. */
export async function seedGraphLead(
  url: string,
  lead: GraphLead,
  options: { timeoutMs: number; unreachableHint?: string | undefined },
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'contact-relay-cli' },
      body: JSON.stringify(lead),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const hint =
      options.unreachableHint ?? 'Is the local stack running? Start it with `npm start` (or set EMULATOR_PORT)';
    const why = networkReason(error).text;
    throw new UnreachableError(`cannot reach the emulator at ${url} to store the lead: ${why}. ${hint}`);
  }
  const text = await response.text();
  if (!response.ok) {
    const answer = text.slice(0, 300);
    throw new CliError(`the emulator refused the lead ${lead.id} (HTTP ${response.status} from ${url}): ${answer}`);
  }
}
