// fs/fuse/dir.c and xattr.c: lookup, attributes (fuse_update_get_attr, IO-16, IO-18, IO-24..26,
// OBS-12), setattr with a size (IO-15) and xattrs (IO-23).
import { mountpointUncovered } from './mountpoint.ts';
import { fsnotifyModify } from './fsnotify.ts';
import type { Errno } from '../spec/errno.ts';
import { replyErrno, type FuseAttr } from './daemon-port.ts';
import { Trace } from './explain.ts';
import { err, ok, type Outcome } from './outcome.ts';
import type { KernelState } from './state.ts';
import type { FuseInode, FuseOpenFile } from './types.ts';
import { clientGate } from './file.ts';
import { PAGE_SIZE, fuseFlushTimeUpdate, invalidateInodePages2 } from './pagecache.ts';
import { fileRemovePrivs } from './rw.ts';

// ---- lookup and attributes ------------------------------------------------------------------

/**
 * fuse_lookup: LOOKUP (noise in observations) of a name in the root gives the daemon's nodeid
 * and attributes, valid for 3600 s (the scripted daemon's timeouts; nothing expires in a case).
 */
export function fuseLookup(k: KernelState, name: string, t: Trace, renameTarget = false): FuseInode | Errno {
  const cached = k.fuseInodes.get(name);
  // fuse_dentry_revalidate asks again for an expired entry, and always for LOOKUP_RENAME_TARGET
  // (fuzz --target both seed 1769184697: a rename onto itself refreshed the attributes a read
  // had invalidated, so the next stat sent no GETATTR on 6.18).
  if (cached !== undefined && cached.entryTtlZero !== true && !renameTarget) return cached;
  // fuse_dentry_revalidate of an expired entry: LOOKUP again; the same nodeid keeps the inode
  // and takes the reply's attributes (fuse_change_attributes).
  if (cached !== undefined) t.fn('fuse_dentry_revalidate');
  const r = k.send(t, { op: 'LOOKUP', nodeid: 1, name });
  // A revalidation whose LOOKUP fails invalidates the dentry (d_invalidate): later walks ask
  // again (6.18: after an abort, a rename onto its own name failed with ENOTCONN, and a stat of
  // that name then did too; fuzz --target both seed 1147942084).
  if (cached !== undefined && (typeof r === 'string' || r.error !== null || r.entry === undefined)) dropDentry(k, name);
  if (typeof r === 'string') return r;
  if (r.error === 'ENOENT' || (r.error === null && r.entry === undefined)) return t.vfs('ENOENT', 'fuse_lookup', `the daemon has no node "${name}"`);
  if (r.error !== null) return r.error;
  const entry = r.entry!;
  if (cached !== undefined && cached.nodeid === entry.nodeid) {
    cached.entryTtlZero = entry.entryTimeout === 0;
    fuseChangeAttributes(k, cached, entry, t);
    return cached;
  }
  // Another nodeid under the name: the old dentry goes (its inode lives on while held).
  if (cached !== undefined) dropDentry(k, name);
  return addInode(k, name, entry);
}

/**
 * The path walk to World.nestedFuseAt in the mount under test, and for a `file` on to that file
 * of the FUSE mount nested there: the directory's lookup (revalidation) on the mount under test;
 * then, for a file with nothing mounted there, a LOOKUP of its name in that directory (a
 * negative dentry is always looked up again), which the outer daemon answers. null when the
 * walk gets through, else the walk's outcome (an errno, or a wait for INIT).
 */
export function nestedFuseWalk(k: KernelState, t: Trace, to: 'mountpoint' | { file: string }): Outcome | null {
  const at = k.world.nestedFuseAt ?? '';
  if (mountpointUncovered(k)) return err(t.vfs('ENOENT', 'path_lookupat', 'the FUSE mount under test is not there: the mountpoint directory has no such directory'));
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  const fi = fuseLookup(k, at, t);
  if (typeof fi === 'string') return err(fi);
  if (!fi.isDir) return err(t.vfs('ENOTDIR', 'path_lookupat', `"${at}" is a file of the FUSE mount, not a directory`));
  if (to !== 'mountpoint' && k.nestedFuse !== 'mounted') {
    const e = replyErrno(k.send(t, { op: 'LOOKUP', nodeid: fi.nodeid, name: to.file }));
    return err(e !== null && e !== 'ENOENT' ? e : t.vfs('ENOENT', 'fuse_lookup', `nothing is mounted on "${at}" (mountNestedFuse), and the daemon has no "${to.file}" there`));
  }
  return null;
}

