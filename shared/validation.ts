/**
 * zod/mini keeps bundles small (~14 KB against ~83 KB for classic zod); the
 * English locale gives issues readable messages instead of "Invalid input".
 * Every module that validates imports `z` from here so the locale is set once.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

export { z };

/** `a.b[0].c` — the path notation used in every error that names a field. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One line per issue: `field: message`. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; ');
}
