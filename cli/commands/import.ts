import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ResolvedRoute } from '../../shared/config/routes.js';
import { AUTOMATIC_FIELDS, type ContactField } from '../../shared/sources/form.js';
import { intOption, noExtraPositionals, parse, TARGET_OPTIONS } from '../args.js';
import { loadRoutes, requireRoute, resolveTarget, secretBackend, shown, userPath, type Target } from '../context.js';
import { csvField, isBlank, parseCsv, type CsvRecord } from '../csv.js';
import { CliError, EXIT, plural, print, Progress, table, UsageError, type Io } from '../io.js';
import { runPool } from '../pool.js';
import { describeRefusal, postWebhook, UnreachableError, unreachableHint } from '../post.js';
import { buildWebhook } from '../webhook.js';
import { routeSecret } from './send.js';

/** The contact fields a column can be mapped to, and the form field each one is. */
export const IMPORT_FIELDS = {
  name: 'fullName',
  first_name: 'firstName',
  last_name: 'lastName',
  email: 'email',
  phone: 'phone',
  country: 'country',
  tags: 'tags',
} as const satisfies Record<string, ContactField>;
export type ImportField = keyof typeof IMPORT_FIELDS;
const FIELD_NAMES = Object.keys(IMPORT_FIELDS) as ImportField[];

