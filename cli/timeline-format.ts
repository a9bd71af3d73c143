/**
 * An event's history as trace and events print it: text for people, and the documents of
 * cli/trace-schema.ts for scripts. Provider messages are masked again before printing: the table should
 * hold no email or phone, and a terminal or a CI log is no place to find out it did.
 */
import type { AccountState, EventTimeline, HistoryEntry, OutcomeCounts, TimelineEntry } from '../shared/history.js';
import { maskText } from '../shared/logging.js';
import { plural, table } from './io.js';
import type { EventsDocument, TraceDocument } from './trace-schema.js';

const iso = (ms: number) => new Date(ms).toISOString();

type Details = Pick<
  HistoryEntry,
  'receiveCount' | 'httpStatus' | 'code' | 'reason' | 'providerContactId' | 'message'
> & { nextTryAt?: number };

function details(entry: Details): Record<string, unknown> {
  return {
    ...(entry.receiveCount !== undefined ? { receiveCount: entry.receiveCount } : {}),
    ...(entry.httpStatus !== undefined ? { httpStatus: entry.httpStatus } : {}),
    ...(entry.code !== undefined ? { code: entry.code } : {}),
    ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    ...(entry.providerContactId !== undefined ? { providerContactId: entry.providerContactId } : {}),
    ...(entry.message !== undefined ? { message: maskText(entry.message, true) } : {}),
    ...(entry.nextTryAt !== undefined ? { nextTryAt: iso(entry.nextTryAt) } : {}),
  };
}

function entryJson(entry: TimelineEntry): TraceDocument['events'][number]['timeline'][number] {
  switch (entry.kind) {
    case 'received':
      return {
        kind: 'received',
        at: iso(entry.at),
        ...(entry.source !== undefined ? { source: entry.source } : {}),
        ...(entry.route !== undefined ? { route: entry.route } : {}),
        answer: entry.answer,
      };
    case 'duplicates':
      return { kind: 'duplicates', at: iso(entry.at), count: entry.count };
    case 'attempt':
      return {
        kind: 'attempt',
        at: iso(entry.at),
        account: entry.account,
        ...(entry.provider !== undefined ? { provider: entry.provider } : {}),
        status: entry.status,
        ...details(entry),
      };
    default:
      return { kind: entry.kind, at: iso(entry.at) };
  }
}

function accountJson(account: AccountState): TraceDocument['events'][number]['accounts'][number] {
  return {
    account: account.account,
    ...(account.provider !== undefined ? { provider: account.provider } : {}),
    status: account.status,
    attempts: account.attempts,
    ...details({
      ...(account.last ?? {}),
      ...(account.nextTryAt !== undefined ? { nextTryAt: account.nextTryAt } : {}),
    }),
  };
}

export function timelineJson(timeline: EventTimeline): TraceDocument['events'][number] {
  return {
    eventKey: timeline.eventKey,
    ...(timeline.source !== undefined ? { source: timeline.source } : {}),
    ...(timeline.route !== undefined ? { route: timeline.route } : {}),
    ...(timeline.receivedAt !== undefined ? { receivedAt: iso(timeline.receivedAt) } : {}),
    parked: timeline.parked,
    accounts: timeline.accounts.map(accountJson),
    timeline: timeline.entries.map(entryJson),
  };
}

/** What an outcome says after its status: `contact 42`, `no_phone`, `HTTP 400 bad_number: "…"`, `next try …`. */
export function describeOutcome(entry: Details & { status: string }): string {
  const parts: string[] = [];
  if (entry.providerContactId !== undefined) parts.push(`contact ${entry.providerContactId}`);
  if (entry.reason !== undefined) parts.push(entry.reason);
  const http = entry.httpStatus !== undefined ? `HTTP ${entry.httpStatus}` : '';
  const code = [http, entry.code ?? ''].filter((part) => part !== '').join(' ');
  if (code !== '') parts.push(code);
  if (entry.message !== undefined) parts.push(JSON.stringify(maskText(entry.message, true)));
  if (entry.nextTryAt !== undefined) parts.push(`next try ${iso(entry.nextTryAt)}`);
  return parts.join(', ');
}

