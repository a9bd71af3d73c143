import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import type { ReadContext, SourceReading, SourceSecret } from '../../../shared/ingest.js';
import { SecretFormatError } from '../../../shared/secrets.js';
import { customSignedBytes, customSource } from '../../../shared/sources/custom.js';
import { FORM_SOURCES } from '../../../shared/sources/index.js';
import { InvalidPointerError, pointerOf, pointerTokens, readPointer } from '../../../shared/sources/json-pointer.js';
import { NOT_AN_EMAIL } from '../../../shared/sources/mapping.js';
import type { FormProtectionDependencies } from '../../../shared/sources/protection.js';
import type { WebhookRequest } from '../../../shared/webhook.js';

const SECRET = 'custom-signing-secret';
const TOKEN = 'custom-route-token';
const now = new Date('2026-11-21T10:00:00.000Z');
const nowSeconds = String(Math.floor(now.getTime() / 1000));

const FIELDS = {
  firstName: '/first',
  lastName: '/last',
  fullName: '/name',
  email: '/email',
  phone: '/phone',
  country: '/country',
};

const config = parseRoutesConfig({
  accounts: { twochat: { provider: 'twochat' } },
  sources: {
    custom: {
      token: {
        deliverTo: ['twochat'],
        defaultRegion: 'US',
        tags: ['lead'],
        custom: {
          fields: {
            ...FIELDS,
            tags: ['/tags', '/labels'],
            attributes: { plan: '/plan', paid: '/paid', seats: '/seats', extra: '/extra' },
          },
          eventId: '/id',
        },
      },
      many: {
        deliverTo: ['twochat'],
        defaultRegion: 'US',
        custom: { fields: { email: ['/work/email', '/home/email'], phone: ['/mobile', '/landline'] } },
      },
      sha256hex: { deliverTo: ['twochat'], custom: { fields: FIELDS, signature: { header: 'X-Signature' } } },
      sha1base64: {
        deliverTo: ['twochat'],
        custom: {
          fields: FIELDS,
          signature: { header: 'X-Hub-Signature', algorithm: 'sha1', encoding: 'base64', prefix: 'sha1=' },
        },
      },
      stamped: {
        deliverTo: ['twochat'],
        custom: {
          fields: FIELDS,
          signature: {
            header: 'X-Sig',
            prefix: 'v1=',
            signedString: '{timestamp}.{body}',
            timestampHeader: 'X-Timestamp',
            toleranceSeconds: 120,
          },
        },
      },
      open: { deliverTo: ['twochat'], auth: 'none', custom: { fields: FIELDS } },
      trapped: {
        deliverTo: ['twochat'],
        auth: 'none',
        protection: { honeypot: 'website' },
        custom: { fields: FIELDS },
      },
      origins: {
        deliverTo: ['twochat'],
        auth: 'token',
        protection: { origins: ['https://www.example.com'] },
        custom: { fields: FIELDS },
      },
    },
  },
});
const route = (name: string) => findRoute(config, 'custom', name) as ResolvedRoute;

function request(
  routeName: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  query: Record<string, string> = {},
): WebhookRequest {
  return {
    source: 'custom',
    routeName,
    headers: { 'content-type': 'application/json', ...headers },
    query,
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body),
  };
}

const withToken = (routeName: string, body: string) => request(routeName, body, { 'x-contact-relay-token': TOKEN });

function context(
  secret: SourceSecret = { secret: SECRET, token: TOKEN },
  protection?: FormProtectionDependencies,
): ReadContext {
  return { now, secret: async () => secret, ...(protection ? { protection } : {}) };
}

function protectionDeps(allowOpenRoutes: boolean): FormProtectionDependencies {
  return {
    allowOpenRoutes,
    countRequest: vi.fn(async () => ({ counted: true, windowEndsAt: now.getTime() + 60_000 })),
    http: { request: vi.fn(async () => Promise.reject(new Error('no captcha is configured in these tests'))) },
    verifyUrls: {
      turnstile: 'https://turnstile.test',
      recaptcha: 'https://recaptcha.test',
      hcaptcha: 'https://hcaptcha.test',
    },
  };
}

const read = (req: WebhookRequest, ctx: ReadContext = context()) => customSource.read(req, route(req.routeName), ctx);

