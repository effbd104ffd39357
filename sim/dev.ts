// fs/fuse/dev.c: /dev/fuse fd states and fuse_dev_ioctl dispatch (DEV-1..13, BOPEN-1..3,
// BCLOSE-1..3), FUSE_DEV_IOC_CLONE, read(2) on an unattached fd, and fuse_dev_release.
import type { Errno } from '../spec/errno.ts';
import { FUSE_DEV_IOC } from '../spec/uapi.ts';
import { fuseBackingClose, fuseBackingOpen, type BackingMap } from './backing.ts';
import type { Trace } from './explain.ts';
import { fuseAbortConn, fuseConnPutIfUnused } from './inode.ts';
import { err, ok, type Outcome } from './outcome.ts';
import type { DevFile, KernelState } from './state.ts';
import type { FuseConn } from './types.ts';
import type { Cred } from './world/vfs.ts';

/** open("/dev/fuse"): a fresh fd, no fuse_dev (DEV-4). */
export function fuseDevOpen(k: KernelState, name: string, t: Trace): Outcome {
  t.fn('fuse_dev_open');
  const fd = k.daemonTask.install({ kind: 'dev', devName: name });
  if (fd === 'EMFILE') return err(t.vfs('EMFILE', 'alloc_fd', 'the daemon reached its RLIMIT_NOFILE'));
  const file = k.vfs.openFile(k.backing.devFuse, 'rw', new Set(), 'user');
  const dev: DevFile = { name, fd: null, conn: null, syncInitMarker: false, closed: false, file };
  dev.fd = fd;
  k.devFiles.set(name, dev);
  return ok();
}

/**
 * fuse_get_dev (6.18): the attached connection; on a SYNC_INIT-marked, unattached fd it sleeps
 * interruptibly (DEV-5, DEV-13); else ERR_PTR(-EPERM).
 */
function fuseGetDev(k: KernelState, dev: DevFile, interruptible: boolean, t: Trace): FuseConn | Outcome {
  t.fn('fuse_get_dev');
  if (dev.conn !== null) return dev.conn;
  if (dev.syncInitMarker && k.profile.syncInit) {
    t.pass('DEV-5');
    if (failedMount.has(dev)) t.pass('DEV-13');
    if (interruptible) return err('EINTR');
    return { errno: null, fault: { kind: 'timeout', message: 'the ioctl sleeps until a mount attaches this SYNC_INIT fd (DEV-5); give interruptAfterMs' } };
  }
  return err('EPERM');
}

export interface BackingIoctlArgs {
  /** NULL argp (BOPEN-3, BCLOSE-3). */
  nullArg: boolean;
  cred: Cred;
  /** A signal ends a DEV-5 sleep. */
  interruptible: boolean;
}

/** fuse_dev_ioctl_backing_open: BOPEN-1 -> BOPEN-2 -> BOPEN-3 -> fuse_backing_open. */
export function fuseDevIoctlBackingOpen(k: KernelState, dev: DevFile, map: BackingMap, a: BackingIoctlArgs, t: Trace): Outcome {
  if (!k.profile.backingIoctls) return err(t.fail('ENOTTY', 'DEV-1', 'before 6.9 fuse_dev_ioctl knows only FUSE_DEV_IOC_CLONE: no passthrough on this kernel'));
  t.fn('fuse_dev_ioctl_backing_open');
  const fc = fuseGetDev(k, dev, a.interruptible, t);
  if (!isConn(fc)) {
    if (fc.errno === 'EPERM') {
      t.pass(failedMount.has(dev) ? 'DEV-13' : 'DEV-4');
      return err(t.fail('EPERM', 'BOPEN-1', 'this /dev/fuse fd has no connection yet: mount with it, or clone it from a mounted fd'));
    }
    return fc;
  }
  noteDevState(fc, dev, t);
  if (!k.profile.passthroughConfigured) return err(t.fail('EOPNOTSUPP', 'BOPEN-2', 'the kernel is built without CONFIG_FUSE_PASSTHROUGH'));
  if (a.nullArg) {
    if (!fc.passthrough) t.pass('DEV-8');
    return err(t.fail('EFAULT', 'BOPEN-3'));
  }
  const r = fuseBackingOpen(k, fc, map, a.cred, t);
  if (typeof r === 'number') return ok(r);
  t.pass('BID-7'); // a failed BACKING_OPEN leaves the cursor where it was
  return err(r);
}

