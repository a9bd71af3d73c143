/**
 * The environment that points the functions at the local stack: the AWS SDK
 * at the emulator's single endpoint, the table and queues `provisionLocal`
 * made, the providers, the captcha siteverify APIs, the Shopify Admin API and
 * Meta's Graph API (where deliver reads Lead Ads leads) at their emulated paths.
 * `npm start`, the test pipeline and the soak all run the functions with it.
 */
import { PROVIDERS } from '../../shared/config/routes.js';
import { CAPTCHA_SERVICES } from './providers/captcha.js';
import type { LocalResources } from './provision.js';

export function localFunctionEnv(
  stage: string,
  emulatorUrl: string,
  resources: LocalResources,
): Record<string, string> {
  const env: Record<string, string> = {
    STAGE: stage,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: emulatorUrl,
    AWS_ENDPOINT_URL_DYNAMODB: emulatorUrl,
    AWS_ENDPOINT_URL_SQS: emulatorUrl,
    TABLE_NAME: resources.tableName,
    QUEUE_URL: resources.queueUrl,
    QUEUE_ARN: resources.queueArn,
    DLQ_URL: resources.dlqUrl,
    DLQ_ARN: resources.dlqArn,
    SHOPIFY_ADMIN_URL: `${emulatorUrl}/shopify`,
    META_GRAPH_URL: `${emulatorUrl}/meta`,
  };
  for (const provider of PROVIDERS) env[`PROVIDER_URL_${provider.toUpperCase()}`] = `${emulatorUrl}/${provider}`;
  for (const service of CAPTCHA_SERVICES) env[`CAPTCHA_URL_${service.toUpperCase()}`] = `${emulatorUrl}/${service}`;
  // The local stack serves form routes anyone can post to, so `curl` can try them; deployed stages do not.
  env['ALLOW_OPEN_FORM_ROUTES'] = 'true';
  return env;
}
