/**
 * The one DynamoDB table (conditional writes, TTL) behind the promises
 * "nothing accepted twice" and "no provider called twice for one event":
 *
 *   pk = event#{eventKey}   sk = ingest             the ingest dedupe record, and the event's history:
 *                                                    source, route, when received, duplicates, dead-letters
 *   pk = event#{eventKey}   sk = outcome#{account}  one outcome per provider account, with every attempt's entry
 *   pk = person#{hash}      sk = {receivedAt}#{eventKey}  the person index: an event of each email and phone,
 *                                                    as a keyed hash (shared/person-key.ts), never readable
 *   pk = checkpoint#{name}  sk = {scope}            scheduled jobs' progress
 *   pk = ratelimit#{key}    sk = {seconds}#{start}  requests counted in one window of a rate limit
 *   pk = ratelimit-bucket#{account}  sk = bucket    the token bucket of one provider account
 *
 * Every record but checkpoints expires through the table's TTL attribute
 * `expiresAt` (epoch seconds): an event's records after its route's `retentionDays`.
 *
 * Ingest records of events (not their aliases nor body keys) carry `gsi1pk` = `events#{UTC day}` and
 * `gsi1sk` = `{receivedAt, 13 digits}#{eventKey}`: the GSI `recent` (projection ALL) lists a day's events in
 * time order. Each write to an indexed record also writes the index: one more write unit per write (a
 * GSI's writes are charged like the table's, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html
 * "Provisioned throughput considerations for Global Secondary Indexes").
 *
 * Write units (on demand, one unit per write of an item up to 1 KB, an update charged on the larger of the
 * item before and after it: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * the fields the history adds ride on the writes there were already (beginIngest's put, completeIngest's and
 * recordOutcome's updates), and keep an ingest record under 1 KB; the additions that cost are listed at each method.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { maskText } from './logging.js';
import type { Outcome } from './providers/types.js';

export const storeDefaults = {
  /**
   * For records written without a route's retention: longer than any sender's retry window (Meta's, the
   * longest, is 36 h). A route's `retentionDays` replaces both (shared/config/routes.ts).
   */
  dedupeTtlSeconds: 30 * 24 * 3600,
  outcomeTtlSeconds: 30 * 24 * 3600,
  /** BatchWriteItem calls a person index write makes before it gives up on the items DynamoDB left unprocessed. */
  indexAttempts: 5,
  /** The first wait before unprocessed items are sent again; doubled at each further attempt. */
  indexBackoffMs: 50,
  /** A pending ingest record older than this belongs to an attempt that died before queueing. */
  pendingStaleMs: 30_000,
  /** How long one delivery attempt owns an outcome; longer than the provider retry budget. */
  leaseMs: 120_000,
};

/** A token bucket's rate: tokens a minute, and how many it holds when full. */
export interface BucketRate {
  perMinute: number;
  burst: number;
}

/**
 * A token was taken (`at`, epoch ms, when it may be used, present only when that is later than now: a booked
 * token), or none is there within the time the taker would wait: `readyAt` is when one can next be had.
 * `contended`: no answer was had, every try having lost a race to another taker; worth trying again at readyAt.
 */
export type TokenAnswer = { taken: true; at?: number } | { taken: false; readyAt: number; contended?: true };

/** What the ingest record of an event says about it, written with its first accept. */
export interface IngestDetails {
  source: string;
  route: string;
  /** Epoch ms the event was received: its place in the recent-events index and the person index. */
  receivedAt: number;
  /** The route's retention: the record expires this many days after its write. */
  retentionDays: number;
  /** The event's own key, listed in the recent-events index; not for a body key (another key of the event). */
  listed: boolean;
}

/** What one receive knows about the attempt whose outcome it records. */
export interface AttemptDetails {
  /** SQS's ApproximateReceiveCount of the message this attempt came in. */
  receiveCount?: number;
  /** The route's retention: the outcome record expires this many days after this write. */
  retentionDays?: number;
  /** When a transient outcome will be tried again (epoch ms), if known; else from the provider's Retry-After. */
  nextTryAt?: number;
}

/** One entry of an outcome record's `history`: what one attempt reached. */
export interface HistoryEntry {
  at: number;
  status: Outcome['status'];
  receiveCount?: number;
  httpStatus?: number;
  code?: string;
  reason?: string;
  providerContactId?: string;
  /** The provider's message, emails and phones masked, at most 300 characters. */
  message?: string;
}

