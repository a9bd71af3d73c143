/**
 * The README's recipes for the `custom` source: each route snippet is loaded
 * through the route schema, and a payload shaped as the tool documents it
 * (test/fixtures/custom, sources in test/contracts/custom.md) is read by the
 * source, sent the way the tool sends it.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findRoute, parseRoutesConfig, type ResolvedRoute } from '../../../shared/config/routes.js';
import type { SourceReading, SourceSecret } from '../../../shared/ingest.js';
import { customSource } from '../../../shared/sources/custom.js';
import type { WebhookRequest } from '../../../shared/webhook.js';
import { RECIPES } from '../../helpers/custom-recipes.js';

const TOKEN = 'recipe-token-6c1b';
const CLIENT_SECRET = 'hubspot-client-secret-0d4e';
const now = new Date('2026-11-21T10:00:00.000Z');

const fixture = (tool: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/custom/${tool}.json`, import.meta.url), 'utf8'));

const config = parseRoutesConfig({ accounts: { twochat: { provider: 'twochat' } }, sources: { custom: RECIPES } });
const route = (name: keyof typeof RECIPES): ResolvedRoute => findRoute(config, 'custom', name) as ResolvedRoute;

function request(
  routeName: string,
  body: string,
  contentType: string,
  extra: Partial<WebhookRequest> = {},
): WebhookRequest {
  return {
    source: 'custom',
    routeName,
    headers: { 'content-type': contentType, ...extra.headers },
    query: { ...extra.query },
    rawBody: Buffer.from(body),
  };
}

async function read(
  name: keyof typeof RECIPES,
  req: WebhookRequest,
  secret: SourceSecret = { token: TOKEN },
): Promise<SourceReading> {
  return customSource.read(req, route(name), { now, secret: async () => secret });
}

function contactOf(reading: SourceReading) {
  if (reading.kind !== 'contact') throw new Error(`expected a contact, got ${reading.kind}`);
  expect(reading.skipReason).toBeUndefined();
  return { contact: reading.contact, eventKey: reading.eventKey };
}

/**
 * What PHP's http_build_query makes of a nested array (WordPress's wp_remote_post sends an array body so):
 * `fields[email][value]=…`, each key and value percent-encoded.
 */
function phpFormEncode(value: unknown, prefix = ''): string[] {
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) =>
      phpFormEncode(inner, prefix === '' ? key : `${prefix}[${key}]`),
    );
  }
  return [`${encodeURIComponent(prefix)}=${encodeURIComponent(String(value ?? ''))}`];
}

describe('Recipe: Elementor Pro form, Webhook action with Advanced Data', () => {
  it('reads the form-encoded fields[…][value] body, token in the URL', async () => {
    const body = phpFormEncode(fixture('elementor')).join('&');
    const reading = await read(
      'elementor',
      request('elementor', body, 'application/x-www-form-urlencoded', { query: { token: TOKEN } }),
    );
    const { contact, eventKey } = contactOf(reading);
    expect(contact).toMatchObject({
      firstName: 'Grace',
      lastName: 'Hopper',
      emails: ['grace.hopper@example.com'],
      phones: [{ e164: '+4930901820' }],
      tags: ['custom'],
      attributes: { message: 'Please call after 5pm', page: 'https://example.com/contact/', form: 'Callback request' },
    });
    // Elementor sends no submission id: the body's hash names the event, so a resend of the same bytes is a duplicate.
    expect(eventKey).toMatch(/^custom:elementor:sha256:[0-9a-f]{64}$/);
  });

  it('refuses the request when the URL lacks the token', async () => {
    const body = phpFormEncode(fixture('elementor')).join('&');
    await expect(
      read('elementor', request('elementor', body, 'application/x-www-form-urlencoded')),
    ).rejects.toMatchObject({ statusCode: 401, code: 'missing_token' });
  });
});

describe('Recipe: Gravity Forms Webhooks Add-On, JSON, All Fields', () => {
  it('reads the entry by field id, the phone in the address country', async () => {
    const reading = await read(
      'gravity-forms',
      request('gravity-forms', JSON.stringify(fixture('gravity-forms')), 'application/json', {
        headers: { 'x-contact-relay-token': TOKEN },
      }),
    );
    const { contact, eventKey } = contactOf(reading);
    expect(contact).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      emails: ['ada@example.com'],
      // Read in GB (the address country "United Kingdom"), not the route's default region US.
      phones: [{ e164: '+442079460958' }],
      attributes: { message: 'Interested in the analytical engine', page: 'https://example.com/contact/' },
    });
    expect(eventKey).toBe('custom:gravity-forms:42');
  });
});

