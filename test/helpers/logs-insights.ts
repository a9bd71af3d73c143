/**
 * The saved Logs Insights queries of infra/monitoring.yml run over JSON log
 * lines, as CloudWatch Logs Insights runs them over a log group's events, so
 * a test can check what each query answers for lines the real functions wrote.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
 *
 * Only the subset these queries use is understood:
 * - `filter a = "x" and b in ["y", "z"]` (equality with a string or number, set membership, `and`);
 * - `fields a, @timestamp, @message, concat(a, " ", b) as c, coalesce(a, "none") as d`;
 * - `stats count(*) [as n] by a, bin(5m)`;
 * - `sort a [asc|desc]`, `limit n`.
 * Anything else throws, so a new command or function is taught here before a test trusts it.
 *
 * A field is a top-level key of the JSON line (Logs Insights discovers JSON keys as fields:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html);
 * `@timestamp` is read from the line's `timestamp` (Powertools writes the event's time there) and
 * `@message` is the whole line.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface SavedQuery {
  id: string;
  name: string;
  /** Logical ids of the log groups it reads. */
  logGroups: string[];
  query: string;
}

type Line = Record<string, unknown>;
export type Row = Record<string, unknown>;

/** Every AWS::Logs::QueryDefinition of infra/monitoring.yml, with `${sls:stage}` as `stage`. */
export function savedQueries(stage: string): SavedQuery[] {
  const file = new URL('../../infra/monitoring.yml', import.meta.url);
  const text = readFileSync(file, 'utf8').replaceAll('${sls:stage}', stage);
  const template = parse(text) as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Logs::QueryDefinition')
    .map(([id, { Properties: properties }]) => ({
      id,
      name: properties['Name'] as string,
      logGroups: (properties['LogGroupNames'] as Array<{ Ref: string }>).map((group) => group.Ref),
      query: properties['QueryString'] as string,
    }));
}

// ---------------------------------------------------------------- tokens

type Token =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'duration'; ms: number; text: string }
  | { kind: 'word'; value: string }
  | { kind: 'punct'; value: string };

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:"((?:[^"\\]|\\.)*)"|(\d+)([smhd])\b|(\d+(?:\.\d+)?)|(@?[A-Za-z_][\w.]*)|(!=|[=(),[\]*|]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (match === null) throw new Error(`cannot read the query at "${text.slice(at, at + 20)}"`);
    at = pattern.lastIndex;
    const [, quoted, amount, unit, number, word, punct] = match;
    if (quoted !== undefined) tokens.push({ kind: 'string', value: quoted.replace(/\\(.)/g, '$1') });
    else if (amount !== undefined && unit !== undefined)
      tokens.push({ kind: 'duration', ms: Number(amount) * UNIT_MS[unit]!, text: `${amount}${unit}` });
    else if (number !== undefined) tokens.push({ kind: 'number', value: Number(number) });
    else if (word !== undefined) tokens.push({ kind: 'word', value: word });
    else tokens.push({ kind: 'punct', value: punct! });
  }
  return tokens;
}

class Reader {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.at];
  }
  next(): Token {
    const token = this.tokens[this.at++];
    if (token === undefined) throw new Error('the query ends too soon');
    return token;
  }
  isWord(value: string): boolean {
    const token = this.peek();
    return token?.kind === 'word' && token.value === value;
  }
  isPunct(value: string): boolean {
    const token = this.peek();
    return token?.kind === 'punct' && token.value === value;
  }
  punct(value: string): void {
    const token = this.next();
    if (token.kind !== 'punct' || token.value !== value) throw new Error(`expected "${value}", got ${describe(token)}`);
  }
  word(): string {
    const token = this.next();
    if (token.kind !== 'word') throw new Error(`expected a name, got ${describe(token)}`);
    return token.value;
  }
  done(): boolean {
    return this.at >= this.tokens.length;
  }
}

const describe = (token: Token) => JSON.stringify('value' in token ? token.value : token.text);

// ---------------------------------------------------------------- expressions

type Expression =
  | { kind: 'field'; name: string }
  | { kind: 'literal'; value: string | number }
  | { kind: 'call'; fn: 'concat' | 'coalesce'; args: Expression[] };

function field(row: Row, name: string): unknown {
  return row[name];
}

function evaluate(expression: Expression, row: Row): unknown {
  switch (expression.kind) {
    case 'field':
      return field(row, expression.name);
    case 'literal':
      return expression.value;
    case 'call': {
      const values = expression.args.map((arg) => evaluate(arg, row));
      if (expression.fn === 'coalesce') return values.find((value) => value !== undefined && value !== null);
      return values.map((value) => (value === undefined || value === null ? '' : String(value))).join('');
    }
  }
}

function readExpression(reader: Reader): Expression {
  const token = reader.next();
  if (token.kind === 'string' || token.kind === 'number') return { kind: 'literal', value: token.value };
  if (token.kind !== 'word') throw new Error(`expected a field, a literal or a function, got ${describe(token)}`);
  if (!reader.isPunct('(')) return { kind: 'field', name: token.value };
  if (token.value !== 'concat' && token.value !== 'coalesce') throw new Error(`unsupported function ${token.value}`);
  reader.punct('(');
  const args = [readExpression(reader)];
  while (reader.isPunct(',')) {
    reader.punct(',');
    args.push(readExpression(reader));
  }
  reader.punct(')');
  return { kind: 'call', fn: token.value, args };
}

function readLiteral(reader: Reader): string | number {
  const token = reader.next();
  if (token.kind !== 'string' && token.kind !== 'number') throw new Error(`expected a literal, got ${describe(token)}`);
  return token.value;
}

