/**
 * The bench's emulator process (run with tsx): one provider emulator per
 * provider, each on its own port so "connections per provider host" is a
 * count per server, plus one emulator with the AWS endpoints (Secrets
 * Manager, DynamoDB by dynalite, SQS by fauxqs) and the table and queues of
 * infra/resources.yml. Kept out of the measured processes so their CPU and
 * memory are theirs alone.
 *
 * Requests (IPC): `stats` → TCP connections accepted per server, GetSecretValue
 * calls per secret, AWS calls, this process's CPU time; `reset` → counters and
 * emulator state cleared (secrets and credentials stay); `clear` → only the
 * provider emulators' contacts and request logs cleared; `exit`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { provisionLocal } from '../../local/emulator/provision.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';
import { benchSecrets, PROVIDER_KEYS, STAGE } from '../lib/fixtures.js';

const PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;

// Every server this process creates, with the connections it accepted (the emulator does not expose its server).
const servers: http.Server[] = [];
const connections = new Map<http.Server, number>();
const createServer = http.createServer.bind(http);
(http as { createServer: typeof http.createServer }).createServer = ((
  ...args: Parameters<typeof http.createServer>
) => {
  const server = createServer(...args);
  servers.push(server);
  connections.set(server, 0);
  server.on('connection', () => connections.set(server, (connections.get(server) ?? 0) + 1));
  return server;
}) as typeof http.createServer;

function serverOf(emulator: Emulator): http.Server {
  const server = servers.find((candidate) => (candidate.address() as AddressInfo | null)?.port === emulator.port);
  if (server === undefined) throw new Error(`no server on port ${emulator.port}`);
  return server;
}

async function main(): Promise<void> {
  const secrets = benchSecrets();
  const providers = {} as Record<(typeof PROVIDERS)[number], Emulator>;
  for (const provider of PROVIDERS) {
    providers[provider] = await startEmulator({ secrets, credentials: { [provider]: PROVIDER_KEYS[provider] } });
  }
  const aws = await startEmulator({ aws: true, secrets, credentials: PROVIDER_KEYS });
  const resources = await provisionLocal({ endpoint: aws.url, stage: STAGE, visibilityTimeoutSeconds: 300 });
  const all = { ...providers, aws };

  const stats = () => {
    const cpu = process.cpuUsage();
    const secretCalls: Record<string, number> = {};
    for (const request of aws.state.requests) {
      if (request.provider !== 'secretsmanager') continue;
      const name = (request.body as { SecretId?: string } | undefined)?.SecretId ?? '?';
      secretCalls[name] = (secretCalls[name] ?? 0) + 1;
    }
    return {
      connections: Object.fromEntries(
        Object.entries(all).map(([name, emulator]) => [name, connections.get(serverOf(emulator)) ?? 0]),
      ),
      requests: Object.fromEntries(
        Object.entries(providers).map(([name, emulator]) => [name, emulator.state.requests.length]),
      ),
      contacts: Object.fromEntries(
        Object.entries(providers).map(([name, emulator]) => [name, emulator.state.contacts.length]),
      ),
      statuses: Object.fromEntries(
        Object.entries(providers).map(([name, emulator]) => {
          const counts: Record<string, number> = {};
          for (const request of emulator.state.requests) counts[request.status] = (counts[request.status] ?? 0) + 1;
          return [name, counts];
        }),
      ),
      secretCalls,
      awsCalls: Object.fromEntries(aws.state.awsCalls),
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssMb: process.memoryUsage().rss / 1048576,
    };
  };

  process.on('message', (message: { id: number; cmd: string }) => {
    void (async () => {
      try {
        if (message.cmd === 'exit') {
          for (const emulator of Object.values(all)) await emulator.close();
          process.exit(0);
        }
        if (message.cmd === 'stats') return process.send?.({ id: message.id, value: stats() });
        if (message.cmd === 'clear') {
          // Between rounds of a delivery run: the providers forget their contacts and requests (lookups stay cheap).
          for (const emulator of Object.values(providers)) emulator.state.reset();
          return process.send?.({ id: message.id, value: true });
        }
        if (message.cmd === 'reset') {
          for (const server of connections.keys()) connections.set(server, 0);
          for (const emulator of Object.values(all)) emulator.state.reset();
          return process.send?.({ id: message.id, value: true });
        }
        process.send?.({ id: message.id, error: `unknown command ${message.cmd}` });
      } catch (error) {
        process.send?.({ id: message.id, error: (error as Error).stack ?? String(error) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));

  process.send?.({
    type: 'ready',
    value: {
      providers: Object.fromEntries(Object.entries(providers).map(([name, emulator]) => [name, emulator.url])),
      aws: aws.url,
      resources,
    },
  });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'fatal', error: (error as Error).stack ?? String(error) });
  process.exit(1);
});
