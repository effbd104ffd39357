// The inner FUSE mount whose daemon a case observes (World.observeInnerDaemon: world files
// `on: fuse` or `nestedFuse`) served through a FUSE connection of its own: a second KernelState
// that shares the machine's VFS, with the scripted daemon's defaults (INIT_EXT, no passthrough)
// as real-kernel/child/world.ts mounts it. The files' bytes
// stay the world inodes' (the inner daemon's storage); what this adds is the kernel between
// them: OPEN per struct file, the page cache and readahead of the inner FUSE inode, written-
// through WRITEs, FLUSH at close, RELEASE at the last fput. Those are the requests
// World.observeInnerDaemon shows.
import type { FuseNodeSpec, World } from '../fixtures/world.ts';
import type { OpenFlagName } from '../spec/case.ts';
import { ModelDaemon } from './daemon.ts';
import { fuseGetattr, fuseLookup } from './dir.ts';
import type { FuseOpcodeName } from '../spec/uapi.ts';
import type { DaemonPort, DaemonReply, FuseRequest } from './daemon-port.ts';
import { Trace } from './explain.ts';
import { fuseFlush, fuseOpen, fusePutFile } from './file.ts';
import { fuseAbortConn, processInitReply } from './inode.ts';
import { fuseBackingOpen } from './backing.ts';
import { fuseFileMmap, mapRead, mapWrite, munmap, type MmapArgs } from './mmap.ts';
import { fuseReadData, fuseWrite } from './rw.ts';
import { KernelState } from './state.ts';
import type { FuseOpenFile, Mapping } from './types.ts';
import type { Outcome } from './outcome.ts';
import { CRED_ROOT, type InnerFileOps, type Vfs, type WFile, type WInode } from './world/vfs.ts';

export type InnerFuseKind = 'fuse' | 'nestedFuse' | 'fusePt1' | 'fusePt2';

/**
 * The inner daemon: the scripted daemon's answers, with READ, WRITE and size changes on the
 * world inodes' bytes (its nodes are the world files, `sizeFrom` themselves for GETATTR).
 */
class InnerDaemon implements DaemonPort {
  private readonly model: ModelDaemon;

  constructor(
    world: World,
    vfs: Vfs,
    private readonly inodes: ReadonlyMap<string, WInode>,
    /** The inner connection's backing ids by world file name (fusePt1, fusePt2). */
    ids: ReadonlyMap<string, number>,
  ) {
    this.model = new ModelDaemon(world, (name) => ids.get(name) ?? 0, {
      size: (name) => {
        const i = inodes.get(name);
        return i === undefined ? 0 : vfs.size(i);
      },
      truncate: (name, size) => {
        const i = inodes.get(name);
        if (i !== undefined) vfs.truncate(i, size);
      },
    });
  }

  request(req: FuseRequest): DaemonReply {
    if (req.op === 'READ' || req.op === 'WRITE') {
      const bytes = this.inodes.get(this.model.nodeOf(req.nodeid)?.name ?? '')?.bytes;
      if (req.op === 'READ') return { error: null, data: bytes === undefined ? new Uint8Array(0) : bytes.pread(req.offset, req.size).slice() };
      bytes?.pwrite(req.offset, req.data);
      return { error: null, written: req.data.length };
    }
    return this.model.request(req);
  }
}

export class InnerFuse implements InnerFileOps {
  /** The inner connection's kernel state, made at the mount. */
  private k: KernelState | null = null;
  /** The inner FUSE file behind each struct file the VFS opened on the mount. */
  private readonly files = new Map<WFile, FuseOpenFile>();
  /** The mapping the inner fuse_file_mmap made for a VMA on one of its files. */
  private readonly maps = new Map<Mapping, Mapping>();

  constructor(
    private readonly outer: KernelState,
    readonly kind: InnerFuseKind,
  ) {}

