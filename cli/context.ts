/**
 * Where a command sends and what it reads: the route config, the stage, the
 * base URLs, and the secrets — `local/secrets.json` (or `LOCAL_SECRETS_FILE`)
 * for stage `local` (the file `npm start` serves as Secrets Manager), Secrets
 * Manager in the stack's region for any other stage, or the file `--secrets` names.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parse as parseYaml } from 'yaml';
import { urlOverrideProblem } from '../shared/config/env.js';
import {
  findRoute,
  parseRoutesConfig,
  PROVIDERS,
  type ProviderName,
  type ResolvedRoute,
  type RoutesConfig,
} from '../shared/config/routes.js';
import type { SourceName } from '../shared/contact.js';
import { SecretFormatError, SecretNotFoundError, SecretStore } from '../shared/secrets.js';
import { CliError, UsageError, type Io } from './io.js';

/** The project the CLI ships in: config/routes.json, local/secrets.json and the samples live here. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const LOCAL_STAGE = 'local';
const DEFAULT_PORT = 3000;
const DEFAULT_EMULATOR_PORT = 4010;
const DEFAULT_LOCAL_URL = `http://127.0.0.1:${DEFAULT_PORT}`;
const STAGE = /^[a-zA-Z0-9-]{1,32}$/;

/** The environment as a command sees it (`io.env`, or `process.env` in `npm start`). */
export type EnvVars = Readonly<Record<string, string | undefined>>;

/**
 * Where the local functions call one provider (or the Shopify Admin API):
 *   - `env`: the variable holds a URL — that URL, e.g. a real account's API;
 *   - `public`: the variable is set but empty — the service's own API, as in
 *     AWS (the provider's public host, 99digital's `baseUrl` from the secret,
 *     Shopify's `https://{shopDomain}`); `url` is undefined then;
 *   - `emulator`: the variable is unset — the emulator of `npm start`.
 */
export interface Endpoint {
  source: 'env' | 'public' | 'emulator';
  /** No trailing slash; undefined for `public`. */
  url: string | undefined;
  /** The variable that chooses it: `PROVIDER_URL_KIRIM`, `SHOPIFY_ADMIN_URL`, `META_GRAPH_URL`. */
  variable: string;
}

export interface LocalStack {
  /** The functions' HTTP API: `--url`, else `http://127.0.0.1:$PORT` (3000). No trailing slash. */
  apiUrl: string;
  /** False when `--url` named the API: unreachable then says nothing about `npm start`. */
  apiIsLocal: boolean;
  /** The emulator and local AWS endpoints: `--emulator`, else `http://127.0.0.1:$EMULATOR_PORT` (4010). */
  emulatorUrl: string;
  /** Where the local functions call each provider (`PROVIDER_URL_*`). */
  providers: Record<ProviderName, Endpoint>;
  /** Where reconcile calls the Shopify Admin API (`SHOPIFY_ADMIN_URL`). */
  shopifyAdmin: Endpoint;
  /** Where deliver reads Meta Lead Ads leads from the Graph API (`META_GRAPH_URL`). */
  metaGraph: Endpoint;
  /**
   * The providers' base URLs in the form the engine and the health check take:
   * a provider left out calls its public API.
   */
  baseUrls: Partial<Record<ProviderName, string>>;
}

/** The variable that points the functions at another API for this provider. */
const providerUrlVariable = (provider: ProviderName): string => `PROVIDER_URL_${provider.toUpperCase()}`;

function envPort(env: EnvVars, name: string, fallback: number, command: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65535)
    throw new UsageError(`${name} must be a TCP port number, got "${raw}"`, command);
  return value;
}

function endpoint(env: EnvVars, variable: string, emulated: string, command: string, stage = LOCAL_STAGE): Endpoint {
  const raw = env[variable];
  if (raw === undefined) return { source: 'emulator', url: emulated, variable };
  if (raw === '') return { source: 'public', url: undefined, variable };
  const url = checkUrl(raw, variable, command);
  // The functions refuse the same URL at cold start (shared/config/env.ts): say so before calling it.
  const problem = urlOverrideProblem(new URL(url), stage);
  if (problem !== undefined) throw new UsageError(`${variable} ${problem}`, command);
  return { source: 'env', url, variable };
}

/**
 * The local stack's URLs as `npm start` chooses them, read the same way by
 * `npm start` and every command: a flag wins over the environment, the
 * environment over the default. `PORT` and `EMULATOR_PORT` are the ports
 * `npm start` listens on; `PROVIDER_URL_TWOCHAT`, `PROVIDER_URL_KIRIM`,
 * `PROVIDER_URL_CALLBELL`, `PROVIDER_URL_CHATWOOT`, `SHOPIFY_ADMIN_URL` and
 * `META_GRAPH_URL` send one service's calls elsewhere than the emulator (see `Endpoint`).
 * A malformed value is a UsageError naming the variable.
 */
