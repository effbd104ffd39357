// Sizes of the FUSE wire structs (include/uapi/linux/fuse.h, kernel-spec.md §1.2) at protocol
// 7.45. Little-endian x86-64, naturally aligned, no implicit padding.
export const SIZE = {
  inHeader: 40,
  outHeader: 16,
  initIn: 64,
  initOut: 64,
  attr: 88,
  entryOut: 128,
  attrOut: 104,
  getattrIn: 16,
  setattrIn: 88,
  openIn: 8,
  openOut: 16,
  createIn: 16,
  releaseIn: 24,
  flushIn: 24,
  readIn: 40,
  writeIn: 40,
  writeOut: 8,
  fsyncIn: 16,
  getxattrIn: 8,
  getxattrOut: 8,
  statfsOut: 80,
  direntHeader: 24,
  forgetIn: 8,
  batchForgetIn: 8,
  forgetOne: 16,
  interruptIn: 8,
  backingMap: 16,
} as const;

/** FUSE_DIRENT_ALIGN: dirents are padded to 8 bytes. */
export const DIRENT_ALIGN = 8;

/** fuse_setattr_in.valid bits used by the daemon. */
export const FATTR_SIZE = 1 << 3;
