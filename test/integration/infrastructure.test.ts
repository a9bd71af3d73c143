/**
 * The infrastructure as code, checked on the CloudFormation `osls package`
 * generates with no AWS credentials (scratch copies of the service, as in
 * package.test.ts): every function and its events, the queue's redrive
 * policy and timing arithmetic, the table's TTL, the alarms and dashboard,
 * and least privilege — every IAM statement in the template is walked.
 * Shopify through EventBridge is packaged without the shopifyEventSource
 * param (its resources are in the template, but their condition is false, so
 * CloudFormation deploys none of them) and with it. Each role's DynamoDB
 * actions are derived from the code its function deploys: the store methods
 * its bundle calls. cfn-lint checks every packaged template when installed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpClientDefaults } from '../../shared/http.js';
import { metricsNamespace } from '../../shared/logging.js';
import { retryDefaults } from '../../shared/providers/engine.js';
import { STORE_ACTIONS, storeDefaults } from '../../shared/store.js';
import { oslsWithoutCredentials, scratchCopy } from '../../local/scratch.js';
import { readZip } from '../helpers/zip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scratch: string[] = [];

// ---------------------------------------------------------------- running osls

function copyService(): string {
  const dir = scratchCopy('contact-relay-infra-');
  scratch.push(dir);
  return dir;
}

async function osls(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ dir: string; output: string }> {
  const dir = copyService();
  const result = await oslsWithoutCredentials(dir, args, { env: extraEnv, timeoutMs: 240_000 });
  if (result.code !== 0) throw new Error(`osls ${args.join(' ')} exited with ${result.code}:\n${result.output}`);
  return { dir, output: result.output };
}

async function packageStage(stage: string, ...extra: string[]): Promise<{ template: Template; dir: string }> {
  const { dir } = await osls(['package', '--stage', stage, ...extra]);
  const file = path.join(dir, '.serverless/cloudformation-template-update-stack.json');
  return { template: JSON.parse(readFileSync(file, 'utf8')) as Template, dir };
}

// ---------------------------------------------------------------- template helpers

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Resource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  Properties: Record<string, any>;
}
interface Template {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, Json>;
  Parameters?: Record<string, Json>;
  Outputs?: Record<string, Json>;
}

/** Deployed in every stack. */
const FUNCTIONS = ['forms', 'shops', 'deliver', 'healthcheck', 'redrive', 'reconcile'] as const;
type FunctionName = (typeof FUNCTIONS)[number];
/** Deployed only with the shopifyEventSource param. */
const SHOPIFY_EVENTS = 'shopifyEvents' as const;
const SHOPIFY_EVENT_SOURCE = 'aws.partner/shopify.com/123/demo';
const logicalId = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction`;

function resource(template: Template, id: string): Resource {
  const found = template.Resources[id];
  if (found === undefined) throw new Error(`no resource ${id} in the template`);
  return found;
}

function ofType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, value]) => value.Type === type);
}

const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

/**
 * An ARN-ish expression as one string, in Fn::Sub's notation: pseudo parameters
 * stay `${AWS::Region}`, `Ref X` becomes `${X}`, `GetAtt X.Attr` `${X.Attr}`.
 * Fn::Join and Fn::Sub forms of the same ARN render alike.
 */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    if ('Ref' in value) return `\${${String(value['Ref'])}}`;
    if ('Fn::GetAtt' in value) {
      const target = value['Fn::GetAtt'];
      return `\${${Array.isArray(target) ? target.join('.') : String(target)}}`;
    }
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(render).join(separator);
    }
    if ('Fn::Sub' in value && typeof value['Fn::Sub'] === 'string') return value['Fn::Sub'];
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

interface Statement {
  where: string;
  Effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
  principal?: Json;
  notAction?: Json;
  notResource?: Json;
}

/** Every policy statement in the template: role policies, managed/inline policies, resource policies. */
function statements(template: Template): Statement[] {
  const found: Statement[] = [];
  const collect = (where: string, document: { Statement?: unknown } | undefined) => {
    for (const raw of asArray(document?.Statement as Record<string, Json>[] | Record<string, Json> | undefined)) {
      found.push({
        where,
        Effect: raw['Effect'] as 'Allow' | 'Deny',
        actions: asArray(raw['Action'] as string | string[] | undefined),
        resources: asArray(raw['Resource'] as Json).map(render),
        ...(raw['Principal'] !== undefined ? { principal: raw['Principal'] } : {}),
        ...(raw['NotAction'] !== undefined ? { notAction: raw['NotAction'] } : {}),
        ...(raw['NotResource'] !== undefined ? { notResource: raw['NotResource'] } : {}),
      });
    }
  };
  for (const [id, value] of Object.entries(template.Resources)) {
    const properties = value.Properties ?? {};
    if (value.Type === 'AWS::IAM::Role') {
      for (const policy of asArray(
        properties['Policies'] as Array<{ PolicyName: string; PolicyDocument: { Statement: unknown } }>,
      )) {
        collect(`${id}/${String(policy.PolicyName)}`, policy.PolicyDocument);
      }
      // Managed policies could grant anything: a role here has only its own inline policy.
      expect(properties['ManagedPolicyArns'], `${id} attaches managed policies`).toBeUndefined();
    } else if (properties['PolicyDocument'] !== undefined) {
      collect(id, properties['PolicyDocument'] as { Statement?: unknown });
    }
  }
  return found;
}

/** A role's grants: action → the resources it is allowed on. */
function grants(template: Template, roleId: string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const statement of statements(template).filter((s) => s.where.startsWith(`${roleId}/`))) {
    expect(statement.Effect, `${statement.where}`).toBe('Allow');
    for (const action of statement.actions) result[action] = [...(result[action] ?? []), ...statement.resources].sort();
  }
  return result;
}

function roleOf(template: Template, fn: string): string {
  const role = resource(template, logicalId(fn)).Properties['Role'] as { 'Fn::GetAtt'?: [string, string] };
  const target = role['Fn::GetAtt'];
  if (target === undefined || target[1] !== 'Arn')
    throw new Error(`${fn}'s role is not a role of this stack: ${JSON.stringify(role)}`);
  return target[0];
}

/**
 * A stack parameter's value as a deploy by osls sets it: osls passes no
 * parameter values, so CloudFormation takes each default, which Serverless
 * filled in from the params.
 */
function parameterValue(template: Template, name: string): string {
  const parameter = template.Parameters?.[name] as { Default?: string } | undefined;
  if (parameter?.Default === undefined) throw new Error(`no parameter ${name} with a default in the template`);
  return parameter.Default;
}

/** Evaluate a CloudFormation condition whose operands are literals or parameters. */
function evaluate(condition: Json, template: Template): boolean {
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition))
    throw new Error(`not a condition: ${JSON.stringify(condition)}`);
  if ('Fn::Not' in condition) return !evaluate((condition['Fn::Not'] as Json[])[0]!, template);
  if ('Fn::Equals' in condition) {
    const isRef = (operand: Json): operand is { Ref: string } =>
      operand !== null && typeof operand === 'object' && !Array.isArray(operand) && typeof operand['Ref'] === 'string';
    const value = (operand: Json) => (isRef(operand) ? parameterValue(template, operand.Ref) : operand);
    const [a, b] = (condition['Fn::Equals'] as Json[]).map(value);
    if (typeof a !== 'string' || typeof b !== 'string')
      throw new Error(`Fn::Equals of non-literals: ${JSON.stringify(condition)}`);
    return a === b;
  }
  if ('Condition' in condition) return evaluate(template.Conditions![condition['Condition'] as string]!, template);
  throw new Error(`unsupported condition ${JSON.stringify(condition)}`);
}

