/**
 * What every subcommand shares: where it writes, how it fails, and the exit
 * codes scripts can rely on.
 *
 *   0  done
 *   1  what was asked failed (a webhook refused, a file missing, a host unreachable, a ✗ in doctor)
 *   2  usage error (unknown command, source or option; a missing argument)
 * 130  interrupted (Ctrl-C); `import` can be run again to resume
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  /** Where relative paths given on the command line are resolved. */
  cwd: string;
  now: () => Date;
  /** Aborted on Ctrl-C: long commands stop dispatching work, save their progress and exit 130. */
  signal?: AbortSignal;
}

/** The command line is wrong: exit 2, with a pointer to the help. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** What was asked could not be done: exit 1. The message says what and, where possible, how to fix it. */
export class CliError extends Error {
  override name = 'CliError';
}

export function print(stream: OutStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Plain-text table: columns padded to the widest cell. */
export function table(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows)
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, [...cell].length);
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, index) =>
            index === row.length - 1 ? cell : cell + ' '.repeat((widths[index] ?? 0) - [...cell].length),
          )
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/**
 * A one-line progress bar on a terminal (`\r`, redrawn at most every 100 ms);
 * silent when the stream is not a TTY, so logs and pipes get only the summary.
 */
export class Progress {
  readonly #stream: OutStream;
  readonly #label: string;
  readonly #enabled: boolean;
  #last = 0;
  #drawn = false;

  constructor(stream: OutStream, label: string) {
    this.#stream = stream;
    this.#label = label;
    this.#enabled = stream.isTTY === true;
  }

  update(done: number, total: number, detail = '', force = false): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (!force && now - this.#last < 100 && done < total) return;
    this.#last = now;
    const width = 20;
    const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    let line = `${this.#label} ${bar} ${done}/${total}${detail ? `  ${detail}` : ''}`;
    const columns = this.#stream.columns ?? 100;
    if (line.length > columns - 1) line = line.slice(0, columns - 1);
    this.#stream.write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  /** Clear the line so the summary starts on a clean one. */
  end(): void {
    if (this.#enabled && this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}

/** A count with its noun: `1 row`, `3 rows`. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
