import { createHttpClient } from '../../shared/http.js';
import { checkProviderAccounts, type AccountHealth } from '../../shared/operations/healthcheck.js';
import { PROVIDERS, type ProviderName } from '../../shared/config/routes.js';
import { SecretFormatError, SecretNotFoundError } from '../../shared/secrets.js';
import * as z from '../../shared/zod.js';
import { noExtraPositionals, parse } from '../args.js';
import { checkStage, loadRoutes, localStack, providerEndpoints, secretBackend, shown } from '../context.js';
import type { Endpoint, LoadedRoutes, SecretBackend } from '../context.js';
import { CliError, EXIT, plural, print, type Io } from '../io.js';
import { neededSecrets, outsideStage, PROVIDER_LABELS, type SecretSpec } from '../secret-specs.js';
import { createSecretCommand, putSecretCommand, regionArgument } from '../shell.js';

const DOCTOR_HELP = `Usage: contact-relay doctor [--stage S] [options]

Check a stage's configuration and print a ✓/✗ table, with the fix for each ✗:
  - the route config parses (config/routes.json);
  - every secret it references exists with the right shape (and no template
    placeholder left): each provider account's credentials, the signing secret
    or token of every route whose auth checks one, the Shopify Admin API
    credentials of every route with reconcile;
  - every provider account's credentials work: one cheap authenticated GET,
    the same call as the scheduled healthcheck (2Chat GET /open/whatsapp/get-numbers,
    Kirim GET /v1/accounts, Callbell GET /v1/channels, 99digital GET the inbox).

Stage local (the default) reads local/secrets.json (or LOCAL_SECRETS_FILE)
and calls the providers where the functions of \`npm start\` call them: the
emulator at http://127.0.0.1:$EMULATOR_PORT (4010), except a provider whose
PROVIDER_URL_TWOCHAT, PROVIDER_URL_KIRIM, PROVIDER_URL_CALLBELL or
PROVIDER_URL_CHATWOOT is set: that URL (set but empty: its public API).
Any other stage reads AWS Secrets Manager (the usual AWS credentials, in
--region) and calls the real APIs, or the PROVIDER_URL_* ones when set.

Options:
  --stage S         stage to check (default: local)
  --region R        AWS region of Secrets Manager, for a stage other than local
                    (default: AWS_REGION, else AWS_DEFAULT_REGION, else the region
                    serverless.yml deploys to without --region, us-east-1; a stack
                    deployed with --region needs the same --region here)
  --secrets FILE    read secrets from this JSON file (name → value) instead
  --config FILE     route config (default: config/routes.json)
  --emulator URL    call the providers without a PROVIDER_URL_* at
                    URL/{twochat,kirim,callbell,chatwoot} (default for stage
                    local: http://127.0.0.1:$EMULATOR_PORT, 4010 when unset)
  --json            print {stage, ok, checks: [{status, subject, detail, fix}]}
  -h, --help        this help

Exit codes:
  0  every check passed
  1  a check failed (✗)
  2  usage error
`;

