/**
 * `contact-relay dlq list | redrive | drop`: the delivery jobs parked in the dead-letter queue, each with
 * the provider accounts it still has to reach and their last error (from the events table); moved back to
 * the delivery queue now; or one removed for good.
 */
import { findRoute } from '../../shared/config/routes.js';
import { createHistoryReader, type AccountState, type EventTimeline } from '../../shared/history.js';
import { isSource, noExtraPositionals, parse } from '../args.js';
import { confirm, type Terminal } from '../confirm.js';
import { loadRoutes } from '../context.js';
import { MAX_PARKED, moveBack, receiveParked, release, remove, type ParkedJob } from '../dead-letters.js';
import { historyStack, STACK_HELP, STACK_OPTIONS, tableError, type HistoryStack } from '../history-stack.js';
import { CliError, EXIT, plural, print, table, UsageError, type Io } from '../io.js';
import { runPool } from '../pool.js';
import { describeOutcome } from '../timeline-format.js';

const DLQ_HELP = `Usage: contact-relay dlq <list | redrive | drop> [options]

The delivery jobs parked in the dead-letter queue (contact-relay-{stage}-delivery-dlq):
a job goes there when its provider accounts kept failing for its last receive.

  dlq list                     each parked job: its message id, event key,
                               source/route, the accounts it still has to reach
                               and the last error each gave (from the table)
  dlq redrive [--account A]    move the jobs back to the delivery queue now
                               (SendMessage, then DeleteMessage); with --account,
                               only the jobs with account A still to reach
  dlq drop <eventKey | messageId> [--yes]
                               remove one job for good: its contact is never
                               delivered to the accounts it still had to reach.
                               Asks first on a terminal; without one, --yes is needed

The scheduled redrive function moves every parked job back on its own once
every provider account passes its health check; redrive here does it now.
Reading the queue hides each job for a moment (SQS has no peek); list shows
them again when done. At most ${MAX_PARKED} jobs are read.

Options:
  --account A       (redrive) only jobs with this account still to reach
  --yes             (drop) do not ask
  --config FILE     route config, for the accounts a job's route delivers to
                    (default: config/routes.json)
${STACK_HELP}
  --json            (list) print {stage, jobs: [{messageId, eventKey, source,
                    route, pending: [{account, provider, status, error}]}]}
  -h, --help        this help

Exit codes:
  0  done
  1  the queue or table cannot be read; drop found no such job, or was declined
  2  usage error (drop without a terminal and without --yes)
`;

