/** Looking inside payloads and what comes out of them. */
/** Every string and number in a JSON-like value, depth first (object keys excluded). */
export function leaves(value: unknown): Array<string | number> {
  const found: Array<string | number> = [];
  const walk = (node: unknown) => {
    if (typeof node === 'string' || typeof node === 'number') found.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object' && node !== null) Object.values(node).forEach(walk);
  };
  walk(value);
  return found;
}

export const E164 = /^\+[1-9]\d{1,14}$/;
