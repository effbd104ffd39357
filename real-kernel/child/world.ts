// Builds a fixtures/world.ts World for real, inside the case's private mount namespace: a tmpfs
// work dir (W), a disk dir (D, on the machine's ext4; removed by the case and, if the process is
// killed, by the reaper), overlayfs, inner FUSE mounts served by daemon workers, a read-only bind
// mount, special files. Paths are returned per world file name.
import * as fs from 'node:fs';
import { basename, dirname } from 'node:path';
import type { BackingFileSpec, BackingFs, World } from '../../fixtures/world.ts';
import { DEFAULT_BACKING_BYTE, DEFAULT_FILE_SIZE, KERNEL_WORLD_FILES } from '../../fixtures/world.ts';
import { FUSE_DEV_IOC } from '../../spec/uapi.ts';
import { sys } from '../ffi/libc.ts';
import { MNT_DETACH, MS, O, S_IFCHR } from '../ffi/consts.ts';
import type { DaemonHandle } from '../daemon/handle.ts';
import { encodeBackingMap } from '../../wire/structs.ts';
import { entryPath } from './scratch-path.ts';

export interface BuiltFile {
  name: string;
  spec: BackingFileSpec;
  path: string;
}

export interface InnerConn {
  kind: 'fuse' | 'fusePt1' | 'fusePt2' | 'nestedFuse';
  mnt: string;
  devFd: number;
  daemon: DaemonHandle;
  /** fds of the disk copies registered as backing files (inner PT). */
  held: number[];
}

export interface BuiltWorld {
  work: string;
  disk: string;
  mnt: string;
  files: Map<string, BuiltFile>;
  inner: InnerConn[];
  /** fds kept open by the fixture (sockets). */
  held: number[];
  /** The overlayfs a mountOverlayOnFuse step mounted over the FUSE mount, while mounted. */
  overlayOnFuse: string | null;
  /** The `nestedFuse` world files, mounted by a mountNestedFuse step (mountNestedFuse). */
  nestedFiles: BuiltFile[];
}

export class SetupError extends Error {}

export function fileBytes(spec: BackingFileSpec): Uint8Array {
  if (spec.content !== undefined) return new TextEncoder().encode(spec.content);
  return new Uint8Array(spec.size ?? DEFAULT_FILE_SIZE).fill(DEFAULT_BACKING_BYTE.charCodeAt(0));
}

function mustMount(src: string | null, tgt: string, type: string | null, flags: number, data: string | null): void {
  const r = sys.mount(src, tgt, type, flags, data);
  if (r < 0) throw new SetupError(`mount ${type ?? 'bind'} on ${tgt} failed: errno ${-r}`);
}

function mkdirs(...ds: string[]): void {
  for (const d of ds) fs.mkdirSync(d, { recursive: true });
}

/** Create one world file of its type at `path` (the directory exists). */
function makeFile(path: string, spec: BackingFileSpec, held: number[]): void {
  switch (spec.type ?? 'file') {
    case 'file':
      fs.writeFileSync(path, fileBytes(spec), { mode: spec.mode ?? 0o644 });
      fs.chmodSync(path, spec.mode ?? 0o644); // not the umask's
      return;
    case 'dir':
      fs.mkdirSync(path);
      return;
    case 'fifo': {
      const r = sys.mkfifo(path, 0o644);
      if (r < 0) throw new SetupError(`mkfifo ${path}: errno ${-r}`);
      return;
    }
    case 'socket': {
      const fd = sys.unixSocketAt(path);
      if (fd < 0) throw new SetupError(`socket ${path}: errno ${-fd}`);
      held.push(fd);
      return;
    }
    case 'chardev': {
      // A private node for /dev/null (1:3), so inotify sees only this case's opens.
      const r = sys.mknod(path, S_IFCHR | 0o666, (1 << 8) | 3);
      if (r < 0) throw new SetupError(`mknod ${path}: errno ${-r}`);
      return;
    }
    case 'symlink': {
      const target = `${basename(path)}.target`;
      fs.writeFileSync(entryPath(dirname(path), target), fileBytes(spec));
      fs.symlinkSync(target, path);
      return;
    }
  }
}

/**
 * A memfd with the file's bytes, kept open by the world; its path is the fd's /proc link, which
 * an open follows to the same shmem inode (a new open file description, as for a named file).
 */
function makeMemfd(f: BuiltFile, held: number[]): string {
  const fd = sys.memfdCreate(`fusepass-${f.name}`);
  if (fd < 0) throw new SetupError(`memfd_create for ${f.name}: errno ${-fd}`);
  held.push(fd);
  const bytes = fileBytes(f.spec);
  if (bytes.length > 0 && sys.pwrite(fd, bytes, bytes.length, 0) !== bytes.length) throw new SetupError(`memfd ${f.name}: short write`);
  return `/proc/${process.pid}/fd/${fd}`;
}

