/**
 * What a webhook looks like once the adapter has taken it out of its AWS
 * envelope, and the answers we give senders (see ingest.ts). No AWS types here.
 */
import type { SourceName } from './contact.js';

export interface WebhookRequest {
  source: SourceName;
  /** `POST` for every webhook; `GET` for a sender's subscription check (Meta's `hub.challenge`). Absent: `POST`. */
  method?: string;
  routeName: string;
  /** Header names lower-cased. */
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  /** The exact bytes the sender signed. */
  rawBody: Buffer;
  /** The address the request came from, as API Gateway saw it (rate limits, captcha checks). */
  sourceIp?: string;
}

type AnswerBody =
  | { status: 'accepted' | 'duplicate'; eventKey: string }
  | { status: 'ignored'; reason: string }
  | { status: 'skipped'; reason: string; eventKey?: string }
  /** A webhook carrying several events (Meta Lead Ads): `accepted` when any of them is new. */
  | { status: 'accepted' | 'duplicate'; events: Array<{ eventKey: string; status: 'accepted' | 'duplicate' }> }
  /** A subscription check passed: the sender's challenge, answered as plain text. */
  | { challenge: string }
  | { error: { code: string; message: string } };

export interface WebhookAnswer {
  statusCode: number;
  body: AnswerBody;
}

/** A request we refuse; thrown by parsers and verifiers, turned into an answer at the edge. */
export class WebhookRejectedError extends Error {
  override name = 'WebhookRejectedError';
  constructor(
    readonly statusCode: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 422 | 429 | 500 | 502 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function rejection(error: WebhookRejectedError): WebhookAnswer {
  return { statusCode: error.statusCode, body: { error: { code: error.code, message: error.message } } };
}

/**
 * The answer when our side cannot process a webhook (a source secret missing or malformed): a 5xx, so the sender
 * retries until it is fixed, in the same words whatever went wrong. Anyone may call a webhook URL, so the answer
 * names no stage, secret or cause; the log line next to it does, under its own code.
 */
export function internalError(): WebhookAnswer {
  const message = 'the webhook could not be processed; try again later';
  return { statusCode: 500, body: { error: { code: 'internal_error', message } } };
}

/** Webhook bodies are small; anything larger is refused before parsing. */
export const MAX_BODY_BYTES = 256 * 1024;

export function checkBodySize(request: WebhookRequest): void {
  if (request.rawBody.length > MAX_BODY_BYTES) {
    throw new WebhookRejectedError(
      413,
      'body_too_large',
      `request body is ${request.rawBody.length} bytes; the limit is ${MAX_BODY_BYTES}`,
    );
  }
}

/** The media type without parameters, lower-cased: `application/json`. */
export function mediaType(request: WebhookRequest): string | undefined {
  const value = request.headers['content-type'];
  if (value === undefined) return undefined;
  return value.split(';')[0]?.trim().toLowerCase() || undefined;
}
