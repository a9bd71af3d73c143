import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  credentialOf,
  decide,
  functionAccessKeyId,
  functionOfAccessKeyId,
  LocalIam,
  loadFunctionRoles,
  matchesAction,
  matchesResource,
  permissionsFor,
  resolve,
  type Statement,
} from '../../../local/emulator/iam.js';
import { secretArn } from '../../../local/emulator/secrets-manager.js';

const ACCOUNT = '000000000000';
const ARN = `us-east-1:${ACCOUNT}`;
const TABLE_NAME = 'contact-relay-u-events';
const TABLE = `arn:aws:dynamodb:${ARN}:table/${TABLE_NAME}`;
const QUEUE = `arn:aws:sqs:${ARN}:contact-relay-u-delivery`;
const DLQ = `arn:aws:sqs:${ARN}:contact-relay-u-delivery-dlq`;
const SECRETS = `arn:aws:secretsmanager:${ARN}:secret:`;
const existing = (name: string) => (name.endsWith('/missing') ? undefined : secretArn(name));
const context = { region: 'us-east-1', secretArn: existing };
const auth = (key: string) =>
  `AWS4-HMAC-SHA256 Credential=${key}/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00`;
const on = (action: string, resource: string) => ({ action, resource });

describe('Function: matchesAction', () => {
  it('matches the prefix and the name case-insensitively', () => {
    expect(matchesAction('dynamodb:GetItem', 'dynamodb:GetItem')).toBe(true);
    expect(matchesAction('DynamoDB:getitem', 'dynamodb:GetItem')).toBe(true);
    expect(matchesAction('dynamodb:GetItem', 'dynamodb:GetItems')).toBe(false);
  });

  it('reads * as any characters and ? as one', () => {
    expect(matchesAction('dynamodb:*Item', 'dynamodb:GetItem')).toBe(true);
    expect(matchesAction('dynamodb:*Item', 'dynamodb:PutItem')).toBe(true);
    expect(matchesAction('dynamodb:*Item', 'dynamodb:Query')).toBe(false);
    expect(matchesAction('sqs:*', 'sqs:SendMessage')).toBe(true);
    expect(matchesAction('sqs:*', 'dynamodb:GetItem')).toBe(false);
    expect(matchesAction('sqs:?etQueueUrl', 'sqs:GetQueueUrl')).toBe(true);
  });
});

describe('Function: matchesResource', () => {
  const twochat = `${SECRETS}contact-relay/local/provider/twochat-AbCdEf`;

  it('matches an ARN exactly and case-sensitively', () => {
    expect(matchesResource(TABLE, TABLE)).toBe(true);
    expect(matchesResource(TABLE.toUpperCase(), TABLE)).toBe(false);
    expect(matchesResource(QUEUE, DLQ)).toBe(false);
  });

  it('lets a trailing * cover a secret path with the random suffix Secrets Manager appends', () => {
    expect(matchesResource('arn:aws:secretsmanager:*:*:secret:contact-relay/local/*', twochat)).toBe(true);
    expect(matchesResource(`${SECRETS}contact-relay/local/provider/*`, twochat)).toBe(true);
    expect(matchesResource(`${SECRETS}contact-relay/prod/*`, twochat)).toBe(false);
  });

  it('needs -?????? (or a *) after a secret name: the bare name does not match its ARN', () => {
    const name = `${SECRETS}contact-relay/local/provider/twochat`;
    expect(matchesResource(name, twochat)).toBe(false);
    expect(matchesResource(`${name}-??????`, twochat)).toBe(true);
    expect(matchesResource(`${name}-?????`, twochat)).toBe(false);
    expect(matchesResource(`${name}-???????`, twochat)).toBe(false);
  });

  it('keeps a * inside a segment within it, and lets one that ends a segment run on', () => {
    expect(matchesResource(`arn:aws:dynamodb:us-*-1:${ACCOUNT}:table/t`, `arn:aws:dynamodb:${ARN}:table/t`)).toBe(true);
    expect(matchesResource(`arn:aws:sqs:${ARN}:a*b`, `arn:aws:sqs:${ARN}:a:x:b`)).toBe(false);
    expect(matchesResource(`arn:aws:sqs:${ARN}:a*`, `arn:aws:sqs:${ARN}:a:x:b`)).toBe(true);
    expect(matchesResource('*', QUEUE)).toBe(true);
  });
});

