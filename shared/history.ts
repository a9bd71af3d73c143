/**
 * The event history as the events table keeps it, read back: what happened to one event (its ingest
 * record and one outcome record per provider account), which events a person's hashed email or phone
 * points at, and the events received in a window. Only reads; the records are written by ingest
 * (shared/ingest.ts) and delivery (shared/delivery.ts) through shared/store.ts:
 *
 *   pk = event#{eventKey}   sk = ingest                         source, route, receivedAt, queuedAt,
 *                                                               duplicates, deadLetters, gsi1pk/gsi1sk
 *   pk = event#{eventKey}   sk = outcome#{account}              status, provider, history[], nextTryAt
 *   pk = person#{hash}      sk = {receivedAt, 13 digits}#{key}  eventKey, source, route, receivedAt
 *
 * and the index `recent` (gsi1pk = events#{UTC day of receivedAt}, gsi1sk = {receivedAt 13 digits}#{key}).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { eventPk, OUTCOME_SK_PREFIX, personPk, recentPartition, sortableMs, type HistoryEntry } from './store.js';

export type { HistoryEntry } from './store.js';

/** The DynamoDB actions the reader calls: an operator's policy for the CLI needs these on the table and index. */
export const HISTORY_ACTIONS = ['dynamodb:Query'] as const;

/** The name of the recent-events index. */
export const RECENT_INDEX = 'recent';

const DAY_MS = 24 * 3600 * 1000;

/** The ingest record of an event as it is stored. */
export interface IngestRecord {
  state?: string;
  at?: number;
  source?: string;
  route?: string;
  receivedAt?: number;
  answer?: string;
  queuedAt?: number;
  duplicates?: number;
  lastDuplicateAt?: number;
  deadLetters?: number[];
  alias?: boolean;
  expiresAt?: number;
}

/** One provider account's outcome record as it is stored. */
export interface OutcomeRecord {
  account: string;
  provider?: string;
  status?: string;
  attempts?: number;
  history?: HistoryEntry[];
  nextTryAt?: number;
  expiresAt?: number;
}

/** What the table holds for one event key. */
export interface EventRecords {
  eventKey: string;
  ingest?: IngestRecord;
  outcomes: OutcomeRecord[];
}

/** One line of an event's timeline, in time order. */
export type TimelineEntry =
  | { kind: 'received'; at: number; source?: string; route?: string; answer: string }
  | { kind: 'duplicates'; at: number; count: number }
  | { kind: 'queued'; at: number }
  | ({ kind: 'attempt'; account: string; provider?: string; nextTryAt?: number } & HistoryEntry)
  | { kind: 'dead-lettered'; at: number }
  /** Inferred: the first attempt after a dead-letter time is the job back from the dead-letter queue. */
  | { kind: 'redriven'; at: number };

/** Where one provider account stands now. */
export interface AccountState {
  account: string;
  provider?: string;
  /** The record's status: created, exists, skipped, failed, transient, or in_progress while a delivery runs. */
  status: string;
  attempts: number;
  /** The last history entry: the outcome's details (contact id, reason, code, message, next try). */
  last?: HistoryEntry;
  nextTryAt?: number;
}

export interface EventTimeline {
  eventKey: string;
  source?: string;
  route?: string;
  receivedAt?: number;
  /** True when the event's job sits in the dead-letter queue: dead-lettered, and no attempt since. */
  parked: boolean;
  accounts: AccountState[];
  entries: TimelineEntry[];
}

