// The seam between the kernel model and "the daemon" (DESIGN.md, "the daemon is pluggable"): a
// request carries what fuse_args carries on the kernel (opcode, nodeid, fh, offset, size, flags,
// name, data) and the port answers with a decoded reply (entry and attributes, open flags/fh/
// backing id, data, written size, or the daemon's errno). Two implementations: the scripted
// daemon of the case format (sim/daemon.ts ModelDaemon) and, outside sim/, a real daemon reached
// through the wire codec (check/sim-port.ts). A port is synchronous: the model waits for the
// reply as fuse_simple_request does. A port may call back into the model before it answers (a
// real daemon's BACKING_OPEN while it handles OPEN): the model takes no lock across a request.
import type { InitReplySpec } from '../spec/case.ts';
import type { Errno } from '../spec/errno.ts';

interface On {
  /** The inode the request is about (FUSE_ROOT_ID 1 for the mount's root). */
  nodeid: number;
}
interface OnFile extends On {
  /** The daemon's file handle from its OPEN/CREATE reply. */
  fh: number;
}

export type FuseRequest =
  | { op: 'INIT'; nodeid: 0; minor: number; flags: readonly string[] }
  | (On & { op: 'LOOKUP'; name: string })
  | (On & { op: 'CREATE'; name: string; flags: number; mode: number })
  | (On & { op: 'MKNOD'; name: string; mode: number })
  | (On & { op: 'UNLINK'; name: string })
  | (On & { op: 'RENAME'; name: string; newName: string })
  | (On & { op: 'GETATTR' })
  /** fuse_do_statx: only an inner FUSE mount's lstat asks it (sim/inner-fuse.ts). */
  | (On & { op: 'STATX' })
  | (On & { op: 'SETATTR'; size?: number; fh?: number })
  | (On & { op: 'OPEN' | 'OPENDIR'; flags: number })
  | (OnFile & { op: 'READ'; offset: number; size: number })
  | (OnFile & { op: 'WRITE'; offset: number; data: Uint8Array })
  | (OnFile & { op: 'READDIR'; offset: number; size: number })
  | (OnFile & { op: 'RELEASE' | 'RELEASEDIR'; flags: number })
  | (OnFile & { op: 'FLUSH' | 'FSYNC' | 'FSYNCDIR' | 'FALLOCATE' | 'IOCTL' })
  | (OnFile & { op: 'LSEEK'; offset: number; whence: number })
  | (OnFile & { op: 'COPY_FILE_RANGE' | 'COPY_FILE_RANGE_64'; offset: number; nodeidOut: number; fhOut: number; offsetOut: number; size: number })
  | (On & { op: 'GETXATTR'; name: string; size: number })
  | (On & { op: 'STATFS' })
  /** fuse_setlk: `flock` is FUSE_LK_FLOCK (flock emulated with POSIX locks by the daemon). */
  | (OnFile & { op: 'SETLK'; flock: boolean; type: 'shared' | 'exclusive' | 'unlock' });

/**
 * The attributes the model keeps of a FUSE inode. Timeouts are in seconds; the model has no
 * clock, so 0 expires at once and anything longer outlives the run (the scripted daemon's 3600 s).
 */
export interface FuseAttr {
  size: number;
  isDir: boolean;
  /** attr_valid of the reply; absent: long. */
  attrTimeout?: number;
}

/** A decoded reply. `error` is the daemon's errno (its fuse_out_header.error); null: success. */
export interface DaemonReply {
  error: Errno | null;
  /** LOOKUP, CREATE, MKNOD; `entryTimeout` is entry_valid (absent: long). */
  entry?: { nodeid: number; entryTimeout?: number } & FuseAttr;
  /** GETATTR, SETATTR. */
  attr?: FuseAttr;
  /** OPEN, OPENDIR, CREATE: fuse_open_out. */
  open?: { fh: number; openFlags: number; backingId: number };
  /** READ. */
  data?: Uint8Array;
  /** WRITE: fuse_write_out.size. */
  written?: number;
  /** READDIR: the entry names (without "." and ".."); none: the end of the directory. */
  names?: string[];
  /** READDIR: the offset of the next entry. */
  nextOffset?: number;
  /** INIT: the reply, as the case format writes it. */
  init?: InitReplySpec;
  /** LSEEK. */
  offset?: number;
  /** GETXATTR with size 0: the value's length (fuse_getxattr_out.size). */
  xattrSize?: number;
  /** STATFS: the block size the daemon reports (fuse_statfs_out.st.bsize); absent: 0. */
  statfsBsize?: number;
}

export interface DaemonPort {
  /** Answer one request. */
  request(req: FuseRequest): DaemonReply;
  /** A request the kernel sends without waiting for an answer (FORGET); default: none sent. */
  notify?(req: FuseRequest): void;
}

/** What the kernel does when a request cannot be sent at all (aborted, failed INIT). */
export type Sent = DaemonReply | Errno;

/** The errno a caller sees: the kernel's own (not sent) or the daemon's. */
export function replyErrno(r: Sent): Errno | null {
  return typeof r === 'string' ? r : r.error;
}