  /**
   * mount(2) of the inner filesystem, as the kernel target's inner daemon answers INIT: with
   * INIT_EXT only (no passthrough, no async reads, no writeback cache), or for fusePt1 and
   * fusePt2 with passthrough (max_stack_depth 1 or 2) and every file answered PASSTHROUGH with a
   * disk copy of its bytes, registered at the mount (real-kernel/child/world.ts mountInner). The
   * copy here shares the world file's bytes: the inner daemon's storage is that copy.
   */
  mount(): void {
    if (this.k !== null) return;
    const pt = this.kind === 'fusePt1' || this.kind === 'fusePt2';
    const inodes = new Map<string, WInode>();
    const nodes: Record<string, FuseNodeSpec> = {};
    for (const [name, f] of this.outer.backing.files) {
      if (f.spec.on !== this.kind) continue;
      inodes.set(name, f.inode);
      nodes[name] = pt ? { sizeFrom: name, open: { flags: ['PASSTHROUGH'], backing: name } } : { sizeFrom: name };
    }
    const world: World = { nodes };
    const ids = new Map<string, number>();
    const vfs = this.outer.vfs;
    const k = new KernelState(this.outer.profile, world, { vfs, port: new InnerDaemon(world, vfs, inodes, ids) });
    const fc = k.newConn();
    fc.sbAlive = true;
    fc.mounted = true;
    fc.devCount = 1;
    k.conn = fc;
    const t = new Trace();
    k.send(t, { op: 'INIT', nodeid: 0, minor: this.outer.profile.protoMinor, flags: [] });
    processInitReply(this.outer.profile, fc, pt ? { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: this.kind === 'fusePt1' ? 1 : 2 } : { flags: ['INIT_EXT'] }, t);
    for (const [name, inode] of pt ? inodes : []) {
      // The daemon's fd on the copy stays open for the whole case, as the world's own fds do.
      const copy = vfs.openFileUnwatched(vfs.newExternalInode('file', this.outer.backing.mounts.disk, inode.bytes!), 'rw');
      const id = fuseBackingOpen(k, fc, { file: copy, flags: 0, padding: 0 }, CRED_ROOT, t);
      if (typeof id === 'number') ids.set(name, id);
    }
    this.k = k;
  }

  /** fc->no_statx: the daemon answered STATX with ENOSYS. */
  private noStatx = false;

  /**
   * The bytes of an inode on the mount as the kernel target's inspectBacking reads them: lstat
   * by path, then readFileSync (open, fstat, one read of the size, close); no event anyone
   * watches. libuv's stat calls ask STATX_BTIME, beyond the basic stats, which no reply but a
   * STATX's makes valid: fuse_update_get_attr sends STATX until the daemon's ENOSYS sets
   * fc->no_statx, then GETATTR only for invalid basic attributes.
   */
  inspect(inode: WInode): Uint8Array {
    const t = new Trace();
    const k = this.state();
    const fi = fuseLookup(k, inode.watchName, t);
    if (typeof fi === 'string') return new Uint8Array(0);
    if (!this.noStatx) {
      const r = k.send(t, { op: 'STATX', nodeid: fi.nodeid });
      this.noStatx = typeof r !== 'string' && r.error === 'ENOSYS';
    }
    // After the ENOSYS, fuse_update_get_attr retries with the basic mask (6.18: STATX, then
    // GETATTR for attributes a writeback had invalidated).
    if (this.noStatx) fuseGetattr(k, fi, false, t);
    const w = this.outer.vfs.openFileUnwatched(inode, 'r');
    this.open(w);
    const file = this.fileOf(w);
    if (file === undefined) return new Uint8Array(0);
    fuseGetattr(this.state(), file.ff.inode, false, t);
    const bytes = this.read(w, 0, file.ff.inode.iSize, false).slice();
    this.flush(w);
    this.release(w);
    return bytes;
  }

  /** The inner daemon's requests since the last call (World.observeInnerDaemon). */
  takeRequests(): FuseOpcodeName[] {
    return this.k === null ? [] : this.k.takeRequestLog();
  }

  /** The inner daemon reads its queued background requests (RELEASE), as the outer's does. */
  deliverBackground(): void {
    this.k?.deliverBackground();
  }

  private state(): KernelState {
    if (this.k === null) {
      // The `fuse` mount was there before the first step: its INIT is no step's request.
      this.mount();
      this.k!.takeRequestLog();
    }
    return this.k!;
  }

  /** The inner FUSE file of a struct file opened on the mount, if its ->open succeeded. */
  private fileOf(f: WFile): FuseOpenFile | undefined {
    return this.files.get(f);
  }

  open(f: WFile): void {
    if (f.mode === 'path') return;
    const k = this.state();
    // The path walk (or backing_file_open's vfs_open of a known path) and fuse_open; O_TRUNC
    // never reaches here (backing_file_open drops it, PTF-3; the daemon opens without it).
    const r = fuseOpen(k, { node: f.inode.watchName, flags: openFlagsOf(f) }, new Trace());
    if (r.errno === null && r.file !== undefined) {
      this.files.set(f, r.file);
      // Among the connection's open files: writeback takes its fh from a writable one.
      k.clientFiles.set(fileKey(f), r.file);
    }
  }