const OPTIONS = {
  stage: { type: 'string' },
  region: { type: 'string' },
  secrets: { type: 'string' },
  config: { type: 'string' },
  emulator: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface Check {
  status: 'ok' | 'fail' | 'skip';
  subject: string;
  detail: string;
  fix?: string[];
}

const MARK = { ok: '✓', fail: '✗', skip: '–' } as const;

/** How to create, correct or re-key a secret, for this backend. */
function secretFix(
  backend: SecretBackend,
  spec: SecretSpec,
  mode: 'create' | 'correct' | 'rekey',
  stage: string,
): string[] {
  const shape = JSON.stringify(spec.template);
  if (backend.kind === 'file') {
    const what =
      mode === 'create'
        ? `add "${spec.name}" to`
        : mode === 'correct'
          ? `correct "${spec.name}" in`
          : `put a valid key in "${spec.name}" in`;
    const restart = backend.servedByNpmStart ? ', then restart `npm start` (it reads the file when it starts)' : '';
    return [`${what} ${backend.label} (shape: ${shape})${restart}`];
  }
  const command = mode === 'create' ? createSecretCommand : putSecretCommand;
  const templates = `contact-relay secrets init --stage ${stage}${regionArgument(backend.region)}`;
  return [
    command(spec.name, spec.template, backend.region),
    `with every <…> filled in${mode === 'create' ? ` (or write templates: ${templates})` : ''}`,
  ];
}

async function checkSecret(backend: SecretBackend, spec: SecretSpec, stage: string): Promise<Check> {
  const subject = `secret ${spec.name}`;
  let value: unknown;
  try {
    value = await backend.store.get(spec.name, z.unknown());
  } catch (error) {
    if (error instanceof SecretNotFoundError)
      return {
        status: 'fail',
        subject,
        detail: `missing: ${spec.purpose}`,
        fix: secretFix(backend, spec, 'create', stage),
      };
    if (error instanceof SecretFormatError)
      return {
        status: 'fail',
        subject,
        detail: `${backend.explain(error)}`,
        fix: secretFix(backend, spec, 'correct', stage),
      };
    const where = `the region (${backend.region})`;
    const fix = `check AWS credentials and ${where}: aws sts get-caller-identity; AWS_PROFILE, --region`;
    return { status: 'fail', subject, detail: backend.explain(error), fix: [fix] };
  }
  const problem = spec.problem(value);
  if (problem !== undefined)
    return {
      status: 'fail',
      subject,
      detail: `wrong shape: ${problem} (${spec.purpose})`,
      fix: secretFix(backend, spec, 'correct', stage),
    };
  return { status: 'ok', subject, detail: spec.purpose };
}

/** Where doctor calls each provider: as the functions would, per `PROVIDER_URL_*`. */
type ProviderRouting = Record<ProviderName, Endpoint>;

/** The URL a provider variable chose, named, so a real account is never mistaken for the emulator. */
const chosenBy = (endpoint: Endpoint) =>
  endpoint.source === 'env' ? ` at ${endpoint.url} (${endpoint.variable})` : '';

function unreachableFix(endpoint: Endpoint, label: string): string {
  switch (endpoint.source) {
    case 'emulator':
      return (
        `start the local stack (npm start): its emulator serves ${label} at ${endpoint.url}; ` +
        'or set EMULATOR_PORT, or pass --emulator URL'
      );
    case 'env':
      return (
        `${label} did not answer at ${endpoint.url}: check ${endpoint.variable} and the network ` +
        '(unset it to use the emulator)'
      );
    default:
      return `${label} did not answer; check the network and ${label}'s status, then run doctor again`;
  }
}

function credentialCheck(
  health: AccountHealth,
  spec: SecretSpec,
  backend: SecretBackend,
  stage: string,
  endpoint: Endpoint,
): Check {
  const label = PROVIDER_LABELS[health.provider];
  const subject = `credentials ${health.account}`;
  if (health.healthy) {
    const detail = `${label} accepted them (HTTP ${health.httpStatus ?? 200})${chosenBy(endpoint)}`;
    return { status: 'ok', subject, detail };
  }
  const detail = `${label}${chosenBy(endpoint)}: ${health.status}${health.message ? ` — ${health.message}` : ''}`;
  switch (health.status) {
    case 'unauthorized':
      return { status: 'fail', subject, detail, fix: secretFix(backend, spec, 'rekey', stage) };
    case 'unreachable':
      return { status: 'fail', subject, detail, fix: [unreachableFix(endpoint, label)] };
    default:
      return {
        status: 'fail',
        subject,
        detail,
        fix: [
          `check the ids in secret ${spec.name} (e.g. Kirim phoneNumberId, 99digital accountId/inboxId and baseUrl)`,
        ],
      };
  }
}

async function runChecks(
  routes: LoadedRoutes,
  backend: SecretBackend,
  stage: string,
  routing: ProviderRouting,
  cwd: string,
): Promise<Check[]> {
  const { config } = routes;
  const routeCount = Object.values(config.sources).reduce((sum, list) => sum + Object.keys(list ?? {}).length, 0);
  const checks: Check[] = [
    {
      status: 'ok',
      subject: 'route config',
      detail: `${shown({ cwd }, routes.file)}: ${plural(Object.keys(config.accounts).length, 'account')}, ${plural(routeCount, 'route')}`,
    },
  ];
  const specs = neededSecrets(config, stage);
  for (const spec of outsideStage(specs, stage)) {
    checks.push({
      status: 'fail',
      subject: `secret name ${spec.name}`,
      detail: `the functions may read only contact-relay/${stage}/* secrets (${spec.usedBy.join(', ') || spec.purpose})`,
      fix: [`rename it in config/routes.json to start with contact-relay/${stage}/`],
    });
  }
  const secretChecks = await Promise.all(specs.map((spec) => checkSecret(backend, spec, stage)));
  checks.push(...secretChecks);

  const providerSpecs = specs.filter((spec) => spec.kind === 'provider');
  const usable = providerSpecs.filter((spec) => secretChecks[specs.indexOf(spec)]?.status === 'ok');
  const http = createHttpClient({ connectTimeoutMs: 3_000, responseTimeoutMs: 10_000 });
  try {
    const baseUrls: Partial<Record<ProviderName, string>> = {};
    for (const provider of PROVIDERS) {
      const url = routing[provider].url;
      if (url !== undefined) baseUrls[provider] = url;
    }
    const accounts = Object.fromEntries(
      usable.map((spec) => [spec.account as string, { provider: spec.provider as ProviderName }]),
    );
    const health = await checkProviderAccounts({ accounts }, { stage, secrets: backend.store, http, baseUrls });
    for (const spec of providerSpecs) {
      const result = health.find((entry) => entry.account === spec.account);
      checks.push(
        result === undefined
          ? {
              status: 'skip',
              subject: `credentials ${spec.account}`,
              detail: `not called: secret ${spec.name} is not usable`,
            }
          : credentialCheck(result, spec, backend, stage, routing[result.provider]),
      );
    }
  } finally {
    http.close();
  }
  return checks;
}

function renderChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((check) => [...check.subject].length));
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`  ${MARK[check.status]}  ${check.subject.padEnd(width)}  ${check.detail}`);
    for (const [index, fix] of (check.fix ?? []).entries())
      lines.push(`       ${index === 0 ? 'fix:' : '    '} ${fix}`);
  }
  return lines.join('\n');
}

