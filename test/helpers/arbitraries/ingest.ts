/** Ingest's dependencies for a property, and what its answers may be. */
import { expect, vi } from 'vitest';
import { ContactSchema, type Contact, type SourceName } from '../../../shared/contact.js';
import type { IngestDependencies } from '../../../shared/ingest.js';
import type { WebhookAnswer } from '../../../shared/webhook.js';
import { NOW, SECRET, TOKEN } from './clock-and-secret.js';
import { E164 } from './inspection.js';
import type { SourceCase } from './source-cases.js';

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Ingest's dependencies with a `vi.fn` accept and the route secret `{ secret: 's', token: 't' }`. */
export function ingestDeps(sourceCase: SourceCase) {
  return {
    routes: sourceCase.routes,
    accept: vi.fn<IngestDependencies['accept']>(async () => 'accepted'),
    sourceSecret: async () => ({ secret: SECRET, token: TOKEN }),
    logger: QUIET,
    now: () => NOW,
  };
}

const nonEmptyString = (value: unknown): boolean => typeof value === 'string' && value !== '';

/**
 * The answer is one ingest documents: a refusal with exactly
 * `{error: {code, message}}` (both non-empty), or a 200 `ignored`/`skipped`
 * with its reason or `accepted`/`duplicate` with the event key. `statuses`
 * lists the codes this situation allows.
 */
export function expectDocumentedAnswer(answer: WebhookAnswer, statuses: readonly number[]): void {
  expect(statuses).toContain(answer.statusCode);
  const body = answer.body as Record<string, unknown>;
  if (answer.statusCode >= 400) {
    expect(Object.keys(body)).toEqual(['error']);
    const error = body['error'] as Record<string, unknown>;
    expect(Object.keys(error).sort()).toEqual(['code', 'message']);
    expect(nonEmptyString(error['code']) && nonEmptyString(error['message'])).toBe(true);
  } else {
    expect(answer.statusCode).toBe(200);
    expect(['accepted', 'duplicate', 'ignored', 'skipped']).toContain(body['status']);
    if (isAccepted(answer) || body['status'] === 'duplicate') expect(nonEmptyString(body['eventKey'])).toBe(true);
    else expect(nonEmptyString(body['reason'])).toBe(true);
  }
}

/** A 200 that queued the event (the body says so; duplicates, ignored and skipped events are 200 too). */
export function isAccepted(answer: WebhookAnswer): boolean {
  return answer.statusCode === 200 && 'status' in answer.body && answer.body.status === 'accepted';
}

/** The one contact accept was given validates against ContactSchema, its phones are E.164, and it names its event, source and route. */
export function expectAcceptedContact(
  accept: ReturnType<typeof ingestDeps>['accept'],
  answer: WebhookAnswer,
  source: SourceName,
  routeName: string,
): Contact {
  expect(accept).toHaveBeenCalledTimes(1);
  const [contact, route, eventKey, aliases] = accept.mock.calls[0] as Parameters<IngestDependencies['accept']>;
  const parsed = ContactSchema.safeParse(contact);
  expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
  expect(parsed.data).toEqual(contact);
  for (const phone of contact.phones) expect(phone.e164).toMatch(E164);
  expect(nonEmptyString(eventKey)).toBe(true);
  expect(contact.origin).toMatchObject({ source, route: routeName, eventKey });
  expect(route).toMatchObject({ source, name: routeName });
  expect(answer.body).toEqual({ status: 'accepted', eventKey });
  if (aliases !== undefined) expect(aliases.every(nonEmptyString)).toBe(true);
  return contact;
}