function contactOf(reading: SourceReading) {
  if (reading.kind !== 'contact') throw new Error(`expected a contact reading, got ${reading.kind}`);
  return reading;
}

const hmac = (algorithm: 'sha1' | 'sha256', data: string, encoding: 'hex' | 'base64', secret = SECRET) =>
  createHmac(algorithm, secret).update(data).digest(encoding);

const BODY = JSON.stringify({
  id: 'evt_1',
  first: 'Ada',
  last: 'Lovelace',
  email: 'ada@example.com',
  phone: '+44 20 7946 0958',
});

describe('Function: readPointer', () => {
  // RFC 6901 §5's example document and its pointers.
  const document = JSON.parse(
    '{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\\\j":5,"k\\"l":6," ":7,"m~n":8}',
  );

  it('reads every pointer of the RFC 6901 example', () => {
    expect(readPointer(document, '')).toBe(document);
    expect(readPointer(document, '/foo')).toEqual(['bar', 'baz']);
    expect(readPointer(document, '/foo/0')).toBe('bar');
    expect(readPointer(document, '/')).toBe(0);
    expect(readPointer(document, '/a~1b')).toBe(1);
    expect(readPointer(document, '/c%d')).toBe(2);
    expect(readPointer(document, '/e^f')).toBe(3);
    expect(readPointer(document, '/g|h')).toBe(4);
    expect(readPointer(document, '/i\\j')).toBe(5);
    expect(readPointer(document, '/k"l')).toBe(6);
    expect(readPointer(document, '/ ')).toBe(7);
    expect(readPointer(document, '/m~0n')).toBe(8);
  });

  it('unescapes ~1 before ~0, so "~01" is the name "~1"', () => {
    expect(pointerTokens('/~01')).toEqual(['~1']);
    expect(readPointer({ '~1': 'tilde-one', '/': 'slash' }, '/~01')).toBe('tilde-one');
  });

  it('reads array items by index only: no leading zeros, no "-", nothing past the end', () => {
    const list = { items: ['a', 'b'] };
    expect(readPointer(list, '/items/1')).toBe('b');
    expect(readPointer(list, '/items/01')).toBeUndefined();
    expect(readPointer(list, '/items/-')).toBeUndefined();
    expect(readPointer(list, '/items/2')).toBeUndefined();
    expect(readPointer(list, '/items/length')).toBeUndefined();
  });

  it('gives undefined for a missing member and for a step into a string, number or null', () => {
    const doc = { a: { b: 'text' }, n: 1, z: null };
    expect(readPointer(doc, '/missing')).toBeUndefined();
    expect(readPointer(doc, '/a/b/c')).toBeUndefined();
    expect(readPointer(doc, '/n/0')).toBeUndefined();
    expect(readPointer(doc, '/z/0')).toBeUndefined();
    expect(readPointer(doc, '/z')).toBeNull();
  });

  it('never reads what an object inherits, but reads a "__proto__" member the sender wrote', () => {
    expect(readPointer({}, '/__proto__')).toBeUndefined();
    expect(readPointer({}, '/constructor')).toBeUndefined();
    expect(readPointer({ a: {} }, '/a/toString')).toBeUndefined();
    expect(readPointer(JSON.parse('{"__proto__":{"email":"x@example.com"}}'), '/__proto__/email')).toBe(
      'x@example.com',
    );
  });

  it('refuses a string that is not a pointer', () => {
    expect(() => readPointer({}, 'email')).toThrow(InvalidPointerError);
    expect(() => readPointer({}, '/a~2b')).toThrow(InvalidPointerError);
    expect(() => readPointer({}, '/a~')).toThrow(InvalidPointerError);
  });

  it('pointerOf escapes what pointerTokens unescapes', () => {
    const tokens = ['a/b', '~', '~1', '', '0'];
    expect(pointerTokens(pointerOf(tokens))).toEqual(tokens);
  });
});

describe('Function: customSignedBytes', () => {
  it('puts the raw body and the timestamp where the template names them', () => {
    const body = Buffer.from([0x7b, 0xff, 0x7d]); // not valid UTF-8: kept byte for byte
    expect(customSignedBytes('{timestamp}.{body}', body, '1700000000')).toEqual(
      Buffer.concat([Buffer.from('1700000000.'), body]),
    );
    expect(customSignedBytes('{body}', body, undefined)).toEqual(body);
  });
});

