/**
 * The one Shopify GraphQL Admin API call `reconcile` makes: orders created
 * since a time, oldest first, page by page. Answers are validated with zod
 * and every failure becomes a ShopifyAdminError that says whether waiting
 * helps (throttling, 5xx, network) or a person must act (token, scope).
 */
import { HttpResponseTooLargeError, HttpTransportError, type HttpClient, type HttpResponse } from '../http.js';
import { AdminOrderNodeSchema, type AdminOrderNode } from './admin-orders.js';
import * as z from '../zod.js';
import { describeIssues } from '../validation.js';
import { SHOP_DOMAIN, SHOP_DOMAIN_EXAMPLE } from './domain.js';

const DEFAULT_SHOPIFY_API_VERSION = '2025-07';

/** Secret `contact-relay/{stage}/shopify-admin/{route}` (or the route's `reconcile.secretName`). */
export const ShopifyAdminCredentialsSchema = z.object({
  // Read in any case, as people type it; lower-cased where it is used.
  shopDomain: z
    .string()
    .check(
      z.refine(
        (domain) => SHOP_DOMAIN.test(domain.toLowerCase()),
        `must be the shop's myshopify.com domain, such as "${SHOP_DOMAIN_EXAMPLE}"`,
      ),
    ),
  accessToken: z.string().check(z.minLength(1)),
  apiVersion: z._default(
    z.string().check(z.regex(/^(\d{4}-(01|04|07|10)|unstable)$/, 'must be a Shopify API version such as "2025-07"')),
    DEFAULT_SHOPIFY_API_VERSION,
  ),
});
type ShopifyAdminCredentials = z.infer<typeof ShopifyAdminCredentialsSchema>;

/** `contact-relay/{stage}/shopify-admin/{route}` */
export function shopifyAdminSecretName(stage: string, route: string): string {
  return `contact-relay/${stage}/shopify-admin/${route}`;
}

type ShopifyAdminErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'throttled'
  | 'unavailable'
  | 'network'
  | 'graphql'
  | 'http'
  | 'malformed_response';

export class ShopifyAdminError extends Error {
  override name = 'ShopifyAdminError';
  constructor(
    readonly code: ShopifyAdminErrorCode,
    message: string,
    readonly details: { transient: boolean; httpStatus?: number; retryAfterMs?: number } = { transient: false },
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get transient(): boolean {
    return this.details.transient;
  }
}

/** Only what the mapper needs: every field costs query points and, for customers, protected data access. */
const ADDRESS_FIELDS = 'firstName lastName phone countryCodeV2 address1 address2 city province zip';
const ORDERS_QUERY = `query ReconcileOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, sortKey: CREATED_AT, query: $query) {
    edges {
      cursor
      node {
        id name email phone createdAt
        totalPriceSet { shopMoney { amount currencyCode } }
        customer {
          id firstName lastName email phone
          defaultAddress { ${ADDRESS_FIELDS} }
          emailMarketingConsent { marketingState }
          smsMarketingConsent { marketingState }
        }
        billingAddress { ${ADDRESS_FIELDS} }
        shippingAddress { ${ADDRESS_FIELDS} }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** Shopify's search syntax wants dates quoted. */
function createdSinceQuery(sinceIso: string): string {
  return `created_at:>='${sinceIso}'`;
}

const GraphqlErrorSchema = z.object({
  message: z.string(),
  extensions: z.optional(z.object({ code: z.optional(z.string()) })),
});

const ThrottleStatusSchema = z.object({
  maximumAvailable: z.number(),
  currentlyAvailable: z.number(),
  restoreRate: z.number(),
});

const OrdersResponseSchema = z.object({
  data: z.nullish(
    z.object({
      orders: z.nullish(
        z.object({
          edges: z.array(z.object({ cursor: z.string(), node: AdminOrderNodeSchema })),
          pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.nullish(z.string()) }),
        }),
      ),
    }),
  ),
  // A list for GraphQL errors; a bare string on 401 ("[API] Invalid API key or access token ...").
  errors: z.optional(z.union([z.string(), z.array(GraphqlErrorSchema)])),
  extensions: z.optional(
    z.object({
      cost: z.optional(
        z.object({ requestedQueryCost: z.optional(z.number()), throttleStatus: z.optional(ThrottleStatusSchema) }),
      ),
    }),
  ),
});
type OrdersResponse = z.infer<typeof OrdersResponseSchema>;

interface OrdersPage {
  orders: AdminOrderNode[];
  /** Points left in the shop's bucket after this page, when Shopify said. */
  throttle?: z.infer<typeof ThrottleStatusSchema>;
}

export interface FetchOrdersOptions {
  /** Orders per request; Shopify allows up to 250, 50 keeps each query cheap. */
  pageSize?: number;
  /** Attempts per page when the answer is transient (throttled, 5xx, network), the first included. */
  maxAttempts?: number;
  /** Longest wait between attempts; a longer Retry-After ends the run and the next schedule carries on. */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const fetchOrdersDefaults = { pageSize: 50, maxAttempts: 4, maxWaitMs: 10_000 };

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function graphqlUrl(credentials: ShopifyAdminCredentials, baseUrlOverride?: string): string {
  const base =
    baseUrlOverride !== undefined
      ? baseUrlOverride.replace(/\/+$/, '')
      : `https://${credentials.shopDomain.toLowerCase()}`;
  return `${base}/admin/api/${credentials.apiVersion}/graphql.json`;
}