describe('Recipe: WPForms Webhooks addon, keys of your choosing', () => {
  it('reads the JSON request format, with comma-separated tags', async () => {
    const reading = await read(
      'wpforms',
      request('wpforms', JSON.stringify(fixture('wpforms')), 'application/json', {
        headers: { 'x-contact-relay-token': TOKEN },
      }),
    );
    const { contact, eventKey } = contactOf(reading);
    expect(contact).toMatchObject({
      firstName: 'Katherine',
      lastName: 'Johnson',
      emails: ['katherine@example.com'],
      phones: [{ e164: '+12015550123' }],
      tags: ['custom', 'wpforms', 'webinar', 'newsletter'],
      attributes: { plan: 'Team' },
    });
    expect(eventKey).toBe('custom:wpforms:17');
  });

  it('reads the FORM request format to the same contact', async () => {
    const body = new URLSearchParams(
      Object.entries(fixture('wpforms') as Record<string, string | number>).map(([key, value]): [string, string] => [
        key,
        String(value),
      ]),
    ).toString();
    const json = contactOf(
      await read(
        'wpforms',
        request('wpforms', JSON.stringify(fixture('wpforms')), 'application/json', { query: { token: TOKEN } }),
      ),
    );
    const form = contactOf(
      await read('wpforms', request('wpforms', body, 'application/x-www-form-urlencoded', { query: { token: TOKEN } })),
    );
    expect(form).toEqual(json);
  });
});

describe('Recipe: HubSpot workflow, Send a webhook', () => {
  it('reads the customised JSON body, the API key sent as the token query parameter', async () => {
    const reading = await read(
      'hubspot',
      request('hubspot', JSON.stringify(fixture('hubspot')), 'application/json', { query: { token: TOKEN } }),
    );
    const { contact } = contactOf(reading);
    expect(contact).toMatchObject({
      firstName: 'Dorothy',
      lastName: 'Vaughan',
      emails: ['dorothy@example.com'],
      phones: [{ e164: '+4930901820' }],
      attributes: { hubspot_id: '51', lifecycle_stage: 'lead' },
    });
  });

  it('checks a v3 request signature: HMAC-SHA256 (base64) of method, URL, body and millisecond timestamp', async () => {
    const body = JSON.stringify(fixture('hubspot'));
    const timestamp = String(now.getTime() - 60_000);
    const signature = createHmac('sha256', CLIENT_SECRET)
      .update(`POSThttps://hooks.example.com/hooks/custom/hubspot-signed${body}${timestamp}`)
      .digest('base64');
    const headers = { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp };
    const reading = await read('hubspot-signed', request('hubspot-signed', body, 'application/json', { headers }), {
      secret: CLIENT_SECRET,
    });
    expect(contactOf(reading).contact.emails).toEqual(['dorothy@example.com']);

    const old = String(now.getTime() - 10 * 60_000);
    const stale = createHmac('sha256', CLIENT_SECRET)
      .update(`POSThttps://hooks.example.com/hooks/custom/hubspot-signed${body}${old}`)
      .digest('base64');
    const staleHeaders = { 'x-hubspot-signature-v3': stale, 'x-hubspot-request-timestamp': old };
    await expect(
      read('hubspot-signed', request('hubspot-signed', body, 'application/json', { headers: staleHeaders }), {
        secret: CLIENT_SECRET,
      }),
    ).rejects.toMatchObject({
      statusCode: 401,
      code: 'stale_signature',
    });
  });
});

describe('Recipe: Wix Automations, Send via webhook with a customised structure', () => {
  it('reads nested keys, the phone in international format', async () => {
    const reading = await read(
      'wix',
      request('wix', JSON.stringify(fixture('wix')), 'application/json', { query: { token: TOKEN } }),
    );
    const { contact, eventKey } = contactOf(reading);
    expect(contact).toMatchObject({
      firstName: 'Mary',
      lastName: 'Jackson',
      emails: ['mary@example.com'],
      phones: [{ e164: '+33142685300' }],
      attributes: { message: 'Quote for 20 seats', form: 'Contact us' },
    });
    expect(eventKey).toBe('custom:wix:7a1f0e0c-5c1d-4bb8-9d3e-2f7f1a0c9b11');
  });
});
