import { readFileSync } from 'node:fs';
import { SOURCES, type SourceName } from '../../shared/contact.js';
import { SourceSecretSchema, type SourceSecret } from '../../shared/ingest.js';
import { intOption, noExtraPositionals, parse, requireSource, TARGET_OPTIONS } from '../args.js';
import { loadRoutes, requireRoute, resolveTarget, secretBackend, shown, userPath } from '../context.js';
import type { SecretBackend, Target } from '../context.js';
import { CliError, EXIT, print, UsageError, type Io } from '../io.js';
import { describeRefusal, postWebhook, unreachableHint, type Answer } from '../post.js';
import { leadgenIds, leadSeeding, readGraphLead, seedGraphLead, type GraphLead } from '../meta-leads.js';
import { sampleGraphLeadPath, samplePath, SAMPLES } from '../samples.js';
import { regionArgument } from '../shell.js';
import { buildWebhook, EVENT_ID_HEADER, routeSecretName, secretField, TOPICS, type SignedWebhook } from '../webhook.js';
import type { ResolvedRoute } from '../../shared/config/routes.js';

const SEND_HELP = `Usage: contact-relay send <source> <payload-file> [options]
       contact-relay send <source> --sample [options]

Sign a payload exactly as its platform signs it, post it to
{url}/hooks/{source}/{route}, and print the answer.

Sources: ${SOURCES.join(', ')}
Samples: contact-relay samples lists the payload shipped for each source.

meta-leads: a leadgen webhook names its leads by id; deliver reads each lead
from the Graph API. With --sample on stage local (META_GRAPH_URL unset), the
sample's lead (cli/samples/graph/meta-leads-lead.json) is first stored in the
emulator (POST {emulator}/_emulator/meta/leads); on a deployed stage, or with
META_GRAPH_URL set, nothing is stored and the lead must exist there.
custom: signed as the route's custom.signature says, else with its token
(X-Contact-Relay-Token), or unsigned on an "auth": "none" route; pick the
route with --route.

Options:
  --sample              send the source's shipped sample payload
  --route R             route name in config/routes.json (default: default); it
                        says how the request is signed (custom routes: custom.signature,
                        a token, or nothing)
  --url URL             base URL (default for stage local: http://127.0.0.1:$PORT, 3000
                        when unset, the local stack of \`npm start\`); a deployed stage
                        needs its API URL
  --stage S             stage whose secrets sign the request (default: local, read from
                        local/secrets.json or LOCAL_SECRETS_FILE; other stages read AWS
                        Secrets Manager)
  --region R            AWS region of Secrets Manager (default: AWS_REGION, else
                        AWS_DEFAULT_REGION, else the region serverless.yml deploys to)
  --secrets FILE        read secrets from this JSON file (name → value) instead
  --config FILE         route config (default: config/routes.json)
  --topic T             Shopify topic (default orders/create) or WooCommerce topic
                        (default order.created)
  --event-id ID         delivery id: X-Shopify-Webhook-Id/Event-Id, X-WC-Webhook-Delivery-ID,
                        or the form's Idempotency-Key. Shopify's default is derived from
                        the payload, so sending the same file again is a retry (duplicate)
  --shop SHOP           Shopify shop domain (default: the route's first shopDomains entry,
                        else demo-shop.myshopify.com) or WooCommerce store URL
  --timeout SECONDS     give up waiting for the answer (default 30)
  --json                print one JSON object: {url, proof, httpStatus, outcome, body}
                        (meta-leads adds graphLead: {stored, id, detail})
  -h, --help            this help

Exit codes:
  0  the webhook was answered 2xx: accepted, duplicate, ignored or skipped
  1  it was refused (4xx/5xx, or a 2xx that is none of those), the payload file
     or the secret is missing, the emulator refused the sample's lead, or the
     URL cannot be reached
  2  usage error: unknown source, option or route; a missing argument

Examples:
  contact-relay send shopify --sample
  contact-relay send meta-leads --sample
  contact-relay send calendly --sample
  contact-relay send custom lead.json --route elementor
  contact-relay send typeform answer.json --route newsletter
  contact-relay send woocommerce customer.json --topic customer.created
  contact-relay send form lead.json --stage prod --url https://abc123.execute-api.eu-west-1.amazonaws.com
`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  route: { type: 'string' },
  topic: { type: 'string' },
  sample: { type: 'boolean' },
  'event-id': { type: 'string' },
  shop: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The route's source secret, when its check needs one; a missing or malformed secret is a failure naming it. */
export async function routeSecret(
  backend: SecretBackend,
  route: ResolvedRoute,
  stage: string,
): Promise<{ secret?: SourceSecret; secretName: string }> {
  const secretName = routeSecretName(route, stage);
  if (secretField(route) === undefined) return { secretName };
  try {
    return { secret: await backend.store.get(secretName, SourceSecretSchema), secretName };
  } catch (error) {
    const where = `--stage ${stage}${regionArgument(backend.region)}`;
    const fix =
      backend.kind === 'aws' ? `create it: contact-relay secrets init ${where}` : `add it to ${backend.label}`;
    const check = `contact-relay doctor${stage === 'local' ? '' : ` ${where}`}`;
    const need = `${route.source} route "${route.name}" needs it to sign`;
    throw new CliError(`${backend.explain(error)}; ${need} (${fix}; check with ${check})`);
  }
}

