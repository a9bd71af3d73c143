/**
 * `npm start`: the whole product on one machine, no AWS account.
 *   - the provider emulator + local AWS endpoints on EMULATOR_PORT (4010):
 *     Secrets Manager from local/secrets.json (or LOCAL_SECRETS_FILE),
 *     DynamoDB (dynalite), SQS (fauxqs), with the table and queues of
 *     infra/resources.yml;
 *   - the functions under serverless-offline, running the same
 *     bundles as in AWS with the SDK and providers pointed at loopback —
 *     except a provider whose PROVIDER_URL_* (or SHOPIFY_ADMIN_URL, or
 *     META_GRAPH_URL for Meta's Graph API) is set: its calls go to that URL
 *     (empty: its public API), e.g. to try one real account with its keys in
 *     the secrets file;
 *   - on PORT (3000) the HTTP API in front of them: a failed or timed-out
 *     function is answered with API Gateway's 5xx, and a few invocations run
 *     at once (local/emulator/api-gateway-front.ts);
 *   - a poller that feeds the delivery queue to the deliver function, as
 *     Lambda's event source mapping does.
 * Ctrl-C or SIGTERM stops every child.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRoutesConfig, PROVIDERS, type ProviderName, type RoutesConfig } from '../shared/config/routes.js';
import { SOURCES } from '../shared/contact.js';
import { DEFAULT_BASE_URLS } from '../shared/providers/types.js';
import { DEFAULT_GRAPH_URL } from '../shared/sources/meta-graph.js';
import type { SQSBatchResponse } from 'aws-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localSecretsFile, localStack, type Endpoint, type LocalStack } from '../cli/context.js';
import { PROVIDER_LABELS } from '../cli/secret-specs.js';
import { shellQuote } from '../cli/shell.js';
import { startApiGatewayFront } from '../local/emulator/api-gateway-front.js';
import { credentialsFromSecrets } from '../local/emulator/credentials.js';
import { functionAccessKeyId } from '../local/emulator/iam.js';
import { localFunctionEnv } from '../local/emulator/local-env.js';
import { provisionLocal } from '../local/emulator/provision.js';
import { startQueuePoller, type QueuePoller } from '../local/emulator/queue-poller.js';
import { startEmulator } from '../local/emulator/server.js';
import { freePort } from '../local/processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAGE = 'local';

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(`${name} must be a TCP port number, got "${raw}"`);
  return value;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(path.resolve(root, file), 'utf8'));
  } catch (error) {
    return fail(`cannot read ${path.relative(root, file) || file}: ${(error as Error).message}`);
  }
}

// Ports and provider URLs are read as the contact-relay command reads them, so both agree on the stack.
let stack: LocalStack;
try {
  stack = localStack(process.env);
} catch (error) {
  fail((error as Error).message);
}
const portOf = (url: string) => Number(new URL(url).port || 80);
const httpPort = portOf(stack.apiUrl);
const emulatorPort = portOf(stack.emulatorUrl);
const lambdaPort = port('LAMBDA_PORT', 3002);
const visibilityTimeoutSeconds = port('LOCAL_QUEUE_VISIBILITY_SECONDS', 10);

let routes: RoutesConfig | undefined;
try {
  routes = parseRoutesConfig(readJson('config/routes.json'));
} catch (error) {
  fail((error as Error).message);
}
const secretsFile = localSecretsFile(process.env);
const secretsLabel = path.relative(root, secretsFile).startsWith('..') ? secretsFile : path.relative(root, secretsFile);
const secrets = readJson(secretsFile);
if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) {
  fail(`${secretsLabel} must be an object of secret name → secret JSON value`);
}

const emulator = await startEmulator({
  port: emulatorPort,
  aws: true,
  secrets: secrets as Record<string, unknown>,
  credentials: credentialsFromSecrets(routes, secrets as Record<string, unknown>, STAGE),
  // Each function calls as itself (infra/plugins/local-function-credentials.cjs) and gets what its role grants.
  iam: { stage: STAGE },
}).catch((error: Error) => fail(`the emulator cannot listen on port ${emulatorPort}: ${error.message}`));
const resources = await provisionLocal({ endpoint: emulator.url, stage: STAGE, visibilityTimeoutSeconds });
// serverless-offline serves the routes on an internal port; PORT is the HTTP API in front of it.
const offlineHttpPort = await freePort();
const front = await startApiGatewayFront({
  port: httpPort,
  host: '127.0.0.1',
  upstreamPort: offlineHttpPort,
  log: (line) => console.error(line),
}).catch((error: Error) => fail(`cannot listen on port ${httpPort}: ${error.message}`));

/** Services sent elsewhere than the emulator keep their variable: a URL, or empty for the public API. */
const elsewhere = [...Object.values(stack.providers), stack.shopifyAdmin, stack.metaGraph].filter(
  (to) => to.source !== 'emulator',
);
// serverless.yml hands these variables to every function (deliver, which the poller invokes through
// serverless-offline, healthcheck, reconcile, redrive), so all of them call the same place.
const env = {
  ...process.env,
  PORT: String(offlineHttpPort),
  LAMBDA_PORT: String(lambdaPort),
  ...localFunctionEnv(STAGE, emulator.url, resources),
  ...Object.fromEntries(elsewhere.map((endpoint) => [endpoint.variable, endpoint.url ?? ''])),
};

