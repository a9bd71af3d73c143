import { describe, expect, it } from 'vitest';
import { findsContactDetails, parseMappings, planColumns, rowBody } from '../../../cli/commands/import.js';
import { UsageError } from '../../../cli/io.js';
import { parseCsv } from '../../../cli/csv.js';

const plain = {};

describe('import: column mapping', () => {
  it('maps columns named after a field (case, spaces and punctuation ignored) and passes the others as they are', () => {
    const plan = planColumns(['First Name', 'Last-Name', 'E-mail', 'Mobile', 'utm_source', ''], [], plain);
    expect(plan.mapped.map(({ column, key }) => [column, key])).toEqual([
      ['First Name', 'first_name'],
      ['Last-Name', 'last_name'],
      ['E-mail', 'email'],
    ]);
    expect(plan.passed.map(({ column }) => column)).toEqual(['Mobile', 'utm_source']);
    expect(findsContactDetails(plan, plain)).toBe(true);
  });

  it('--map wins, and a column named after a field another column is mapped to is left out', () => {
    const plan = planColumns(['name', 'phone', 'Handy'], parseMappings(['Handy=phone']), plain);
    expect(plan.mapped.map(({ column, key }) => [column, key])).toEqual([
      ['name', 'name'],
      ['Handy', 'phone'],
    ]);
    expect(plan.dropped).toEqual(['phone']);
  });

  it("sends a field under the name the route's fields config gives it", () => {
    const route = { fields: { phone: ['handy'], firstName: ['vorname'] } };
    const plan = planColumns(['first_name', 'phone', 'mobile'], [], route);
    expect(plan.mapped.map(({ key }) => key)).toEqual(['vorname', 'handy']);
    // With fields.phone set, a passed-through "mobile" column is not looked at by the form source.
    expect(findsContactDetails(planColumns(['name', 'mobile'], [], route), route)).toBe(false);
    expect(findsContactDetails(planColumns(['name', 'mobile'], [], plain), plain)).toBe(true);
  });

  it('refuses a --map that is malformed, names an unknown field or a column the CSV lacks', () => {
    expect(() => parseMappings(['phone'])).toThrow(UsageError);
    expect(() => parseMappings(['Mobile=fax'])).toThrow('unknown field "fax"');
    expect(() => planColumns(['name'], parseMappings(['Mobile=phone']), plain)).toThrow(
      'the CSV has no column "Mobile"',
    );
    // Column names are matched without case when no exact match exists; "=" may appear in a column name.
    expect(planColumns(['MOBILE'], parseMappings(['mobile=phone']), plain).mapped[0]?.column).toBe('MOBILE');
    expect(parseMappings(['a=b=phone'])).toEqual([{ column: 'a=b', field: 'phone' }]);
  });

  it('a row becomes a flat form body: trimmed, empty cells left out, the first non-empty of two mapped columns wins', () => {
    const [header, row] = parseCsv(
      'Name,Work phone,Mobile,notes,tags\n  Ada Lovelace ,,+1 415 555 0132,"likes ""math""",vip,newsletter\n',
    );
    const plan = planColumns(header?.fields ?? [], parseMappings(['Work phone=phone', 'Mobile=phone']), plain);
    expect(rowBody(row ?? { row: 2, line: 2, fields: [] }, plan)).toEqual({
      name: 'Ada Lovelace',
      phone: '+1 415 555 0132',
      notes: 'likes "math"',
      tags: 'vip',
    });
  });
});
