/**
 * The floor of the deliver path: the same requests (built beforehand by the
 * same adapters), replayed with nothing but a client — lookup then create per
 * provider, providers side by side, `concurrency` contacts in flight — and
 * every response body read. `argv[2]` picks the client:
 *   bare   node:http with `new http.Agent({ keepAlive: true })` (Node's defaults otherwise);
 *   fetch  Node's built-in fetch (undici inside Node, its global keep-alive dispatcher).
 */
import http from 'node:http';
import type { HttpRequest } from '../../shared/http.js';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { findRoute, parseRoutesConfig } from '../../shared/config/routes.js';
import { reportResult } from '../lib/children.js';
import { finish, input, plannedRequests, timedRounds } from './deliver-common.js';

const mode = process.argv[2] === 'fetch' ? 'fetch' : 'bare';
const route = findRoute(parseRoutesConfig(routesFile), 'form', 'default');
if (route === undefined) throw new Error('config/routes.json has no form/default route');
const plan = plannedRequests(route);

const agent = new http.Agent({ keepAlive: true });
const opened: Record<string, number> = {};
const createConnection = agent.createConnection.bind(agent);
agent.createConnection = ((options: { host?: string; port?: number }, callback?: unknown) => {
  const host = `${options.host}:${options.port}`;
  opened[host] = (opened[host] ?? 0) + 1;
  return (createConnection as (o: unknown, c?: unknown) => ReturnType<typeof createConnection>)(options, callback);
}) as typeof agent.createConnection;

function viaHttp(req: HttpRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(req.url, { method: req.method, headers: req.headers, agent }, (incoming) => {
      incoming.on('data', () => undefined);
      incoming.on('end', () => resolve(incoming.statusCode ?? 0));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

async function viaFetch(req: HttpRequest): Promise<number> {
  const response = await fetch(req.url, {
    method: req.method,
    ...(req.headers !== undefined ? { headers: req.headers } : {}),
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
  await response.text();
  return response.status;
}

const send = mode === 'fetch' ? viaFetch : viaHttp;
const outcomes: Record<string, number> = {};
let requests = 0;
const cpuStart = process.cpuUsage();
const { elapsedMs, rssAtStartMb, rounds } = await timedRounds(async (index) => {
  await Promise.all(
    (plan[index] ?? []).map(async (sequence) => {
      for (const req of sequence) {
        const status = await send(req);
        requests++;
        const key = `${Math.floor(status / 100)}xx`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      }
    }),
  );
});
agent.destroy();
reportResult(
  finish(
    {
      client: mode === 'fetch' ? 'built-in fetch' : 'bare node:http keep-alive',
      contacts: input.contacts,
      concurrency: input.concurrency,
      elapsedMs,
      rssAtStartMb,
      rounds,
      requests,
      outcomes,
      ...(mode === 'bare' ? { clientConnections: opened } : {}),
    },
    cpuStart,
  ),
);
