/**
 * The local stack enforces each function's role: the real handlers call the
 * emulator's AWS endpoints as themselves, and a call their role in infra/
 * does not grant fails as it would in AWS.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PurgeQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  functionAccessKeyId,
  loadFunctionRoles,
  type FunctionRoles,
  type IamRecord,
} from '../../local/emulator/iam.js';
import { secretArn } from '../../local/emulator/secrets-manager.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { startNpmStart, type NpmStart } from '../helpers/npm-start.js';
import { eventually, PROVIDERS, STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

const TABLE_ARN = `arn:aws:dynamodb:us-east-1:000000000000:table/contact-relay-${STAGE}-events`;
const TWOCHAT_SECRET = `contact-relay/${STAGE}/provider/twochat`;
const LOOKUP_KEY_ARN = secretArn(`contact-relay/${STAGE}/lookup-key`);

const post = (pipeline: Pipeline, key: string) => {
  const body = JSON.stringify({ email: `${key}@example.com`, phone: '+14155550144' });
  const headers = { 'content-type': 'application/json', 'idempotency-key': key };
  return pipeline.forms(httpApiEvent('form', 'default', body, headers), lambdaContext());
};
const outcome = (status: string, key: string) => ({ status, eventKey: `form:default:${key}` });
const answer = async (result: ReturnType<typeof post>) => {
  const { statusCode, body } = await result;
  return [statusCode, JSON.parse(body as string) as unknown];
};

/** `roles` with one action taken out of one function's role. */
function withoutGrant(roles: FunctionRoles, fn: string, action: string): FunctionRoles {
  const role = roles[fn];
  if (role === undefined) throw new Error(`no role for ${fn}`);
  const statements = role.statements.map((statement) => ({
    ...statement,
    actions: statement.actions.filter((name) => name !== action),
  }));
  return { ...roles, [fn]: { ...role, statements } };
}

const decisionsOf = (pipeline: Pipeline, fn: string): IamRecord[] =>
  (pipeline.emulator.iam?.decisions ?? []).filter((entry) => entry.function === fn);
const decision = (fn: string, action: string, resource: string, outcome: IamRecord['decision']): IamRecord => ({
  function: fn,
  action,
  resource,
  decision: outcome,
});

/** The SDK error a call was refused with. */
type AwsError = Error & { $metadata: { httpStatusCode: number } };
const refused = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: unknown) => error as AwsError,
  );