/** fuse_dev_ioctl_backing_close: BCLOSE-1 -> BCLOSE-2 -> BCLOSE-3 -> fuse_backing_close. */
export function fuseDevIoctlBackingClose(k: KernelState, dev: DevFile, id: number, a: BackingIoctlArgs, t: Trace): Outcome {
  t.fn('fuse_dev_ioctl_backing_close');
  if (!k.profile.backingIoctls) return err(t.fail('ENOTTY', 'DEV-1', 'before 6.9 fuse_dev_ioctl knows only FUSE_DEV_IOC_CLONE: no passthrough on this kernel'));
  const fc = fuseGetDev(k, dev, a.interruptible, t);
  if (!isConn(fc)) {
    if (fc.errno === 'EPERM') {
      t.pass(failedMount.has(dev) ? 'DEV-13' : 'DEV-4');
      return err(t.fail('EPERM', 'BCLOSE-1'));
    }
    return fc;
  }
  noteDevState(fc, dev, t);
  if (!k.profile.passthroughConfigured) return err(t.fail('EOPNOTSUPP', 'BCLOSE-2'));
  if (a.nullArg) {
    if (!fc.passthrough) t.pass('DEV-8');
    return err(t.fail('EFAULT', 'BCLOSE-3'));
  }
  const fb = fc.idr.get(id);
  const viaClone = fb !== undefined && [...k.devFiles.values()].some((d) => d.conn === fc && d !== dev);
  const r = fuseBackingClose(k, fc, id, a.cred, t);
  if (r === null && viaClone) t.pass('BCLOSE-10');
  return r === null ? ok() : err(r);
}

function isConn(x: FuseConn | Outcome): x is FuseConn {
  return 'idr' in x;
}

function noteDevState(fc: FuseConn, dev: DevFile, t: Trace): void {
  if (fc.initPending) t.pass('DEV-6');
  else if (fc.passthrough) t.pass('DEV-7');
  else t.pass('DEV-8');
  if (dev.name !== '' && isClone.has(dev)) t.pass('DEV-9');
}

const isClone = new WeakSet<DevFile>();
/** SYNC_INIT fds whose mount failed (DEV-13). */
export const failedMount = new WeakSet<DevFile>();

/**
 * FUSE_DEV_IOC_CLONE issued on a new /dev/fuse fd with the old fd as argument: the new fd gets
 * its own fuse_dev on the same connection (DEV-9, BID-1).
 */
export function fuseDevIoctlClone(k: KernelState, oldDev: DevFile, newName: string, t: Trace): Outcome {
  const opened = fuseDevOpen(k, newName, t);
  if (opened.errno !== null) return opened;
  t.fn('fuse_dev_ioctl_clone');
  const nd = k.devFiles.get(newName)!;
  const fc = oldDev.conn;
  if (fc === null) return err(t.vfs('EINVAL', 'fuse_dev_ioctl_clone', 'clone only from a /dev/fuse fd that is mounted or itself a clone'));
  nd.conn = fc;
  fc.devCount++;
  isClone.add(nd);
  t.pass('DEV-9');
  return ok();
}

/** FUSE_DEV_IOC_SYNC_INIT (6.18): mark a fresh fd (DEV-10); EINVAL once attached (DEV-11). */
function fuseDevIoctlSyncInit(k: KernelState, dev: DevFile, t: Trace): Outcome {
  if (!k.profile.syncInit) return err(t.fail('ENOTTY', 'DEV-12', 'FUSE_DEV_IOC_SYNC_INIT exists from 6.18'));
  t.fn('fuse_dev_ioctl_sync_init');
  if (dev.conn !== null) return err(t.fail('EINVAL', 'DEV-11'));
  dev.syncInitMarker = true;
  t.pass('DEV-10');
  return ok();
}

/**
 * fuse_dev_ioctl: dispatch on the exact command word (DEV-1); the compat entry uses the same
 * numbers (DEV-2). `arg` is a zeroed 64-byte buffer unless NULL.
 */
