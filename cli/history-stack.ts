/**
 * The AWS side of a stage as trace, events and dlq read it: its events table, its delivery queue and
 * dead-letter queue, and its lookup key. The same calls either way; only where they go differs:
 *   - stage local: the emulator of `npm start` (http://127.0.0.1:$EMULATOR_PORT, or --emulator), which
 *     serves DynamoDB, SQS and Secrets Manager on one endpoint, with local/secrets.json as its secrets;
 *   - another stage: AWS in --region (else AWS_REGION, AWS_DEFAULT_REGION, serverless.yml), with the
 *     default credential chain, unless --emulator points it at a local stack started for that stage.
 * Names are those infra/resources.yml gives: table contact-relay-{stage}-events, queues
 * contact-relay-{stage}-delivery and contact-relay-{stage}-delivery-dlq, found with GetQueueUrl.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SecretFormatError, SecretNotFoundError, SecretStore } from '../shared/secrets.js';
import { LookupKeySchema, lookupKeySecretName, MIN_LOOKUP_KEY_LENGTH } from '../shared/person-key.js';
import { awsRegion, checkStage, LOCAL_STAGE, localStack, secretBackend } from './context.js';
import { CliError, type Io } from './io.js';

/** Options the history commands share. */
export const STACK_OPTIONS = {
  stage: { type: 'string' },
  region: { type: 'string' },
  emulator: { type: 'string' },
} as const;

export const STACK_HELP = `  --stage S         stage (default: local, the stack of \`npm start\`)
  --region R        AWS region of a deployed stage (default: AWS_REGION, else
                    AWS_DEFAULT_REGION, else the region serverless.yml deploys to)
  --emulator URL    the local stack's AWS endpoint (default for stage local:
                    http://127.0.0.1:$EMULATOR_PORT, 4010 when unset)`;

export interface HistoryStack {
  stage: string;
  /** Where the calls go, for output: `emulator http://…` or `AWS eu-west-1`. */
  where: string;
  tableName: string;
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  queueUrl(): Promise<string>;
  dlqUrl(): Promise<string>;
  /** The stage's lookup key; a CliError saying how to create it when it is missing or too short. */
  lookupKey(): Promise<string>;
  close(): void;
}

const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function historyStack(
  io: Pick<Io, 'env' | 'cwd'>,
  options: { stage?: string | undefined; region?: string | undefined; emulator?: string | undefined },
  command: string,
): HistoryStack {
  const stage = checkStage(options.stage, command);
  const emulated = stage === LOCAL_STAGE || options.emulator !== undefined;
  let dynamo: DynamoDBClient;
  let sqs: SQSClient;
  let secrets: SecretStore;
  let closeSecrets: () => void = () => undefined;
  let where: string;
  let onEndpoint = (url: string) => url;
  if (emulated) {
    const endpoint = localStack(io.env, { emulator: options.emulator }, command).emulatorUrl;
    const local = { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    dynamo = new DynamoDBClient(local);
    sqs = new SQSClient(local);
    if (stage === LOCAL_STAGE) {
      // The file npm start serves as Secrets Manager: read as every other command reads it.
      const backend = secretBackend(io, stage, {}, command);
      secrets = backend.store;
    } else {
      const client = new SecretsManagerClient(local);
      secrets = new SecretStore({ client });
      closeSecrets = () => client.destroy();
    }
    where = `emulator ${endpoint}`;
    // The emulator's SQS names its queues sqs.{region}.localhost, which not every resolver knows:
    // its queues are called on the emulator's own origin instead (as npm start does).
    onEndpoint = (url) => `${new URL(endpoint).origin}${new URL(url).pathname}`;
  } else {
    const region = awsRegion(io.env, options.region, command).name;
    dynamo = new DynamoDBClient({ region });
    sqs = new SQSClient({ region });
    const backend = secretBackend(io, stage, { region }, command);
    secrets = backend.store;
    closeSecrets = () => backend.close();
    where = `AWS ${region}`;
  }
  const urls = new Map<string, Promise<string>>();
  const queueUrl = (name: string) => {
    let url = urls.get(name);
    if (url === undefined) {
      url = sqs.send(new GetQueueUrlCommand({ QueueName: name })).then(
        ({ QueueUrl }) => onEndpoint(QueueUrl as string),
        (error: unknown) => {
          urls.delete(name);
          throw new CliError(`cannot find queue ${name} (${where}): ${(error as Error).message}${hint(stage)}`);
        },
      );
      urls.set(name, url);
    }
    return url;
  };
  return {
    stage,
    where,
    tableName: `contact-relay-${stage}-events`,
    dynamo,
    sqs,
    queueUrl: () => queueUrl(`contact-relay-${stage}-delivery`),
    dlqUrl: () => queueUrl(`contact-relay-${stage}-delivery-dlq`),
    async lookupKey() {
      const name = lookupKeySecretName(stage);
      try {
        return (await secrets.get(name, LookupKeySchema)).key;
      } catch (error) {
        const fix = `a JSON object { "key": "<at least ${MIN_LOOKUP_KEY_LENGTH} random characters>" }`;
        if (error instanceof SecretNotFoundError)
          throw new CliError(
            `secret ${name} does not exist (${where}): an email or phone is looked up with it; ${fix}`,
          );
        if (error instanceof SecretFormatError) throw new CliError(`secret ${name} must be ${fix}: ${error.message}`);
        throw new CliError(`cannot read secret ${name} (${where}): ${(error as Error).message}${hint(stage)}`);
      }
    },
    close() {
      dynamo.destroy();
      sqs.destroy();
      closeSecrets();
    },
  };
}

/** What to check when a call fails. */
function hint(stage: string): string {
  return stage === LOCAL_STAGE
    ? ' (is `npm start` running? EMULATOR_PORT, or --emulator URL)'
    : ' (check AWS credentials and the region: aws sts get-caller-identity; AWS_PROFILE, --region)';
}

/** A DynamoDB call that failed: the table is missing, or the stack cannot be reached. */
export function tableError(stack: HistoryStack, error: unknown): CliError {
  const name = (error as { name?: string }).name;
  if (name === 'ResourceNotFoundException')
    return new CliError(`table ${stack.tableName} (or its index "recent") does not exist (${stack.where})`);
  return new CliError(
    `cannot read table ${stack.tableName} (${stack.where}): ${(error as Error).message}${hint(stack.stage)}`,
  );
}