/**
 * The stack CloudFormation would create from a template: resources and
 * outputs whose condition is false left out, Fn::If replaced by the branch
 * its condition picks (AWS::NoValue removes the property or item), and a Ref
 * to a parameter replaced by its value.
 */
function deployed(template: Template): Template {
  const holds = (name: string | undefined) => {
    if (name === undefined) return true;
    const condition = template.Conditions?.[name];
    if (condition === undefined) throw new Error(`no condition ${name} in the template`);
    return evaluate(condition, template);
  };
  const NO_VALUE = Symbol('AWS::NoValue');
  const resolve = (value: Json): Json | typeof NO_VALUE => {
    if (Array.isArray(value)) return value.map(resolve).filter((item): item is Json => item !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    if ('Ref' in value && value['Ref'] === 'AWS::NoValue') return NO_VALUE;
    const ref = value['Ref'];
    if (typeof ref === 'string' && ref in (template.Parameters ?? {})) return parameterValue(template, ref);
    if ('Fn::If' in value) {
      const [condition, whenTrue, whenFalse] = value['Fn::If'] as [string, Json, Json];
      return resolve(holds(condition) ? whenTrue : whenFalse);
    }
    const result: Record<string, Json> = {};
    for (const [key, inner] of Object.entries(value)) {
      const resolved = resolve(inner);
      if (resolved !== NO_VALUE) result[key] = resolved;
    }
    return result;
  };
  const keep = <T extends { Condition?: string }>(entries: Record<string, T> | undefined) =>
    Object.fromEntries(
      Object.entries(entries ?? {})
        .filter(([, entry]) => holds(entry.Condition))
        .map(([id, entry]) => [id, resolve(entry as unknown as Json) as unknown as T]),
    );
  return {
    ...template,
    Resources: keep(template.Resources),
    Outputs: keep(template.Outputs as Record<string, { Condition?: string }> | undefined) as Record<string, Json>,
  };
}

/** Every Ref, Fn::GetAtt and Fn::Sub name in the template points at something that exists. */
function danglingReferences(template: Template): string[] {
  const known = new Set([...Object.keys(template.Resources), ...Object.keys(template.Parameters ?? {})]);
  const pseudo = (name: string) => name.startsWith('AWS::');
  const problems: string[] = [];
  const walk = (value: Json, where: string) => {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) walk(item, `${where}[${index}]`);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string' && !pseudo(inner) && !known.has(inner))
        problems.push(`${where}: Ref ${inner}`);
      if (key === 'Fn::GetAtt') {
        const target = Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]!;
        if (!known.has(target)) problems.push(`${where}: GetAtt ${target}`);
      }
      if (key === 'Fn::Sub') {
        const text = typeof inner === 'string' ? inner : String((inner as Json[])[0]);
        const locals =
          Array.isArray(inner) && inner[1] !== null && typeof inner[1] === 'object' ? Object.keys(inner[1]) : [];
        for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = match[1]!.split('.')[0]!;
          if (!pseudo(name) && !known.has(name) && !locals.includes(name))
            problems.push(`${where}: Fn::Sub \${${match[1]}}`);
        }
      }
      if (key === 'Condition' && typeof inner === 'string' && !(inner in (template.Conditions ?? {})))
        problems.push(`${where}: Condition ${inner}`);
      walk(inner, `${where}.${key}`);
    }
  };
  walk(template.Resources as unknown as Json, 'Resources');
  walk((template.Outputs ?? {}) as Json, 'Outputs');
  for (const [id, value] of Object.entries(template.Resources)) {
    for (const dependency of asArray(value.DependsOn))
      if (!known.has(dependency)) problems.push(`Resources.${id}.DependsOn: ${dependency}`);
  }
  return problems;
}

// ---------------------------------------------------------------- the templates

/** As packaged: conditional resources included, with their conditions. prod has every optional param set. */
let ci: Template;
let prod: Template;
let shopify: Template;
/** The scratch copies each was packaged in. */
let dirs: { ci: string; prod: string; shopify: string };
/** What CloudFormation would deploy from each. */
let live: { ci: Template; prod: Template; shopify: Template };
let localConfig: {
  provider: { environment: Record<string, unknown> };
  functions: Record<string, { environment?: Record<string, unknown>; events?: Array<Record<string, any>> }>;
};

beforeAll(async () => {
  const printed = osls(['print', '--stage', 'local', '--format', 'json'], {
    QUEUE_URL: 'http://127.0.0.1:4010/000000000000/contact-relay-local-delivery',
    QUEUE_ARN: 'arn:aws:sqs:us-east-1:000000000000:contact-relay-local-delivery',
  });
  const packaged = await Promise.all([
    packageStage('ci'),
    packageStage('prod', '--param=alarmEmail=ops@example.com', `--param=shopifyEventSource=${SHOPIFY_EVENT_SOURCE}`),
    packageStage('ci', `--param=shopifyEventSource=${SHOPIFY_EVENT_SOURCE}`),
    printed.then(({ output }) => JSON.parse(output.slice(output.indexOf('{'))) as typeof localConfig),
  ] as const);
  [{ template: ci }, { template: prod }, { template: shopify }, localConfig] = packaged;
  dirs = { ci: packaged[0].dir, prod: packaged[1].dir, shopify: packaged[2].dir };
  live = { ci: deployed(ci), prod: deployed(prod), shopify: deployed(shopify) };
}, 300_000);

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The secrets of stage ci, by kind: each role may read one kind (`source/*` and so on). */
const secretsCi = (kind: 'source/' | 'provider/' | 'shopify-admin/' | 'source/meta-leads' | 'lookup-key') =>
  `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:contact-relay/ci/${kind}*`;
const SOURCE_SECRETS = secretsCi('source/');
const PROVIDER_SECRETS = secretsCi('provider/');
const SHOPIFY_ADMIN_SECRETS = secretsCi('shopify-admin/');
/** Meta Lead Ads routes' secrets: deliver reads their page tokens, and no other source secret. */
const META_LEADS_SECRETS = secretsCi('source/meta-leads');
/** The one secret the person index's hashes are keyed with: that name and its ARN's six random characters. */
const LOOKUP_KEY = `${secretsCi('lookup-key').slice(0, -1)}-??????`;
const SECRET_KINDS = [SOURCE_SECRETS, PROVIDER_SECRETS, SHOPIFY_ADMIN_SECRETS, META_LEADS_SECRETS, LOOKUP_KEY];
const TABLE = '${EventsTable.Arn}';
const QUEUE = '${DeliveryQueue.Arn}';
const DLQ = '${DeliveryDeadLetterQueue.Arn}';
const EVENTS_DLQ = '${ShopifyEventsDeadLetterQueue.Arn}';
const logs = (fn: string) => {
  const group = `\${${fn[0]!.toUpperCase()}${fn.slice(1)}LogGroup.Arn}`;
  return { 'logs:CreateLogStream': [group], 'logs:PutLogEvents': [group] };
};

/**
 * What each function's code calls besides the table, and on which resource.
 * Its DynamoDB actions are derived from its deployed bundle below.
 */