/** What a person index item names: the event, and where it came from. */
export interface PersonIndexEntry {
  source: string;
  route: string;
  receivedAt: number;
  retentionDays: number;
}

type FinalStatus = 'created' | 'exists' | 'skipped' | 'failed';
const FINAL: ReadonlySet<string> = new Set<FinalStatus>(['created', 'exists', 'skipped', 'failed']);

type Claim =
  /**
   * This attempt owns the call to the provider. The token is this claim's alone (random): only a
   * write carrying it records the outcome, so an attempt whose lease ran out and was taken over
   * (a frozen container thawing late) can never overwrite what the new owner recorded.
   */
  | { kind: 'claimed'; token: string }
  /** Already settled by an earlier attempt: do not call the provider again. */
  | { kind: 'settled'; outcome: Outcome }
  /** Another attempt is calling the provider right now. */
  | { kind: 'busy' };

export interface OutcomeStore {
  /**
   * Record an event as being accepted: `new` for the first attempt, `queued`
   * when it was accepted before, `pending` while another attempt is still
   * queueing it (that attempt may yet fail, so this is not a duplicate yet).
   */
  beginIngest(eventKey: string, details?: IngestDetails): Promise<'new' | 'queued' | 'pending'>;
  /** Record another key of an accepted event as seen (it is then a duplicate for whoever uses that key). */
  markSeen(eventKey: string, retentionDays?: number): Promise<void>;
  /** The job is on the queue: the dedupe record becomes permanent (until TTL), its answer `accepted`. */
  completeIngest(eventKey: string): Promise<void>;
  /** A later webhook of an accepted event was answered duplicate: counted on the event's record, if it has one. */
  countDuplicate(eventKey: string): Promise<void>;
  /** A job of the event went to the dead-letter queue at `at` (epoch ms): appended to the record's `deadLetters`. */
  recordDeadLetter(eventKey: string, at: number): Promise<void>;
  /**
   * The person index of an accepted event: one item per hash (of an email or phone, shared/person-key.ts).
   * Throws when DynamoDB leaves items unprocessed after every retry; items written stay written.
   */
  indexPerson(eventKey: string, hashes: readonly string[], entry: PersonIndexEntry): Promise<void>;
  /** Queueing failed: forget the event so the sender's retry is accepted. */
  abandonIngest(eventKey: string): Promise<void>;
  claimOutcome(eventKey: string, account: string): Promise<Claim>;
  /**
   * Record the outcome of the claim holding `token`, releasing it: `superseded` (nothing written)
   * when another attempt has claimed the account since, its lease having run out.
   */
  recordOutcome(
    eventKey: string,
    outcome: Outcome,
    token: string,
    attempt?: AttemptDetails,
  ): Promise<'recorded' | 'superseded'>;
  getCheckpoint(name: string, scope: string): Promise<string | undefined>;
  putCheckpoint(name: string, scope: string, value: string): Promise<void>;
  /**
   * Count one request in the current fixed window of `key` (windows start at multiples of `windowSeconds`):
   * `counted: false`, and nothing written, once the window already holds `limit`.
   */
  countRequest(key: string, limit: number, windowSeconds: number): Promise<{ counted: boolean; windowEndsAt: number }>;
  /**
   * Take one token from the bucket of a provider `account`, shared by every concurrent deliver invocation:
   * `taken: false`, with the time the next token will exist, when the bucket is empty (or held). With
   * `bookAheadMs`, a token that will exist within that time is booked (`at`): the bucket counts it as taken,
   * so takers queue in time instead of all coming back at once.
   */
  takeToken(account: string, rate: BucketRate, bookAheadMs?: number): Promise<TokenAnswer>;
  /**
   * Honour a provider's `Retry-After` / `X-RateLimit-Reset`: the account's bucket is empty at `until` (epoch ms)
   * and refills at its rate from then. A hold never shortens a longer one already there.
   */
  holdBucket(account: string, until: number): Promise<void>;
}

/**
 * The DynamoDB actions each method may call: a function's role needs the
 * union over the methods it uses, and nothing more (checked against the
 * calls the methods really send, and against the roles in the template).
 */
