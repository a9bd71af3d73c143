/**
 * Property tests of the `custom` source: JSON pointers read back what was put
 * where they point; a request changed after it was signed is refused under any
 * signature settings a route may name; and no body, however odd, makes read()
 * fail with anything but a refusal (WebhookRejectedError) or our own
 * configuration's fault (SecretFormatError).
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContactSchema } from '../../../shared/contact.js';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import type { ReadContext, SourceSecret } from '../../../shared/ingest.js';
import { SecretFormatError } from '../../../shared/secrets.js';
import { customSignedBytes, customSource } from '../../../shared/sources/custom.js';
import { pointerOf, readPointer } from '../../../shared/sources/json-pointer.js';
import type { FormProtectionDependencies } from '../../../shared/sources/protection.js';
import { WebhookRejectedError, type WebhookRequest } from '../../../shared/webhook.js';
import { NOW } from '../../helpers/arbitraries/clock-and-secret.js';
import { emailText, nameText, phoneText } from '../../helpers/arbitraries/fields.js';

const SECRET = 'property-secret';
const TOKEN = 'property-token';

// ---------------------------------------------------------------------------
// Pointers

type Step = { kind: 'member'; name: string } | { kind: 'item'; index: number };

/** Member names stress the escapes and the names every object inherits. */
const memberName = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    '',
    '/',
    '~',
    '~0',
    '~1',
    '/~',
    'a/b~c',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '0',
    '01',
    '-',
  ),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  memberName.map((name): Step => ({ kind: 'member', name })),
  fc.nat({ max: 5 }).map((index): Step => ({ kind: 'item', index })),
);

/** A document holding `value` at `steps`, with other members and items around it. */
function place(steps: readonly Step[], value: unknown, filler: unknown): unknown {
  const [first, ...rest] = steps;
  if (first === undefined) return value;
  const inner = place(rest, value, filler);
  if (first.kind === 'item') return [...Array.from({ length: first.index }, () => filler), inner, filler];
  // fromEntries makes own members, "__proto__" included, as JSON.parse does.
  return Object.fromEntries([
    ['sibling~/', filler],
    [first.name, inner],
  ]);
}

describe('Property: readPointer', () => {
  it('reads back any value placed at any path', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 6 }), fc.jsonValue(), fc.jsonValue(), (steps, value, filler) => {
        const document = place(steps, value, filler);
        const pointer = pointerOf(steps.map((each) => (each.kind === 'item' ? String(each.index) : each.name)));
        expect(readPointer(document, pointer)).toBe(value);
      }),
    );
  });

  it('reads nothing one step past a scalar, and nothing an empty object inherits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null)), memberName, (scalar, name) => {
        expect(readPointer({ a: scalar }, pointerOf(['a', name]))).toBeUndefined();
        expect(readPointer({}, pointerOf([name]))).toBeUndefined();
      }),
    );
  });
});

// ---------------------------------------------------------------------------
// Signatures

interface Settings {
  header: string;
  algorithm: 'sha256' | 'sha1';
  encoding: 'hex' | 'base64';
  prefix?: string;
  timestamped: boolean;
  template: string;
  toleranceSeconds: number;
  millis: boolean;
}

const settings: fc.Arbitrary<Settings> = fc
  .record({
    header: fc.constantFrom('X-Signature', 'X-Hub-Signature-256', 'Webhook-Signature', 'X-Sig'),
    algorithm: fc.constantFrom('sha256' as const, 'sha1' as const),
    encoding: fc.constantFrom('hex' as const, 'base64' as const),
    prefix: fc.option(fc.constantFrom('sha256=', 'sha1=', 'v1=', 'v1,'), { nil: undefined }),
    timestamped: fc.boolean(),
    toleranceSeconds: fc.integer({ min: 1, max: 3600 }),
    millis: fc.boolean(),
    plain: fc.constantFrom('{body}', 'payload:{body}', '{body}\n'),
    stamped: fc.constantFrom(
      '{timestamp}.{body}',
      '{body}{timestamp}',
      'POSThttps://hooks.example.com/x{body}{timestamp}',
      't={timestamp},b={body}',
    ),
  })
  .map(({ plain, stamped, prefix, ...rest }) => ({
    ...rest,
    ...(prefix === undefined ? {} : { prefix }),
    template: rest.timestamped ? stamped : plain,
  }));

