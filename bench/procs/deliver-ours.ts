/**
 * Our deliver path, wired as the deliver function wires it
 * (`providerContext(createRuntime())`: the env validated, the secrets cache
 * on Secrets Manager, the keep-alive client of shared/http.ts), delivering
 * `contacts` contacts through `deliverContact` to the emulators with
 * `concurrency` contacts in flight. The environment points the providers and
 * Secrets Manager at the emulators, as `npm start` does. Peak RSS is this
 * process's: the deliver path over the whole run.
 *
 * `argv[2] === 'thin'`: the same engine and adapters over a minimal
 * node:http keep-alive transport (no timeouts, no size bound), to split our
 * overhead between shared/http.ts and the rest of the deliver path.
 */
import http from 'node:http';
import { findRoute } from '../../shared/config/routes.js';
import { deliverContact } from '../../shared/delivery.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../shared/http.js';
import { createRuntime, providerContext } from '../../shared/runtime.js';
import { reportResult } from '../lib/children.js';
import { benchContact } from '../lib/fixtures.js';
import { finish, input, timedRounds } from './deliver-common.js';

function thinClient(): HttpClient {
  const agent = new http.Agent({ keepAlive: true });
  const opened: Record<string, number> = {};
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = ((options: { host?: string; port?: number }, callback?: unknown) => {
    const host = `${options.host}:${options.port}`;
    opened[host] = (opened[host] ?? 0) + 1;
    return (createConnection as (o: unknown, c?: unknown) => ReturnType<typeof createConnection>)(options, callback);
  }) as typeof agent.createConnection;
  return {
    request: (req: HttpRequest) =>
      new Promise<HttpResponse>((resolve, reject) => {
        const outgoing = http.request(req.url, { method: req.method, headers: req.headers, agent }, (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () =>
            resolve({
              status: incoming.statusCode ?? 0,
              headers: incoming.headers as Record<string, string | undefined>,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          incoming.on('error', reject);
        });
        outgoing.on('error', reject);
        outgoing.end(req.body);
      }),
    connectionsOpened: () => ({ ...opened }),
    close: () => agent.destroy(),
  };
}

const thin = process.argv[2] === 'thin';
const runtime = createRuntime();
const context = providerContext(runtime);
if (thin) {
  context.http.close();
  context.http = thinClient();
}
const route = findRoute(runtime.routes, 'form', 'default');
if (route === undefined) throw new Error('config/routes.json has no form/default route');

const outcomes: Record<string, number> = {};
const cpuStart = process.cpuUsage();
const { elapsedMs, rssAtStartMb, rounds } = await timedRounds(async (index) => {
  for (const outcome of await deliverContact(benchContact(index), route, context)) {
    const key =
      outcome.status === 'failed' || outcome.status === 'transient'
        ? `${outcome.status}:${outcome.provider}:${outcome.message}`
        : outcome.status;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
});
const clientConnections = context.http.connectionsOpened();
context.http.close();
reportResult(
  finish(
    {
      client: thin ? 'our engine + adapters over a thin node:http' : 'ours (shared/http.ts)',
      contacts: input.contacts,
      concurrency: input.concurrency,
      elapsedMs,
      rssAtStartMb,
      rounds,
      requests: Number.NaN,
      outcomes,
      clientConnections,
    },
    cpuStart,
  ),
);
