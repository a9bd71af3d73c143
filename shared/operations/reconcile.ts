/**
 * Reconcile Shopify orders (scheduled): for every Shopify route
 * with `reconcile` set, pull the orders created since the last checkpoint
 * through the GraphQL Admin API and accept each through the same pipeline as
 * the webhooks, under the same event key. An order whose webhook arrived is
 * a duplicate and is not delivered again; one whose webhook was lost (hook
 * disabled, outage longer than Shopify's 4 h of retries) is delivered now.
 *
 * The checkpoint (newest `created_at` seen) moves only once every order up to
 * it is accepted or skipped for good, so a failed run is simply repeated by
 * the next one. Each run starts a little before the checkpoint: Shopify's
 * search index can list an order some seconds after it was created, and
 * dedupe makes re-reading the overlap free of consequences.
 */
import type { Contact } from '../contact.js';
import { findRoute, type ResolvedRoute, type RoutesConfig } from '../config/routes.js';
import type { HttpClient } from '../http.js';
import type { Acceptance } from '../ingest.js';
import { JobTooLargeError } from '../jobs.js';
import type { logger as defaultLogger } from '../logging.js';
import { SecretUnusableError, type SecretStore } from '../secrets.js';
import {
  fetchOrdersCreatedSince,
  ShopifyAdminCredentialsSchema,
  ShopifyAdminError,
  shopifyAdminSecretName,
  type FetchOrdersOptions,
} from '../shopify/admin.js';
import { fromAdminGraphqlOrder } from '../shopify/admin-orders.js';
import { mapShopifyOrder, shopifyOrderEventKey } from '../shopify/orders.js';
import type { OutcomeStore } from '../store.js';

const CHECKPOINT_NAME = 'reconcile';
/** Re-read this much before the checkpoint (search index lag); duplicates cost one conditional write each. */
export const CHECKPOINT_OVERLAP_MS = 5 * 60 * 1000;
/** Orders of one page accepted side by side: each is a table write and a queue send. */
const ACCEPT_CONCURRENCY = 10;

export const checkpointScope = (route: string) => `shopify#${route}`;

export interface ReconcileDependencies {
  routes: RoutesConfig;
  stage: string;
  secrets: SecretStore;
  http: HttpClient;
  store: OutcomeStore;
  /** Record the event and queue its delivery job, as ingest does; `duplicate` when accepted before. */
  accept: (contact: Contact, route: ResolvedRoute, eventKey: string) => Promise<Acceptance>;
  now?: () => Date;
  /** `SHOPIFY_ADMIN_URL`: the local stub instead of `https://{shop}`. */
  adminBaseUrl?: string;
  admin?: FetchOrdersOptions;
  /**
   * Asked between pages: true stops this route early (the Lambda is running
   * out of time). Orders come oldest first, so the checkpoint can still move
   * to the newest order handled and the next run carries on from there.
   */
  shouldStop?: () => boolean;
  logger?: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>;
}

export interface RouteReconcileReport {
  route: string;
  /** Orders read from the Admin API. */
  fetched: number;
  /** Newly accepted: their webhook never arrived. */
  accepted: number;
  /** Accepted before (by their webhook or an earlier run). */
  duplicates: number;
  /** No usable email or phone. */
  skipped: number;
  /** The checkpoint after this run; undefined when none was ever written. */
  checkpoint?: string;
  /** Start of the window read: checkpoint minus the overlap, or now minus `lookbackHours`. */
  since?: string;
  /** True when the run stopped early for time; the next run continues. */
  partial?: boolean;
  /** Why this route failed; the other routes ran regardless. */
  error?: string;
  errorCode?: string;
}

/** Every Shopify route with `reconcile`, one after another; one failing route never stops the others. */
export async function reconcileShopifyRoutes(deps: ReconcileDependencies): Promise<RouteReconcileReport[]> {
  const reports: RouteReconcileReport[] = [];
  for (const [name, route] of Object.entries(deps.routes.sources.shopify ?? {})) {
    if (route.reconcile === undefined) continue;
    const resolved = findRoute(deps.routes, 'shopify', name);
    if (resolved === undefined) continue;
    reports.push(await reconcileRoute(resolved, deps));
  }
  return reports;
}