export const STORE_ACTIONS = {
  beginIngest: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  markSeen: ['dynamodb:PutItem'],
  completeIngest: ['dynamodb:UpdateItem'],
  countDuplicate: ['dynamodb:UpdateItem'],
  recordDeadLetter: ['dynamodb:UpdateItem'],
  indexPerson: ['dynamodb:BatchWriteItem'],
  abandonIngest: ['dynamodb:DeleteItem'],
  claimOutcome: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
  recordOutcome: ['dynamodb:UpdateItem'],
  getCheckpoint: ['dynamodb:GetItem'],
  putCheckpoint: ['dynamodb:PutItem'],
  countRequest: ['dynamodb:UpdateItem'],
  // GetItem only where the endpoint leaves the refusing item off the error (as claimOutcome).
  takeToken: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
  holdBucket: ['dynamodb:UpdateItem'],
} as const satisfies Record<keyof OutcomeStore, readonly string[]>;

interface DynamoStoreOptions {
  tableName: string;
  client?: DynamoDBClient;
  now?: () => number;
  settings?: Partial<typeof storeDefaults>;
}

// The table's keys, written here and read by the history reader (shared/history.ts) alike.
export const eventPk = (eventKey: string) => `event#${eventKey}`;
export const OUTCOME_SK_PREFIX = 'outcome#';
const outcomeSk = (account: string) => `${OUTCOME_SK_PREFIX}${account}`;
export const personPk = (hash: string) => `person#${hash}`;
const DAY_SECONDS = 24 * 3600;
/** Epoch ms as 13 digits (good until the year 2286), so keys sort in time order as strings. */
export const sortableMs = (ms: number) => String(Math.floor(ms)).padStart(13, '0');
/** The recent-events index partition of the UTC day holding `ms`. */
export const recentPartition = (ms: number) => `events#${new Date(ms).toISOString().slice(0, 10)}`;
/** The recent-events index keys of an event received at `receivedAt`: its UTC day, then its time. */
export function recentIndexKeys(eventKey: string, receivedAt: number): { gsi1pk: string; gsi1sk: string } {
  return { gsi1pk: recentPartition(receivedAt), gsi1sk: `${sortableMs(receivedAt)}#${eventKey}` };
}
/** A person index item's key. */
export function personIndexKey(hash: string, eventKey: string, receivedAt: number): { pk: string; sk: string } {
  return { pk: personPk(hash), sk: `${sortableMs(receivedAt)}#${eventKey}` };
}

function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

/**
 * A refused conditional write asks DynamoDB for the item that refused it
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`): it comes back on the
 * error, strongly consistent, with no read capacity consumed and no second
 * call. https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
 */
const RETURN_REFUSING_ITEM = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } as const;

/** The Document client unmarshalls results, not errors: the few types this table stores, read back. */
function plain(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.M !== undefined) return plainItem(value.M);
  if (value.L !== undefined) return value.L.map(plain);
  return undefined;
}

function plainItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([key, value]) => [key, plain(value)]));
}

/** What every group of store methods works with: the table, the clock and the settings. */
interface Table {
  documents: DynamoDBDocumentClient;
  tableName: string;
  settings: typeof storeDefaults;
  now: () => number;
  /** Epoch seconds `seconds` from now: a TTL attribute. */
  expiry: (seconds: number) => number;
  /** Epoch seconds `retentionDays` from now, else `seconds` from now. */
  retained: (retentionDays: number | undefined, seconds: number) => number;
  /**
   * The item that refused a conditional write. DynamoDB puts it on the error; a
   * local emulator that ignores the parameter (dynalite does) leaves it off, and
   * the item is read instead, consistently, as DynamoDB evaluated the condition.
   */
  refusingItem: (
    error: ConditionalCheckFailedException,
    key: Record<string, string>,
  ) => Promise<Record<string, unknown> | undefined>;
}

export function createDynamoStore(options: DynamoStoreOptions): OutcomeStore {
  const { tableName } = options;
  const now = options.now ?? Date.now;
  const documents = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const table: Table = {
    documents,
    tableName,
    settings: { ...storeDefaults, ...options.settings },
    now,
    expiry: (seconds) => Math.floor(now() / 1000) + seconds,
    retained: (days, seconds) => Math.floor(now() / 1000) + (days === undefined ? seconds : days * DAY_SECONDS),
    refusingItem: async (error, key) => {
      if (error.Item !== undefined) return plainItem(error.Item);
      const read = await documents.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
      return read.Item;
    },
  };
  return {
    ...ingestRecords(table),
    ...eventHistory(table),
    ...outcomeRecords(table),
    ...checkpoints(table),
    ...rateCounters(table),
    ...tokenBuckets(table),
  };
}

