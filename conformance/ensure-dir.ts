import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * mkdir -p, one level at a time: Node 20's mkdirSync(..., { recursive: true }) spins forever
 * under /proc (`--json /proc/x/r.json` hung the CLI); this throws ENOENT there instead.
 * Used by every writer of user-chosen paths (reports, fuzz counterexamples).
 */
export function ensureDir(dir: string): void {
  if (existsSync(dir)) return;
  ensureDir(dirname(dir));
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}
