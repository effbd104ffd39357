// Kernel objects of fs/fuse (fuse_i.h), as the model holds them.
import type { LockTable } from './locks.ts';
import type { Cred, Superblock, WFile } from './world/vfs.ts';
import type { Errno } from '../spec/errno.ts';

/** struct fuse_backing (LIFE-1, LIFE-6): one registration; `count` is fb->count. */
export interface FuseBacking {
  /** The id it was registered under (for reports; the idr maps id -> fb). */
  readonly id: number;
  /** fb->file: a reference on the daemon's struct file, possibly O_PATH (LIFE-6). */
  readonly file: WFile;
  /** fb->cred: prepare_creds() of the BACKING_OPEN caller (LIFE-6, PTF-11). */
  readonly cred: Cred;
  count: number;
  freed: boolean;
  /** Was ever bound to an inode (explains LIFE-15). */
  everBound: boolean;
  /** Live PT mappings made through it (explains LIFE-18). */
  mapped: number;
}

/** struct fuse_conn, the parts passthrough touches. */
export interface FuseConn {
  /** Connection number N (minor of st_dev; OBS-1). */
  readonly minor: number;
  /** INIT request sent, reply not processed yet (INIT-13, DEV-6). */
  initPending: boolean;
  /** INIT-3. */
  connError: boolean;
  /** Not aborted (LIFE-19, LIFE-20). */
  connected: boolean;
  passthrough: boolean;
  maxStackDepth: number;
  writebackCache: boolean;
  /** FUSE_BIG_WRITES: a write-through WRITE may span pages (fuse_fill_write_pages). */
  bigWrites?: boolean;
  directIoAllowMmap: boolean;
  atomicOTrunc: boolean;
  /** FUSE_HANDLE_KILLPRIV_V2: the superblock gets SB_NOSEC, so inodes can become S_NOSEC (IO-5). */
  handleKillprivV2: boolean;
  /** fuse_conn flags set after an ENOSYS reply. */
  noOpen: boolean;
  noOpendir: boolean;
  noFlush: boolean;
  noFsync: boolean;
  noFallocate: boolean;
  noLseek: boolean;
  noCopyFileRange: boolean;
  /** fc->no_copy_file_range_64: the daemon answered COPY_FILE_RANGE_64 with ENOSYS. */
  noCopyFileRange64: boolean;
  noGetxattr: boolean;
  /** fc->no_lock: POSIX (and OFD) locks stay local, no SETLK (INIT without POSIX_LOCKS). */
  noLock: boolean;
  /** fc->no_flock: flock locks stay local (INIT without FLOCK_LOCKS). */
  noFlock: boolean;
  /** fc->max_background and fc->congestion_threshold (fusectl shows them). */
  maxBackground: number;
  congestionThreshold: number;
  noCreate: boolean;
  /** fc->backing_files_map (BID-1) and the cyclic cursor of idr_alloc_cyclic (BID-3). */
  readonly idr: Map<number, FuseBacking>;
  idrNext: number;
  /** Sim-only fault injection (BOPEN-11, BOPEN-12). */
  failNextAlloc: 'fuseBacking' | 'idr' | null;
  /** Attached fuse_devs (original and clones); each holds a connection reference. */
  devCount: number;
  /** The superblock holds a reference until it is destroyed (LIFE-23). */
  sbAlive: boolean;
  /** Visible in the mount namespace (not yet umounted, lazily or not). */
  mounted: boolean;
  /** fuse_conn_put dropped the last reference: the idr is gone (LIFE-23). */
  freed: boolean;
  readonly sb: Superblock;
  /** A SYNC_INIT mount processes INIT inside fill_super (INIT-14). */
  syncInit: boolean;
}

export type IoMode = 'none' | 'cached' | 'uncached';