/** An event's dedupe record under each of its keys: pending while its job is queued, then queued. */
function ingestRecords({
  documents,
  tableName,
  settings,
  now,
  retained,
  refusingItem,
}: Table): Pick<OutcomeStore, 'beginIngest' | 'markSeen' | 'completeIngest' | 'abandonIngest'> {
  return {
    async beginIngest(eventKey, details) {
      // The history rides on the dedupe put: no write more (an indexed record: one index write more, see above).
      const history =
        details === undefined
          ? {}
          : {
              source: details.source,
              route: details.route,
              receivedAt: details.receivedAt,
              ...(details.listed ? recentIndexKeys(eventKey, details.receivedAt) : {}),
            };
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk: eventPk(eventKey),
              sk: 'ingest',
              state: 'pending',
              at: now(),
              ...history,
              expiresAt: retained(details?.retentionDays, settings.dedupeTtlSeconds),
            },
            // New, or left pending by an attempt that died between this write and the queue.
            ConditionExpression: 'attribute_not_exists(pk) OR (#state = :pending AND #at < :stale)',
            ExpressionAttributeNames: { '#state': 'state', '#at': 'at' },
            ExpressionAttributeValues: { ':pending': 'pending', ':stale': now() - settings.pendingStaleMs },
            ...RETURN_REFUSING_ITEM,
          }),
        );
        return 'new';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const existing = await refusingItem(error, { pk: eventPk(eventKey), sk: 'ingest' });
        return existing?.['state'] === 'pending' ? 'pending' : 'queued';
      }
    },

    async markSeen(eventKey, retentionDays) {
      await documents
        .send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk: eventPk(eventKey),
              sk: 'ingest',
              state: 'queued',
              alias: true,
              at: now(),
              expiresAt: retained(retentionDays, settings.dedupeTtlSeconds),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error;
        });
    },

    async completeIngest(eventKey) {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: eventPk(eventKey), sk: 'ingest' },
          UpdateExpression: 'SET #state = :queued, queuedAt = :now, answer = :accepted',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':queued': 'queued', ':now': now(), ':accepted': 'accepted' },
        }),
      );
    },

    async abandonIngest(eventKey) {
      await documents
        .send(
          new DeleteCommand({
            TableName: tableName,
            Key: { pk: eventPk(eventKey), sk: 'ingest' },
            ConditionExpression: '#state = :pending',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':pending': 'pending' },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error;
        });
    },
  };
}

/** A BatchWriteItem takes at most 25 puts: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html */
const BATCH_WRITE_LIMIT = 25;

export class PersonIndexUnwrittenError extends Error {
  override name = 'PersonIndexUnwrittenError';
}

/** What happens to an event after its accept: duplicates, dead-letters, and the person index. */
function eventHistory({
  documents,
  tableName,
  settings,
  now,
  retained,
}: Table): Pick<OutcomeStore, 'countDuplicate' | 'recordDeadLetter' | 'indexPerson'> {
  /**
   * One UpdateItem on the event's own ingest record, only where it exists and is no alias (a duplicate found
   * under an alias, or under a body key with a fresh event key, has no history of its own to count in).
   */
  const updateHistory = async (eventKey: string, update: string, values: Record<string, unknown>) => {
    await documents
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: eventPk(eventKey), sk: 'ingest' },
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(alias)',
          ExpressionAttributeValues: values,
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  };
  return {
    // Costs 1 write unit (+1 for the index) per duplicate answered; a refused one costs 1 too.
    async countDuplicate(eventKey) {
      await updateHistory(eventKey, 'ADD duplicates :one SET lastDuplicateAt = :now', { ':one': 1, ':now': now() });
    },

    // Costs 1 write unit (+1 for the index) per job dead-lettered: rare by design.
    async recordDeadLetter(eventKey, at) {
      const update = 'SET deadLetters = list_append(if_not_exists(deadLetters, :none), :at)';
      await updateHistory(eventKey, update, { ':none': [], ':at': [at] });
    },

    // Costs 1 write unit per item (an item is ~200 bytes): one per email and phone of the contact, per event.
    async indexPerson(eventKey, hashes, entry) {
      const expiresAt = retained(entry.retentionDays, settings.dedupeTtlSeconds);
      const { source, route, receivedAt } = entry;
      let pending = [...new Set(hashes)].map((hash) => ({
        PutRequest: {
          Item: { ...personIndexKey(hash, eventKey, receivedAt), eventKey, source, route, receivedAt, expiresAt },
        },
      }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt === settings.indexAttempts)
          throw new PersonIndexUnwrittenError(
            `${pending.length} person index item(s) of ${eventKey} left unprocessed after ${attempt} attempts`,
          );
        // Unprocessed items are sent again after a growing wait, as the BatchWriteItem reference asks.
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, settings.indexBackoffMs * 2 ** attempt));
        const unprocessed: typeof pending = [];
        for (let start = 0; start < pending.length; start += BATCH_WRITE_LIMIT) {
          const batch = pending.slice(start, start + BATCH_WRITE_LIMIT);
          const written = await documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch } }));
          unprocessed.push(...((written.UnprocessedItems?.[tableName] ?? []) as typeof pending));
        }
        pending = unprocessed;
      }
    },
  };
}

