/**
 * How deep a request body may nest. Bodies are walked recursively after validation (bounding long
 * strings, storing, serializing the answer), so a body of `[[[[...]]]]` thousands deep, which
 * fits easily in the size limit, would overflow the stack there. No input of the contract comes
 * near this depth.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The path to the first value nested deeper than `max` levels (the root is level 1), or undefined.
 * Iterative, so that it is itself safe on any depth.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): string[] | undefined {
  const stack: Array<{ value: unknown; path: string[] }> = [{ value, path: [] }];
  while (stack.length) {
    const { value: node, path } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (path.length >= max) return path;
    for (const [key, child] of Object.entries(node)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}