export const IMPORT_HELP = `Usage: contact-relay import <contacts.csv> --route R [options]

Bulk-import existing contacts through the same pipeline as webhooks: each CSV row
becomes a plain form submission (JSON) posted to {url}/hooks/form/{route}, signed
or with the token as the route's auth says, with the Idempotency-Key
"import:{file hash}:{row}" — running the same file again never creates a contact
twice (rows already imported are answered "duplicate").

Columns: the header row names them. Columns named name, first_name, last_name,
email, phone, country or tags (case, spaces and punctuation ignored: "First Name",
"E-mail") are those fields; --map maps any other column. A route whose "fields"
config renames a field gets it under that name. Other columns are sent as they
are (so the route's fields.attributes can copy them); empty cells are left out.

Bad rows never stop the import: a malformed CSV row, a row with no email or
phone, or an invalid phone (the form route answers 200 "skipped") is written to
the error report (CSV: row,reason) and the import goes on. Rows are numbered as
a spreadsheet numbers them: the header is row 1.

Options:
  --route R           form route in config/routes.json (required)
  --source form       the source rows are posted as (only "form")
  --map COL=FIELD     map CSV column COL to FIELD (${FIELD_NAMES.join(', ')});
                      repeat for more columns, e.g. --map Mobile=phone --map "Full Name=name"
  --checkpoint FILE   progress file (default: <csv>.checkpoint.json): the last row
                      done; running again resumes after it
  --restart           ignore the checkpoint and start from the first row
  --errors FILE       per-row error report (default: <csv>.errors.csv)
  --delimiter C       field separator (default ","; e.g. ";" for some spreadsheet exports)
  --concurrency N     rows in flight at once (default 4, at most 32)
  --url URL           base URL (default for stage local: http://127.0.0.1:$PORT, 3000
                      when unset)
  --stage S           stage (default local: secrets from local/secrets.json or
                      LOCAL_SECRETS_FILE; others: AWS Secrets Manager, and --url is required)
  --region R          AWS region of Secrets Manager (default: AWS_REGION, else
                      AWS_DEFAULT_REGION, else the region serverless.yml deploys to)
  --secrets FILE      read secrets from this JSON file instead
  --config FILE       route config (default: config/routes.json)
  --timeout SECONDS   per request (default 30)
  --json              print the summary as one JSON object
  -h, --help          this help

Exit codes:
  0  the import ran to the end (bad rows are in the error report)
  1  it could not run or stopped: the CSV is missing or has no header, the URL
     cannot be reached, the route refuses (401/404/5xx), the checkpoint belongs
     to another version of the file; run again to resume
  2  usage error: no --route, an unknown field or column in --map
130  interrupted (Ctrl-C): progress is saved; run again to resume
`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  route: { type: 'string' },
  source: { type: 'string' },
  map: { type: 'string', multiple: true },
  checkpoint: { type: 'string' },
  restart: { type: 'boolean' },
  errors: { type: 'string' },
  delimiter: { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const squash = (text: string) => text.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

export interface ColumnPlan {
  /** Column index → the form field name it is sent as, in column order. */
  mapped: Array<{ index: number; column: string; field: ImportField; key: string }>;
  /** Columns sent under their own names. */
  passed: Array<{ index: number; column: string }>;
  /** Columns left out because another column is mapped to the field they are named after. */
  dropped: string[];
}

/** `COL=FIELD` options, checked against the fields. */
export function parseMappings(options: readonly string[] | undefined): Array<{ column: string; field: ImportField }> {
  return (options ?? []).map((option) => {
    const at = option.lastIndexOf('=');
    const column = at > 0 ? option.slice(0, at).trim() : '';
    const field = at > 0 ? option.slice(at + 1).trim() : '';
    if (column === '' || field === '') throw new UsageError(`--map takes COLUMN=FIELD, got "${option}"`, 'import');
    if (!(FIELD_NAMES as string[]).includes(field))
      throw new UsageError(`--map ${option}: unknown field "${field}"; fields: ${FIELD_NAMES.join(', ')}`, 'import');
    return { column, field: field as ImportField };
  });
}

/** Which column goes where: explicit maps first, then columns named after a field, the rest as they are. */
export function planColumns(
  header: readonly string[],
  mappings: ReadonlyArray<{ column: string; field: ImportField }>,
  route: Pick<ResolvedRoute, 'fields'>,
): ColumnPlan {
  const keyOf = (field: ImportField) => route.fields?.[IMPORT_FIELDS[field]]?.[0] ?? field;
  const mapped: ColumnPlan['mapped'] = [];
  const taken = new Set<number>();
  for (const { column, field } of mappings) {
    let index = header.indexOf(column);
    if (index === -1) index = header.findIndex((name) => name.trim().toLowerCase() === column.toLowerCase());
    if (index === -1)
      throw new UsageError(
        `--map ${column}=${field}: the CSV has no column "${column}" (columns: ${header.map((name) => `"${name}"`).join(', ')})`,
        'import',
      );
    mapped.push({ index, column: header[index] as string, field, key: keyOf(field) });
    taken.add(index);
  }
  const explicitFields = new Set(mappings.map((mapping) => mapping.field));
  const passed: ColumnPlan['passed'] = [];
  const dropped: string[] = [];
  header.forEach((column, index) => {
    if (taken.has(index) || column.trim() === '') return;
    const field = FIELD_NAMES.find((name) => squash(name) === squash(column));
    if (field === undefined) passed.push({ index, column });
    else if (explicitFields.has(field)) dropped.push(column);
    else mapped.push({ index, column, field, key: keyOf(field) });
  });
  mapped.sort((a, b) => a.index - b.index);
  return { mapped, passed, dropped };
}

/** Whether any column will give the form an email or a phone, as the form source looks for them. */
export function findsContactDetails(plan: ColumnPlan, route: Pick<ResolvedRoute, 'fields'>): boolean {
  if (plan.mapped.some((column) => column.field === 'email' || column.field === 'phone')) return true;
  return (['email', 'phone'] as const).some((field) => {
    const explicit = route.fields?.[field];
    const names = explicit ?? AUTOMATIC_FIELDS[field];
    return plan.passed.some((column) =>
      explicit ? names.includes(column.column) : names.some((name) => squash(name) === squash(column.column)),
    );
  });
}

/** The form submission a row becomes: mapped fields under their form names, other non-empty cells as they are. */
export function rowBody(record: CsvRecord, plan: ColumnPlan): Record<string, string> {
  const body: Record<string, string> = {};
  for (const { index, column } of plan.passed) {
    const value = record.fields[index]?.trim() ?? '';
    if (value !== '') body[column] = value;
  }
  const fromMapped = new Set<string>();
  for (const { index, key } of plan.mapped) {
    const value = record.fields[index]?.trim() ?? '';
    // Two columns mapped to one field: the first non-empty one wins.
    if (value === '' || fromMapped.has(key)) continue;
    body[key] = value;
    fromMapped.add(key);
  }
  return body;
}

interface Checkpoint {
  version: 1;
  file: string;
  sha256: string;
  route: string;
  /** Every data row up to this one is done (the header is row 1). */
  lastRow: number;
  complete: boolean;
  counts: Counts;
  updatedAt: string;
}

interface Counts {
  accepted: number;
  duplicate: number;
  skipped: number;
  rejected: number;
  malformed: number;
}

const zero = (): Counts => ({ accepted: 0, duplicate: 0, skipped: 0, rejected: 0, malformed: 0 });

function readCheckpoint(io: Io, file: string): Checkpoint | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
    if (value.version !== 1 || typeof value.sha256 !== 'string' || typeof value.lastRow !== 'number')
      throw new Error('not a contact-relay import checkpoint');
    return { ...value, counts: { ...zero(), ...value.counts } };
  } catch (error) {
    throw new CliError(
      `cannot read checkpoint ${shown(io, file)}: ${(error as Error).message}; delete it or pass --restart`,
    );
  }
}

