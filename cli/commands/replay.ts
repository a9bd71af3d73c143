import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import { findRoute } from '../../shared/config/routes.js';
import { SOURCES, type SourceName } from '../../shared/contact.js';
import { intOption, isSource, noExtraPositionals, parse, TARGET_OPTIONS } from '../args.js';
import {
  loadRoutes,
  resolveTarget,
  secretBackend,
  shown,
  userPath,
  type LoadedRoutes,
  type SecretBackend,
  type Target,
} from '../context.js';
import { CliError, EXIT, plural, print, Progress, table, UsageError, type Io } from '../io.js';
import { runPool } from '../pool.js';
import { describeRefusal, OUTCOMES, postWebhook, UnreachableError, unreachableHint, type Outcome } from '../post.js';
import { buildWebhook, TOPICS } from '../webhook.js';
import { routeSecret } from './send.js';

const REPLAY_HELP = `Usage: contact-relay replay <file.jsonl | dir> [options]

Send many webhooks, each signed as its platform signs it (see contact-relay send),
with a progress bar and a summary: accepted, duplicate, ignored, skipped, rejected
(with reasons).

Input:
  file.jsonl   one webhook per line:
                 {"source": "shopify", "route": "default", "topic": "orders/create", "payload": {...}}
               route defaults to --route (else "default"); topic to --topic or the
               source's default; "payload" is the JSON body (an object) or the raw
               body (a string); "eventId" sets the delivery id as --event-id does
  dir          every *.jsonl file in it (as above), and every raw payload file named
               <source>.json or <source>-<anything> (e.g. shopify-order-1001.json,
               jotform-1.json; \`replay cli/samples\` sends every shipped sample),
               in name order

Options:
  --concurrency N   webhooks in flight at once (default 4, at most 64)
  --route R         route for items that name none (default: default)
  --topic T         Shopify/WooCommerce topic for items that name none
  --url URL         base URL (default for stage local: http://127.0.0.1:$PORT, 3000
                    when unset)
  --stage S         stage whose secrets sign (default local: local/secrets.json or
                    LOCAL_SECRETS_FILE; others: AWS Secrets Manager, and --url is required)
  --region R        AWS region of Secrets Manager (default: AWS_REGION, else
                    AWS_DEFAULT_REGION, else the region serverless.yml deploys to)
  --secrets FILE    read secrets from this JSON file instead
  --config FILE     route config (default: config/routes.json)
  --timeout SECONDS per request (default 30)
  --json            print the summary as one JSON object
  -h, --help        this help

Answers 429/502/503/504 are retried twice after a pause. If the URL cannot be
reached at all, the replay stops: nothing more is sent.

Exit codes:
  0  every item was accepted, duplicate, ignored or skipped
  1  an item was rejected (refused, bad line, unknown route, missing secret), the
     input cannot be read, or the URL cannot be reached
  2  usage error
130  interrupted (Ctrl-C): what was sent is summarised
`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  concurrency: { type: 'string' },
  route: { type: 'string' },
  topic: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

interface ReplayItem {
  /** `events.jsonl:3` or a file name. */
  label: string;
  source?: SourceName;
  route?: string;
  topic?: string;
  eventId?: string;
  payload?: Buffer;
  /** Why the item cannot be sent at all. */
  error?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One JSONL line (or a JSON envelope file) as an item; malformed input becomes an item that says why. */
function itemFromEnvelope(label: string, text: string): ReplayItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { label, error: `not JSON: ${(error as Error).message}` };
  }
  if (!isObject(value)) return { label, error: 'not a JSON object {source, route?, topic?, payload}' };
  const { source, route, topic, payload, eventId } = value;
  if (typeof source !== 'string') return { label, error: `"source" is missing; sources: ${SOURCES.join(', ')}` };
  if (!isSource(source)) return { label, error: `unknown source "${source}"; sources: ${SOURCES.join(', ')}` };
  if (route !== undefined && typeof route !== 'string') return { label, source, error: '"route" must be a string' };
  if (topic !== undefined && typeof topic !== 'string') return { label, source, error: '"topic" must be a string' };
  if (eventId !== undefined && typeof eventId !== 'string')
    return { label, source, error: '"eventId" must be a string' };
  if (payload === undefined || payload === null) return { label, source, error: '"payload" is missing' };
  const body =
    typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(JSON.stringify(payload), 'utf8');
  return {
    label,
    source,
    payload: body,
    ...(route !== undefined ? { route } : {}),
    ...(topic !== undefined ? { topic } : {}),
    ...(eventId !== undefined ? { eventId } : {}),
  };
}

