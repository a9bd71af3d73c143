/**
 * Each function's role reads one kind of secret (infra/iam.yml): the ingest
 * functions, which anyone on the internet can call, `source/*`; deliver,
 * healthcheck and redrive `provider/*`; reconcile `shopify-admin/*`. Through
 * the local pipeline, whose emulator evaluates every AWS call against those
 * roles: every path still reads what it needs, and a function asking for
 * another kind of secret is refused AccessDeniedException, as in AWS.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asFunction } from '../../local/emulator/function-identity.js';
import { functionAccessKeyId, type IamRecord } from '../../local/emulator/iam.js';
import { secretArn } from '../../local/emulator/secrets-manager.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, PROVIDERS, SOURCE_SECRET, STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

const secret = (kind: string, name: string) => `contact-relay/${STAGE}/${kind}/${name}`;
const PROVIDER_SECRETS = PROVIDERS.map((provider) => secret('provider', provider));
const SHOPIFY_ADMIN = secret('shopify-admin', 'default');
const fixture = (file: string) => readFileSync(new URL(`../fixtures/${file}`, import.meta.url));
const hmac = (body: Buffer) => createHmac('sha256', SOURCE_SECRET.secret).update(body).digest('base64');

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline();
});
afterAll(() => pipeline.close());
beforeEach(() => {
  pipeline.emulator.state.reset();
  if (pipeline.emulator.iam !== undefined) pipeline.emulator.iam.decisions = [];
});

/** The secrets `fn` asked for since the test began, each with the local IAM's answer. */
function secretReads(fn: string): Array<Pick<IamRecord, 'resource' | 'decision'>> {
  return (pipeline.emulator.iam?.decisions ?? [])
    .filter((entry) => entry.function === fn && entry.action === 'secretsmanager:GetSecretValue')
    .map(({ resource, decision }) => ({ resource, decision }));
}
const allowed = (...names: string[]) => names.map((name) => ({ resource: secretArn(name), decision: 'allowed' }));
const refusals = () => (pipeline.emulator.iam?.decisions ?? []).filter((entry) => entry.decision !== 'allowed');

async function post(fn: 'forms' | 'shops', source: string, body: Buffer, headers: Record<string, string>) {
  const event = { ...httpApiEvent(source, 'default', body.toString('base64'), headers), isBase64Encoded: true };
  const result = await pipeline[fn](event, lambdaContext());
  return { statusCode: result.statusCode, body: JSON.parse(result.body as string) as unknown };
}

describe('Secret scope: each path reads its own kind of secret, and is allowed it', () => {
  it('signed webhooks: forms and shops read their source secret, deliver the four provider keys', async () => {
    const typeform = fixture('typeform/with-phone.json');
    const typeformHeaders = { 'content-type': 'application/json', 'typeform-signature': `sha256=${hmac(typeform)}` };
    expect(await post('forms', 'typeform', typeform, typeformHeaders)).toMatchObject({ statusCode: 200 });
    // Another buyer than the Typeform's: each provider then holds two contacts.
    const order = fixture('woocommerce/order-national-phone.json');
    const wooHeaders = {
      'content-type': 'application/json',
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-source': 'https://shop.example.com/',
      'x-wc-webhook-id': '12',
      'x-wc-webhook-delivery-id': 'scope-1',
      'x-wc-webhook-signature': hmac(order),
    };
    expect(await post('shops', 'woocommerce', order, wooHeaders)).toMatchObject({ statusCode: 200 });
    const poller = pipeline.startPoller();
    try {
      await eventually(() => {
        for (const provider of PROVIDERS) {
          const contacts = pipeline.emulator.state.contacts.filter((contact) => contact.provider === provider);
          expect(contacts, provider).toHaveLength(2);
        }
      });
    } finally {
      await poller.stop();
    }
    // Each ingest function also reads the stage's lookup key, once, to index the person by keyed hashes.
    const lookupKey = `contact-relay/${STAGE}/lookup-key`;
    expect(secretReads('forms')).toEqual(allowed(secret('source', 'typeform'), lookupKey));
    expect(secretReads('shops')).toEqual(allowed(secret('source', 'woocommerce'), lookupKey));
    // Each provider key is read once, then served from the warm container's cache.
    expect(secretReads('deliver')).toEqual(expect.arrayContaining(allowed(...PROVIDER_SECRETS)));
    expect(new Set(secretReads('deliver').map((read) => read.resource))).toEqual(
      new Set(PROVIDER_SECRETS.map((name) => secretArn(name))),
    );
    expect(refusals()).toEqual([]);
  });

  it('healthcheck and redrive read the provider keys; reconcile the Shopify Admin token', async () => {
    const { handler: healthcheck } = await import('../../functions/healthcheck/handler.js');
    const health = await asFunction('healthcheck', healthcheck)({}, lambdaContext('contact-relay-itest-healthcheck'));
    expect(health).toEqual({ checked: PROVIDERS.length, healthy: PROVIDERS.length, unhealthy: [] });
    // A dead letter, so redrive checks every provider account before it moves it back.
    await pipeline.sqs.send(new SendMessageCommand({ QueueUrl: pipeline.resources.dlqUrl, MessageBody: '{}' }));
    const redrive = await pipeline.redrive({}, lambdaContext('contact-relay-itest-redrive'));
    expect(redrive).toMatchObject({ dlqMessages: 1, started: true });
    const [reconcile] = await pipeline.reconcile({}, lambdaContext('contact-relay-itest-reconcile'));
    expect(reconcile?.error).toBeUndefined();

    expect(new Set(secretReads('healthcheck').map((read) => read.resource))).toEqual(
      new Set(PROVIDER_SECRETS.map((name) => secretArn(name))),
    );
    expect(new Set(secretReads('redrive').map((read) => read.resource))).toEqual(
      new Set(PROVIDER_SECRETS.map((name) => secretArn(name))),
    );
    expect(secretReads('reconcile')).toEqual(allowed(SHOPIFY_ADMIN));
    expect(refusals()).toEqual([]);
  });
});

