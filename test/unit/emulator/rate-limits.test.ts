/** The emulator's per-account rate limits, over HTTP as the providers' clients meet them; a fake clock steps time. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRateLimitError } from '../../../local/emulator/rate-limits.js';
import { startEmulator, type Emulator } from '../../../local/emulator/server.js';

const CREDENTIALS = {
  twochat: ['unit-2chat-key-one', 'unit-2chat-key-two'],
  kirim: ['unit-kirim-token-one', 'unit-kirim-token-two'],
  callbell: ['unit-callbell-token'],
  chatwoot: ['unit-chatwoot-token'],
};
const [TWOCHAT_KEY = '', OTHER_TWOCHAT_KEY = ''] = CREDENTIALS.twochat;
const [KIRIM_TOKEN = '', OTHER_KIRIM_TOKEN = ''] = CREDENTIALS.kirim;

let emulator: Emulator;
/** The fake clock the limiter reads, in ms since the epoch. */
let clock = 0;
beforeAll(async () => {
  emulator = await startEmulator({ credentials: CREDENTIALS });
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.state.reset();
  emulator.state.rateLimits.clear();
  // A whole minute on the epoch, so fixed windows start here.
  clock = 1_800_000_000_000;
  emulator.state.rateLimits.now = () => clock;
});

const call = (path: string, init?: RequestInit) => fetch(`${emulator.url}${path}`, init);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const limit = (body: unknown) => post('/_emulator/rate-limits', body);
const twoChat = (key = TWOCHAT_KEY) =>
  call('/twochat/open/whatsapp/get-numbers', { headers: { 'x-user-api-key': key } });
const kirimCreate = (token = KIRIM_TOKEN) =>
  post('/kirim/v1/106540352242922/contacts', { phone_number: '+14155550123' }, { authorization: `Bearer ${token}` });
const kirimList = (token = KIRIM_TOKEN) =>
  call('/kirim/v1/106540352242922/contacts', { headers: { authorization: `Bearer ${token}` } });
const chatwootInbox = (token = 'unit-chatwoot-token') =>
  call('/chatwoot/api/v1/accounts/1/inboxes/1', { headers: { api_access_token: token } });
const callbellChannels = () =>
  call('/callbell/v1/channels', { headers: { authorization: 'Bearer unit-callbell-token' } });
const statuses = async (count: number, send: () => Promise<Response>) => {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await send()).status);
  return seen;
};

describe('Emulator: rate limits are off by default', () => {
  it('serves every request of a burst and adds no rate headers when no limit is set', async () => {
    expect(await statuses(40, () => twoChat())).toEqual(Array(40).fill(200));
    const created = await statuses(40, () => kirimCreate());
    expect(created).toEqual(Array(40).fill(201));
    expect((await kirimCreate()).headers.get('x-ratelimit-limit')).toBeNull();
    expect(await (await call('/_emulator/rate-limits')).json()).toEqual({});
  });

  it('a started emulator takes its limits from the rateLimits option, and refuses a bad one by name', async () => {
    const limited = await startEmulator({ credentials: CREDENTIALS, rateLimits: { twochat: { perMinute: 1 } } });
    try {
      const send = () =>
        fetch(`${limited.url}/twochat/open/whatsapp/get-numbers`, { headers: { 'x-user-api-key': TWOCHAT_KEY } });
      expect(await statuses(2, send)).toEqual([200, 429]);
    } finally {
      await limited.close();
    }
    await expect(startEmulator({ rateLimits: { kirim: { perMinute: 0 } } })).rejects.toThrow(InvalidRateLimitError);
    await expect(startEmulator({ rateLimits: { kirim: { perMinute: 0 } } })).rejects.toThrow(
      /rateLimits\.kirim: perMinute/,
    );
  });
});