function signedRoute(s: Settings): ResolvedRoute {
  const signature = {
    header: s.header,
    algorithm: s.algorithm,
    encoding: s.encoding,
    ...(s.prefix === undefined ? {} : { prefix: s.prefix }),
    signedString: s.template,
    ...(s.timestamped ? { timestampHeader: 'X-Timestamp' } : {}),
    toleranceSeconds: s.toleranceSeconds,
  };
  const config = parseRoutesConfig({
    accounts: { twochat: { provider: 'twochat' } },
    sources: {
      custom: {
        signed: {
          deliverTo: ['twochat'],
          defaultRegion: 'US',
          custom: { fields: { email: '/email', phone: '/phone' }, signature },
        },
      },
    },
  });
  return findRoute(config, 'custom', 'signed') as ResolvedRoute;
}

/** The genuine request: the body signed as the settings say, at a time within the tolerance. */
function sign(s: Settings, body: Buffer, skewSeconds: number): WebhookRequest {
  const seconds = Math.floor(NOW.getTime() / 1000) + skewSeconds;
  const timestamp = s.timestamped ? (s.millis ? String(seconds * 1000) : String(seconds)) : undefined;
  const digest = createHmac(s.algorithm, SECRET)
    .update(customSignedBytes(s.template, body, timestamp))
    .digest(s.encoding);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [s.header.toLowerCase()]: `${s.prefix ?? ''}${digest}`,
  };
  if (timestamp !== undefined) headers['x-timestamp'] = timestamp;
  return { source: 'custom', routeName: 'signed', headers, query: {}, rawBody: body };
}

type Tamper =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'cut'; at: number }
  | { kind: 'digest'; at: number; mask: number }
  | { kind: 'timestamp'; delta: number }
  | { kind: 'drop-signature' };

const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('digest' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('timestamp' as const),
    delta: fc.integer({ min: -100, max: 100 }).filter((delta) => delta !== 0),
  }),
  fc.constant({ kind: 'drop-signature' as const }),
);

/** The genuine request changed one way; a body change keeps the genuine signature, which no longer matches. */
function apply(change: Tamper, s: Settings, genuine: WebhookRequest): WebhookRequest {
  const body = genuine.rawBody;
  const header = s.header.toLowerCase();
  const headers = { ...genuine.headers };
  switch (change.kind) {
    case 'flip': {
      if (body.length === 0) return { ...genuine, rawBody: Buffer.from([change.mask]) };
      const copy = Buffer.from(body);
      const at = change.at % copy.length;
      copy[at] = (copy[at] as number) ^ change.mask;
      return { ...genuine, rawBody: copy };
    }
    case 'append':
      return { ...genuine, rawBody: Buffer.concat([body, Buffer.from(change.bytes)]) };
    case 'cut':
      return { ...genuine, rawBody: body.length === 0 ? Buffer.from('x') : body.subarray(0, change.at % body.length) };
    case 'digest': {
      // Flip a bit of the digest itself and encode it again: a changed character could decode to the same bytes.
      const given = (headers[header] as string).slice((s.prefix ?? '').length);
      const digest = Buffer.from(given, s.encoding);
      const at = change.at % digest.length;
      digest[at] = (digest[at] as number) ^ change.mask;
      headers[header] = `${s.prefix ?? ''}${digest.toString(s.encoding)}`;
      return { ...genuine, headers };
    }
    case 'timestamp': {
      if (!s.timestamped) return { ...genuine, rawBody: Buffer.concat([body, Buffer.from(' ')]) };
      headers['x-timestamp'] = String(Number(headers['x-timestamp']) + change.delta);
      return { ...genuine, headers };
    }
    case 'drop-signature':
      delete headers[header];
      return { ...genuine, headers };
  }
}

