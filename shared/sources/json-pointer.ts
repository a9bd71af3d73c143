/**
 * JSON Pointer (RFC 6901, https://www.rfc-editor.org/rfc/rfc6901): `""` is the
 * whole document, `/a/0/b~1c` the member `b/c` of the first item of `a`.
 * Reads own properties only: a pointer such as `/__proto__` or `/constructor`
 * names a member the sender wrote, never something every object inherits.
 */

/** The reference tokens of a pointer, unescaped: `~1` is `/`, then `~0` is `~` (in that order, as RFC 6901 §4 says). */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new InvalidPointerError(pointer, 'it must be "" or start with "/"');
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) {
        throw new InvalidPointerError(pointer, '"~" must be written "~0" and "/" inside a name "~1"');
      }
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** An array index token: `0`, or digits without a leading zero (RFC 6901 §4); `-` names no existing item. */
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * The value `pointer` names in `document`, or undefined when it names nothing
 * (a missing member, an index past the end, a step into a string or number).
 */
export function readPointer(document: unknown, pointer: string): unknown {
  let current: unknown = document;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      const index = Number(token);
      if (index >= current.length) return undefined;
      current = current[index];
    } else if (typeof current === 'object' && current !== null) {
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}

/** A string that is not a JSON pointer; the route schema refuses these at load, so only code passes one. */
export class InvalidPointerError extends Error {
  override name = 'InvalidPointerError';
  constructor(
    readonly pointer: string,
    reason: string,
  ) {
    super(`"${pointer}" is not a JSON pointer: ${reason}`);
  }
}

/** The pointer naming `tokens`, escaped: the inverse of pointerTokens. */
export function pointerOf(tokens: readonly string[]): string {
  return tokens.map((token) => `/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