describe('Emulator: 2Chat limits every request per API key', () => {
  it('serves up to the limit, then answers 429 in its envelope without rate headers', async () => {
    expect((await limit({ provider: 'twochat', perMinute: 3 })).status).toBe(201);
    expect(await statuses(3, () => twoChat())).toEqual([200, 200, 200]);
    const refused = await twoChat();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ success: false, message: expect.any(String) });
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(refused.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('refills a request every minute / perMinute: a request a third of a minute later is served', async () => {
    await limit({ provider: 'twochat', perMinute: 3 });
    expect(await statuses(4, () => twoChat())).toEqual([200, 200, 200, 429]);
    clock += 19_000;
    expect((await twoChat()).status).toBe(429);
    clock += 1_000;
    expect(await statuses(2, () => twoChat())).toEqual([200, 429]);
  });

  it('keeps each key on its own count, and counts no request an unknown key sends', async () => {
    await limit({ provider: 'twochat', perMinute: 2 });
    expect(await statuses(3, () => twoChat())).toEqual([200, 200, 429]);
    expect(await statuses(2, () => twoChat(OTHER_TWOCHAT_KEY))).toEqual([200, 200]);
    expect(await statuses(3, () => twoChat('not-a-key'))).toEqual([401, 401, 401]);
  });
});

describe('Emulator: Kirim limits writes per organisation, with its documented headers', () => {
  it('counts writes down in X-RateLimit-Remaining, then 429 rate_limit_exceeded with Retry-After and Reset', async () => {
    await limit({ provider: 'kirim', perMinute: 2 });
    const first = await kirimCreate();
    expect(first.status).toBe(201);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    // One token spent at 2 a minute: full again 30 s later.
    expect(first.headers.get('x-ratelimit-reset')).toBe(String(clock / 1000 + 30));
    expect((await kirimCreate()).headers.get('x-ratelimit-remaining')).toBe('0');

    const refused = await kirimCreate();
    expect(refused.status).toBe(429);
    const { error } = (await refused.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(refused.headers.get('x-request-id')).toBe(error['request_id']);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset')).toBe(String(clock / 1000 + 60));
    expect(emulator.state.contacts).toHaveLength(2);
  });

  it('serves a write once Retry-After has passed, and not before', async () => {
    await limit({ provider: 'kirim', perMinute: 6 });
    await statuses(6, () => kirimCreate());
    const refused = await kirimCreate();
    const wait = Number(refused.headers.get('retry-after')) * 1000;
    expect(wait).toBe(10_000);
    clock += wait - 1;
    expect((await kirimCreate()).status).toBe(429);
    clock += 1;
    expect((await kirimCreate()).status).toBe(201);
  });

  it('is full again at X-RateLimit-Reset: a whole burst is served then', async () => {
    await limit({ provider: 'kirim', perMinute: 4 });
    await statuses(4, () => kirimCreate());
    const reset = Number((await kirimCreate()).headers.get('x-ratelimit-reset'));
    clock = reset * 1000;
    expect(await statuses(5, () => kirimCreate())).toEqual([201, 201, 201, 201, 429]);
  });

  it('lets burst cap the bucket below a minute of writes', async () => {
    await limit({ provider: 'kirim', perMinute: 60, burst: 1 });
    expect(await statuses(2, () => kirimCreate())).toEqual([201, 429]);
    clock += 1_000;
    expect((await kirimCreate()).status).toBe(201);
  });

  it('does not count reads, and keeps each token on its own bucket', async () => {
    await limit({ provider: 'kirim', perMinute: 1 });
    expect(await statuses(5, () => kirimList())).toEqual([200, 200, 200, 200, 200]);
    expect((await kirimList()).headers.get('x-ratelimit-limit')).toBeNull();
    expect(await statuses(2, () => kirimCreate())).toEqual([201, 429]);
    expect((await kirimCreate(OTHER_KIRIM_TOKEN)).status).toBe(201);
  });
});

describe('Emulator: Chatwoot limits every request per client IP in fixed windows (rack-attack)', () => {
  it('answers 429 "Retry later" as text without Retry-After, counting even unauthenticated requests', async () => {
    await limit({ provider: 'chatwoot', perMinute: 3 });
    expect(await statuses(2, () => chatwootInbox())).toEqual([200, 200]);
    expect((await chatwootInbox('wrong-token')).status).toBe(401);
    const refused = await chatwootInbox();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await refused.text()).toBe('Retry later\n');
    expect(refused.headers.get('retry-after')).toBeNull();
  });

  it('serves again when the next window starts, not before', async () => {
    await limit({ provider: 'chatwoot', perMinute: 1 });
    expect(await statuses(2, () => chatwootInbox())).toEqual([200, 429]);
    clock += 59_999;
    expect((await chatwootInbox()).status).toBe(429);
    clock += 1;
    expect(await statuses(2, () => chatwootInbox())).toEqual([200, 429]);
  });

  it('refuses a burst for chatwoot, which counts windows and has no bucket', async () => {
    const refused = await limit({ provider: 'chatwoot', perMinute: 10, burst: 5 });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toMatch(/burst does not apply to chatwoot/);
  });
});

describe('Emulator: Callbell limits every request per token', () => {
  it('answers 429 with its {error} body', async () => {
    await limit({ provider: 'callbell', perMinute: 2 });
    const seen = await statuses(3, callbellChannels);
    expect(seen).toEqual([200, 200, 429]);
    expect(await (await callbellChannels()).json()).toEqual({ error: expect.any(String) });
  });
});

describe('Emulator: the rate-limits API and what it records', () => {
  it('records each refusal as a 429 marked rateLimited, and GET counts each account with its credential masked', async () => {
    await limit({ provider: 'twochat', perMinute: 2 });
    await statuses(5, () => twoChat());
    await statuses(1, () => twoChat(OTHER_TWOCHAT_KEY));
    const recorded = emulator.state.requests.filter((request) => request.provider === 'twochat');
    expect(recorded.map((request) => request.status)).toEqual([200, 200, 429, 429, 429, 200]);
    expect(recorded.filter((request) => request.rateLimited === true)).toHaveLength(3);

    const response = await call('/_emulator/rate-limits');
    const text = await response.clone().text();
    expect(text).not.toContain(TWOCHAT_KEY);
    const { twochat } = (await response.json()) as { twochat: Record<string, unknown> };
    expect(twochat).toMatchObject({ perMinute: 2, limited: 3 });
    expect(twochat['accounts']).toEqual([
      { account: expect.stringMatching(/one$/), served: 2, limited: 3, remaining: 0 },
      { account: expect.stringMatching(/two$/), served: 1, limited: 0, remaining: 1 },
    ]);
  });

  it('DELETE removes every limit: the refused account is served again', async () => {
    await limit({ provider: 'twochat', perMinute: 1 });
    expect(await statuses(2, () => twoChat())).toEqual([200, 429]);
    expect((await call('/_emulator/rate-limits', { method: 'DELETE' })).status).toBe(200);
    expect(await statuses(3, () => twoChat())).toEqual([200, 200, 200]);
    expect(await (await call('/_emulator/rate-limits')).json()).toEqual({});
  });

  it('refuses a limit it cannot apply, naming the problem', async () => {
    for (const [body, problem] of [
      [{ provider: 'whatsapp', perMinute: 10 }, /provider must be one of/],
      [{ provider: 'kirim' }, /perMinute must be a whole number/],
      [{ provider: 'kirim', perMinute: 10, burst: 0 }, /burst must be a whole number/],
      [{ provider: 'kirim', perMinute: 10, windowMs: -5 }, /windowMs must be/],
    ] as const) {
      const response = await limit(body);
      expect(response.status).toBe(400);
      expect(JSON.stringify(await response.json())).toMatch(problem);
    }
  });

  it('counts perMinute over windowMs on the real clock, so a short window resets quickly', async () => {
    emulator.state.rateLimits.now = Date.now;
    await limit({ provider: 'twochat', perMinute: 1, windowMs: 150 });
    expect(await statuses(2, () => twoChat())).toEqual([200, 429]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await twoChat()).status).toBe(200);
  });
});