describe('Source: custom, served', () => {
  it('is served by the forms function under its name, 404 for an unknown route', async () => {
    expect(await FORM_SOURCES.get('custom')?.()).toBe(customSource);
    expect(customSource.unknownRouteStatus).toBe(404);
  });
});

describe('Source: custom, HMAC signatures', () => {
  it('accepts the default settings: hex HMAC-SHA256 of the body', async () => {
    const reading = contactOf(await read(request('sha256hex', BODY, { 'x-signature': hmac('sha256', BODY, 'hex') })));
    expect(reading.contact.emails).toEqual(['ada@example.com']);
  });

  it('accepts sha1 in base64 after its prefix, whatever the prefix case', async () => {
    for (const prefix of ['sha1=', 'SHA1=']) {
      const reading = await read(
        request('sha1base64', BODY, { 'x-hub-signature': `${prefix}${hmac('sha1', BODY, 'base64')}` }),
      );
      expect(reading.kind).toBe('contact');
    }
  });

  it('refuses a signature in another algorithm or encoding than the route names', async () => {
    await expect(
      read(request('sha256hex', BODY, { 'x-signature': hmac('sha256', BODY, 'base64') })),
    ).rejects.toMatchObject({ statusCode: 401, code: 'invalid_signature' });
    await expect(read(request('sha256hex', BODY, { 'x-signature': hmac('sha1', BODY, 'hex') }))).rejects.toMatchObject({
      code: 'invalid_signature',
    });
    await expect(
      read(request('sha1base64', BODY, { 'x-hub-signature': `sha1=${hmac('sha1', BODY, 'hex')}` })),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('refuses a signature without the prefix, under another secret, or of another body', async () => {
    await expect(
      read(request('sha1base64', BODY, { 'x-hub-signature': hmac('sha1', BODY, 'base64') })),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(
      read(request('sha256hex', BODY, { 'x-signature': hmac('sha256', BODY, 'hex', 'other') })),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(
      read(request('sha256hex', `${BODY} `, { 'x-signature': hmac('sha256', BODY, 'hex') })),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('names the missing header', async () => {
    await expect(read(request('sha256hex', BODY))).rejects.toMatchObject({
      statusCode: 401,
      code: 'missing_signature',
      message: expect.stringContaining('X-Signature'),
    });
  });

  it('is our configuration, not the sender, when the secret has no "secret": a SecretFormatError', async () => {
    await expect(
      read(request('sha256hex', BODY, { 'x-signature': hmac('sha256', BODY, 'hex') }), context({ token: TOKEN })),
    ).rejects.toBeInstanceOf(SecretFormatError);
  });

  describe('with a timestamp in the signed string', () => {
    const stamped = (timestamp: string, signedAt = timestamp) =>
      request('stamped', BODY, {
        'x-sig': `v1=${hmac('sha256', `${signedAt}.${BODY}`, 'hex')}`,
        'x-timestamp': timestamp,
      });

    it('accepts a timestamp in seconds or in milliseconds within the tolerance', async () => {
      expect((await read(stamped(nowSeconds))).kind).toBe('contact');
      expect((await read(stamped(String(Number(nowSeconds) - 119)))).kind).toBe('contact');
      expect((await read(stamped(String(now.getTime() + 119_000)))).kind).toBe('contact');
    });

    it('refuses a signed timestamp older or further ahead than the tolerance: stale_signature', async () => {
      await expect(read(stamped(String(Number(nowSeconds) - 121)))).rejects.toMatchObject({
        statusCode: 401,
        code: 'stale_signature',
      });
      await expect(read(stamped(String(now.getTime() + 121_000)))).rejects.toMatchObject({ code: 'stale_signature' });
    });

    it('refuses a timestamp header changed after signing', async () => {
      await expect(read(stamped(String(Number(nowSeconds) + 1), nowSeconds))).rejects.toMatchObject({
        code: 'invalid_signature',
      });
    });

    it('refuses a missing or non-numeric timestamp', async () => {
      const signature = `v1=${hmac('sha256', `${nowSeconds}.${BODY}`, 'hex')}`;
      await expect(read(request('stamped', BODY, { 'x-sig': signature }))).rejects.toMatchObject({
        code: 'missing_timestamp',
      });
      await expect(
        read(request('stamped', BODY, { 'x-sig': signature, 'x-timestamp': '2026-11-21' })),
      ).rejects.toMatchObject({ code: 'invalid_timestamp' });
    });
  });
});

describe('Source: custom, token and open routes', () => {
  it('accepts the token in the header or the query string', async () => {
    expect((await read(withToken('token', BODY))).kind).toBe('contact');
    expect((await read(request('token', BODY, {}, { token: TOKEN }))).kind).toBe('contact');
  });

  it('refuses a missing or wrong token', async () => {
    await expect(read(request('token', BODY))).rejects.toMatchObject({ statusCode: 401, code: 'missing_token' });
    await expect(read(request('token', BODY, { 'x-contact-relay-token': 'nope' }))).rejects.toMatchObject({
      statusCode: 401,
      code: 'invalid_token',
    });
  });

  it('is a SecretFormatError when the secret holds no token', async () => {
    await expect(read(withToken('token', BODY), context({ secret: SECRET }))).rejects.toBeInstanceOf(SecretFormatError);
  });

  it('refuses an open route with 403 route_not_protected unless open routes are allowed', async () => {
    await expect(read(request('open', BODY), context({ token: TOKEN }, protectionDeps(false)))).rejects.toMatchObject({
      statusCode: 403,
      code: 'route_not_protected',
    });
    expect((await read(request('open', BODY), context({ token: TOKEN }, protectionDeps(true)))).kind).toBe('contact');
  });

  it('answers a filled honeypot as accepted and drops it', async () => {
    const body = JSON.stringify({ email: 'bot@example.com', website: 'https://spam.example' });
    const reading = await read(request('trapped', body), context({ token: TOKEN }, protectionDeps(true)));
    expect(reading).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('honeypot'),
      decoyEventKey: expect.stringMatching(/^custom:trapped:sha256:/),
    });
  });

  it('applies the route origins to token routes too', async () => {
    const deps = protectionDeps(false);
    await expect(
      read(
        request('origins', BODY, { 'x-contact-relay-token': TOKEN, origin: 'https://evil.example' }),
        context(undefined, deps),
      ),
    ).rejects.toMatchObject({
      statusCode: 403,
      code: 'origin_not_allowed',
    });
    expect(
      (
        await read(
          request('origins', BODY, { 'x-contact-relay-token': TOKEN, origin: 'https://www.example.com' }),
          context(undefined, deps),
        )
      ).kind,
    ).toBe('contact');
  });
});

describe('Source: custom, bodies', () => {
  it('refuses another media type with 415', async () => {
    await expect(
      read(request('token', BODY, { 'content-type': 'text/plain', 'x-contact-relay-token': TOKEN })),
    ).rejects.toMatchObject({ statusCode: 415, code: 'unsupported_content_type' });
    const noType: WebhookRequest = { ...withToken('token', BODY), headers: { 'x-contact-relay-token': TOKEN } };
    await expect(read(noType)).rejects.toMatchObject({ statusCode: 415 });
  });

  it('reads +json media types and form-encoded bodies as a flat object', async () => {
    expect(
      (
        await read(
          request('token', BODY, {
            'content-type': 'application/vnd.sender+json; charset=utf-8',
            'x-contact-relay-token': TOKEN,
          }),
        )
      ).kind,
    ).toBe('contact');
    const form = 'first=Ada&email=ada%40example.com&tags=a&tags=b';
    const reading = contactOf(
      await read(
        request('token', form, { 'content-type': 'application/x-www-form-urlencoded', 'x-contact-relay-token': TOKEN }),
      ),
    );
    expect(reading.contact).toMatchObject({
      firstName: 'Ada',
      emails: ['ada@example.com'],
      tags: ['custom', 'lead', 'a', 'b'],
    });
  });

  it('refuses malformed JSON with 400 malformed_body, after the token is checked', async () => {
    await expect(read(withToken('token', '{"email":'))).rejects.toMatchObject({
      statusCode: 400,
      code: 'malformed_body',
    });
    await expect(read(request('token', '{"email":'))).rejects.toMatchObject({ statusCode: 401 });
  });
});

describe('Source: custom, mapping', () => {
  it('maps names, email, phone, tags and attributes from their pointers', async () => {
    const body = JSON.stringify({
      id: 'evt_9',
      first: 'Ada',
      last: 'Lovelace',
      name: 'Augusta Ada King',
      email: ' Ada@Example.com ',
      phone: '020 7946 0958',
      country: 'gb',
      tags: ['vip', 'beta'],
      labels: 'north, south',
      plan: 'Pro',
      paid: true,
      seats: 12,
      extra: { nested: 'value' },
    });
    const reading = contactOf(await read(withToken('token', body)));
    expect(reading.contact).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      phones: [{ e164: '+442079460958' }],
      tags: ['custom', 'lead', 'vip', 'beta', 'north', 'south'],
      attributes: { plan: 'Pro', paid: 'true', seats: '12' },
      origin: {
        source: 'custom',
        route: 'token',
        eventKey: 'custom:token:evt_9',
        occurredAt: now.toISOString(),
        personKey: 'ada@example.com',
      },
    });
    expect(reading.contact.attributes).not.toHaveProperty('extra');
  });

  it('splits the full name when no first or last name is found', async () => {
    const reading = contactOf(
      await read(withToken('token', JSON.stringify({ name: 'Augusta Ada King', email: 'ada@example.com' }))),
    );
    expect(reading.contact).toMatchObject({ firstName: 'Augusta', lastName: 'Ada King' });
  });

  it('takes the first valid email and phone of several pointers; a JSON number is a phone', async () => {
    const body = JSON.stringify({
      work: { email: 'not-an-email' },
      home: { email: 'home@example.com' },
      mobile: 'call me',
      landline: 2015550123,
    });
    const reading = contactOf(await read(withToken('many', body)));
    expect(reading.contact.emails).toEqual(['home@example.com']);
    expect(reading.contact.phones).toEqual([{ e164: '+12015550123' }]);
    expect(reading.skipReason).toBeUndefined();
  });

  it('skips a payload with no email or phone, saying so without echoing values', async () => {
    const reading = contactOf(
      await read(withToken('token', JSON.stringify({ first: 'Ada', extra: ['secret-value'] }))),
    );
    expect(reading.skipReason).toBe(
      'no usable email or phone: attribute "extra" is an object or a list, not a single value',
    );
    const none = contactOf(await read(withToken('token', JSON.stringify({ first: 'Ada' }))));
    expect(none.skipReason).toBe('no usable email or phone: no value at the email or phone pointers');
  });

  it('names an invalid email and a value of the wrong kind as the problems, never the values', async () => {
    const reading = contactOf(
      await read(
        withToken(
          'many',
          JSON.stringify({
            work: { email: 'ada-at-example' },
            home: { email: { address: 'x' } },
            mobile: ['+1 201 555 0123'],
          }),
        ),
      ),
    );
    expect(reading.skipReason).toBe(
      `no usable email or phone: ${NOT_AN_EMAIL}; email at "/home/email" is not text; phone at "/mobile" is not text or a number`,
    );
    expect(reading.skipReason).not.toContain('ada-at-example');
  });
});

describe('Source: custom, event keys', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  it("uses the sender's id at eventId, a string or a number", async () => {
    expect(
      contactOf(await read(withToken('token', JSON.stringify({ id: ' evt_1 ', email: 'a@example.com' })))).eventKey,
    ).toBe('custom:token:evt_1');
    expect(contactOf(await read(withToken('token', JSON.stringify({ id: 42, email: 'a@example.com' })))).eventKey).toBe(
      'custom:token:42',
    );
  });

  it('hashes an id over 200 characters', async () => {
    const id = 'x'.repeat(201);
    expect(contactOf(await read(withToken('token', JSON.stringify({ id, email: 'a@example.com' })))).eventKey).toBe(
      `custom:token:id-sha256:${sha(id)}`,
    );
  });

  it('falls back to the hash of the exact body when eventId is unset, missing or not a scalar', async () => {
    for (const [routeName, body] of [
      ['token', JSON.stringify({ email: 'a@example.com' })],
      ['token', JSON.stringify({ id: { nested: 1 }, email: 'a@example.com' })],
      ['many', JSON.stringify({ id: 'evt_1', mobile: '+1 201 555 0123' })],
    ] as const) {
      expect(contactOf(await read(withToken(routeName, body))).eventKey).toBe(
        `custom:${routeName}:sha256:${sha(body)}`,
      );
    }
  });
});