describe('Local IAM: with the roles infra/ declares', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline();
  });
  afterAll(() => pipeline.close());

  it('answers a re-sent webhook 200 duplicate: forms reads the record it found with its GetItem grant', async () => {
    expect(await answer(post(pipeline, 'iam-dup-1'))).toEqual([200, outcome('accepted', 'iam-dup-1')]);
    expect(await answer(post(pipeline, 'iam-dup-1'))).toEqual([200, outcome('duplicate', 'iam-dup-1')]);
    expect(decisionsOf(pipeline, 'forms')).toContainEqual(decision('forms', 'dynamodb:GetItem', TABLE_ARN, 'allowed'));
    // The accept indexed the person: the lookup key read and the batch write, both granted.
    expect(decisionsOf(pipeline, 'forms')).toEqual(
      expect.arrayContaining([
        decision('forms', 'secretsmanager:GetSecretValue', LOOKUP_KEY_ARN, 'allowed'),
        decision('forms', 'dynamodb:BatchWriteItem', TABLE_ARN, 'allowed'),
      ]),
    );
  });

  it('delivers a job with every call of forms and deliver evaluated against its own role and allowed', async () => {
    // The job of the test before stays out of this one.
    await pipeline.sqs.send(new PurgeQueueCommand({ QueueUrl: pipeline.resources.queueUrl }));
    pipeline.emulator.state.reset();
    if (pipeline.emulator.iam !== undefined) pipeline.emulator.iam.decisions = [];
    expect((await post(pipeline, 'iam-deliver-1')).statusCode).toBe(200);
    const poller = pipeline.startPoller();
    await eventually(() => {
      for (const provider of PROVIDERS) {
        expect(pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider)).toHaveLength(1);
      }
    });
    await poller.stop();
    const queueArn = pipeline.resources.queueArn;
    expect(decisionsOf(pipeline, 'deliver')).toEqual(
      expect.arrayContaining([
        // The poller receives and deletes as deliver, as Lambda's event source mapping does with the function's role.
        decision('deliver', 'sqs:ReceiveMessage', queueArn, 'allowed'),
        decision('deliver', 'sqs:DeleteMessage', queueArn, 'allowed'),
        decision('deliver', 'dynamodb:UpdateItem', TABLE_ARN, 'allowed'),
        decision('deliver', 'secretsmanager:GetSecretValue', secretArn(TWOCHAT_SECRET), 'allowed'),
      ]),
    );
    // Ingest: a conditional put, the job, the queued mark and the person index. The default form route reads no
    // source secret: the only secret forms reads is the lookup key (once per cache TTL, so maybe not here).
    const formsDecisions = decisionsOf(pipeline, 'forms');
    const formsActions = formsDecisions.map((entry) => entry.action).filter((action) => !action.startsWith('secrets'));
    expect(formsActions.sort()).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'sqs:SendMessage',
    ]);
    const secretsRead = formsDecisions.filter((entry) => entry.action.startsWith('secrets')).map((e) => e.resource);
    expect(new Set(secretsRead)).toEqual(new Set(secretsRead.length > 0 ? [LOOKUP_KEY_ARN] : []));
    expect(pipeline.emulator.iam?.decisions.filter((entry) => entry.decision !== 'allowed')).toEqual([]);
  });

  describe('the refusal each service answers a function', () => {
    const as = (fn: string) => ({
      endpoint: pipeline.emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: functionAccessKeyId(fn), secretAccessKey: 'local' },
    });
    const user = (fn: string, role: string) =>
      `User: arn:aws:sts::000000000000:assumed-role/contact-relay-${STAGE}-${role}/contact-relay-${STAGE}-${fn}` +
      ' is not authorized to perform:';
    const noPolicy = (action: string) => `because no identity-based policy allows the ${action} action`;

    it('DynamoDB: 400 AccessDeniedException naming the action and the table', async () => {
      const client = new DynamoDBClient(as('forms'));
      const error = await refused(client.send(new ScanCommand({ TableName: pipeline.resources.tableName })));
      client.destroy();
      expect([error?.name, error?.$metadata.httpStatusCode, error?.message]).toEqual([
        'AccessDeniedException',
        400,
        `${user('forms', 'FormsFunctionRole')} dynamodb:Scan on resource: ${TABLE_ARN} ${noPolicy('dynamodb:Scan')}`,
      ]);
    });

    it('SQS: 403 AccessDenied for a queue the role may not send to', async () => {
      const client = new SQSClient(as('forms'));
      const toDlq = new SendMessageCommand({ QueueUrl: pipeline.resources.dlqUrl, MessageBody: '{}' });
      const error = await refused(client.send(toDlq));
      client.destroy();
      const dlq = pipeline.resources.dlqArn;
      expect([error?.name, error?.$metadata.httpStatusCode, error?.message]).toEqual([
        'AccessDenied',
        403,
        `${user('forms', 'FormsFunctionRole')} sqs:sendmessage on resource: ${dlq} ${noPolicy('sqs:sendmessage')}`,
      ]);
    });

    it('Secrets Manager: 400 AccessDeniedException without the grant, or for another stage’s secret', async () => {
      const shopifyEvents = new SecretsManagerClient(as('shopifyEvents'));
      const noGrant = await refused(shopifyEvents.send(new GetSecretValueCommand({ SecretId: TWOCHAT_SECRET })));
      shopifyEvents.destroy();
      expect([noGrant?.name, noGrant?.$metadata.httpStatusCode, noGrant?.message]).toEqual([
        'AccessDeniedException',
        400,
        `${user('shopifyEvents', 'ShopifyEventsFunctionRole')} secretsmanager:GetSecretValue` +
          ` on resource: ${TWOCHAT_SECRET} ${noPolicy('secretsmanager:GetSecretValue')}`,
      ]);
      const healthcheck = new SecretsManagerClient(as('healthcheck'));
      const prod = new GetSecretValueCommand({ SecretId: 'contact-relay/prod/provider/twochat' });
      const otherStage = await refused(healthcheck.send(prod));
      const ownStage = await healthcheck.send(new GetSecretValueCommand({ SecretId: TWOCHAT_SECRET }));
      healthcheck.destroy();
      expect(otherStage?.name).toBe('AccessDeniedException');
      expect(ownStage.ARN).toBe(secretArn(TWOCHAT_SECRET));
    });

    it('lets any other key (the tests’ own clients, provisioning) do everything', async () => {
      const client = new DynamoDBClient({
        ...as('forms'),
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const { Items } = await client.send(new ScanCommand({ TableName: pipeline.resources.tableName }));
      client.destroy();
      expect(Items?.length).toBeGreaterThan(0);
    });
  });
});

describe('Local IAM: with dynamodb:GetItem taken out of forms’ role', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ roles: withoutGrant(loadFunctionRoles(STAGE), 'forms', 'dynamodb:GetItem') });
  });
  afterAll(() => pipeline.close());

  it('answers a re-sent webhook 503 as AWS does for a role missing the grant (real roles: 200 duplicate)', async () => {
    const message = 'the event could not be stored; retry the webhook later';
    const notAccepted = { error: { code: 'not_accepted', message } };
    expect(await answer(post(pipeline, 'iam-dup-2'))).toEqual([200, outcome('accepted', 'iam-dup-2')]);
    expect(await answer(post(pipeline, 'iam-dup-2'))).toEqual([503, notAccepted]);
    const refusal = decision('forms', 'dynamodb:GetItem', TABLE_ARN, 'implicitDeny');
    expect(decisionsOf(pipeline, 'forms')).toContainEqual(refusal);
  });
});

describe('Local IAM: npm start', () => {
  let stack: NpmStart;
  beforeAll(async () => {
    stack = await startNpmStart();
  }, 180_000);
  afterAll(() => {
    stack?.child.kill('SIGTERM');
  });

  it('runs each function under serverless-offline with its own identity, evaluated against its role', async () => {
    const webhook = await fetch(`http://127.0.0.1:${stack.ports.http}/hooks/form/default`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'iam-start@example.com', phone: '+14155550155' }),
    });
    expect(webhook.status, stack.output()).toBe(200);
    const decisions = async () => {
      const response = await fetch(`http://127.0.0.1:${stack.ports.emulator}/_emulator/iam`);
      return ((await response.json()) as { decisions: IamRecord[] }).decisions;
    };
    const actionsOf = (seen: IamRecord[], fn: string) =>
      seen.filter((entry) => entry.function === fn).map((entry) => entry.action);
    await eventually(async () => {
      const seen = await decisions();
      expect(actionsOf(seen, 'forms')).toContain('sqs:SendMessage');
      expect(actionsOf(seen, 'deliver')).toContain('dynamodb:UpdateItem');
    }, 60_000);
    expect((await decisions()).filter((entry) => entry.decision !== 'allowed')).toEqual([]);
  }, 90_000);
});
