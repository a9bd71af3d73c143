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
    expect(() => loadEnv({ STAGE: 'dev', SHOPIFY_ADMIN_URL: 'not a url' })).toThrow(/^invalid environment: SHOPIFY_ADMIN_URL: /);
  });

  it('names a malformed secrets TTL', () => {
    expect(() => loadEnv({ STAGE: 'dev', SECRETS_TTL_SECONDS: 'ten' })).toThrow(/SECRETS_TTL_SECONDS: must be a whole number of seconds/);
  });
});

describe('Function: providerBaseUrls', () => {
  it('returns overrides without trailing slashes', () => {
    expect(providerBaseUrls(loadEnv({ STAGE: 'dev', PROVIDER_URL_TWOCHAT: 'http://127.0.0.1:4010/twochat/' }))).toEqual({ twochat: 'http://127.0.0.1:4010/twochat' });
  });
});

describe('Function: createRuntime', () => {
  it('fails at cold start on an invalid route config, naming the field', () => {
    expect(() => createRuntime({ STAGE: 'dev' }, { accounts: {}, sources: { form: { default: { deliverTo: ['x'] } } } })).toThrow(
      /sources\.form\.default\.deliverTo\[0\]: unknown account "x"/,
    );
  });
});
