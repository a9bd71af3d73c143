/**
 * The same replay as deliver-bare.ts through the undici package (bundled, as
 * it would be if shared/http.ts used it): `undici.request` on an Agent with
 * keep-alive and `connections` per origin. Built only when undici resolves
 * from node_modules (it is not a dependency of this project).
 */
import { Agent, request } from 'undici';
import routesFile from '../../config/routes.json' with { type: 'json' };
import { findRoute, parseRoutesConfig } from '../../shared/config/routes.js';
import type { HttpRequest } from '../../shared/http.js';
import { reportResult } from '../lib/children.js';
import { finish, input, plannedRequests, timedRounds } from './deliver-common.js';

const route = findRoute(parseRoutesConfig(routesFile), 'form', 'default');
if (route === undefined) throw new Error('config/routes.json has no form/default route');
const plan = plannedRequests(route);
const opened: Record<string, number> = {};
const dispatcher = new Agent({
  connections: 16,
  connect: { timeout: 3_000 },
  headersTimeout: 10_000,
  bodyTimeout: 10_000,
});
dispatcher.on('connect', (origin) => {
  const host = new URL(String(origin)).host;
  opened[host] = (opened[host] ?? 0) + 1;
});

async function send(req: HttpRequest): Promise<number> {
  const response = await request(req.url, {
    method: req.method,
    dispatcher,
    ...(req.headers !== undefined ? { headers: req.headers } : {}),
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
  await response.body.text();
  return response.statusCode;
}

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
await dispatcher.close();
reportResult(
  finish(
    {
      client: 'undici package (Agent, connections 16)',
      contacts: input.contacts,
      concurrency: input.concurrency,
      elapsedMs,
      rssAtStartMb,
      rounds,
      requests,
      outcomes,
      clientConnections: opened,
    },
    cpuStart,
  ),
);