function itemsFromJsonl(label: string, text: string): ReplayItem[] {
  const items: ReplayItem[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() !== '') items.push(itemFromEnvelope(`${label}:${index + 1}`, line));
  });
  return items;
}

/**
 * The source a raw payload file is named for: `google-forms.json` (as the shipped samples are) or
 * `google-forms-1.json` → google-forms.
 */
function sourceOfFileName(name: string): SourceName | undefined {
  return [...SOURCES]
    .sort((a, b) => b.length - a.length)
    .find((source) => name === `${source}.json` || name.startsWith(`${source}-`));
}

function readReplayInput(io: Io, input: string): ReplayItem[] {
  const where = userPath(io, input);
  let stats: Stats;
  try {
    stats = statSync(where);
  } catch {
    throw new CliError(`${input} does not exist`);
  }
  const read = (file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new CliError(`cannot read ${shown(io, file)}: ${(error as Error).message}`);
    }
  };
  if (!stats.isDirectory()) return itemsFromJsonl(input, read(where).toString('utf8'));
  const items: ReplayItem[] = [];
  const names = readdirSync(where)
    .filter((name) => !name.startsWith('.'))
    .sort();
  for (const name of names) {
    const file = path.join(where, name);
    if (!statSync(file).isFile()) continue;
    if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) {
      items.push(...itemsFromJsonl(name, read(file).toString('utf8')));
      continue;
    }
    const source = sourceOfFileName(name);
    if (source !== undefined) {
      items.push({ label: name, source, payload: read(file) });
      continue;
    }
    // A JSON file that is an envelope names its own source.
    const text = read(file).toString('utf8');
    const envelope = name.endsWith('.json') ? itemFromEnvelope(name, text) : undefined;
    items.push(
      envelope?.error === undefined && envelope !== undefined
        ? envelope
        : {
            label: name,
            error: `cannot tell its source: name it <source>.json or <source>-….json (${SOURCES.join(', ')}) or make it {"source", "payload"}`,
          },
    );
  }
  if (items.length === 0)
    throw new CliError(`${input} holds no *.jsonl file and no payload file named <source>.json or <source>-…`);
  return items;
}

interface ItemResult {
  label: string;
  source?: SourceName;
  route?: string;
  outcome: Outcome | 'not sent';
  httpStatus?: number;
  code?: string;
  reason?: string;
  eventKey?: string;
}

interface SendContext {
  routes: LoadedRoutes;
  backend: SecretBackend;
  target: Target;
  timeoutMs: number;
  defaults: { route: string; topic?: string | undefined };
  now: () => Date;
}

/** Send one item; everything but an unreachable host ends in a result. */
async function sendItem(item: ReplayItem, context: SendContext): Promise<ItemResult> {
  const routeName = item.route ?? context.defaults.route;
  const base = { label: item.label, ...(item.source ? { source: item.source, route: routeName } : {}) };
  if (item.error !== undefined || item.source === undefined || item.payload === undefined)
    return { ...base, outcome: 'rejected', reason: item.error ?? 'nothing to send' };
  const route = findRoute(context.routes.config, item.source, routeName);
  if (route === undefined)
    return {
      ...base,
      outcome: 'rejected',
      reason: `no route "${routeName}" for ${item.source} in ${path.basename(context.routes.file)}`,
    };
  // A topic only means something to the sources that read one from a header.
  const topic = TOPICS[item.source] === undefined ? undefined : (item.topic ?? context.defaults.topic);
  try {
    const { secret, secretName } = await routeSecret(context.backend, route, context.target.stage);
    const payload = item.payload;
    const sign = () =>
      buildWebhook({ route, payload, topic, eventId: item.eventId, secret, secretName, now: context.now() });
    const answer = await postWebhook(context.target.baseUrl, sign(), {
      timeoutMs: context.timeoutMs,
      retries: 2,
      resign: sign,
      unreachableHint: unreachableHint(context.target),
    });
    return {
      ...base,
      outcome: answer.outcome,
      httpStatus: answer.httpStatus,
      ...(answer.code ? { code: answer.code } : {}),
      ...(answer.outcome === 'rejected'
        ? { reason: describeRefusal(answer) }
        : answer.reason
          ? { reason: answer.reason }
          : {}),
      ...(answer.eventKey ? { eventKey: answer.eventKey } : {}),
    };
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    if (error instanceof CliError) return { ...base, outcome: 'rejected', reason: error.message };
    throw error;
  }
}

