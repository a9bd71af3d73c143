/**
 * Creates, on the local AWS endpoint, the table and queues that
 * infra/resources.yml declares for AWS, so the local stack and the tests run
 * against the same definitions. Two differences, both for speed: the queue's
 * visibility timeout is short (a failed job comes back in seconds, not six
 * minutes), and dynalite does not expire items by TTL.
 */
import { readFileSync } from 'node:fs';
import {
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parse } from 'yaml';

const infraFile = new URL('../../infra/resources.yml', import.meta.url);

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

export interface LocalResources {
  tableName: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  maxReceiveCount: number;
}

interface ProvisionOptions {
  endpoint: string;
  stage: string;
  /** Seconds before a received, undeleted job is visible again. */
  visibilityTimeoutSeconds: number;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function provisionLocal(options: ProvisionOptions): Promise<LocalResources> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the Serverless variable, as infra/*.yml writes it.
  const template = parse(readFileSync(infraFile, 'utf8').replaceAll('${sls:stage}', options.stage)) as {
    Resources: Record<string, Resource>;
  };
  const table = template.Resources['EventsTable']?.Properties;
  const queue = template.Resources['DeliveryQueue']?.Properties;
  const dlq = template.Resources['DeliveryDeadLetterQueue']?.Properties;
  if (table === undefined || queue === undefined || dlq === undefined)
    throw new Error('infra/resources.yml lacks EventsTable, DeliveryQueue or DeliveryDeadLetterQueue');

  const dynamo = new DynamoDBClient({ endpoint: options.endpoint, region: 'us-east-1', credentials });
  const sqs = new SQSClient({ endpoint: options.endpoint, region: 'us-east-1', credentials });
  try {
    const tableInput: CreateTableCommandInput = {
      TableName: table['TableName'] as string,
      BillingMode: table['BillingMode'] as 'PAY_PER_REQUEST',
      AttributeDefinitions: table['AttributeDefinitions'] as CreateTableCommandInput['AttributeDefinitions'],
      KeySchema: table['KeySchema'] as CreateTableCommandInput['KeySchema'],
      // The recent-events index, as the template declares it (dynalite serves GSIs).
      GlobalSecondaryIndexes: table['GlobalSecondaryIndexes'] as CreateTableCommandInput['GlobalSecondaryIndexes'],
    };
    await dynamo.send(new CreateTableCommand(tableInput)).catch((error: unknown) => {
      if (!(error instanceof ResourceInUseException)) throw error;
    });

    const dlqUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: dlq['QueueName'] as string,
          Attributes: { MessageRetentionPeriod: String(dlq['MessageRetentionPeriod']) },
        }),
      )
    ).QueueUrl as string;
    const dlqArn = await queueArn(sqs, dlqUrl);
    const redrive = queue['RedrivePolicy'] as { maxReceiveCount: number };
    const queueUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: queue['QueueName'] as string,
          Attributes: {
            VisibilityTimeout: String(options.visibilityTimeoutSeconds),
            MessageRetentionPeriod: String(queue['MessageRetentionPeriod']),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: redrive.maxReceiveCount }),
          },
        }),
      )
    ).QueueUrl as string;
    // fauxqs names its queues sqs.{region}.localhost, which not every resolver knows, and the SDK
    // sends a call to its queue URL's host: hand out URLs on the emulator's own origin instead.
    const onEndpoint = (url: string) => `${new URL(options.endpoint).origin}${new URL(url).pathname}`;
    return {
      tableName: tableInput.TableName as string,
      queueUrl: onEndpoint(queueUrl),
      queueArn: await queueArn(sqs, queueUrl),
      dlqUrl: onEndpoint(dlqUrl),
      dlqArn,
      maxReceiveCount: redrive.maxReceiveCount,
    };
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.['QueueArn'];
  if (arn === undefined) throw new Error(`queue ${queueUrl} has no ARN`);
  return arn;
}