export function localStack(
  env: EnvVars,
  flags: { url?: string | undefined; emulator?: string | undefined } = {},
  command = '',
): LocalStack {
  const apiUrl =
    flags.url !== undefined
      ? checkUrl(flags.url, '--url', command)
      : `http://127.0.0.1:${envPort(env, 'PORT', DEFAULT_PORT, command)}`;
  const emulatorUrl =
    flags.emulator !== undefined
      ? checkUrl(flags.emulator, '--emulator', command)
      : `http://127.0.0.1:${envPort(env, 'EMULATOR_PORT', DEFAULT_EMULATOR_PORT, command)}`;
  const providers = Object.fromEntries(
    PROVIDERS.map((provider) => [
      provider,
      endpoint(env, providerUrlVariable(provider), `${emulatorUrl}/${provider}`, command),
    ]),
  ) as Record<ProviderName, Endpoint>;
  const baseUrls: Partial<Record<ProviderName, string>> = {};
  for (const provider of PROVIDERS) {
    const url = providers[provider].url;
    if (url !== undefined) baseUrls[provider] = url;
  }
  return {
    apiUrl,
    apiIsLocal: flags.url === undefined,
    emulatorUrl,
    providers,
    shopifyAdmin: endpoint(env, 'SHOPIFY_ADMIN_URL', `${emulatorUrl}/shopify`, command),
    metaGraph: endpoint(env, 'META_GRAPH_URL', `${emulatorUrl}/meta`, command),
    baseUrls,
  };
}

/**
 * Where the functions of `stage` call each provider: stage local as `npm start`
 * routes them (the emulator, or PROVIDER_URL_*); a deployed stage at the
 * provider's public API, as its functions do — unless `--emulator` asks for
 * the emulator. A deployed function refuses a PROVIDER_URL_* to another host,
 * so a command checking that stage refuses it too, naming the variable,
 * rather than send the stage's keys there; one to this machine (a test's
 * stand-in) is honoured.
 */
