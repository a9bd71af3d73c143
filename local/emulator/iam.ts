/**
 * IAM on the local stack. In AWS each function calls DynamoDB, SQS and
 * Secrets Manager with its own execution role, and a call the role does not
 * grant fails. Locally each function calls with an access key id of its own,
 * `local-<function>` (`functionAccessKeyId`), and the emulator evaluates the
 * call against that function's role, read from the same CloudFormation the
 * deploy packages: serverless.yml names each function's `role`, its
 * `resources` list the infra files the roles are in.
 *
 * Any other key (`local`: the tests' own clients, provisioning; or any key
 * not of that form) is not evaluated: it stands for the account owner.
 *
 * Modelled: identity-based Allow and Deny statements with Action/NotAction and
 * Resource/NotResource, wildcards as IAM matches them, deny by default, the
 * IAM action and resource ARN of every call the functions make, and the
 * refusal each service answers. Not modelled: the signature (only the access
 * key id in the Authorization header is read), resource-based policies,
 * permissions boundaries, SCPs, session policies and Condition blocks (a role
 * with a condition is refused at load, rather than evaluated wrongly).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isRecord, json, type EmulatedResponse } from './http-kit.js';

/** fauxqs and the Secrets Manager emulator answer for this account; dynalite keeps none. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

const root = new URL('../../', import.meta.url);

export interface Statement {
  effect: 'Allow' | 'Deny';
  /** Action patterns; with `notAction` the statement covers every action but these. */
  actions: string[];
  notAction?: true;
  /** Resource ARN patterns, resolved to the local resources; with `notResource`, every resource but these. */
  resources: string[];
  notResource?: true;
}

export interface FunctionRole {
  /** The role's logical id in the template, e.g. FormsFunctionRole. */
  logicalId: string;
  statements: Statement[];
}

/** Roles by function name (the keys of serverless.yml `functions`). */
export type FunctionRoles = Record<string, FunctionRole>;

/** One permission a call needs: the IAM action on one resource. */
export interface Permission {
  action: string;
  resource: string;
}

type Decision = 'allowed' | 'implicitDeny' | 'explicitDeny';

const ACCESS_KEY_PREFIX = 'local-';

/**
 * The access key id a function calls the local stack with. The serverless-offline plugin
 * infra/plugins/local-function-credentials.cjs gives the same ids under `npm start`.
 */
export function functionAccessKeyId(fn: string): string {
  return `${ACCESS_KEY_PREFIX}${fn}`;
}

/** The function an access key id belongs to, or undefined for any other key. */
export function functionOfAccessKeyId(accessKeyId: string): string | undefined {
  return accessKeyId.startsWith(ACCESS_KEY_PREFIX) ? accessKeyId.slice(ACCESS_KEY_PREFIX.length) : undefined;
}

/**
 * Access key id and region from a SigV4 `Authorization` header:
 * `AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request, ...`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
export function credentialOf(authorization: string | undefined): { accessKeyId: string; region: string } | undefined {
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\//.exec(authorization ?? '');
  return match?.[1] === undefined || match[2] === undefined ? undefined : { accessKeyId: match[1], region: match[2] };
}

// ---- the roles, from the packaged CloudFormation's sources ----

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/**
 * Each function's role as serverless.yml and the infra files it includes declare it, for `stage`:
 * `${sls:stage}` is replaced as osls does before CloudFormation sees the text, and references to the
 * table, queues and secrets resolve to their local ARNs. References to what the local stack does not
 * serve (log groups, functions) resolve to nothing, so statements on them grant nothing here.
 */
