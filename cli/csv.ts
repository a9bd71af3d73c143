/**
 * A small RFC 4180 CSV reader (no CSV package is installed, and the rules
 * fit in one screen): fields separated by the delimiter; a field may be
 * quoted with `"`, and then holds delimiters, line breaks and `""` for a
 * quote; records end with CRLF, LF or CR; a UTF-8 BOM is dropped. A quote
 * inside an unquoted field is kept as text, as spreadsheets do.
 *
 * Malformed records (text after a closing quote, a quote never closed) are
 * returned with `error` rather than thrown, so one bad line never stops a
 * whole file. `row` counts records as a spreadsheet numbers rows (the header
 * is row 1); `line` is where the record starts in the file.
 */
export interface CsvRecord {
  row: number;
  line: number;
  fields: string[];
  error?: string;
}

export function parseCsv(input: string, delimiter = ','): CsvRecord[] {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n')
    throw new Error('the delimiter must be one character other than a quote or a line break');
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  const countLines = (from: number, to: number) => {
    for (let k = from; k < to; k += 1) {
      const c = text[k];
      if (c === '\n' || (c === '\r' && text[k + 1] !== '\n')) line += 1;
    }
  };

  while (i < n) {
    const record: CsvRecord = { row: records.length + 1, line, fields: [] };
    const start = i;
    fields: for (;;) {
      let value = '';
      if (text[i] === '"') {
        const opened = line;
        i += 1;
        for (;;) {
          const close = text.indexOf('"', i);
          if (close === -1) {
            // A stray quote must not swallow the rest of the file: the record is its first line, and reading goes on after it.
            const lineEnd = text.slice(start).search(/\r\n|\n|\r/);
            const end = lineEnd === -1 ? n : start + lineEnd;
            record.fields = [text.slice(start, end)];
            record.error = `a quoted field opened on line ${opened} is never closed`;
            i = end === n ? n : text[end] === '\r' && text[end + 1] === '\n' ? end + 2 : end + 1;
            line = record.line + 1;
            break fields;
          }
          value += text.slice(i, close);
          countLines(i, close);
          if (text[close + 1] === '"') {
            value += '"';
            i = close + 2;
            continue;
          }
          i = close + 1;
          break;
        }
        // After the closing quote only a delimiter or the end of the record may follow.
        if (i < n && text[i] !== delimiter && text[i] !== '\r' && text[i] !== '\n') {
          let end = i;
          while (end < n && text[end] !== delimiter && text[end] !== '\r' && text[end] !== '\n') end += 1;
          record.error ??= `field ${record.fields.length + 1} has text after its closing quote`;
          value += text.slice(i, end);
          i = end;
        }
      } else {
        let end = i;
        while (end < n && text[end] !== delimiter && text[end] !== '\r' && text[end] !== '\n') end += 1;
        value = text.slice(i, end);
        i = end;
      }
      record.fields.push(value);
      if (i < n && text[i] === delimiter) {
        // A delimiter at the very end still opens one last, empty field: the next turn reads it.
        i += 1;
        continue;
      }
      // End of record: CRLF, LF, CR or the end of the text.
      if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
      else if (i < n) i += 1;
      line += 1;
      break;
    }
    records.push(record);
  }
  return records;
}

/** A record that is only an empty line. */
export function isBlank(record: CsvRecord): boolean {
  return record.fields.length === 1 && record.fields[0] === '' && record.error === undefined;
}

/** One CSV field, quoted when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
