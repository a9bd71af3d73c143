/**
 * The soak is a plain process: the functions read config/routes.json through a static JSON import
 * (shared/runtime.ts), which no option reaches. To run them with another route config (burst mode's account
 * rates), the config is written to a temporary file and a resolution hook points every import of
 * config/routes.json at it. It must be in place before the handlers are first imported.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROUTES_FILE = new URL('../../config/routes.json', import.meta.url).href;

/** Every later import of config/routes.json gets `routes`; returns the cleanup of the temporary file. */
export function overrideRoutesFile(routes: unknown): () => void {
  const directory = mkdtempSync(join(tmpdir(), 'contact-relay-soak-'));
  const file = join(directory, 'routes.json');
  writeFileSync(file, `${JSON.stringify(routes, null, 2)}\n`);
  register(new URL('./routes-hook.mjs', import.meta.url), {
    data: { from: ROUTES_FILE, to: pathToFileURL(file).href },
  });
  return () => rmSync(directory, { recursive: true, force: true });
}
