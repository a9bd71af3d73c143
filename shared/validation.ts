/**
 * How validation errors are told: every error that names a field uses these.
 * (zod itself is imported from ./zod.js, as a namespace, for small bundles.)
 */
import type * as z from './zod.js';

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
