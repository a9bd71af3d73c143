import { describe, expect, it } from 'vitest';
import { EnvConfigError, loadEnv, providerBaseUrls } from '../../../shared/config/env.js';
import { createRuntime } from '../../../shared/runtime.js';

describe('Function: loadEnv', () => {
  it('requires STAGE and names it', () => {
    expect(() => loadEnv({})).toThrow(EnvConfigError);
    expect(() => loadEnv({})).toThrow(/STAGE/);
  });

  it('treats empty variables as unset', () => {
    expect(loadEnv({ STAGE: 'dev', PROVIDER_URL_KIRIM: '' })).toEqual({ STAGE: 'dev' });
  });

  it('names a malformed provider URL', () => {
    expect(() => loadEnv({ STAGE: 'dev', PROVIDER_URL_TWOCHAT: 'not a url' })).toThrow(/PROVIDER_URL_TWOCHAT/);
  });

  it('names a malformed Shopify Admin URL', () => {
    expect(() => loadEnv({ STAGE: 'dev', SHOPIFY_ADMIN_URL: 'not a url' })).toThrow(
      /^invalid environment: SHOPIFY_ADMIN_URL: /,
    );
  });

  it('names a malformed secrets TTL', () => {
    expect(() => loadEnv({ STAGE: 'dev', SECRETS_TTL_SECONDS: 'ten' })).toThrow(
      /SECRETS_TTL_SECONDS: must be a whole number of seconds/,
    );
  });
});

describe('Function: loadEnv (URL overrides)', () => {
  const OVERRIDES = [
    'PROVIDER_URL_TWOCHAT',
    'PROVIDER_URL_KIRIM',
    'PROVIDER_URL_CALLBELL',
    'PROVIDER_URL_CHATWOOT',
    'SHOPIFY_ADMIN_URL',
    'CAPTCHA_URL_TURNSTILE',
    'CAPTCHA_URL_RECAPTCHA',
    'CAPTCHA_URL_HCAPTCHA',
  ];

  it.each(OVERRIDES)('fails the cold start of a stage other than local when %s names another host', (variable) => {
    for (const stage of ['prod', 'dev', 'itest']) {
      const start = () => loadEnv({ STAGE: stage, [variable]: 'https://collector.example' });
      expect(start).toThrow(EnvConfigError);
      expect(start).toThrow(`invalid environment: ${variable}: is honoured on stage local only (stage ${stage} calls`);
    }
  });

  it.each(OVERRIDES)('takes %s on stage local over https, and plain http only to this machine', (variable) => {
    expect(loadEnv({ STAGE: 'local', [variable]: 'https://api.example.com/v1' })[variable as 'STAGE']).toBe(
      'https://api.example.com/v1',
    );
    const start = () => loadEnv({ STAGE: 'local', [variable]: 'http://api.example.com' });
    expect(start).toThrow(`invalid environment: ${variable}: must be an https URL`);
  });

  it('takes a loopback URL on any stage: the test pipelines run the functions against a loopback emulator', () => {
    const loopback = [
      'http://127.0.0.1:4010/kirim',
      'http://localhost:4010/',
      'http://[::1]:4010/',
      'http://127.8.9.1/',
    ];
    for (const url of loopback) {
      expect(loadEnv({ STAGE: 'itest', PROVIDER_URL_KIRIM: url }).PROVIDER_URL_KIRIM).toBe(url);
    }
  });

  it('is not fooled by a host that only starts like a loopback one, or by credentials before it', () => {
    const lookalikes = ['http://127.0.0.1.collector.example', 'http://localhost.collector.example'];
    for (const url of [...lookalikes, 'http://127.0.0.1@collector.example']) {
      const start = () => loadEnv({ STAGE: 'prod', SHOPIFY_ADMIN_URL: url });
      expect(start, url).toThrow(/SHOPIFY_ADMIN_URL: is honoured on stage local only/);
    }
  });
});

describe('Function: providerBaseUrls', () => {
  it('returns overrides without trailing slashes', () => {
    expect(providerBaseUrls(loadEnv({ STAGE: 'dev', PROVIDER_URL_TWOCHAT: 'http://127.0.0.1:4010/twochat/' }))).toEqual(
      { twochat: 'http://127.0.0.1:4010/twochat' },
    );
  });
});

describe('Function: createRuntime', () => {
  it('fails at cold start on a route secret of another stage, which its role may not read', () => {
    const leads = { deliverTo: ['x'], secretName: 'contact-relay/prod/source/leads' };
    const routes = { accounts: { x: { provider: 'kirim' } }, sources: { tally: { leads } } };
    const runtime = createRuntime({ STAGE: 'prod' }, routes);
    expect(runtime.routes.sources.tally?.['leads']?.secretName).toBe('contact-relay/prod/source/leads');
    expect(() => createRuntime({ STAGE: 'dev' }, routes)).toThrow(
      'sources.tally.leads.secretName: must start with "contact-relay/dev/source/": ' +
        'the ingest functions may read no other secret',
    );
  });

  it('fails at cold start on an invalid route config, naming the field', () => {
    expect(() =>
      createRuntime({ STAGE: 'dev' }, { accounts: {}, sources: { form: { default: { deliverTo: ['x'] } } } }),
    ).toThrow(/sources\.form\.default\.deliverTo\[0\]: unknown account "x"/);
  });
});
