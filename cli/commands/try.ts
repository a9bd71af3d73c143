/**
 * `contact-relay try <account>`: one delivery of a contact typed on the
 * command line to one provider account, through the code the deliver
 * function runs (the account's adapter in the provider engine, its secret,
 * its route's options), with every HTTP exchange printed masked. It answers
 * "why does my provider get no contacts?" with the provider's own words.
 */
import { randomUUID } from 'node:crypto';
import type { ProviderName, ResolvedRoute } from '../../shared/config/routes.js';
import { displayName, type Contact } from '../../shared/contact.js';
import { deliverToAccount } from '../../shared/delivery.js';
import { createHttpClient, type HttpClient, type HttpRequest, type HttpResponse } from '../../shared/http.js';
import { maskingReplacer, maskText } from '../../shared/logging.js';
import { PROVIDER_ADAPTERS } from '../../shared/providers/index.js';
import { parseJson, type Outcome } from '../../shared/providers/types.js';
import { providerSecretName } from '../../shared/secrets.js';
import { isEmail, nameParts, phoneReader, withSkipReason } from '../../shared/sources/mapping.js';
import { noExtraPositionals, parse, requireSource } from '../args.js';
import {
  checkStage,
  loadRoutes,
  providerEndpoints,
  requireRoute,
  secretBackend,
  type Endpoint,
  type LoadedRoutes,
  type SecretBackend,
} from '../context.js';
import { CliError, EXIT, print, UsageError, type Io, type OutStream } from '../io.js';
import { PROVIDER_LABELS } from '../secret-specs.js';

/** A body that is not JSON (a gateway's HTML page) is cut here: the start says what it is. */
const MAX_TEXT_BODY = 2_000;

const TRY_HELP = `Usage: contact-relay try <account> (--phone P | --email E) [options]

Deliver ONE contact to one provider account of config/routes.json, through
the same code the deliver function runs: the account's secret, a lookup of
the person, then the create call. Every HTTP request and answer is printed
(method, URL, status, body; keys and personal data masked), then the outcome
the function would record: created, exists, skipped (with the reason),
failed (with the provider's code and message) or transient.

Use it when a provider gets no contacts: the provider says why.

THIS REALLY CREATES THE CONTACT at the provider (unless it is already
there): try it with your own number or address, and delete the contact
afterwards if you do not want it. Stage local calls the emulator of
\`npm start\` unless a PROVIDER_URL_* variable points elsewhere.

The phone is read as a webhook's is: international (+44 20 7946 0958), or
national in --country, else in the route's defaultRegion.

Options:
  --phone P         phone number
  --email E         email address
  --name "A B"      full name (first name, then the rest)
  --country CC      region of a national phone number (ISO code, e.g. GB)
  --route S/R       the route whose provider options apply (Callbell tags,
                    custom field and assigned user; WhatsApp numbers; tags;
                    default region), e.g. shopify/default (default: the first
                    route that delivers to the account)
  --stage S         stage (default: local, secrets from local/secrets.json or
                    LOCAL_SECRETS_FILE; other stages read AWS Secrets Manager
                    and call the providers' real APIs, or PROVIDER_URL_*)
  --region R        AWS region of Secrets Manager, for a stage other than local
                    (default: AWS_REGION, else AWS_DEFAULT_REGION, else the region
                    serverless.yml deploys to without --region, us-east-1; a stack
                    deployed with --region needs the same --region here)
  --secrets FILE    read secrets from this JSON file (name → value) instead
  --config FILE     route config (default: config/routes.json)
  -h, --help        this help

Exit codes:
  0  created, exists or skipped
  1  failed or transient (or the secret cannot be read)
  2  usage error: unknown account or route, no phone and no email, a bad email

Examples:
  contact-relay try kirim --phone "+1 415 555 0132" --name "Ada Lovelace"
  contact-relay try callbell --phone "020 7946 0958" --country GB
  contact-relay try chatwoot --email ada@example.com --stage prod --region eu-west-1
`;

const OPTIONS = {
  phone: { type: 'string' },
  email: { type: 'string' },
  name: { type: 'string' },
  country: { type: 'string' },
  route: { type: 'string' },
  stage: { type: 'string' },
  region: { type: 'string' },
  secrets: { type: 'string' },
  config: { type: 'string' },
} as const;

/** The route named by --route, else the first that delivers to the account, else undefined. */
function chooseRoute(routes: LoadedRoutes, account: string, named: string | undefined): ResolvedRoute | undefined {
  if (named !== undefined) {
    const [source, name, ...rest] = named.split('/');
    if (name === undefined || name === '' || rest.length > 0) {
      throw new UsageError(`--route must be <source>/<route>, such as form/default, got "${named}"`, 'try');
    }
    const route = requireRoute(routes, requireSource(source, 'try'), name, 'try');
    if (!route.deliverTo.includes(account)) {
      const to = route.deliverTo.join(', ');
      throw new UsageError(`route ${named} does not deliver to account "${account}" (it delivers to ${to})`, 'try');
    }
    return route;
  }
  for (const [source, list] of Object.entries(routes.config.sources)) {
    for (const name of Object.keys(list ?? {})) {
      const route = requireRoute(routes, source as ResolvedRoute['source'], name, 'try');
      if (route.deliverTo.includes(account)) return route;
    }
  }
  return undefined;
}

