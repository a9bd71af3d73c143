/**
 * `npm start` with PROVIDER_URL_* and SHOPIFY_ADMIN_URL set, as a user tries
 * real accounts before deploying: every function (deliver fed by the queue
 * poller, redrive, healthcheck, reconcile) calls those URLs with the keys of
 * LOCAL_SECRETS_FILE, and nothing reaches the emulator. A second emulator on
 * another port stands in for the real accounts; it accepts only those keys.
 * One stack start for everything: serverless-offline is slow to start.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AdminOrderNode } from '../../shared/shopify/admin-orders.js';
import { startEmulator, type Emulator } from '../../local/emulator/server.js';
import { startNpmStart, type NpmStart } from '../helpers/npm-start.js';
import { eventually } from '../helpers/pipeline.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;
const variable = (provider: string) => `PROVIDER_URL_${provider.toUpperCase()}`;
const EMULATED = [...PROVIDERS, 'shopify'];

/** The committed placeholders, with "real" keys for the accounts tried. */
const committed = JSON.parse(readFileSync(path.join(root, 'local/secrets.json'), 'utf8')) as Record<string, object>;
const KEYS = { twochat: 'real-2chat', kirim: 'real-kirim', callbell: 'real-callbell', chatwoot: 'real-99digital' };
const secrets = {
  ...committed,
  'contact-relay/local/provider/twochat': { apiKey: KEYS.twochat },
  'contact-relay/local/provider/kirim': { token: KEYS.kirim, phoneNumberId: '106540352242922' },
  'contact-relay/local/provider/callbell': { token: KEYS.callbell },
  'contact-relay/local/provider/chatwoot': {
    ...committed['contact-relay/local/provider/chatwoot'],
    accessToken: KEYS.chatwoot,
  },
  'contact-relay/local/shopify-admin/default': {
    shopDomain: 'demo-shop.myshopify.com',
    accessToken: 'real-shopify-token',
  },
};
const secretsFile = path.join(mkdtempSync(path.join(tmpdir(), 'overrides-')), 'secrets.json');
writeFileSync(secretsFile, JSON.stringify(secrets));

let real: Emulator;
let stack: NpmStart;
let emulator: string;

beforeAll(async () => {
  const credentials = Object.fromEntries(PROVIDERS.map((provider) => [provider, [KEYS[provider]]]));
  real = await startEmulator({ port: 0, secrets, credentials });
  stack = await startNpmStart({
    LOCAL_SECRETS_FILE: secretsFile,
    ...Object.fromEntries(PROVIDERS.map((provider) => [variable(provider), `${real.url}/${provider}`])),
    SHOPIFY_ADMIN_URL: `${real.url}/shopify/`,
  });
  emulator = `http://127.0.0.1:${stack.ports.emulator}`;
}, 150_000);

afterAll(async () => {
  if (stack !== undefined && stack.child.exitCode === null) {
    const exited = new Promise((resolve) => stack.child.once('exit', resolve));
    stack.child.kill('SIGTERM');
    await exited;
  }
  await real?.close();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`npm start printed:\n${stack.output().slice(-5000)}`);
});

/** What the stand-in for the real accounts received. */
const at = (provider: string, method?: string) =>
  real.state.requests.filter((r) => r.provider === provider && (method === undefined || r.method === method));
const contactsAt = (provider: string) => real.state.contacts.filter((contact) => contact.provider === provider);