/**
 * Orders created at or after `sinceIso`, oldest first, one page per
 * iteration. Transient answers are retried in place (waiting as long as
 * Shopify asks, within `maxWaitMs`), so a throttle in the middle of a long
 * backlog does not throw away the pages already read.
 */
export async function* fetchOrdersCreatedSince(
  client: HttpClient,
  credentials: ShopifyAdminCredentials,
  sinceIso: string,
  baseUrlOverride?: string,
  options: FetchOrdersOptions = {},
): AsyncGenerator<OrdersPage, void, undefined> {
  const settings = { ...fetchOrdersDefaults, ...options };
  const sleep = options.sleep ?? sleepFor;
  const url = graphqlUrl(credentials, baseUrlOverride);
  const search = createdSinceQuery(sinceIso);
  let after: string | undefined;
  for (;;) {
    const variables = { first: settings.pageSize, after: after ?? null, query: search };
    let page:
      | { orders: NonNullable<NonNullable<OrdersResponse['data']>['orders']>; throttle?: OrdersPage['throttle'] }
      | undefined;
    for (let attempt = 1; page === undefined; attempt++) {
      try {
        page = await requestOrders(client, url, credentials, variables);
      } catch (error) {
        if (!(error instanceof ShopifyAdminError) || !error.transient || attempt >= settings.maxAttempts) throw error;
        const wait = error.details.retryAfterMs ?? Math.min(settings.maxWaitMs, 500 * 2 ** (attempt - 1));
        if (wait > settings.maxWaitMs) throw error;
        await sleep(wait);
      }
    }
    yield {
      orders: page.orders.edges.map((edge) => edge.node),
      ...(page.throttle !== undefined ? { throttle: page.throttle } : {}),
    };
    const { hasNextPage, endCursor } = page.orders.pageInfo;
    if (!hasNextPage) return;
    if (endCursor === null || endCursor === undefined || endCursor === after) {
      throw new ShopifyAdminError(
        'malformed_response',
        `Shopify Admin API at ${url} said there is a next page but gave no new cursor`,
      );
    }
    after = endCursor;
  }
}

type Orders = NonNullable<NonNullable<OrdersResponse['data']>['orders']>;

async function requestOrders(
  client: HttpClient,
  url: string,
  credentials: ShopifyAdminCredentials,
  variables: Record<string, unknown>,
): Promise<{ orders: Orders; throttle?: OrdersPage['throttle'] }> {
  const shop = credentials.shopDomain.toLowerCase();
  const response = await postOrdersQuery(client, url, credentials, variables, shop);
  let body: unknown;
  try {
    body = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    body = undefined;
  }
  const parsed = OrdersResponseSchema.safeParse(body ?? {});
  const errors = parsed.success ? parsed.data.errors : undefined;
  const errorText = typeof errors === 'string' ? errors : errors?.map((error) => error.message).join('; ');
  const said = errorText ? `: ${errorText}` : '';
  throwForStatus(response, shop, said);
  if (!parsed.success) {
    throw new ShopifyAdminError(
      'malformed_response',
      `Shopify Admin API of ${shop} answered in an unexpected shape: ${describeIssues(parsed.error)}`,
      {
        transient: false,
        httpStatus: response.status,
      },
    );
  }
  const { data, extensions } = parsed.data;
  const throttle = extensions?.cost?.throttleStatus;
  if (Array.isArray(errors) && errors.length > 0)
    throwForGraphqlErrors(errors, extensions, response.status, shop, said);
  const orders = data?.orders;
  if (orders === null || orders === undefined) {
    throw new ShopifyAdminError('malformed_response', `Shopify Admin API of ${shop} answered without data.orders`, {
      transient: false,
      httpStatus: response.status,
    });
  }
  return { orders, ...(throttle !== undefined ? { throttle } : {}) };
}

