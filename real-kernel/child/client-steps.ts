// The client's half of a case on the kernel: its fds and mappings by name and the syscalls of
// every client step (spec/case.ts ClientStep) against a FUSE mount. Shared by the case session
// (our scripted daemon) and `fusepass check`'s battery (someone else's daemon), so a scenario
// is the same case-format steps whichever daemon answers.
import { basename, dirname } from 'node:path';
import koffi from 'koffi';
import type { ClientStep, OpenFlagName } from '../../spec/case.ts';
import type { TargetFault } from '../../spec/observation.ts';
import { summarizeBytes } from '../../spec/observation.ts';
import { errnoName, type Errno } from '../../spec/errno.ts';
import { sys, type Pointer } from '../ffi/libc.ts';
import { asNobody } from '../ffi/caps.ts';
import { AT_EMPTY_PATH, AT_FDCWD, AT_STATX_DONT_SYNC, MAP_PRIVATE, MAP_SHARED, O, PROT_READ, PROT_WRITE, SEEK, STATX_BASIC_STATS } from '../ffi/consts.ts';
import { withPageBuffer } from './aligned.ts';
import { MappedMemory } from './mapped-memory.ts';

export const OPEN_FLAG: Record<OpenFlagName, number> = {
  O_RDONLY: O.RDONLY,
  O_WRONLY: O.WRONLY,
  O_RDWR: O.RDWR,
  O_CREAT: O.CREAT,
  O_EXCL: O.EXCL,
  O_TRUNC: O.TRUNC,
  O_APPEND: O.APPEND,
  O_DIRECT: O.DIRECT,
  O_SYNC: O.SYNC,
  O_NOATIME: O.NOATIME,
  O_NONBLOCK: O.NONBLOCK,
};

/** A step's raw outcome before observers are attached. */
export interface Outcome {
  errno?: Errno | null;
  value?: number | string | null;
  fault?: TargetFault;
  /** Observer steps (inspectBacking, observe) open files themselves: drop their events. */
  quiet?: boolean;
}

export function res(r: number, value?: number | string | null): Outcome {
  if (r < 0) return { errno: errnoName(r) as Errno };
  return value === undefined ? { errno: null } : { errno: null, value };
}

export interface ClientHooks {
  /** The path of a node (the mount's root for none), on the named mount `mount` if given. */
  path(node: string | undefined, mount?: string): string;
  /** Called before open/opendir look a node up (on the mount under test, unless `mount`). */
  beforeLookup?(node: string | undefined, mount?: string): void;
  /** A client fd was opened on this named mount (MountStep.as), or on the mount under test. */
  opened?(fd: number, mount: string | undefined): void;
  /** close(2) of a FUSE file, with whatever the caller must arrange around the last one. */
  closeFile(fd: number): number;
  /** The path of a world file, for steps that open one outside FUSE (copyRange fromFile/toFile). */
  worldFilePath?(name: string): string;
}

export interface Mapping {
  p: Pointer;
  len: number;
  writable: boolean;
}

export class ClientSteps {
  readonly fds = new Map<string, number>();
  readonly maps = new Map<string, Mapping>();
  private readonly mapped = new MappedMemory();

  constructor(private readonly hooks: ClientHooks) {}

  fd(name: string): number {
    const fd = this.fds.get(name);
    if (fd === undefined) throw new Error(`no client fd named ${name}`);
    return fd;
  }

  mapOf(name: string): Mapping {
    const m = this.maps.get(name);
    if (!m) throw new Error(`no mapping named ${name}`);
    return m;
  }

