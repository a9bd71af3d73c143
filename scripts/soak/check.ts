/**
 * The soak's verdict. From what the senders were answered, the DynamoDB
 * table and the emulator's contacts and requests, check:
 *
 *  - every webhook was accepted exactly once (200 `accepted`) and every other copy of
 *    it — re-delivered after, during or long after the first — was answered
 *    200 `duplicate` with the same event key; distinct webhooks have
 *    distinct keys;
 *  - every accepted event has its ingest record `queued` and, for every
 *    provider account on its route, a final outcome (`created` or `exists`:
 *    every soak person is deliverable) — nothing lost;
 *  - every provider holds exactly one contact per accepted person (found by
 *    phone), carrying that person's email — no duplicate, no stray contact;
 *    an outcome's providerContactId names that contact;
 *  - the delivery and dead-letter queues are empty at the end: whatever was
 *    parked was redriven and delivered.
 *
 * Plus the figures for the summary table.
 */
import type { ProviderName } from '../../shared/config/routes.js';
import type { SourceName } from '../../shared/contact.js';
import type { RedriveReport } from '../../shared/operations/redrive.js';
import type {
  EmulatedContact,
  EmulatedProvider,
  RandomFaultKind,
  RecordedRequest,
} from '../../local/emulator/state.js';
import { EMULATED_PROVIDERS, RANDOM_FAULT_KINDS } from '../../local/emulator/state.js';
import { burstViolations, measureBurst, type BurstEvidence, type BurstFigures } from './burst.js';
import type { Person } from './people.js';
import type { OutagePhase, RedrivePhase, SoakCounters, SoakPhases } from './run.js';

export interface Answer {
  /** 0 = the first delivery, 1.. = re-deliveries. */
  copy: number;
  status: number;
  body: unknown;
  /** 5xx answers the sender retried before this one (e.g. the function timed out). */
  senderRetries: number;
  /** Those answers' statuses and, when the function threw (a timeout), its error. */
  failedTries: Array<{ status: number; error?: string }>;
}

export interface SentWebhook {
  index: number;
  source: SourceName;
  person: Person;
  /** How the sender delivered it again, if it did. */
  redelivery?: 'after' | 'concurrent' | 'later';
  copies: number;
  answers: Answer[];
}

export interface TableItem {
  pk: string;
  sk: string;
  state?: string;
  status?: string;
  attempts?: number;
  outcome?: { status?: string; providerContactId?: string; provider?: string };
  [key: string]: unknown;
}

export interface SoakEvidence {
  options: Record<string, unknown>;
  sent: SentWebhook[];
  items: TableItem[];
  contacts: EmulatedContact[];
  requests: RecordedRequest[];
  faultsInjected: Record<EmulatedProvider, Record<RandomFaultKind, number>>;
  /** Requests a random fault was drawn for, per provider. */
  faultDraws: Record<EmulatedProvider, number>;
  accountsBySource: Record<string, Array<{ name: string; provider: ProviderName }>>;
  counters: SoakCounters;
  phases: SoakPhases;
  redrive: RedrivePhase;
  outage?: OutagePhase;
  /** Burst mode: what the burst figures need beyond the rest of the evidence. */
  burst?: Pick<BurstEvidence, 'limits' | 'routes' | 'counted' | 'drainMs' | 'deadLetters'>;
}

export interface ProviderFigures {
  requests: number;
  faults: Record<RandomFaultKind, number> & { total: number };
  /** Random faults / requests they were drawn for (while faults were on, outage aside). */
  faultShare: number;
  /** Requests repeating an earlier request of the same kind (lookup or create) for the same person. */
  retries: number;
  /** Contacts the provider holds. */
  contacts: number;
  /** Create calls the provider refused as a duplicate (422 Callbell and Chatwoot; Kirim documents no such refusal). */
  refusedDuplicates: number;
  /** Final outcomes recorded, by status. */
  outcomes: Record<string, number>;
  /** Outcomes that needed more than one claim (the job came back from the queue). */
  reclaimed: number;
}