/** The statuses `events --status` filters on: an account's outcome, or the event's job dead-lettered. */
export const EVENT_STATUSES = ['created', 'exists', 'skipped', 'failed', 'transient', 'dead-lettered'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** The event's records put in time order, with the redrives the dead-letter times imply. */
export function buildTimeline(records: EventRecords): EventTimeline {
  const { ingest, eventKey } = records;
  const entries: TimelineEntry[] = [];
  const receivedAt = ingest?.receivedAt ?? ingest?.at;
  if (ingest !== undefined && receivedAt !== undefined) {
    entries.push({
      kind: 'received',
      at: receivedAt,
      ...(ingest.source !== undefined ? { source: ingest.source } : {}),
      ...(ingest.route !== undefined ? { route: ingest.route } : {}),
      answer: ingest.answer ?? (ingest.state === 'pending' ? 'pending' : 'accepted'),
    });
  }
  if (ingest?.queuedAt !== undefined) entries.push({ kind: 'queued', at: ingest.queuedAt });
  if (ingest?.duplicates !== undefined && ingest.duplicates > 0)
    entries.push({ kind: 'duplicates', at: ingest.lastDuplicateAt ?? receivedAt ?? 0, count: ingest.duplicates });
  const attempts: TimelineEntry[] = [];
  const accounts: AccountState[] = [];
  for (const outcome of records.outcomes) {
    const history = [...(outcome.history ?? [])].sort((a, b) => a.at - b.at);
    history.forEach((entry, index) => {
      const latest = index === history.length - 1;
      attempts.push({
        kind: 'attempt',
        account: outcome.account,
        ...(outcome.provider !== undefined ? { provider: outcome.provider } : {}),
        ...entry,
        // The next try is known only for the account's latest transient outcome.
        ...(latest && entry.status === 'transient' && outcome.nextTryAt !== undefined
          ? { nextTryAt: outcome.nextTryAt }
          : {}),
      });
    });
    const last = history.at(-1);
    accounts.push({
      account: outcome.account,
      ...(outcome.provider !== undefined ? { provider: outcome.provider } : {}),
      status: outcome.status ?? last?.status ?? 'unknown',
      attempts: outcome.attempts ?? history.length,
      ...(last !== undefined ? { last } : {}),
      ...(outcome.status === 'transient' && outcome.nextTryAt !== undefined ? { nextTryAt: outcome.nextTryAt } : {}),
    });
  }
  entries.push(...attempts);
  const deadLetters = [...(ingest?.deadLetters ?? [])].sort((a, b) => a - b);
  const attemptTimes = attempts.map((entry) => entry.at).sort((a, b) => a - b);
  let parked = false;
  for (const [index, at] of deadLetters.entries()) {
    entries.push({ kind: 'dead-lettered', at });
    const next = deadLetters[index + 1] ?? Number.POSITIVE_INFINITY;
    const back = attemptTimes.find((time) => time > at && time <= next);
    if (back !== undefined) entries.push({ kind: 'redriven', at: back });
    else if (index === deadLetters.length - 1) parked = true;
  }
  entries.sort((a, b) => a.at - b.at || ORDER[a.kind] - ORDER[b.kind]);
  accounts.sort((a, b) => a.account.localeCompare(b.account));
  return {
    eventKey,
    ...(ingest?.source !== undefined ? { source: ingest.source } : {}),
    ...(ingest?.route !== undefined ? { route: ingest.route } : {}),
    ...(receivedAt !== undefined ? { receivedAt } : {}),
    parked,
    accounts,
    entries,
  };
}

/** Entries at the same millisecond keep the order things happen in: a redrive comes before its attempt. */
const ORDER: Record<TimelineEntry['kind'], number> = {
  received: 0,
  queued: 1,
  duplicates: 2,
  'dead-lettered': 3,
  redriven: 4,
  attempt: 5,
};

/** The statuses an event answers to in `events --status`. */
export function eventStatuses(timeline: EventTimeline): Set<EventStatus> {
  const statuses = new Set<EventStatus>();
  for (const account of timeline.accounts)
    if ((EVENT_STATUSES as readonly string[]).includes(account.status)) statuses.add(account.status as EventStatus);
  if (timeline.entries.some((entry) => entry.kind === 'dead-lettered')) statuses.add('dead-lettered');
  return statuses;
}

/** Outcomes counted per status and provider (accounts' current status), and events dead-lettered. */
export interface OutcomeCounts {
  events: number;
  deadLettered: number;
  /** status → provider → accounts. */
  byStatus: Record<string, Record<string, number>>;
}

export function countOutcomes(timelines: readonly EventTimeline[]): OutcomeCounts {
  const byStatus: Record<string, Record<string, number>> = {};
  for (const timeline of timelines)
    for (const account of timeline.accounts) {
      const providers = byStatus[account.status] ?? {};
      byStatus[account.status] = providers;
      const provider = account.provider ?? account.account;
      providers[provider] = (providers[provider] ?? 0) + 1;
    }
  const deadLettered = timelines.filter((timeline) =>
    timeline.entries.some((entry) => entry.kind === 'dead-lettered'),
  ).length;
  return { events: timelines.length, deadLettered, byStatus };
}

/** One row of the person index or the recent index: an event that happened, and when. */
export interface EventReference {
  eventKey: string;
  source?: string;
  route?: string;
  receivedAt?: number;
}

export interface HistoryReader {
  /** Everything the table holds for the event (consistent read); undefined when it holds nothing. */
  event(eventKey: string): Promise<EventTimeline | undefined>;
  /** The events a person's hash (shared/person-key.ts) points at, newest first. */
  personEvents(hash: string): Promise<EventReference[]>;
  /** Events received from `since` to `until` (epoch ms), newest first, at most `limit`. */
  recentEvents(window: { since: number; until: number; limit?: number }): Promise<EventReference[]>;
}

/** The UTC days from `since` to `until`, newest first, as the index's partition keys. */
export function recentPartitions(since: number, until: number): string[] {
  const days: string[] = [];
  for (let day = Math.floor(until / DAY_MS) * DAY_MS; day >= Math.floor(since / DAY_MS) * DAY_MS; day -= DAY_MS)
    days.push(recentPartition(day));
  return days;
}

/** A receivedAt as the sort keys write it: 13 digits, so text order is time order. */
const sortTime = (ms: number) => sortableMs(Math.max(0, ms));

export function createHistoryReader(options: { client: DynamoDBClient; tableName: string }): HistoryReader {
  const documents = DynamoDBDocumentClient.from(options.client);
  const { tableName } = options;

  async function* query(input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(
        new QueryCommand({ ...input, TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  const reference = (item: Record<string, unknown>): EventReference => ({
    eventKey: String(item['eventKey']),
    ...(typeof item['source'] === 'string' ? { source: item['source'] } : {}),
    ...(typeof item['route'] === 'string' ? { route: item['route'] } : {}),
    ...(typeof item['receivedAt'] === 'number' ? { receivedAt: item['receivedAt'] } : {}),
  });

  return {
    async event(eventKey) {
      const records: EventRecords = { eventKey, outcomes: [] };
      // Consistent: a trace run right after a delivery shows that delivery.
      for await (const item of query({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': eventPk(eventKey) },
        ConsistentRead: true,
      })) {
        const sk = String(item['sk']);
        if (sk === 'ingest') records.ingest = item as IngestRecord;
        else if (sk.startsWith(OUTCOME_SK_PREFIX))
          records.outcomes.push({
            ...(item as Omit<OutcomeRecord, 'account'>),
            account: sk.slice(OUTCOME_SK_PREFIX.length),
          });
      }
      if (records.ingest === undefined && records.outcomes.length === 0) return undefined;
      return buildTimeline(records);
    },

    async personEvents(hash) {
      const events: EventReference[] = [];
      for await (const item of query({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': personPk(hash) },
        ScanIndexForward: false,
        ConsistentRead: true,
      }))
        events.push(reference(item));
      return events;
    },

    async recentEvents({ since, until, limit = Number.POSITIVE_INFINITY }) {
      const events: EventReference[] = [];
      for (const day of recentPartitions(since, until)) {
        // A global secondary index is read eventually consistent only:
        // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html
        for await (const item of query({
          IndexName: RECENT_INDEX,
          KeyConditionExpression: 'gsi1pk = :day AND gsi1sk BETWEEN :since AND :until',
          ExpressionAttributeValues: { ':day': day, ':since': sortTime(since), ':until': `${sortTime(until)}~` },
          ScanIndexForward: false,
        })) {
          const eventKey = String(item['pk']).slice(eventPk('').length);
          events.push(reference({ ...item, eventKey, receivedAt: item['receivedAt'] ?? item['at'] }));
          if (events.length >= limit) return events;
        }
      }
      return events;
    },
  };
}
