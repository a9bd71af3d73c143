/**
 * Property tests over every source through `ingestWebhook`:
 * whatever arrives — any bytes, headers, content type, route name, JSON —
 * ingest answers with a documented answer and never throws, and accept is
 * only ever called for a request the route's secret authenticates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHttpApiEvent, toHttpApiResult } from '../../../shared/adapters/http-api.js';
import { findRoute, routeAuth } from '../../../shared/config/routes.js';
import { ingestWebhook } from '../../../shared/ingest.js';
import { NOW } from '../../helpers/arbitraries/clock-and-secret.js';
import { type Genuine, routeOfCase, SOURCE_CASES, type SourceCase } from '../../helpers/arbitraries/source-cases.js';
import { credentialsFor, isAuthenticated, requestFor } from '../../helpers/arbitraries/authentication.js';
import { anyBody, contentType, headerName, headerValue } from '../../helpers/arbitraries/any-request.js';
import {
  expectAcceptedContact,
  expectDocumentedAnswer,
  ingestDeps,
  isAccepted,
} from '../../helpers/arbitraries/ingest.js';
import { httpApiEvent } from '../../../local/lambda.js';

/** A request as API Gateway hands it over: any route name, body (base64 or not), headers in any case, query. */
function anyEvent(sourceCase: SourceCase) {
  return fc.record({
    routeName: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...sourceCase.routeNames) },
      { weight: 1, arbitrary: fc.constantFrom('nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '') },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    ),
    body: anyBody(sourceCase),
    contentType: fc.option(contentType, { nil: undefined }),
    /** none: no credentials; random: random values in the source's auth headers; valid: what the sender would send. */
    credentials: fc.constantFrom('none', 'random', 'valid'),
    randomCredentials: fc.array(fc.tuple(fc.constantFrom(...sourceCase.authHeaders), headerValue), {
      minLength: 1,
      maxLength: 2,
    }),
    skewMs: fc.integer({ min: -4 * 60_000, max: 4 * 60_000 }),
    tokenIn: fc.constantFrom('header' as const, 'query' as const),
    delivery: fc.option(
      sourceCase.genuine.map((genuine) => genuine.headers),
      { nil: undefined },
    ),
    extra: fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }),
    query: fc.dictionary(fc.constantFrom('token', 'route', 'x'), headerValue, { maxKeys: 2 }),
    base64: fc.boolean(),
    upperCase: fc.boolean(),
  });
}