describe('npm start with PROVIDER_URL_* and SHOPIFY_ADMIN_URL set', () => {
  it('prints which services go to a real URL, with the secrets file their keys come from', () => {
    for (const provider of PROVIDERS) {
      const row = `REAL       ${real.url}/${provider}  (${variable(provider)}; keys from ${secretsFile})`;
      expect(stack.banner).toContain(row);
    }
    expect(stack.banner).toMatch(new RegExp(`Shopify Admin API +REAL +${real.url}/shopify  \\(SHOPIFY_ADMIN_URL;`));
    expect(stack.banner).toContain(`PROVIDER_URL_KIRIM=${real.url}/kirim`);
    expect(stack.banner).toContain(`LOCAL_SECRETS_FILE=${secretsFile} npx contact-relay doctor`);
  });

  it('delivers a submission there; a job parked while Callbell failed goes there once redrive sees it up', async () => {
    // Callbell's creates fail until cleared: its job goes to the dead-letter queue.
    real.state.faults.push({ provider: 'callbell', method: 'POST', status: 500, times: 100_000 });
    const accepted = await fetch(`http://127.0.0.1:${stack.ports.http}/hooks/form/default`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Rita Real', email: 'rita@example.com', phone: '+1 212 555 0177' }),
    });
    expect(accepted.status).toBe(200);
    await eventually(() => {
      for (const provider of ['twochat', 'kirim', 'chatwoot']) expect(contactsAt(provider), provider).toHaveLength(1);
    });
    const kirim = at('kirim', 'POST')[0];
    expect([kirim?.path, kirim?.headers['authorization']]).toEqual([
      '/v1/106540352242922/contacts',
      expect.stringMatching(/^Bearer \*+/),
    ]);

    const credentials = { accessKeyId: 'l', secretAccessKey: 'l' };
    const sqs = new SQSClient({ endpoint: emulator, region: 'us-east-1', credentials });
    const dlqUrl = `${emulator}/000000000000/contact-relay-local-delivery-dlq`;
    const depth = async () => {
      const command = new GetQueueAttributesCommand({
        QueueUrl: dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      });
      return Number((await sqs.send(command)).Attributes?.['ApproximateNumberOfMessages']);
    };
    try {
      await eventually(async () => expect(await depth()).toBe(1), 60_000);
      real.state.faults = [];
      const healthGets = at('callbell', 'GET').length;
      expect(await stack.invoke('redrive')).toMatchObject({ started: true, dlqMessages: 1 });
      // Redrive asked the real URL whether Callbell answers before moving the job.
      expect(at('callbell', 'GET').length).toBeGreaterThan(healthGets);
      await eventually(() => expect(contactsAt('callbell')).toHaveLength(1), 30_000);
      await eventually(async () => expect(await depth()).toBe(0));
    } finally {
      sqs.destroy();
    }
  }, 120_000);

  it('runs the health check against those URLs with the file keys', async () => {
    const gets = () => PROVIDERS.map((provider) => at(provider, 'GET').length);
    const before = gets();
    expect(await stack.invoke('healthcheck')).toEqual({ checked: 4, healthy: 4, unhealthy: [] });
    expect(gets().map((count, index) => count - (before[index] ?? 0))).toEqual([1, 1, 1, 1]);
  });

  it('reconciles from the Shopify Admin API at SHOPIFY_ADMIN_URL and delivers the missed order there', async () => {
    const order: AdminOrderNode = {
      id: 'gid://shopify/Order/5678901234567890177',
      name: '#1177',
      email: 'otto@example.com',
      phone: null,
      createdAt: new Date(Date.now() - 60_000).toISOString(),
      totalPriceSet: { shopMoney: { amount: '25.00', currencyCode: 'EUR' } },
      customer: null,
      billingAddress: {
        firstName: 'Otto',
        lastName: 'Order',
        phone: '030 901820',
        countryCodeV2: 'DE',
        address1: null,
        address2: null,
        city: 'Berlin',
        province: null,
        zip: null,
      },
      shippingAddress: null,
    };
    real.shopify.orders.push(order);
    const [report] = (await stack.invoke('reconcile')) as Array<Record<string, unknown>>;
    expect(report).toMatchObject({ route: 'default', fetched: 1, accepted: 1 });
    expect(at('shopify').map((r) => [r.method, r.status])).toContainEqual(['POST', 200]);
    await eventually(() => {
      for (const provider of PROVIDERS) {
        expect(
          contactsAt(provider).filter((contact) => contact.phone === '+4930901820'),
          provider,
        ).toHaveLength(1);
      }
    });
  });

  it('never called the emulator for a provider or the Shopify Admin API', async () => {
    for (const provider of EMULATED) {
      const response = await fetch(`${emulator}/_emulator/requests?provider=${provider}`);
      expect(await response.json(), provider).toEqual([]);
    }
  });
});