/**
 * An anonymous pipe (both ends held by the world) or one end of an AF_UNIX socketpair (both
 * held); its path is the /proc link of the read end or of the first socket. Opening that link
 * reopens the pipe (fifo_open: never waits, both ends are held); a socket cannot be opened by
 * path, so the daemon's open of one is a dup (Session.daemonOpen).
 */
function makeAnonymous(f: BuiltFile, on: 'pipefs' | 'sockfs', held: number[]): string {
  const ends = on === 'pipefs' ? sys.pipe(O.CLOEXEC) : sys.seqpacketPair();
  if (typeof ends === 'number') throw new SetupError(`${on === 'pipefs' ? 'pipe2' : 'socketpair'} for ${f.name}: errno ${-ends}`);
  held.push(...ends);
  return `/proc/${process.pid}/fd/${ends[0]}`;
}

const FUSE_OPTS = (fd: number): string => `fd=${fd},rootmode=40000,user_id=0,group_id=0,allow_other`;

/**
 * Mount the `nestedFuse` files' FUSE filesystem on the directory World.nestedFuseAt of the mount
 * under test: no mkdir there (that would be a request to the outer daemon), and a failed mount
 * is the step's errno, not a setup error. Returns the connection, or −errno.
 */
export function mountNestedFuse(world: BuiltWorld, at: string, daemon: DaemonHandle): InnerConn | number {
  const mnt = entryPath(world.mnt, at);
  const devFd = sys.open('/dev/fuse', O.RDWR | O.CLOEXEC);
  if (devFd < 0) throw new SetupError(`open /dev/fuse: errno ${-devFd}`);
  daemon.serve({ t: 'serve', devFd, nodes: innerNodes(world.nestedFiles, false), createReply: {}, init: { flags: ['INIT_EXT'] }, backingIds: {} });
  const r = sys.mount('fuse.nested', mnt, 'fuse.nested', 0, FUSE_OPTS(devFd));
  if (r < 0) {
    daemon.stop();
    sys.close(devFd);
    return r;
  }
  if (!daemon.waitInit(2, 2000)) {
    // Nothing may outlive the case: the mount, the fd and the pool worker serving it.
    sys.umount2(mnt, MNT_DETACH);
    daemon.stop();
    sys.close(devFd);
    throw new SetupError('nested FUSE: no INIT');
  }
  return { kind: 'nestedFuse', mnt, devFd, daemon, held: [] };
}

/** The inner daemon's nodes for world files: their bytes, passthrough to a copy when `pt`. */
function innerNodes(files: BuiltFile[], pt: boolean): Record<string, { content: string; open?: { flags: ['PASSTHROUGH']; backing: string } }> {
  const nodes: Record<string, { content: string; open?: { flags: ['PASSTHROUGH']; backing: string } }> = {};
  for (const f of files) {
    if ((f.spec.type ?? 'file') !== 'file') throw new SetupError(`world file ${f.name}: only regular files can live on ${f.spec.on}`);
    nodes[f.name] = { content: new TextDecoder().decode(fileBytes(f.spec)), ...(pt ? { open: { flags: ['PASSTHROUGH'], backing: f.name } } : {}) };
  }
  return nodes;
}

/** Mount an inner FUSE filesystem served by `daemon`, serving the given files as nodes. */
function mountInner(
  kind: InnerConn['kind'],
  mnt: string,
  files: BuiltFile[],
  disk: string,
  daemon: DaemonHandle,
): InnerConn {
  mkdirs(mnt);
  const devFd = sys.open('/dev/fuse', O.RDWR | O.CLOEXEC);
  if (devFd < 0) throw new SetupError(`open /dev/fuse: errno ${-devFd}`);
  const pt = kind !== 'fuse';
  daemon.serve({
    t: 'serve',
    devFd,
    nodes: innerNodes(files, pt),
    createReply: {},
    init: pt ? { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: kind === 'fusePt1' ? 1 : 2 } : { flags: ['INIT_EXT'] },
    backingIds: {},
  });
  mustMount('inner', mnt, 'fuse.inner', 0, FUSE_OPTS(devFd));
  if (!daemon.waitInit(2, 2000)) throw new SetupError(`inner FUSE ${kind}: no INIT`);
  const held: number[] = [];
  if (pt) {
    // Inner passthrough: each node's data is a disk copy registered as its backing file.
    const ids: Record<string, number> = {};
    for (const f of files) {
      const p = entryPath(disk, `${kind}-${f.name}`);
      fs.writeFileSync(p, fileBytes(f.spec));
      const fd = sys.open(p, O.RDWR | O.CLOEXEC);
      const id = sys.ioctl(devFd, FUSE_DEV_IOC.BACKING_OPEN, encodeBackingMap({ fd, flags: 0, padding: 0n }));
      if (id < 0) throw new SetupError(`inner ${kind}: BACKING_OPEN of ${p} failed: errno ${-id}`);
      ids[f.name] = id;
      held.push(fd);
    }
    daemon.send({ t: 'ids', backingIds: ids }, true);
  }
  return { kind, mnt, devFd, daemon, held };
}