const offline = spawn(
  process.execPath,
  [path.join(root, 'node_modules', 'osls', 'bin', 'serverless.js'), 'offline', 'start', '--stage', STAGE],
  {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  },
);

/** Invoke a function through serverless-offline's Lambda API, as AWS services do. */
async function invoke(name: string, event: unknown): Promise<unknown> {
  const response = await fetch(
    `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/contact-relay-${STAGE}-${name}/invocations`,
    { method: 'POST', body: JSON.stringify(event) },
  );
  const text = await response.text();
  if (!response.ok || response.headers.get('x-amz-function-error')) throw new Error(`${name} failed: ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

// Lambda's event source mapping receives and deletes with the function's role.
const sqs = new SQSClient({
  endpoint: emulator.url,
  region: 'us-east-1',
  credentials: { accessKeyId: functionAccessKeyId('deliver'), secretAccessKey: 'local' },
});
let poller: QueuePoller | undefined;

let announced = false;
const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) => {
  stream.on('data', (chunk: Buffer) => {
    out.write(chunk);
    if (!announced && chunk.toString().includes('Server ready')) {
      announced = true;
      poller = startQueuePoller({
        sqs,
        queueUrl: resources.queueUrl,
        queueArn: resources.queueArn,
        invoke: async (event) => (await invoke('deliver', event)) as SQSBatchResponse,
        onError: (error) => console.error(`delivery poller: ${(error as Error).message}`),
      });
      announce();
    }
  });
};
relay(offline.stdout, process.stdout);
relay(offline.stderr, process.stderr);

/** Where one service's calls go, for the banner. */
function destination(endpoint: Endpoint, publicUrl: string): string {
  if (endpoint.source === 'emulator') return `emulator   ${endpoint.url}`;
  const why = endpoint.source === 'env' ? endpoint.variable : `public API: ${endpoint.variable} is empty`;
  return `REAL       ${endpoint.url ?? publicUrl}  (${why}; keys from ${secretsLabel})`;
}

/** `doctor` with the variables this stack runs with, so it checks the same accounts at the same URLs. */
function doctorCommand(): string {
  const same = elsewhere.map((endpoint) => `${endpoint.variable}=${shellQuote(endpoint.url ?? '')}`);
  for (const name of ['EMULATOR_PORT', 'LOCAL_SECRETS_FILE']) {
    const value = process.env[name];
    if (value !== undefined && value !== '') same.push(`${name}=${shellQuote(value)}`);
  }
  return `${same.join(' ')} npx contact-relay doctor`;
}

function routing(): string[] {
  // 99digital's host is the secret's baseUrl (a white-label Chatwoot has no single public host).
  const publicUrl = (provider: ProviderName) =>
    provider === 'chatwoot' ? "the secret's baseUrl" : DEFAULT_BASE_URLS[provider];
  const rows: Array<[string, string]> = PROVIDERS.map((provider) => [
    PROVIDER_LABELS[provider],
    destination(stack.providers[provider], publicUrl(provider)),
  ]);
  rows.push(['Shopify Admin API', destination(stack.shopifyAdmin, 'https://{shopDomain of the secret}')]);
  // Lead Ads leads are read with the page tokens of the meta-leads secret.
  rows.push(['Meta Graph API', destination(stack.metaGraph, DEFAULT_GRAPH_URL)]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    'Providers (set PROVIDER_URL_TWOCHAT/_KIRIM/_CALLBELL/_CHATWOOT, SHOPIFY_ADMIN_URL or META_GRAPH_URL to call a real API):',
    ...rows.map(([name, where]) => `  ${name.padEnd(width)}  ${where}`),
    ...(elsewhere.length > 0 ? [`  Check those accounts first: ${doctorCommand()}`] : []),
  ];
}

function announce(): void {
  const base = `http://127.0.0.1:${httpPort}`;
  console.log(
    [
      '',
      'contact-relay is running locally (stage "local").',
      '',
      'Webhook URLs (route "default"):',
      ...SOURCES.map((source) => `  POST ${base}/hooks/${source}/default`),
      `  Shopify via EventBridge: curl -s -X POST http://127.0.0.1:${lambdaPort}/2015-03-31/functions/contact-relay-${STAGE}-shopifyEvents/invocations -d @test/fixtures/shopify/eventbridge-orders-create.json`,
      `  Signing secrets and tokens: ${secretsLabel}`,
      '',
      ...routing(),
      '',
      `Provider emulator: ${emulator.url}  (/twochat /kirim /callbell /chatwoot)`,
      `  requests received: GET ${emulator.url}/_emulator/requests?provider=twochat`,
      `  forget them:       DELETE ${emulator.url}/_emulator/requests`,
      `Shopify Admin API: ${emulator.url}/shopify  (seed orders for reconcile: POST ${emulator.url}/_emulator/shopify/orders)`,
      `Meta Graph API:    ${emulator.url}/meta  (seed a lead deliver reads: POST ${emulator.url}/_emulator/meta/leads,`,
      `                   a Graph lead {id, created_time, field_data, form_id, ad_id}; or: npx contact-relay send meta-leads --sample)`,
      `AWS endpoints:     ${emulator.url}  (Secrets Manager from ${secretsLabel}, DynamoDB, SQS)`,
      `  IAM:             each function may do what its role in infra/ grants (GET ${emulator.url}/_emulator/iam)`,
      `  delivery queue:  ${resources.queueUrl}  (dead letters: ${resources.dlqUrl})`,
      '',
      'Scheduled functions run on their schedules, as EventBridge Scheduler runs them in AWS; to run one now:',
      ...['redrive', 'healthcheck', 'reconcile'].map(
        (name) =>
          `  curl -s -X POST http://127.0.0.1:${lambdaPort}/2015-03-31/functions/contact-relay-${STAGE}-${name}/invocations -d '{}'`,
      ),
      '',
      'Try it:',
      `  curl -s -X POST ${base}/hooks/form/default -H 'content-type: application/json' \\`,
      `    -d '{"name":"Ada Lovelace","email":"ada@example.com","phone":"(415) 555-0132"}'`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await poller?.stop();
  sqs.destroy();
  if (offline.exitCode === null && offline.pid !== undefined) {
    try {
      process.kill(-offline.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const killer = setTimeout(() => {
      try {
        if (offline.pid !== undefined) process.kill(-offline.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await new Promise((resolve) => offline.once('exit', resolve));
    clearTimeout(killer);
  }
  await front.close();
  await emulator.close();
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
offline.on('exit', (code) => {
  if (!stopping) {
    console.error(`serverless-offline exited with code ${code ?? 'null'}`);
    void stop(code === 0 ? 0 : 1);
  }
});
