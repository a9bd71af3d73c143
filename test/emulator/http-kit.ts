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
}

export interface EmulatedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type EmulatedApi = (request: EmulatedRequest) => EmulatedResponse;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatedResponse {
  return { status, body, headers };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const E164 = /^\+[1-9]\d{1,14}$/;