describe.each(SOURCE_CASES)('Property: any request to $name', (sourceCase) => {
  it('never throws, answers a documented answer, and calls accept only for an authenticated request (through the HTTP API adapter)', async () => {
    await fc.assert(
      fc.asyncProperty(anyEvent(sourceCase), async (parts) => {
        // Without base64, API Gateway hands over text: the bytes are what that text encodes to.
        const bytes = parts.base64 ? parts.body : Buffer.from(parts.body.toString('utf8'), 'utf8');
        const knownRoute =
          findRoute(sourceCase.routes, sourceCase.name, parts.routeName) ?? routeOfCase(sourceCase, 'default');
        const credentials =
          parts.credentials === 'valid'
            ? credentialsFor(sourceCase.name, knownRoute, bytes, {
                at: NOW.getTime() + parts.skewMs,
                tokenIn: parts.tokenIn,
              })
            : { headers: parts.credentials === 'random' ? Object.fromEntries(parts.randomCredentials) : {}, query: {} };
        const entries: Array<[string, string]> = [
          ...Object.entries(parts.delivery ?? {}),
          ...(parts.contentType !== undefined ? [['content-type', parts.contentType] as [string, string]] : []),
          ...Object.entries(credentials.headers),
          ...parts.extra,
        ];
        const headers = Object.fromEntries(
          entries.map(([name, value]) => [parts.upperCase ? name.toUpperCase() : name, value]),
        );
        const event = {
          ...httpApiEvent(sourceCase.name, parts.routeName, '', {}),
          headers,
          queryStringParameters: { ...parts.query, ...credentials.query },
          isBase64Encoded: parts.base64,
          body: parts.base64 ? bytes.toString('base64') : bytes.toString('utf8'),
        };

        const request = fromHttpApiEvent(event, sourceCase.name);
        expect(request.rawBody.equals(bytes)).toBe(true);
        const deps = ingestDeps(sourceCase);
        const answer = await ingestWebhook(request, sourceCase.source, deps);
        const result = toHttpApiResult(answer);
        expect(result.statusCode).toBe(answer.statusCode);
        expect(JSON.parse(result.body as string)).toEqual(answer.body);

        const route = findRoute(sourceCase.routes, sourceCase.name, request.routeName);
        if (route === undefined) {
          expect(answer).toMatchObject({
            statusCode: sourceCase.source.unknownRouteStatus,
            body: { error: { code: 'unknown_route' } },
          });
          expect(deps.accept).not.toHaveBeenCalled();
          return;
        }
        expectDocumentedAnswer(answer, [200, 400, 401, 413, 415]);
        if (isAccepted(answer)) {
          expect(
            isAuthenticated(sourceCase.name, route, request),
            'accept was called for a request the route secret does not authenticate',
          ).toBe(true);
          expectAcceptedContact(deps.accept, answer, sourceCase.name, route.name);
        } else {
          expect(deps.accept).not.toHaveBeenCalled();
        }
        // A route that checks requests refuses one it cannot authenticate, before anything else but the size and, for WooCommerce, its ping.
        if (
          routeAuth(route) !== 'none' &&
          !isAuthenticated(sourceCase.name, route, request) &&
          answer.statusCode !== 413 &&
          answer.statusCode !== 200
        ) {
          expect(answer.statusCode).toBe(401);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers every authenticated body, whatever its bytes and content type, without a 401, a 5xx or a throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...sourceCase.routeNames),
        anyBody(sourceCase),
        fc.option(contentType, { nil: undefined }),
        sourceCase.genuine.map((genuine) => genuine.headers),
        fc.constantFrom('header' as const, 'query' as const),
        async (routeName, body, type, delivery, tokenIn) => {
          const genuine: Genuine = { headers: delivery, contentType: type, body };
          const request = requestFor(
            sourceCase,
            routeName,
            genuine,
            credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), body, { tokenIn }),
          );
          const deps = ingestDeps(sourceCase);
          const answer = await ingestWebhook(request, sourceCase.source, deps);
          expectDocumentedAnswer(answer, [200, 400, 413, 415]);
          if (isAccepted(answer)) expectAcceptedContact(deps.accept, answer, sourceCase.name, routeName);
          else expect(deps.accept).not.toHaveBeenCalled();
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** Arbitrary values (dates, maps, boxed values, sparse arrays, ...) as JSON.stringify writes them. */
const anythingAsJson = fc
  .anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withNullPrototype: true,
    withObjectString: true,
    withBoxedValues: true,
    maxDepth: 3,
  })
  .map((value) => {
    try {
      return JSON.stringify(value) ?? 'null';
    } catch {
      return 'null';
    }
  });

describe.each(SOURCE_CASES)('Property: JSON under a valid signature to $name', (sourceCase) => {
  it('never throws and answers 400/415, 200 ignored/skipped, or accepts (200) a contact that validates, with E.164 phones, keyed by its event', async () => {
    const numRuns = 300;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...sourceCase.routeNames),
        fc.oneof(
          { weight: 3, arbitrary: sourceCase.genuine },
          { weight: 1, arbitrary: sourceCase.arbitraryJson },
          {
            weight: 1,
            arbitrary: fc
              .tuple(sourceCase.arbitraryJson, anythingAsJson)
              .map(([genuine, text]): Genuine => ({ ...genuine, body: Buffer.from(text, 'utf8') })),
          },
        ),
        fc.constantFrom('header' as const, 'query' as const),
        async (routeName, genuine, tokenIn) => {
          const request = requestFor(
            sourceCase,
            routeName,
            genuine,
            credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), genuine.body, { tokenIn }),
          );
          const deps = ingestDeps(sourceCase);
          const answer = await ingestWebhook(request, sourceCase.source, deps);
          expectDocumentedAnswer(answer, [200, 400, 415]);
          if (isAccepted(answer)) {
            accepted += 1;
            expectAcceptedContact(deps.accept, answer, sourceCase.name, routeName);
          } else {
            expect(deps.accept).not.toHaveBeenCalled();
          }
        },
      ),
      { numRuns },
    );
    // The payload generators reach the mapper, not only the schema's refusals.
    expect(accepted).toBeGreaterThanOrEqual(numRuns / 20);
  });
});
