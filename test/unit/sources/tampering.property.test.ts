/**
 * Property tests: a request changed after it was signed is refused. One mutation of a validly signed body (a byte flipped, bytes
 * appended, inserted, or the body cut short), of the signature, of Webflow's
 * timestamp or of a route token always gives 401 and never reaches accept.
 *
 * Jotform (and a form route with `auth: "token"`) authenticate by token, which
 * covers no bytes of the body: for them the token is what is mutated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routeAuth } from '../../../shared/config/routes.js';
import { ingestWebhook } from '../../../shared/ingest.js';
import { NOW, TOKEN } from '../../helpers/arbitraries/clock-and-secret.js';
import { type Genuine, routeOfCase, SOURCE_CASES, type SourceCase } from '../../helpers/arbitraries/source-cases.js';
import {
  type Credentials,
  credentialsFor,
  hmac,
  requestFor,
  signatureFormat,
  signedRequest,
  WEBFLOW_MAX_SKEW_MS,
} from '../../helpers/arbitraries/authentication.js';
import { mutate, mutateText, mutation, textMutation } from '../../helpers/arbitraries/mutations.js';
import { ingestDeps } from '../../helpers/arbitraries/ingest.js';

/** The HMAC-signed sources, each with a route that requires the signature. */
const SIGNED = SOURCE_CASES.flatMap((sourceCase) => {
  const routeName = sourceCase.routeNames.find((name) => routeAuth(routeOfCase(sourceCase, name)) === 'hmac');
  return routeName === undefined ? [] : [{ ...sourceCase, routeName }];
});
/** The token-checked routes. */
const TOKENED = SOURCE_CASES.flatMap((sourceCase) => {
  const routeName = sourceCase.routeNames.find((name) => routeAuth(routeOfCase(sourceCase, name)) === 'token');
  return routeName === undefined ? [] : [{ ...sourceCase, routeName }];
});

/** Bodies to sign: the sender's real deliveries, its payload shapes, and any bytes. */
const bodies = (sourceCase: SourceCase): fc.Arbitrary<Genuine> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...sourceCase.fixtures) },
    { weight: 2, arbitrary: sourceCase.genuine },
    {
      weight: 1,
      arbitrary: fc
        .tuple(sourceCase.genuine, fc.uint8Array({ maxLength: 200 }))
        .map(([genuine, bytes]): Genuine => ({ ...genuine, body: Buffer.from(bytes) })),
    },
  );

async function expectRefused(
  sourceCase: SourceCase,
  request: Parameters<typeof ingestWebhook>[0],
  codes: readonly string[],
) {
  const deps = ingestDeps(sourceCase);
  const answer = await ingestWebhook(request, sourceCase.source, deps);
  expect(answer.statusCode).toBe(401);
  expect(codes).toContain((answer.body as { error: { code: string } }).error.code);
  expect(deps.accept).not.toHaveBeenCalled();
}

/** A signature value written with a different digest, or the same digest spelt differently (see the note in the signature-text property). */
function sameDigest(text: string, encoding: 'base64' | 'hex', digest: Buffer): boolean {
  return Buffer.from(text.trim(), encoding).equals(digest);
}

