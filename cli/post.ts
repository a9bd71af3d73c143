/**
 * Posting a signed webhook and reading the answer the way the README's
 * "Answers" table defines it: 200 accepted / duplicate / ignored /
 * skipped, anything else refused with `{error: {code, message}}`.
 */
import { CliError } from './io.js';
import type { SignedWebhook } from './webhook.js';

export type Outcome = 'accepted' | 'duplicate' | 'ignored' | 'skipped' | 'rejected';
export const OUTCOMES: readonly Outcome[] = ['accepted', 'duplicate', 'ignored', 'skipped', 'rejected'];

export interface Answer {
  httpStatus: number;
  /** The body as JSON when it is JSON, else its text. */
  body: unknown;
  text: string;
  outcome: Outcome;
  /** The error code of a refusal (`invalid_signature`), when the body gives one. */
  code?: string;
  /** Why: a skip or ignore reason, or the refusal's message. */
  reason?: string;
  eventKey?: string;
  /**
   * A webhook carrying several events (Meta Lead Ads: one per lead) is answered `{status, events: [{eventKey,
   * status}]}`: `status` is accepted when any event was, and each event says what became of it.
   */
  events?: Array<{ eventKey: string; status: string }>;
}

function readEvents(body: unknown): Answer['events'] {
  if (!isObject(body) || !Array.isArray(body['events'])) return undefined;
  return body['events'].flatMap((event: unknown) => {
    if (!isObject(event) || typeof event['eventKey'] !== 'string' || typeof event['status'] !== 'string') return [];
    return [{ eventKey: event['eventKey'], status: event['status'] }];
  });
}

/** The service could not be reached at all (refused, no such host, timed out): nothing was sent. */
export class UnreachableError extends CliError {
  override name = 'UnreachableError';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function readAnswer(httpStatus: number, text: string): Answer {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text.
  }
  const answer: Answer = { httpStatus, body, text, outcome: 'rejected' };
  const status = isObject(body) && typeof body['status'] === 'string' ? body['status'] : undefined;
  if (isObject(body) && typeof body['eventKey'] === 'string') answer.eventKey = body['eventKey'];
  const events = readEvents(body);
  if (events !== undefined) {
    answer.events = events;
    if (events.length === 1) answer.eventKey ??= events[0]?.eventKey;
  }
  if (
    httpStatus >= 200 &&
    httpStatus < 300 &&
    (status === 'accepted' || status === 'duplicate' || status === 'ignored' || status === 'skipped')
  ) {
    answer.outcome = status;
    if (isObject(body) && typeof body['reason'] === 'string') answer.reason = body['reason'];
    return answer;
  }
  const error = isObject(body) && isObject(body['error']) ? body['error'] : undefined;
  if (typeof error?.['code'] === 'string') answer.code = error['code'];
  const message =
    typeof error?.['message'] === 'string'
      ? error['message']
      : isObject(body) && typeof body['message'] === 'string'
        ? body['message']
        : // serverless-offline reports a crashed or timed-out function as `{errorMessage, errorType}`, even under 200.
          isObject(body) && typeof body['errorMessage'] === 'string'
          ? `the function failed: ${body['errorMessage']}`
          : text.slice(0, 300) || `HTTP ${httpStatus}`;
  answer.reason = httpStatus >= 200 && httpStatus < 300 ? `unexpected answer: ${message}` : message;
  return answer;
}

/** A refusal in one line: `HTTP 401 invalid_signature: the … header does not match …`. */
export function describeRefusal(answer: Answer): string {
  return `HTTP ${answer.httpStatus}${answer.code ? ` ${answer.code}` : ''}: ${answer.reason ?? ''}`.trim();
}

/** Answers worth sending again after a pause: throttling and the service saying "not now". */
const RETRYABLE = new Set([429, 502, 503, 504]);

interface PostOptions {
  timeoutMs?: number;
  /** Further attempts on 429/502/503/504 and dropped connections (0 for `send`: show what the service said). */
  retries?: number;
  /** Hint added when the host cannot be reached, e.g. "start the local stack: npm start". */
  unreachableHint?: string;
  /** Sign again before each retry (Webflow's timestamp); the first request is `signed`. */
  resign?: () => SignedWebhook;
}

/** Why a request got no answer, from the error fetch threw: the system's code and a few plain words. */
export function networkReason(error: unknown): { code: string; text: string } {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code ?? (error as Error).name;
  const texts: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be resolved',
    ECONNRESET: 'the connection was reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
    TimeoutError: 'no answer in time',
    UND_ERR_SOCKET: 'the connection was closed',
  };
  return { code, text: texts[code] ?? cause?.message ?? (error as Error).message };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function postWebhook(baseUrl: string, signed: SignedWebhook, options: PostOptions = {}): Promise<Answer> {
  const retries = options.retries ?? 0;
  let request = signed;
  for (let attempt = 0; ; attempt += 1) {
    const url = `${baseUrl}${request.path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      const reason = networkReason(error);
      // A dropped connection may be retried; a refused one or an unknown host will not get better in a second.
      if (attempt < retries && (reason.code === 'ECONNRESET' || reason.code === 'UND_ERR_SOCKET')) {
        await sleep(500 * 2 ** attempt);
        request = options.resign?.() ?? request;
        continue;
      }
      const where = url.replace(/\?.*$/, '');
      throw new UnreachableError(
        `cannot reach ${where}: ${reason.text}${options.unreachableHint ? `. ${options.unreachableHint}` : ''}`,
      );
    }
    const text = await response.text();
    if (attempt < retries && RETRYABLE.has(response.status)) {
      const header = response.headers.get('retry-after');
      const after = header === null || header.trim() === '' ? Number.NaN : Number(header);
      await sleep(Number.isFinite(after) && after >= 0 ? Math.min(after, 30) * 1000 : 500 * 2 ** attempt);
      request = options.resign?.() ?? request;
      continue;
    }
    return readAnswer(response.status, text);
  }
}

export function unreachableHint(target: { defaultLocal: boolean; stage: string }): string | undefined {
  return target.defaultLocal ? 'Is the local stack running? Start it with `npm start` (or pass --url)' : undefined;
}
