// Names in a case are names, never paths (DESIGN.md "Real-kernel work"). World file names and
// FUSE node names become one directory entry each, on the kernel target inside the case's
// scratch area; this is the one rule both the case loader and the kernel target enforce.

/** Linux NAME_MAX: the longest directory entry name, in bytes. */
export const NAME_MAX = 255;
/**
 * World files get sibling entries derived from their name on the kernel target (`<name>.target`
 * for a symlink's target, `fusePt2-<name>` for an inner passthrough copy), so their names leave
 * room for the longest such affix.
 */
export const WORLD_FILE_NAME_MAX = NAME_MAX - 'fusePt2-'.length;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `name` cannot be one directory entry, or undefined when it can. */
export function nameProblem(name: string, maxBytes: number = NAME_MAX): string | undefined {
  if (name === '') return 'the name is empty';
  if (name === '.' || name === '..') return `"${name}" names a directory, not an entry`;
  if (name.includes('/')) return 'the name contains "/" (a name is one directory entry, never a path)';
  if (name.includes('\0')) return 'the name contains a NUL byte';
  if (LONE_SURROGATE.test(name)) return 'the name contains a lone UTF-16 surrogate (it has no UTF-8 spelling)';
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > maxBytes) return `the name is ${bytes} bytes long in UTF-8 (at most ${maxBytes})`;
  return undefined;
}

/** The expectation every name message ends with. */
export function nameExpectation(maxBytes: number = NAME_MAX): string {
  return `expected a file name: 1 to ${maxBytes} bytes of UTF-8, no "/" or NUL, not "." or ".."`;
}
