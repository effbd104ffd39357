// The client's side of the public API: syscalls on the FUSE mount, one method per client step
// of spec/case.ts.
import { fsnotifyAccess, fsnotifyModify } from './fsnotify.ts';
import type { CopyRangeStep, OpenFlagName, SendfileStep } from '../spec/case.ts';
import { textBytes } from './daemon.ts';
import { Trace } from './explain.ts';
import * as dirOps from './dir.ts';
import * as fileOps from './file.ts';
import * as fileCallOps from './file-ops.ts';
import * as ioctlOps from './ioctl.ts';
import * as mmapOps from './mmap.ts';
import * as rwOps from './rw.ts';
import { err, ok, setupFault, type Outcome } from './outcome.ts';
import type { KernelState } from './state.ts';
import type { FuseOpenFile } from './types.ts';
import type { Kernel, SimResult } from './kernel.ts';
import { mountpointUncovered, plainFile, plainOpen, plainStatNode, plainSyscall, type PlainOp } from './mountpoint.ts';
import { openWorldFile } from './world/open.ts';
import { posixFallocate } from './glibc.ts';
import type { LockKind, LockType } from './locks.ts';
import type { WFile } from './world/vfs.ts';
import * as sendfileOps from './sendfile.ts';
import type { SendfileEnd } from './sendfile.ts';

/** spec/case.ts CopyRangeStep without its op: each side a client fd or a world file. */
export type CopyRangeArgs = Omit<CopyRangeStep, 'op'>;
/** spec/case.ts SendfileStep without its op. */
export type SendfileArgs = Omit<SendfileStep, 'op'>;

/** The client-side kernel functions, by their model names. */
const F = { ...dirOps, ...fileOps, ...fileCallOps, ...rwOps, ...mmapOps, ...ioctlOps, ...sendfileOps };

/** The client's side: syscalls on the FUSE mount. */
export class ClientApi {
  constructor(private readonly k: Kernel) {}

  /** The mount the call goes to (Kernel.use): the mount under test unless a step names another. */
  private get s(): KernelState {
    return this.k.active;
  }

  /**
   * Run `fn` on a client fd of the FUSE mount; an fd of a plain file of the uncovered
   * mountpoint directory runs `plain` instead (no FUSE involved).
   */
  private withFile(fd: string, fn: (f: FuseOpenFile, t: Trace) => Outcome, plain?: PlainOp): SimResult {
    return this.k.run((t) => {
      const p = plainFile(this.s, fd);
      if (p !== undefined) {
        if (plain === undefined) return { errno: null, fault: { kind: 'unsupported', message: 'the sim does not model this syscall on a file outside the FUSE mount' } };
        return plainSyscall(this.s, p, plain, t);
      }
      const f = this.s.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      return fn(f, t);
    });
  }

  /** open(2); O_CREAT on a name the daemon lacks sends CREATE (OPEN-17). */
  /**
   * open(2); O_CREAT on a name the daemon lacks sends CREATE (OPEN-17). `nobody`: as uid 65534;
   * on FUSE nothing changes (allow_other, no default_permissions: the daemon decides, PTF-2).
   */
  open(node: string, flags: readonly OpenFlagName[], as: string, opts: { compat32?: boolean; nobody?: boolean } = {}): SimResult {
    return this.k.run((t) => {
      if (mountpointUncovered(this.s)) {
        const p = plainOpen(this.s, node, flags, as, t, opts.nobody === true);
        if (p.errno === null) this.k.noteOpened(as);
        return p;
      }
      const o = F.fuseOpen(this.s, { node, flags, compat32: opts.compat32 === true }, t);
      if (o.file !== undefined) {
        this.s.clientFiles.set(as, o.file);
        this.k.noteOpened(as);
      }
      return o.errno === null && o.fault === undefined ? ok() : o;
    });
  }

