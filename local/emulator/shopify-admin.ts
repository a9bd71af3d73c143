/**
 * A stub of Shopify's GraphQL Admin API, serving the one query `reconcile`
 * sends (orders created since a time, oldest first, paginated). It checks
 * what Shopify checks for it — the access token, `first` within 1..250 —
 * and answers with Shopify's envelopes: `data` + `extensions.cost`, the 401
 * body of a bad token, and a THROTTLED error when asked to throttle. The
 * emulator mounts it under `/shopify`; `handle` sees the path after that.
 */
import type { AdminOrderNode } from '../../shared/shopify/admin-orders.js';
import { isRecord, json, type EmulatedRequest, type EmulatedResponse } from './http-kit.js';

const GRAPHQL_PATH = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/graphql\.json$/;
const CREATED_SINCE = /created_at:>=\s*(?:'([^']*)'|"([^"]*)"|(\S+))/;
const MAX_FIRST = 250;
const BUCKET = { maximumAvailable: 2000, currentlyAvailable: 1990, restoreRate: 100 };

export class ShopifyAdminStub {
  /** The shop's orders, in any order: answers sort them by `createdAt`. */
  orders: AdminOrderNode[] = [];
  /** Access tokens the shop accepts. */
  tokens = new Set<string>();
  /** Requests received, accepted or not. */
  requests = 0;
  /** The `query` search string of each orders request, in order (what a test asserts its window on). */
  searches: string[] = [];
  /** The next this many requests are throttled, as Shopify does when the cost bucket is empty. */
  throttleNext = 0;

  constructor(options: { orders?: AdminOrderNode[]; tokens?: Iterable<string> } = {}) {
    this.orders = [...(options.orders ?? [])];
    this.tokens = new Set(options.tokens ?? []);
  }

  handle(request: EmulatedRequest): EmulatedResponse {
    this.requests++;
    if (!GRAPHQL_PATH.test(request.path)) return json(404, { errors: 'Not Found' });
    if (request.method !== 'POST') return json(405, { errors: 'Method Not Allowed' });
    const token = request.headers['x-shopify-access-token'];
    if (typeof token !== 'string' || !this.tokens.has(token)) {
      return json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    }
    const body = request.json;
    if (!isRecord(body) || typeof body['query'] !== 'string')
      return json(400, { errors: { query: 'Required parameter missing or invalid' } });
    if (!/\borders\s*\(/.test(body['query']))
      return graphqlError('This stub serves only the orders query', 'undefinedField');
    const variables = isRecord(body['variables']) ? body['variables'] : {};

    if (this.throttleNext > 0) {
      this.throttleNext--;
      return json(200, {
        errors: [
          {
            message: 'Throttled',
            extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
          },
        ],
        extensions: {
          cost: {
            requestedQueryCost: 252,
            actualQueryCost: null,
            throttleStatus: { ...BUCKET, currentlyAvailable: 52 },
          },
        },
      });
    }

    const first = variables['first'];
    if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > MAX_FIRST) {
      return graphqlError(`The 'first' argument must be between 1 and ${MAX_FIRST}`, 'BAD_REQUEST');
    }
    const after = variables['after'];
    const search = typeof variables['query'] === 'string' ? variables['query'] : '';
    this.searches.push(search);

    const match = CREATED_SINCE.exec(search);
    const sinceText = match?.[1] ?? match?.[2] ?? match?.[3];
    const since = sinceText === undefined ? undefined : Date.parse(sinceText);
    if (since !== undefined && Number.isNaN(since))
      return graphqlError(`Invalid date in search query: ${sinceText}`, 'BAD_REQUEST');

    const matching = this.orders
      .filter((order) => since === undefined || Date.parse(order.createdAt) >= since)
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    // The cursor is the index of the last order returned: opaque to clients, as Shopify's are.
    let start = 0;
    if (after !== undefined && after !== null) {
      const index = typeof after === 'string' && /^\d+$/.test(after) ? Number(after) : Number.NaN;
      if (Number.isNaN(index)) return graphqlError(`Invalid cursor for current pagination sort.`, 'BAD_REQUEST');
      start = index + 1;
    }
    const edges = matching
      .slice(start, start + first)
      .map((node, offset) => ({ cursor: String(start + offset), node }));
    const cost = 2 + edges.length * 5;
    return json(200, {
      data: {
        orders: {
          edges,
          pageInfo: { hasNextPage: start + first < matching.length, endCursor: edges.at(-1)?.cursor ?? null },
        },
      },
      extensions: {
        cost: {
          requestedQueryCost: 2 + first * 5,
          actualQueryCost: cost,
          throttleStatus: { ...BUCKET, currentlyAvailable: BUCKET.maximumAvailable - cost },
        },
      },
    });
  }
}

function graphqlError(message: string, code: string): EmulatedResponse {
  return json(200, { errors: [{ message, extensions: { code } }] });
}
