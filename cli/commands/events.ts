/**
 * `contact-relay events`: the events received in a recent window, from the events table's `recent` index,
 * filtered by source, route and outcome, with the accounts counted per outcome and provider.
 */
import { SOURCES } from '../../shared/contact.js';
import {
  countOutcomes,
  createHistoryReader,
  EVENT_STATUSES,
  eventStatuses,
  type EventStatus,
  type EventTimeline,
} from '../../shared/history.js';
import { intOption, isSource, noExtraPositionals, parse } from '../args.js';
import { historyStack, STACK_HELP, STACK_OPTIONS, tableError } from '../history-stack.js';
import { CliError, EXIT, print, UsageError, type Io } from '../io.js';
import { runPool } from '../pool.js';
import { countsText, eventsText, timelineJson } from '../timeline-format.js';
import type { EventsDocument } from '../trace-schema.js';

/** Events read at most: each costs one Query of its records. */
const MAX_EVENTS = 10_000;
const MAX_WINDOW_DAYS = 90;

const EVENTS_HELP = `Usage: contact-relay events [options]

List the events received in a recent window, newest first, each with the
outcome of every provider account, then the accounts counted per outcome and
provider (over every event that matches, not only those listed).

Options:
  --since D         how far back: 30m, 2h, 7d (default 24h, at most ${MAX_WINDOW_DAYS}d)
  --source S        only events from this source (${SOURCES.join(', ')})
  --route R         only events of this route
  --status S        only events with an account in this outcome, or whose job
                    was dead-lettered: ${EVENT_STATUSES.join(', ')}
  --limit N         events listed (default 50; counts cover all that match)
${STACK_HELP}
  --json            print {stage, since, until, filters, events, counts}
                    (cli/trace-schema.ts)
  -h, --help        this help

Events come from the index "recent", which DynamoDB keeps eventually
consistent: one received a second ago may not be listed yet
(contact-relay trace <eventKey> reads it consistently). At most ${MAX_EVENTS} events
are read.

Exit codes:
  0  listed (also when none matched)
  1  the table cannot be read
  2  usage error
`;

const OPTIONS = {
  ...STACK_OPTIONS,
  since: { type: 'string' },
  source: { type: 'string' },
  route: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30m`, `2h`, `7d` in milliseconds. */
export function readDuration(value: string, command: string): number {
  const match = /^(\d+)\s*([smhd])$/.exec(value.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!(ms > 0) || ms > MAX_WINDOW_DAYS * UNIT_MS.d)
    throw new UsageError(
      `--since must be a duration such as 30m, 2h or 7d, at most ${MAX_WINDOW_DAYS}d; got "${value}"`,
      command,
    );
  return ms;
}

export async function events(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('events', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(EVENTS_HELP);
    return EXIT.ok;
  }
  noExtraPositionals(positionals, 0, 'events');
  const window = readDuration(values.since ?? '24h', 'events');
  if (values.source !== undefined && !isSource(values.source))
    throw new UsageError(`unknown source "${values.source}"; sources: ${SOURCES.join(', ')}`, 'events');
  const status = values.status as EventStatus | undefined;
  if (status !== undefined && !(EVENT_STATUSES as readonly string[]).includes(status))
    throw new UsageError(`--status must be one of ${EVENT_STATUSES.join(', ')}; got "${status}"`, 'events');
  const limit = intOption(values.limit, 'limit', 50, 1, MAX_EVENTS, 'events');
  const until = io.now().getTime();
  const since = until - window;

  const stack = historyStack(io, values, 'events');
  const timelines: EventTimeline[] = [];
  let capped = false;
  try {
    const reader = createHistoryReader({ client: stack.dynamo, tableName: stack.tableName });
    const references = (await reader.recentEvents({ since, until, limit: MAX_EVENTS })).filter(
      (event) =>
        (values.source === undefined || event.source === values.source) &&
        (values.route === undefined || event.route === values.route),
    );
    capped = references.length >= MAX_EVENTS;
    const read: Array<EventTimeline | undefined> = [];
    await runPool(references, 16, async (reference, index) => {
      read[index] = await reader.event(reference.eventKey);
    });
    for (const timeline of read)
      if (timeline !== undefined && (status === undefined || eventStatuses(timeline).has(status)))
        timelines.push(timeline);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw tableError(stack, error);
  } finally {
    stack.close();
  }

  const counts = countOutcomes(timelines);
  const listed = timelines.slice(0, limit).map((timeline) => {
    const { eventKey, source, route, receivedAt, parked } = timelineJson(timeline);
    return {
      eventKey,
      ...(source !== undefined ? { source } : {}),
      ...(route !== undefined ? { route } : {}),
      ...(receivedAt !== undefined ? { receivedAt } : {}),
      parked,
      accounts: timeline.accounts.map(({ account, provider, status }) => ({
        account,
        ...(provider !== undefined ? { provider } : {}),
        status,
      })),
    };
  });
  if (values.json) {
    const document: EventsDocument = {
      stage: stack.stage,
      since: new Date(since).toISOString(),
      until: new Date(until).toISOString(),
      filters: {
        ...(values.source !== undefined ? { source: values.source } : {}),
        ...(values.route !== undefined ? { route: values.route } : {}),
        ...(status !== undefined ? { status } : {}),
      },
      events: listed,
      counts,
    };
    print(io.stdout, JSON.stringify(document, null, 2));
    return EXIT.ok;
  }
  const filters = [
    values.source !== undefined ? `source ${values.source}` : '',
    values.route !== undefined ? `route ${values.route}` : '',
    status !== undefined ? `status ${status}` : '',
  ].filter((part) => part !== '');
  print(
    io.stdout,
    `Events received since ${new Date(since).toISOString()} (stage ${stack.stage}, ${stack.where})` +
      `${filters.length > 0 ? `, ${filters.join(', ')}` : ''}:`,
  );
  print(io.stdout, eventsText(listed));
  if (timelines.length > listed.length) print(io.stdout, `  … and ${timelines.length - listed.length} more (--limit)`);
  print(io.stdout);
  print(io.stdout, countsText(counts));
  if (capped) print(io.stdout, `Only the newest ${MAX_EVENTS} events were read: narrow --since.`);
  return EXIT.ok;
}
