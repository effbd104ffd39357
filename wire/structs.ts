// Encoders and decoders of the FUSE wire structs (uapi fuse.h at 7.45, kernel-spec.md §1.2).
// Requests (kernel → daemon) are decoded, replies (daemon → kernel) encoded; each has its inverse
// too so round trips can be tested and a test kernel-side can be faked.
import { Reader, Writer, concat } from './bytes.ts';
import { DIRENT_ALIGN, SIZE } from './layout.ts';

// ---- headers ------------------------------------------------------------------------------

export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
  totalExtlen: number;
}

export function encodeInHeader(h: InHeader): Uint8Array {
  return new Writer(SIZE.inHeader)
    .u32(0, h.len)
    .u32(4, h.opcode)
    .u64(8, h.unique)
    .u64(16, h.nodeid)
    .u32(24, h.uid)
    .u32(28, h.gid)
    .u32(32, h.pid)
    .u16(36, h.totalExtlen).bytes;
}

/** null when the message is shorter than a header. */
export function decodeInHeader(b: Uint8Array): InHeader | null {
  if (b.length < SIZE.inHeader) return null;
  const r = new Reader(b);
  return {
    len: r.u32(0),
    opcode: r.u32(4),
    unique: r.u64(8),
    nodeid: r.u64(16),
    uid: r.u32(24),
    gid: r.u32(28),
    pid: r.u32(32),
    totalExtlen: r.u16(36),
  };
}

export interface OutHeader {
  len: number;
  /** 0 or a negative errno. */
  error: number;
  unique: bigint;
}

export function encodeOutHeader(h: OutHeader): Uint8Array {
  return new Writer(SIZE.outHeader).u32(0, h.len).i32(4, h.error).u64(8, h.unique).bytes;
}

export function decodeOutHeader(b: Uint8Array): OutHeader | null {
  if (b.length < SIZE.outHeader) return null;
  const r = new Reader(b);
  return { len: r.u32(0), error: r.i32(4), unique: r.u64(8) };
}

/** A whole reply: out header (len = 16 + payload) and payload; errors carry no payload. */
export function encodeReply(unique: bigint, error: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = error === 0 ? payload : new Uint8Array(0);
  return concat([encodeOutHeader({ len: SIZE.outHeader + body.length, error, unique }), body]);
}

// ---- INIT ---------------------------------------------------------------------------------

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
}

export function encodeInitIn(i: InitIn): Uint8Array {
  return new Writer(SIZE.initIn).u32(0, i.major).u32(4, i.minor).u32(8, i.maxReadahead).u32(12, i.flags).u32(16, i.flags2).bytes;
}

/** Old kernels send a shorter fuse_init_in (no flags2): missing fields read as 0. */
export function decodeInitIn(b: Uint8Array): InitIn {
  const full = new Uint8Array(SIZE.initIn);
  full.set(b.subarray(0, SIZE.initIn));
  const r = new Reader(full);
  return { major: r.u32(0), minor: r.u32(4), maxReadahead: r.u32(8), flags: r.u32(12), flags2: r.u32(16) };
}

/** The 64-bit flag word of an INIT message: flags2 counts only with INIT_EXT (INIT-6). */
export function initFlagWord(flags: number, flags2: number): bigint {
  const low = BigInt(flags >>> 0);
  return flags & (1 << 30) ? low | (BigInt(flags2 >>> 0) << 32n) : low;
}

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
  mapAlignment: number;
  flags2: number;
  maxStackDepth: number;
  requestTimeout: number;
}