async function reconcileRoute(route: ResolvedRoute, deps: ReconcileDependencies): Promise<RouteReconcileReport> {
  const report: RouteReconcileReport = { route: route.name, fetched: 0, accepted: 0, duplicates: 0, skipped: 0 };
  const reconcile = route.reconcile;
  if (reconcile === undefined) return report;
  const now = deps.now?.() ?? new Date();
  const secretName = reconcile.secretName ?? shopifyAdminSecretName(deps.stage, route.name);
  const scope = checkpointScope(route.name);
  try {
    const credentials = await deps.secrets.get(secretName, ShopifyAdminCredentialsSchema);
    const previous = await deps.store.getCheckpoint(CHECKPOINT_NAME, scope);
    const previousTime = previous === undefined ? Number.NaN : Date.parse(previous);
    if (previous !== undefined) report.checkpoint = previous;
    if (previous !== undefined && Number.isNaN(previousTime)) {
      deps.logger?.warn('reconcile checkpoint unreadable; using lookbackHours', {
        route: route.name,
        checkpoint: previous,
      });
    }
    const since = Number.isNaN(previousTime)
      ? new Date(now.getTime() - reconcile.lookbackHours * 3600_000)
      : new Date(previousTime - CHECKPOINT_OVERLAP_MS);
    report.since = since.toISOString();

    let newest = Number.isNaN(previousTime) ? undefined : previousTime;
    const pages = fetchOrdersCreatedSince(deps.http, credentials, report.since, deps.adminBaseUrl, deps.admin);
    for await (const page of pages) {
      report.fetched += page.orders.length;
      await forEachLimited(page.orders, ACCEPT_CONCURRENCY, async (node) => {
        const order = fromAdminGraphqlOrder(node);
        const { contact, skipReason } = mapShopifyOrder(order, route, credentials.shopDomain, now);
        if (skipReason !== undefined) {
          report.skipped++;
          deps.logger?.info('reconcile order skipped', {
            route: route.name,
            eventKey: contact.origin.eventKey,
            reason: skipReason,
          });
          return;
        }
        const eventKey = shopifyOrderEventKey(credentials.shopDomain, order.admin_graphql_api_id);
        let acceptance: Acceptance;
        try {
          acceptance = await deps.accept(contact, route, eventKey);
        } catch (error) {
          // Every run would build the same job: skipped, so the checkpoint still moves past it.
          if (!(error instanceof JobTooLargeError)) throw error;
          report.skipped++;
          deps.logger?.warn('reconcile order skipped', { route: route.name, eventKey, reason: error.message });
          return;
        }
        if (acceptance === 'accepted') report.accepted++;
        else report.duplicates++;
      });
      // Only now is every order of the page accepted or skipped for good.
      for (const node of page.orders) {
        const created = Date.parse(node.createdAt);
        if (!Number.isNaN(created) && (newest === undefined || created > newest)) newest = created;
      }
      if (deps.shouldStop?.() === true) {
        report.partial = true;
        break;
      }
    }
    if (newest !== undefined && (Number.isNaN(previousTime) || newest > previousTime)) {
      const value = new Date(newest).toISOString();
      await deps.store.putCheckpoint(CHECKPOINT_NAME, scope, value);
      report.checkpoint = value;
    }
  } catch (error) {
    if (error instanceof ShopifyAdminError && (error.code === 'unauthorized' || error.code === 'forbidden')) {
      // A token rotated in Secrets Manager must be read again on the next run, not served from the cache.
      deps.secrets.forget(secretName);
      report.error = `${error.message} (token from secret "${secretName}")`;
    } else if (error instanceof SecretUnusableError) {
      report.error = `${error.message}; it holds {"shopDomain": "my-shop.myshopify.com", "accessToken": "shpat_…"}`;
    } else {
      report.error = (error as Error).message;
    }
    report.errorCode = error instanceof ShopifyAdminError ? error.code : (error as Error).name;
  }
  return report;
}

/**
 * One line per route: `reconcile route failed` (error level) or `reconcile
 * route done`. A failed route does not fail the invocation (the other routes
 * ran, and the next run retries it), so Lambda's Errors metric never sees it;
 * the alarm counts these lines instead (a metric filter on this function's
 * log group, infra/monitoring.yml).
 */
export function logReconcileReports(
  reports: RouteReconcileReport[],
  logger: Pick<typeof defaultLogger, 'info' | 'error'>,
): void {
  for (const report of reports) {
    if (report.error !== undefined) logger.error('reconcile route failed', { ...report });
    else logger.info('reconcile route done', { ...report });
  }
  if (reports.length === 0) logger.info('reconcile: no Shopify route has reconcile set');
}

/** Run `work` over `items`, at most `limit` at a time; the first failure is thrown once all started work settles. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
