/**
 * `npm start` as a user runs it, freshly started, under what a busy sender
 * does: many webhooks at once, and re-sending whatever was not accepted.
 * Each answer must be what a sender can act on — accepted, or a 429/5xx it
 * retries — never a 2xx that hides a failed function. And a function that
 * fails is answered as API Gateway's HTTP API answers it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/pipeline.js';
import { startNpmStart, type NpmStart } from '../helpers/npm-start.js';

const PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;

interface Answer {
  status: number;
  body: unknown;
}

async function postForm(stack: NpmStart, body: unknown, idempotencyKey: string): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${stack.ports.http}/hooks/form/default`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the assertion message
  }
  return { status: response.status, body: parsed };
}

/** What a sender that retries on 429 and 5xx treats as done. */
const taken = (answer: Answer) =>
  answer.status === 200 && ['accepted', 'duplicate'].includes((answer.body as { status?: string }).status ?? '');

function showOnFailure(stack: () => NpmStart | undefined) {
  afterEach((context) => {
    const started = stack();
    if (context.task.result?.state === 'fail' && started !== undefined) {
      console.error(`npm start printed:\n${started.output().slice(-6000)}`);
    }
  });
}

describe('npm start under a burst of webhooks', () => {
  let stack: NpmStart | undefined;
  beforeAll(async () => {
    stack = await startNpmStart();
  }, 180_000);
  afterAll(async () => stack?.stop());
  showOnFailure(() => stack);

  it('answers 60 concurrent webhooks with accepted, 429 or 5xx; re-sent, every lead is delivered once', async () => {
    const started = stack as NpmStart;
    const leads = Array.from({ length: 60 }, (_, i) => {
      const n = String(i).padStart(2, '0');
      // 555-01xx: numbers reserved for fiction, valid to libphonenumber.
      const body = { name: `Burst Lead${n}`, email: `burst${n}@example.com`, phone: `+1 415 555 01${n}` };
      return { key: `burst-${n}`, body, e164: `+141555501${n}` };
    });

    const first = await Promise.all(leads.map((lead) => postForm(started, lead.body, lead.key)));
    for (const [index, answer] of first.entries()) {
      const what = `${leads[index]?.key}: ${answer.status} ${JSON.stringify(answer.body)}`;
      expect(answer.body, what).not.toHaveProperty('errorMessage');
      const accepted = answer.status === 200 && (answer.body as { status?: string }).status === 'accepted';
      expect(accepted || answer.status === 429 || answer.status >= 500, what).toBe(true);
    }

    // As a sender does: the same delivery again, until it is taken (a 5xx whose event was stored is a duplicate now).
    let pending = leads.filter((_, index) => !taken(first[index] as Answer));
    for (let round = 0; pending.length > 0 && round < 5; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const answers = await Promise.all(pending.map((lead) => postForm(started, lead.body, lead.key)));
      for (const answer of answers) expect(answer.body).not.toHaveProperty('errorMessage');
      pending = pending.filter((_, index) => !taken(answers[index] as Answer));
    }
    expect(pending.map((lead) => lead.key)).toEqual([]);

    const emulator = `http://127.0.0.1:${started.ports.emulator}`;
    // npm start paces each account at its default rate: 2Chat's 70 requests a minute are 23 new contacts.
    await eventually(async () => {
      const contacts = (await (await fetch(`${emulator}/_emulator/contacts`)).json()) as Array<{
        provider: string;
        phone?: string;
      }>;
      for (const provider of PROVIDERS) {
        const phones = contacts.filter((contact) => contact.provider === provider).map((contact) => contact.phone);
        expect(phones.sort(), provider).toEqual(leads.map((lead) => lead.e164).sort());
      }
    }, 240_000);
    // Exactly once: one successful create per lead at each provider, however often its webhook was sent.
    const requests = (await (await fetch(`${emulator}/_emulator/requests`)).json()) as Array<{
      provider: string;
      method: string;
      status: number;
    }>;
    for (const provider of PROVIDERS) {
      const creates = requests.filter(
        (request) => request.provider === provider && request.method === 'POST' && request.status < 300,
      );
      expect(creates, provider).toHaveLength(leads.length);
    }
  }, 360_000);
});

describe('npm start with a function that fails', () => {
  let stack: NpmStart | undefined;
  beforeAll(async () => {
    // A value the functions refuse at cold start: every invocation fails before the handler runs,
    // as a deployed function with this setting would.
    stack = await startNpmStart({ SECRETS_TTL_SECONDS: 'soon' });
  }, 180_000);
  afterAll(async () => stack?.stop());
  showOnFailure(() => stack);

  it("answers a webhook whose function failed with the HTTP API's 500, never 200", async () => {
    const started = stack as NpmStart;
    const response = await fetch(`http://127.0.0.1:${started.ports.http}/hooks/form/default`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      body: JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', phone: '(415) 555-0132' }),
    });
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe('{"message":"Internal Server Error"}');
    expect(started.output()).toContain('SECRETS_TTL_SECONDS: must be a whole number of seconds');
    expect(started.output()).toContain('HTTP API: POST /hooks/form/default answered 500 (function error');
  });
});