export function addInode(k: KernelState, name: string, entry: { nodeid: number; entryTimeout?: number } & FuseAttr): FuseInode {
  const fi: FuseInode = {
    nodeid: entry.nodeid,
    name,
    isDir: entry.isDir,
    iSize: entry.size,
    attrValid: entry.attrTimeout !== 0,
    attrTtlZero: entry.attrTimeout === 0,
    entryTtlZero: entry.entryTimeout === 0,
    atimeInvalid: false,
    iocachectr: 0,
    fb: null,
    cacheIoModeBit: false,
    pages: new Map(),
    dirty: new Set(),
    nosec: false,
    timesDirty: false,
    users: 0,
    dioFiles: 0,
    wasBound: false,
    staleByPtWrite: false,
    sizeExtendedLocally: false,
    ptMaps: 0,
    // The optional fields too, so that every inode has one shape: added later, each new set of
    // them was a new hidden class, and the model's functions deoptimized on them while warming up.
    locks: undefined,
    blocksInvalid: undefined,
    ctimeInvalid: undefined,
    notUptodate: undefined,
    asEio: undefined,
    wbErr: undefined,
    watch: undefined,
    raMarks: undefined,
  };
  k.fuseInodes.set(name, fi);
  return fi;
}

export function rootInode(k: KernelState): FuseInode {
  let fi = k.fuseInodes.get('');
  if (fi === undefined) {
    // fill_super builds the root from a mode only, with attr_valid 0: the first stat asks.
    fi = { nodeid: 1, name: '', isDir: true, iSize: 0, attrValid: false, atimeInvalid: false, iocachectr: 0, fb: null, cacheIoModeBit: false, pages: new Map(), dirty: new Set(), nosec: false, timesDirty: false, users: 0, dioFiles: 0, wasBound: false, staleByPtWrite: false, sizeExtendedLocally: false, ptMaps: 0 };
    k.fuseInodes.set('', fi);
  }
  return fi;
}

/** fuse_update_get_attr: GETATTR only when the cache is stale (IO-16, IO-18, IO-25, IO-26). */
export function fuseUpdateAttributes(k: KernelState, fi: FuseInode, t: Trace, mask: 'size' | 'basic' = 'basic'): Errno | null {
  // fuse_update_get_attr syncs when the requested mask meets an invalid attribute: a stat asks
  // for atime too (IO-26); SEEK_END, reads past EOF and writeback writes ask for the size.
  if (fi.attrValid && (mask !== 'basic' || (!fi.atimeInvalid && fi.blocksInvalid !== true && fi.ctimeInvalid !== true))) return null;
  // With the writeback cache the size of a regular file is in fuse_get_cache_mask: a size-only
  // request (SEEK_END, a read past EOF) never syncs for an invalidated size (6.18: a read past
  // EOF after a DIRECT_IO write sent only READ). Expired attributes (attr_valid 0) sync whatever
  // the mask: time_before64(fi->i_time, now) (6.18: a writeback write with attr timeout 0 sent
  // GETATTR first; fuzz --target both seed 418388754).
  if (mask === 'size' && k.conn?.writebackCache === true && !fi.isDir && fi.attrTtlZero !== true) return null;
  t.fn('fuse_do_getattr');
  if (fi.staleByPtWrite) t.pass('IO-25');
  if (fi.atimeInvalid) t.pass('IO-26');
  const r = k.send(t, { op: 'GETATTR', nodeid: fi.nodeid });
  const e = replyErrno(r);
  if (e !== null) return e;
  fuseChangeAttributes(k, fi, typeof r === 'string' ? { size: 0, isDir: fi.isDir } : (r.attr ?? { size: 0, isDir: fi.isDir }), t);
  return null;
}

