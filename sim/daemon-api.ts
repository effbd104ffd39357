// The daemon's side of the public API: /dev/fuse, mount, backing ioctls, its own files and
// its replies, one method per daemon step of spec/case.ts.
import type { OpenReplySpec } from '../fixtures/world.ts';
import type { Cred as CredName, DaemonOpenMode, InitReplySpec } from '../spec/case.ts';
import { DEFAULT_INIT_REPLY } from '../spec/case.ts';
import { fdToFile, fuseDevIoctl, fuseDevIoctlBackingClose, fuseDevIoctlBackingOpen, fuseDevIoctlClone, fuseDevOpen, fuseDevRead, fuseDevRelease } from './dev.ts';
import { fuseMount, fuseReplyInit, fusectlAbort, fuseSuperPutIfIdle, fuseUmount, ovlMountOverFuse } from './mount.ts';
import { err, ok, setupFault, type Outcome } from './outcome.ts';
import type { Errno } from '../spec/errno.ts';
import { replyErrno } from './daemon-port.ts';
import type { KernelState } from './state.ts';
import { nestedFuseWalk } from './dir.ts';
import { CRED_CAP_DROPPED_PROCESS, CRED_NOCAP, CRED_NONROOT_CAP_SYS_ADMIN, CRED_ROOT, CRED_USERNS, type Cred, type WFile } from './world/vfs.ts';
import type { Kernel, SimResult } from './kernel.ts';
import { textBytes } from './daemon.ts';
import type { FUSE_DEV_IOC } from '../spec/uapi.ts';
import { daemonOpenWorldFile } from './daemon-open.ts';
import { fcntlSetlkAccess, locksLockInode, newLockTable, type LockKind, type LockType } from './locks.ts';

/**
 * Superblocks a daemonWrite may write: a roBind file lives on the disk superblock (its mount is
 * read-only), a world `chardev` is /dev/null on devtmpfs.
 */
const HOST_FS = new Set(['disk', 'tmpfs', 'overlay', 'memfd', 'devtmpfs']);

const CREDS: Record<CredName, Cred> = {
  root: CRED_ROOT,
  noCapSysAdmin: CRED_NOCAP,
  userns: CRED_USERNS,
  capDroppedProcess: CRED_CAP_DROPPED_PROCESS,
  nonRootCapSysAdmin: CRED_NONROOT_CAP_SYS_ADMIN,
};

export interface BackingOpenArgs {
  dev: string;
  /** A daemon fd name, or a raw fd number (−1, a closed number) for BOPEN-7. */
  fd: string | number;
  flags?: number;
  padding?: number;
  nullArg?: boolean;
  cred?: CredName;
  /** A signal ends a DEV-5 sleep (EINTR). */
  interruptAfterMs?: number;
  as?: string;
  /** Issued by a 32-bit task (DEV-2): same numbers, same checks. */
  compat32?: boolean;
}

export interface BackingCloseArgs {
  dev: string;
  id: string | number;
  nullArg?: boolean;
  cred?: CredName;
  /** A signal ends a DEV-5 sleep (EINTR). */
  interruptAfterMs?: number;
  compat32?: boolean;
}

/** The daemon's side: /dev/fuse, mount, backing ioctls, its own files, its replies. */
export class DaemonApi {
  constructor(private readonly k: Kernel) {}

  /** The mount the call goes to (Kernel.use): the mount under test unless a step names another. */
  private get s(): KernelState {
    return this.k.active;
  }

  private dev(name: string): ReturnType<KernelState['devFiles']['get']> {
    return this.s.devFiles.get(name);
  }

  private defaultCred(c: CredName | undefined): Cred {
    if (c !== undefined) return CREDS[c];
    return this.s.daemonInUserns ? CRED_USERNS : CRED_ROOT;
  }

  devOpen(as: string): SimResult {
    return this.k.run((t) => fuseDevOpen(this.s, as, t));
  }

