// The kernel observables of observe steps (kernel-spec.md §13, spec/case.ts ObserveStep), read
// as canonical values from /proc, fusectl and tracefs of the case's namespace.
import { INIT_FLAG_BITS } from '../../spec/uapi.ts';
import * as fs from 'node:fs';
import type { ObserveStep } from '../../spec/case.ts';
import { isErrno, type Errno } from '../../spec/errno.ts';
import type { TargetFault } from '../../spec/observation.ts';
import { lsofHasFile } from './lsof.ts';

export interface ObserveContext {
  devFd(name: string): number;
  clientFd(name: string): number;
  /** Start address of a mapping. */
  mapStart(name: string): bigint;
  mnt: string;
  /**
   * Run `use` on the fusectl directory of the mount's connection while it is still ours;
   * errno ENOENT when it is gone (fusectl.ts).
   */
  connDir<T>(use: (dir: string) => T): T | { errno: Errno };
  filePath(name: string): string;
  /** Whether the mount under test is still attached at `mnt` (false after a lazy umount). */
  mounted: boolean;
  /** st_dev minor of the mount under test (its connection number), or null. */
  fuseMinor: number | null;
  /** The INIT request of the last mount as `<major>.<minor> <FLAGS>`, or '' before one. */
  initOffer: string;
  /** The case's further FUSE mounts (MountStep.as): their directories and connection numbers. */
  namedMounts: readonly { mnt: string; minor: number | null }[];
}

/**
 * The path /proc shows for a file of the mount under test: under `mnt` while attached; after a
 * lazy umount d_path() can only show the path inside the detached mount ("/<name>").
 */
function shownPaths(path: string, c: ObserveContext): string[] {
  if (c.mounted || !path.startsWith(`${c.mnt}/`)) return [path];
  return [path, path.slice(c.mnt.length)];
}

export interface ObserveOutcome {
  errno?: Errno | null;
  value?: number | string | null;
  fault?: TargetFault;
}

/** A node:fs failure with a known errno code becomes that errno; anything else is a harness bug. */
function fsErrno(read: () => ObserveOutcome): ObserveOutcome {
  try {
    return read();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && isErrno(code)) return { errno: code };
    throw e;
  }
}

export function observeKernel(s: ObserveStep, c: ObserveContext): ObserveOutcome {
  const keys = (fd: number): string =>
    fs
      .readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => l.split(':')[0]!.trim())
      .sort()
      .join(',');
  switch (s.what) {
    case 'devFdinfoKeys':
      return { errno: null, value: keys(c.devFd(s.dev ?? '')) };
    case 'devFdinfoValues': {
      const fields = new Map(
        fs
          .readFileSync(`/proc/self/fdinfo/${c.devFd(s.dev ?? '')}`, 'utf8')
          .split('\n')
          .filter((l) => l.includes(':'))
          .map((l) => [l.split(':')[0]!.trim(), l.slice(l.indexOf(':') + 1).trim()] as const),
      );
      // mnt_id and ino are the host's; fuse_connection only as "the mount's or another".
      const conn = fields.get('fuse_connection');
      const connText = conn === undefined ? '' : `,fuse_connection:${Number(conn) === c.fuseMinor ? 'mount' : 'other'}`;
      return { errno: null, value: `pos:${fields.get('pos')},flags:${fields.get('flags')}${connText}` };
    }
    case 'fileFdinfoKeys':
      return { errno: null, value: keys(c.clientFd(s.fd ?? '')) };
    case 'mapsPath': {
      const start = c.mapStart(s.map ?? '').toString(16);
      const line = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.startsWith(`${start}-`)) ?? '';
      // The device column names the filesystem even after a lazy umount, when the path column
      // can no longer show the mountpoint.
      const dev = line.split(/\s+/)[3] ?? '';
      // Any FUSE mount of the case: the mount under test, or a named one the mapping's file is on.
      const mounts = [{ mnt: c.mnt, minor: c.fuseMinor }, ...c.namedMounts];
      const onFuse = mounts.some((m) => line.includes(`${m.mnt}/`) || (m.minor !== null && dev === `00:${m.minor.toString(16).padStart(2, '0')}`));
      return { errno: null, value: onFuse ? 'fuse' : 'backing' };
    }
    // After umount (the superblock died) fusectl has no directory for the connection: the
    // read fails with ENOENT, an observation like any other (OBS-5, OBS-6), not a crash.
    case 'fusectlEntries':
      return c.connDir((dir) => fsErrno(() => ({ errno: null, value: fs.readdirSync(dir).sort().join(',') })));
    case 'fusectlValues':
      return c.connDir((dir) =>
        fsErrno(() => {
          const value = (name: string) => fs.readFileSync(`${dir}/${name}`, 'utf8').trim();
          return { errno: null, value: `max_background:${value('max_background')},congestion_threshold:${value('congestion_threshold')}` };
        }),
      );
    case 'fusectlWaiting':
      return c.connDir((dir) => fsErrno(() => ({ errno: null, value: Number(fs.readFileSync(`${dir}/waiting`, 'utf8').trim()) })));
    case 'fdTableHasFile': {
      // d_path of an unlinked file ends in " (deleted)" (unlinkWorldFile): still the same file.
      const shown = shownPaths(c.filePath(s.file ?? ''), c);
      const targets = [...shown, ...shown.map((p) => `${p} (deleted)`)];
      const has = fs.readdirSync('/proc/self/fd').some((n) => {
        try {
          return targets.includes(fs.readlinkSync(`/proc/self/fd/${n}`));
        } catch {
          return false;
        }
      });
      return { errno: null, value: has ? 'yes' : 'no' };
    }
    case 'lsofHasFile':
      return lsofHasFile(c.filePath(s.file ?? ''));
    case 'initOffer':
      return { errno: null, value: c.initOffer };
    case 'fuseTracepoints': {
      for (const dir of ['/sys/kernel/tracing/events/fuse', '/sys/kernel/debug/tracing/events/fuse']) {
        try {
          return { errno: null, value: fs.readdirSync(dir).filter((n) => n !== 'enable' && n !== 'filter').sort().join(',') };
        } catch {
          /* try the next place */
        }
      }
      return { fault: { kind: 'setup', message: 'tracefs not available' } };
    }
  }
}

/**
 * The INIT request the daemon received, as the initOffer observable shows it (every flag, in bit
 * order) and as the mount step's value does (only INIT_EXT and PASSTHROUGH). The high word
 * counts only with INIT_EXT (INIT-6).
 */
export function initOfferTexts(req: { major: number; minor: number; flags: number; flags2: number }): { whole: string; step: string } {
  const word = BigInt(req.flags) | (BigInt(req.flags2) << 32n);
  const has = (n: keyof typeof INIT_FLAG_BITS) => (word & (1n << BigInt(INIT_FLAG_BITS[n]))) !== 0n;
  const all = (Object.keys(INIT_FLAG_BITS) as (keyof typeof INIT_FLAG_BITS)[]).filter((n) => has(n) && (INIT_FLAG_BITS[n] < 32 || has('INIT_EXT')));
  const whole = `${req.major}.${req.minor} ${all.sort((a, b) => INIT_FLAG_BITS[a] - INIT_FLAG_BITS[b]).join(',')}`;
  const offers = (['INIT_EXT', 'PASSTHROUGH'] as const).filter(has);
  return { whole, step: `${req.major}.${req.minor} offers:${offers.join(',')}` };
}