/** The masked provider message of a history entry: never the contact's email or phone. */
const MAX_HISTORY_MESSAGE = 300;

function historyEntry(outcome: Outcome, at: number, receiveCount: number | undefined): HistoryEntry {
  const entry: HistoryEntry = { at, status: outcome.status };
  if (receiveCount !== undefined) entry.receiveCount = receiveCount;
  if ('httpStatus' in outcome && outcome.httpStatus !== undefined) entry.httpStatus = outcome.httpStatus;
  if ('code' in outcome && outcome.code !== undefined) entry.code = outcome.code;
  if ('reason' in outcome) entry.reason = maskText(outcome.reason).slice(0, MAX_HISTORY_MESSAGE);
  if ('providerContactId' in outcome && outcome.providerContactId !== undefined)
    entry.providerContactId = outcome.providerContactId;
  if ('message' in outcome) entry.message = maskText(outcome.message).slice(0, MAX_HISTORY_MESSAGE);
  return entry;
}

/** The outcome as stored: its provider message masked as in the history (a provider may echo the contact). */
function storedOutcome(outcome: Outcome): Outcome {
  return 'message' in outcome ? { ...outcome, message: maskText(outcome.message) } : outcome;
}

/** One outcome per (event, account), written only by the attempt holding its claim. */
function outcomeRecords({
  documents,
  tableName,
  settings,
  now,
  expiry,
  retained,
  refusingItem,
}: Table): Pick<OutcomeStore, 'claimOutcome' | 'recordOutcome'> {
  return {
    async claimOutcome(eventKey, account) {
      const token = randomUUID();
      try {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: eventPk(eventKey), sk: outcomeSk(account) },
            UpdateExpression:
              'SET #status = :inProgress, leaseUntil = :lease, claimToken = :token, ' +
              'attempts = if_not_exists(attempts, :zero) + :one, expiresAt = :expires',
            // Free, or retryable, or held by an attempt whose lease ran out (a Lambda that timed out).
            ConditionExpression:
              'attribute_not_exists(pk) OR #status = :transient OR (#status = :inProgress AND leaseUntil < :now)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':inProgress': 'in_progress',
              ':transient': 'transient',
              ':lease': now() + settings.leaseMs,
              ':token': token,
              ':now': now(),
              ':zero': 0,
              ':one': 1,
              ':expires': expiry(settings.outcomeTtlSeconds),
            },
            ...RETURN_REFUSING_ITEM,
          }),
        );
        return { kind: 'claimed', token };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const key = { pk: eventPk(eventKey), sk: outcomeSk(account) };
        const item = (await refusingItem(error, key)) as { status?: string; outcome?: Outcome } | undefined;
        const outcome = item?.status !== undefined && FINAL.has(item.status) ? item.outcome : undefined;
        return outcome !== undefined ? { kind: 'settled', outcome } : { kind: 'busy' };
      }
    },

    // Still one UpdateItem: 1 write unit while the record is under 1 KB. Each attempt's entry adds ~100-200
    // bytes, so a record with a few attempts costs 2 units a write; the receives of a job are at most
    // maxReceiveCount (5) per delivery, and a settled account is never written again.
    async recordOutcome(eventKey, outcome, token, attempt = {}) {
      const at = now();
      const retry =
        outcome.status !== 'transient'
          ? undefined
          : (attempt.nextTryAt ?? (outcome.retryAfterMs !== undefined ? at + outcome.retryAfterMs : undefined));
      try {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: eventPk(eventKey), sk: outcomeSk(outcome.account) },
            UpdateExpression:
              'SET #status = :status, outcome = :outcome, provider = :provider, updatedAt = :now, ' +
              'expiresAt = :expires, history = list_append(if_not_exists(history, :none), :entry)' +
              (retry !== undefined ? ', nextTryAt = :nextTryAt' : '') +
              ' REMOVE leaseUntil, claimToken' +
              (retry === undefined ? ', nextTryAt' : ''),
            // Only the claim still holding the account writes: a newer claim replaced the token, and a
            // recorded outcome removed it. A refused condition writes nothing:
            // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
            ConditionExpression: 'claimToken = :token',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':status': outcome.status,
              ':outcome': storedOutcome(outcome),
              ':provider': outcome.provider,
              ':now': at,
              ':expires': retained(attempt.retentionDays, settings.outcomeTtlSeconds),
              ':token': token,
              ':none': [],
              ':entry': [historyEntry(outcome, at, attempt.receiveCount)],
              ...(retry !== undefined ? { ':nextTryAt': retry } : {}),
            },
          }),
        );
        return 'recorded';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return 'superseded';
      }
    },
  };
}

