// The kernel observables of observe steps (kernel-spec.md §13, spec/case.ts ObserveStep), read
// as canonical values from /proc, fusectl and tracefs of the case's namespace.
import * as fs from 'node:fs';
import type { ObserveStep } from '../../spec/case.ts';
import { isErrno, type Errno } from '../../spec/errno.ts';
import type { TargetFault } from '../../spec/observation.ts';

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
    case 'fileFdinfoKeys':
      return { errno: null, value: keys(c.clientFd(s.fd ?? '')) };
    case 'mapsPath': {
      const start = c.mapStart(s.map ?? '').toString(16);
      const line = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.startsWith(`${start}-`)) ?? '';
      return { errno: null, value: line.includes(`${c.mnt}/`) ? 'fuse' : 'backing' };
    }
    // After umount (the superblock died) fusectl has no directory for the connection: the
    // read fails with ENOENT, an observation like any other (OBS-5, OBS-6), not a crash.
    case 'fusectlEntries':
      return c.connDir((dir) => fsErrno(() => ({ errno: null, value: fs.readdirSync(dir).sort().join(',') })));
    case 'fusectlWaiting':
      return c.connDir((dir) => fsErrno(() => ({ errno: null, value: Number(fs.readFileSync(`${dir}/waiting`, 'utf8').trim()) })));
    case 'fdTableHasFile': {
      const target = c.filePath(s.file ?? '');
      const has = fs.readdirSync('/proc/self/fd').some((n) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${n}`) === target;
        } catch {
          return false;
        }
      });
      return { errno: null, value: has ? 'yes' : 'no' };
    }
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