/** struct fuse_inode, regular files and dirs of the FUSE mount under test. */
export interface FuseInode {
  readonly nodeid: number;
  /** Its local flock and OFD locks (fc->no_lock / no_flock), created at the first lock. */
  locks?: LockTable;
  /** Its dentry's name (rename moves it); an unlinked inode keeps its last one. */
  name: string;
  /** The name of the inotify watch a watchFuseFile step put on it (sim/fsnotify.ts). */
  watch?: string;
  /** PG_readahead: the pages (as the objects in `pages`) readahead marked (sim/readahead.ts). */
  raMarks?: Map<number, Uint8Array>;
  readonly isDir: boolean;
  /** i_size as cached in the kernel. */
  iSize: number;
  /** Attributes fetched and not invalidated (3600 s timeouts never expire within a case). */
  attrValid: boolean;
  /** The daemon's attr_valid is 0: fetched attributes are stale at once (passthrough_hp --nocache). */
  attrTtlZero?: boolean;
  /** The daemon's entry_valid is 0: every path walk revalidates the name with LOOKUP. */
  entryTtlZero?: boolean;
  /** fuse_invalidate_atime (IO-26): the next stat refreshes. */
  atimeInvalid: boolean;
  /** STATX_BLOCKS invalidated (flush with the writeback cache): the next stat refreshes. */
  blocksInvalid?: boolean;
  /**
   * STATX_CTIME invalidated (fuse_update_ctime after UNLINK or RENAME without the writeback
   * cache): a stat syncs, a size-only request does not.
   */
  ctimeInvalid?: boolean;
  /** iocachectr (IOM-21): > 0 cached users, < 0 PT files and parallel DIO writes. */
  iocachectr: number;
  /** fi->fb: the bound backing (LIFE-2). */
  fb: FuseBacking | null;
  /** FUSE_I_CACHE_IO_MODE. */
  cacheIoModeBit: boolean;
  /** Page cache: page index -> bytes of the uptodate pages, with the dirty set. */
  readonly pages: Map<number, Uint8Array>;
  /**
   * Pages in the cache that are not uptodate: a partial write-through grabbed them
   * (fuse_fill_write_pages), a failed WRITE cleared them. Readahead skips them as present; a
   * read asks READ for each alone (filemap_update_page -> fuse_read_folio).
   */
  notUptodate?: Set<number>;
  readonly dirty: Set<number>;
  /** S_NOSEC after file_remove_privs found nothing to remove (IO-5). */
  nosec: boolean;
  /** Writeback cache: mtime/ctime updated locally, flushed by write_inode as SETATTR. */
  timesDirty: boolean;
  /**
   * AS_EIO on the mapping: mapping_set_error after a failed fuse_flush_time_update; the next
   * filemap_check_errors (fuse_flush, or write_inode_now's filemap_fdatawait) reports EIO once
   * and clears it, as does fsync's file_check_and_advance_wb_err.
   */
  asEio?: boolean;
  /** mapping->wb_err (errseq): the last writeback error, its sequence and whether one saw it. */
  wbErr?: { readonly errno: Errno; readonly seq: number; seen: boolean };
  /** Open struct files and mappings that keep the inode busy (umount EBUSY). */
  users: number;
  /** Open IOM_NONE (DIRECT_IO, non-PT) files (explains IOM-10). */
  dioFiles: number;
  /** Was bound to an fb once (explains IOM-23). */
  wasBound: boolean;
  /** Why attributes are stale: a PT write (IO-25) / i_size extended locally (IO-24). */
  staleByPtWrite: boolean;
  sizeExtendedLocally: boolean;
  /** Live PT mappings (explains IOM-24, LIFE-16). */
  ptMaps: number;
}

/** struct fuse_file. */
export interface FuseFile {
  readonly inode: FuseInode;
  readonly fh: number;
  openFlags: number;
  /** ff->args != NULL: the server implements open, io modes apply (IOM-1). */
  readonly hasArgs: boolean;
  iomode: IoMode;
  /** ff->passthrough: the per-open backing file (PTF-1, LIFE-4). */
  passthrough: WFile | null;
  /** ff->cred (LIFE-4, PTF-11). */
  cred: Cred | null;
  /** The fb this file was opened with (no reference; for explanations only). */
  openedWith: FuseBacking | null;
  readonly isDir: boolean;
  released: boolean;
}

/** struct file_ra_state but prev_pos: the current window and the mmap miss count. */
export interface FileRaState {
  start: number;
  size: number;
  asyncSize: number;
  mmapMiss: number;
}

/** The client's struct file on the FUSE mount. */
export interface FuseOpenFile {
  readonly ff: FuseFile;
  readonly mode: 'r' | 'w' | 'rw';
  readonly flags: ReadonlySet<string>;
  /** f_count: the fd plus mappings that hold the FUSE file (non-PT mmaps). */
  count: number;
  pos: number;
  /** f_ra.prev_pos: where the last buffered read ended (−1: none yet), for readahead. */
  raPrevPos?: number;
  /** The rest of f_ra (sim/readahead.ts), made at the first readahead. */
  ra?: FileRaState;
  /** f_wb_err: the mapping's errseq this file has seen (sampled at open, advanced by fsync). */
  wbErrSeen?: number;
}

/** A mapping (VMA). A PT mapping holds the per-open backing file (LIFE-5); others the FUSE file. */
export interface Mapping {
  readonly shared: boolean;
  readonly writable: boolean;
  readonly length: number;
  readonly backing: WFile | null;
  /** Whether the VMA holds a reference to `backing` (not when its ->mmap put another file there). */
  readonly holdsBacking?: boolean;
  readonly fuseFile: FuseOpenFile | null;
  readonly inode: FuseInode;
  /** The fb of the PT file it was made from (no reference; explains LIFE-18). */
  readonly fb: FuseBacking | null;
  /** MAP_PRIVATE: the pages this mapping copied on write (page index -> bytes). */
  cow?: Map<number, Uint8Array>;
}
