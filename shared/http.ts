/**
 * The provider HTTP layer: node:http(s) with keep-alive agents, a connect
 * timeout, a response timeout (first byte to last) and a bound on response
 * size. Built on the standard library because undici would add ~520 KB to
 * every bundle for the same three knobs.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

interface HttpClientOptions {
  /** Time allowed to open the TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /** Time allowed from the connection being ready to the last byte of the response. */
  responseTimeoutMs: number;
  /** Larger responses are cut off with an error: providers answer small JSON. */
  maxResponseBytes: number;
  /** Sockets kept per host; queued requests wait for a free one. */
  maxSockets: number;
}

export const httpClientDefaults: HttpClientOptions = {
  connectTimeoutMs: 3_000,
  responseTimeoutMs: 10_000,
  maxResponseBytes: 1024 * 1024,
  maxSockets: 16,
};

/**
 * The request got no usable answer: the connection failed, timed out, or the
 * answer was cut off. Callers that treat all of these alike test this class.
 */
export class HttpTransportError extends Error {
  override name = 'HttpTransportError';
}

export class HttpTimeoutError extends HttpTransportError {
  override name = 'HttpTimeoutError';
  constructor(
    readonly phase: 'connect' | 'response',
    readonly timeoutMs: number,
    url: string,
  ) {
    super(
      `${phase === 'connect' ? 'connecting to' : 'waiting for the response of'} ${url} took longer than ${timeoutMs} ms`,
    );
  }
}

export class HttpConnectionError extends HttpTransportError {
  override name = 'HttpConnectionError';
  constructor(
    readonly code: string | undefined,
    url: string,
    cause: unknown,
  ) {
    super(`request to ${url} failed: ${code ?? (cause as Error).message}`, { cause });
  }
}

export class HttpResponseTooLargeError extends HttpTransportError {
  override name = 'HttpResponseTooLargeError';
  constructor(limit: number, url: string) {
    super(`response of ${url} is larger than ${limit} bytes`);
  }
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
  /** TCP connections opened so far, per host (keep-alive reuse shows as a low number). */
  connectionsOpened(): Record<string, number>;
  close(): void;
}

export function createHttpClient(options: Partial<HttpClientOptions> = {}): HttpClient {
  const settings = { ...httpClientDefaults, ...options };
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets, scheduling: 'lifo' as const };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
  const opened: Record<string, number> = {};

  function request(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (transport === undefined) return Promise.reject(new Error(`unsupported URL protocol in ${req.url}`));
    const where = `${req.method} ${url.origin}${url.pathname}`;
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));

    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (error: Error | undefined, response?: HttpResponse) => {
        if (settled) return;
        settled = true;
        for (const timer of timers) clearTimeout(timer);
        if (error) {
          outgoing.destroy();
          reject(error);
        } else resolve(response as HttpResponse);
      };

      const outgoing = transport.request(url, {
        method: req.method,
        headers,
        agent: agents[url.protocol as 'http:' | 'https:'],
      });
      const startResponseTimer = () =>
        timers.push(
          setTimeout(
            () => finish(new HttpTimeoutError('response', settings.responseTimeoutMs, where)),
            settings.responseTimeoutMs,
          ),
        );
      outgoing.on('socket', (socket) => {
        // A reused keep-alive socket is already connected: only the response timer runs.
        if (!socket.connecting) return startResponseTimer();
        opened[url.host] = (opened[url.host] ?? 0) + 1;
        const timer = setTimeout(
          () => finish(new HttpTimeoutError('connect', settings.connectTimeoutMs, where)),
          settings.connectTimeoutMs,
        );
        timers.push(timer);
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          startResponseTimer();
        });
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => finish(new HttpConnectionError(error.code, where, error)));
      outgoing.on('response', (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > settings.maxResponseBytes) finish(new HttpResponseTooLargeError(settings.maxResponseBytes, where));
          else chunks.push(chunk);
        });
        incoming.on('error', (error: NodeJS.ErrnoException) =>
          finish(new HttpConnectionError(error.code, where, error)),
        );
        incoming.on('end', () => {
          const responseHeaders: Record<string, string | undefined> = {};
          for (const [name, value] of Object.entries(incoming.headers)) {
            responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          finish(undefined, {
            status: incoming.statusCode ?? 0,
            headers: responseHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      outgoing.end(req.body);
    });
  }

  return {
    request,
    connectionsOpened: () => ({ ...opened }),
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
