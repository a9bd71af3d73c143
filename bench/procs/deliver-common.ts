/**
 * What the delivery throughput processes share: their input, the contacts,
 * a pool that keeps `concurrency` contacts in flight (a deliver container
 * runs its batch's jobs side by side), and the result they report.
 */
import { readFileSync } from 'node:fs';
import type { ResolvedRoute } from '../../shared/config/routes.js';
import type { HttpRequest } from '../../shared/http.js';
import { PROVIDER_ADAPTERS } from '../../shared/providers/index.js';
import { askBench } from '../lib/children.js';
import { benchContact, PROVIDER_SECRETS } from '../lib/fixtures.js';

export interface DeliverInput {
  contacts: number;
  concurrency: number;
  /**
   * Contacts per round: between rounds the clock stops while the bench clears
   * the provider emulators, whose lookups scan every contact they hold (so a
   * 5,000-contact run would otherwise measure the emulator's quadratic cost).
   * Connections stay open across rounds.
   */
  roundSize: number;
  /** Provider name → emulator base URL (without the provider prefix). */
  providers: Record<string, string>;
  /** The AWS emulator (Secrets Manager). */
  aws: string;
}

export interface DeliverResult {
  client: string;
  contacts: number;
  concurrency: number;
  elapsedMs: number;
  contactsPerSecond: number;
  requests: number;
  /** Outcome statuses (ours) or HTTP status classes (bare clients). */
  outcomes: Record<string, number>;
  /** Connections the client itself says it opened, per host (undefined where it cannot tell). */
  clientConnections?: Record<string, number>;
  cpuMs: number;
  maxRssMb: number;
  /** RSS when the first contact starts (after the process and its plan are set up). */
  rssAtStartMb: number;
  rssAfterMb: number;
  rounds: number;
  node: string;
}

export const input = JSON.parse(readFileSync(process.env['BENCH_INPUT'] as string, 'utf8')) as DeliverInput;

export async function pool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < count; index = next++) await work(index);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * All contacts through `work`, `concurrency` at a time, in rounds of
 * `roundSize` with the provider emulators cleared between rounds (clock
 * stopped). Returns the time spent delivering, the RSS at the start, the rounds.
 */
export async function timedRounds(
  work: (index: number) => Promise<void>,
): Promise<{ elapsedMs: number; rssAtStartMb: number; rounds: number }> {
  const rssAtStartMb = process.memoryUsage().rss / 1048576;
  let elapsedMs = 0;
  let rounds = 0;
  for (let from = 0; from < input.contacts; from += input.roundSize) {
    if (from > 0) await askBench('clear', 'cleared');
    const count = Math.min(input.roundSize, input.contacts - from);
    const started = performance.now();
    await pool(count, input.concurrency, (offset) => work(from + offset));
    elapsedMs += performance.now() - started;
    rounds++;
  }
  return { elapsedMs, rssAtStartMb, rounds };
}

/**
 * The requests the deliver path sends for contact `index`, per provider, in
 * order (lookup, then create), built by the same adapters from the same
 * secrets: what a bare client replays. Built before the clock starts.
 */
export function plannedRequests(route: ResolvedRoute): HttpRequest[][][] {
  const plan: HttpRequest[][][] = [];
  for (let index = 0; index < input.contacts; index++) {
    const contact = benchContact(index);
    plan.push(
      route.accounts.map((account) => {
        const adapter = PROVIDER_ADAPTERS[account.provider];
        const credentials = adapter.credentials.parse(PROVIDER_SECRETS[account.name]);
        const context = {
          contact,
          target: { route, account },
          credentials,
          baseUrl: `${input.providers[account.provider]}/${account.provider}`,
        };
        const lookup = adapter.lookup?.(context);
        return [...(lookup !== undefined ? [lookup] : []), adapter.create(context)];
      }),
    );
  }
  return plan;
}

export function finish(
  result: Omit<DeliverResult, 'cpuMs' | 'maxRssMb' | 'rssAfterMb' | 'node' | 'contactsPerSecond'>,
  cpuStart: NodeJS.CpuUsage,
): DeliverResult {
  // CPU includes the short pauses between rounds (one IPC message each): negligible.
  const cpu = process.cpuUsage(cpuStart);
  return {
    ...result,
    contactsPerSecond: result.contacts / (result.elapsedMs / 1000),
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    rssAfterMb: process.memoryUsage().rss / 1048576,
    node: process.version,
  };
}