interface ContactOptions {
  phone?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
  country?: string | undefined;
}

/** The contact a webhook of `route` carrying these fields would become; its origin is a form filled in by hand. */
function buildContact(values: ContactOptions, route: ResolvedRoute, io: Io) {
  if (values.phone === undefined && values.email === undefined) {
    throw new UsageError('give --phone, --email or both', 'try');
  }
  const email = values.email?.trim().toLowerCase();
  if (email !== undefined && !isEmail(email)) {
    throw new UsageError(`--email is not an email address: "${maskText(email, true)}"`, 'try');
  }
  const problems: string[] = [];
  const { phones, rejectedPhones, read } = phoneReader(route, problems);
  if (values.phone !== undefined) read(values.phone, values.country);
  const emails = email === undefined ? [] : [email];
  const personKey = emails[0] ?? phones[0]?.e164;
  const contact: Contact = {
    ...nameParts(undefined, undefined, values.name?.trim() || undefined),
    emails,
    phones,
    rejectedPhones,
    tags: [...route.tags],
    attributes: {},
    // A fresh event each run, as each real webhook is one: a second run is a new
    // delivery of the same person (and Kirim's idempotency key is not replayed).
    origin: {
      source: 'form',
      route: 'contact-relay-try',
      eventKey: `try:${randomUUID()}`,
      occurredAt: io.now().toISOString(),
      ...(personKey !== undefined ? { personKey } : {}),
    },
  };
  // The problems name what is wrong, never the value (mapping.ts), so they need no masking here.
  return withSkipReason(contact, problems, 'no phone and no email');
}

function describeContact(contact: Contact): string {
  const parts = [displayName(contact) ?? 'no name'];
  for (const phone of contact.phones) parts.push(`phone ${maskText(phone.e164)}${phone.whatsapp ? ' (WhatsApp)' : ''}`);
  for (const phone of contact.rejectedPhones) parts.push(`phone rejected: ${phone.reason}`);
  for (const email of contact.emails) parts.push(`email ${maskText(email)}`);
  if (contact.tags.length > 0) parts.push(`tags ${contact.tags.join(', ')}`);
  return parts.join(', ');
}

function describeEndpoint(endpoint: Endpoint, provider: ProviderName): string {
  switch (endpoint.source) {
    case 'emulator':
      return `the emulator of npm start, ${endpoint.url}`;
    case 'env':
      return `${endpoint.url} (${endpoint.variable})`;
    default:
      return provider === 'chatwoot' ? 'its public API (baseUrl from the secret)' : 'its public API';
  }
}

const safeDecode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** The URL as a person reads it (decoded), every path segment and query value masked as a log line would be. */
function maskUrl(raw: string): string {
  const url = new URL(raw);
  const path = url.pathname
    .split('/')
    .map((segment) => maskText(safeDecode(segment)))
    .join('/');
  const query = [...url.searchParams]
    .map(([name, value]) => `${name}=${String(maskingReplacer(name, value))}`)
    .join('&');
  return `${url.origin}${path}${query === '' ? '' : `?${query}`}`;
}

/** A body masked key by key (JSON), or as text. */
function maskBody(body: string): string {
  const json = parseJson(body);
  if (json !== undefined && body.trim() !== '') return JSON.stringify(json, maskingReplacer, 2);
  const text = maskText(body);
  if (text.length <= MAX_TEXT_BODY) return text;
  return `${text.slice(0, MAX_TEXT_BODY)}… (${text.length - MAX_TEXT_BODY} more characters)`;
}

const indent = (text: string, by = '     ') =>
  text
    .split('\n')
    .map((line) => by + line)
    .join('\n');

/** Answer headers that explain a wait; the rest say nothing about why a contact is missing. */
const TOLD_HEADERS = /^(retry-after|x-ratelimit-.*)$/;

function printExchange(out: OutStream, count: number, request: HttpRequest, ms: number, answer: HttpResponse | Error) {
  print(out, `${String(count).padStart(2)}. ${request.method} ${maskUrl(request.url)}`);
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    print(out, `     ${name}: ${String(maskingReplacer(name, value))}`);
  }
  if (request.body !== undefined) print(out, indent(maskBody(request.body)));
  if (answer instanceof Error) {
    print(out, `  ← no answer after ${ms} ms: ${maskText(answer.message)}`);
  } else {
    print(out, `  ← ${answer.status} (${ms} ms)`);
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && TOLD_HEADERS.test(name)) print(out, `     ${name}: ${value}`);
    }
    if (answer.body !== '') print(out, indent(maskBody(answer.body)));
  }
  print(out);
}