function readPayload(io: Io, file: string): Buffer {
  const where = userPath(io, file);
  try {
    return readFileSync(where);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`payload file ${file} does not exist`);
    if (code === 'EISDIR') throw new CliError(`payload file ${file} is a directory`);
    throw new CliError(`cannot read payload file ${file}: ${(error as Error).message}`);
  }
}

function checkTopic(source: SourceName, topic: string | undefined, command: string): void {
  if (topic === undefined) return;
  if (TOPICS[source] === undefined)
    throw new UsageError(
      `--topic applies to shopify and woocommerce only; ${source} payloads name their own event`,
      command,
    );
  if (!/^[\x21-\x7e]{1,100}$/.test(topic))
    throw new UsageError(`--topic must be a topic such as "${TOPICS[source]?.default}", got "${topic}"`, command);
}

/** How to send the same payload as a new event, when the service called it a duplicate. */
function newEventHint(source: SourceName, route: ResolvedRoute): string {
  if (EVENT_ID_HEADER[source]) return ' Send it as a new event with --event-id <new id>.';
  switch (source) {
    case 'meta-leads':
      return ' Change leadgen_id in the payload (and store that lead) to send a new lead.';
    case 'calendly':
      return ' Change payload.uri (the invitee URI) to send it as a new booking.';
    case 'custom':
      return route.custom?.eventId !== undefined
        ? ` Change the value at ${route.custom.eventId} (the route's custom.eventId) to send it as a new event.`
        : ' Change the payload: without custom.eventId its bytes name the event.';
    default:
      return ' Change the id in the payload to send it as a new event.';
  }
}

function outcomeLine(answer: Answer, source: SourceName, route: ResolvedRoute, emulatorUrl?: string): string {
  const see = emulatorUrl !== undefined ? ` (see them: curl -s ${emulatorUrl}/_emulator/contacts)` : '';
  const events = answer.events;
  switch (answer.outcome) {
    case 'accepted':
      if (events !== undefined) {
        const queued = events.filter((event) => event.status === 'accepted').length;
        const what = `${queued} of ${events.length} ${events.length === 1 ? 'event' : 'events'}`;
        const read = source === 'meta-leads' ? ': deliver reads each lead from the Graph API' : '';
        return `accepted: ${what} queued for ${route.deliverTo.join(', ')}${read}${see}`;
      }
      return `accepted: the contact is queued for ${route.deliverTo.join(', ')}${see}`;
    case 'duplicate': {
      const several = events !== undefined && events.length > 1;
      const keys = several ? events.map((event) => event.eventKey).join(', ') : (answer.eventKey ?? 'same event key');
      const which = several ? 'every event in it was' : 'this event was';
      return `duplicate: ${which} accepted before (${keys}); nothing was queued.${newEventHint(source, route)}`;
    }
    case 'skipped':
      return `skipped: ${answer.reason ?? 'no usable email or phone'} (answered 200 so the sender does not retry)`;
    case 'ignored':
      return `ignored: ${answer.reason ?? 'this event carries no contact'}`;
    case 'rejected':
      return `refused: ${describeRefusal(answer)}${refusalHint(answer)}`;
  }
}

function refusalHint(answer: Answer): string {
  switch (answer.code) {
    case 'invalid_signature':
    case 'invalid_token':
      return '\nhint: the stage checks with another secret than the one used here (--stage / --secrets); contact-relay doctor checks them';
    case 'internal_error':
      // The answer names no cause (anyone may call the URL); the function's log line does.
      return (
        "\nhint: the function could not process it; most often the route's source secret is missing or malformed " +
        '(logged as source_secret_unavailable): contact-relay doctor names it and the fix'
      );
    case 'unknown_route':
      return '\nhint: the deployed route config has no such route; deploy config/routes.json again';
    case 'stale_timestamp':
    case 'stale_signature':
      // Each signing source allows its own skew: Webflow 5 minutes, Calendly 3 (calendly.toleranceSeconds),
      // custom routes custom.signature.toleranceSeconds.
      return "\nhint: this machine's clock is further off than the route allows (Webflow 5 min, Calendly 3 min by default)";
    default:
      return '';
  }
}

interface PlannedLead {
  /** The lead `send` stores in the emulator before posting, and where. */
  store?: { url: string; lead: GraphLead };
  /** The leadgen id the sample names. */
  id?: string;
  /** What was (or was not) done about the lead, for the output. */
  detail: string;
}

/**
 * What `send meta-leads` does about the Graph API lead the webhook names: the sample's lead is stored in the
 * emulator where deliver reads it; a payload file's leads are the user's to provide, as is every lead outside
 * the emulator.
 */