/** fuse_init_out, truncated to `length` bytes when given (INIT-4: short replies). */
export function encodeInitOut(o: InitOut, length: number = SIZE.initOut): Uint8Array {
  const full = new Writer(SIZE.initOut)
    .u32(0, o.major)
    .u32(4, o.minor)
    .u32(8, o.maxReadahead)
    .u32(12, o.flags)
    .u16(16, o.maxBackground)
    .u16(18, o.congestionThreshold)
    .u32(20, o.maxWrite)
    .u32(24, o.timeGran)
    .u16(28, o.maxPages)
    .u16(30, o.mapAlignment)
    .u32(32, o.flags2)
    .u32(36, o.maxStackDepth)
    .u16(40, o.requestTimeout).bytes;
  return full.subarray(0, Math.max(0, Math.min(length, SIZE.initOut)));
}

export function decodeInitOut(b: Uint8Array): InitOut {
  const full = new Uint8Array(SIZE.initOut);
  full.set(b.subarray(0, SIZE.initOut));
  const r = new Reader(full);
  return {
    major: r.u32(0),
    minor: r.u32(4),
    maxReadahead: r.u32(8),
    flags: r.u32(12),
    maxBackground: r.u16(16),
    congestionThreshold: r.u16(18),
    maxWrite: r.u32(20),
    timeGran: r.u32(24),
    maxPages: r.u16(28),
    mapAlignment: r.u16(30),
    flags2: r.u32(32),
    maxStackDepth: r.u32(36),
    requestTimeout: r.u16(40),
  };
}

// ---- attributes and entries ---------------------------------------------------------------

export interface Attr {
  ino: bigint;
  size: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
}

function writeAttr(w: Writer, off: number, a: Attr): void {
  w.u64(off, a.ino)
    .u64(off + 8, a.size)
    .u64(off + 16, a.blocks)
    .u64(off + 24, a.atime)
    .u64(off + 32, a.mtime)
    .u64(off + 40, a.ctime)
    .u32(off + 60, a.mode)
    .u32(off + 64, a.nlink)
    .u32(off + 68, a.uid)
    .u32(off + 72, a.gid)
    .u32(off + 76, a.rdev)
    .u32(off + 80, a.blksize);
}

function readAttr(r: Reader, off: number): Attr {
  return {
    ino: r.u64(off),
    size: r.num64(off + 8),
    blocks: r.num64(off + 16),
    atime: r.num64(off + 24),
    mtime: r.num64(off + 32),
    ctime: r.num64(off + 40),
    mode: r.u32(off + 60),
    nlink: r.u32(off + 64),
    uid: r.u32(off + 68),
    gid: r.u32(off + 72),
    rdev: r.u32(off + 76),
    blksize: r.u32(off + 80),
  };
}

export interface EntryOut {
  nodeid: bigint;
  generation: bigint;
  entryValid: number;
  attrValid: number;
  attr: Attr;
}

export function encodeEntryOut(e: EntryOut): Uint8Array {
  const w = new Writer(SIZE.entryOut).u64(0, e.nodeid).u64(8, e.generation).u64(16, e.entryValid).u64(24, e.attrValid);
  writeAttr(w, 40, e.attr);
  return w.bytes;
}

export function decodeEntryOut(b: Uint8Array): EntryOut {
  const r = new Reader(b);
  return { nodeid: r.u64(0), generation: r.u64(8), entryValid: r.num64(16), attrValid: r.num64(24), attr: readAttr(r, 40) };
}

export interface AttrOut {
  attrValid: number;
  attr: Attr;
}

export function encodeAttrOut(a: AttrOut): Uint8Array {
  const w = new Writer(SIZE.attrOut).u64(0, a.attrValid);
  writeAttr(w, 16, a.attr);
  return w.bytes;
}

export function decodeAttrOut(b: Uint8Array): AttrOut {
  const r = new Reader(b);
  return { attrValid: r.num64(0), attr: readAttr(r, 16) };
}

// ---- open / create / release / flush ------------------------------------------------------

export interface OpenIn {
  flags: number;
  openFlags: number;
}

export function encodeOpenIn(o: OpenIn): Uint8Array {
  return new Writer(SIZE.openIn).u32(0, o.flags).u32(4, o.openFlags).bytes;
}