/** fuse_change_attributes: fresh attributes from a GETATTR or LOOKUP reply. */
function fuseChangeAttributes(k: KernelState, fi: FuseInode, attr: FuseAttr, t: Trace): void {
  fi.staleByPtWrite = false;
  fi.sizeExtendedLocally = false;
  const daemonSize = attr.size;
  // fuse_change_attributes_i: with the writeback cache a regular file's i_size is the kernel's
  // own (fuse_get_cache_mask has STATX_SIZE): the daemon's size is ignored after the inode was
  // made (6.18: after an atomic O_TRUNC open, stat said 0 while the daemon still held 4096).
  const size = k.conn?.writebackCache === true && !fi.isDir ? fi.iSize : daemonSize;
  const oldSize = fi.iSize;
  fi.iSize = size;
  // fuse_change_attributes_i: a new size truncates the page cache and invalidates it
  // (invalidate_inode_pages2 launders dirty mapped pages first).
  if (size !== oldSize) {
    truncatePagecache(fi, size);
    invalidateInodePages2(k, fi, t);
  }
  fi.attrTtlZero = attr.attrTimeout === 0;
  fi.attrValid = !fi.attrTtlZero;
  fi.atimeInvalid = false;
  fi.blocksInvalid = false;
  fi.ctimeInvalid = false;
  // fuse_change_attributes_common: refreshed attributes clear S_NOSEC (another client may have
  // set suid or security.capability), so the next write or truncate asks GETXATTR again
  // (6.18 with HANDLE_KILLPRIV_V2: stat, then an O_TRUNC open sent [OPEN, GETXATTR, SETATTR]).
  fi.nosec = false;
}

export function dropPagesFrom(fi: FuseInode, size: number): void {
  for (const p of [...fi.pages.keys()]) if ((p + 1) * PAGE_SIZE > size) { fi.pages.delete(p); fi.dirty.delete(p); }
  for (const p of [...(fi.notUptodate ?? [])]) if ((p + 1) * PAGE_SIZE > size) fi.notUptodate!.delete(p);
}

/**
 * truncate_pagecache: pages wholly past `size` go (dirty or not); the page holding `size` stays,
 * zeroed past it, with its dirty state.
 */
export function truncatePagecache(fi: FuseInode, size: number): void {
  for (const [p, page] of [...fi.pages]) {
    const start = p * PAGE_SIZE;
    if (start >= size) {
      fi.pages.delete(p);
      fi.dirty.delete(p);
    } else if (start + PAGE_SIZE > size) {
      page.fill(0, size - start);
    }
  }
  for (const p of [...(fi.notUptodate ?? [])]) if (p * PAGE_SIZE >= size) fi.notUptodate!.delete(p);
}

/** fuse_write_update_attr: extend i_size, invalidate size and times. */
export function fuseWriteUpdateAttr(fi: FuseInode, end: number, written: number): void {
  if (written > 0 && end > fi.iSize) fi.iSize = end;
  fi.attrValid = false;
}

// ---- attributes, seek, sync, truncate, fallocate, ioctl, copy_file_range --------------------

/** fstat / stat / statx (IO-16; OBS-12 with AT_STATX_DONT_SYNC). Value: the size. */
export function fuseGetattr(k: KernelState, fi: FuseInode, dontSync: boolean, t: Trace): Outcome {
  t.fn('fuse_getattr');
  if (dontSync) {
    t.pass('OBS-12');
    if (fi.sizeExtendedLocally) t.pass('IO-24');
    return ok(fi.iSize);
  }
  if (!fi.attrValid || fi.atimeInvalid) t.pass('IO-16');
  const e = fuseUpdateAttributes(k, fi, t);
  if (e !== null) return err(e);
  return ok(fi.iSize);
}

