import { describe, expect, it } from 'vitest';
import { parseRoutesConfig } from '../../../shared/config/routes.js';
import { neededSecrets, outsideStage, placeholders, templateFileName } from '../../../cli/secret-specs.js';
import { createSecretCommand, shellQuote } from '../../../cli/shell.js';

const config = parseRoutesConfig({
  accounts: { main: { provider: 'twochat' }, eu: { provider: 'chatwoot' } },
  sources: {
    form: {
      default: { deliverTo: ['main'] },
      tokened: { deliverTo: ['main'], auth: 'token' },
      signed: { deliverTo: ['eu'], auth: 'hmac' },
    },
    tally: { open: { deliverTo: ['main'], auth: 'none' } },
    typeform: { leads: { deliverTo: ['main', 'eu'], secretName: 'contact-relay/prod/source/typeform-leads' } },
    shopify: {
      default: { deliverTo: ['main'], reconcile: { lookbackHours: 24 } },
      other: { deliverTo: ['main'], reconcile: { secretName: 'contact-relay/dev/shopify-admin/other' } },
    },
  },
});

describe('neededSecrets', () => {
  const specs = neededSecrets(config, 'prod');
  const byName = Object.fromEntries(specs.map((spec) => [spec.name, spec]));

  it('lists provider accounts, source secrets of routes that check one, Shopify Admin secrets of reconcile routes and the lookup key', () => {
    expect(specs.map((spec) => spec.name)).toEqual([
      'contact-relay/prod/provider/main',
      'contact-relay/prod/provider/eu',
      'contact-relay/prod/source/shopify',
      'contact-relay/prod/source/typeform-leads',
      'contact-relay/prod/source/form',
      'contact-relay/prod/shopify-admin/default',
      'contact-relay/dev/shopify-admin/other',
      'contact-relay/prod/lookup-key',
    ]);
    expect(byName['contact-relay/prod/provider/eu']?.usedBy).toEqual(['typeform/leads', 'form/signed']);
  });

  it('asks the lookup key for a "key" of at least 32 characters, and takes no placeholder for one', () => {
    const lookupKey = byName['contact-relay/prod/lookup-key'];
    expect(lookupKey?.kind).toBe('lookup-key');
    expect(lookupKey?.problem(lookupKey.template)).toBe('key still holds the template placeholder');
    expect(lookupKey?.problem({ key: 'too short' })).toMatch(/^key: must be at least 32 characters/);
    expect(lookupKey?.problem({})).toMatch(/^key: /);
    expect(lookupKey?.problem({ key: 'x'.repeat(32) })).toBeUndefined();
  });

  it('one secret used by a token route and an HMAC route needs both fields', () => {
    const form = byName['contact-relay/prod/source/form'];
    expect(form?.template).toEqual({
      secret: expect.stringMatching(/^<.+>$/) as string,
      token: expect.stringMatching(/^<.+>$/) as string,
    });
    expect(form?.problem({ token: 't' })).toBe('needs "secret": form/tokened, form/signed checks a signature');
    expect(form?.problem({ token: 't', secret: 's' })).toBeUndefined();
  });

  it('a form route with a captcha needs the captcha secret, alone on an open route', () => {
    const protectedForms = parseRoutesConfig({
      accounts: { main: { provider: 'twochat' } },
      sources: {
        form: {
          contact: { deliverTo: ['main'], protection: { captcha: { provider: 'turnstile' } } },
          open: { deliverTo: ['main'] },
        },
      },
    });
    const [, form] = neededSecrets(protectedForms, 'prod');
    expect(form?.name).toBe('contact-relay/prod/source/form');
    expect(form?.usedBy).toEqual(['form/contact']);
    expect(form?.template).toEqual({ captchaSecret: expect.stringMatching(/^<.+secret key.+>$/) as string });
    expect(form?.problem({ token: 't' })).toBe(
      `needs "captchaSecret": form/contact checks captcha tokens with the vendor's siteverify API`,
    );
    expect(form?.problem({ captchaSecret: 'c' })).toBeUndefined();
  });

  it('reports placeholders left from a template, then the shape, naming fields only', () => {
    const chatwoot = byName['contact-relay/prod/provider/eu'];
    expect(chatwoot?.problem(chatwoot.template)).toBe(
      'accountId, inboxId, accessToken still hold the template placeholder',
    );
    expect(
      chatwoot?.problem({
        baseUrl: 'https://x.example.com/app/accounts',
        accountId: 1,
        inboxId: 2,
        accessToken: 'secret-value',
      }),
    ).toMatch(/^baseUrl: /);
    expect(
      chatwoot?.problem({ baseUrl: 'https://x.example.com', accountId: '1', inboxId: 2, accessToken: 'secret-value' }),
    ).toBeUndefined();
    expect(byName['contact-relay/prod/provider/main']?.problem({})).toMatch(/^apiKey: /);
    expect(placeholders({ apiKey: '<2Chat API key>', other: 'real', n: 1 })).toEqual(['apiKey']);
  });

  it('names template files after the secret, and finds names the functions may not read', () => {
    expect(templateFileName('contact-relay/prod/provider/main', 'prod')).toBe('provider-main.json');
    expect(templateFileName('shop-admin', 'prod')).toBe('shop-admin.json');
    expect(outsideStage(specs, 'prod').map((spec) => spec.name)).toEqual(['contact-relay/dev/shopify-admin/other']);
  });
});

