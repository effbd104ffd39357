// What the doctor learns about this machine without mounting anything: kernel release,
// /dev/fuse, CAP_SYS_ADMIN, which user namespace we are in, signs of a container, and the
// filesystem a directory lives on (from /proc/self/mountinfo).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface MachineFacts {
  release: string;
  devFuse: { present: boolean; usable: boolean; detail: string };
  uid: number | null;
  /** CAP_SYS_ADMIN in this process's effective set (in its own user namespace). */
  capSysAdmin: boolean | null;
  /** true when /proc/self/uid_map is the identity map of the initial user namespace. */
  initialUserns: boolean | null;
  uidMap: string;
  /** Signs that we run in a container (empty when none found). */
  container: string[];
}

export interface DirFacts {
  path: string;
  exists: boolean;
  mountPoint?: string;
  fsType?: string;
  source?: string;
  /** overlayfs: its lower layers, from the mount options. */
  overlayLowers?: string[];
  /** The depth the filesystem type suggests, before the kernel's own answer. */
  expectedDepth?: string;
}

function read(p: string): string | null {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

export function machineFacts(): MachineFacts {
  let devFuse: MachineFacts['devFuse'];
  try {
    const st = fs.statSync('/dev/fuse');
    let usable = false;
    try {
      fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK);
      usable = st.isCharacterDevice();
    } catch {
      /* not usable */
    }
    devFuse = { present: true, usable, detail: st.isCharacterDevice() ? `character device ${st.rdev >> 8}:${st.rdev & 0xff}` : 'not a character device' };
  } catch {
    devFuse = { present: false, usable: false, detail: 'missing' };
  }
  const status = read('/proc/self/status') ?? '';
  const capHex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const uidMap = (read('/proc/self/uid_map') ?? '').trim().replace(/\s+/g, ' ');
  const container: string[] = [];
  if (fs.existsSync('/.dockerenv')) container.push('/.dockerenv exists');
  if (fs.existsSync('/run/.containerenv')) container.push('/run/.containerenv exists (podman)');
  const env1 = read('/proc/1/environ');
  const c = env1?.split('\0').find((l) => l.startsWith('container='));
  if (c) container.push(`PID 1 has ${c}`);
  const cg = read('/proc/1/cgroup') ?? '';
  const m = /(docker|kubepods|lxc|containerd|libpod)/.exec(cg);
  if (m) container.push(`PID 1's cgroup names ${m[1]}`);
  return {
    release: os.release(),
    devFuse,
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
    capSysAdmin: capHex === undefined ? null : (BigInt(`0x${capHex}`) & (1n << 21n)) !== 0n,
    initialUserns: uidMap === '' ? null : uidMap === '0 0 4294967295',
    uidMap,
    container,
  };
}

/** Undo mountinfo's octal escapes (\040 for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

const DEPTH0 = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'tmpfs', 'f2fs', 'vfat', 'exfat', 'ramfs', 'jfs', 'reiserfs', 'bcachefs', 'nfs', 'nfs4', 'cifs', 'smb3', '9p', 'virtiofs', 'zfs']);

export function dirFacts(dir: string): DirFacts {
  const abs = path.resolve(dir);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return { path: abs, exists: false };
  }
  const out: DirFacts = { path: real, exists: true };
  let best: { mp: string; fsType: string; source: string; opts: string } | undefined;
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const mp = unescape(pre.split(' ')[4] ?? '');
    const inside = real === mp || real.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    // Later lines mount over earlier ones: take the longest, then the last.
    if (inside && (!best || mp.length >= best.mp.length)) {
      const [fsType = '', source = '', opts = ''] = post.split(' ');
      best = { mp, fsType, source: unescape(source), opts };
    }
  }
  if (!best) return out;
  out.mountPoint = best.mp;
  out.fsType = best.fsType;
  out.source = best.source;
  if (best.fsType === 'overlay') {
    const lower = /(?:^|,)lowerdir=([^,]*)/.exec(best.opts)?.[1];
    if (lower) out.overlayLowers = lower.split(':').map(unescape);
    out.expectedDepth = '1 + the deepest layer (1 over a disk filesystem) (STACK-2)';
  } else if (best.fsType === 'fuse' || best.fsType.startsWith('fuse.') || best.fsType === 'fuseblk') {
    out.expectedDepth = '0 without passthrough, its max_stack_depth with it (STACK-1)';
  } else if (DEPTH0.has(best.fsType)) {
    out.expectedDepth = '0 (not stacked) (STACK-3)';
  }
  return out;
}