export function statNode(k: KernelState, name: string, dontSync: boolean, t: Trace): Outcome {
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  const fi = name === '' ? rootInode(k) : fuseLookup(k, name, t);
  if (typeof fi === 'string') return err(fi);
  return fuseGetattr(k, fi, dontSync, t);
}

// ---- unlink and rename (fuse_unlink, fuse_rename2) ---------------------------------------------

/**
 * The dentry of `name` goes (d_delete, d_move's victim): later lookups ask the daemon. The inode
 * stays while files or mappings hold it, under a key no name can take (names have no NUL), so a
 * busy mount and the eviction at umount still see it.
 */
function dropDentry(k: KernelState, name: string): void {
  const fi = k.fuseInodes.get(name);
  if (fi === undefined) return;
  // d_invalidate of a mountpoint detaches what is mounted there (detach_mounts).
  if (name === k.world.nestedFuseAt) k.detachNestedFuse();
  k.fuseInodes.delete(name);
  k.fuseInodes.set(`\0unlinked:${fi.nodeid}`, fi);
}

/**
 * fuse_update_ctime: without the writeback cache (S_NOCMTIME) only STATX_CTIME is invalidated,
 * so the next stat asks GETATTR; with it the ctime is set locally and written at once
 * (fuse_flush_time_update: SETATTR, its error left on the mapping).
 */
function fuseUpdateCtime(k: KernelState, fi: FuseInode, t: Trace): void {
  t.fn('fuse_update_ctime');
  if (!k.conn!.writebackCache) {
    fi.ctimeInvalid = true;
    return;
  }
  fuseFlushTimeUpdate(k, fi, t);
}

/** unlink(2): the path walk's LOOKUP, then UNLINK; on success fuse_entry_unlinked. */
export function fuseUnlink(k: KernelState, name: string, t: Trace): Outcome {
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  const fi = fuseLookup(k, name, t);
  if (typeof fi === 'string') return err(fi);
  // may_delete: unlink(2) of a directory, before any request.
  if (fi.isDir) return err(t.vfs('EISDIR', 'may_delete', 'unlink(2) of a directory (rmdir removes one)'));
  t.fn('fuse_unlink');
  const e = replyErrno(k.send(t, { op: 'UNLINK', nodeid: 1, name }));
  if (e !== null) return err(e);
  t.fn('fuse_entry_unlinked');
  fuseUpdateCtime(k, fi, t);
  dropDentry(k, name);
  return ok();
}

/**
 * rename(2) within the root: LOOKUP of both names, RENAME (flags 0: not RENAME2); on success the
 * source's ctime changes, a replaced target is unlinked (fuse_entry_unlinked), and d_move moves
 * the dentry. The same inode under both names is a no-op without a request (vfs_rename).
 */
export function fuseRename(k: KernelState, from: string, to: string, t: Trace): Outcome {
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  const src = fuseLookup(k, from, t);
  if (typeof src === 'string') return err(src);
  // The target's lookup may find nothing: a negative dentry, not an error (its own trace, so a
  // successful rename carries no "no such node" advice).
  const side = new Trace();
  const found = fuseLookup(k, to, side, true);
  if (typeof found === 'string' && found !== 'ENOENT') {
    t.absorb(side);
    return err(found);
  }
  const dst = typeof found === 'string' ? null : found;
  if (dst === src) return ok();
  // vfs_rename: may_delete of the target against the source's type, then the mountpoint check.
  if (dst !== null && dst.isDir !== src.isDir) return err(t.vfs(src.isDir ? 'ENOTDIR' : 'EISDIR', 'may_delete', src.isDir ? 'a directory cannot replace a file' : 'a file cannot replace a directory'));
  if (k.nestedFuse === 'mounted' && (from === k.world.nestedFuseAt || to === k.world.nestedFuseAt)) {
    return err(t.vfs('EBUSY', 'vfs_rename', 'a FUSE filesystem is mounted on that directory (mountNestedFuse): umount it first'));
  }
  t.fn('fuse_rename2');
  const e = replyErrno(k.send(t, { op: 'RENAME', nodeid: 1, name: from, newName: to }));
  if (e !== null) return err(e);
  fuseUpdateCtime(k, src, t);
  if (dst !== null) {
    t.fn('fuse_entry_unlinked');
    fuseUpdateCtime(k, dst, t);
    dropDentry(k, to);
  }
  k.fuseInodes.delete(from);
  k.fuseInodes.set(to, src);
  src.name = to;
  return ok();
}