describe.each(SIGNED)('Property: tampering with a signed $name request', (sourceCase) => {
  const { routeName } = sourceCase;
  const format = signatureFormat(sourceCase.name);

  it('accepts the real deliveries as signed (the control for the properties below)', async () => {
    for (const genuine of sourceCase.fixtures) {
      const deps = ingestDeps(sourceCase);
      const answer = await ingestWebhook(signedRequest(sourceCase, routeName, genuine), sourceCase.source, deps);
      expect(answer).toMatchObject({
        statusCode: 200,
        body: { status: expect.stringMatching(/^(accepted|skipped)$/) as string },
      });
    }
  });

  it('refuses a body changed by one mutation after signing: 401, accept not called', async () => {
    await fc.assert(
      fc.asyncProperty(bodies(sourceCase), mutation, async (genuine, change) => {
        const credentials = credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), genuine.body);
        const request = requestFor(
          sourceCase,
          routeName,
          { ...genuine, body: mutate(genuine.body, change) },
          credentials,
        );
        await expectRefused(sourceCase, request, ['invalid_signature']);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the signature of another digest, correctly encoded: 401, accept not called', async () => {
    await fc.assert(
      fc.asyncProperty(bodies(sourceCase), mutation, async (genuine, change) => {
        const credentials = credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), genuine.body);
        const signed =
          sourceCase.name === 'webflow'
            ? Buffer.concat([Buffer.from(`${NOW.getTime()}:`), genuine.body])
            : genuine.body;
        const other = mutate(hmac(signed), change);
        credentials.headers[format.header] = `${format.prefix}${other.toString(format.encoding)}`;
        await expectRefused(sourceCase, requestFor(sourceCase, routeName, genuine, credentials), [
          'invalid_signature',
          'missing_signature',
        ]);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a signature whose text was changed by one character, unless the change spells the same digest', async () => {
    // Decoding is lenient the way Node's Buffer is: surrounding blanks, missing `=` padding, other padding bits, hex case all
    // spell the same 32 bytes, and are accepted. That is no weakness (whoever writes it already holds the valid HMAC); every
    // change that makes a different digest is refused.
    const alphabet =
      format.encoding === 'hex'
        ? '0123456789abcdefABCDEFg ='
        : 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ !';
    let equivalent = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...sourceCase.fixtures), textMutation(alphabet), async (genuine, change) => {
        const credentials = credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), genuine.body);
        const signed =
          sourceCase.name === 'webflow'
            ? Buffer.concat([Buffer.from(`${NOW.getTime()}:`), genuine.body])
            : genuine.body;
        const digest = hmac(signed);
        const text = mutateText(digest.toString(format.encoding), change);
        credentials.headers[format.header] = `${format.prefix}${text}`;
        const deps = ingestDeps(sourceCase);
        const answer = await ingestWebhook(
          requestFor(sourceCase, routeName, genuine, credentials),
          sourceCase.source,
          deps,
        );
        if (answer.statusCode === 401) {
          expect(deps.accept).not.toHaveBeenCalled();
        } else {
          expect(
            sameDigest(text, format.encoding, digest),
            `accepted ${JSON.stringify(text)}, which is not the digest`,
          ).toBe(true);
          equivalent += 1;
        }
      }),
      { numRuns: 300 },
    );
    expect(equivalent).toBeLessThan(300);
  });

  if (sourceCase.name === 'webflow') {
    it('refuses a valid signature whose timestamp is more than five minutes from our clock: 401 stale_timestamp', async () => {
      const skew = fc.integer({ min: WEBFLOW_MAX_SKEW_MS + 1, max: 10 * 365 * 24 * 3_600_000 });
      await fc.assert(
        fc.asyncProperty(bodies(sourceCase), skew, fc.boolean(), async (genuine, by, ahead) => {
          const at = NOW.getTime() + (ahead ? by : -by);
          await expectRefused(sourceCase, signedRequest(sourceCase, routeName, genuine, { at }), ['stale_timestamp']);
        }),
        { numRuns: 200 },
      );
    });

    it('accepts the same signed delivery anywhere within five minutes either way', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...sourceCase.fixtures),
          fc.integer({ min: -WEBFLOW_MAX_SKEW_MS, max: WEBFLOW_MAX_SKEW_MS }),
          async (genuine, skew) => {
            const deps = ingestDeps(sourceCase);
            const answer = await ingestWebhook(
              signedRequest(sourceCase, routeName, genuine, { at: NOW.getTime() + skew }),
              sourceCase.source,
              deps,
            );
            // Webflow counts only exactly 200 as delivered.
            expect(answer).toMatchObject({ statusCode: 200, body: { status: 'accepted' } });
          },
        ),
        { numRuns: 100 },
      );
    });

    it('refuses a signature carried over to a changed timestamp: 401, accept not called', async () => {
      await fc.assert(
        fc.asyncProperty(bodies(sourceCase), textMutation('0123456789:a'), async (genuine, change) => {
          const credentials = credentialsFor(sourceCase.name, routeOfCase(sourceCase, routeName), genuine.body);
          credentials.headers['x-webflow-timestamp'] = mutateText(String(NOW.getTime()), change);
          await expectRefused(sourceCase, requestFor(sourceCase, routeName, genuine, credentials), [
            'invalid_signature',
            'invalid_timestamp',
            'missing_timestamp',
            'stale_timestamp',
          ]);
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe.each(TOKENED)('Property: a wrong token on $name route "$routeName"', (sourceCase) => {
  const { routeName } = sourceCase;

  it('refuses any token but the route token, in the header or the query: 401, accept not called', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodies(sourceCase),
        fc.oneof(
          textMutation('tT ab0'),
          fc.string({ maxLength: 8 }).map((text) => ({ kind: 'replace' as const, text })),
        ),
        fc.constantFrom('header' as const, 'query' as const),
        async (genuine, change, where) => {
          const token = 'text' in change ? change.text : mutateText(TOKEN, change);
          fc.pre(token.trim() !== TOKEN);
          const credentials: Credentials =
            where === 'header'
              ? { headers: { 'x-contact-relay-token': token }, query: {} }
              : { headers: {}, query: { token } };
          await expectRefused(sourceCase, requestFor(sourceCase, routeName, genuine, credentials), [
            'invalid_token',
            'missing_token',
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