// ---------------------------------------------------------------- commands

/** `shows`: the columns the results list when no stats comes after (those a `fields` names). */
type Command = ((rows: Row[]) => Row[]) & { shows?: string[] };

function filterCommand(reader: Reader): Command {
  const tests: Array<(row: Row) => boolean> = [];
  do {
    if (tests.length > 0) reader.word();
    const name = reader.word();
    if (reader.isWord('in')) {
      reader.word();
      reader.punct('[');
      const set = [readLiteral(reader)];
      while (reader.isPunct(',')) {
        reader.punct(',');
        set.push(readLiteral(reader));
      }
      reader.punct(']');
      tests.push((row) => set.includes(field(row, name) as string | number));
    } else {
      reader.punct('=');
      const value = readLiteral(reader);
      tests.push((row) => field(row, name) === value);
    }
  } while (reader.isWord('and'));
  return (rows) => rows.filter((row) => tests.every((test) => test(row)));
}

function fieldsCommand(reader: Reader): Command {
  const items: Array<{ name: string; expression: Expression }> = [];
  do {
    if (items.length > 0) reader.punct(',');
    const expression = readExpression(reader);
    if (reader.isWord('as')) {
      reader.word();
      items.push({ name: reader.word(), expression });
    } else if (expression.kind === 'field') items.push({ name: expression.name, expression });
    else throw new Error('a computed field needs "as <name>"');
  } while (reader.isPunct(','));
  // The fields named join the event; the others stay readable by the commands after, but are not listed.
  const command: Command = (rows) =>
    rows.map((row) => ({
      ...row,
      ...Object.fromEntries(items.map(({ name, expression }) => [name, evaluate(expression, row)])),
    }));
  command.shows = items.map((item) => item.name);
  return command;
}

function statsCommand(reader: Reader): Command {
  if (reader.word() !== 'count') throw new Error('only count(*) is supported in stats');
  reader.punct('(');
  reader.punct('*');
  reader.punct(')');
  let counted = 'count(*)';
  if (reader.isWord('as')) {
    reader.word();
    counted = reader.word();
  }
  const groups: Array<{ name: string; value: (row: Row) => unknown }> = [];
  if (reader.isWord('by')) {
    reader.word();
    do {
      if (groups.length > 0) reader.punct(',');
      const name = reader.word();
      if (name === 'bin') {
        reader.punct('(');
        const period = reader.next();
        if (period.kind !== 'duration') throw new Error(`bin() takes a period such as 5m, got ${describe(period)}`);
        reader.punct(')');
        const floor = (row: Row) => new Date(Math.floor(Number(row['@timestamp']) / period.ms) * period.ms);
        groups.push({ name: `bin(${period.text})`, value: (row) => floor(row).toISOString() });
      } else groups.push({ name, value: (row) => field(row, name) });
    } while (reader.isPunct(','));
  }
  const command: Command = (rows) => {
    const counts = new Map<string, Row>();
    for (const row of rows) {
      const values = groups.map((group) => [group.name, group.value(row)] as const);
      const key = JSON.stringify(values);
      const found = counts.get(key) ?? { ...Object.fromEntries(values), [counted]: 0 };
      found[counted] = (found[counted] as number) + 1;
      counts.set(key, found);
    }
    return [...counts.values()];
  };
  // Its rows are its groups and its count, nothing else.
  command.shows = [...groups.map((group) => group.name), counted];
  return command;
}

function sortCommand(reader: Reader): Command {
  const name = reader.word();
  let direction = 1;
  if (reader.isWord('desc') || reader.isWord('asc')) direction = reader.word() === 'desc' ? -1 : 1;
  const compare = (a: unknown, b: unknown) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return (rows) => [...rows].sort((a, b) => direction * compare(field(a, name), field(b, name)));
}

function limitCommand(reader: Reader): Command {
  const token = reader.next();
  if (token.kind !== 'number') throw new Error(`limit takes a number, got ${describe(token)}`);
  return (rows) => rows.slice(0, token.value);
}

const COMMANDS: Record<string, (reader: Reader) => Command> = {
  filter: filterCommand,
  fields: fieldsCommand,
  stats: statsCommand,
  sort: sortCommand,
  limit: limitCommand,
};

/** Splits a query into its commands at the `|` outside quotes. */
function commands(query: string): Token[][] {
  const parts: Token[][] = [[]];
  for (const token of tokenize(query)) {
    if (token.kind === 'punct' && token.value === '|') parts.push([]);
    else parts.at(-1)!.push(token);
  }
  return parts.filter((part) => part.length > 0);
}

/** The rows `query` answers for these log lines, as Logs Insights would list them. */
export function runQuery(query: string, lines: Line[]): Row[] {
  let rows: Row[] = lines.map((line) => ({
    ...line,
    '@timestamp': Date.parse(String(line['timestamp'])),
    '@message': JSON.stringify(line),
  }));
  let shown: string[] | undefined;
  for (const tokens of commands(query)) {
    const reader = new Reader(tokens);
    const name = reader.word();
    const command = COMMANDS[name];
    if (command === undefined) throw new Error(`unsupported command ${name}`);
    const run = command(reader);
    if (!reader.done()) throw new Error(`unread text after ${name}: ${describe(reader.peek()!)}`);
    rows = run(rows);
    shown = run.shows ?? shown;
  }
  // A query with neither fields nor stats: the lines whole (none of the saved queries is one).
  if (shown === undefined) return rows;
  const columns = shown;
  return rows.map((row) => Object.fromEntries(columns.map((column) => [column, row[column]])));
}