/** Where a scheduled job got to (reconcile's last order time per route). */
function checkpoints({ documents, tableName, now }: Table): Pick<OutcomeStore, 'getCheckpoint' | 'putCheckpoint'> {
  return {
    async getCheckpoint(name, scope) {
      const result = await documents.send(
        new GetCommand({ TableName: tableName, Key: { pk: `checkpoint#${name}`, sk: scope }, ConsistentRead: true }),
      );
      return (result.Item as { value?: string } | undefined)?.value;
    },

    async putCheckpoint(name, scope, value) {
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: `checkpoint#${name}`, sk: scope, value, updatedAt: now() },
        }),
      );
    },
  };
}

/** Requests counted per fixed window (form routes' rate limits). */
function rateCounters({ documents, tableName, now }: Table): Pick<OutcomeStore, 'countRequest'> {
  return {
    async countRequest(key, limit, windowSeconds) {
      const start = Math.floor(now() / 1000 / windowSeconds) * windowSeconds;
      const windowEndsAt = (start + windowSeconds) * 1000;
      try {
        // One conditional write: Lambda instances share no memory, so the table is the only common counter.
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: `ratelimit#${key}`, sk: `${windowSeconds}#${start}` },
            UpdateExpression: 'ADD hits :one SET expiresAt = :expires',
            ConditionExpression: 'attribute_not_exists(hits) OR hits < :limit',
            ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires': start + windowSeconds + 60 },
          }),
        );
        return { counted: true, windowEndsAt };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return { counted: false, windowEndsAt };
      }
    },
  };
}

/**
 * A takeToken that loses this many races in a row answers "no token" for one interval. A race is lost only
 * when the bucket turns full, or is drawn from, between the refusal that was read and the next write.
 */
const BUCKET_ATTEMPTS = 4;
/** Kept a day past the last write: longer than any bucket takes to fill (burst ≤ perMinute: about a minute). */
const BUCKET_TTL_SECONDS = 24 * 3600;

const bucketKey = (account: string) => ({ pk: `ratelimit-bucket#${account}`, sk: 'bucket' });

/**
 * One token bucket per provider account, stored as a single number: `emptyAt` (epoch ms), the moment the
 * bucket was (or will be) empty, from which it refills at one token per `interval`. Its level at `t` is
 * min(burst, (t - emptyAt) / interval), so nothing needs refilling on a timer and nothing needs reading
 * before a write: a token exists when emptyAt ≤ t - interval, and taking it adds one interval to emptyAt.
 * (This is the token bucket written as the generic cell rate algorithm: emptyAt + burst × interval is its
 * "theoretical arrival time".)
 *
 * Why this shape: deliver runs many functions at once, which share no memory, so the table is the only
 * common bucket. A level-and-last-refill item would need a read, then a write conditional on what was read,
 * and under a flash sale most concurrent writers would lose that race and read again. Here the usual take,
 * from a bucket that is not full, is one UpdateItem whose update is an atomic counter (`emptyAt + :interval`)
 * and whose condition checks the bucket holds a token: DynamoDB applies each conditional write to the item
 * alone and in turn, so concurrent takers never take more than the bucket holds and none of them loses a
 * race. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/example_dynamodb_Scenario_AtomicCounterOperations_section.html
 * Only a full bucket (level capped at burst) needs the other write, which sets emptyAt from the clock, since
 * an update expression has no max(). A refused write reads the item as it was (on the error in AWS), so
 * "no token" and its readyAt cost no second call there.
 *
 * Booking ahead is the same draw with a later limit: the bucket may run up to `bookAheadMs` into debt, and
 * the new emptyAt (returned by the write) is when the token taken exists. Under a burst each taker so gets
 * its own time, one interval after the last: deferred takers come back spread at the rate, instead of all at
 * the same readyAt to race for one token and be deferred again.
 *
 * Intervals are whole milliseconds, rounded up: never faster than the rate. Assumption: the clocks of the
 * deliver functions agree to within a few milliseconds (Lambda's hosts keep NTP time); a fast clock sees
 * its tokens that much early.
 */
