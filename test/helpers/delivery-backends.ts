/**
 * What a test of delivery outside the pipeline runs against: the providers' emulator (with its Secrets
 * Manager endpoint), dynalite for the outcome table, clients for both, and one keep-alive HTTP client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHttpClient, type HttpClient } from '../../shared/http.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../local/emulator/server.js';
import { localCredentials, startDynalite } from './dynamo.js';

export interface DeliveryBackends {
  emulator: Emulator;
  dynamo: Awaited<ReturnType<typeof startDynalite>>;
  dynamoClient: DynamoDBClient;
  secretsClient: SecretsManagerClient;
  http: HttpClient;
  close(): Promise<void>;
}

export async function startDeliveryBackends(options: EmulatorOptions): Promise<DeliveryBackends> {
  const emulator = await startEmulator(options);
  const dynamo = await startDynalite();
  const dynamoClient = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: localCredentials,
  });
  const secretsClient = new SecretsManagerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: localCredentials,
  });
  const http = createHttpClient();
  return {
    emulator,
    dynamo,
    dynamoClient,
    secretsClient,
    http,
    async close() {
      http.close();
      secretsClient.destroy();
      dynamoClient.destroy();
      await dynamo.close();
      await emulator.close();
    },
  };
}
