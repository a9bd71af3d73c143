/**
 * The HTTP API of `npm start`: listens on PORT and forwards every request,
 * bytes unchanged, to serverless-offline on an internal port, and answers
 * what Amazon API Gateway's HTTP API answers where serverless-offline does not.
 *
 * A function that fails. serverless-offline 14.8.2 turns a thrown error or
 * its own timeout ("[504] - Lambda timeout.") into `{errorMessage, errorType,
 * stackTrace}` and, on a payload 2.0 route, then applies 2.0's rule for a
 * result without `statusCode` (src/events/http/HttpServer.js) to that error
 * object: the sender gets 200, never retries, and the webhook is lost. It has
 * no option that changes this. The HTTP API answers a function error with
 * 500 `{"message":"Internal Server Error"}`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html);
 * a function timeout is a function error (Lambda reports it as one, and the
 * functions' timeouts are below the integration's 30 s). Assumption: the
 * status is 500, as HTTP API users report for errors and timeouts
 * (https://github.com/denoland/deno_registry2/issues/87); the Lambda guide's
 * 502 (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html)
 * is REST APIs' answer. A response the HTTP API cannot read, which
 * serverless-offline answers 502 with its own `offlineInfo`, is a 500 there too.
 *
 * Many requests at once. serverless-offline starts a new worker thread, which
 * loads the function's bundle and builds its clients, for every request that
 * finds no idle instance, with that invocation's timeout already running: a
 * burst of 60 on a fresh stack is 60 cold starts sharing this machine's CPU,
 * and most of them time out. In AWS each cold start has its own share of CPU.
 * So at most `concurrency` (default 4) invocations run here at once and the
 * others wait their turn, in order. A request with no answer 30 s after it
 * arrived, waiting included (osls deploys `TimeoutInMillis: 30000`, the HTTP
 * API's maximum, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
 * gets the HTTP API's integration timeout
 * answer, 503 `{"message":"Service Unavailable"}` (an HTTP API's answer as seen
 * in https://github.com/cortexlabs/cortex/issues/1225); a function already
 * running keeps its slot until it ends, as a Lambda invocation runs on after
 * API Gateway gave up on it. Waiting stands in for Lambda scaling out, so
 * nothing is refused as one too many: in AWS a throttled invocation is a 500
 * (the Lambda guide above) and the HTTP API's own throttling a 429
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html);
 * neither limit is reached by a developer's traffic, and neither is modelled.
 *
 * Every other answer passes through unchanged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRecord } from './http-kit.js';

const INTEGRATION_TIMEOUT_MS = 30_000;
/** Enough for a developer's webhooks; few enough that cold starts on two cores end well inside a 10 s timeout. */
const DEFAULT_CONCURRENCY = 4;

interface ApiGatewayFrontOptions {
  port: number;
  host?: string;
  /** Where serverless-offline serves the HTTP routes. */
  upstreamPort: number;
  /** Invocations forwarded at once; the others wait in arrival order. */
  concurrency?: number;
  /** One line per answer the front gave instead of serverless-offline's. */
  log?: (line: string) => void;
}

interface ApiGatewayFront {
  port: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/** The HTTP API's own answers: status and body. */
const GATEWAY_ANSWERS = {
  functionError: { status: 500, body: '{"message":"Internal Server Error"}' },
  integrationTimeout: { status: 503, body: '{"message":"Service Unavailable"}' },
} as const;

/**
 * The errorType when serverless-offline's answer reports a failed function
 * rather than the function's own response. Our functions always return a
 * `statusCode`, so a 200 whose body is exactly Lambda's error shape is never
 * theirs.
 */
function functionFailure(status: number, body: Buffer): string | undefined {
  if (status !== 200 && status !== 502) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || typeof parsed['errorMessage'] !== 'string' || typeof parsed['errorType'] !== 'string') {
    return undefined;
  }
  const keys = Object.keys(parsed).sort().join(',');
  if (status === 200 && keys === 'errorMessage,errorType,stackTrace') return parsed['errorType'];
  if (status === 502 && 'offlineInfo' in parsed) return `${parsed['errorType']} (malformed function response)`;
  return undefined;
}

/** Waiters in arrival order; `release` hands a free slot to the first one still waiting. */
class Slots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  acquire(): { ready: Promise<void>; cancel: () => void } {
    if (this.running < this.limit) {
      this.running += 1;
      return { ready: Promise.resolve(), cancel: () => undefined };
    }
    let wake!: () => void;
    const ready = new Promise<void>((resolve) => (wake = resolve));
    this.waiting.push(wake);
    return {
      ready,
      cancel: () => {
        const index = this.waiting.indexOf(wake);
        if (index >= 0) this.waiting.splice(index, 1);
      },
    };
  }

  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.running -= 1;
    else next();
  }
}

interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export async function startApiGatewayFront(options: ApiGatewayFrontOptions): Promise<ApiGatewayFront> {
  const slots = new Slots(options.concurrency ?? DEFAULT_CONCURRENCY);
  const timeoutMs = INTEGRATION_TIMEOUT_MS;
  const agent = new http.Agent({ keepAlive: true });
  const log = options.log ?? (() => undefined);

  const forward = (incoming: http.IncomingMessage, body: Buffer) =>
    new Promise<Upstream>((resolve, reject) => {
      // Without accept-encoding serverless-offline answers uncompressed, so its error answers can be read here.
      // Assumption: an HTTP API never compresses; compression is a REST API setting (minimumCompressionSize,
      // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gzip-compression-decompression.html).
      const headers = Object.fromEntries(
        Object.entries(incoming.headers).filter(
          ([name]) => !HOP_BY_HOP.has(name) && name !== 'content-length' && name !== 'accept-encoding',
        ),
      );
      const request = http.request(
        {
          // serverless-offline's default host.
          host: 'localhost',
          port: options.upstreamPort,
          method: incoming.method,
          path: incoming.url,
          agent,
          headers: { ...headers, 'content-length': String(body.length) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });

  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => void handle(Buffer.concat(chunks)));

    const where = `${incoming.method ?? 'GET'} ${(incoming.url ?? '/').split('?')[0]}`;
    const answer = (status: number, headers: http.OutgoingHttpHeaders, body: Buffer | string) => {
      if (outgoing.headersSent || outgoing.destroyed) return;
      outgoing.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
      outgoing.end(body);
    };
    const gateway = (which: keyof typeof GATEWAY_ANSWERS, why: string) => {
      const { status, body } = GATEWAY_ANSWERS[which];
      log(`HTTP API: ${where} answered ${status} (${why})`);
      answer(status, { 'content-type': 'application/json' }, body);
    };

    async function handle(body: Buffer): Promise<void> {
      const slot = slots.acquire();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        slot.cancel();
        gateway('integrationTimeout', `no answer within ${timeoutMs / 1000} s`);
      }, timeoutMs);
      await slot.ready;
      if (timedOut) {
        // Cancelled while waiting; a slot handed over at the same moment goes to the next one.
        slots.release();
        return;
      }
      try {
        const upstream = await forward(incoming, body);
        const failure = functionFailure(upstream.status, upstream.body);
        if (timedOut) return;
        if (failure !== undefined) return gateway('functionError', `function error: ${failure}`);
        const headers = Object.fromEntries(
          Object.entries(upstream.headers).filter(([name]) => !HOP_BY_HOP.has(name) && name !== 'content-length'),
        );
        answer(upstream.status, headers, upstream.body);
      } catch (error) {
        if (!timedOut) gateway('functionError', `the functions did not answer: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
        slots.release();
      }
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? 'localhost', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
