// The `lsofHasFile` observable: does any process on the machine have a file open or mapped, as
// lsof finds it? By identity, never by path (another process's paths are its own namespace's):
// an fd matches on the mount and inode /proc/PID/fdinfo shows, a mapping on the device and inode
// of its /proc/PID/maps line. Neither read calls into the file's filesystem, so a FUSE file
// anywhere on the host (a hung daemon's too) is never touched.
import * as fs from 'node:fs';
import { errnoName, type Errno } from '../../spec/errno.ts';
import { sys } from '../ffi/libc.ts';
import { AT_FDCWD, STATX_BASIC_STATS } from '../ffi/consts.ts';

/** include/uapi/linux/stat.h (5.8). */
const STATX_MNT_ID = 0x1000;

interface Identity {
  ino: bigint;
  devMajor: number;
  devMinor: number;
  mntId: bigint;
}

function identityOf(path: string): Identity | Errno {
  const buf = new Uint8Array(256);
  const r = sys.statx(AT_FDCWD, path, 0, STATX_BASIC_STATS | STATX_MNT_ID, buf);
  if (r < 0) return errnoName(r) as Errno;
  const dv = new DataView(buf.buffer);
  // struct statx: stx_ino at 32, stx_dev_major/minor at 136/140, stx_mnt_id at 144.
  return { ino: dv.getBigUint64(32, true), devMajor: dv.getUint32(136, true), devMinor: dv.getUint32(140, true), mntId: dv.getBigUint64(144, true) };
}

function read(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null; // the process or fd went away meanwhile, or is not ours to read
  }
}

function fdMatches(pid: string, id: Identity): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    const info = read(`/proc/${pid}/fdinfo/${fd}`);
    const mnt = info === null ? null : /^mnt_id:\s*(\d+)$/m.exec(info);
    const ino = info === null ? null : /^ino:\s*(\d+)$/m.exec(info);
    return mnt !== null && ino !== null && BigInt(mnt[1]!) === id.mntId && BigInt(ino[1]!) === id.ino;
  });
}

function mapMatches(pid: string, id: Identity): boolean {
  const maps = read(`/proc/${pid}/maps`);
  if (maps === null) return false;
  return maps.split('\n').some((line) => {
    const f = line.split(/\s+/);
    if (f.length < 5 || f[4] === '0') return false;
    const [major, minor] = (f[3] ?? '').split(':').map((h) => parseInt(h, 16));
    return major === id.devMajor && minor === id.devMinor && BigInt(f[4]!) === id.ino;
  });
}

/** 'yes' when some process has `path`'s file open by an fd or mapped; an errno if it has none. */
export function lsofHasFile(path: string): { errno: Errno | null; value?: 'yes' | 'no' } {
  const id = identityOf(path);
  if (typeof id === 'string') return { errno: id };
  const pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  return { errno: null, value: pids.some((pid) => fdMatches(pid, id) || mapMatches(pid, id)) ? 'yes' : 'no' };
}