export interface OpenOut {
  fh: bigint;
  openFlags: number;
  /** Signed: raw negative ids are possible (OPEN-11). */
  backingId: number;
}

export function encodeOpenOut(o: OpenOut): Uint8Array {
  return new Writer(SIZE.openOut).u64(0, o.fh).u32(8, o.openFlags).i32(12, o.backingId).bytes;
}

export function decodeOpenOut(b: Uint8Array): OpenOut {
  const r = new Reader(b);
  return { fh: r.u64(0), openFlags: r.u32(8), backingId: r.i32(12) };
}

export interface CreateIn {
  flags: number;
  mode: number;
  umask: number;
  openFlags: number;
  name: string;
}

export function encodeCreateIn(c: CreateIn): Uint8Array {
  const head = new Writer(SIZE.createIn).u32(0, c.flags).u32(4, c.mode).u32(8, c.umask).u32(12, c.openFlags).bytes;
  return concat([head, new TextEncoder().encode(c.name), new Uint8Array(1)]);
}

export function decodeCreateIn(b: Uint8Array): CreateIn {
  const r = new Reader(b);
  return { flags: r.u32(0), mode: r.u32(4), umask: r.u32(8), openFlags: r.u32(12), name: r.cstring(SIZE.createIn) };
}

/** CREATE reply: fuse_entry_out then fuse_open_out (kernel-spec §1.2). */
export function encodeCreateOut(e: EntryOut, o: OpenOut): Uint8Array {
  return concat([encodeEntryOut(e), encodeOpenOut(o)]);
}

export interface ReleaseIn {
  fh: bigint;
  flags: number;
  releaseFlags: number;
  lockOwner: bigint;
}

export function encodeReleaseIn(x: ReleaseIn): Uint8Array {
  return new Writer(SIZE.releaseIn).u64(0, x.fh).u32(8, x.flags).u32(12, x.releaseFlags).u64(16, x.lockOwner).bytes;
}

export function decodeReleaseIn(b: Uint8Array): ReleaseIn {
  const r = new Reader(b);
  return { fh: r.u64(0), flags: r.u32(8), releaseFlags: r.u32(12), lockOwner: r.u64(16) };
}

export interface FlushIn {
  fh: bigint;
  lockOwner: bigint;
}

// ---- read / write -------------------------------------------------------------------------

export interface ReadIn {
  fh: bigint;
  offset: number;
  size: number;
  readFlags: number;
  lockOwner: bigint;
  flags: number;
}

export function encodeReadIn(x: ReadIn): Uint8Array {
  return new Writer(SIZE.readIn).u64(0, x.fh).u64(8, x.offset).u32(16, x.size).u32(20, x.readFlags).u64(24, x.lockOwner).u32(32, x.flags).bytes;
}

export function decodeReadIn(b: Uint8Array): ReadIn {
  const r = new Reader(b);
  return { fh: r.u64(0), offset: r.num64(8), size: r.u32(16), readFlags: r.u32(20), lockOwner: r.u64(24), flags: r.u32(32) };
}

export interface WriteIn {
  fh: bigint;
  offset: number;
  size: number;
  writeFlags: number;
  lockOwner: bigint;
  flags: number;
  data: Uint8Array;
}

export function encodeWriteIn(x: WriteIn): Uint8Array {
  const head = new Writer(SIZE.writeIn).u64(0, x.fh).u64(8, x.offset).u32(16, x.size).u32(20, x.writeFlags).u64(24, x.lockOwner).u32(32, x.flags).bytes;
  return concat([head, x.data]);
}

export function decodeWriteIn(b: Uint8Array): WriteIn {
  const r = new Reader(b);
  const size = r.u32(16);
  return {
    fh: r.u64(0),
    offset: r.num64(8),
    size,
    writeFlags: r.u32(20),
    lockOwner: r.u64(24),
    flags: r.u32(32),
    data: r.slice(SIZE.writeIn, size),
  };
}

