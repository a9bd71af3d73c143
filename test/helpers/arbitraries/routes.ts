import fc from 'fast-check';
import type { SourceName } from '../../../shared/contact.js';
import type { FieldMapping, ResolvedRoute } from '../../../shared/config/routes.js';
import { testRoute } from '../routes.js';
import { FIELD_NAMES } from './fields.js';

/** A random route of `source`: region, WhatsApp flag, tags, and sometimes configured field names. */
export function routeOf(source: SourceName): fc.Arbitrary<ResolvedRoute> {
  const names = fc.array(fc.constantFrom(...FIELD_NAMES), { minLength: 1, maxLength: 3 });
  const fields: fc.Arbitrary<FieldMapping> = fc.record(
    {
      firstName: names,
      lastName: names,
      fullName: names,
      email: names,
      phone: names,
      country: names,
      tags: names,
      attributes: names,
    },
    { requiredKeys: [] },
  );
  return fc
    .record(
      {
        defaultRegion: fc.constantFrom('US', 'GB', 'DE', 'NL', 'IN', 'BR', 'AR', 'FR', 'JP', 'AU', 'BS', 'VA'),
        whatsappNumbers: fc.boolean(),
        tags: fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 2 }),
        fields,
      },
      { requiredKeys: ['whatsappNumbers', 'tags'] },
    )
    .map((route) => testRoute({ source, ...route }));
}