  opendir(node: string | undefined, as: string): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      if (mountpointUncovered(s)) {
        if (node === undefined || node === '') return { errno: null, fault: { kind: 'unsupported', message: 'the sim does not model the plain mountpoint directory itself' } };
        return plainStatNode(s, node, t).errno === null ? err(t.vfs('ENOTDIR', 'path_openat', 'opendir of a plain file')) : err(t.vfs('ENOENT', 'path_openat', 'nothing is mounted: the mountpoint directory has no such name'));
      }
      const fi = node === undefined || node === '' ? F.rootInode(s) : F.fuseLookup(s, node, t);
      if (typeof fi === 'string') return err(fi);
      if (!fi.isDir) return err(t.vfs('ENOTDIR', 'path_openat', 'opendir of a regular file'));
      const o = F.fuseDirOpen(s, fi, t);
      if (o.file !== undefined) {
        s.clientFiles.set(as, o.file);
        this.k.noteOpened(as);
      }
      return o.errno === null && o.fault === undefined ? ok() : o;
    });
  }

  readdir(fd: string): SimResult {
    return this.withFile(fd, (f, t) => F.fuseReaddir(this.s, f, t));
  }

  read(fd: string, length: number, offset?: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseRead(this.s, f, length, offset, t), offset === undefined ? { op: 'read', length } : { op: 'read', length, offset });
  }

  write(fd: string, data: string, offset?: number): SimResult {
    const bytes = textBytes(data);
    return this.withFile(fd, (f, t) => F.fuseWriteSyscall(this.s, f, bytes, offset, t), offset === undefined ? { op: 'write', data: bytes } : { op: 'write', data: bytes, offset });
  }

  spliceRead(fd: string, length: number, offset?: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseRead(this.s, f, length, offset, t, true));
  }

  spliceWrite(fd: string, data: string, offset?: number): SimResult {
    return this.withFile(fd, (f, t) => {
      // do_splice: after the FMODE_WRITE check (EBADF, left to fuseWrite), a file opened with
      // O_APPEND cannot be spliced into (found by fusepass fuzz; the 6.18 kernel says EINVAL).
      if (f.mode !== 'r' && f.flags.has('O_APPEND')) return err(t.vfs('EINVAL', 'do_splice', 'splice cannot write into a file opened with O_APPEND; use write(2)'));
      return F.fuseWriteSyscall(this.s, f, textBytes(data), offset, t, true);
    });
  }

  mmap(fd: string, opts: { shared: boolean; length?: number; write?: boolean }, as: string): SimResult {
    return this.withFile(fd, (f, t) => {
      const o = F.fuseFileMmap(this.s, f, { shared: opts.shared, write: opts.write === true, length: opts.length ?? 4096 }, t);
      if (o.map !== undefined) {
        this.s.maps.set(as, o.map);
        this.k.noteOpened(as);
      }
      return o.errno === null ? ok() : o;
    });
  }

  mapRead(map: string, length: number, offset = 0): SimResult {
    return this.k.run((t) => {
      const m = this.s.maps.get(map);
      return m === undefined ? setupFault(`no mapping named "${map}"`) : F.mapRead(this.s, m, length, offset, t);
    });
  }

  mapWrite(map: string, data: string, offset = 0): SimResult {
    return this.k.run((t) => {
      const m = this.s.maps.get(map);
      return m === undefined ? setupFault(`no mapping named "${map}"`) : F.mapWrite(this.s, m, textBytes(data), offset, t);
    });
  }

  munmap(map: string): SimResult {
    return this.k.run((t) => {
      const m = this.s.maps.get(map);
      if (m === undefined) return setupFault(`no mapping named "${map}"`);
      this.s.maps.delete(map);
      this.k.noteClosed(map);
      return F.munmap(this.s, m, t);
    });
  }

  /** fstat of an fd, or stat of a node; value = size. */
  stat(ref: { fd?: string; node?: string; dontSync?: boolean }): SimResult {
    if (ref.fd !== undefined) return this.withFile(ref.fd, (f, t) => F.fuseGetattr(this.s, f.ff.inode, ref.dontSync === true, t), { op: 'stat' });
    return this.k.run((t) => (mountpointUncovered(this.s) ? plainStatNode(this.s, ref.node ?? '', t) : F.statNode(this.s, ref.node ?? '', ref.dontSync === true, t)));
  }

  /** unlink(2) of a node of the FUSE mount (a plain file when the mountpoint is uncovered). */
  unlink(node: string): SimResult {
    return this.k.run((t) => (mountpointUncovered(this.s) ? err(t.vfs('ENOENT', 'do_unlinkat', 'the FUSE mount is not there: the mountpoint directory has no such file')) : F.fuseUnlink(this.s, node, t)));
  }

  rename(from: string, to: string): SimResult {
    return this.k.run((t) => (mountpointUncovered(this.s) ? err(t.vfs('ENOENT', 'do_renameat2', 'the FUSE mount is not there: the mountpoint directory has no such file')) : F.fuseRename(this.s, from, to, t)));
  }

  lseek(fd: string, whence: 'SET' | 'CUR' | 'END' | 'DATA' | 'HOLE', offset: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseLseek(this.s, f, whence, offset, t), { op: 'lseek', whence, offset });
  }

  ftruncate(fd: string, size: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFtruncate(this.s, f, size, t), { op: 'ftruncate', size });
  }

  fsync(fd: string): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFsync(this.s, f, t), { op: 'fsync' });
  }

  fallocate(fd: string, length = 4096): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFallocate(this.s, f, t, length), { op: 'fallocate' });
  }

  /** glibc's posix_fallocate(3): fallocate(2), or its emulation by pread and pwrite (sim/glibc.ts). */
  posixFallocate(fd: string, offset: number, length: number): SimResult {
    return this.withFile(fd, (f, t) => posixFallocate(this.s, f, offset, length, t));
  }

  ioctl(fd: string, cmd: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFileIoctl(this.s, f, cmd, t), { op: 'ioctl' });
  }

  /** A non-blocking whole-file flock or OFD lock on a FUSE file (IO-23). */
  lock(fd: string, kind: LockKind, type: LockType): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFileLock(this.s, f, kind, type, t));
  }

  /** fgetxattr(2) (IO-23). */
  getxattr(fd: string, name: string): SimResult {
    return this.withFile(fd, (f, t) => F.fuseGetxattr(this.s, f, name, t), { op: 'getxattr' });
  }

  /**
   * copy_file_range(2) between client fds (IO-21), at explicit offsets or the fds' positions; a
   * side given as a world file is opened by the step (read-only as the source, write-only as the
   * destination) and closed after it: a copy across filesystems, EXDEV.
   */
  copyRange(c: CopyRangeArgs): SimResult {
    return this.k.run((t) => {
      const fuseFd = (name: string | undefined) => (name === undefined ? undefined : this.s.clientFiles.get(name));
      const a = fuseFd(c.from);
      const b = fuseFd(c.to);
      if ((c.from !== undefined && a === undefined) || (c.to !== undefined && b === undefined)) return setupFault(`no client fd named "${a === undefined ? c.from : c.to}"`);
      if (a !== undefined && b !== undefined) {
        const r = F.fuseCopyRange(this.s, a, b, c.length, t, { in: c.fromOffset, out: c.toOffset });
        // vfs_copy_file_range, when it copied: IN_ACCESS on the source, IN_MODIFY on the destination.
        if (r.errno === null && typeof r.value === 'number' && r.value > 0) {
          fsnotifyAccess(this.s, a.ff.inode);
          fsnotifyModify(this.s, b.ff.inode);
        }
        return r;
      }
      const fuseSide = a ?? b;
      const file = c.fromFile ?? c.toFile;
      if (fuseSide === undefined || file === undefined) return setupFault('copyRange needs a client fd on at least one side, and a client fd or a world file on each');
      const w = openWorldFile(this.s, file, a === undefined ? 'r' : 'w', t);
      if (typeof w === 'string') return err(w);
      if ('kind' in w) return { errno: null, fault: w };
      const r = F.copyFileRangeAcrossFs(fuseSide, a !== undefined, t);
      this.s.vfs.close(w);
      return r;
    });
  }

  /**
   * sendfile(2) (do_splice_direct) between client fds, or with a world file the step opens on one
   * side (read-only as the source, write-only as the destination) and closes after it.
   */
  sendfile(c: SendfileArgs): SimResult {
    return this.k.run((t) => {
      const ends: (SendfileEnd | undefined)[] = [];
      const opened: WFile[] = [];
      for (const [fd, file, access] of [[c.from, c.fromFile, 'r'], [c.to, c.toFile, 'w']] as const) {
        if (fd !== undefined) {
          const f = this.s.clientFiles.get(fd);
          if (f === undefined) return setupFault(`no client fd named "${fd}"`);
          ends.push({ fuse: f });
        } else if (file !== undefined) {
          const w = openWorldFile(this.s, file, access, t);
          if (typeof w === 'string' || 'kind' in w) {
            for (const o of opened) this.s.vfs.close(o);
            return typeof w === 'string' ? err(w) : { errno: null, fault: w };
          }
          opened.push(w);
          ends.push({ world: w });
        } else ends.push(undefined);
      }
      const [from, to] = ends;
      const r = from === undefined || to === undefined ? setupFault('sendfile needs a client fd or a world file on each side') : F.doSendfile(this.s, from, to, c.length, c.offset, t);
      for (const o of opened) this.s.vfs.close(o);
      return r;
    });
  }

  /**
   * inotify_add_watch of a client fd's /proc link (spec/case.ts WatchFuseFileStep): the FUSE
   * inode's events carry `as` from now on (sim/fsnotify.ts); a plain file's inode likewise.
   */
  watchFuseFile(fd: string, as: string): SimResult {
    return this.k.run(() => {
      const p = plainFile(this.s, fd);
      if (p !== undefined) {
        p.file.inode.watchName = as;
        return ok();
      }
      const f = this.s.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      f.ff.inode.watch = as;
      return ok();
    });
  }

  close(fd: string): SimResult {
    return this.k.run((t) => {
      const p = plainFile(this.s, fd);
      if (p !== undefined) {
        this.k.noteClosed(fd);
        return plainSyscall(this.s, p, { op: 'close', fdName: fd }, t);
      }
      const f = this.s.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      this.s.clientFiles.delete(fd);
      this.k.noteClosed(fd);
      return F.fuseClose(this.s, f, t);
    });
  }
}