export interface SoakResult {
  ok: boolean;
  violations: string[];
  options: Record<string, unknown>;
  webhooks: {
    events: number;
    bySource: Record<string, number>;
    requests: number;
    /** Events acknowledged: answered 200 `accepted` once, or `duplicate` after a failed try that had stored them. */
    accepted: number;
    /** Answers 200 `accepted`. */
    answeredAccepted: number;
    duplicates: number;
    redelivered: number;
    redeliveries: number;
    redeliveriesAnsweredDuplicate: number;
    nationalNumbers: number;
    otherAnswers: number;
    senderRetries: number;
    /** Events no copy was answered `accepted` for: a try failed (5xx) after storing it, and the sender's retry was a duplicate. */
    acknowledgedAfterFailedTry: number;
    /** Failed tries (5xx) by cause. */
    failedTries: Record<string, number>;
  };
  providers: Record<EmulatedProvider, ProviderFigures>;
  queue: SoakCounters & RedrivePhase;
  redriveReports: RedriveReport[];
  outage?: OutagePhase;
  phases: SoakPhases & { webhooksPerSecond: number; eventsPerSecond: number };
  /** Burst mode only: time to drain against the theoretical minimum, dead letters, duplicates, 429s. */
  burst?: BurstFigures;
}

const answerStatus = (answer: Answer) =>
  typeof answer.body === 'object' && answer.body !== null
    ? (answer.body as Record<string, unknown>)['status']
    : undefined;
const isAccepted = (answer: Answer) => answer.status === 200 && answerStatus(answer) === 'accepted';
const answerKey = (answer: Answer) =>
  typeof answer.body === 'object' && answer.body !== null
    ? (answer.body as Record<string, unknown>)['eventKey']
    : undefined;
const describe = (webhook: SentWebhook) => `webhook #${webhook.index} (${webhook.source}, ${webhook.person.e164})`;

type Flag = (message: string) => void;

export function checkSoak(evidence: SoakEvidence): SoakResult {
  const violations: string[] = [];
  const flag: Flag = (message) => violations.push(message);
  const door = checkAnswers(evidence.sent, flag);
  const providers = Object.fromEntries(EMULATED_PROVIDERS.map((provider) => [provider, emptyFigures()])) as Record<
    EmulatedProvider,
    ProviderFigures
  >;
  const namedIds = checkTable(evidence, door.accepted, providers, flag);
  checkContacts(evidence, door.accepted, providers, namedIds, flag);
  countProviderRequests(evidence, providers);
  checkQueues(evidence, flag);
  const burst =
    evidence.burst === undefined
      ? undefined
      : measureBurst({
          ...evidence.burst,
          accountsOfEvents: [...door.accepted.values()].map(
            (webhook) => evidence.accountsBySource[webhook.source] ?? [],
          ),
          requests: evidence.requests,
          contacts: evidence.contacts,
        });
  if (burst !== undefined) for (const violation of burstViolations(burst)) flag(violation);

  const { accepted, ...answers } = door;
  const events = evidence.sent.length;
  const bySource: Record<string, number> = {};
  for (const webhook of evidence.sent) bySource[webhook.source] = (bySource[webhook.source] ?? 0) + 1;
  const { counters, phases } = evidence;
  return {
    ok: violations.length === 0,
    violations,
    options: evidence.options,
    webhooks: {
      events,
      bySource,
      requests: counters.requests,
      accepted: accepted.size,
      answeredAccepted: evidence.sent.reduce((sum, webhook) => sum + webhook.answers.filter(isAccepted).length, 0),
      duplicates: answers.duplicates,
      redelivered: evidence.sent.filter((webhook) => webhook.copies > 1).length,
      redeliveries: answers.redeliveries,
      redeliveriesAnsweredDuplicate: answers.redeliveriesAnsweredDuplicate,
      nationalNumbers: evidence.sent.filter(
        (webhook) => webhook.person.givesNational || webhook.source === 'shopify' || webhook.source === 'woocommerce',
      ).length,
      otherAnswers: answers.otherAnswers,
      senderRetries: counters.senderRetries,
      acknowledgedAfterFailedTry: answers.acknowledgedAfterFailedTry,
      failedTries: countFailedTries(evidence.sent),
    },
    providers,
    queue: { ...counters, ...evidence.redrive },
    redriveReports: evidence.redrive.rounds,
    ...(evidence.outage !== undefined ? { outage: evidence.outage } : {}),
    phases: {
      ...phases,
      webhooksPerSecond: phases.ingestMs === 0 ? 0 : counters.requests / (phases.ingestMs / 1000),
      eventsPerSecond: phases.settledMs === 0 ? 0 : accepted.size / (phases.settledMs / 1000),
    },
    ...(burst !== undefined ? { burst } : {}),
  };
}

