// Linux x86-64 constants for the syscalls real-kernel/ issues (asm-generic/fcntl.h, mount.h,
// sched.h, prctl.h, inotify.h, mman.h, capability.h). Only what the kernel target uses.

export const O = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  RDWR: 0o2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  DIRECT: 0o40000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  NOATIME: 0o1000000,
  CLOEXEC: 0o2000000,
  SYNC: 0o4010000,
  PATH: 0o10000000,
} as const;

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
} as const;

export const MNT_DETACH = 2;

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWUSER = 0x10000000;

export const PR_SET_PDEATHSIG = 1;

export const IN = {
  ACCESS: 0x01,
  MODIFY: 0x02,
  OPEN: 0x20,
  CLOSE_WRITE: 0x08,
  CLOSE_NOWRITE: 0x10,
  IGNORED: 0x8000,
  DONT_FOLLOW: 0x02000000,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_ANONYMOUS = 0x20;
export const MS_SYNC = 4;

export const SEEK = { SET: 0, CUR: 1, END: 2, DATA: 3, HOLE: 4 } as const;

export const AT_FDCWD = -100;
export const AT_STATX_DONT_SYNC = 0x4000;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
export const STATX_BASIC_STATS = 0x7ff;

export const CAP_SYS_ADMIN = 21;
/** _LINUX_CAPABILITY_VERSION_3: two 32-bit data words. */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

export const SPLICE_F_NONBLOCK = 2;
export const EFD_CLOEXEC = 0o2000000;
export const POLLIN = 1;

/** x86-64 syscall numbers for calls glibc wraps awkwardly or not at all. */
export const SYS = { gettid: 186, tgkill: 234 } as const;

export const S_IFMT = 0o170000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
