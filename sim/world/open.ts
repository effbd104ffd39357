// open(2) of a world file by name by the client, outside FUSE (copyRange's fromFile / toFile):
// the path walk and do_dentry_open checks a host file meets, in the kernel's order.
import type { Errno } from '../../spec/errno.ts';
import type { TargetFault } from '../../spec/observation.ts';
import type { Trace } from '../explain.ts';
import type { KernelState } from '../state.ts';
import type { WFile, WInode } from './vfs.ts';

/**
 * The refusals a write-mode open of a host file meets before ->open succeeds, in do_open's
 * order: the permission check (procfs sysctl test_perm, and kernfs_fop_open alike, both EACCES
 * even for root), mnt_want_write (EROFS), get_write_access (ETXTBSY).
 */
export function writeOpenRefusal(inode: WInode, t: Trace): Errno | null {
  const refuses = inode.mount.sb.refusesWriteOpen;
  if (refuses !== undefined) return t.vfs('EACCES', refuses === 'open' ? 'kernfs_fop_open' : 'proc_sys_permission', `a read-only ${inode.mount.sb.kind} file: no write open, even for root`);
  if (inode.mount.readOnly) return t.vfs('EROFS', 'mnt_want_write', 'the file is on a read-only mount');
  if (inode.denyWrite) return t.vfs('ETXTBSY', 'get_write_access', 'the file denies writers');
  return null;
}

export function openWorldFile(s: KernelState, name: string, access: 'r' | 'w', t: Trace): WFile | Errno | TargetFault {
  const entry = s.backing.files.get(name);
  if (entry === undefined) return { kind: 'setup', message: `no world file named "${name}"` };
  if (entry.unlinked === true) return t.vfs('ENOENT', 'path_openat', `the world file "${name}" was unlinked`);
  const inode = entry.inode.target ?? entry.inode;
  if (inode.type !== 'file') return { kind: 'setup', message: `the world file "${name}" is not a regular file` };
  const refused = access === 'w' ? writeOpenRefusal(inode, t) : null;
  if (refused !== null) return refused;
  return s.vfs.openFile(inode, access, new Set(), 'user');
}