interface DoorFigures {
  /** The acknowledged webhooks, by event key. */
  accepted: Map<string, SentWebhook>;
  duplicates: number;
  otherAnswers: number;
  redeliveries: number;
  redeliveriesAnsweredDuplicate: number;
  acknowledgedAfterFailedTry: number;
}

/**
 * At the door: accepted once, duplicates after.
 * A copy whose earlier try failed (a 5xx: the function timed out or could not store the event) and
 * whose retry was answered `duplicate` is acknowledged too: the failed try got the event in. Whether
 * it really did is checked after, in the table and at the providers, like every acknowledged event.
 */
function checkAnswers(sent: readonly SentWebhook[], flag: Flag): DoorFigures {
  const accepted = new Map<string, SentWebhook>();
  let duplicates = 0;
  let otherAnswers = 0;
  let redeliveries = 0;
  let redeliveriesAnsweredDuplicate = 0;
  let acknowledgedAfterFailedTry = 0;
  for (const webhook of sent) {
    if (webhook.answers.length !== webhook.copies)
      flag(`${describe(webhook)}: ${webhook.copies} copies sent but ${webhook.answers.length} answered`);
    const keys = new Set(webhook.answers.map(answerKey).filter((key): key is string => typeof key === 'string'));
    const acceptances = webhook.answers.filter(isAccepted);
    const isDuplicate = (answer: Answer) => answer.status === 200 && answerStatus(answer) === 'duplicate';
    for (const answer of webhook.answers) {
      if (isDuplicate(answer)) duplicates++;
      else if (!isAccepted(answer)) {
        otherAnswers++;
        const tries = answer.failedTries
          .map((failed) => `${failed.status}${failed.error ? ` (${failed.error})` : ''}`)
          .join(', ');
        flag(
          `${describe(webhook)}, copy ${answer.copy}: answered ${answer.status} ${JSON.stringify(answer.body)}${tries ? ` after ${tries}` : ''}`,
        );
      }
      if (answer.copy > 0) {
        redeliveries++;
        if (isDuplicate(answer)) redeliveriesAnsweredDuplicate++;
      }
    }
    if (keys.size > 1) flag(`${describe(webhook)}: its copies got different event keys ${[...keys].join(', ')}`);
    if (acceptances.length === 0) {
      // Nobody was told "accepted": fine only when a failed try may have stored it and a retry was told "duplicate".
      const rescued = webhook.answers.some((answer) => answer.failedTries.length > 0 && isDuplicate(answer));
      if (!rescued) {
        flag(`${describe(webhook)}: never accepted`);
        continue;
      }
      acknowledgedAfterFailedTry++;
    }
    if (acceptances.length > 1)
      flag(
        `${describe(webhook)}: accepted ${acceptances.length} times (a re-delivery was not recognised as a duplicate, ${webhook.redelivery ?? 'no'} re-delivery)`,
      );
    const first = webhook.answers.find((answer) => answer.copy === 0);
    if (
      webhook.redelivery !== 'concurrent' &&
      acceptances.length > 0 &&
      acceptances[0]?.copy !== 0 &&
      (first?.failedTries.length ?? 0) === 0
    ) {
      flag(`${describe(webhook)}: the first delivery was not the accepted one`);
    }
    if (keys.size === 0) continue;
    const key = [...keys][0] as string;
    const other = accepted.get(key);
    if (other !== undefined)
      flag(`${describe(webhook)} and ${describe(other)}: distinct events share the event key ${key}`);
    accepted.set(key, webhook);
  }
  return {
    accepted,
    duplicates,
    otherAnswers,
    redeliveries,
    redeliveriesAnsweredDuplicate,
    acknowledgedAfterFailedTry,
  };
}