/** The orders query sent; a request that got no answer is a `network` error (transient unless cut off). */
async function postOrdersQuery(
  client: HttpClient,
  url: string,
  credentials: ShopifyAdminCredentials,
  variables: Record<string, unknown>,
  shop: string,
): Promise<HttpResponse> {
  try {
    return await client.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': credentials.accessToken },
      body: JSON.stringify({ query: ORDERS_QUERY, variables }),
    });
  } catch (error) {
    if (error instanceof HttpTransportError) {
      const transient = !(error instanceof HttpResponseTooLargeError);
      throw new ShopifyAdminError(
        'network',
        `Shopify Admin API of ${shop}: ${error.message}`,
        { transient },
        { cause: error },
      );
    }
    throw error;
  }
}

/** Throws for an HTTP status other than 2xx, as Shopify documents each. */
function throwForStatus(response: HttpResponse, shop: string, said: string): void {
  const retryAfterMs = retryAfter(response.headers['retry-after']);
  if (response.status === 401) {
    throw new ShopifyAdminError('unauthorized', `Shopify Admin API refused the access token for ${shop} (401)${said}`, {
      transient: false,
      httpStatus: 401,
    });
  }
  if (response.status === 403) {
    throw new ShopifyAdminError(
      'forbidden',
      `Shopify Admin API denied access for ${shop} (403)${said}; the token needs the read_orders scope`,
      {
        transient: false,
        httpStatus: 403,
      },
    );
  }
  if (response.status === 429 || response.status >= 500) {
    throw new ShopifyAdminError(
      response.status === 429 ? 'throttled' : 'unavailable',
      `Shopify Admin API of ${shop} answered ${response.status}${said}`,
      {
        transient: true,
        httpStatus: response.status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      },
    );
  }
  if (response.status < 200 || response.status >= 300) {
    // 402 (shop frozen), 404 (no such shop or API version), 423 (shop locked): a person must act.
    throw new ShopifyAdminError('http', `Shopify Admin API of ${shop} answered ${response.status}${said}`, {
      transient: false,
      httpStatus: response.status,
    });
  }
}

/** Throws for a 200 carrying GraphQL errors: queries have no userErrors (mutations do), so everything arrives here. */
function throwForGraphqlErrors(
  errors: Extract<OrdersResponse['errors'], unknown[]>,
  extensions: OrdersResponse['extensions'],
  httpStatus: number,
  shop: string,
  said: string,
): never {
  const codes = errors.map((error) => error.extensions?.code);
  if (codes.includes('THROTTLED')) {
    // Wait until the bucket holds what this query asks for again.
    const requested = extensions?.cost?.requestedQueryCost;
    const throttle = extensions?.cost?.throttleStatus;
    const wait =
      requested !== undefined && throttle !== undefined && throttle.restoreRate > 0
        ? Math.ceil((Math.max(0, requested - throttle.currentlyAvailable) / throttle.restoreRate) * 1000)
        : undefined;
    throw new ShopifyAdminError('throttled', `Shopify Admin API of ${shop} throttled the orders query${said}`, {
      transient: true,
      httpStatus,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }
  if (codes.includes('ACCESS_DENIED')) {
    throw new ShopifyAdminError(
      'forbidden',
      `Shopify Admin API denied access for ${shop}: the token needs the read_orders scope (and read_customers for customer fields)${said}`,
      {
        transient: false,
        httpStatus,
      },
    );
  }
  if (codes.includes('INTERNAL_SERVER_ERROR')) {
    throw new ShopifyAdminError('unavailable', `Shopify Admin API of ${shop} failed${said}`, {
      transient: true,
      httpStatus,
    });
  }
  throw new ShopifyAdminError('graphql', `Shopify Admin API of ${shop} rejected the orders query${said}`, {
    transient: false,
    httpStatus,
  });
}

function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
