/** Small helpers the emulated APIs share. */
import type { IncomingMessage } from 'node:http';

export interface EmulatedRequest {
  method: string;
  /** Path after the provider prefix, e.g. `/open/contacts`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  rawBody: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  /**
   * How long the server will hold this request's answer (an armed `delayMs` fault). A provider whose
   * work lasts until its answer is out (Kirim's Idempotency-Key lock) keeps that work running so long.
   */
  heldMs?: number;
}

export interface EmulatedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type EmulatedApi = (request: EmulatedRequest) => EmulatedResponse;

/** An emulated API that may take its time to answer (Kirim makes a request wait for another under its key). */
export type AsyncEmulatedApi = (request: EmulatedRequest) => EmulatedResponse | Promise<EmulatedResponse>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatedResponse {
  return { status, body, headers };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const E164 = /^\+[1-9]\d{1,14}$/;