function plannedLead(io: Io, target: Target, sample: boolean, payload: Buffer): PlannedLead {
  const seeding = leadSeeding(target, io.env, 'send');
  const leadFile = sample ? sampleGraphLeadPath('meta-leads') : undefined;
  if (leadFile === undefined) {
    const ids = leadgenIds(payload);
    const named = ids.length > 0 ? ` (${ids.join(', ')})` : '';
    if (!seeding.seed) return { detail: `not stored: ${seeding.why}${named}` };
    const how = `curl -s -X POST ${seeding.url} -H 'content-type: application/json' -d @lead.json`;
    return {
      detail: `not stored: a payload file's leads${named} must be in the emulator first (each a Graph lead: ${how})`,
    };
  }
  const lead = readGraphLead(leadFile, shown(io, leadFile));
  if (!leadgenIds(readPayload(io, samplePath('meta-leads'))).includes(lead.id)) {
    const fix = `correct ${shown(io, leadFile)}`;
    throw new CliError(`the sample's Graph lead ${lead.id} is not a lead its webhook names; ${fix}`);
  }
  if (!seeding.seed) return { id: lead.id, detail: `${lead.id} not stored: ${seeding.why}` };
  const detail = `${lead.id} stored in the emulator (${seeding.url}), where deliver reads it`;
  return { id: lead.id, store: { url: seeding.url, lead }, detail };
}

export async function send(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('send', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(SEND_HELP);
    return EXIT.ok;
  }
  const source = requireSource(positionals[0], 'send');
  const file = values.sample ? samplePath(source) : positionals[1];
  if (values.sample && positionals[1] !== undefined)
    throw new UsageError('give a payload file or --sample, not both', 'send');
  if (file === undefined)
    throw new UsageError(
      `give a payload file, or --sample to send ${SAMPLES[source].file} from the shipped samples`,
      'send',
    );
  noExtraPositionals(positionals, 2, 'send');
  checkTopic(source, values.topic, 'send');
  if (values['event-id'] !== undefined && EVENT_ID_HEADER[source] === undefined) {
    throw new UsageError(
      `--event-id applies to ${Object.keys(EVENT_ID_HEADER).join(', ')}; ${source} payloads carry their own id`,
      'send',
    );
  }
  const timeoutMs = intOption(values.timeout, 'timeout', 30, 1, 600, 'send') * 1000;
  const target = resolveTarget(values, 'send', io.env);
  const routes = loadRoutes(io, values.config);
  const route = requireRoute(routes, source, values.route ?? 'default', 'send');

  const payload = readPayload(io, file);
  const lead = source === 'meta-leads' ? plannedLead(io, target, values.sample === true, payload) : undefined;
  const backend = secretBackend(io, target.stage, { secrets: values.secrets, region: values.region }, 'send');
  let signed: SignedWebhook;
  let answer: Answer;
  try {
    const { secret, secretName } = await routeSecret(backend, route, target.stage);
    const sign = () =>
      buildWebhook({
        route,
        payload,
        topic: values.topic,
        eventId: values['event-id'],
        shop: values.shop,
        secret,
        secretName,
        now: io.now(),
      });
    signed = sign();
    if (lead?.store !== undefined) {
      await seedGraphLead(lead.store.url, lead.store.lead, { timeoutMs, unreachableHint: unreachableHint(target) });
    }
    answer = await postWebhook(target.baseUrl, signed, { timeoutMs, unreachableHint: unreachableHint(target) });
  } finally {
    backend.close();
  }

  const url = `${target.baseUrl}${signed.path.replace(/\?token=[^&]*/, '?token=…')}`;
  if (values.json) {
    const graphLead =
      lead === undefined
        ? {}
        : {
            graphLead: {
              stored: lead.store !== undefined,
              ...(lead.id !== undefined ? { id: lead.id } : {}),
              detail: lead.detail,
            },
          };
    const { httpStatus, outcome, body } = answer;
    print(io.stdout, JSON.stringify({ url, proof: signed.proof, httpStatus, outcome, body, ...graphLead }));
  } else {
    if (lead !== undefined) print(io.stdout, `Graph lead: ${lead.detail}`);
    print(io.stdout, `POST ${url}`);
    const about =
      source === 'shopify'
        ? `topic ${signed.headers['x-shopify-topic']}, shop ${signed.headers['x-shopify-shop-domain']}`
        : source === 'woocommerce'
          ? `topic ${signed.headers['x-wc-webhook-topic']}`
          : '';
    print(
      io.stdout,
      `  payload ${values.sample ? `sample ${shown(io, file)}` : file}; ${signed.proof}${about ? `; ${about}` : ''}`,
    );
    print(io.stdout, `HTTP ${answer.httpStatus}`);
    print(io.stdout, typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2));
    print(io.stdout, outcomeLine(answer, source, route, target.defaultLocal ? target.emulatorUrl : undefined));
  }
  return answer.outcome === 'rejected' ? EXIT.failed : EXIT.ok;
}