  run(s: ClientStep): Outcome {
    switch (s.op) {
      case 'open': {
        this.hooks.beforeLookup?.(s.node, s.mount);
        const flags = (s.flags ?? ['O_RDONLY']).reduce((a, f) => a | OPEN_FLAG[f], 0) | O.CLOEXEC;
        const fd = s.user === 'nobody' ? this.openAsNobody(this.hooks.path(s.node, s.mount), flags) : sys.open(this.hooks.path(s.node, s.mount), flags, 0o644);
        if (fd >= 0) {
          this.fds.set(s.as, fd);
          this.hooks.opened?.(fd, s.mount);
        }
        return res(fd);
      }
      case 'opendir': {
        this.hooks.beforeLookup?.(s.node, s.mount);
        const fd = sys.open(this.hooks.path(s.node, s.mount), O.RDONLY | O.DIRECTORY | O.CLOEXEC);
        if (fd >= 0) {
          this.fds.set(s.as, fd);
          this.hooks.opened?.(fd, s.mount);
        }
        return res(fd);
      }
      case 'readdir': {
        const names = sys.getdents(this.fd(s.fd));
        return typeof names === 'number' ? res(names) : { errno: null, value: names.filter((n) => n !== '.' && n !== '..').sort().join(',') };
      }
      case 'read': {
        const fd = this.fd(s.fd);
        // Page-aligned memory: an O_DIRECT file rejects a misaligned buffer (aligned.ts).
        return withPageBuffer(s.length, (p, view) => {
          const n = sys.readPtr(fd, p, s.length, s.offset ?? null);
          return res(n, n >= 0 ? summarizeBytes(view.subarray(0, n)) : undefined);
        });
      }
      case 'write': {
        const data = new TextEncoder().encode(s.data);
        const fd = this.fd(s.fd);
        return withPageBuffer(data.length, (p, view) => {
          view.set(data);
          const n = sys.writePtr(fd, p, data.length, s.offset ?? null);
          return res(n, n);
        });
      }
      case 'spliceRead': {
        const p = sys.pipe();
        if (typeof p === 'number') return res(p);
        try {
          const n = sys.splice(this.fd(s.fd), s.offset ?? null, p[1], null, s.length);
          if (n < 0) return res(n);
          const buf = new Uint8Array(n);
          const m = n > 0 ? sys.read(p[0], buf) : 0;
          return res(m, summarizeBytes(buf.subarray(0, Math.max(m, 0))));
        } finally {
          sys.close(p[0]);
          sys.close(p[1]);
        }
      }
      case 'spliceWrite': {
        const p = sys.pipe();
        if (typeof p === 'number') return res(p);
        try {
          const data = new TextEncoder().encode(s.data);
          sys.write(p[1], data);
          const n = sys.splice(p[0], null, this.fd(s.fd), s.offset ?? null, data.length);
          return res(n, n);
        } finally {
          sys.close(p[0]);
          sys.close(p[1]);
        }
      }
      case 'mmap': {
        const len = s.length ?? 4096;
        const m = sys.mmap(len, PROT_READ | (s.write ? PROT_WRITE : 0), s.shared ? MAP_SHARED : MAP_PRIVATE, this.fd(s.fd));
        if (typeof m === 'number') return res(m);
        this.maps.set(s.as, { p: m, len, writable: s.write === true });
        return { errno: null };
      }
      case 'mapRead': {
        // Through /proc/self/mem: a load past EOF is a SIGBUS fault, not a dead child.
        const m = this.mapOf(s.map);
        const off = s.offset ?? 0;
        const n = Math.max(0, Math.min(s.length, m.len - off));
        const got = this.mapped.load(koffi.address(m.p) + BigInt(off), n);
        return got.bytes ? { errno: null, value: summarizeBytes(got.bytes) } : { errno: null, fault: got.fault! };
      }
      case 'mapWrite': {
        const m = this.mapOf(s.map);
        const off = s.offset ?? 0;
        const data = new TextEncoder().encode(s.data).subarray(0, Math.max(0, m.len - off));
        const fault = this.mapped.store(koffi.address(m.p) + BigInt(off), data, m.writable);
        return fault ? { errno: null, fault } : { errno: null };
      }
      case 'munmap': {
        const m = this.mapOf(s.map);
        this.maps.delete(s.map);
        return res(sys.munmap(m.p, m.len));
      }
      case 'stat': {
        const buf = new Uint8Array(256);
        const flags = s.dontSync ? AT_STATX_DONT_SYNC : 0;
        const r =
          s.fd !== undefined
            ? sys.statx(this.fd(s.fd), '', flags | AT_EMPTY_PATH, STATX_BASIC_STATS, buf)
            : sys.statx(AT_FDCWD, this.hooks.path(s.node, s.mount), flags, STATX_BASIC_STATS, buf);
        return res(r, r >= 0 ? Number(new DataView(buf.buffer).getBigUint64(40, true)) : undefined);
      }
      case 'lseek': {
        const r = sys.lseek(this.fd(s.fd), s.offset, SEEK[s.whence]);
        return res(r, r);
      }
      case 'ftruncate':
        return res(sys.ftruncate(this.fd(s.fd), s.size));
      case 'fsync':
        return res(s.dataOnly ? sys.fdatasync(this.fd(s.fd)) : sys.fsync(this.fd(s.fd)));
      case 'fallocate':
        return res(sys.fallocate(this.fd(s.fd), 0, s.offset, s.length));
      case 'posixFallocate':
        return res(sys.posixFallocate(this.fd(s.fd), s.offset, s.length));
      case 'fileIoctl':
        return res(sys.ioctl(this.fd(s.fd), s.cmd, new Uint8Array(64)));
      case 'copyRange':
        return this.withSides(s, (from, to) => {
          const r = sys.copyFileRange(from, to, s.length, s.fromOffset, s.toOffset);
          return res(r, r);
        });
      case 'sendfile':
        return this.withSides(s, (from, to) => {
          const r = sys.sendfile(to, from, s.length, s.offset);
          return res(r, r);
        });
      case 'close': {
        const fd = this.fd(s.fd);
        const r = this.hooks.closeFile(fd);
        this.fds.delete(s.fd);
        return res(r);
      }
      case 'getxattr': {
        const r = sys.fgetxattr(this.fd(s.fd), s.name, new Uint8Array(256));
        return res(r, r);
      }
      case 'lock':
        // A daemon fd's lock is the session's (CaseSession); here a client fd's.
        if (s.fd === undefined) throw new Error('lock: no client fd');
        return res(sys.lock(this.fd(s.fd), s.kind, s.type));
      case 'unlink':
        this.hooks.beforeLookup?.(s.node, s.mount);
        return res(sys.unlink(this.hooks.path(s.node, s.mount)));
      case 'rename':
        this.hooks.beforeLookup?.(s.from, s.mount);
        this.hooks.beforeLookup?.(s.to, s.mount);
        return res(sys.rename(this.hooks.path(s.from, s.mount), this.hooks.path(s.to, s.mount)));
    }
  }