const EXPECTED_GRANTS: Record<FunctionName | typeof SHOPIFY_EVENTS, Record<string, string[]>> = {
  forms: {
    ...logs('forms'),
    'secretsmanager:GetSecretValue': [SOURCE_SECRETS, LOOKUP_KEY],
    'sqs:SendMessage': [QUEUE],
  },
  shops: {
    ...logs('shops'),
    'secretsmanager:GetSecretValue': [SOURCE_SECRETS, LOOKUP_KEY],
    'sqs:SendMessage': [QUEUE],
  },
  // No signature on the bus, so no source secrets, only the lookup key; the on-failure destination is sent
  // with this role.
  shopifyEvents: {
    ...logs('shopifyEvents'),
    'secretsmanager:GetSecretValue': [LOOKUP_KEY],
    'sqs:SendMessage': [QUEUE, EVENTS_DLQ],
  },
  deliver: {
    ...logs('deliver'),
    'secretsmanager:GetSecretValue': [PROVIDER_SECRETS, META_LEADS_SECRETS],
    'sqs:ReceiveMessage': [QUEUE],
    'sqs:DeleteMessage': [QUEUE],
    'sqs:GetQueueAttributes': [QUEUE],
    'sqs:ChangeMessageVisibility': [QUEUE],
    // Deferred jobs back on the queue; those whose real attempts are spent across deferrals to the DLQ.
    'sqs:SendMessage': [QUEUE, DLQ],
  },
  healthcheck: {
    ...logs('healthcheck'),
    'secretsmanager:GetSecretValue': [PROVIDER_SECRETS],
  },
  redrive: {
    ...logs('redrive'),
    'secretsmanager:GetSecretValue': [PROVIDER_SECRETS],
    'sqs:GetQueueAttributes': [DLQ],
    'sqs:ListMessageMoveTasks': [DLQ],
    'sqs:StartMessageMoveTask': [DLQ],
    'sqs:ReceiveMessage': [DLQ],
    'sqs:DeleteMessage': [DLQ],
    'sqs:SendMessage': [QUEUE],
  },
  reconcile: {
    ...logs('reconcile'),
    'secretsmanager:GetSecretValue': [SHOPIFY_ADMIN_SECRETS, LOOKUP_KEY],
    'sqs:SendMessage': [QUEUE],
  },
};

/** The one zip a function deploys, as `osls package` wrote it: its entries. */
function functionZip(dir: string, fn: string) {
  return readZip(path.join(dir, '.serverless', `${fn}.zip`));
}

/** The store methods a function's deployed bundle calls (property names survive minifying). */
function storeMethodsCalled(fn: string): string[] {
  const bundle = functionZip(dirs.ci, fn)
    .filter((entry) => entry.name.endsWith('.mjs'))
    .map((entry) => entry.read().toString('utf8'))
    .join('\n');
  return Object.keys(STORE_ACTIONS).filter((method) => bundle.includes(`.${method}(`));
}

/** The DynamoDB actions on the table a function needs: those of every store method it calls. */
function tableGrants(fn: string): Record<string, string[]> {
  const methods = storeMethodsCalled(fn) as Array<keyof typeof STORE_ACTIONS>;
  const actions = new Set(methods.flatMap((method) => STORE_ACTIONS[method]));
  return Object.fromEntries([...actions].map((action) => [action, [TABLE]]));
}

// ---------------------------------------------------------------- functions and events

