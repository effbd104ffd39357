// Can the kernel target run here? One-line reasons, checked cheaply first (root, /dev/fuse,
// unshare), then for real: whether the kernel offers passthrough in INIT (probed by the target).
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

export function staticUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: mounting FUSE and registering backing files need CAP_SYS_ADMIN';
  try {
    fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    return 'no usable /dev/fuse';
  }
  try {
    execFileSync('unshare', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'util-linux unshare not found';
  }
  return null;
}