/** In the table: queued, and one final outcome per account; returns, per account, the contact id each outcome names, by person index. */
function checkTable(
  evidence: SoakEvidence,
  accepted: Map<string, SentWebhook>,
  providers: Record<EmulatedProvider, ProviderFigures>,
  flag: Flag,
): Map<string, Map<number, string>> {
  const itemsByPk = new Map<string, Map<string, TableItem>>();
  for (const item of evidence.items) {
    const byKey = itemsByPk.get(item.pk) ?? new Map<string, TableItem>();
    byKey.set(item.sk, item);
    itemsByPk.set(item.pk, byKey);
  }
  const namedIds = new Map<string, Map<number, string>>();
  for (const [eventKey, webhook] of accepted) {
    const records = itemsByPk.get(`event#${eventKey}`);
    const ingest = records?.get('ingest');
    if (ingest?.state !== 'queued')
      flag(
        `${describe(webhook)}: ingest record of ${eventKey} is ${ingest === undefined ? 'missing' : `"${ingest.state}"`}, not "queued"`,
      );
    for (const account of evidence.accountsBySource[webhook.source] ?? []) {
      const outcome = records?.get(`outcome#${account.name}`);
      const figures = providers[account.provider as EmulatedProvider];
      const status = outcome?.status ?? 'missing';
      figures.outcomes[status] = (figures.outcomes[status] ?? 0) + 1;
      if ((outcome?.attempts ?? 0) > 1) figures.reclaimed++;
      if (status !== 'created' && status !== 'exists') {
        flag(
          `${describe(webhook)}: no final outcome at account ${account.name} (${status}${outcome?.outcome ? `: ${JSON.stringify(outcome.outcome)}` : ''}) — lost`,
        );
        continue;
      }
      const id = outcome?.outcome?.providerContactId;
      if (id !== undefined) {
        const ids = namedIds.get(account.name) ?? new Map<number, string>();
        ids.set(webhook.person.index, id);
        namedIds.set(account.name, ids);
      }
    }
  }
  return namedIds;
}

/** At the providers: one contact per person, nobody else's, and the one its outcome names. */
function checkContacts(
  evidence: SoakEvidence,
  accepted: Map<string, SentWebhook>,
  providers: Record<EmulatedProvider, ProviderFigures>,
  namedIds: Map<string, Map<number, string>>,
  flag: Flag,
): void {
  const peopleByPhone = new Map<string, SentWebhook>();
  for (const webhook of accepted.values()) peopleByPhone.set(webhook.person.e164, webhook);
  const contactsByProvider = new Map<string, Map<string, EmulatedContact[]>>();
  for (const contact of evidence.contacts) {
    const figures = providers[contact.provider];
    figures.contacts++;
    const byPhone = contactsByProvider.get(contact.provider) ?? new Map<string, EmulatedContact[]>();
    const phone = contact.phone ?? '(no phone)';
    byPhone.set(phone, [...(byPhone.get(phone) ?? []), contact]);
    contactsByProvider.set(contact.provider, byPhone);
    const owner = contact.phone === undefined ? undefined : peopleByPhone.get(contact.phone);
    if (owner === undefined) {
      flag(
        `${contact.provider}: contact ${contact.id} (${contact.phone ?? contact.email ?? 'no phone or email'}) belongs to no accepted webhook`,
      );
    } else if (contact.email !== undefined && contact.email.toLowerCase() !== owner.person.email.toLowerCase()) {
      flag(
        `${contact.provider}: contact ${contact.id} for ${contact.phone} carries the email ${contact.email}, not ${owner.person.email.toLowerCase()}`,
      );
    }
  }
  for (const webhook of accepted.values()) {
    for (const account of evidence.accountsBySource[webhook.source] ?? []) {
      const found = contactsByProvider.get(account.provider)?.get(webhook.person.e164) ?? [];
      if (found.length === 0) flag(`${describe(webhook)}: no contact at ${account.provider} — lost`);
      if (found.length > 1)
        flag(
          `${describe(webhook)}: ${found.length} contacts at ${account.provider} (${found.map((contact) => contact.id).join(', ')}) — duplicate`,
        );
      const named = namedIds.get(account.name)?.get(webhook.person.index);
      if (named !== undefined && found.length > 0 && !found.some((contact) => contact.id === named)) {
        flag(
          `${describe(webhook)}: the outcome at ${account.name} names contact ${named}, but ${account.provider} holds ${found.map((contact) => contact.id).join(', ')}`,
        );
      }
    }
  }
}