const OPTIONS = {
  ...STACK_OPTIONS,
  account: { type: 'string' },
  yes: { type: 'boolean' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const FINAL = new Set(['created', 'exists', 'skipped', 'failed']);

interface PendingAccount {
  account: string;
  provider?: string;
  /** The account's status in the table, or `not tried` when it has no outcome record. */
  status: string;
  /** The last error it gave: HTTP status, code, message. */
  error?: string;
}

interface ParkedView {
  messageId: string;
  eventKey?: string;
  source?: string;
  route?: string;
  invalid?: string;
  pending: PendingAccount[];
}

/** The route's accounts (or, for a route the config no longer has, the table's) not settled yet. */
function pendingAccounts(timeline: EventTimeline | undefined, routeAccounts: string[] | undefined): PendingAccount[] {
  const states = new Map<string, AccountState>((timeline?.accounts ?? []).map((state) => [state.account, state]));
  const names = routeAccounts ?? [...states.keys()];
  return names
    .filter((name) => !FINAL.has(states.get(name)?.status ?? ''))
    .map((name) => {
      const state = states.get(name);
      if (state === undefined) return { account: name, status: 'not tried' };
      const error = state.last !== undefined ? describeOutcome(state.last) : '';
      return {
        account: name,
        ...(state.provider !== undefined ? { provider: state.provider } : {}),
        status: state.status,
        ...(error !== '' ? { error } : {}),
      };
    });
}

async function describeParked(
  stack: HistoryStack,
  jobs: readonly ParkedJob[],
  io: Io,
  configFile: string | undefined,
): Promise<ParkedView[]> {
  let routes: ReturnType<typeof loadRoutes> | undefined;
  try {
    routes = loadRoutes(io, configFile);
  } catch (error) {
    if (configFile !== undefined) throw error;
    // Without the shipped config, the table's accounts still say what is pending.
  }
  const reader = createHistoryReader({ client: stack.dynamo, tableName: stack.tableName });
  const views: ParkedView[] = [];
  await runPool(jobs, 8, async (parked, index) => {
    if ('invalid' in parked.job) {
      views[index] = { messageId: parked.messageId, invalid: parked.job.invalid, pending: [] };
      return;
    }
    const { eventKey, source, route } = parked.job;
    const timeline = await reader.event(eventKey);
    const resolved = routes !== undefined && isSource(source) ? findRoute(routes.config, source, route) : undefined;
    views[index] = {
      messageId: parked.messageId,
      eventKey,
      source,
      route,
      pending: pendingAccounts(timeline, resolved?.deliverTo),
    };
  });
  return views;
}

function viewText(views: readonly ParkedView[]): string {
  if (views.length === 0) return '  (none)';
  const rows: string[][] = [['MESSAGE ID', 'EVENT', 'ROUTE', 'PENDING', 'LAST ERROR']];
  for (const view of views) {
    if (view.invalid !== undefined) {
      rows.push([view.messageId, '(not a delivery job)', '', '', view.invalid]);
      continue;
    }
    const route = `${view.source}/${view.route}`;
    const [first, ...rest] = view.pending;
    const pendingText = (account: PendingAccount) => `${account.account} ${account.status}`;
    rows.push([view.messageId, view.eventKey ?? '', route, first ? pendingText(first) : '(none)', first?.error ?? '']);
    for (const account of rest) rows.push(['', '', '', pendingText(account), account.error ?? '']);
  }
  return table(rows);
}

async function list(stack: HistoryStack, io: Io, values: { config?: string; json?: boolean }): Promise<number> {
  const dlqUrl = await stack.dlqUrl();
  const jobs = await receiveParked(stack.sqs, dlqUrl);
  let views: ParkedView[];
  try {
    views = await describeParked(stack, jobs, io, values.config).catch((error: unknown) => {
      throw error instanceof CliError ? error : tableError(stack, error);
    });
  } finally {
    await release(stack.sqs, dlqUrl, jobs);
  }
  if (values.json) {
    print(io.stdout, JSON.stringify({ stage: stack.stage, jobs: views }, null, 2));
    return EXIT.ok;
  }
  print(io.stdout, `Dead-letter queue of stage ${stack.stage} (${stack.where}): ${plural(views.length, 'job')}`);
  print(io.stdout, viewText(views));
  if (views.length > 0) print(io.stdout, '\nMove them back now: contact-relay dlq redrive [--account A]');
  return EXIT.ok;
}

async function redrive(stack: HistoryStack, io: Io, values: { account?: string; config?: string }): Promise<number> {
  const urls = { queueUrl: await stack.queueUrl(), dlqUrl: await stack.dlqUrl() };
  const jobs = await receiveParked(stack.sqs, urls.dlqUrl);
  const moved = new Set<ParkedJob>();
  try {
    let chosen: readonly ParkedJob[] = jobs;
    if (values.account !== undefined) {
      const views = await describeParked(stack, jobs, io, values.config).catch((error: unknown) => {
        throw error instanceof CliError ? error : tableError(stack, error);
      });
      chosen = jobs.filter((_, index) => views[index]?.pending.some((account) => account.account === values.account));
    }
    for (const job of chosen) {
      await moveBack(stack.sqs, urls, job);
      moved.add(job);
    }
  } finally {
    await release(
      stack.sqs,
      urls.dlqUrl,
      jobs.filter((job) => !moved.has(job)),
    );
  }
  const which = values.account !== undefined ? ` with ${values.account} pending` : '';
  print(io.stdout, `Moved ${plural(moved.size, 'job')}${which} back to the delivery queue (stage ${stack.stage}).`);
  const left = jobs.length - moved.size;
  if (left > 0) print(io.stdout, `${plural(left, 'job')} left in the dead-letter queue.`);
  return EXIT.ok;
}

async function drop(stack: HistoryStack, io: Io, id: string, ask: Terminal | undefined): Promise<number> {
  const dlqUrl = await stack.dlqUrl();
  const jobs = await receiveParked(stack.sqs, dlqUrl);
  const found = jobs.find((job) => job.messageId === id || (!('invalid' in job.job) && job.job.eventKey === id));
  const others = jobs.filter((job) => job !== found);
  try {
    if (found === undefined) throw new CliError(`no job in the dead-letter queue has message id or event key "${id}"`);
    const what = 'invalid' in found.job ? `message ${found.messageId}` : `the job of event ${found.job.eventKey}`;
    if (ask !== undefined && !(await confirm(`Remove ${what} for good?`, ask))) {
      others.push(found);
      print(io.stderr, 'contact-relay dlq: not removed');
      return EXIT.failed;
    }
    await remove(stack.sqs, dlqUrl, found);
    print(io.stdout, `Removed ${what} (message ${found.messageId}) from the dead-letter queue.`);
    return EXIT.ok;
  } finally {
    await release(stack.sqs, dlqUrl, others);
  }
}

export async function dlq(argv: string[], io: Io, terminal: Terminal = { input: process.stdin, output: io.stderr }) {
  const { values, positionals } = parse('dlq', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(DLQ_HELP);
    return EXIT.ok;
  }
  const [action, ...rest] = positionals;
  if (action !== 'list' && action !== 'redrive' && action !== 'drop')
    throw new UsageError(
      action === undefined
        ? 'name an action: list, redrive, drop'
        : `unknown action "${action}"; actions: list, redrive, drop`,
      'dlq',
    );
  if (values.account !== undefined && action !== 'redrive') throw new UsageError('--account goes with redrive', 'dlq');
  if (values.yes && action !== 'drop') throw new UsageError('--yes goes with drop', 'dlq');
  noExtraPositionals(rest, action === 'drop' ? 1 : 0, 'dlq');
  const id = rest[0];
  if (action === 'drop') {
    if (id === undefined || id === '')
      throw new UsageError('dlq drop needs the event key or message id of the job', 'dlq');
    // Nobody could answer the question: removing must then be asked for explicitly.
    if (!values.yes && terminal.input.isTTY !== true)
      throw new UsageError('dlq drop asks before removing a job; without a terminal, pass --yes', 'dlq');
  }
  const stack = historyStack(io, values, 'dlq');
  try {
    if (action === 'list') return await list(stack, io, values);
    if (action === 'redrive') return await redrive(stack, io, values);
    return await drop(stack, io, id as string, values.yes ? undefined : terminal);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${(error as Error).message} (${stack.where})`);
  } finally {
    stack.close();
  }
}