/** The project's HTTP client, printing each exchange as it ends (a retry's wait shows between them). */
function printingClient(http: HttpClient, out: OutStream): HttpClient & { count: () => number } {
  let count = 0;
  return {
    ...http,
    count: () => count,
    async request(request) {
      const started = Date.now();
      try {
        const answer = await http.request(request);
        printExchange(out, ++count, request, Date.now() - started, answer);
        return answer;
      } catch (error) {
        printExchange(out, ++count, request, Date.now() - started, error as Error);
        throw error;
      }
    },
  };
}

function describeOutcome(outcome: Outcome): string {
  const http = (status: number | undefined) => (status ? ` (HTTP ${status})` : '');
  switch (outcome.status) {
    case 'created':
    case 'exists': {
      const id = outcome.providerContactId;
      return id === undefined ? outcome.status : `${outcome.status} — contact id ${id}`;
    }
    case 'skipped':
      return `skipped — ${maskText(outcome.reason)}`;
    case 'failed': {
      const code = outcome.code === undefined ? '' : ` — ${outcome.code}`;
      return `failed${code}${http(outcome.httpStatus)}: ${maskText(outcome.message)}`;
    }
    case 'transient':
      return `transient${http(outcome.httpStatus)}: ${maskText(outcome.message)} (the function would retry it later)`;
  }
}

function hint(outcome: Outcome, endpoint: Endpoint, backend: SecretBackend, secretName: string): string | undefined {
  if (outcome.status === 'failed' && outcome.code === 'unauthorized') {
    return `fix: put a valid key in secret ${secretName} (${backend.label}); contact-relay doctor checks every key`;
  }
  if (outcome.status === 'transient' && outcome.httpStatus === undefined && endpoint.source === 'emulator') {
    const label = PROVIDER_LABELS[outcome.provider];
    return `is npm start running? Its emulator serves ${label} at ${endpoint.url} (EMULATOR_PORT)`;
  }
  return undefined;
}

export async function tryAccount(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('try', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(TRY_HELP);
    return EXIT.ok;
  }
  const account = positionals[0];
  noExtraPositionals(positionals, 1, 'try');
  const stage = checkStage(values.stage, 'try');
  const routes = loadRoutes(io, values.config);
  const known = Object.keys(routes.config.accounts);
  if (account === undefined) throw new UsageError(`name an account: ${known.join(', ')}`, 'try');
  if (!Object.hasOwn(routes.config.accounts, account)) {
    throw new UsageError(`unknown account "${account}"; accounts: ${known.join(', ')}`, 'try');
  }
  const provider = routes.config.accounts[account]?.provider as ProviderName;
  const configured = chooseRoute(routes, account, values.route);
  // An account no route delivers to gets none of a route's options.
  const route: ResolvedRoute = configured ?? {
    ...{ source: 'form', name: 'none', deliverTo: [account], whatsappNumbers: false, tags: [] },
    accounts: [{ name: account, provider }],
  };
  const mapped = buildContact(values, route, io);
  const endpoint = providerEndpoints(io.env, stage, {}, 'try')[provider];
  const backend = secretBackend(io, stage, { secrets: values.secrets, region: values.region }, 'try');
  const secretName = providerSecretName(stage, account);
  const http = printingClient(createHttpClient(), io.stdout);
  try {
    print(io.stdout, `contact-relay try — ${PROVIDER_LABELS[provider]} account "${account}", stage ${stage}`);
    print(io.stdout, `  calls    ${describeEndpoint(endpoint, provider)}`);
    print(io.stdout, `  secret   ${secretName} (${backend.label})`);
    const routeLine = configured ? `${route.source}/${route.name}` : 'none delivers here (no webhook reaches it)';
    print(io.stdout, `  route    ${routeLine}`);
    print(io.stdout, `  contact  ${describeContact(mapped.contact)}`);
    print(io.stdout);

    let outcome: Outcome;
    if (mapped.skipReason !== undefined) {
      // A webhook with nothing to deliver is recorded as skipped before any provider is called.
      outcome = { account, provider, status: 'skipped', reason: mapped.skipReason };
    } else {
      try {
        // Read here first so a missing or malformed secret is named in this backend's words.
        await backend.store.get(secretName, PROVIDER_ADAPTERS[provider].credentials);
      } catch (error) {
        throw new CliError(`${backend.explain(error)}; contact-relay doctor shows what the secret needs`);
      }
      const baseUrls = endpoint.url === undefined ? {} : { [provider]: endpoint.url };
      const context = { stage, secrets: backend.store, http, baseUrls };
      outcome = await deliverToAccount(mapped.contact, route, { name: account, provider }, context);
    }
    if (http.count() === 0) {
      print(io.stdout, `no request sent: the deliver function would not call ${PROVIDER_LABELS[provider]} for it`);
    }
    print(io.stdout, `outcome: ${describeOutcome(outcome)}`);
    const fix = hint(outcome, endpoint, backend, secretName);
    if (fix !== undefined) print(io.stdout, fix);
    return outcome.status === 'failed' || outcome.status === 'transient' ? EXIT.failed : EXIT.ok;
  } finally {
    http.close();
    backend.close();
  }
}
