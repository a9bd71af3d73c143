/**
 * dynalite on loopback, and the events table as infra/resources.yml defines
 * it, for tests of the real DynamoDB store.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { parse } from 'yaml';

export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function startDynalite(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let tables = 0;

/** A fresh, active table with the key schema of EventsTable; its name. */
export async function createEventsTable(endpoint: string): Promise<string> {
  const template = parse(readFileSync(new URL('../../infra/resources.yml', import.meta.url), 'utf8')) as {
    Resources: { EventsTable: { Properties: Record<string, unknown> } };
  };
  const table = template.Resources.EventsTable.Properties;
  const tableName = `contact-relay-test-events-${process.pid}-${++tables}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: table['BillingMode'] as 'PAY_PER_REQUEST',
      AttributeDefinitions: table['AttributeDefinitions'] as CreateTableCommandInput['AttributeDefinitions'],
      KeySchema: table['KeySchema'] as CreateTableCommandInput['KeySchema'],
      // The recent-events index, as the template declares it (dynalite serves GSIs).
      GlobalSecondaryIndexes: table['GlobalSecondaryIndexes'] as CreateTableCommandInput['GlobalSecondaryIndexes'],
    }),
  );
  // dynalite answers CreateTable while the table is still CREATING, even with createTableMs: 0.
  while ((await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE') {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  client.destroy();
  return tableName;
}