/**
 * do_truncate -> notify_change -> fuse_do_setattr (IO-15): dentry_needs_remove_privs first
 * (GETXATTR, as IO-5), then SETATTR; the daemon truncates; the backing file is not touched.
 */
export function fuseSetattrSize(k: KernelState, fi: FuseInode, size: number, t: Trace, removePrivs = true): Errno | null {
  t.fn('do_truncate');
  if (removePrivs) fileRemovePrivs(k, fi, t);
  t.fn('fuse_do_setattr');
  const r = k.send(t, { op: 'SETATTR', nodeid: fi.nodeid, size });
  const e = replyErrno(r);
  if (e !== null) return e;
  if (fi.fb !== null) {
    const bi = fi.fb.file.inode.target ?? fi.fb.file.inode;
    bi.notes.add('IO-15');
    bi.notes.add('IO-28');
  }
  const oldSize = fi.iSize;
  // i_size is the reply's size, not the one asked for: a daemon that could not truncate (its
  // backing file gone, fuzz seed 1891157373) reports what it has.
  const newSize = typeof r === 'string' || r.attr === undefined ? size : r.attr.size;
  fi.iSize = newSize;
  // The SETATTR reply carries fresh attributes: nothing is stale any more, and S_NOSEC is
  // cleared as by every attribute refresh (fuse_change_attributes_common).
  fi.nosec = false;
  fi.attrValid = fi.attrTtlZero !== true;
  fi.atimeInvalid = false;
  fi.blocksInvalid = false;
  fi.ctimeInvalid = false;
  fi.staleByPtWrite = false;
  fi.sizeExtendedLocally = false;
  truncatePagecache(fi, newSize);
  // fuse_do_setattr, after the reply: when the size changed, truncate_pagecache and then
  // invalidate_inode_pages2, which launders the dirty pages left (6.18: ftruncate with a dirty
  // shared-mapping page sent [GETXATTR, SETATTR, WRITE]).
  if (oldSize !== newSize) invalidateInodePages2(k, fi, t);
  t.pass('IO-15');
  return null;
}

export function fuseFtruncate(k: KernelState, file: FuseOpenFile, size: number, t: Trace): Outcome {
  if (file.ff.isDir || file.mode === 'r') return err(t.vfs('EINVAL', 'do_ftruncate', 'ftruncate needs a regular file opened for writing'));
  const e = fuseSetattrSize(k, file.ff.inode, size, t);
  if (e !== null) return err(e);
  fsnotifyModify(k, file.ff.inode); // notify_change: fsnotify_change with ATTR_SIZE
  return ok();
}



/**
 * ioctl on a FUSE file: fileattr ioctls open their own fuse_file (OPEN, IOCTL, RELEASE; PT in
 * that reply ignored, OPEN-21); others send IOCTL on the file (IO-22). ENOSYS -> ENOTTY.
 */

/** fgetxattr: GETXATTR to the daemon, unchanged by passthrough (IO-23); the daemon: ENODATA. */
export function fuseGetxattr(k: KernelState, file: FuseOpenFile, name: string, t: Trace): Outcome {
  t.fn('fuse_getxattr');
  t.pass('IO-23');
  if (k.conn!.noGetxattr) return err('EOPNOTSUPP');
  const r = k.send(t, { op: 'GETXATTR', nodeid: file.ff.inode.nodeid, name, size: 0 });
  const e = replyErrno(r);
  // fuse_getxattr: ENOSYS marks the connection and answers EOPNOTSUPP from then on.
  if (e === 'ENOSYS') {
    k.conn!.noGetxattr = true;
    return err('EOPNOTSUPP');
  }
  return e === null ? ok(typeof r === 'string' ? 0 : (r.xattrSize ?? 0)) : err(e);
}
