/**
 * How long an event's history is kept: `retentionDays` at the top of the route config (default 30) and on a
 * route, whole days from 2 (longer than any sender's retry window: it is also the dedupe window) to 3,650.
 */
import { describe, expect, it } from 'vitest';
import { findRoute, parseRoutesConfig, retentionDays } from '../../../shared/config/routes.js';

const config =
  (top: Record<string, unknown>, route: Record<string, unknown> = {}, source = 'form') =>
  () =>
    parseRoutesConfig({
      ...top,
      accounts: { kirim: { provider: 'kirim' } },
      sources: { [source]: { default: { deliverTo: ['kirim'], ...route } } },
    });
const kept = (top: Record<string, unknown>, route: Record<string, unknown> = {}) =>
  retentionDays(findRoute(config(top, route)(), 'form', 'default') ?? {});

describe('Route option: retentionDays', () => {
  it("keeps a route's events its own retentionDays, else the config's, else 30 days", () => {
    expect(kept({ retentionDays: 90 }, { retentionDays: 7 })).toBe(7);
    expect(kept({ retentionDays: 90 })).toBe(90);
    expect(kept({})).toBe(30);
  });

  it.each([
    [{ retentionDays: 1 }, {}, 'retentionDays'],
    [{ retentionDays: 3651 }, {}, 'retentionDays'],
    [{ retentionDays: 7.5 }, {}, 'retentionDays'],
    [{}, { retentionDays: 0 }, 'sources.form.default.retentionDays'],
    [{}, { retentionDays: '30' }, 'sources.form.default.retentionDays'],
  ])('refuses %j / route %j, naming %s', (top, route, field) => {
    expect(config(top, route)).toThrow(new RegExp(`json: ${field.replaceAll('.', '\\.')}: `));
  });

  it("refuses a Shopify maxDeliveryAgeHours longer than the route's retention, whose keys would be gone", () => {
    expect(config({ retentionDays: 2 }, { maxDeliveryAgeHours: 49 }, 'shopify')).toThrow(
      /sources\.shopify\.default\.maxDeliveryAgeHours: must not exceed the route's retention, 48 hours/,
    );
    expect(config({ retentionDays: 2 }, { maxDeliveryAgeHours: 48 }, 'shopify')).not.toThrow();
  });
});