function describeRouting(routing: ProviderRouting, emulatorUrl: string): string {
  const endpoints = PROVIDERS.map((provider) => routing[provider]);
  if (endpoints.every((endpoint) => endpoint.source === 'emulator')) return `emulator ${emulatorUrl}`;
  if (endpoints.every((endpoint) => endpoint.source === 'public')) return 'their public APIs';
  const named = PROVIDERS.filter((provider) => routing[provider].source !== 'emulator').map((provider) => {
    const { source, url, variable } = routing[provider];
    return `${PROVIDER_LABELS[provider]} ${source === 'env' ? `${url} (${variable})` : 'public API'}`;
  });
  const others = endpoints.some(({ source }) => source === 'emulator') ? [`the others emulator ${emulatorUrl}`] : [];
  return [...named, ...others].join(', ');
}

export async function doctor(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('doctor', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(DOCTOR_HELP);
    return EXIT.ok;
  }
  noExtraPositionals(positionals, 0, 'doctor');
  const stage = checkStage(values.stage, 'doctor');
  const { emulatorUrl } = localStack(io.env, { emulator: values.emulator }, 'doctor');
  const routing = providerEndpoints(io.env, stage, { emulator: values.emulator }, 'doctor');

  let checks: Check[];
  let where = '';
  try {
    const routes = loadRoutes(io, values.config);
    const backend = secretBackend(io, stage, { secrets: values.secrets, region: values.region }, 'doctor');
    where = `secrets: ${backend.label}; providers: ${describeRouting(routing, emulatorUrl)}`;
    try {
      checks = await runChecks(routes, backend, stage, routing, io.cwd);
    } finally {
      backend.close();
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    // The route config or the secrets file cannot be read: nothing else can be checked.
    const subject = /secrets file/.test(error.message) ? 'secrets file' : 'route config';
    checks = [
      {
        status: 'fail',
        subject,
        detail: error.message,
        fix: [
          subject === 'route config'
            ? 'correct the field named above (README, "Route config")'
            : 'create it, or pass --secrets FILE',
        ],
      },
    ];
  }

  const failed = checks.filter((check) => check.status === 'fail').length;
  if (values.json) {
    print(io.stdout, JSON.stringify({ stage, ok: failed === 0, checks }));
  } else {
    print(io.stdout, `contact-relay doctor — stage ${stage}${where ? ` (${where})` : ''}`);
    print(io.stdout);
    print(io.stdout, renderChecks(checks));
    print(io.stdout);
    const passed = checks.filter((check) => check.status === 'ok').length;
    const skipped = checks.length - passed - failed;
    print(
      io.stdout,
      `${plural(checks.length, 'check')}: ${passed} ✓, ${failed} ✗${skipped > 0 ? `, ${skipped} not run` : ''}`,
    );
  }
  return failed === 0 ? EXIT.ok : EXIT.failed;
}
