import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpClient,
  HttpConnectionError,
  HttpResponseTooLargeError,
  HttpTimeoutError,
  HttpTransportError,
} from '../../shared/http.js';
import { freePort } from '../../local/processes.js';

let server: http.Server;
let base: string;
let connections = 0;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    if (request.url === '/hang') return; // never answers
    if (request.url === '/big') {
      response.end('x'.repeat(2048));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.writeHead(201, { 'content-type': 'application/json', 'x-multi': ['a', 'b'] });
      response.end(
        JSON.stringify({
          method: request.method,
          body: Buffer.concat(chunks).toString(),
          header: request.headers['x-test'],
        }),
      );
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('Function: createHttpClient', () => {
  it('sends the method, headers and body and reads status, headers and body', async () => {
    const client = createHttpClient();
    const response = await client.request({
      method: 'POST',
      url: `${base}/echo`,
      headers: { 'x-test': 'yes' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(201);
    expect(response.headers['x-multi']).toBe('a, b');
    expect(JSON.parse(response.body)).toEqual({ method: 'POST', body: '{"a":1}', header: 'yes' });
    client.close();
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    const client = createHttpClient();
    const before = connections;
    for (let i = 0; i < 20; i++) await client.request({ method: 'GET', url: `${base}/n${i}` });
    expect(connections - before).toBe(1);
    expect(client.connectionsOpened()).toEqual({ [new URL(base).host]: 1 });
    client.close();
  });

  it('gives up on a response that does not come in time', async () => {
    const client = createHttpClient({ responseTimeoutMs: 200 });
    const error = await client.request({ method: 'GET', url: `${base}/hang` }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect(error).toBeInstanceOf(HttpTransportError);
    expect(error).toMatchObject({ phase: 'response', timeoutMs: 200 });
    client.close();
  });

  it('refuses a response larger than the limit', async () => {
    const client = createHttpClient({ maxResponseBytes: 1024 });
    const tooLarge = client.request({ method: 'GET', url: `${base}/big` });
    await expect(tooLarge).rejects.toBeInstanceOf(HttpResponseTooLargeError);
    await expect(tooLarge).rejects.toBeInstanceOf(HttpTransportError);
    client.close();
  });

  it('reports a refused connection as a connection error', async () => {
    const client = createHttpClient();
    const port = await freePort();
    const error = await client
      .request({ method: 'GET', url: `http://127.0.0.1:${port}/` })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpConnectionError);
    expect(error).toBeInstanceOf(HttpTransportError);
    expect((error as HttpConnectionError).code).toBe('ECONNREFUSED');
    client.close();
  });

  it('refuses URLs that are not http or https', async () => {
    const client = createHttpClient();
    await expect(client.request({ method: 'GET', url: 'ftp://example.com/x' })).rejects.toThrow(
      'unsupported URL protocol',
    );
    client.close();
  });
});