/** What the providers were asked: requests, retries, refused duplicates, and the random faults injected. */
function countProviderRequests(evidence: SoakEvidence, providers: Record<EmulatedProvider, ProviderFigures>): void {
  const digitsToPerson = new Map<string, number>();
  for (const webhook of evidence.sent) digitsToPerson.set(webhook.person.e164.slice(1), webhook.person.index);
  const seen = new Set<string>();
  for (const request of evidence.requests) {
    if (!(EMULATED_PROVIDERS as readonly string[]).includes(request.provider)) continue;
    const provider = request.provider as EmulatedProvider;
    const figures = providers[provider];
    figures.requests++;
    if (request.method === 'POST' && isRefusedDuplicate(provider, request.status)) figures.refusedDuplicates++;
    const person = personOf(request, digitsToPerson);
    if (person === undefined) continue;
    const key = `${provider}|${person}|${request.method}`;
    if (seen.has(key)) figures.retries++;
    else seen.add(key);
  }
  for (const provider of EMULATED_PROVIDERS) {
    const figures = providers[provider];
    for (const kind of RANDOM_FAULT_KINDS) figures.faults[kind] = evidence.faultsInjected[provider][kind];
    figures.faults.total = RANDOM_FAULT_KINDS.reduce((sum, kind) => sum + figures.faults[kind], 0);
    // Faults were drawn while the plan was on and no outage answered first; not for the redrive phase.
    const drawn = evidence.faultDraws[provider];
    figures.faultShare = drawn <= 0 ? 0 : figures.faults.total / drawn;
  }
}

/** The queues: both drained, nothing left at the end, and a redrive whenever something was parked. */
function checkQueues(evidence: SoakEvidence, flag: Flag): void {
  if (!evidence.phases.settled) flag(`the delivery queue did not drain before the timeout`);
  if (!evidence.redrive.settled) flag(`the delivery queue did not drain after the redrive before the timeout`);
  if (evidence.redrive.leftInQueue > 0)
    flag(`${evidence.redrive.leftInQueue} job(s) still in the delivery queue at the end`);
  if (evidence.redrive.leftInDlq > 0)
    flag(
      `${evidence.redrive.leftInDlq} job(s) still in the dead-letter queue after ${evidence.redrive.rounds.length} redrive round(s)`,
    );
  if (evidence.redrive.parked > 0 && !evidence.redrive.rounds.some((report) => report.started))
    flag(
      `${evidence.redrive.parked} job(s) parked but the redrive never started: ${evidence.redrive.rounds.map((report) => (report.started ? '' : report.reason)).join('; ')}`,
    );
}

function countFailedTries(sent: readonly SentWebhook[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const webhook of sent) {
    for (const answer of webhook.answers) {
      for (const failed of answer.failedTries) {
        const cause = `${failed.status}${failed.error ? ` ${failed.error.split(':')[0]}` : ''}`;
        counts[cause] = (counts[cause] ?? 0) + 1;
      }
    }
  }
  return counts;
}

function emptyFigures(): ProviderFigures {
  return {
    requests: 0,
    faults: {
      ...(Object.fromEntries(RANDOM_FAULT_KINDS.map((kind) => [kind, 0])) as Record<RandomFaultKind, number>),
      total: 0,
    },
    faultShare: 0,
    retries: 0,
    contacts: 0,
    refusedDuplicates: 0,
    outcomes: {},
    reclaimed: 0,
  };
}

function isRefusedDuplicate(provider: EmulatedProvider, status: number): boolean {
  if (provider === 'callbell' || provider === 'chatwoot') return status === 422;
  return false;
}

/** The soak person a provider request is about: the first run of digits in its path or body that is one of their numbers. */
function personOf(request: RecordedRequest, digitsToPerson: Map<string, number>): number | undefined {
  let text: string;
  try {
    text = `${decodeURIComponent(request.path)} ${typeof request.body === 'string' ? request.body : JSON.stringify(request.body ?? '')}`;
  } catch {
    text = `${request.path} ${JSON.stringify(request.body ?? '')}`;
  }
  for (const match of text.matchAll(/\d{10,15}/g)) {
    const person = digitsToPerson.get(match[0]);
    if (person !== undefined) return person;
  }
  return undefined;
}