export function loadFunctionRoles(stage: string): FunctionRoles {
  const read = (file: string): unknown => {
    const text = readFileSync(new URL(file, root), 'utf8');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Serverless variable, as infra/*.yml writes it.
    return parse(text.replaceAll('${sls:stage}', stage));
  };
  const service = read('serverless.yml');
  if (!isRecord(service) || !isRecord(service['functions'])) throw new Error('serverless.yml has no functions');
  const resources: Record<string, CfnResource> = {};
  for (const entry of Array.isArray(service['resources']) ? service['resources'] : []) {
    // Each entry is `${file(infra/x.yml)}`: osls merges those files into the template.
    const file = typeof entry === 'string' ? /^\$\{file\(([^)]+)\)\}$/.exec(entry)?.[1] : undefined;
    if (file === undefined) throw new Error(`serverless.yml resources: cannot read ${JSON.stringify(entry)}`);
    const template = read(file);
    if (isRecord(template) && isRecord(template['Resources'])) Object.assign(resources, template['Resources']);
  }
  const roles: FunctionRoles = {};
  for (const [fn, definition] of Object.entries(service['functions'])) {
    const logicalId = isRecord(definition) ? definition['role'] : undefined;
    if (typeof logicalId !== 'string') throw new Error(`serverless.yml: function ${fn} names no role`);
    const role = resources[logicalId];
    if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${fn}'s role ${logicalId} is no AWS::IAM::Role in infra/`);
    roles[fn] = { logicalId, statements: roleStatements(logicalId, role, resources) };
  }
  return roles;
}

function roleStatements(logicalId: string, role: CfnResource, resources: Record<string, CfnResource>): Statement[] {
  const properties = role.Properties ?? {};
  for (const unsupported of ['ManagedPolicyArns', 'PermissionsBoundary']) {
    if (properties[unsupported] !== undefined) throw new Error(`${logicalId}: cannot evaluate ${unsupported} locally`);
  }
  const policies = Array.isArray(properties['Policies']) ? properties['Policies'] : [];
  return policies.flatMap((policy) => {
    const document = isRecord(policy) ? policy['PolicyDocument'] : undefined;
    const statements = isRecord(document) ? document['Statement'] : undefined;
    const list: unknown[] = Array.isArray(statements) ? statements : [statements];
    return list.map((statement) => toStatement(logicalId, statement, resources));
  });
}

function toStatement(logicalId: string, raw: unknown, resources: Record<string, CfnResource>): Statement {
  if (!isRecord(raw)) throw new Error(`${logicalId}: a statement is not an object`);
  if (raw['Condition'] !== undefined) throw new Error(`${logicalId}: the local IAM does not evaluate Condition`);
  const effect = raw['Effect'];
  if (effect !== 'Allow' && effect !== 'Deny') throw new Error(`${logicalId}: Effect must be Allow or Deny`);
  const list = (value: unknown) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  const actions = list(raw['Action'] ?? raw['NotAction']).map(String);
  const resourceValues = list(raw['Resource'] ?? raw['NotResource']);
  return {
    effect,
    actions,
    ...(raw['NotAction'] !== undefined ? { notAction: true as const } : {}),
    resources: resourceValues.map((value) => resolve(value, resources)).filter((arn) => arn !== undefined),
    ...(raw['NotResource'] !== undefined ? { notResource: true as const } : {}),
  };
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** The value of a CloudFormation expression, where the local stack has one. */
export function resolve(value: unknown, resources: Record<string, CfnResource>): string | undefined {
  if (typeof value === 'string') return value;
  if (!isRecord(value)) return undefined;
  if (typeof value['Ref'] === 'string') return ref(value['Ref'], resources);
  const getAtt = value['Fn::GetAtt'];
  if (getAtt !== undefined) {
    const [id, attribute] = Array.isArray(getAtt) ? getAtt.map(String) : String(getAtt).split('.');
    return attributeOf(id ?? '', attribute ?? '', resources);
  }
  const sub = value['Fn::Sub'];
  if (sub !== undefined) {
    const [text, variables] = Array.isArray(sub) ? [String(sub[0]), isRecord(sub[1]) ? sub[1] : {}] : [String(sub), {}];
    let unresolved = false;
    const out = text.replace(/\$\{([^!}][^}]*)\}/g, (_, name: string) => {
      const [id = '', attribute] = name.split('.');
      let resolved: string | undefined;
      if (name in variables) resolved = resolve(variables[name], resources);
      else resolved = attribute === undefined ? ref(id, resources) : attributeOf(id, attribute, resources);
      if (resolved === undefined) unresolved = true;
      return resolved ?? '';
    });
    return unresolved ? undefined : out.replaceAll('${!', '${');
  }
  const join = value['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const parts = join[1].map((part: unknown) => resolve(part, resources));
    return parts.every((part): part is string => part !== undefined) ? parts.join(String(join[0])) : undefined;
  }
  return undefined;
}