  read(f: WFile, pos: number, len: number, splice: boolean): Uint8Array {
    const file = this.fileOf(f);
    if (file === undefined) return new Uint8Array(0);
    const r = fuseReadData(this.state(), file, len, pos, new Trace(), splice);
    return typeof r === 'string' ? new Uint8Array(0) : r;
  }

  write(f: WFile, pos: number, data: Uint8Array): void {
    const file = this.fileOf(f);
    if (file !== undefined) fuseWrite(this.state(), file, data, pos, new Trace());
  }

  size(f: WFile): number {
    return this.fileOf(f)?.ff.inode.iSize ?? this.outer.vfs.size(f.inode);
  }

  flush(f: WFile): void {
    const file = this.fileOf(f);
    if (file !== undefined) fuseFlush(this.state(), file, new Trace());
  }

  release(f: WFile): void {
    const file = this.fileOf(f);
    if (file === undefined) return;
    this.files.delete(f);
    this.state().clientFiles.delete(fileKey(f));
    fusePutFile(this.state(), file, new Trace());
    this.killIfIdle();
  }

  /** The mount left the namespace (a lazy umount took it, or d_invalidate detached it). */
  private detached = false;

  detach(): void {
    this.detached = true;
    this.killIfIdle();
  }

  /**
   * A detached superblock dies with its last file: fuse_sb_destroy aborts the connection, and
   * the RELEASE that file's ->release just queued races with that abort. The abort won on 6.18
   * (a registered nested file released in the teardown reached the inner daemon as FLUSH only),
   * as it mostly does for the mount under test's close steps (sim/mount.ts fuseSuperPutIfIdle).
   */
  private killIfIdle(): void {
    const fc = this.k?.conn;
    if (!this.detached || fc === undefined || fc === null || !fc.connected || this.files.size > 0 || this.maps.size > 0) return;
    fuseAbortConn(fc, new Trace());
  }

  /**
   * vfs_mmap of a struct file on the mount (backing_file_mmap of a passthrough file over it):
   * the inner fuse_file_mmap, whose VMA `vma` then faults and writes back through the inner
   * page cache. Nothing when the file has no inner file or the inner mmap failed (it cannot:
   * the passthrough mmap checked the same access mode first): loads then read the bytes.
   */
  mmap(f: WFile, vma: Mapping, a: MmapArgs): void {
    const file = this.fileOf(f);
    if (file === undefined) return;
    const r = fuseFileMmap(this.state(), file, a, new Trace());
    if (r.map !== undefined) this.maps.set(vma, r.map);
  }

  /** A load through a VMA of the mount (filemap_fault on the inner inode), or null if not one. */
  mapRead(vma: Mapping, len: number, offset: number, t: Trace): Outcome | null {
    const m = this.maps.get(vma);
    return m === undefined ? null : mapRead(this.state(), m, len, offset, t);
  }

  mapWrite(vma: Mapping, data: Uint8Array, offset: number, t: Trace): Outcome | null {
    const m = this.maps.get(vma);
    return m === undefined ? null : mapWrite(this.state(), m, data, offset, t);
  }

  /** munmap: the inner fuse_vma_close (dirty pages written back) and the VMA's file reference. */
  munmap(vma: Mapping, t: Trace): void {
    const m = this.maps.get(vma);
    if (m === undefined) return;
    this.maps.delete(vma);
    munmap(this.state(), m, t);
    this.killIfIdle();
  }
}

/** A struct file's key among the inner connection's open files (no client fd has a name like it). */
function fileKey(f: WFile): string {
  return `\0${f.serial}`;
}

/** Cleared from f_flags by do_dentry_open: a backing file opened with the FUSE file's never has them. */
const OPEN_ONLY = new Set(['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_EXCL', 'O_TRUNC', 'O_NOCTTY']);

/** The open(2) flags of a struct file as the inner fuse_open sees them (O_APPEND, O_DIRECT kept). */
function openFlagsOf(f: WFile): OpenFlagName[] {
  const out: OpenFlagName[] = [f.mode === 'r' ? 'O_RDONLY' : f.mode === 'w' ? 'O_WRONLY' : 'O_RDWR'];
  for (const fl of f.flags) if (!OPEN_ONLY.has(fl)) out.push(fl as OpenFlagName);
  return out;
}