describe('neededSecrets: Meta Lead Ads, Calendly and custom routes', () => {
  const fields = { fullName: '/name', phone: '/phone' };
  const specs = neededSecrets(
    parseRoutesConfig({
      accounts: { main: { provider: 'twochat' } },
      sources: {
        'meta-leads': { default: { deliverTo: ['main'] } },
        calendly: { default: { deliverTo: ['main'] } },
        custom: {
          default: { deliverTo: ['main'], custom: { fields } },
          signed: { deliverTo: ['main'], custom: { fields, signature: { header: 'X-Signature' } } },
          open: { deliverTo: ['main'], auth: 'none', custom: { fields } },
        },
      },
    }),
    'prod',
  );
  const byName = Object.fromEntries(specs.map((spec) => [spec.name, spec]));
  const meta = byName['contact-relay/prod/source/meta-leads'];
  const filledIn = { appSecret: 'a', verifyToken: 'v', pageAccessTokens: { '100000000000001': 'p' } };

  it('Meta: the app secret, the verify token and the page tokens by page id, each a placeholder to fill', () => {
    expect(meta?.template).toEqual({
      appSecret: expect.stringMatching(/^<.+>$/) as string,
      pageAccessTokens: { '<page id>': expect.stringMatching(/^<.+>$/) as string },
      verifyToken: expect.stringMatching(/^<.+>$/) as string,
    });
    expect(meta?.purpose).toBe('webhook app secret, page access tokens and verify token of meta-leads/default');
    expect(meta?.problem(meta.template)).toBe(
      'appSecret, pageAccessTokens, verifyToken still hold the template placeholder',
    );
  });

  it('Meta: the documented shape passes; a missing part is named with what needs it', () => {
    expect(meta?.problem(filledIn)).toBeUndefined();
    expect(meta?.problem({ appSecret: 'a', verifyToken: 'v' })).toBe(
      'needs "pageAccessTokens": meta-leads/default reads each lead with its page token',
    );
    expect(meta?.problem({ ...filledIn, pageAccessTokens: {} })).toMatch(/^needs "pageAccessTokens"/);
    expect(meta?.problem({ ...filledIn, pageAccessTokens: { 'my-page': 'p' } })).toMatch(
      /^pageAccessTokens\.my-page: /,
    );
  });

  it('Calendly: the signing key as "secret"; custom: "token", or "secret" when custom.signature is set, nothing when open', () => {
    expect(byName['contact-relay/prod/source/calendly']?.template).toEqual({
      secret: expect.stringContaining('signing_key') as string,
    });
    const custom = byName['contact-relay/prod/source/custom'];
    expect(Object.keys(custom?.template ?? {})).toEqual(['secret', 'token']);
    expect(custom?.usedBy).toEqual(['custom/default', 'custom/signed']);
    expect(custom?.problem({ token: 't' })).toBe('needs "secret": custom/default, custom/signed checks a signature');
  });
});

describe('shell quoting', () => {
  it('quotes what the shell would split or expand, including single quotes', () => {
    expect(shellQuote('contact-relay/prod/provider/main')).toBe('contact-relay/prod/provider/main');
    expect(shellQuote(`{"secret":"<the webhook's secret>"}`)).toBe(`'{"secret":"<the webhook'\\''s secret>"}'`);
    expect(createSecretCommand('contact-relay/prod/x', { apiKey: '<k>' })).toBe(
      `aws secretsmanager create-secret --name contact-relay/prod/x --secret-string '{"apiKey":"<k>"}'`,
    );
    const inRegion = createSecretCommand('contact-relay/prod/x', { apiKey: '<k>' }, 'eu-west-1');
    expect(inRegion).toBe(`${createSecretCommand('contact-relay/prod/x', { apiKey: '<k>' })} --region eu-west-1`);
  });
});