export function providerEndpoints(
  env: EnvVars,
  stage: string,
  flags: { emulator?: string | undefined } = {},
  command = '',
): Record<ProviderName, Endpoint> {
  for (const provider of PROVIDERS) endpoint(env, providerUrlVariable(provider), '', command, stage);
  const stack = localStack(env, flags, command);
  if (stage === LOCAL_STAGE || flags.emulator !== undefined) return stack.providers;
  const deployed = (endpoint: Endpoint): Endpoint =>
    endpoint.source === 'emulator' ? { ...endpoint, source: 'public', url: undefined } : endpoint;
  return Object.fromEntries(PROVIDERS.map((provider) => [provider, deployed(stack.providers[provider])])) as Record<
    ProviderName,
    Endpoint
  >;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const OSLS_DEFAULT_REGION = 'us-east-1';
const EXAMPLE = 'eu-west-1';

interface AwsRegion {
  name: string;
  /** Where the name came from, for messages. */
  from: '--region' | 'AWS_REGION' | 'AWS_DEFAULT_REGION' | 'serverless.yml';
}

/**
 * The region `osls deploy` puts the stack in when not given `--region`:
 * serverless.yml's `provider.region` when it is a region, the fallback of
 * `${opt:region, '…'}` (the value when deploy gets no `--region`:
 * https://www.serverless.com/framework/docs/providers/aws/guide/variables#referencing-cli-options),
 * else osls's own default, us-east-1
 * (https://github.com/oss-serverless/osls/blob/main/docs/cli-reference/deploy.md).
 * A deploy run with `--region` put the stack elsewhere, which this file cannot tell.
 */
export function stackRegion(command = '', file = path.join(PROJECT_ROOT, 'serverless.yml')): string {
  let region: unknown;
  try {
    region = (parseYaml(readFileSync(file, 'utf8')) as { provider?: { region?: unknown } } | null)?.provider?.region;
  } catch (error) {
    const why = (error as Error).message;
    throw new UsageError(`cannot read the stack's region from ${file}: ${why}; pass --region`, command);
  }
  if (region === undefined || region === null) return OSLS_DEFAULT_REGION;
  const value = String(region).trim();
  const name = /^\$\{opt:region,\s*(['"]?)([a-z0-9-]+)\1\s*\}$/.exec(value)?.[2] ?? value;
  if (REGION.test(name)) return name;
  const says = `serverless.yml says provider.region "${value}"`;
  throw new UsageError(`cannot tell the stack's region: ${says}; pass --region`, command);
}

/**
 * The AWS region a command calls: `--region`, else `AWS_REGION`, else
 * `AWS_DEFAULT_REGION` (the variables the AWS SDKs and the AWS CLI read:
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html,
 * https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html),
 * else the stack's region from serverless.yml (`stackRegion`). A profile's
 * region is not used: osls deploys to serverless.yml's region whatever the
 * profile says, so the stack is there.
 */
export function awsRegion(env: EnvVars, flag: string | undefined, command: string): AwsRegion {
  if (flag !== undefined) {
    if (!REGION.test(flag)) {
      throw new UsageError(`--region must be an AWS region such as ${EXAMPLE}, got "${flag}"`, command);
    }
    return { name: flag, from: '--region' };
  }
  for (const variable of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const value = env[variable]?.trim();
    if (value === undefined || value === '') continue;
    if (!REGION.test(value)) {
      throw new UsageError(`${variable} must be an AWS region such as ${EXAMPLE}, got "${value}"`, command);
    }
    return { name: value, from: variable };
  }
  return { name: stackRegion(command), from: 'serverless.yml' };
}

/** How a region was chosen, for a command's output. */
export function describeRegion(region: AwsRegion): string {
  if (region.from !== 'serverless.yml') return `${region.name} (${region.from})`;
  return `${region.name} (serverless.yml: where osls deploy puts the stack without --region)`;
}

/** A path as the user wrote it, resolved against their working directory. */
export function userPath(io: Pick<Io, 'cwd'>, file: string): string {
  return path.resolve(io.cwd, file);
}

/** A path shown to the user: relative to where they are when that is shorter. */
export function shown(io: Pick<Io, 'cwd'>, file: string): string {
  const relative = path.relative(io.cwd, file);
  return relative !== '' && !relative.startsWith('..') && relative.length < file.length ? relative : file;
}

export function checkStage(stage: string | undefined, command: string): string {
  const value = stage ?? LOCAL_STAGE;
  if (!STAGE.test(value))
    throw new UsageError(
      `--stage must be letters, digits and dashes (a serverless stage such as "prod"), got "${value}"`,
      command,
    );
  return value;
}

export interface Target {
  stage: string;
  /** No trailing slash. */
  baseUrl: string;
  /** True when the URL is the local stack's (PORT): unreachable then means `npm start` is not running. */
  defaultLocal: boolean;
  /** Stage local: the emulator of `npm start` (EMULATOR_PORT), where created contacts can be seen. */
  emulatorUrl?: string;
}

/** `--url`, else the local stack (PORT) for stage local; a deployed stage must name its URL. */
export function resolveTarget(
  options: { url?: string | undefined; stage?: string | undefined },
  command: string,
  env: EnvVars,
): Target {
  const stage = checkStage(options.stage, command);
  if (options.url === undefined && stage !== LOCAL_STAGE) {
    throw new UsageError(
      `--stage ${stage} needs --url: the HTTP API URL \`osls deploy --stage ${stage}\` printed (https://<api-id>.execute-api.<region>.amazonaws.com)`,
      command,
    );
  }
  const stack = localStack(env, { url: options.url }, command);
  return {
    stage,
    baseUrl: stack.apiUrl,
    defaultLocal: stack.apiIsLocal,
    ...(stage === LOCAL_STAGE ? { emulatorUrl: stack.emulatorUrl } : {}),
  };
}

function checkUrl(value: string, option: string, command: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${option} must be an http(s) URL such as ${DEFAULT_LOCAL_URL}, got "${value}"`, command);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${option} must be an http(s) URL, got "${value}"`, command);
  if (url.search !== '' || url.hash !== '')
    throw new UsageError(`${option} must be a base URL without query or fragment, got "${value}"`, command);
  return url.toString().replace(/\/+$/, '');
}

export interface LoadedRoutes {
  config: RoutesConfig;
  file: string;
}

/** Parse the route config as the functions do; a mistake is a failure naming the field. */
export function loadRoutes(io: Pick<Io, 'cwd'>, file?: string): LoadedRoutes {
  const where = file === undefined ? path.join(PROJECT_ROOT, 'config/routes.json') : userPath(io, file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(where, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT'
        ? `route config ${shown(io, where)} does not exist`
        : `cannot read route config ${shown(io, where)}: ${(error as Error).message}`,
    );
  }
  try {
    return { config: parseRoutesConfig(raw, shown(io, where)), file: where };
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** The route, or a usage error listing the routes the source has. */
export function requireRoute(
  routes: LoadedRoutes,
  source: SourceName,
  routeName: string,
  command: string,
): ResolvedRoute {
  const route = findRoute(routes.config, source, routeName);
  if (route !== undefined) return route;
  const known = Object.keys(routes.config.sources[source] ?? {});
  throw new UsageError(
    `no route "${routeName}" for source "${source}" in ${path.basename(routes.file)}${known.length > 0 ? ` (routes: ${known.join(', ')})` : ` (the config has no ${source} routes)`}`,
    command,
  );
}

/** Where secrets come from, for messages and fixes. */
export interface SecretBackend {
  kind: 'file' | 'aws';
  /** `local/secrets.json` or `Secrets Manager (eu-west-1)`. */
  label: string;
  /** The region of Secrets Manager (kind `aws`). */
  region?: string;
  file?: string;
  store: SecretStore;
  /** True for the file `npm start` serves as Secrets Manager: a change needs a restart. */
  servedByNpmStart?: boolean;
  /** Why a secret could not be used, in this backend's words. */
  explain(error: unknown): string;
  close(): void;
}

/**
 * The secrets file of stage local: `LOCAL_SECRETS_FILE` when set (relative to
 * the project), so real keys can live outside the repository; else the
 * committed `local/secrets.json` of placeholders. `npm start` reads the same.
 */
export function localSecretsFile(env: EnvVars): string {
  const chosen = env['LOCAL_SECRETS_FILE'];
  return chosen === undefined || chosen === ''
    ? path.join(PROJECT_ROOT, 'local/secrets.json')
    : path.resolve(PROJECT_ROOT, chosen);
}

/**
 * `--secrets FILE` wins; else stage local reads its secrets file
 * (`localSecretsFile`); else Secrets Manager in `awsRegion` (the SDK's usual
 * credentials and `AWS_ENDPOINT_URL_SECRETS_MANAGER`).
 */
export function secretBackend(
  io: Pick<Io, 'cwd' | 'env'>,
  stage: string,
  options: { secrets?: string | undefined; region?: string | undefined },
  command: string,
): SecretBackend {
  // A mistyped --region is an error on every stage, not only where it is used.
  const flagged = options.region === undefined ? undefined : awsRegion(io.env, options.region, command);
  if (options.secrets !== undefined || stage === LOCAL_STAGE) {
    const file = options.secrets === undefined ? localSecretsFile(io.env) : userPath(io, options.secrets);
    return { ...fileSecretBackend(file, shown(io, file)), servedByNpmStart: options.secrets === undefined };
  }
  const region = (flagged ?? awsRegion(io.env, undefined, command)).name;
  const client = new SecretsManagerClient({ region });
  const label = `Secrets Manager (${region})`;
  return {
    kind: 'aws',
    label,
    region,
    store: new SecretStore({ client, ttlMs: 60 * 60 * 1000 }),
    explain: (error) => {
      if (error instanceof SecretNotFoundError) return `secret "${error.secretName}" does not exist in ${label}`;
      if (error instanceof SecretFormatError) return error.message;
      const message = (error as Error).message;
      const check = 'check AWS credentials and the region: aws sts get-caller-identity; AWS_PROFILE, --region';
      return `cannot read ${label}: ${message} (${check})`;
    },
    close: () => client.destroy(),
  };
}

function fileSecretBackend(file: string, label: string): SecretBackend {
  if (!existsSync(file)) throw new CliError(`secrets file ${label} does not exist`);
  let secrets: unknown;
  try {
    secrets = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read secrets file ${label}: ${(error as Error).message}`);
  }
  if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets))
    throw new CliError(`secrets file ${label} must be a JSON object of secret name → secret JSON value`);
  const values = secrets as Record<string, unknown>;
  // The same SecretStore the functions use, over a client that answers GetSecretValue from the file.
  const client = {
    send: async (command: GetSecretValueCommand) => {
      const name = command.input.SecretId ?? '';
      if (!Object.hasOwn(values, name))
        throw Object.assign(new Error(`${name} is not in ${label}`), { name: 'ResourceNotFoundException' });
      const value = values[name];
      return { SecretString: typeof value === 'string' ? value : JSON.stringify(value) };
    },
  } as unknown as SecretsManagerClient;
  return {
    kind: 'file',
    label,
    file,
    store: new SecretStore({ client, ttlMs: 60 * 60 * 1000 }),
    explain: (error) => {
      if (error instanceof SecretNotFoundError) return `secret "${error.secretName}" is not in ${label}`;
      if (error instanceof SecretFormatError) return `${error.message} (in ${label})`;
      return (error as Error).message;
    },
    close: () => undefined,
  };
}
