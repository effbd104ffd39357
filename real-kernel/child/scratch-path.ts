// Defence in depth behind the case loader's name check (conformance/validate.ts
// checkEntryNames): every path the kernel target builds from a case's name goes through here,
// and a name that would leave its directory is refused before anything touches the disk, also
// for cases that reach the target without the loader (library callers, the fuzzer).
import { dirname, resolve } from 'node:path';
import { nameExpectation, nameProblem } from '../../spec/names.ts';

export class ScratchPathError extends Error {}

/**
 * `dir/name` when `name` is one entry of `dir` (the resolved path's parent is `dir` itself);
 * otherwise a ScratchPathError naming the name and why.
 */
export function entryPath(dir: string, name: string): string {
  const problem = nameProblem(name);
  if (problem) throw new ScratchPathError(`refusing case name ${JSON.stringify(name).slice(0, 80)}: ${problem} (${nameExpectation()})`);
  const root = resolve(dir);
  const path = resolve(root, name);
  if (dirname(path) !== root) throw new ScratchPathError(`refusing case name ${JSON.stringify(name).slice(0, 80)}: it resolves to ${path}, outside ${root}`);
  return path;
}