function ref(name: string, resources: Record<string, CfnResource>): string | undefined {
  if (name in PSEUDO) return PSEUDO[name];
  const resource = resources[name];
  if (resource?.Type === 'AWS::DynamoDB::Table') return stringProperty(resource, 'TableName');
  return undefined;
}

function attributeOf(id: string, attribute: string, resources: Record<string, CfnResource>): string | undefined {
  const resource = resources[id];
  if (resource?.Type === 'AWS::DynamoDB::Table' && attribute === 'Arn') {
    const name = stringProperty(resource, 'TableName');
    return name === undefined ? undefined : tableArn(LOCAL_REGION, name);
  }
  if (resource?.Type === 'AWS::SQS::Queue') {
    const name = stringProperty(resource, 'QueueName');
    if (attribute === 'QueueName') return name;
    if (attribute === 'Arn') return name === undefined ? undefined : queueArn(LOCAL_REGION, LOCAL_ACCOUNT, name);
  }
  return undefined;
}

function stringProperty(resource: CfnResource, name: string): string | undefined {
  const value = resource.Properties?.[name];
  return typeof value === 'string' ? value : undefined;
}

const tableArn = (region: string, name: string) => `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT}:table/${name}`;
const queueArn = (region: string, account: string, name: string) => `arn:aws:sqs:${region}:${account}:${name}`;

// ---- matching and evaluation ----

const escapeForRegExp = (text: string) => text.replace(/[.+^${}()|[\]\\/]/g, '\\$&');

/**
 * An action pattern against an action: `*` any characters, `?` one, prefix and name case-insensitive.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
 */