export function encodeWriteOut(size: number): Uint8Array {
  return new Writer(SIZE.writeOut).u32(0, size).bytes;
}

export function decodeWriteOut(b: Uint8Array): number {
  return new Reader(b).u32(0);
}

// ---- getattr / setattr / fsync / getxattr / statfs -----------------------------------------

export interface GetattrIn {
  getattrFlags: number;
  fh: bigint;
}

export interface SetattrIn {
  valid: number;
  fh: bigint;
  size: number;
  mode: number;
  uid: number;
  gid: number;
}

export function encodeSetattrIn(x: SetattrIn): Uint8Array {
  return new Writer(SIZE.setattrIn).u32(0, x.valid).u64(8, x.fh).u64(16, x.size).u32(68, x.mode).u32(76, x.uid).u32(80, x.gid).bytes;
}

export function decodeSetattrIn(b: Uint8Array): SetattrIn {
  const r = new Reader(b);
  return { valid: r.u32(0), fh: r.u64(8), size: r.num64(16), mode: r.u32(68), uid: r.u32(76), gid: r.u32(80) };
}

export interface FsyncIn {
  fh: bigint;
  fsyncFlags: number;
}

export interface GetxattrIn {
  size: number;
  name: string;
}

export interface Kstatfs {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

export const ZERO_STATFS: Kstatfs = { blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: 0, namelen: 0, frsize: 0 };

export function encodeStatfsOut(s: Kstatfs): Uint8Array {
  return new Writer(SIZE.statfsOut)
    .u64(0, s.blocks)
    .u64(8, s.bfree)
    .u64(16, s.bavail)
    .u64(24, s.files)
    .u64(32, s.ffree)
    .u32(40, s.bsize)
    .u32(44, s.namelen)
    .u32(48, s.frsize).bytes;
}

// ---- readdir ------------------------------------------------------------------------------

export interface Dirent {
  ino: bigint;
  /** Offset of the next entry (the cookie the kernel passes back). */
  off: number;
  /** DT_* type (DT_DIR 4, DT_REG 8). */
  type: number;
  name: string;
}

export function direntSize(name: string): number {
  const raw = SIZE.direntHeader + new TextEncoder().encode(name).length;
  return Math.ceil(raw / DIRENT_ALIGN) * DIRENT_ALIGN;
}

export function encodeDirents(ds: readonly Dirent[]): Uint8Array {
  return concat(
    ds.map((d) => {
      const name = new TextEncoder().encode(d.name);
      return new Writer(direntSize(d.name)).u64(0, d.ino).u64(8, d.off).u32(16, name.length).u32(20, d.type).put(24, name).bytes;
    }),
  );
}

export function decodeDirents(b: Uint8Array): Dirent[] {
  const out: Dirent[] = [];
  const r = new Reader(b);
  let off = 0;
  while (off + SIZE.direntHeader <= b.length) {
    const namelen = r.u32(off + 16);
    const name = new TextDecoder().decode(r.slice(off + 24, namelen));
    out.push({ ino: r.u64(off), off: r.num64(off + 8), type: r.u32(off + 20), name });
    off += direntSize(name);
  }
  return out;
}

// ---- forget / interrupt -------------------------------------------------------------------

// ---- /dev/fuse ioctl argument -------------------------------------------------------------

export interface BackingMap {
  fd: number;
  flags: number;
  padding: bigint;
}

export function encodeBackingMap(m: BackingMap): Uint8Array {
  return new Writer(SIZE.backingMap).i32(0, m.fd).u32(4, m.flags).u64(8, m.padding).bytes;
}

export function decodeBackingMap(b: Uint8Array): BackingMap {
  const r = new Reader(b);
  return { fd: r.i32(0), flags: r.u32(4), padding: r.u64(8) };
}

/** The int argument of BACKING_CLOSE (and the u32 of CLONE). */
export function encodeI32(v: number): Uint8Array {
  return new Writer(4).i32(0, v).bytes;
}