export function fuseDevIoctl(k: KernelState, dev: DevFile, cmd: number, nullArg: boolean, cred: Cred, t: Trace, compat32 = false): Outcome {
  t.fn('fuse_dev_ioctl');
  if (compat32) t.pass('DEV-2');
  switch (cmd >>> 0) {
    case FUSE_DEV_IOC.SYNC_INIT:
      return fuseDevIoctlSyncInit(k, dev, t);
    case FUSE_DEV_IOC.BACKING_OPEN:
      // A zeroed fuse_backing_map names fd 0: the daemon's stdin, /dev/null.
      return fuseDevIoctlBackingOpen(k, dev, { file: fdToFile(k, 0), flags: 0, padding: 0 }, { nullArg, cred, interruptible: false }, t);
    case FUSE_DEV_IOC.BACKING_CLOSE:
      return fuseDevIoctlBackingClose(k, dev, 0, { nullArg, cred, interruptible: false }, t);
    case FUSE_DEV_IOC.CLONE:
      // get_user(oldfd) reads 0 from the zeroed buffer: fd 0 is not a /dev/fuse fd.
      return err(
        nullArg
          ? t.vfs('EFAULT', 'fuse_dev_ioctl_clone', 'the argument must point to the old /dev/fuse fd number')
          : t.vfs('EINVAL', 'fuse_dev_ioctl_clone', 'the fd to clone (here fd 0, from a zeroed argument) must be a mounted /dev/fuse fd or a clone of one'),
      );
    default:
      return err(t.fail('ENOTTY', 'DEV-1', 'not a /dev/fuse ioctl (check the size and direction bits of the command word)'));
  }
}

/** The struct file behind a daemon fd number, as fget_raw sees it. */
export function fdToFile(k: KernelState, fd: number): BackingMap['file'] {
  const tf = k.daemonTask.fds.get(fd);
  // fds 0..2 are the daemon's stdio: /dev/null, as both targets start their daemon (a zeroed
  // fuse_backing_map names fd 0; 6.18 answers EINVAL for the character device, BOPEN-9).
  if (tf === undefined) return fd >= 0 && fd <= 2 ? k.daemonStdio() : null;
  if (tf.kind === 'world') return tf.file;
  return k.devFuseFile(tf.devName);
}

/** read(2) on a /dev/fuse fd outside the daemon loop. */
export function fuseDevRead(k: KernelState, dev: DevFile, t: Trace): Outcome {
  t.fn('fuse_dev_read');
  if (dev.conn === null) return err(t.fail('EPERM', 'DEV-3', 'read /dev/fuse only after mount(2) attached the fd'));
  return { errno: null, fault: { kind: 'unsupported', message: 'read(2) on an attached /dev/fuse fd belongs to the daemon loop' } };
}

/**
 * fuse_dev_release: drop this fuse_dev's connection reference; the last one aborts the
 * connection (LIFE-19) and, with the superblock gone, frees it (LIFE-23..26).
 */
export function fuseDevRelease(k: KernelState, dev: DevFile, t: Trace): Outcome {
  if (dev.fd !== null) {
    k.daemonTask.fds.delete(dev.fd);
    // Names the daemon gave this fd (`devfuse:<dev>`) go with it; the number may be reused.
    for (const [name, fd] of [...k.daemonFds]) if (fd === dev.fd) k.daemonFds.delete(name);
  }
  dev.closed = true;
  k.devFiles.delete(dev.name);
  k.vfs.fput(dev.file);
  if (dev.file.count > 0) {
    // Something else holds this /dev/fuse struct file: a registration of the fd itself, which
    // 6.9-6.16 accept (BOPEN-9 came with 6.17). ->release runs only when that goes, and the fb
    // is freed only with the connection it keeps alive: the connection leaks.
    t.pass('BOPEN-9');
    t.advice ??= 'this /dev/fuse fd is registered as a backing file: its connection can never be freed';
    return ok();
  }
  t.fn('fuse_dev_release');
  const fc = dev.conn;
  dev.conn = null;
  if (fc === null) return ok();
  fc.devCount--;
  if (fc.devCount === 0) {
    fuseAbortConn(fc, t);
    if (fc.sbAlive) t.pass('LIFE-25');
  }
  if (!fc.sbAlive) t.pass(fc.devCount === 0 ? 'LIFE-24' : 'LIFE-26');
  if (fc.sbAlive && fc.idr.size > 0) t.pass('LIFE-27');
  fuseConnPutIfUnused(k, fc, t);
  return ok();
}

export type { Errno };