describe('Secret scope: a function asking for another kind of secret is refused', () => {
  const client = (fn: string) =>
    new SecretsManagerClient({
      endpoint: pipeline.emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: functionAccessKeyId(fn), secretAccessKey: 'local' },
    });
  /** What `fn` gets for each secret: `ok`, or the name of the error. */
  async function answers(fn: string, names: string[]): Promise<Record<string, string>> {
    const sm = client(fn);
    try {
      const entries = await Promise.all(
        names.map(async (name) => {
          const got = await sm.send(new GetSecretValueCommand({ SecretId: name })).then(
            () => 'ok',
            (error: Error) => error.name,
          );
          return [name, got] as const;
        }),
      );
      return Object.fromEntries(entries);
    } finally {
      sm.destroy();
    }
  }
  const each = (names: string[], answer: string) => Object.fromEntries(names.map((name) => [name, answer]));
  const DENIED = 'AccessDeniedException';
  const SOURCE_SECRETS = [secret('source', 'form'), secret('source', 'shopify')];

  it.each(['forms', 'shops'])('%s, which anyone can call, reads source secrets, no key or token', async (fn) => {
    expect(await answers(fn, [...SOURCE_SECRETS, ...PROVIDER_SECRETS, SHOPIFY_ADMIN])).toEqual({
      ...each(SOURCE_SECRETS, 'ok'),
      ...each([...PROVIDER_SECRETS, SHOPIFY_ADMIN], DENIED),
    });
  });

  it.each(['deliver', 'healthcheck', 'redrive'])('%s reads provider keys, no source secret or token', async (fn) => {
    expect(await answers(fn, [...PROVIDER_SECRETS, ...SOURCE_SECRETS, SHOPIFY_ADMIN])).toEqual({
      ...each(PROVIDER_SECRETS, 'ok'),
      ...each([...SOURCE_SECRETS, SHOPIFY_ADMIN], DENIED),
    });
  });

  it('reconcile reads the Shopify Admin token but no provider key or source secret', async () => {
    expect(await answers('reconcile', [SHOPIFY_ADMIN, ...PROVIDER_SECRETS, ...SOURCE_SECRETS])).toEqual({
      [SHOPIFY_ADMIN]: 'ok',
      ...each([...PROVIDER_SECRETS, ...SOURCE_SECRETS], DENIED),
    });
  });

  it('shopifyEvents, whose events carry no signature, reads no secret at all', async () => {
    expect(await answers('shopifyEvents', [...SOURCE_SECRETS, PROVIDER_SECRETS[0]!, SHOPIFY_ADMIN])).toEqual(
      each([...SOURCE_SECRETS, PROVIDER_SECRETS[0]!, SHOPIFY_ADMIN], DENIED),
    );
  });
});