describe('Function: decide', () => {
  const allow = (actions: string[], resources: string[]): Statement => ({ effect: 'Allow', actions, resources });

  it('denies what no statement allows', () => {
    expect(decide([], on('dynamodb:GetItem', TABLE))).toBe('implicitDeny');
    expect(decide([allow(['dynamodb:PutItem'], [TABLE])], on('dynamodb:GetItem', TABLE))).toBe('implicitDeny');
    expect(decide([allow(['sqs:SendMessage'], [QUEUE])], on('sqs:SendMessage', DLQ))).toBe('implicitDeny');
  });

  it('allows an action on a resource one statement grants', () => {
    const ingest = allow(['dynamodb:PutItem', 'dynamodb:GetItem'], [TABLE]);
    expect(decide([ingest], on('dynamodb:GetItem', TABLE))).toBe('allowed');
  });

  it('lets an explicit Deny win over any Allow', () => {
    const statements = [allow(['sqs:*'], ['*']), { ...allow(['sqs:SendMessage'], [DLQ]), effect: 'Deny' as const }];
    expect(decide(statements, on('sqs:SendMessage', DLQ))).toBe('explicitDeny');
    expect(decide(statements, on('sqs:SendMessage', QUEUE))).toBe('allowed');
  });

  it('reads NotAction and NotResource as everything but the ones listed', () => {
    const everythingButDelete: Statement = { ...allow(['dynamodb:DeleteItem'], [TABLE]), notAction: true };
    expect(decide([everythingButDelete], on('dynamodb:GetItem', TABLE))).toBe('allowed');
    expect(decide([everythingButDelete], on('dynamodb:DeleteItem', TABLE))).toBe('implicitDeny');
    const allButDlq: Statement = { ...allow(['sqs:SendMessage'], [DLQ]), notResource: true };
    expect(decide([allButDlq], on('sqs:SendMessage', QUEUE))).toBe('allowed');
    expect(decide([allButDlq], on('sqs:SendMessage', DLQ))).toBe('implicitDeny');
  });
});

describe('Function: secretArn', () => {
  it('appends a dash and six alphanumeric characters to the name, the same ones each time', () => {
    const arn = secretArn('contact-relay/local/provider/twochat');
    expect(arn.startsWith(`${SECRETS}contact-relay/local/provider/twochat-`)).toBe(true);
    expect(arn.slice(`${SECRETS}contact-relay/local/provider/twochat-`.length)).toMatch(/^[A-Za-z0-9]{6}$/);
    expect(secretArn('contact-relay/local/provider/twochat')).toBe(arn);
    expect(secretArn('contact-relay/local/provider/kirim').slice(-6)).not.toBe(arn.slice(-6));
  });
});

