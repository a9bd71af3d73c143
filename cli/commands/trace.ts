/**
 * `contact-relay trace <eventKey | email | phone>`: what happened to one event, or to every event of one
 * person, from the events table: received, queued, each provider account's attempts and outcome,
 * dead-lettered, redriven. A person is found through the person index, keyed by the HMAC of the email or
 * phone under the stage's lookup key: the table never holds either readably.
 */
import { createHistoryReader, type EventTimeline } from '../../shared/history.js';
import { maskEmail, maskPhone } from '../../shared/logging.js';
import { emailHash, phoneHash } from '../../shared/person-key.js';
import { normalisePhone } from '../../shared/phone.js';
import { isEmail } from '../../shared/sources/mapping.js';
import { noExtraPositionals, parse } from '../args.js';
import { historyStack, STACK_HELP, STACK_OPTIONS, tableError, type HistoryStack } from '../history-stack.js';
import { CliError, EXIT, plural, print, UsageError, type Io } from '../io.js';
import { runPool } from '../pool.js';
import { timelineJson, timelineText } from '../timeline-format.js';
import type { TraceDocument } from '../trace-schema.js';

const TRACE_HELP = `Usage: contact-relay trace <eventKey | email | phone> [options]

Print what happened to an event, from the stage's events table, in time order:
  received      source, route, when, and the answer given (accepted)
  duplicates    later webhooks with the same key, answered duplicate
  queued        the job on the delivery queue
  <account>     each provider account's attempts: created or exists with the
                provider's contact id, skipped with its reason, failed with the
                provider's HTTP status, code and message, transient with the
                next try
  dead-lettered the job went to the dead-letter queue
  redriven      it came back (inferred: the first attempt after it)
then where each account stands now.

An email (anything with an @) or a phone in international form (+44 20 7946
0958, or 00 44 …) finds the person's events: it is hashed (HMAC-SHA256) with
the stage's lookup key, secret contact-relay/{stage}/lookup-key, and the
events the person index holds under that hash are traced, newest first.
Anything else is an event key, as the webhook's answer gave it (eventKey).

Options:
${STACK_HELP}
  --json            print {stage, query, events: [...]} (cli/trace-schema.ts,
                    README "trace --json")
  -h, --help        this help

Exit codes:
  0  the event (or the person's events) found
  1  nothing found, or the table or secret cannot be read
  2  usage error

Examples:
  contact-relay trace shopify:default:1001
  contact-relay trace ada@example.com --stage prod --region eu-west-1
  contact-relay trace "+1 415 555 0132" --json
`;

const OPTIONS = { ...STACK_OPTIONS, json: { type: 'boolean' } } as const;

type Query =
  | { kind: 'event'; eventKey: string }
  | { kind: 'email'; email: string; shown: string }
  | { kind: 'phone'; e164: string; shown: string };

/** An email or international phone is a person; anything else an event key. */
export function readQuery(argument: string): Query {
  const text = argument.trim();
  if (text.includes('@')) {
    if (!isEmail(text)) throw new UsageError(`"${maskEmail(text)}" is not an email address`, 'trace');
    return { kind: 'email', email: text, shown: maskEmail(text.toLowerCase()) };
  }
  if (/^(\+|00)[\d\s().-]+$/.test(text)) {
    const phone = normalisePhone(text);
    if (!phone.ok) throw new UsageError(`"${maskPhone(text)}": ${phone.message}`, 'trace');
    return { kind: 'phone', e164: phone.e164, shown: maskPhone(phone.e164) };
  }
  return { kind: 'event', eventKey: argument };
}

async function findTimelines(stack: HistoryStack, query: Query): Promise<EventTimeline[]> {
  const reader = createHistoryReader({ client: stack.dynamo, tableName: stack.tableName });
  try {
    if (query.kind === 'event') {
      const timeline = await reader.event(query.eventKey);
      return timeline === undefined ? [] : [timeline];
    }
    const key = await stack.lookupKey();
    const hash = query.kind === 'email' ? emailHash(key, query.email) : phoneHash(key, query.e164);
    const references = await reader.personEvents(hash);
    const timelines: Array<EventTimeline | undefined> = [];
    await runPool(references, 8, async (reference, index) => {
      timelines[index] = await reader.event(reference.eventKey);
    });
    return timelines.filter((timeline): timeline is EventTimeline => timeline !== undefined);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw tableError(stack, error);
  }
}

export async function trace(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('trace', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(TRACE_HELP);
    return EXIT.ok;
  }
  const [argument] = positionals;
  if (argument === undefined || argument.trim() === '')
    throw new UsageError('name an event key, an email or a phone', 'trace');
  noExtraPositionals(positionals, 1, 'trace');
  const query = readQuery(argument);
  const stack = historyStack(io, values, 'trace');
  let timelines: EventTimeline[];
  try {
    timelines = await findTimelines(stack, query);
  } finally {
    stack.close();
  }
  const shown = query.kind === 'event' ? query.eventKey : query.shown;
  if (values.json) {
    const document: TraceDocument = {
      stage: stack.stage,
      query: { kind: query.kind, value: shown },
      events: timelines.map(timelineJson),
    };
    print(io.stdout, JSON.stringify(document, null, 2));
  } else if (timelines.length > 0) {
    if (query.kind !== 'event') print(io.stdout, `${plural(timelines.length, 'event')} for ${shown}:\n`);
    print(io.stdout, timelines.map(timelineText).join('\n\n'));
  }
  if (timelines.length === 0) {
    const what = query.kind === 'event' ? `event ${shown}` : `events for ${shown}`;
    print(
      io.stderr,
      `contact-relay trace: no ${what} in ${stack.tableName} (${stack.where}); records expire after the retention`,
    );
    return EXIT.failed;
  }
  return EXIT.ok;
}
