// Linux errno names and numbers (x86-64, asm-generic/errno-base.h and errno.h) used on the
// passthrough paths. Both targets report errors by name; the kernel target maps numbers back.
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EXDEV: 18,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  ERANGE: 34,
  ENOSYS: 38,
  ELOOP: 40,
  ENODATA: 61,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ENOTCONN: 107,
  ECONNREFUSED: 111,
  ETIMEDOUT: 110,
} as const;

export type Errno = keyof typeof ERRNO;

const BY_NUMBER = new Map<number, Errno>(Object.entries(ERRNO).map(([k, v]) => [v, k as Errno]));

/** The errno name for a (positive) number, or `E<number>` when it is not in the table. */
export function errnoName(n: number): Errno | `E${number}` {
  return BY_NUMBER.get(Math.abs(n)) ?? `E${Math.abs(n)}`;
}

export function isErrno(s: string): s is Errno {
  return Object.hasOwn(ERRNO, s);
}