/**
 * Build the world under `work` (a fresh tmpfs) and `disk` (an empty ext4 dir). `daemons` hands
 * out idle daemon workers for inner FUSE mounts.
 */
export function buildWorld(world: World, work: string, disk: string, daemons: () => DaemonHandle): BuiltWorld {
  const mnt = `${work}/mnt`;
  mkdirs(mnt, `${work}/tmpfs`, disk);
  const held: number[] = [];
  const files = new Map<string, BuiltFile>();
  const byFs = new Map<BackingFs, BuiltFile[]>();
  for (const [name, spec] of Object.entries(world.files ?? {})) {
    const f: BuiltFile = { name, spec, path: '' };
    files.set(name, f);
    byFs.set(spec.on, [...(byFs.get(spec.on) ?? []), f]);
  }
  const inner: InnerConn[] = [];
  for (const [on, list] of byFs) {
    switch (on) {
      case 'disk':
        for (const f of list) makeFile((f.path = entryPath(disk, f.name)), f.spec, held);
        break;
      case 'tmpfs':
        for (const f of list) makeFile((f.path = entryPath(`${work}/tmpfs`, f.name)), f.spec, held);
        break;
      case 'overlay': {
        // Both layers on the disk filesystem (fixtures/world.ts: "overlayfs over the disk
        // filesystem"): a file copied up by a writable open stays a disk file, with the disk's
        // O_DIRECT alignment rules (an upper layer on tmpfs took any alignment).
        const lower = `${disk}/ovl-lower`;
        mkdirs(lower, `${disk}/ovl-upper`, `${disk}/ovl-work`, `${work}/ovl`);
        for (const f of list) makeFile(entryPath(lower, f.name), f.spec, held);
        mustMount('overlay', `${work}/ovl`, 'overlay', 0, `lowerdir=${lower},upperdir=${disk}/ovl-upper,workdir=${disk}/ovl-work`);
        for (const f of list) f.path = entryPath(`${work}/ovl`, f.name);
        break;
      }
      case 'roBind': {
        const src = `${disk}/rob`;
        mkdirs(src, `${work}/rob`);
        for (const f of list) makeFile(entryPath(src, f.name), f.spec, held);
        mustMount(src, `${work}/rob`, null, MS.BIND, null);
        mustMount(null, `${work}/rob`, null, MS.BIND | MS.REMOUNT | MS.RDONLY, null);
        for (const f of list) f.path = entryPath(`${work}/rob`, f.name);
        break;
      }
      case 'self':
        for (const f of list) f.path = entryPath(mnt, f.name);
        break;
      case 'procfs':
      case 'sysfs':
        // The kernel's own file, only read: the loader allows no content, mode or type for it.
        for (const f of list) f.path = KERNEL_WORLD_FILES[on].path;
        break;
      case 'memfd':
        for (const f of list) f.path = makeMemfd(f, held);
        break;
      case 'pipefs':
      case 'sockfs':
        for (const f of list) f.path = makeAnonymous(f, on, held);
        break;
      case 'nestedFuse':
        // Named inside the FUSE mount under test; mounted by a step (mountNestedFuse).
        for (const f of list) f.path = entryPath(`${mnt}/${world.nestedFuseAt ?? ''}`, f.name);
        break;
      case 'fuse':
      case 'overlayOverFuse':
        break;
      case 'fusePt1':
      case 'fusePt2': {
        const c = mountInner(on, `${work}/${on}`, list, disk, daemons());
        inner.push(c);
        for (const f of list) f.path = entryPath(c.mnt, f.name);
        break;
      }
    }
  }
  // One inner FUSE without passthrough serves both `fuse` files and the lower layer of
  // `overlayOverFuse` (STACK-7, STACK-8).
  const plain = [...(byFs.get('fuse') ?? []), ...(byFs.get('overlayOverFuse') ?? [])];
  if (plain.length > 0) {
    const c = mountInner('fuse', `${work}/fuse`, plain, disk, daemons());
    inner.push(c);
    for (const f of byFs.get('fuse') ?? []) f.path = entryPath(c.mnt, f.name);
    const oof = byFs.get('overlayOverFuse') ?? [];
    if (oof.length > 0) {
      mkdirs(`${work}/oof-upper`, `${work}/oof-work`, `${work}/oof`);
      mustMount('overlay', `${work}/oof`, 'overlay', 0, `lowerdir=${c.mnt},upperdir=${work}/oof-upper,workdir=${work}/oof-work`);
      for (const f of oof) f.path = entryPath(`${work}/oof`, f.name);
    }
  }
  return { work, disk, mnt, files, inner, held, overlayOnFuse: null, nestedFiles: byFs.get('nestedFuse') ?? [] };
}