function entryText(entry: TimelineEntry): [string, string] {
  switch (entry.kind) {
    case 'received': {
      const route = [entry.source, entry.route].filter((part) => part !== undefined).join('/');
      return ['received', `${route || 'source unknown'}, answered ${entry.answer}`];
    }
    case 'duplicates':
      return ['duplicates', `${plural(entry.count, 'later webhook')} answered duplicate (the last at this time)`];
    case 'queued':
      return ['queued', 'on the delivery queue'];
    case 'attempt': {
      const provider = entry.provider !== undefined && entry.provider !== entry.account ? ` (${entry.provider})` : '';
      const described = describeOutcome(entry);
      const receive = entry.receiveCount !== undefined ? ` [receive ${entry.receiveCount}]` : '';
      return [`${entry.account}${provider}`, `${entry.status}${described ? `: ${described}` : ''}${receive}`];
    }
    case 'dead-lettered':
      return ['dead-lettered', 'the job went to the dead-letter queue'];
    case 'redriven':
      return ['redriven', 'the job came back from the dead-letter queue'];
  }
}

/** One event's timeline and where each account stands, as trace prints it. */
export function timelineText(timeline: EventTimeline): string {
  const route = [timeline.source, timeline.route].filter((part) => part !== undefined).join('/');
  const lines = [`Event ${timeline.eventKey}${route ? ` (${route})` : ''}`];
  lines.push(table(timeline.entries.map((entry) => [iso(entry.at), ...entryText(entry)])));
  if (timeline.accounts.length > 0) {
    lines.push('Accounts now:');
    lines.push(
      table(
        timeline.accounts.map((account) => [
          account.account,
          account.provider ?? '',
          account.status,
          plural(account.attempts, 'attempt'),
          describeOutcome({
            ...(account.last ?? {}),
            status: account.status,
            ...(account.nextTryAt !== undefined ? { nextTryAt: account.nextTryAt } : {}),
          }),
        ]),
      ),
    );
  } else lines.push('Accounts now: no delivery recorded yet');
  if (timeline.parked)
    lines.push('The job is in the dead-letter queue: contact-relay dlq list; contact-relay dlq redrive');
  return lines.join('\n');
}

/** events: one line per event. */
export function eventsText(events: EventsDocument['events']): string {
  if (events.length === 0) return '  (none)';
  return table([
    ['RECEIVED', 'EVENT', 'ROUTE', 'OUTCOMES'],
    ...events.map((event) => [
      event.receivedAt ?? '',
      event.eventKey,
      [event.source, event.route].filter((part) => part !== undefined).join('/'),
      [
        ...event.accounts.map((account) => `${account.account} ${account.status}`),
        ...(event.parked ? ['dead-lettered'] : []),
      ].join(', ') || 'no delivery yet',
    ]),
  ]);
}

/** events: accounts per outcome (rows) and provider (columns). */
export function countsText(counts: OutcomeCounts): string {
  const providers = [...new Set(Object.values(counts.byStatus).flatMap((row) => Object.keys(row)))].sort();
  const statuses = Object.keys(counts.byStatus).sort();
  const lines = [`${plural(counts.events, 'event')}, ${counts.deadLettered} dead-lettered`];
  if (statuses.length > 0) {
    lines.push('Accounts by outcome and provider:');
    lines.push(
      table([
        ['OUTCOME', ...providers, 'TOTAL'],
        ...statuses.map((status) => {
          const row = counts.byStatus[status] ?? {};
          const total = Object.values(row).reduce((sum, value) => sum + value, 0);
          return [status, ...providers.map((provider) => String(row[provider] ?? 0)), String(total)];
        }),
      ]),
    );
  }
  return lines.join('\n');
}