  syncInit(dev: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevIoctl(this.s, d, 0xe503, false, CRED_ROOT, t);
    });
  }

  mount(dev: string, init: InitReplySpec = DEFAULT_INIT_REPLY, opts: { deferInit?: boolean } = {}): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseMount(this.s, d, init, opts.deferInit === true, t);
    });
  }

  replyInit(init: InitReplySpec = DEFAULT_INIT_REPLY): SimResult {
    return this.k.run((t) => fuseReplyInit(this.s, init, t));
  }

  devClone(dev: string, as: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevIoctlClone(this.s, d, as, t);
    });
  }

  devRead(dev: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevRead(this.s, d, t);
    });
  }

  devIoctl(dev: string, cmd: number, opts: { nullArg?: boolean; compat32?: boolean } = {}): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevIoctl(this.s, d, cmd, opts.nullArg === true, this.defaultCred(undefined), t, opts.compat32 === true);
    });
  }

  devClose(dev: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevRelease(this.s, d, t);
    });
  }

  /** The daemon opens a world file, or `devfuse:<dev>` names that /dev/fuse fd (BOPEN-9). */
  open(file: string, mode: DaemonOpenMode, as: string): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      if (file.startsWith('devfuse:')) {
        const d = this.dev(file.slice('devfuse:'.length));
        if (d === undefined || d.fd === null) return setupFault(`no /dev/fuse fd for "${file}"`);
        s.daemonFds.set(as, d.fd);
        return ok();
      }
      const fd = daemonOpenWorldFile(this.s, file, mode, t);
      if (typeof fd !== 'number') return fd;
      s.daemonFds.set(as, fd);
      return ok();
    });
  }

  /**
   * A loop of registrations (spec/case.ts RegisterManyStep): `count` times open `file` read-only,
   * BACKING_OPEN it and close the fd. The value is the number of ids obtained; a failure stops
   * the loop and is the step's errno.
   */
  registerMany(dev: string, file: string, count: number): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      for (let n = 0; n < count; n++) {
        const fd = daemonOpenWorldFile(this.s, file, 'rdonly', t);
        if (typeof fd !== 'number') return n === 0 ? fd : { ...fd, value: n };
        const o = fuseDevIoctlBackingOpen(s, d, { file: fdToFile(s, fd), flags: 0, padding: 0 }, { nullArg: false, cred: this.defaultCred(undefined), interruptible: false }, t);
        // close(2): the registration keeps the file, so no event (LIFE-9).
        const tf = s.daemonTask.fds.get(fd);
        s.daemonTask.fds.delete(fd);
        if (tf !== undefined && tf.kind === 'world') {
          if (tf.file.count > 1) t.pass('LIFE-9');
          s.vfs.fput(tf.file);
        }
        if (o.errno !== null) return n === 0 ? o : { ...o, value: n };
      }
      return ok(count);
    });
  }

  /**
   * The struct file behind a daemon fd of a file on the host's filesystems (daemonWrite,
   * daemonIoctl), or the outcome to answer instead: EBADF for a closed fd, a setup fault for an
   * fd the loader would not let such a step use.
   */
  private hostFile(fdName: string, step: string): WFile | Outcome {
    const s = this.s;
    const fd = s.daemonFds.get(fdName);
    if (fd === undefined) return setupFault(`no daemon fd named "${fdName}"`);
    const tf = s.daemonTask.fds.get(fd);
    if (tf === undefined) return err('EBADF');
    if (tf.kind !== 'world' || !HOST_FS.has(tf.file.inode.mount.sb.kind)) return setupFault(`${step} is for fds of files on disk, tmpfs, overlay or memfd, not /dev/fuse or FUSE files`);
    return tf.file;
  }

  /** pwrite(2) through a daemon fd on a host world file (spec/case.ts DaemonWriteStep). */
  write(fdName: string, data: string, offset: number): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const f = this.hostFile(fdName, 'daemonWrite');
      if (!('inode' in f)) return f;
      // ksys_pwrite64: fdget skips O_PATH files, FMODE_PWRITE comes before vfs_write's FMODE_WRITE.
      if (f.mode === 'path') return err(t.vfs('EBADF', 'ksys_pwrite64', 'an O_PATH fd cannot be written'));
      if (f.inode.type === 'fifo') return err(t.vfs('ESPIPE', 'ksys_pwrite64', 'a fifo has no file position: pwrite(2) needs a seekable file'));
      if (f.mode === 'r') return err(t.vfs('EBADF', 'vfs_write', 'the fd was opened read-only'));
      const bytes = textBytes(data);
      if (f.inode.type === 'file') s.vfs.pwrite(f, offset, bytes);
      if (bytes.length > 0) s.vfs.notifyModify(f.inode); // vfs_write; /dev/null's too
      return ok(bytes.length);
    });
  }

  /**
   * A /dev/fuse ioctl on a daemon fd of a host world file (spec/case.ts DaemonIoctlStep):
   * do_vfs_ioctl knows none of them, and neither does ext4, shmem, overlayfs or a device node.
   */
  ioctl(fdName: string, cmd: keyof typeof FUSE_DEV_IOC): SimResult {
    return this.k.run((t) => {
      const f = this.hostFile(fdName, 'daemonIoctl');
      if (!('inode' in f)) return f;
      // ksys_ioctl: fdget skips O_PATH files.
      if (f.mode === 'path') return err(t.vfs('EBADF', 'ksys_ioctl', 'an O_PATH fd takes no ioctl'));
      t.fn('vfs_ioctl');
      return err(t.fail('ENOTTY', 'DEV-1', `FUSE_DEV_IOC_${cmd} went to an fd of a ${f.inode.type === 'file' ? 'regular file' : f.inode.type}, not to /dev/fuse: send the /dev/fuse ioctls to the fd the mount was made with (or a clone of it)`));
    });
  }

  /** A non-blocking whole-file flock or OFD lock through a daemon fd on a host world file. */
  lock(fdName: string, kind: LockKind, type: LockType): SimResult {
    return this.k.run((t) => {
      const f = this.hostFile(fdName, 'lock');
      if (!('inode' in f)) return f;
      // fdget skips O_PATH files for flock(2) and fcntl(2) alike.
      if (f.mode === 'path') return err(t.vfs('EBADF', kind === 'flock' ? 'flock' : 'fcntl', 'an O_PATH fd takes no lock'));
      const access = fcntlSetlkAccess(f.mode, kind, type, t);
      if (access !== null) return err(access);
      f.inode.locks ??= newLockTable();
      const e = locksLockInode(f.inode.locks, f, kind, type, t);
      return e === null ? ok() : err(e);
    });
  }

  /** close(2) of a daemon fd: no event while BACKING_OPEN still holds the file (LIFE-9). */
  close(fdName: string): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const fd = s.daemonFds.get(fdName);
      if (fd === undefined) return setupFault(`no daemon fd named "${fdName}"`);
      s.daemonFds.delete(fdName);
      const tf = s.daemonTask.fds.get(fd);
      if (tf === undefined) return err('EBADF');
      if (tf.kind === 'dev') {
        const d = s.devFiles.get(tf.devName);
        return d === undefined ? err('EBADF') : fuseDevRelease(s, d, t);
      }
      s.daemonTask.fds.delete(fd);
      if (tf.file.count > 1) t.pass('LIFE-9');
      const onSelf = tf.file.inode.mount.sb.kind === 'fuseUnderTest' && s.conn !== null;
      // filp_close returns ->flush's error, yet the fd is gone: fuse_flush on an aborted
      // connection gives ENOTCONN (found by fusepass fuzz on 6.18).
      let flushErr: Errno | null = null;
      if (onSelf) {
        // O_PATH files have no ->flush or ->release.
        if (tf.file.mode !== 'path') {
          const on = { nodeid: s.daemon.nodes.get(tf.file.inode.watchName)?.nodeid ?? 0, fh: 0 };
          flushErr = replyErrno(s.send(t, { op: 'FLUSH', ...on }));
          s.sendAsync(t, { op: 'RELEASE', ...on, flags: 0 });
        }
        s.selfFileUsers--;
      }
      // filp_close: an inner FUSE mount's file gets its ->flush (FLUSH) here.
      s.vfs.close(tf.file);
      if (onSelf) fuseSuperPutIfIdle(s, t);
      return flushErr === null ? ok() : err(flushErr);
    });
  }

  backingOpen(a: BackingOpenArgs): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const d = this.dev(a.dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${a.dev}"`);
      let fdNum: number;
      if (typeof a.fd === 'number') fdNum = a.fd;
      else {
        const n = s.daemonFds.get(a.fd);
        if (n === undefined) return setupFault(`no daemon fd named "${a.fd}"`);
        fdNum = n;
      }
      const map = { file: fdToFile(s, fdNum), flags: (a.flags ?? 0) >>> 0, padding: a.padding ?? 0 };
      if (a.compat32 === true) t.pass('DEV-2');
      const o = fuseDevIoctlBackingOpen(s, d, map, { nullArg: a.nullArg === true, cred: this.defaultCred(a.cred), interruptible: a.interruptAfterMs !== undefined }, t);
      // A helper process given the fd over a socket closes its copy after the ioctl: ->flush,
      // a FLUSH for a file of an inner FUSE mount (fuzz --target both seed 1496769795). The
      // kernel target passes files of the mount under test, and every `userns` one, as O_PATH
      // reopens, which have no ->flush.
      if ((a.cred === 'capDroppedProcess' || a.cred === 'nonRootCapSysAdmin') && map.file !== null) s.vfs.flush(map.file);
      if (o.errno === null && typeof o.value === 'number' && a.as !== undefined) s.regs.set(a.as, o.value);
      return o;
    });
  }

  backingClose(a: BackingCloseArgs): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const d = this.dev(a.dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${a.dev}"`);
      let id: number;
      if (typeof a.id === 'number') id = a.id | 0;
      else {
        const n = s.regs.get(a.id);
        if (n === undefined) return setupFault(`no registration named "${a.id}"`);
        id = n;
      }
      if (a.compat32 === true) t.pass('DEV-2');
      return fuseDevIoctlBackingClose(s, d, id, { nullArg: a.nullArg === true, cred: this.defaultCred(a.cred), interruptible: a.interruptAfterMs !== undefined }, t);
    });
  }

  setOpenReply(node: string, reply: OpenReplySpec): SimResult {
    return this.k.run(() => {
      if (node === '') {
        this.s.daemon.rootOpen = reply;
        return ok();
      }
      // A name no node has now (unlinked, renamed away, an O_CREAT that failed): nothing to set,
      // on both targets.
      const n = this.s.daemon.nodes.get(node);
      if (n !== undefined) n.open = reply;
      return ok();
    });
  }

  setDaemonSize(node: string, size: number): SimResult {
    return this.k.run(() => {
      const n = this.s.daemon.nodes.get(node);
      if (n !== undefined) n.size = size; // no node of that name now: nothing to set (as setOpenReply)
      return ok();
    });
  }

  abort(): SimResult {
    return this.k.run((t) => fusectlAbort(this.s, t));
  }

  umount(opts: { lazy?: boolean } = {}): SimResult {
    return this.k.run((t) => fuseUmount(this.s, opts.lazy === true, t));
  }

  /**
   * mount(2) of the `nestedFuse` files' FUSE filesystem on World.nestedFuseAt (spec/daemon-steps.ts
   * MountNestedFuseStep): the path walk to the directory, then a mount nothing but the walk asks
   * the FUSE mount under test about (its INIT goes to the nested daemon).
   */
  mountNestedFuse(): SimResult {
    return this.k.run((t) => {
      t.fn('do_new_mount');
      const walked = nestedFuseWalk(this.s, t, 'mountpoint');
      if (walked !== null) return walked;
      this.s.nestedFuse = 'mounted';
      if (this.s.inner?.kind === 'nestedFuse') this.s.inner.mount();
      return ok();
    });
  }

  /** mount(2) of overlayfs over the FUSE mount (spec/daemon-steps.ts MountOverlayOnFuseStep). */
  mountOverlayOnFuse(): SimResult {
    return this.k.run((t) => ovlMountOverFuse(this.s, t));
  }
}
