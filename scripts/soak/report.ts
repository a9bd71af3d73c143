/** The soak's summary, as Markdown tables (readable in a terminal, pasteable into the README). */
import { EMULATED_PROVIDERS, RANDOM_FAULT_KINDS } from '../../local/emulator/state.js';
import { overallRateLimited, type BurstFigures } from './burst.js';
import type { SoakResult } from './check.js';

const n = (value: number) => value.toLocaleString('en-US');
const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** Seconds, and minutes too once there are some. */
const duration = (ms: number) => (ms < 60_000 ? seconds(ms) : `${seconds(ms)} (${(ms / 60_000).toFixed(1)} min)`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((width, column) => (column === 0 ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

export function formatSoak(result: SoakResult): string {
  const { webhooks, providers, queue, phases, options } = result;
  const out: string[] = [];
  out.push(
    `${result.burst !== undefined ? 'Burst soak' : 'Soak'}: ${n(webhooks.events)} webhooks, fault rate ${options['faultRate']} per provider request, re-delivery rate ${options['redeliverRate']}, ` +
      `${options['concurrency']} senders, ${options['consumers']} queue consumers, visibility timeout ${options['visibilityTimeoutSeconds']} s, seed ${options['seed']}.`,
    'In-process: the real forms, shops, deliver and redrive handlers invoked directly (not through serverless-offline), against the emulator with dynalite and fauxqs.',
    '',
  );

  out.push(
    table(
      ['webhooks', 'count'],
      [
        ['events (distinct webhooks)', n(webhooks.events)],
        [
          '  by source',
          Object.entries(webhooks.bySource)
            .map(([source, count]) => `${source} ${count}`)
            .join(', '),
        ],
        ['  with a national number and a country', n(webhooks.nationalNumbers)],
        ['requests sent (re-deliveries and sender retries included)', n(webhooks.requests)],
        ['answered accepted (200)', n(webhooks.answeredAccepted)],
        ['answered duplicate (200)', n(webhooks.duplicates)],
        ['re-delivered webhooks / re-deliveries', `${n(webhooks.redelivered)} / ${n(webhooks.redeliveries)}`],
        [
          're-deliveries answered duplicate',
          `${n(webhooks.redeliveriesAnsweredDuplicate)} of ${n(webhooks.redeliveries)}`,
        ],
        [
          'sender retries after a 5xx',
          `${n(webhooks.senderRetries)}${
            webhooks.senderRetries > 0
              ? ` (${Object.entries(webhooks.failedTries)
                  .map(([cause, count]) => `${cause} ×${count}`)
                  .join(', ')})`
              : ''
          }`,
        ],
        ['other final answers', n(webhooks.otherAnswers)],
        ['events accepted', n(webhooks.accepted)],
        ['  of which the retry after a failed try was the duplicate', n(webhooks.acknowledgedAfterFailedTry)],
      ],
    ),
    '',
  );

  const row = (label: string, value: (provider: (typeof EMULATED_PROVIDERS)[number]) => string) => [
    label,
    ...EMULATED_PROVIDERS.map(value),
  ];
  const anyFault = EMULATED_PROVIDERS.some((provider) => providers[provider].faults.total > 0);
  const statuses = [
    ...new Set(EMULATED_PROVIDERS.flatMap((provider) => Object.keys(providers[provider].outcomes))),
  ].sort();
  out.push(
    table(
      ['per provider', ...EMULATED_PROVIDERS],
      [
        row('requests', (provider) => n(providers[provider].requests)),
        row(
          'faults injected (share of requests)',
          (provider) => `${n(providers[provider].faults.total)} (${pct(providers[provider].faultShare)})`,
        ),
        ...(anyFault ? RANDOM_FAULT_KINDS : []).map((kind) =>
          row(
            `  ${kind === 'hang' ? 'hung past timeout' : kind === 'reset' ? 'connection reset' : kind === '429' ? '429 + Retry-After' : kind}`,
            (provider) => n(providers[provider].faults[kind]),
          ),
        ),
        row('retried requests', (provider) => n(providers[provider].retries)),
        row('contacts created', (provider) => n(providers[provider].contacts)),
        row('duplicate creates refused', (provider) => n(providers[provider].refusedDuplicates)),
        ...statuses.map((status) =>
          row(`outcome ${status}`, (provider) => n(providers[provider].outcomes[status] ?? 0)),
        ),
        row('outcomes needing > 1 job receive', (provider) => n(providers[provider].reclaimed)),
      ],
    ),
    '',
  );

  out.push(
    table(
      ['queue and time', 'value'],
      [
        ['batches handed to deliver', n(queue.batches)],
        ['jobs handed over / reported failed (retried)', `${n(queue.jobsHandedOver)} / ${n(queue.jobsReportedFailed)}`],
        ...(result.outage !== undefined
          ? [
              [
                `outage: ${result.outage.provider} answering 503`,
                result.outage.startedAtMs === undefined
                  ? 'never started'
                  : `${seconds(result.outage.startedAtMs)} → ${result.outage.endedAtMs === undefined ? '?' : seconds(result.outage.endedAtMs)}, ${n(result.outage.answered)} requests`,
              ],
            ]
          : []),
        ['dead-lettered (parked)', n(queue.parked)],
        [
          'redriven',
          `${n(queue.redriven)} (${queue.rounds.filter((report) => report.started).length} redrive round(s))`,
        ],
        ['left in queue / dead-letter queue', `${n(queue.leftInQueue)} / ${n(queue.leftInDlq)}`],
        [
          'consumer errors',
          `${n(queue.consumerErrors)}${
            queue.consumerErrors > 0
              ? ` (${Object.entries(queue.consumerErrorsByKind)
                  .map(([kind, count]) => `${kind} ×${count}`)
                  .join(', ')})`
              : ''
          }`,
        ],
        [
          'ingest (all webhooks answered)',
          `${seconds(phases.ingestMs)} (${phases.webhooksPerSecond.toFixed(1)} webhooks/s)`,
        ],
        [
          'delivered (queue empty)',
          `${seconds(phases.settledMs)} (${phases.eventsPerSecond.toFixed(1)} events/s end to end)`,
        ],
        ['total, redrive included', seconds(phases.totalMs)],
      ],
    ),
    '',
  );

  if (result.burst !== undefined) out.push(formatBurst(result.burst, options), '');

  if (queue.consumerErrorSamples.length > 0)
    out.push(
      `consumer errors, first ${queue.consumerErrorSamples.length}:`,
      ...queue.consumerErrorSamples.map((message) => `  - ${message}`),
      '',
    );
  const MAX_LISTED = 50;
  if (result.ok)
    out.push(
      'Invariant holds: every accepted event reached every provider account on its route exactly once; no duplicates; every re-delivery was a duplicate; nothing left in any queue.',
      ...(result.burst !== undefined
        ? [
            `Burst targets met: drained within ${result.burst.targets.maxRatio}× the theoretical minimum, nothing dead-lettered, no contact created twice, 429s at most ${pct(result.burst.targets.maxRateLimitedShare)} of provider requests.`,
          ]
        : []),
    );
  else {
    out.push(
      `INVARIANT VIOLATED (${result.violations.length}):`,
      ...result.violations.slice(0, MAX_LISTED).map((violation) => `  - ${violation}`),
    );
    if (result.violations.length > MAX_LISTED)
      out.push(`  … and ${result.violations.length - MAX_LISTED} more (all of them in --json)`);
  }
  return out.join('\n');
}

/** The burst's own tables: each provider's limit and what it was asked, then the drain against its minimum. */
export function formatBurst(burst: BurstFigures, options: Record<string, unknown>): string {
  const { providers } = burst;
  const row = (label: string, value: (provider: (typeof EMULATED_PROVIDERS)[number]) => string) => [
    label,
    ...EMULATED_PROVIDERS.map(value),
  ];
  const limit = (perMinute: number | undefined) =>
    perMinute === undefined
      ? 'none'
      : perMinute >= 6_000 && perMinute % 60 === 0
        ? `${n(perMinute)} (${n(perMinute / 60)}/s)`
        : n(perMinute);
  const all429 = overallRateLimited(burst);
  const worst = [...EMULATED_PROVIDERS].sort(
    (a, b) => providers[b].rateLimitedShare - providers[a].rateLimitedShare,
  )[0] as (typeof EMULATED_PROVIDERS)[number];
  const perProvider = table(
    ['burst: per provider', ...EMULATED_PROVIDERS],
    [
      row('emulated limit, requests a minute', (provider) => limit(providers[provider].limitPerMinute)),
      row(
        'account rate, requests a minute: perMinute + burst',
        (provider) => `${n(providers[provider].accountRate.perMinute)} + ${n(providers[provider].accountRate.burst)}`,
      ),
      row('deliveries', (provider) => n(providers[provider].deliveries)),
      row('requests', (provider) => n(providers[provider].requests)),
      row('  counted by the limit, per delivery', (provider) =>
        providers[provider].limitPerMinute === undefined
          ? '-'
          : `${n(providers[provider].counted)}, ${(providers[provider].deliveries === 0 ? 0 : providers[provider].counted / providers[provider].deliveries).toFixed(2)}`,
      ),
      row(
        '429 from the limit (share of requests)',
        (provider) => `${n(providers[provider].rateLimited)} (${pct(providers[provider].rateLimitedShare)})`,
      ),
      row('minimum time at the limit', (provider) => {
        const minimum = providers[provider].minimumMs;
        return minimum === undefined ? '-' : duration(minimum);
      }),
    ],
  );
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  const overall = table(
    ['burst', 'value', 'target'],
    [
      ['webhooks, sent as fast as the senders go', `${n(burst.volume)} (${options['concurrency']} senders)`, ''],
      ['time to drain (first sent → queue empty)', duration(burst.drainMs), ''],
      [
        `theoretical minimum${burst.slowest !== undefined ? ` (slowest: ${burst.slowest})` : ''}`,
        burst.minimumMs === undefined ? 'none (nothing limited)' : duration(burst.minimumMs),
        '',
      ],
      [
        'ratio',
        burst.ratio === undefined ? '-' : `${burst.ratio.toFixed(2)}×`,
        burst.ratio === undefined
          ? ''
          : `≤ ${burst.targets.maxRatio}×: ${verdict(burst.ratio <= burst.targets.maxRatio)}`,
      ],
      ['dead-lettered', n(burst.deadLetters), `0: ${verdict(burst.deadLetters === 0)}`],
      ['contacts created twice', n(burst.duplicateContacts), `0: ${verdict(burst.duplicateContacts === 0)}`],
      [
        '429 share of all provider requests',
        `${pct(all429.share)} (${n(all429.rateLimited)} of ${n(all429.requests)})`,
        `≤ ${pct(burst.targets.maxRateLimitedShare)}: ${verdict(all429.share <= burst.targets.maxRateLimitedShare)}`,
      ],
      ['429 share, worst provider', `${pct(providers[worst].rateLimitedShare)} (${worst})`, ''],
    ],
  );
  return `${perProvider}\n\n${overall}`;
}