function tokenBuckets({
  documents,
  tableName,
  now,
  refusingItem,
}: Table): Pick<OutcomeStore, 'takeToken' | 'holdBucket'> {
  return {
    async takeToken(account, rate, bookAheadMs = 0) {
      if (!(rate.perMinute > 0) || !(rate.burst >= 1))
        throw new RangeError('takeToken: a rate needs perMinute > 0 and burst ≥ 1');
      if (!(bookAheadMs >= 0)) throw new RangeError('takeToken: bookAheadMs must be ≥ 0');
      const interval = Math.ceil(60_000 / rate.perMinute);
      const key = bucketKey(account);
      // Under load the bucket is seldom full: try the draw first (it also serves a bucket not yet written).
      let full = false;
      for (let attempt = 0; attempt < BUCKET_ATTEMPTS; attempt++) {
        const at = now();
        // emptyAt before this: the bucket is full (its level capped at burst).
        const fullSince = at - rate.burst * interval;
        const expiresAt = Math.ceil(at / 1000) + BUCKET_TTL_SECONDS;
        const write = full
          ? {
              UpdateExpression: 'SET emptyAt = :drawnFromFull, expiresAt = :expires',
              ConditionExpression: 'attribute_not_exists(emptyAt) OR emptyAt < :fullSince',
              ExpressionAttributeValues: {
                ':drawnFromFull': fullSince + interval,
                ':fullSince': fullSince,
                ':expires': expiresAt,
              },
            }
          : {
              // A bucket never seen (or expired) is full: drawn from as if it had just filled.
              UpdateExpression: 'SET emptyAt = if_not_exists(emptyAt, :fullSince) + :interval, expiresAt = :expires',
              // Not full, and a token by `at + bookAheadMs`: emptyAt ≤ at + bookAheadMs - interval.
              ConditionExpression: 'attribute_not_exists(emptyAt) OR emptyAt BETWEEN :fullSince AND :lastToken',
              ExpressionAttributeValues: {
                ':interval': interval,
                ':fullSince': fullSince,
                ':lastToken': at + bookAheadMs - interval,
                ':expires': expiresAt,
              },
            };
        try {
          const written = await documents.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key,
              ...write,
              ReturnValues: 'UPDATED_NEW',
              ...RETURN_REFUSING_ITEM,
            }),
          );
          // The token taken exists from the new emptyAt on: now, or (booked) later.
          const usableAt = written.Attributes?.['emptyAt'] as number | undefined;
          return usableAt !== undefined && usableAt > at ? { taken: true, at: usableAt } : { taken: true };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          const emptyAt = (await refusingItem(error, key))?.['emptyAt'] as number | undefined;
          if (emptyAt !== undefined && emptyAt > at + bookAheadMs - interval)
            return { taken: false, readyAt: emptyAt + interval - bookAheadMs };
          full = emptyAt === undefined || emptyAt < fullSince;
        }
      }
      return { taken: false, readyAt: now() + interval, contended: true };
    },

    async holdBucket(account, until) {
      await documents
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: bucketKey(account),
            // Empty at `until`: the provider has just refused the account, so it resumes at the rate, not in a burst.
            UpdateExpression: 'SET emptyAt = :until, expiresAt = :expires',
            ConditionExpression: 'attribute_not_exists(emptyAt) OR emptyAt < :until',
            ExpressionAttributeValues: { ':until': until, ':expires': Math.ceil(until / 1000) + BUCKET_TTL_SECONDS },
          }),
        )
        .catch((error: unknown) => {
          // Refused: the bucket is already empty until later than this (a longer hold, or a drained bucket).
          if (!isConditionFailure(error)) throw error;
        });
    },
  };
}
