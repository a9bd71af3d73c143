import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvField, isBlank, parseCsv } from '../../../cli/csv.js';

const fields = (text: string, delimiter?: string) => parseCsv(text, delimiter).map((record) => record.fields);

describe('parseCsv', () => {
  it('reads plain, quoted and escaped fields', () => {
    expect(fields('name,email\nAda,ada@example.com\n')).toEqual([
      ['name', 'email'],
      ['Ada', 'ada@example.com'],
    ]);
    expect(fields('"Lovelace, Ada","say ""hi""",""\n')).toEqual([['Lovelace, Ada', 'say "hi"', '']]);
  });

  it('ends records at CRLF, LF or CR, and keeps line breaks inside quotes', () => {
    expect(fields('a,b\r\n1,2\r\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields('a,b\r1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    const records = parseCsv('a,b\r\n"line one\r\nline two",x\r\nnext,y\r\n');
    expect(records.map((record) => [record.row, record.line, record.fields])).toEqual([
      [1, 1, ['a', 'b']],
      [2, 2, ['line one\r\nline two', 'x']],
      [3, 4, ['next', 'y']],
    ]);
  });

  it('drops a UTF-8 BOM, keeps empty fields, and a trailing delimiter opens an empty last field', () => {
    expect(fields('\uFEFFname,phone\nAda,\n,\n')).toEqual([
      ['name', 'phone'],
      ['Ada', ''],
      ['', ''],
    ]);
    expect(fields('a,b,')).toEqual([['a', 'b', '']]);
  });

  it('returns blank lines as blank records so row numbers match a spreadsheet', () => {
    const records = parseCsv('h\n\nx\n');
    expect(records.map((record) => [record.row, isBlank(record)])).toEqual([
      [1, false],
      [2, true],
      [3, false],
    ]);
  });

  it('marks text after a closing quote, and goes on', () => {
    const records = parseCsv('a,b\n"x"y,z\nok,1\n');
    expect(records[1]?.error).toBe('field 1 has text after its closing quote');
    expect(records[2]).toEqual({ row: 3, line: 3, fields: ['ok', '1'] });
  });

  it('a quote that never closes spoils its own line only, not the rest of the file', () => {
    const records = parseCsv('a,b\r\n"broken,row\r\nok,1\r\nalso,2\r\n');
    expect(records[1]).toMatchObject({
      row: 2,
      line: 2,
      fields: ['"broken,row'],
      error: 'a quoted field opened on line 2 is never closed',
    });
    expect(records.slice(2).map((record) => [record.row, record.line, record.fields, record.error])).toEqual([
      [3, 3, ['ok', '1'], undefined],
      [4, 4, ['also', '2'], undefined],
    ]);
  });

  it('keeps a quote inside an unquoted field as text, as spreadsheets do', () => {
    expect(fields('5" screen,x\n')).toEqual([['5" screen', 'x']]);
  });

  it('takes another delimiter', () => {
    expect(fields('name;phone\n"Doe; Jane";+1 415\n', ';')).toEqual([
      ['name', 'phone'],
      ['Doe; Jane', '+1 415'],
    ]);
    expect(fields('a\tb\n1\t2', '\t')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(() => parseCsv('x', '"')).toThrow();
  });

  it('reads back what csvField writes, whatever the text (property)', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ',', '"', '\n', '\r', 'é', '1') });
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }), (rows) => {
        // A row that is one empty field is a blank line, which CSV cannot tell from a line end.
        fc.pre(rows.every((row) => !(row.length === 1 && row[0] === '')));
        const text = rows.map((row) => row.map(csvField).join(',')).join('\r\n');
        const parsed = parseCsv(text);
        expect(parsed.map((record) => record.fields)).toEqual(rows);
        expect(parsed.every((record) => record.error === undefined)).toBe(true);
      }),
    );
  });
});