describe('functions and their events', () => {
  it('has every function on nodejs22.x, arm64', () => {
    for (const fn of FUNCTIONS) {
      const properties = resource(live.ci, logicalId(fn)).Properties;
      expect([fn, properties['Runtime'], properties['Architectures']]).toEqual([fn, 'nodejs22.x', ['arm64']]);
      expect(properties['Handler']).toBe(`functions/${fn}/handler.handler`);
    }
    expect(resource(live.shopify, logicalId(SHOPIFY_EVENTS)).Properties['Handler']).toBe(
      'functions/shopify-events/handler.handler',
    );
    for (const template of [ci, shopify]) {
      for (const [id, fn] of ofType(template, 'AWS::Lambda::Function'))
        expect([id, fn.Properties['Runtime'], fn.Properties['Architectures']]).toEqual([id, 'nodejs22.x', ['arm64']]);
    }
  });

  it.each([
    ['form', 'forms'],
    ['typeform', 'forms'],
    ['tally', 'forms'],
    ['jotform', 'forms'],
    ['webflow', 'forms'],
    ['google-forms', 'forms'],
    ['meta-leads', 'forms'],
    ['calendly', 'forms'],
    ['custom', 'forms'],
    ['shopify', 'shops'],
    ['woocommerce', 'shops'],
  ])('routes POST /hooks/%s/{route} to the %s function', (source, fn) => {
    const routes = ofType(ci, 'AWS::ApiGatewayV2::Route').filter(
      ([, route]) => route.Properties['RouteKey'] === `POST /hooks/${source}/{route}`,
    );
    expect(routes).toHaveLength(1);
    const target = routes[0]![1].Properties['Target'] as { 'Fn::Join': [string, [string, { Ref: string }]] };
    const integration = resource(ci, target['Fn::Join'][1][1].Ref);
    expect(integration.Properties['IntegrationUri']).toEqual(getAtt(logicalId(fn), 'Arn'));
    expect(integration.Properties['PayloadFormatVersion']).toBe('2.0');
  });

  it('serves no other HTTP route, and the shops function answers within Shopify’s 5 s with the default 10 s timeout', () => {
    const sources = [
      'form',
      'typeform',
      'tally',
      'jotform',
      'webflow',
      'google-forms',
      'meta-leads',
      'calendly',
      'custom',
      'shopify',
      'woocommerce',
    ];
    // Meta checks the URL with a GET (hub.challenge) before it subscribes it; no other route takes a GET.
    const expected = [...sources.map((source) => `POST /hooks/${source}/{route}`), 'GET /hooks/meta-leads/{route}'];
    expect(
      ofType(ci, 'AWS::ApiGatewayV2::Route')
        .map(([, route]) => route.Properties['RouteKey'] as string)
        .sort(),
    ).toEqual(expected.sort());
    expect(resource(ci, 'ShopsLambdaFunction').Properties['Timeout']).toBe(10);
  });

  it('feeds the delivery queue to deliver in batches with partial batch failures and a per-stage maximum concurrency', () => {
    const mappings = ofType(ci, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]![1].Properties;
    expect(mapping['EventSourceArn']).toEqual(getAtt('DeliveryQueue', 'Arn'));
    expect(mapping['FunctionName']).toEqual(getAtt('DeliverLambdaFunction', 'Arn'));
    expect(mapping['FunctionResponseTypes']).toEqual(['ReportBatchItemFailures']);
    expect(mapping['BatchSize']).toBe(10);
    expect(mapping['ScalingConfig']).toEqual({ MaximumConcurrency: 5 });
    const prodMapping = ofType(prod, 'AWS::Lambda::EventSourceMapping')[0]![1].Properties;
    expect(prodMapping['ScalingConfig']).toEqual({ MaximumConcurrency: 10 });
  });

  it('schedules reconcile, redrive and healthcheck with EventBridge Scheduler through a role that may only invoke them', () => {
    const schedules = ofType(ci, 'AWS::Scheduler::Schedule').map(([, schedule]) => ({
      target: (schedule.Properties['Target'] as { Arn: { 'Fn::GetAtt': [string, string] } }).Arn['Fn::GetAtt'][0],
      expression: schedule.Properties['ScheduleExpression'] as string,
      state: schedule.Properties['State'] as string,
      role: (schedule.Properties['Target'] as { RoleArn: Json }).RoleArn,
    }));
    expect(schedules.map(({ target, expression, state }) => [target, expression, state]).sort()).toEqual([
      ['HealthcheckLambdaFunction', 'rate(15 minutes)', 'ENABLED'],
      ['ReconcileLambdaFunction', 'rate(15 minutes)', 'ENABLED'],
      ['RedriveLambdaFunction', 'rate(30 minutes)', 'ENABLED'],
    ]);
    for (const schedule of schedules) expect(schedule.role).toEqual(getAtt('SchedulerInvokeRole', 'Arn'));
    // No EventBridge rule: Scheduler schedules, and the Shopify rule only with its param.
    expect(ofType(live.ci, 'AWS::Events::Rule')).toEqual([]);

    const role = resource(ci, 'SchedulerInvokeRole').Properties;
    expect(role['AssumeRolePolicyDocument'].Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    expect(grants(ci, 'SchedulerInvokeRole')).toEqual({
      'lambda:InvokeFunction': [
        '${HealthcheckLambdaFunction.Arn}',
        '${ReconcileLambdaFunction.Arn}',
        '${RedriveLambdaFunction.Arn}',
      ],
    });
  });

  it('keeps the local stage renderable for serverless-offline: every environment value a plain string', () => {
    for (const [name, value] of Object.entries(localConfig.provider.environment))
      expect([name, typeof value]).toEqual([name, 'string']);
    expect(localConfig.provider.environment['QUEUE_URL']).toBe(
      'http://127.0.0.1:4010/000000000000/contact-relay-local-delivery',
    );
    const sqs = localConfig.functions['deliver']?.events?.find((event) => 'sqs' in event)?.['sqs'] as {
      arn: unknown;
      maximumConcurrency: unknown;
    };
    expect(sqs.arn).toBe('arn:aws:sqs:us-east-1:000000000000:contact-relay-local-delivery');
    expect(sqs.maximumConcurrency).toBe(5);
    // serverless-offline ignores conditions: shopifyEvents is there to invoke, with its route as a string.
    expect(localConfig.functions[SHOPIFY_EVENTS]?.environment).toEqual({ SHOPIFY_EVENTS_ROUTE: 'default' });
  });
});

// ---------------------------------------------------------------- Shopify through EventBridge

describe('Shopify through EventBridge (the shopifyEventSource param)', () => {
  /** Everything the param adds; Lambda versions' ids hash the code, so they are matched by prefix. */
  const EVENTBRIDGE_RESOURCES = [
    'ShopifyEventBus',
    'ShopifyEventsRule',
    'ShopifyEventsInvokePermission',
    'ShopifyEventsEventInvokeConfig',
    'ShopifyEventsLambdaFunction',
    'ShopifyEventsFunctionRole',
    'ShopifyEventsLogGroup',
    'ShopifyEventsDeadLetterQueue',
    'ShopifyEventsDeadLetterQueuePolicy',
    'ShopifyEventsErrorsAlarm',
    'ShopifyEventsThrottlesAlarm',
    'ShopifyEventsDeadLettersAlarm',
  ];
  const ids = (template: Template) =>
    Object.keys(template.Resources)
      .filter((id) => !/LambdaVersion/.test(id))
      .sort();
  const versions = (template: Template) =>
    Object.keys(template.Resources).filter((id) => id.startsWith('ShopifyEventsLambdaVersion'));

  it('deploys nothing extra without it: no bus, rule, function, role, log group, queue or alarm', () => {
    for (const type of [
      'AWS::Events::EventBus',
      'AWS::Events::Rule',
      'AWS::Lambda::EventInvokeConfig',
      'AWS::SQS::QueuePolicy',
    ])
      expect(ofType(live.ci, type), type).toEqual([]);
    expect(
      ofType(live.ci, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(FUNCTIONS.map(logicalId).sort());
    expect(Object.keys(live.ci.Resources).filter((id) => id.startsWith('ShopifyEvent'))).toEqual([]);
    expect(Object.keys(live.ci.Outputs ?? {}).filter((id) => id.startsWith('ShopifyEvent'))).toEqual([]);
    // The param adds exactly these, and changes no other resource's presence.
    expect(ids(live.shopify)).toEqual([...ids(live.ci), ...EVENTBRIDGE_RESOURCES].sort());
    expect(versions(live.ci)).toEqual([]);
    expect(versions(live.shopify)).toHaveLength(1);
  });

  it('puts all of it under one condition, false when the param is empty and true when it is set', () => {
    for (const template of [ci, shopify]) {
      expect(template.Conditions!['HasShopifyEventSource']).toBeDefined();
      for (const id of [...EVENTBRIDGE_RESOURCES, ...versions(template)])
        expect([id, resource(template, id).Condition]).toEqual([id, 'HasShopifyEventSource']);
    }
    expect(evaluate({ Condition: 'HasShopifyEventSource' }, ci)).toBe(false);
    expect(evaluate({ Condition: 'HasShopifyEventSource' }, shopify)).toBe(true);
  });

  it('associates a bus with the partner event source and routes the contact topics to shopifyEvents', () => {
    const bus = resource(live.shopify, 'ShopifyEventBus').Properties;
    expect(bus).toEqual({ Name: SHOPIFY_EVENT_SOURCE, EventSourceName: SHOPIFY_EVENT_SOURCE });
    const rules = ofType(live.shopify, 'AWS::Events::Rule');
    expect(rules.map(([id]) => id)).toEqual(['ShopifyEventsRule']);
    const rule = rules[0]![1].Properties;
    expect(rule['EventBusName']).toEqual({ Ref: 'ShopifyEventBus' });
    expect(rule['State']).toBe('ENABLED');
    expect(rule['EventPattern']).toEqual({
      source: [{ prefix: 'aws.partner/shopify.com' }],
      $or: [
        {
          detail: {
            metadata: { 'X-Shopify-Topic': ['orders/create', 'orders/paid', 'customers/create', 'customers/update'] },
          },
        },
        {
          detail: {
            metadata: { 'Shopify-Topic': ['orders/create', 'orders/paid', 'customers/create', 'customers/update'] },
          },
        },
      ],
    });
    expect(rule['Targets']).toEqual([
      {
        Id: 'shopifyEvents',
        Arn: getAtt('ShopifyEventsLambdaFunction', 'Arn'),
        RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: getAtt('ShopifyEventsDeadLetterQueue', 'Arn') },
      },
    ]);
    const permissions = ofType(live.shopify, 'AWS::Lambda::Permission').filter(
      ([, permission]) => permission.Properties['Principal'] === 'events.amazonaws.com',
    );
    expect(permissions.map(([, permission]) => permission.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt('ShopifyEventsLambdaFunction', 'Arn'),
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt('ShopifyEventsRule', 'Arn'),
      },
    ]);
  });

  it('takes the event source as a stack parameter that admits only a partner event source name, or nothing', () => {
    type Parameter = { Type: string; Default: string; AllowedPattern: string };
    const parameter = shopify.Parameters!['ShopifyEventSource'] as Parameter;
    const unset = ci.Parameters!['ShopifyEventSource'] as Parameter;
    expect([parameter.Type, parameter.Default, unset.Default]).toEqual(['String', SHOPIFY_EVENT_SOURCE, '']);
    const allowed = new RegExp(parameter.AllowedPattern);
    for (const value of ['', SHOPIFY_EVENT_SOURCE, 'aws.partner/shopify.com/4815162342/contact-relay']) {
      expect(allowed.test(value), value).toBe(true);
    }
    for (const value of ['contact-relay', 'aws.partner/shopify.com', 'aws.partner/shopify.com/1 2/x']) {
      expect(allowed.test(value), value).toBe(false);
    }
  });

  it('runs shopifyEvents under the route shopifyEventsRoute names, with its own role', () => {
    const fn = resource(shopify, 'ShopifyEventsLambdaFunction');
    expect(fn.Properties['Environment'].Variables['SHOPIFY_EVENTS_ROUTE']).toBe('default');
    expect(fn.Properties['Timeout']).toBe(10);
    expect(roleOf(shopify, SHOPIFY_EVENTS)).toBe('ShopifyEventsFunctionRole');
  });

  it('retries a failed invocation twice, then dead-letters it in a 14-day encrypted queue the rule may also use', () => {
    const configs = ofType(live.shopify, 'AWS::Lambda::EventInvokeConfig');
    expect(configs.map(([id]) => id)).toEqual(['ShopifyEventsEventInvokeConfig']);
    expect(configs[0]![1].Properties).toEqual({
      FunctionName: { Ref: 'ShopifyEventsLambdaFunction' },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: getAtt('ShopifyEventsDeadLetterQueue', 'Arn') } },
    });
    expect(resource(shopify, 'ShopifyEventsDeadLetterQueue').Properties).toMatchObject({
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
    });
    const policy = resource(shopify, 'ShopifyEventsDeadLetterQueuePolicy').Properties;
    expect(policy['Queues']).toEqual([{ Ref: 'ShopifyEventsDeadLetterQueue' }]);
    expect(policy['PolicyDocument'].Statement).toEqual([
      {
        Sid: 'ShopifyEventsRuleDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt('ShopifyEventsDeadLetterQueue', 'Arn'),
        Condition: { ArnEquals: { 'aws:SourceArn': getAtt('ShopifyEventsRule', 'Arn') } },
      },
    ]);
  });

  it('alarms when the events dead-letter queue is not empty', () => {
    const alarm = resource(live.shopify, 'ShopifyEventsDeadLettersAlarm').Properties;
    expect([
      alarm['Namespace'],
      alarm['MetricName'],
      alarm['Dimensions'],
      alarm['ComparisonOperator'],
      alarm['Threshold'],
    ]).toEqual([
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      [{ Name: 'QueueName', Value: getAtt('ShopifyEventsDeadLetterQueue', 'QueueName') }],
      'GreaterThanThreshold',
      0,
    ]);
  });
});

