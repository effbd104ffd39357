// The doctor's probe, run by real-kernel/doctor/probe.ts as
// `unshare --mount --propagation private node probe-child.ts <request JSON>`: everything it mounts
// lives in that private namespace and dies with it. It asks the kernel itself: mount a throwaway
// FUSE filesystem (the raw /dev/fuse daemon of real-kernel/daemon) and read the INIT request
// (does it offer FUSE_PASSTHROUGH, INIT-1?); for a directory, register one of its files with
// BACKING_OPEN under max_stack_depth 1 and 2 (BOPEN-10 is the kernel's answer to "how deep is
// this filesystem"), and try an overlayfs over the FUSE mount (STACK-2). It prints one JSON line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sys } from '../ffi/libc.ts';
import { MNT_DETACH, O, PR_SET_PDEATHSIG } from '../ffi/consts.ts';
import { DaemonHandle } from '../daemon/handle.ts';
import { encodeBackingMap, encodeI32 } from '../../wire/structs.ts';
import { errnoName } from '../../spec/errno.ts';
import { FUSE_DEV_IOC, INIT_FLAG_BITS } from '../../spec/uapi.ts';
import { probeScratchDir, type ProbeRequest, type ProbeResult, type RegistrationProbe } from './types.ts';
import { startGuardian } from '../child/guardian.ts';

const SIGKILL = 9;

function out(r: ProbeResult): never {
  // Synchronous: sys.exit is _exit(2), which would drop a pending asynchronous pipe write.
  fs.writeSync(1, `${JSON.stringify(r)}\n`);
  return sys.exit(0);
}

function fail(message: string): never {
  return out({ error: message, registrations: [] });
}

// ---- safety first: die with the parent, refuse to mount in the host's namespace -------------
sys.prctl(PR_SET_PDEATHSIG, SIGKILL);
if (String(sys.getppid()) !== process.env['FUSEPASS_DOCTOR_PARENT']) {
  // unshare(1) execs us, so our parent is the doctor itself.
  fail('the doctor probe lost its parent');
}
if (fs.readlinkSync('/proc/self/ns/mnt') === fs.readlinkSync(`/proc/${sys.getppid()}/ns/mnt`)) fail('not in a private mount namespace; refusing to mount anything');

const req = JSON.parse(process.argv[2] ?? '{}') as ProbeRequest;

/** A regular file under `dir` (breadth first, a bounded walk), or null. */
function findRegularFile(dir: string): string | null {
  const st = fs.statSync(dir);
  if (st.isFile()) return dir;
  let level = [dir];
  let seen = 0;
  for (let depth = 0; depth < 3 && level.length > 0; depth++) {
    const next: string[] = [];
    for (const d of level) {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (++seen > 5000) return null;
        const p = path.join(d, e.name);
        if (e.isFile()) return p;
        // Stay on DIR's filesystem: a directory below may be another mount.
        if (e.isDirectory() && fs.statSync(p).dev === st.dev) next.push(p);
      }
    }
    level = next;
  }
  return null;
}

