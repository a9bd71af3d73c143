/**
 * The one Secrets Manager operation the functions call, on the AWS JSON 1.1
 * wire protocol the SDK speaks, so the real client runs unchanged against it.
 */
import { createHash } from 'node:crypto';
import type { EmulatorState } from './state.js';
import { isRecord, json, type EmulatedResponse } from './http-kit.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './iam.js';

const SUFFIX_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A secret's ARN: Secrets Manager appends a dash and six random alphanumeric characters to the name, so a
 * policy naming the secret must end in `-??????` or `*`. The characters here come from the name,
 * so one secret keeps one ARN across runs.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html
 */
export function secretArn(name: string, region = LOCAL_REGION): string {
  const digest = createHash('sha256').update(name).digest();
  const suffix = [...digest.subarray(0, 6)].map((byte) => SUFFIX_CHARACTERS[byte % SUFFIX_CHARACTERS.length]).join('');
  return `arn:aws:secretsmanager:${region}:${LOCAL_ACCOUNT}:secret:${name}-${suffix}`;
}

export function secretsManagerCall(state: EmulatorState, target: string, body: unknown): EmulatedResponse {
  const operation = target.replace(/^secretsmanager\./, '');
  if (operation !== 'GetSecretValue') {
    return awsError(400, 'InvalidRequestException', `The emulator does not implement ${operation}`);
  }
  const secretId = isRecord(body) && typeof body['SecretId'] === 'string' ? body['SecretId'] : undefined;
  if (secretId === undefined) return awsError(400, 'InvalidParameterException', 'SecretId is required');
  const value = state.secrets.get(secretId);
  if (value === undefined)
    return awsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  return json(
    200,
    {
      ARN: secretArn(secretId),
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
  return json(
    status,
    { __type: type, message },
    { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
  );
}
