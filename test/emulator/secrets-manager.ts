/**
 * The one Secrets Manager operation the functions call, on the AWS JSON 1.1
 * wire protocol the SDK speaks, so the real client runs unchanged against it.
 */
import type { EmulatorState } from './state.js';
import { isRecord, json, type EmulatedResponse } from './http-kit.js';

const ACCOUNT = '000000000000';

export function secretsManagerCall(state: EmulatorState, target: string, body: unknown): EmulatedResponse {
  const operation = target.replace(/^secretsmanager\./, '');
  if (operation !== 'GetSecretValue') {
    return awsError(400, 'InvalidRequestException', `The emulator does not implement ${operation}`);
  }
  const secretId = isRecord(body) && typeof body['SecretId'] === 'string' ? body['SecretId'] : undefined;
  if (secretId === undefined) return awsError(400, 'InvalidParameterException', 'SecretId is required');
  const value = state.secrets.get(secretId);
  if (value === undefined) return awsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  return json(
    200,
    {
      ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${secretId}-AbCdEf`,
      Name: secretId,
      SecretString: value,
      VersionId: '00000000-0000-4000-8000-000000000001',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1_700_000_000,
    },
    { 'content-type': 'application/x-amz-json-1.1' },
  );
}

function awsError(status: number, type: string, message: string): EmulatedResponse {
  return json(status, { __type: type, message }, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
}