describe('Function: permissionsFor', () => {
  const queueUrl = `http://127.0.0.1:4010/${ACCOUNT}/contact-relay-u-delivery`;
  const dynamo = (operation: string, body: unknown, region = 'us-east-1') =>
    permissionsFor(`DynamoDB_20120810.${operation}`, body, { ...context, region });
  const sqs = (operation: string, body: unknown) => permissionsFor(`AmazonSQS.${operation}`, body, context);
  const secret = (SecretId: string) => permissionsFor('secretsmanager.GetSecretValue', { SecretId }, context);

  it('names a DynamoDB call by its operation on the table it names', () => {
    expect(dynamo('GetItem', { TableName: TABLE_NAME, Key: {} })).toEqual([on('dynamodb:GetItem', TABLE)]);
    expect(dynamo('GetItem', { TableName: TABLE_NAME }, 'eu-west-1')).toEqual([
      on('dynamodb:GetItem', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${TABLE_NAME}`),
    ]);
    const batch = { RequestItems: { [TABLE_NAME]: [] } };
    expect(dynamo('BatchWriteItem', batch)).toEqual([on('dynamodb:BatchWriteItem', TABLE)]);
    const items = [{ Put: { TableName: TABLE_NAME } }, { ConditionCheck: { TableName: TABLE_NAME } }];
    expect(dynamo('TransactWriteItems', { TransactItems: items })).toEqual([
      on('dynamodb:PutItem', TABLE),
      on('dynamodb:ConditionCheckItem', TABLE),
    ]);
  });

  it('names an SQS call by the queue its URL or name points at, a batch by its single-message action', () => {
    expect(sqs('SendMessage', { QueueUrl: queueUrl, MessageBody: '{}' })).toEqual([on('sqs:SendMessage', QUEUE)]);
    expect(sqs('SendMessageBatch', { QueueUrl: queueUrl, Entries: [] })).toEqual([on('sqs:SendMessage', QUEUE)]);
    expect(sqs('DeleteMessageBatch', { QueueUrl: queueUrl, Entries: [] })).toEqual([on('sqs:DeleteMessage', QUEUE)]);
    const visibility = [on('sqs:ChangeMessageVisibility', QUEUE)];
    expect(sqs('ChangeMessageVisibilityBatch', { QueueUrl: queueUrl })).toEqual(visibility);
    expect(sqs('GetQueueUrl', { QueueName: 'contact-relay-u-delivery' })).toEqual([on('sqs:GetQueueUrl', QUEUE)]);
  });

  it('asks a message-move task for read and delete on its source and send on its destination', () => {
    expect(sqs('StartMessageMoveTask', { SourceArn: DLQ, DestinationArn: QUEUE })).toEqual([
      on('sqs:StartMessageMoveTask', DLQ),
      on('sqs:ReceiveMessage', DLQ),
      on('sqs:DeleteMessage', DLQ),
      on('sqs:GetQueueAttributes', DLQ),
      on('sqs:SendMessage', QUEUE),
    ]);
    expect(sqs('ListMessageMoveTasks', { SourceArn: DLQ })).toEqual([
      on('sqs:ListMessageMoveTasks', DLQ),
      on('sqs:GetQueueAttributes', DLQ),
    ]);
  });

  it('names a secret by its full ARN, suffix included; one that does not exist by the ARN its name gives', () => {
    const name = 'contact-relay/u/provider/twochat';
    expect(secret(name)).toEqual([on('secretsmanager:GetSecretValue', secretArn(name))]);
    expect(secret(secretArn(name))).toEqual([on('secretsmanager:GetSecretValue', secretArn(name))]);
    const missing = `${SECRETS}contact-relay/u/missing`;
    expect(secret('contact-relay/u/missing')).toEqual([on('secretsmanager:GetSecretValue', missing)]);
  });
});

describe('Function: credentialOf', () => {
  it('reads the access key id and region of a SigV4 Authorization header', () => {
    expect(credentialOf(auth('local-forms'))).toEqual({ accessKeyId: 'local-forms', region: 'us-east-1' });
    expect(credentialOf(undefined)).toBeUndefined();
    expect(credentialOf('Bearer abc')).toBeUndefined();
  });

  it('tells a function’s key from any other', () => {
    expect(functionOfAccessKeyId(functionAccessKeyId('deliver'))).toBe('deliver');
    expect(functionOfAccessKeyId('local')).toBeUndefined();
    expect(functionOfAccessKeyId('test')).toBeUndefined();
  });
});

describe('Function: resolve', () => {
  const resources = {
    EventsTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: TABLE_NAME } },
    DeliveryQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'contact-relay-u-delivery' } },
    FormsLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: {} },
  };
  const tableArn = { 'Fn::GetAtt': ['EventsTable', 'Arn'] };

  it('resolves GetAtt, Sub, Join and Ref to the local ARNs and names', () => {
    expect(resolve(tableArn, resources)).toBe(TABLE);
    expect(resolve({ 'Fn::GetAtt': 'DeliveryQueue.Arn' }, resources)).toBe(QUEUE);
    const sub = 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${DeliveryQueue.QueueName}';
    expect(resolve({ 'Fn::Sub': sub }, resources)).toBe(QUEUE);
    expect(resolve({ 'Fn::Sub': ['${Table}/index/*', { Table: tableArn }] }, resources)).toBe(`${TABLE}/index/*`);
    const parts = ['arn:aws:dynamodb:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }];
    parts.push(':table/', { Ref: 'EventsTable' });
    expect(resolve({ 'Fn::Join': ['', parts] }, resources)).toBe(TABLE);
  });

  it('resolves nothing the local stack does not serve', () => {
    expect(resolve({ 'Fn::GetAtt': ['FormsLogGroup', 'Arn'] }, resources)).toBeUndefined();
    expect(resolve({ 'Fn::Sub': '${FormsLogGroup.Arn}:*' }, resources)).toBeUndefined();
  });
});

describe('Function: loadFunctionRoles', () => {
  const roles = loadFunctionRoles('u');
  const text = readFileSync(new URL('../../../serverless.yml', import.meta.url), 'utf8');
  const service = parse(text) as { functions: Record<string, { role: string }> };
  const grants = (fn: string, action: string, resource: string) =>
    decide(roles[fn]?.statements ?? [], on(action, resource));

  it('reads the role serverless.yml names for every function from the infra files', () => {
    expect(Object.keys(roles).sort()).toEqual(Object.keys(service.functions).sort());
    for (const [fn, { role }] of Object.entries(service.functions)) expect(roles[fn]?.logicalId).toBe(role);
  });

  it('resolves every grant on the table, the queues and the secrets to a local ARN', () => {
    for (const [fn, role] of Object.entries(roles)) {
      const served = (action: string) => /^(dynamodb|sqs|secretsmanager):/.test(action);
      for (const statement of role.statements.filter((entry) => entry.actions.some(served))) {
        expect(statement.resources.length, `${fn}: ${statement.actions.join(' ')}`).toBeGreaterThan(0);
      }
    }
  });

  it('grants the stage’s own resources as infra/ declares them, and nothing else', () => {
    expect(grants('forms', 'dynamodb:GetItem', TABLE)).toBe('allowed');
    expect(grants('deliver', 'sqs:DeleteMessage', DLQ)).toBe('implicitDeny');
    expect(grants('redrive', 'sqs:StartMessageMoveTask', DLQ)).toBe('allowed');
    const read = (name: string) => grants('healthcheck', 'secretsmanager:GetSecretValue', secretArn(name));
    expect(read('contact-relay/u/provider/kirim')).toBe('allowed');
    expect(read('contact-relay/prod/provider/kirim')).toBe('implicitDeny');
    expect(grants('healthcheck', 'dynamodb:GetItem', TABLE)).toBe('implicitDeny');
  });
});

describe('Class: LocalIam', () => {
  const iam = new LocalIam({ stage: 'u' });
  const check = (key: string | undefined, target: string, body: unknown) =>
    iam.check(key === undefined ? undefined : auth(key), target, body, existing);
  const getItem = { TableName: TABLE_NAME, Key: {} };
  const user = (role: string, fn: string) =>
    `User: arn:aws:sts::${ACCOUNT}:assumed-role/contact-relay-u-${role}/contact-relay-u-${fn}` +
    ' is not authorized to perform:';
  const noPolicy = (action: string) => `because no identity-based policy allows the ${action} action`;

  it('lets a function make a call its role grants, and any other key make any call', () => {
    expect(check('local-forms', 'DynamoDB_20120810.GetItem', getItem)).toBeUndefined();
    expect(check('local', 'DynamoDB_20120810.DeleteTable', { TableName: TABLE_NAME })).toBeUndefined();
    expect(check(undefined, 'DynamoDB_20120810.DeleteTable', { TableName: TABLE_NAME })).toBeUndefined();
  });

  const noGet = noPolicy('dynamodb:GetItem');

  it('refuses a DynamoDB call with 400 AccessDeniedException naming the role session, the action and the table', () => {
    expect(check('local-healthcheck', 'DynamoDB_20120810.GetItem', getItem)).toEqual({
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: {
        __type: 'com.amazon.coral.service#AccessDeniedException',
        Message: `${user('HealthcheckFunctionRole', 'healthcheck')} dynamodb:GetItem on resource: ${TABLE} ${noGet}`,
      },
    });
  });

  const noSend = noPolicy('sqs:sendmessage');

  it('refuses an SQS call with 403 and the AccessDenied query error code', () => {
    const dlqUrl = `http://h/${ACCOUNT}/contact-relay-u-delivery-dlq`;
    const refusal = check('local-healthcheck', 'AmazonSQS.SendMessage', { QueueUrl: dlqUrl });
    expect(refusal?.status).toBe(403);
    expect(refusal?.headers).toEqual({
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': 'AccessDenied;Sender',
    });
    expect(refusal?.body).toEqual({
      __type: 'com.amazon.coral.service#AccessDeniedException',
      Message: `${user('HealthcheckFunctionRole', 'healthcheck')} sqs:sendmessage on resource: ${DLQ} ${noSend}`,
    });
  });

  it('refuses a Secrets Manager call with 400 AccessDeniedException naming the SecretId as given', () => {
    const SecretId = 'contact-relay/u/provider/twochat';
    const refusal = check('local-shopifyEvents', 'secretsmanager.GetSecretValue', { SecretId });
    expect(refusal?.status).toBe(400);
    expect(refusal?.body).toEqual({
      __type: 'AccessDeniedException',
      Message:
        `${user('ShopifyEventsFunctionRole', 'shopifyEvents')} secretsmanager:GetSecretValue` +
        ` on resource: ${SecretId} ` +
        noPolicy('secretsmanager:GetSecretValue'),
    });
  });

  it('refuses every call of a function the service does not declare', () => {
    expect(check('local-nosuch', 'DynamoDB_20120810.GetItem', getItem)?.status).toBe(400);
  });

  it('records each decision for GET /_emulator/iam', () => {
    const refused = { function: 'healthcheck', ...on('dynamodb:GetItem', TABLE), decision: 'implicitDeny' };
    expect(iam.decisions).toContainEqual(refused);
    expect(iam.decisions).toContainEqual({ function: 'forms', ...on('dynamodb:GetItem', TABLE), decision: 'allowed' });
  });
});
