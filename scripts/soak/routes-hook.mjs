/**
 * A module resolution hook (https://nodejs.org/api/module.html#customization-hooks) that hands the functions
 * another route config: every import resolving to `from` (config/routes.json) resolves to `to` instead.
 * Registered by routes-override.ts before the handlers are imported; plain JavaScript, as it runs in the
 * loader's own thread.
 */
let from;
let to;

export function initialize(data) {
  from = data.from;
  to = data.to;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  return resolved.url === from ? { ...resolved, url: to, shortCircuit: true } : resolved;
}