const context = (
  secret: SourceSecret = { secret: SECRET, token: TOKEN },
  protection?: FormProtectionDependencies,
): ReadContext => ({
  now: NOW,
  secret: async () => secret,
  ...(protection ? { protection } : {}),
});

/** What a sender may post to the mapped pointers: anything JSON holds, contact-like text often. */
const pointedValue = fc.oneof(emailText, phoneText, nameText, fc.jsonValue({ maxDepth: 2 }));
const contactBody = fc
  .record({ email: pointedValue, phone: pointedValue, other: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] })
  .map((document) => Buffer.from(JSON.stringify(document)));
const anyBody = fc.oneof(
  contactBody,
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);

describe('Property: custom signatures', () => {
  it('accepts the genuine request under any signature settings', async () => {
    await fc.assert(
      fc.asyncProperty(settings, contactBody, fc.integer({ min: -1, max: 1 }), async (s, body, direction) => {
        const skew = direction * Math.floor(s.toleranceSeconds / 2);
        const reading = await customSource.read(sign(s, body, skew), signedRoute(s), context());
        expect(reading.kind).toBe('contact');
      }),
      { numRuns: 60 },
    );
  });

  it('refuses any tampering of a signed body, signature or timestamp with a 401', async () => {
    await fc.assert(
      fc.asyncProperty(settings, anyBody, tamper, async (s, body, change) => {
        const request = apply(change, s, sign(s, body, 0));
        const refused = customSource.read(request, signedRoute(s), context());
        await expect(refused).rejects.toBeInstanceOf(WebhookRejectedError);
        await expect(refused).rejects.toMatchObject({ statusCode: 401 });
      }),
      { numRuns: 150 },
    );
  });
});

// ---------------------------------------------------------------------------
// Arbitrary bodies

const config = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    custom: {
      token: {
        deliverTo: ['twochat'],
        defaultRegion: 'US',
        custom: {
          fields: {
            firstName: '/first',
            fullName: ['/name', '/0'],
            email: ['/email', '/contact/email'],
            phone: ['/phone', '/contact/phone', '/1'],
            country: '/country',
            tags: ['/tags', '/email'],
            attributes: { a: '/a', b: ['/phone', '/other'] },
          },
          eventId: '/email',
        },
      },
      open: {
        deliverTo: ['twochat'],
        auth: 'none',
        protection: { honeypot: 'website' },
        custom: { fields: { email: '/email', phone: '/phone' } },
      },
    },
  },
});
const openDeps: FormProtectionDependencies = {
  allowOpenRoutes: true,
  countRequest: async () => ({ counted: true, windowEndsAt: NOW.getTime() }),
  http: { request: async () => Promise.reject(new Error('no captcha here')) },
  verifyUrls: { turnstile: 'https://t.test', recaptcha: 'https://r.test', hcaptcha: 'https://h.test' },
};

describe('Property: custom read()', () => {
  it('only ever refuses (WebhookRejectedError) or blames our secret (SecretFormatError), and reads valid contacts', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyBody,
        fc.constantFrom('token', 'open'),
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/ld+json'),
        fc.constantFrom<SourceSecret>({ token: TOKEN }, { token: 'other' }, { secret: SECRET }),
        async (body, routeName, contentType, secret) => {
          const request: WebhookRequest = {
            source: 'custom',
            routeName,
            headers: { 'content-type': contentType, 'x-contact-relay-token': TOKEN },
            query: {},
            rawBody: body,
          };
          try {
            const reading = await customSource.read(
              request,
              findRoute(config, 'custom', routeName) as ResolvedRoute,
              context(secret, openDeps),
            );
            if (reading.kind === 'contact') expect(ContactSchema.safeParse(reading.contact).success).toBe(true);
          } catch (error) {
            expect(error instanceof WebhookRejectedError || error instanceof SecretFormatError).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