const LISTED = 25;

export async function replay(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('replay', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(REPLAY_HELP);
    return EXIT.ok;
  }
  const input = positionals[0];
  if (input === undefined) throw new UsageError('give a .jsonl file or a directory to replay', 'replay');
  noExtraPositionals(positionals, 1, 'replay');
  const concurrency = intOption(values.concurrency, 'concurrency', 4, 1, 64, 'replay');
  const timeoutMs = intOption(values.timeout, 'timeout', 30, 1, 600, 'replay') * 1000;
  const target = resolveTarget(values, 'replay', io.env);
  const routes = loadRoutes(io, values.config);
  const items = readReplayInput(io, input);
  const backend = secretBackend(io, target.stage, { secrets: values.secrets, region: values.region }, 'replay');

  const results: ItemResult[] = items.map((item) => ({
    label: item.label,
    outcome: 'not sent' as const,
    ...(item.source ? { source: item.source } : {}),
  }));
  const counts: Record<Outcome, number> = { accepted: 0, duplicate: 0, ignored: 0, skipped: 0, rejected: 0 };
  const progress = new Progress(io.stderr, 'replay');
  let done = 0;
  let unreachable: UnreachableError | undefined;
  const context: SendContext = {
    routes,
    backend,
    target,
    timeoutMs,
    defaults: { route: values.route ?? 'default', topic: values.topic },
    now: io.now,
  };
  try {
    await runPool(
      items,
      concurrency,
      async (item, index) => {
        try {
          const result = await sendItem(item, context);
          results[index] = result;
          if (result.outcome !== 'not sent') counts[result.outcome] += 1;
        } catch (error) {
          if (error instanceof UnreachableError) unreachable ??= error;
          else throw error;
        }
        done += 1;
        const other = counts.ignored + counts.skipped;
        progress.update(
          done,
          items.length,
          [
            `accepted ${counts.accepted}`,
            counts.duplicate ? `duplicate ${counts.duplicate}` : '',
            other ? `other ${other}` : '',
            counts.rejected ? `rejected ${counts.rejected}` : '',
          ]
            .filter(Boolean)
            .join(', '),
        );
      },
      () => unreachable !== undefined || io.signal?.aborted === true,
    );
  } finally {
    progress.end();
    backend.close();
  }

  const notSent = results.filter((result) => result.outcome === 'not sent').length;
  const interrupted = io.signal?.aborted === true && unreachable === undefined;
  if (values.json) {
    print(
      io.stdout,
      JSON.stringify({
        input,
        url: target.baseUrl,
        counts: { ...counts, notSent },
        items: results,
        ...(unreachable ? { error: unreachable.message } : {}),
      }),
    );
  } else {
    print(io.stdout, `replay ${input} → ${target.baseUrl} (stage ${target.stage}): ${plural(items.length, 'item')}`);
    print(
      io.stdout,
      table([
        ...OUTCOMES.map((outcome) => [outcome, String(counts[outcome])]),
        ...(notSent > 0 ? [['not sent', String(notSent)]] : []),
      ]),
    );
    for (const outcome of ['rejected', 'skipped', 'ignored'] as const) {
      const listed = results.filter((result) => result.outcome === outcome);
      if (listed.length === 0) continue;
      print(io.stdout, `${outcome}:`);
      print(
        io.stdout,
        table(
          listed
            .slice(0, LISTED)
            .map((result) => [
              result.label,
              result.source ? `${result.source}/${result.route ?? ''}` : '-',
              result.reason ?? '',
            ]),
        ),
      );
      if (listed.length > LISTED) print(io.stdout, `  … and ${listed.length - LISTED} more (--json lists them all)`);
    }
  }
  if (unreachable !== undefined) {
    print(io.stderr, `contact-relay replay: ${unreachable.message}; stopped, ${plural(notSent, 'item')} not sent`);
    return EXIT.failed;
  }
  if (interrupted) {
    print(io.stderr, `contact-relay replay: interrupted; ${plural(notSent, 'item')} not sent`);
    return EXIT.interrupted;
  }
  return counts.rejected > 0 ? EXIT.failed : EXIT.ok;
}