// ---- open the backing file before anything is mounted ----------------------------------------
let backingFd = -1;
let file: ProbeResult['file'];
if (req.dir !== undefined) {
  let target = findRegularFile(req.dir);
  let created = false;
  if (target === null) {
    // No regular file to register: a temporary one, removed again below.
    target = path.join(fs.statSync(req.dir).isDirectory() ? req.dir : path.dirname(req.dir), `.fusepass-doctor-${process.pid}`);
    try {
      fs.writeFileSync(target, '', { flag: 'wx' });
      created = true;
    } catch (e) {
      file = { error: `no regular file under ${req.dir} and cannot create one: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
      target = null;
    }
  }
  if (target !== null) {
    const fd = sys.open(target, O.RDONLY | O.CLOEXEC | O.NONBLOCK | O.NOFOLLOW, 0);
    if (created) fs.rmSync(target, { force: true });
    if (fd < 0) file = { path: target, created, error: `open failed: ${errnoName(fd)}` };
    else {
      backingFd = fd;
      file = { path: target, created };
    }
  }
}

// ---- a private scratch area ---------------------------------------------------------------
// Not /tmp: the repo, whose scripts the daemon workers load, may live under it. The parent
// (probe.ts) removes this directory once we are gone; here it is a mountpoint in our namespace only.
const scratch = probeScratchDir(process.pid);
// Guarded like the kernel target's child: removed once we are gone, even when killed.
startGuardian(scratch, String(process.env['FUSEPASS_DOCTOR_PARENT']));
if (sys.mount('tmpfs', scratch, 'tmpfs', 0, 'mode=755') < 0) fail(`cannot mount a private tmpfs on ${scratch}`);
if (!fs.existsSync('/sys/fs/fuse/connections/') || fs.readdirSync('/sys/fs/fuse/connections').length === 0) {
  // So that the parent can abort our connection through /proc/<pid>/root if we hang.
  sys.mount('fusectl', '/sys/fs/fuse/connections', 'fusectl', 0, null);
}

const daemon = await DaemonHandle.start();

interface Mounted {
  dev: number;
  mnt: string;
  offered: NonNullable<ProbeResult['offered']>;
}

/** Mount a FUSE fs whose daemon answers INIT with passthrough and `msd`; null + errno on failure. */
function mountFuse(msd: number, mnt: string): Mounted | { errno: string } {
  fs.mkdirSync(mnt, { recursive: true });
  const dev = sys.open('/dev/fuse', O.RDWR | O.CLOEXEC, 0);
  if (dev < 0) return { errno: errnoName(dev) };
  daemon.serve({ t: 'serve', devFd: dev, nodes: {}, createReply: {}, init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: msd }, backingIds: {} });
  const r = sys.mount('fusepass-doctor', mnt, 'fuse.fusepass-doctor', 0, `fd=${dev},rootmode=40000,user_id=0,group_id=0,allow_other`);
  if (r < 0) {
    daemon.stop();
    sys.close(dev);
    return { errno: errnoName(r) };
  }
  if (!daemon.waitInit(2, 3000)) {
    unmount({ dev, mnt, offered: { major: 0, minor: 0, initExt: false, passthrough: false } });
    return { errno: 'ETIMEDOUT' };
  }
  const q = daemon.initRequest();
  const word = BigInt(q.flags) | (BigInt(q.flags2) << 32n);
  const has = (n: keyof typeof INIT_FLAG_BITS) => (word & (1n << BigInt(INIT_FLAG_BITS[n]))) !== 0n;
  return { dev, mnt, offered: { major: q.major, minor: q.minor, initExt: has('INIT_EXT'), passthrough: has('PASSTHROUGH') } };
}

function unmount(m: Mounted): void {
  sys.umount2(m.mnt, MNT_DETACH);
  daemon.stop();
  sys.close(m.dev);
}

/** overlayfs with the FUSE mount as its lower layer: 0 or the errno (STACK-2: EINVAL when too deep). */
function overlayOver(lower: string, base: string): string | null {
  const up = `${base}/upper`;
  const wk = `${base}/work`;
  const at = `${base}/merged`;
  fs.mkdirSync(up, { recursive: true });
  fs.mkdirSync(wk, { recursive: true });
  fs.mkdirSync(at, { recursive: true });
  const r = sys.mount('overlay', at, 'overlay', 0, `lowerdir=${lower},upperdir=${up},workdir=${wk}`);
  if (r < 0) return errnoName(r);
  sys.umount2(at, MNT_DETACH);
  return null;
}

const result: ProbeResult = { registrations: [] };
if (file) result.file = file;
for (const msd of [1, 2]) {
  const m = mountFuse(msd, `${scratch}/doctor-msd${msd}`);
  if ('errno' in m) {
    if (msd === 1) {
      result.mountErrno = m.errno;
      break;
    }
    continue;
  }
  if (msd === 1) result.offered = m.offered;
  const reg: RegistrationProbe = { msd, errno: null, overlayOnTop: overlayOver(m.mnt, `${scratch}/doctor-ovl${msd}`) };
  if (backingFd >= 0) {
    const id = sys.ioctl(m.dev, FUSE_DEV_IOC.BACKING_OPEN, encodeBackingMap({ fd: backingFd, flags: 0, padding: 0n }));
    if (id < 0) reg.errno = errnoName(id);
    else {
      reg.id = id;
      sys.ioctl(m.dev, FUSE_DEV_IOC.BACKING_CLOSE, encodeI32(id));
    }
  }
  result.registrations.push(reg);
  unmount(m);
  if (!m.offered.passthrough) break;
}
if (backingFd >= 0) sys.close(backingFd);
// No daemon.terminate(): the worker may sit in a blocking poll that terminate cannot interrupt;
// _exit(2) in out() ends every thread, and the namespace with its mounts goes with us.
out(result);
