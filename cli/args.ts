/**
 * Command-line parsing with `node:util` parseArgs: strict (an unknown option
 * is a usage error, exit 2), positionals allowed, `-h/--help` everywhere.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { SOURCES, type SourceName } from '../shared/contact.js';
import { UsageError } from './io.js';

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Options several commands share. */
export const TARGET_OPTIONS = {
  url: { type: 'string' },
  stage: { type: 'string' },
  region: { type: 'string' },
  secrets: { type: 'string' },
  config: { type: 'string' },
} as const;

export function parse<T extends ParseArgsOptionsConfig>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, ...HELP_OPTION }, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs says e.g. "Unknown option '--nope'"; the help pointer is added by main.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''), command);
  }
}

export function isSource(value: string): value is SourceName {
  return (SOURCES as readonly string[]).includes(value);
}

export function requireSource(value: string | undefined, command: string): SourceName {
  if (value === undefined) throw new UsageError(`name a source: ${SOURCES.join(', ')}`, command);
  if (!isSource(value)) throw new UsageError(`unknown source "${value}"; sources: ${SOURCES.join(', ')}`, command);
  return value;
}

/** A whole number option within bounds; usage error otherwise. */
export function intOption(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
  command: string,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`, command);
  }
  return number;
}

export function noExtraPositionals(positionals: string[], expected: number, command: string): void {
  if (positionals.length > expected) throw new UsageError(`unexpected argument "${positionals[expected]}"`, command);
}