export function matchesAction(pattern: string, action: string): boolean {
  const source = escapeForRegExp(pattern).replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${source}$`, 'i').test(action);
}

/**
 * A resource pattern against an ARN, case-sensitive: `*` and `?` stand for characters within one
 * colon-separated segment, except that a `*` ending a segment may also match past the colons.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 */
export function matchesResource(pattern: string, arn: string): boolean {
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] ?? '';
    const next = pattern[index + 1];
    if (char === '*') source += next === undefined || next === ':' ? '.*' : '[^:]*';
    else if (char === '?') source += '[^:]';
    else source += escapeForRegExp(char);
  }
  return new RegExp(`^${source}$`).test(arn);
}

function covers(statement: Statement, permission: Permission): boolean {
  const action = statement.actions.some((pattern) => matchesAction(pattern, permission.action));
  const resource = statement.resources.some((pattern) => matchesResource(pattern, permission.resource));
  return action !== (statement.notAction === true) && resource !== (statement.notResource === true);
}

/** An explicit Deny wins; otherwise an Allow is needed; nothing matching is a deny. */
export function decide(statements: Statement[], permission: Permission): Decision {
  let allowed = false;
  for (const statement of statements) {
    if (!covers(statement, permission)) continue;
    if (statement.effect === 'Deny') return 'explicitDeny';
    allowed = true;
  }
  return allowed ? 'allowed' : 'implicitDeny';
}

// ---- what each call needs ----

type AwsService = 'dynamodb' | 'sqs' | 'secretsmanager';

function serviceOfTarget(target: string): AwsService | undefined {
  if (target.startsWith('DynamoDB_')) return 'dynamodb';
  if (target.startsWith('AmazonSQS.')) return 'sqs';
  if (target.startsWith('secretsmanager.')) return 'secretsmanager';
  return undefined;
}

/**
 * SQS batch calls are authorised by their single-message action; a message-move task needs
 * read and delete on its source (the dead-letter queue) and, as it sends, send on the destination.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
 */
const SQS_BATCH: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};
const MOVE_TASK_SOURCE: Record<string, string[]> = {
  StartMessageMoveTask: ['StartMessageMoveTask', 'ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'],
  ListMessageMoveTasks: ['ListMessageMoveTasks', 'GetQueueAttributes'],
};
/** A transaction needs each item's own action on its table. */
const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

interface CallContext {
  region: string;
  /** The full ARN of a secret by name, its random suffix included, when the secret exists. */
  secretArn: (name: string) => string | undefined;
}

/** The permissions one call (`X-Amz-Target` and JSON body) needs, each an IAM action on a resource ARN. */
export function permissionsFor(target: string, body: unknown, context: CallContext): Permission[] {
  const operation = target.slice(target.indexOf('.') + 1);
  const input = isRecord(body) ? body : {};
  const text = (key: string) => (typeof input[key] === 'string' ? input[key] : undefined);
  switch (serviceOfTarget(target)) {
    case 'dynamodb': {
      const on = (table: unknown, action = operation) => ({
        action: `dynamodb:${action}`,
        resource: table === undefined ? '*' : tableArn(context.region, String(table)),
      });
      if (Array.isArray(input['TransactItems'])) {
        return input['TransactItems'].filter(isRecord).flatMap((item) =>
          Object.entries(item).flatMap(([kind, detail]) => {
            const action = TRANSACT_ACTIONS[kind];
            return isRecord(detail) && action !== undefined ? [on(detail['TableName'], action)] : [];
          }),
        );
      }
      if (isRecord(input['RequestItems'])) return Object.keys(input['RequestItems']).map((table) => on(table));
      return [on(text('TableName'))];
    }
    case 'sqs': {
      const action = `sqs:${SQS_BATCH[operation] ?? operation}`;
      const source = text('SourceArn');
      if (operation in MOVE_TASK_SOURCE && source !== undefined) {
        const destination = text('DestinationArn');
        return [
          ...(MOVE_TASK_SOURCE[operation] ?? []).map((name) => ({ action: `sqs:${name}`, resource: source })),
          ...(operation === 'StartMessageMoveTask' && destination !== undefined
            ? [{ action: 'sqs:SendMessage', resource: destination }]
            : []),
        ];
      }
      const url = text('QueueUrl');
      if (url !== undefined) {
        // Queue URLs are {origin}/{account}/{queue name}.
        const [account = LOCAL_ACCOUNT, name = ''] = new URL(url).pathname.split('/').filter(Boolean);
        return [{ action, resource: queueArn(context.region, account, name) }];
      }
      const name = text('QueueName');
      return [{ action, resource: name === undefined ? '*' : queueArn(context.region, LOCAL_ACCOUNT, name) }];
    }
    case 'secretsmanager': {
      const id = text('SecretId');
      let resource = id ?? '*';
      if (id !== undefined && !id.startsWith('arn:')) {
        resource = context.secretArn(id) ?? secretArnWithoutSuffix(context.region, id);
      }
      return [{ action: `secretsmanager:${operation}`, resource }];
    }
    default:
      return [];
  }
}

/**
 * Assumption: a secret that does not exist is evaluated by the ARN its name gives, without the random
 * suffix, so a grant on the name's path still lets the caller learn it is missing (ResourceNotFoundException).
 */
function secretArnWithoutSuffix(region: string, name: string): string {
  return `arn:aws:secretsmanager:${region}:${LOCAL_ACCOUNT}:secret:${name}`;
}

// ---- the refusal ----

/**
 * The caller as AWS names it: Lambda's session for a function is the function's name.
 * Assumption: the role is named `{stack}-{logical id}`; CloudFormation adds a random suffix to a role it names.
 */
function principalArn(stage: string, fn: string, role: FunctionRole | undefined): string {
  const roleName = `contact-relay-${stage}-${role?.logicalId ?? 'NoSuchFunctionRole'}`;
  return `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${roleName}/contact-relay-${stage}-${fn}`;
}

/**
 * Each service's AccessDenied answer, as AWS sends it for a role with no grant:
 *   DynamoDB: 400 `com.amazon.coral.service#AccessDeniedException`
 *     https://github.com/sebdah/dynamic-dynamodb/issues/321,
 *     https://github.com/aws-amplify/aws-sdk-android/issues/784
 *   SQS (JSON protocol): 403, `x-amzn-query-error: AccessDenied;Sender` (the SDK names the error AccessDenied
 *     from that header), the action in lower case in the message, as measured on AWS in
 *     https://github.com/mariotoffia/floci/blob/5405928453502e154b60c50a6f8e23de9f96a8a7/docs/design/resource-policy-enforcement.md
 *     (R1); the envelope:
 *     https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html
 *     https://repost.aws/knowledge-center/sqs-accessdenied-errors
 *   Secrets Manager: 400 AccessDeniedException naming the SecretId as given
 *     https://github.com/mongodb/awscdk-resources-mongodbatlas/issues/207,
 *     https://github.com/nautobot/nautobot-app-secrets-providers/issues/64
 * The message: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
 */
function accessDenied(
  service: AwsService,
  principal: string,
  permission: Permission,
  decision: Decision,
  secretId?: string,
): EmulatedResponse {
  const action = service === 'sqs' ? permission.action.toLowerCase() : permission.action;
  const resource = service === 'secretsmanager' ? (secretId ?? permission.resource) : permission.resource;
  const why =
    decision === 'explicitDeny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`;
  const Message = `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
  switch (service) {
    case 'dynamodb':
      return json(
        400,
        { __type: 'com.amazon.coral.service#AccessDeniedException', Message },
        { 'content-type': 'application/x-amz-json-1.0' },
      );
    case 'sqs':
      return json(
        403,
        { __type: 'com.amazon.coral.service#AccessDeniedException', Message },
        { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AccessDenied;Sender' },
      );
    case 'secretsmanager':
      return json(400, { __type: 'AccessDeniedException', Message }, { 'content-type': 'application/x-amz-json-1.1' });
  }
}

// ---- the emulator's hook ----

export interface IamOptions {
  /** The stage whose roles are evaluated (`${sls:stage}` in the templates). */
  stage: string;
  /** The roles to evaluate; the project's own (`loadFunctionRoles(stage)`) when not given. */
  roles?: FunctionRoles;
}

export interface IamRecord {
  function: string;
  action: string;
  resource: string;
  decision: Decision;
}

/** Evaluates every AWS call made with a function's access key; keeps the last decisions for /_emulator/iam. */
export class LocalIam {
  readonly stage: string;
  readonly roles: FunctionRoles;
  decisions: IamRecord[] = [];

  constructor(options: IamOptions) {
    this.stage = options.stage;
    this.roles = options.roles ?? loadFunctionRoles(options.stage);
  }

  /** The refusal for a call its caller may not make, or undefined when it may (or is not a function). */
  check(
    authorization: string | undefined,
    target: string,
    body: unknown,
    secretArn: CallContext['secretArn'],
  ): EmulatedResponse | undefined {
    const credential = credentialOf(authorization);
    const fn = credential === undefined ? undefined : functionOfAccessKeyId(credential.accessKeyId);
    const service = serviceOfTarget(target);
    if (fn === undefined || credential === undefined || service === undefined) return undefined;
    const role = this.roles[fn];
    for (const permission of permissionsFor(target, body, { region: credential.region, secretArn })) {
      const decision = role === undefined ? 'implicitDeny' : decide(role.statements, permission);
      this.record({ function: fn, ...permission, decision });
      if (decision !== 'allowed') {
        const secretId = isRecord(body) && typeof body['SecretId'] === 'string' ? body['SecretId'] : undefined;
        return accessDenied(service, principalArn(this.stage, fn, role), permission, decision, secretId);
      }
    }
    return undefined;
  }

  private record(entry: IamRecord): void {
    this.decisions.push(entry);
    // Enough to look back at a run; a soak makes tens of thousands of calls.
    if (this.decisions.length > 2000) this.decisions.splice(0, this.decisions.length - 1000);
  }
}
