/**
 * Whether a parsed JSON value nests objects/arrays deeper than `max` levels (a top-level object is
 * level 1). Iterative and stops at the first container past the limit, so a hostile body costs no
 * more than reading it. Schema validation of deeply nested values is slow (seconds) and can
 * overflow the stack, so bodies are checked before they reach it.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Object.values(v as object)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}