/** Rows finish out of order when several are in flight: the report is put back in row order at the end. */
function sortReport(file: string): void {
  const records = parseCsv(readFileSync(file, 'utf8'))
    .slice(1)
    .filter((record) => !isBlank(record));
  records.sort((a, b) => Number(a.fields[0]) - Number(b.fields[0]));
  writeAtomically(
    file,
    `row,reason\n${records.map((record) => `${record.fields[0]},${csvField(record.fields[1] ?? '')}\n`).join('')}`,
  );
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

export async function importContacts(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('import', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(IMPORT_HELP);
    return EXIT.ok;
  }
  const settings = readSettings(values, positionals, io);
  const csv = readAndPlan(io, settings);
  const resume = resumePoint(io, settings, csv);
  const errors = openErrorReport(resume);
  const checkpoint = checkpointKeeper(io, settings, csv, resume);
  const sent = await sendRows(io, settings, csv, resume, errors, checkpoint);
  return report(io, settings, csv, resume, sent, errors.rows(), checkpoint.lastRow());
}

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

/** The command line, checked: what to import, through which route, to where. */
interface Settings {
  values: Values;
  csvArg: string;
  separator: string;
  mappings: Array<{ column: string; field: ImportField }>;
  concurrency: number;
  timeoutMs: number;
  target: Target;
  route: ResolvedRoute;
}

function readSettings(values: Values, positionals: string[], io: Io): Settings {
  const csvArg = positionals[0];
  if (csvArg === undefined) throw new UsageError('give the contacts CSV file', 'import');
  noExtraPositionals(positionals, 1, 'import');
  if (values.route === undefined)
    throw new UsageError(
      '--route is required: the form route the contacts go through (see config/routes.json)',
      'import',
    );
  if (values.source !== undefined && values.source !== 'form')
    throw new UsageError(
      `--source: rows are imported as plain form submissions; only "form" is supported, got "${values.source}"`,
      'import',
    );
  const delimiter = values.delimiter ?? ',';
  const separator = delimiter === '\\t' || delimiter === 'tab' ? '\t' : delimiter;
  if ([...separator].length !== 1 || separator === '"' || separator === '\n' || separator === '\r')
    throw new UsageError('--delimiter must be one character (e.g. ";" or tab), not a quote', 'import');
  const mappings = parseMappings(values.map);
  const concurrency = intOption(values.concurrency, 'concurrency', 4, 1, 32, 'import');
  const timeoutMs = intOption(values.timeout, 'timeout', 30, 1, 600, 'import') * 1000;
  const target = resolveTarget(values, 'import', io.env);
  const routes = loadRoutes(io, values.config);
  const route = requireRoute(routes, 'form', values.route, 'import');
  return { values, csvArg, separator, mappings, concurrency, timeoutMs, target, route };
}

/** The CSV as read: its hash (the checkpoint's and the idempotency keys'), its records and where each column goes. */
interface PlannedCsv {
  sha256: string;
  records: CsvRecord[];
  header: CsvRecord;
  plan: ColumnPlan;
}

function readAndPlan(io: Io, { csvArg, separator, mappings, route }: Settings): PlannedCsv {
  const csvPath = userPath(io, csvArg);
  let bytes: Buffer;
  try {
    bytes = readFileSync(csvPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT'
        ? `CSV file ${csvArg} does not exist`
        : `cannot read CSV file ${csvArg}: ${(error as Error).message}`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const records = parseCsv(bytes.toString('utf8'), separator);
  const header = records[0];
  if (header === undefined || isBlank(header))
    throw new CliError(`${csvArg} is empty: the first row must name the columns (e.g. name,email,phone)`);
  if (header.error !== undefined) throw new CliError(`${csvArg}: the header row is malformed: ${header.error}`);
  const plan = planColumns(header.fields, mappings, route);
  if (!findsContactDetails(plan, route)) {
    throw new UsageError(
      `no column of ${csvArg} gives an email or a phone (columns: ${header.fields.map((name) => `"${name}"`).join(', ')}); map one with --map <column>=email or --map <column>=phone`,
      'import',
    );
  }
  return { sha256, records, header, plan };
}

/** Where this run starts: after the checkpoint's last row when it is of this file and route, else at the first row. */
interface Resume {
  checkpointPath: string;
  errorsPath: string;
  previous: Checkpoint | undefined;
  resumeAfter: number;
  /** The data rows still to send, blank ones left out. */
  rows: CsvRecord[];
  lastDataRow: number;
}

function resumePoint(io: Io, { values, csvArg, route }: Settings, { sha256, records }: PlannedCsv): Resume {
  const checkpointPath = userPath(io, values.checkpoint ?? `${csvArg}.checkpoint.json`);
  const errorsPath = userPath(io, values.errors ?? `${csvArg}.errors.csv`);
  const previous = values.restart ? undefined : readCheckpoint(io, checkpointPath);
  if (previous !== undefined && previous.sha256 !== sha256) {
    throw new CliError(
      `checkpoint ${shown(io, checkpointPath)} was written for another version of ${csvArg} (its content changed since); pass --restart to import it from its first row, or --checkpoint with another file`,
    );
  }
  if (previous !== undefined && previous.route !== route.name) {
    throw new CliError(
      `checkpoint ${shown(io, checkpointPath)} is of an import through route "${previous.route}", not "${route.name}"; pass another --checkpoint or --restart`,
    );
  }
  const resumeAfter = previous?.lastRow ?? 1;
  const rows = records
    .slice(1)
    .filter(
      (record) =>
        record.row > resumeAfter &&
        !isBlank(record) &&
        !(record.error === undefined && record.fields.every((field) => field.trim() === '')),
    );
  const lastDataRow = records.at(-1)?.row ?? 1;
  return { checkpointPath, errorsPath, previous, resumeAfter, rows, lastDataRow };
}

interface ErrorReport {
  add(row: number, reason: string): void;
  /** Rows reported in this run. */
  rows(): number;
}

/** The error report: a fresh one for a fresh import; appended to (without repeating rows) when resuming. */
function openErrorReport({ errorsPath, previous }: Resume): ErrorReport {
  const reported = new Set<number>();
  if (previous !== undefined && existsSync(errorsPath)) {
    for (const record of parseCsv(readFileSync(errorsPath, 'utf8')).slice(1)) reported.add(Number(record.fields[0]));
  } else {
    writeFileSync(errorsPath, 'row,reason\n');
  }
  let errorRows = 0;
  return {
    add(row, reason) {
      errorRows += 1;
      if (reported.has(row)) return;
      reported.add(row);
      appendFileSync(errorsPath, `${row},${csvField(reason)}\n`);
    },
    rows: () => errorRows,
  };
}

interface CheckpointKeeper {
  /** The counts over every run of this file, this one included. */
  total: Counts;
  /** The row at `index` of the rows to send is done. */
  done(index: number): void;
  /** Write the checkpoint (at most every 250 ms unless forced). */
  save(force?: boolean): void;
  /** Every data row up to this one is done. */
  lastRow(): number;
}

/** Rows finish out of order: the checkpoint's last row is the end of the unbroken run of rows done. */
function checkpointKeeper(
  io: Io,
  { csvArg, route }: Settings,
  { sha256 }: PlannedCsv,
  { checkpointPath, previous, resumeAfter, rows, lastDataRow }: Resume,
): CheckpointKeeper {
  const total = { ...(previous?.counts ?? zero()) };
  const done = new Set<number>();
  let frontier = 0;
  let lastRow = resumeAfter;
  let savedAt = 0;
  return {
    total,
    done: (index) => done.add(index),
    save(force = false) {
      while (frontier < rows.length && done.has(frontier)) {
        lastRow = (rows[frontier] as CsvRecord).row;
        frontier += 1;
      }
      if (!force && Date.now() - savedAt < 250) return;
      savedAt = Date.now();
      const complete = frontier === rows.length;
      const checkpoint: Checkpoint = {
        version: 1,
        file: csvArg,
        sha256,
        route: route.name,
        lastRow: complete ? Math.max(lastRow, lastDataRow) : lastRow,
        complete,
        counts: total,
        updatedAt: io.now().toISOString(),
      };
      writeAtomically(checkpointPath, `${JSON.stringify(checkpoint, null, 2)}\n`);
    },
    lastRow: () => lastRow,
  };
}

interface Sent {
  /** This run's counts. */
  counts: Counts;
  /** Why the import stopped, when every further row would fail alike. */
  fatal: string | undefined;
}

/** Each row posted as a signed form submission, `concurrency` at a time, until the end, a fatal answer or Ctrl-C. */
async function sendRows(
  io: Io,
  { values, concurrency, timeoutMs, target, route }: Settings,
  { sha256, header, plan }: PlannedCsv,
  { rows, errorsPath }: Resume,
  errors: ErrorReport,
  checkpoint: CheckpointKeeper,
): Promise<Sent> {
  const counts = zero();
  const idempotencyPrefix = `import:${sha256.slice(0, 32)}`;
  const backend = secretBackend(io, target.stage, { secrets: values.secrets, region: values.region }, 'import');
  const progress = new Progress(io.stderr, 'import');
  let fatal: string | undefined;
  let finished = 0;
  try {
    const { secret, secretName } = await routeSecret(backend, route, target.stage);
    const count = (key: keyof Counts) => {
      counts[key] += 1;
      checkpoint.total[key] += 1;
    };
    await runPool(
      rows,
      concurrency,
      async (record, index) => {
        if (record.error !== undefined || record.fields.length !== header.fields.length) {
          count('malformed');
          errors.add(
            record.row,
            `malformed CSV row: ${record.error ?? `it has ${plural(record.fields.length, 'field')}, the header has ${header.fields.length}`}`,
          );
        } else {
          const payload = Buffer.from(JSON.stringify(rowBody(record, plan)), 'utf8');
          const sign = () =>
            buildWebhook({
              route,
              payload,
              eventId: `${idempotencyPrefix}:${record.row}`,
              secret,
              secretName,
              now: io.now(),
            });
          let answer: Awaited<ReturnType<typeof postWebhook>>;
          try {
            answer = await postWebhook(target.baseUrl, sign(), {
              timeoutMs,
              retries: 2,
              resign: sign,
              unreachableHint: unreachableHint(target),
            });
          } catch (error) {
            if (!(error instanceof UnreachableError)) throw error;
            fatal ??= error.message;
            return;
          }
          if (answer.outcome === 'accepted' || answer.outcome === 'duplicate') count(answer.outcome);
          else if (answer.outcome === 'skipped' || answer.outcome === 'ignored') {
            count('skipped');
            errors.add(record.row, answer.reason ?? 'skipped');
          } else if (answer.httpStatus === 400 || answer.httpStatus === 413) {
            // The row's content was refused: a bad row, not a broken import.
            count('rejected');
            errors.add(record.row, describeRefusal(answer));
          } else {
            // 401, 404, 415, 5xx: every row would get the same; stop and keep the checkpoint.
            fatal ??= `row ${record.row}: the route refused the import: ${describeRefusal(answer)}`;
            return;
          }
        }
        checkpoint.done(index);
        finished += 1;
        checkpoint.save();
        progress.update(
          finished,
          rows.length,
          `accepted ${counts.accepted}, duplicate ${counts.duplicate}, errors ${counts.skipped + counts.rejected + counts.malformed}`,
        );
      },
      () => fatal !== undefined || io.signal?.aborted === true,
    );
  } finally {
    progress.end();
    backend.close();
    if (finished > 0 || rows.length === 0) checkpoint.save(true);
    if (errors.rows() > 0) sortReport(errorsPath);
  }
  return { counts, fatal };
}

/** The summary (text or JSON), and the exit code: failed when stopped, interrupted on Ctrl-C. */
function report(
  io: Io,
  { values, csvArg, target, route }: Settings,
  { plan }: PlannedCsv,
  { checkpointPath, errorsPath, previous, resumeAfter, rows }: Resume,
  { counts, fatal }: Sent,
  errorRows: number,
  lastRow: number,
): number {
  const interrupted = fatal === undefined && io.signal?.aborted === true;
  const firstRow = rows[0]?.row;
  if (values.json) {
    print(
      io.stdout,
      JSON.stringify({
        file: csvArg,
        route: route.name,
        url: target.baseUrl,
        rows: rows.length,
        ...(previous !== undefined ? { resumedAfterRow: resumeAfter } : {}),
        counts,
        errors: shown(io, errorsPath),
        errorRows,
        checkpoint: shown(io, checkpointPath),
        lastRow,
        ...(fatal ? { error: fatal } : {}),
        ...(interrupted ? { interrupted: true } : {}),
      }),
    );
  } else {
    print(io.stdout, `import ${csvArg} → form/${route.name} at ${target.baseUrl} (stage ${target.stage})`);
    const columns = [
      ...plan.mapped.map((column) => `${column.column} → ${column.key}`),
      ...plan.passed.map((column) => `${column.column} (as is)`),
    ];
    print(
      io.stdout,
      `  columns: ${columns.join(', ')}${plan.dropped.length > 0 ? `; left out: ${plan.dropped.join(', ')}` : ''}`,
    );
    if (rows.length === 0) {
      print(
        io.stdout,
        previous !== undefined
          ? `  nothing to do: every row up to row ${resumeAfter} was imported before (checkpoint ${shown(io, checkpointPath)}; --restart sends them again, answered duplicate)`
          : '  no data rows',
      );
    } else {
      print(
        io.stdout,
        `  ${plural(rows.length, 'row')} (rows ${firstRow}–${rows.at(-1)?.row})${previous !== undefined ? `, resumed after row ${resumeAfter}` : ''}`,
      );
      print(
        io.stdout,
        table([
          ['accepted', String(counts.accepted), 'new contacts queued for delivery'],
          ['duplicate', String(counts.duplicate), 'imported before'],
          ['skipped', String(counts.skipped), 'no usable email or phone'],
          ['rejected', String(counts.rejected), 'refused by the route'],
          ['malformed', String(counts.malformed), 'not a valid CSV row'],
        ]),
      );
    }
    if (errorRows > 0) print(io.stdout, `errors: ${plural(errorRows, 'row')} → ${shown(io, errorsPath)}`);
    print(io.stdout, `checkpoint: ${shown(io, checkpointPath)} (last row done: ${lastRow})`);
  }
  if (fatal !== undefined) {
    print(io.stderr, `contact-relay import: ${fatal}`);
    print(io.stderr, `stopped after row ${lastRow}; fix the cause and run the same command again to resume`);
    return EXIT.failed;
  }
  if (interrupted) {
    print(io.stderr, `contact-relay import: interrupted after row ${lastRow}; run the same command again to resume`);
    return EXIT.interrupted;
  }
  return EXIT.ok;
}