// ---------------------------------------------------------------- queue and table

describe('queue, dead letters and table', () => {
  it('dead-letters a job after 5 receives, with a visibility timeout of at least 6 × the deliver timeout', () => {
    const queue = resource(ci, 'DeliveryQueue').Properties;
    expect(queue['RedrivePolicy']).toEqual({
      deadLetterTargetArn: getAtt('DeliveryDeadLetterQueue', 'Arn'),
      maxReceiveCount: 5,
    });
    const deliverTimeout = resource(ci, 'DeliverLambdaFunction').Properties['Timeout'] as number;
    expect(deliverTimeout).toBe(60);
    expect(queue['VisibilityTimeout']).toBeGreaterThanOrEqual(6 * deliverTimeout);
    // The DLQ keeps jobs longer than the queue, so a redrive never races their expiry.
    expect(resource(ci, 'DeliveryDeadLetterQueue').Properties['MessageRetentionPeriod']).toBeGreaterThan(
      queue['MessageRetentionPeriod'] as number,
    );
  });

  it('fits one batch in the deliver timeout and one job in the outcome lease', () => {
    const deliverTimeoutMs = (resource(ci, 'DeliverLambdaFunction').Properties['Timeout'] as number) * 1000;
    // Retries stop starting after the budget; the last attempt may still run a lookup and a create.
    const oneAttemptMs = httpClientDefaults.connectTimeoutMs + httpClientDefaults.responseTimeoutMs;
    const worstJobMs = retryDefaults.budgetMs + 2 * oneAttemptMs;
    // Jobs of a batch (and accounts of a job) run side by side: a batch takes as long as its slowest job.
    expect(worstJobMs).toBeLessThan(deliverTimeoutMs);
    expect(deliverTimeoutMs).toBeLessThan(storeDefaults.leaseMs);
  });

  it('lists recent events in the on-demand GSI recent (gsi1pk, gsi1sk strings), projecting whole records', () => {
    const table = resource(ci, 'EventsTable').Properties;
    expect(table['BillingMode']).toBe('PAY_PER_REQUEST');
    expect(table['AttributeDefinitions']).toEqual(
      expect.arrayContaining([
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ]),
    );
    expect(table['GlobalSecondaryIndexes']).toEqual([
      {
        IndexName: 'recent',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('expires records through the table TTL attribute expiresAt', () => {
    expect(resource(ci, 'EventsTable').Properties['TimeToLiveSpecification']).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
  });

  it('keeps nothing after osls remove: no resource of any stage is retained (README, Deploy, step 6)', () => {
    for (const template of [ci, prod, shopify]) {
      // osls retains each function version across updates; deleting the function deletes all its versions
      // (https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html).
      const retained = Object.entries(template.Resources)
        .filter(([, value]) => value.Type !== 'AWS::Lambda::Version')
        .filter(([, value]) => {
          const policies = value as { DeletionPolicy?: string; UpdateReplacePolicy?: string };
          return [policies.DeletionPolicy, policies.UpdateReplacePolicy].some(
            (policy) => policy !== undefined && policy !== 'Delete',
          );
        });
      expect(retained.map(([id]) => id)).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------- least privilege

describe('IAM: least privilege', () => {
  it.each(['ci', 'shopify'] as const)(
    'gives every function a role of its own and creates no shared role (%s)',
    (name) => {
      const template = live[name];
      expect(template.Resources['IamRoleLambdaExecution']).toBeUndefined();
      const roles = ofType(template, 'AWS::Lambda::Function').map(([id, fn]) => {
        const role = (fn.Properties['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
        expect(role, `${id} has no role of this stack`).toBeDefined();
        expect(resource(template, role[0]).Type).toBe('AWS::IAM::Role');
        return role[0];
      });
      expect(roles.length).toBe(name === 'ci' ? FUNCTIONS.length : FUNCTIONS.length + 1);
      expect(new Set(roles).size).toBe(roles.length);
      for (const role of roles) {
        expect(resource(template, role).Properties['AssumeRolePolicyDocument'].Statement).toEqual([
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ]);
      }
      // Every role of the stack belongs to a function, except the one Scheduler assumes.
      expect(
        ofType(template, 'AWS::IAM::Role')
          .map(([id]) => id)
          .sort(),
      ).toEqual([...roles, 'SchedulerInvokeRole'].sort());
    },
  );

  it.each([...FUNCTIONS, SHOPIFY_EVENTS] as Array<FunctionName | typeof SHOPIFY_EVENTS>)(
    'allows %s exactly the calls its code makes, on this stack’s resources',
    (fn) => {
      const template = fn === SHOPIFY_EVENTS ? shopify : ci;
      const expected = { ...EXPECTED_GRANTS[fn], ...tableGrants(fn) };
      const sorted = Object.fromEntries(Object.entries(expected).map(([action, on]) => [action, [...on].sort()]));
      expect(grants(template, roleOf(template, fn))).toEqual(sorted);
    },
  );

  it('derives the table grants from the store methods each bundle calls', () => {
    // Ingest (forms, shops, shopifyEvents, and reconcile's accept) reads a refused dedupe write: GetItem included;
    // it counts duplicates and writes the person index (BatchWriteItem).
    const ingest = ['beginIngest', 'markSeen', 'completeIngest', 'abandonIngest', 'countDuplicate', 'indexPerson'];
    const called = Object.fromEntries([...FUNCTIONS, SHOPIFY_EVENTS].map((fn) => [fn, storeMethodsCalled(fn).sort()]));
    expect(called).toEqual({
      // Plain form routes' rate limits (shared/sources/protection.ts): an UpdateItem forms already has.
      forms: [...ingest, 'countRequest'].sort(),
      shops: [...ingest].sort(),
      shopifyEvents: [...ingest].sort(),
      deliver: ['claimOutcome', 'holdBucket', 'recordDeadLetter', 'recordOutcome', 'takeToken'],
      healthcheck: [],
      redrive: [],
      reconcile: [...ingest, 'getCheckpoint', 'putCheckpoint'].sort(),
    });
    const ingestActions = [
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ];
    expect(Object.keys(tableGrants('forms')).sort()).toEqual(ingestActions);
    expect(Object.keys(tableGrants('deliver')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
  });

  it('grants no wildcard action nor data action on "*", and secrets one kind each under contact-relay/{stage}/', () => {
    // The packaged template holds every statement, those of conditional resources included.
    const all = statements(shopify);
    expect(all.length).toBe(statements(ci).length);
    expect(all.length).toBeGreaterThan(10);
    for (const statement of all) {
      const label = `${statement.where}: ${statement.actions.join(',')} on ${statement.resources.join(',')}`;
      expect(statement.notAction, label).toBeUndefined();
      expect(statement.notResource, label).toBeUndefined();
      if (statement.Effect !== 'Allow') continue;
      for (const action of statement.actions) {
        expect(action, label).not.toContain('*');
        expect(action, label).not.toBe('secretsmanager:*');
      }
      const touchesData = statement.actions.some((action) => /^(secretsmanager|sqs|dynamodb|kms):/.test(action));
      if (touchesData) {
        expect(statement.resources.length, label).toBeGreaterThan(0);
        for (const arn of statement.resources) {
          expect(arn, label).not.toBe('*');
          // The only wildcards allowed are the stage's secret prefixes, one kind each.
          if (arn.includes('*')) expect(SECRET_KINDS, label).toContain(arn);
        }
      }
      if (statement.actions.includes('secretsmanager:GetSecretValue')) {
        expect(statement.resources.length, label).toBe(1);
        expect(SECRET_KINDS, label).toContain(statement.resources[0]);
      }
    }
  });

  it('names the stage in the secrets ARN of every stage', () => {
    const arns = statements(prod)
      .filter((statement) => statement.actions.some((action) => action.startsWith('secretsmanager:')))
      .flatMap((statement) => statement.resources);
    expect(new Set(arns)).toEqual(new Set(SECRET_KINDS.map((arn) => arn.replace('/ci/', '/prod/'))));
  });

  it('refers only to resources that exist', () => {
    expect(danglingReferences(ci)).toEqual([]);
    expect(danglingReferences(prod)).toEqual([]);
    expect(danglingReferences(shopify)).toEqual([]);
  });

  it('refers only to resources that are deployed: nothing unconditional names a resource whose condition is false', () => {
    // CloudFormation rejects the template otherwise (the dashboard or an alarm naming shopifyEvents without its param).
    expect(danglingReferences(live.ci)).toEqual([]);
    expect(danglingReferences(live.prod)).toEqual([]);
    expect(danglingReferences(live.shopify)).toEqual([]);
  });
});

// ---------------------------------------------------------------- alarms and dashboard

describe('alarms and dashboard', () => {
  const alarms = (template: Template) =>
    ofType(template, 'AWS::CloudWatch::Alarm').map(
      ([id, alarm]) => ({ id, ...alarm.Properties }) as Record<string, any>,
    );
  const findAlarm = (template: Template, match: (alarm: Record<string, any>) => boolean, what: string) => {
    const found = alarms(template).filter(match);
    expect(found, what).toHaveLength(1);
    return found[0]!;
  };
  const dimension = (alarm: Record<string, any>, name: string) =>
    (alarm['Dimensions'] as Array<{ Name: string; Value: Json }>).find((d) => d.Name === name)?.Value;

  it('alarms when the dead-letter queue is not empty', () => {
    const alarm = findAlarm(
      live.ci,
      (a) => a['MetricName'] === 'ApproximateNumberOfMessagesVisible' && a['Namespace'] === 'AWS/SQS',
      'DLQ alarm',
    );
    expect(dimension(alarm, 'QueueName')).toEqual(getAtt('DeliveryDeadLetterQueue', 'QueueName'));
    expect([alarm['ComparisonOperator'], alarm['Threshold']]).toEqual(['GreaterThanThreshold', 0]);
  });

  it('alarms on deliver errors and on permanently failed deliveries counted from the deliver logs', () => {
    const errors = findAlarm(
      ci,
      (a) => a['MetricName'] === 'Errors' && render(dimension(a, 'FunctionName')!) === '${DeliverLambdaFunction}',
      'deliver errors alarm',
    );
    expect([errors['Namespace'], errors['ComparisonOperator'], errors['Threshold']]).toEqual([
      'AWS/Lambda',
      'GreaterThanOrEqualToThreshold',
      1,
    ]);

    const filters = ofType(ci, 'AWS::Logs::MetricFilter').filter(
      ([, filter]) => filter.Properties['MetricTransformations'][0].MetricName === 'DeliveryFailed',
    );
    expect(filters).toHaveLength(1);
    const filter = filters[0]![1].Properties;
    expect(filter['LogGroupName']).toEqual({ Ref: 'DeliverLogGroup' });
    expect(filter['FilterPattern']).toContain('$.message = "delivery outcome"');
    expect(filter['FilterPattern']).toContain('$.status = "failed"');
    expect(filter['MetricTransformations']).toEqual([
      { MetricNamespace: metricsNamespace('ci'), MetricName: 'DeliveryFailed', MetricValue: '1', Unit: 'Count' },
    ]);
    const failed = findAlarm(ci, (a) => a['MetricName'] === 'DeliveryFailed', 'delivery failed alarm');
    expect([failed['Namespace'], failed['Statistic'], failed['ComparisonOperator'], failed['Threshold']]).toEqual([
      metricsNamespace('ci'),
      'Sum',
      'GreaterThanOrEqualToThreshold',
      1,
    ]);
  });

  it.each(['ci', 'shopify'] as const)('alarms on throttles and errors of every function (%s)', (name) => {
    const template = live[name];
    expect(
      ofType(template, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...FUNCTIONS, ...(name === 'shopify' ? [SHOPIFY_EVENTS] : [])].map(logicalId).sort());
    for (const [id] of ofType(template, 'AWS::Lambda::Function')) {
      for (const metric of ['Throttles', 'Errors']) {
        const alarm = findAlarm(
          template,
          (a) => a['MetricName'] === metric && render(dimension(a, 'FunctionName') ?? '') === `\${${id}}`,
          `${metric} alarm of ${id}`,
        );
        expect([alarm['Namespace'], alarm['ComparisonOperator'], alarm['Threshold']]).toEqual([
          'AWS/Lambda',
          'GreaterThanOrEqualToThreshold',
          1,
        ]);
      }
    }
  });

  it('alarms when a provider account fails its health check (Powertools EMF metric)', () => {
    const alarm = findAlarm(ci, (a) => a['MetricName'] === 'ProviderCredentialsFailing', 'credentials alarm');
    expect([alarm['Namespace'], alarm['Dimensions'], alarm['ComparisonOperator'], alarm['Threshold']]).toEqual([
      metricsNamespace('ci'),
      [{ Name: 'service', Value: 'contact-relay' }],
      'GreaterThanOrEqualToThreshold',
      1,
    ]);
  });

  it('alarms when the oldest queued job is older than 15 minutes, and when webhooks get a 5xx', () => {
    const age = findAlarm(ci, (a) => a['MetricName'] === 'ApproximateAgeOfOldestMessage', 'queue age alarm');
    expect([age['Namespace'], dimension(age, 'QueueName'), age['ComparisonOperator'], age['Threshold']]).toEqual([
      'AWS/SQS',
      getAtt('DeliveryQueue', 'QueueName'),
      'GreaterThanThreshold',
      900,
    ]);
    const http = findAlarm(ci, (a) => a['MetricName'] === '5xx', 'webhook 5xx alarm');
    expect([http['Namespace'], dimension(http, 'ApiId')]).toEqual(['AWS/ApiGateway', { Ref: 'HttpApi' }]);
  });

  it('sends every alarm, and its recovery, to the alarm topic; email only when alarmEmail is set', () => {
    // As packaged: the conditional alarms too.
    const all = alarms(ci);
    expect(all.length).toBeGreaterThanOrEqual(20);
    for (const alarm of all) {
      expect(alarm['AlarmName'], alarm['id']).toMatch(/^contact-relay-ci-/);
      expect(alarm['AlarmActions'], alarm['id']).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm['OKActions'], alarm['id']).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm['TreatMissingData'], alarm['id']).toBe('notBreaching');
    }
    expect(resource(ci, 'AlarmTopic').Type).toBe('AWS::SNS::Topic');

    const subscription = (template: Template) => resource(template, 'AlarmEmailSubscription');
    expect(evaluate(ci.Conditions![subscription(ci).Condition!]!, ci)).toBe(false);
    expect(evaluate(prod.Conditions![subscription(prod).Condition!]!, prod)).toBe(true);
    expect(resource(live.prod, 'AlarmEmailSubscription').Properties).toEqual({
      TopicArn: { Ref: 'AlarmTopic' },
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    expect(live.ci.Resources['AlarmEmailSubscription']).toBeUndefined();
  });

  it('counts outcomes per status and provider from the deliver logs', () => {
    const byMetric = new Map(
      ofType(ci, 'AWS::Logs::MetricFilter').map(
        ([, filter]) =>
          [filter.Properties['MetricTransformations'][0].MetricName as string, filter.Properties] as const,
      ),
    );
    for (const status of ['created', 'exists', 'skipped', 'failed', 'transient']) {
      const name = `Outcome${status[0]!.toUpperCase()}${status.slice(1)}`;
      const filter = byMetric.get(name);
      expect(filter, name).toBeDefined();
      expect(filter!['LogGroupName']).toEqual({ Ref: 'DeliverLogGroup' });
      expect(filter!['FilterPattern']).toBe(`{ ($.message = "delivery outcome") && ($.status = "${status}") }`);
      expect(filter!['MetricTransformations'][0]).toMatchObject({
        MetricNamespace: metricsNamespace('ci'),
        MetricValue: '1',
        Dimensions: [{ Key: 'Provider', Value: '$.provider' }],
      });
    }
  });

  it('keeps each stage’s custom metrics in its own namespace: metric filters, alarms and dashboard', () => {
    for (const [stage, template] of [
      ['ci', ci],
      ['prod', prod],
    ] as const) {
      const custom = new Set<string>();
      for (const [, filter] of ofType(template, 'AWS::Logs::MetricFilter')) {
        const transformations = filter.Properties['MetricTransformations'] as Array<{ MetricNamespace: string }>;
        for (const transformation of transformations) custom.add(transformation.MetricNamespace);
      }
      for (const alarm of alarms(template)) {
        if (!String(alarm['Namespace']).startsWith('AWS/')) custom.add(alarm['Namespace'] as string);
      }
      const body = JSON.stringify(ofType(template, 'AWS::CloudWatch::Dashboard')[0]![1].Properties['DashboardBody']);
      for (const match of body.matchAll(/\[\\"(ContactRelay[^\\"]*)\\"/g)) custom.add(match[1]!);
      expect([...custom], stage).toEqual([metricsNamespace(stage)]);
    }
    expect(metricsNamespace('ci')).not.toBe(metricsNamespace('prod'));
  });

  it('alarms when reconcile fails a route, counted from its logs (the function itself returns normally)', () => {
    const filters = ofType(ci, 'AWS::Logs::MetricFilter').filter(
      ([, filter]) => filter.Properties['MetricTransformations'][0].MetricName === 'ReconcileRouteFailed',
    );
    expect(filters).toHaveLength(1);
    const filter = filters[0]![1].Properties;
    expect(filter['LogGroupName']).toEqual({ Ref: 'ReconcileLogGroup' });
    expect(filter['FilterPattern']).toBe('{ $.message = "reconcile route failed" }');
    expect(filter['MetricTransformations']).toEqual([
      { MetricNamespace: metricsNamespace('ci'), MetricName: 'ReconcileRouteFailed', MetricValue: '1', Unit: 'Count' },
    ]);
    const alarm = findAlarm(live.ci, (a) => a['MetricName'] === 'ReconcileRouteFailed', 'reconcile failed alarm');
    const watched = ['AlarmName', 'Namespace', 'Dimensions', 'Statistic', 'Period', 'ComparisonOperator', 'Threshold'];
    expect(watched.map((key) => alarm[key])).toEqual([
      'contact-relay-ci-reconcile-failed',
      metricsNamespace('ci'),
      undefined,
      'Sum',
      900,
      'GreaterThanOrEqualToThreshold',
      1,
    ]);
  });

  /**
   * The dashboard as CloudWatch gets it: Fn::Sub's own variables (the Fn::If
   * branches the param picked) spliced in, then this stack's names and the
   * region left as `<Name>`.
   */
  const dashboardOf = (template: Template) => {
    const dashboards = ofType(template, 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const properties = dashboards[0]![1].Properties;
    const sub = (properties['DashboardBody'] as { 'Fn::Sub': string | [string, Record<string, Json>] })['Fn::Sub'];
    const [text, variables] = typeof sub === 'string' ? [sub, {}] : sub;
    const body = text.replace(/\$\{([^}]+)\}/g, (match, name: string) => {
      if (!(name in variables)) return match;
      const value = variables[name]!;
      if (typeof value === 'string') return value;
      return (value as { 'Fn::Sub': string })['Fn::Sub'];
    });
    const rendered = body.replace(/\$\{([^}]+)\}/g, (_match, name: string) => `<${name}>`);
    return {
      name: properties['DashboardName'] as string,
      dashboard: JSON.parse(rendered) as {
        widgets: Array<{
          type: string;
          properties: {
            title?: string;
            region?: string;
            metrics?: Json[][];
            alarms?: string[];
            query?: string;
            view?: string;
          };
        }>;
      },
    };
  };

  it.each(['ci', 'shopify'] as const)(
    'has a dashboard of outcomes per provider, queue and dead-letter depth, function errors and duration (%s)',
    (name) => {
      const template = live[name];
      const { name: dashboardName, dashboard } = dashboardOf(template);
      expect(dashboardName).toBe('contact-relay-ci');
      const metricWidgets = dashboard.widgets.filter((widget) => widget.type === 'metric');
      for (const widget of metricWidgets) expect(widget.properties.region).toBe('<AWS::Region>');

      /** Metric rows with the "." shorthand expanded. */
      const rows = metricWidgets.flatMap((widget) => {
        let previous: Json[] = [];
        return (widget.properties.metrics ?? []).map((row) => {
          const values = row
            .filter((item) => typeof item === 'string')
            .map((item, index) => (item === '.' ? previous[index]! : item));
          previous = values;
          return values.join(' ');
        });
      });
      for (const provider of ['twochat', 'kirim', 'callbell', 'chatwoot']) {
        for (const status of ['Created', 'Exists', 'Skipped', 'Failed', 'Transient']) {
          expect(rows).toContain(`${metricsNamespace('ci')} Outcome${status} Provider ${provider}`);
        }
      }
      expect(rows).toContain('AWS/SQS ApproximateNumberOfMessagesVisible QueueName <DeliveryQueue.QueueName>');
      expect(rows).toContain(
        'AWS/SQS ApproximateNumberOfMessagesVisible QueueName <DeliveryDeadLetterQueue.QueueName>',
      );
      const functions = ofType(template, 'AWS::Lambda::Function').map(([id]) => id);
      for (const id of functions) {
        for (const metric of ['Errors', 'Duration', 'Throttles'])
          expect(rows).toContain(`AWS/Lambda ${metric} FunctionName <${id}>`);
      }
      // No row names a function (or queue) this stack does not deploy.
      const named = rows
        .flatMap((row) => [...row.matchAll(/<([A-Za-z0-9]+)(?:\.[A-Za-z]+)?>/g)].map((match) => match[1]!))
        .filter((id) => id !== 'AWS');
      for (const id of named) expect(template.Resources[id], `dashboard row names ${id}`).toBeDefined();
      const eventsDlqRow =
        'AWS/SQS ApproximateNumberOfMessagesVisible QueueName <ShopifyEventsDeadLetterQueue.QueueName>';
      if (name === 'shopify') expect(rows).toContain(eventsDlqRow);
      else expect(rows).not.toContain(eventsDlqRow);
      const alarmWidget = dashboard.widgets.find((widget) => widget.type === 'alarm');
      expect(new Set(alarmWidget?.properties.alarms)).toEqual(
        new Set(alarms(template).map((alarm) => `<${alarm['id']}.Arn>`)),
      );
    },
  );

  /** A query as one line: Logs Insights reads a newline before `|` like a space. */
  const oneLine = (query: string) => query.replace(/\s*\n\s*/g, ' ').trim();

  it.each(['ci', 'shopify'] as const)(
    'saves the Logs Insights queries on the deliver log group, and the dashboard runs each of them there (%s)',
    (name) => {
      const template = live[name];
      const saved = ofType(template, 'AWS::Logs::QueryDefinition').map(([, query]) => query.Properties);
      expect(saved.map((query) => query['Name']).sort()).toEqual(
        [
          'dead-lettered-events',
          'deferred-by-account',
          'failures-by-provider-code',
          'outcomes-per-provider',
          'top-skip-reasons',
        ].map((query) => `contact-relay/ci/${query}`),
      );
      for (const query of saved) expect(query['LogGroupNames'], query['Name']).toEqual([{ Ref: 'DeliverLogGroup' }]);
      expect(resource(template, 'DeliverLogGroup').Type).toBe('AWS::Logs::LogGroup');

      const logWidgets = dashboardOf(template).dashboard.widgets.filter((widget) => widget.type === 'log');
      for (const widget of logWidgets) {
        expect(widget.properties.region, widget.properties.title).toBe('<AWS::Region>');
        expect(['timeSeries', 'table'], widget.properties.title).toContain(widget.properties.view);
      }
      // Each widget reads the deliver log group only, with a saved query's text, and each saved query has a widget.
      const widgetQueries = logWidgets.map((widget) => widget.properties.query ?? '');
      for (const query of widgetQueries) expect(query).toMatch(/^SOURCE '<DeliverLogGroup>' \| /);
      expect(widgetQueries.map((query) => query.replace("SOURCE '<DeliverLogGroup>' | ", '')).sort()).toEqual(
        saved.map((query) => oneLine(query['QueryString'] as string)).sort(),
      );
    },
  );
});

// ---------------------------------------------------------------- cfn-lint

// ---------------------------------------------------------------- refused at package time

describe('osls package refuses what the functions of a deployed stage would refuse to start with', () => {
  /** `osls package` in a scratch copy; refused, it stops before bundling anything. */
  async function packageWith(stage: string, env: NodeJS.ProcessEnv, routes?: unknown) {
    const dir = copyService();
    if (routes !== undefined) writeFileSync(path.join(dir, 'config/routes.json'), JSON.stringify(routes));
    return oslsWithoutCredentials(dir, ['package', '--stage', stage], { env, timeoutMs: 240_000 });
  }
  const shipped = () => JSON.parse(readFileSync(path.join(root, 'config/routes.json'), 'utf8')) as Record<string, any>;

  it('a provider or Shopify Admin URL override exported in the shell that packages, naming the variable', async () => {
    const [kirim, admin, local] = await Promise.all([
      packageWith('prod', { PROVIDER_URL_KIRIM: 'https://collector.example' }),
      // Even a loopback one: a deployed function has no emulator beside it.
      packageWith('ci', { SHOPIFY_ADMIN_URL: 'http://127.0.0.1:4010/shopify' }),
      // Stage local (`osls offline` under npm start) takes another host over https only.
      packageWith('local', {
        PROVIDER_URL_CALLBELL: 'http://api.callbell.eu',
        // What npm start gives the local stage (`osls print --stage local` above).
        QUEUE_URL: 'http://127.0.0.1:4010/000000000000/contact-relay-local-delivery',
        QUEUE_ARN: 'arn:aws:sqs:us-east-1:000000000000:contact-relay-local-delivery',
      }),
    ]);
    expect([kirim.code, admin.code, local.code]).not.toContain(0);
    expect(kirim.output).toContain(
      'PROVIDER_URL_KIRIM is honoured on stage local only: the functions of stage prod call the public APIs' +
        ' (provider.environment): unset it',
    );
    expect(admin.output).toContain('SHOPIFY_ADMIN_URL is honoured on stage local only: the functions of stage ci call');
    expect(local.output).toContain('PROVIDER_URL_CALLBELL must be an https URL');
    for (const result of [kirim, admin, local]) expect(result.output).not.toContain('Service packaged');
  }, 250_000);

  it('a route secret outside what the reading role may read on this stage, naming the field', async () => {
    const otherStage = shipped();
    otherStage['sources'].tally.default.secretName = 'contact-relay/prod/source/tally-leads';
    const providerKey = shipped();
    providerKey['sources'].shopify.default.reconcile.secretName = 'contact-relay/ci/provider/twochat';
    const [stage, kind] = await Promise.all([packageWith('ci', {}, otherStage), packageWith('ci', {}, providerKey)]);
    expect([stage.code, kind.code]).not.toContain(0);
    expect(stage.output).toContain(
      'sources.tally.default.secretName: must start with "contact-relay/ci/source/": ' +
        'the ingest functions may read no other secret',
    );
    expect(kind.output).toContain(
      'sources.shopify.default.reconcile.secretName: must start with "contact-relay/ci/shopify-admin/"',
    );
  }, 250_000);
});

describe('cfn-lint', () => {
  const version = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  const available = version.status === 0;
  const what = 'finds nothing in templates packaged with default params, with shopifyEventSource, or with both';
  const title = available
    ? `${what} (${version.stdout.trim()})`
    : `${what} — SKIPPED: cfn-lint is not on PATH (pip install cfn-lint; CI machines have it)`;

  it.skipIf(!available)(
    title,
    () => {
      const files = Object.values(dirs).flatMap((dir) =>
        readdirSync(path.join(dir, '.serverless'))
          .filter((name) => name.startsWith('cloudformation-template-'))
          .map((name) => path.join(dir, '.serverless', name)),
      );
      expect(files).toHaveLength(6);
      const result = spawnSync('cfn-lint', files, { encoding: 'utf8', timeout: 180_000 });
      expect(`${result.stdout}${result.stderr}`).toBe('');
      expect(result.status).toBe(0);
    },
    200_000,
  );
});