  /**
   * open(2) as uid/gid 65534: the walk starts at an O_PATH fd of the node's directory, taken as
   * root, because the case's scratch directories above the mount are root's alone (0700).
   */
  /**
   * Run a two-fd step (copyRange, sendfile) on its source and destination: client fds, or world
   * files the step opens (read-only as the source, write-only as the destination) and closes after.
   */
  private withSides(s: { from?: string; to?: string; fromFile?: string; toFile?: string }, run: (from: number, to: number) => Outcome): Outcome {
    const opened: number[] = [];
    const side = (fd: string | undefined, file: string | undefined, flags: number): number => {
      if (fd !== undefined) return this.fd(fd);
      if (file === undefined || this.hooks.worldFilePath === undefined) throw new Error('a side with neither a client fd nor a world file');
      const r = sys.open(this.hooks.worldFilePath(file), flags | O.CLOEXEC);
      if (r >= 0) opened.push(r);
      return r;
    };
    try {
      const from = side(s.from, s.fromFile, O.RDONLY);
      if (from < 0) return res(from);
      const to = side(s.to, s.toFile, O.WRONLY);
      if (to < 0) return res(to);
      return run(from, to);
    } finally {
      for (const fd of opened) sys.close(fd);
    }
  }

  private openAsNobody(path: string, flags: number): number {
    const dir = sys.open(dirname(path), O.PATH | O.DIRECTORY | O.CLOEXEC);
    if (dir < 0) return dir;
    try {
      return asNobody(() => sys.openat(dir, basename(path), flags, 0o644));
    } finally {
      sys.close(dir);
    }
  }

  /** Unmap, then close every fd still open, plainly (teardown: the caller pinned the mount). */
  releaseAll(): void {
    for (const m of this.maps.values()) sys.munmap(m.p, m.len);
    this.maps.clear();
    for (const fd of this.fds.values()) sys.close(fd);
    this.fds.clear();
  }

  close(): void {
    this.mapped.close();
  }
}
