// Constants of include/uapi/linux/fuse.h and friends that the passthrough path uses
// (kernel-spec.md §1). Shared by the sim (as semantics) and the kernel target (on the wire).
import type { OpenFlagName } from './case.ts';

export const FUSE_KERNEL_VERSION = 7;
/** Minor that introduced passthrough (6.9). */
export const FUSE_MINOR_PASSTHROUGH = 40;

/** INIT flags as 64-bit positions: bits 0..31 travel in `flags`, 32..63 in `flags2` (INIT-6). */
export const INIT_FLAG_BITS = {
  ASYNC_READ: 0,
  POSIX_LOCKS: 1,
  ATOMIC_O_TRUNC: 3,
  EXPORT_SUPPORT: 4,
  BIG_WRITES: 5,
  DONT_MASK: 6,
  SPLICE_WRITE: 7,
  SPLICE_MOVE: 8,
  SPLICE_READ: 9,
  FLOCK_LOCKS: 10,
  HAS_IOCTL_DIR: 11,
  AUTO_INVAL_DATA: 12,
  DO_READDIRPLUS: 13,
  READDIRPLUS_AUTO: 14,
  ASYNC_DIO: 15,
  WRITEBACK_CACHE: 16,
  NO_OPEN_SUPPORT: 17,
  PARALLEL_DIROPS: 18,
  HANDLE_KILLPRIV: 19,
  POSIX_ACL: 20,
  ABORT_ERROR: 21,
  MAX_PAGES: 22,
  CACHE_SYMLINKS: 23,
  NO_OPENDIR_SUPPORT: 24,
  EXPLICIT_INVAL_DATA: 25,
  MAP_ALIGNMENT: 26,
  SUBMOUNTS: 27,
  HANDLE_KILLPRIV_V2: 28,
  SETXATTR_EXT: 29,
  INIT_EXT: 30,
  INIT_RESERVED: 31,
  SECURITY_CTX: 32,
  HAS_INODE_DAX: 33,
  CREATE_SUPP_GROUP: 34,
  HAS_EXPIRE_ONLY: 35,
  DIRECT_IO_ALLOW_MMAP: 36,
  PASSTHROUGH: 37,
  NO_EXPORT_SUPPORT: 38,
  HAS_RESEND: 39,
  ALLOW_IDMAP: 40,
  OVER_IO_URING: 41,
  REQUEST_TIMEOUT: 42,
} as const;
export type InitFlagName = keyof typeof INIT_FLAG_BITS;

/** `fuse_open_out.open_flags` bits (kernel-spec.md §1.1). */
export const FOPEN_BITS = {
  DIRECT_IO: 0,
  KEEP_CACHE: 1,
  NONSEEKABLE: 2,
  CACHE_DIR: 3,
  STREAM: 4,
  NOFLUSH: 5,
  PARALLEL_DIRECT_WRITES: 6,
  PASSTHROUGH: 7,
} as const;
export type FopenFlagName = keyof typeof FOPEN_BITS;

export const FOPEN_DIRECT_IO = 1 << FOPEN_BITS.DIRECT_IO;
export const FOPEN_KEEP_CACHE = 1 << FOPEN_BITS.KEEP_CACHE;
export const FOPEN_NOFLUSH = 1 << FOPEN_BITS.NOFLUSH;
export const FOPEN_PARALLEL_DIRECT_WRITES = 1 << FOPEN_BITS.PARALLEL_DIRECT_WRITES;
export const FOPEN_PASSTHROUGH = 1 << FOPEN_BITS.PASSTHROUGH;
/** Flags allowed together with FOPEN_PASSTHROUGH (iomode.c FOPEN_PASSTHROUGH_MASK, OPEN-9). */
export const FOPEN_PASSTHROUGH_MASK =
  FOPEN_PASSTHROUGH | FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES | FOPEN_NOFLUSH; // 0xE1

/** include/linux/fs.h FILESYSTEM_MAX_STACK_DEPTH. */
export const FILESYSTEM_MAX_STACK_DEPTH = 2;
export const INT_MAX = 0x7fffffff;

/** /dev/fuse ioctls (magic 229), kernel-spec.md §1.3. */
export const FUSE_DEV_IOC = {
  CLONE: 0x8004e500,
  BACKING_OPEN: 0x4010e501,
  BACKING_CLOSE: 0x4004e502,
  SYNC_INIT: 0x0000e503,
} as const;

/** FUSE opcodes (enum fuse_opcode) that the daemon may receive. */
export const FUSE_OPCODES = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SETUPMAPPING: 48,
  REMOVEMAPPING: 49,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
  /** 6.18: copy_file_range asks this first (64-bit count); ENOSYS makes the kernel fall back. */
  COPY_FILE_RANGE_64: 53,
} as const;
export type FuseOpcodeName = keyof typeof FUSE_OPCODES;
/** An opcode as observed: its name, or `OP_<n>` for one this table does not name (never dropped). */
export type ObservedOpcode = FuseOpcodeName | `OP_${number}`;

/** Build a 64-bit INIT flag value (as bigint) from names. */
export function initFlags(names: readonly InitFlagName[]): bigint {
  return names.reduce((acc, n) => acc | (1n << BigInt(INIT_FLAG_BITS[n])), 0n);
}

/** Build `open_flags` from names. */
export function fopenFlags(names: readonly FopenFlagName[]): number {
  return names.reduce((acc, n) => acc | (1 << FOPEN_BITS[n]), 0) >>> 0;
}

/** open(2) flag bits of x86-64 (include/uapi/asm-generic/fcntl.h), by the case format's names. */
export const OPEN_FLAG_BITS: Readonly<Record<OpenFlagName, number>> = {
  O_RDONLY: 0o0,
  O_WRONLY: 0o1,
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DIRECT: 0o40000,
  O_NOATIME: 0o1000000,
  O_SYNC: 0o4010000,
};
/** force_o_largefile() on a 64-bit kernel: every open carries O_LARGEFILE. */
export const O_LARGEFILE = 0o100000;

/** f_flags of a 64-bit open with these flags. */
export function openFlagWord(flags: readonly OpenFlagName[]): number {
  let w = O_LARGEFILE;
  for (const f of flags) w |= OPEN_FLAG_BITS[f];
  return w;
}
