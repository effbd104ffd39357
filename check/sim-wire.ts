// The host side of the model's daemon port on the wire: a request of sim/daemon-port.ts as the
// bytes fuse_dev_do_read would hand a daemon (uapi fuse.h structs at the profile's protocol
// minor), and the daemon's reply bytes as the port's decoded reply, checked as
// fuse_dev_do_write and the request's out-args would check them.
import type { DaemonReply, FuseRequest } from '../sim/daemon-port.ts';
import type { InitReplySpec } from '../spec/case.ts';
import { errnoName, isErrno, type Errno } from '../spec/errno.ts';
import { FUSE_OPCODES, INIT_FLAG_BITS, type InitFlagName } from '../spec/uapi.ts';
import { Reader, Writer, concat } from '../wire/bytes.ts';
import { SIZE } from '../wire/layout.ts';
import { decodeAttrOut, decodeDirents, decodeEntryOut, decodeInitOut, decodeOpenOut, decodeOutHeader, decodeWriteOut, encodeCreateIn, encodeInHeader, encodeInitIn, encodeOpenIn, encodeReadIn, encodeReleaseIn, encodeSetattrIn, encodeWriteIn } from '../wire/structs.ts';

/** Who the kernel says is asking (fuse_in_header uid, gid, pid). */
export interface Caller {
  uid: number;
  gid: number;
  pid: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
/** fuse_setattr_in.valid: FATTR_SIZE, FATTR_FH, and the times fuse_flush_times sends. */
const FATTR = { SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5, FH: 1 << 6, CTIME: 1 << 10 } as const;
/** The readahead the kernel offers: the bdi's 32 pages (fuse_send_init). */
const MAX_READAHEAD = 32 * 4096;

const cstr = (s: string) => concat([new TextEncoder().encode(s), new Uint8Array(1)]);

function initFlagsWords(names: readonly string[]): { flags: number; flags2: number } {
  let word = 0n;
  for (const n of names) if (Object.hasOwn(INIT_FLAG_BITS, n)) word |= 1n << BigInt(INIT_FLAG_BITS[n as InitFlagName]);
  return { flags: Number(word & 0xffffffffn), flags2: Number(word >> 32n) };
}

/** The request body after fuse_in_header. */
function body(req: FuseRequest): Uint8Array {
  switch (req.op) {
    case 'INIT':
      return encodeInitIn({ major: 7, minor: req.minor, maxReadahead: MAX_READAHEAD, ...initFlagsWords(req.flags) });
    case 'LOOKUP':
    case 'UNLINK':
      return cstr(req.name);
    case 'RENAME':
      // fuse_rename_in: newdir (the same directory); then both names.
      return concat([new Writer(8).u64(0, BigInt(req.nodeid)).bytes, cstr(req.name), cstr(req.newName)]);
    case 'CREATE':
      return encodeCreateIn({ flags: req.flags, mode: req.mode, umask: 0o022, openFlags: 0, name: req.name });
    case 'MKNOD':
      // fuse_mknod_in: mode, rdev, umask, padding; then the name.
      return concat([new Writer(16).u32(0, req.mode).u32(8, 0o022).bytes, cstr(req.name)]);
    case 'GETATTR':
      return new Uint8Array(SIZE.getattrIn);
    case 'STATFS':
      return new Uint8Array(0);
    case 'STATX':
      // fuse_statx_in: getattr_flags, reserved, fh, sx_flags, sx_mask (never sent to a checked daemon).
      return new Uint8Array(24);
    case 'SETATTR': {
      let valid = req.size !== undefined ? FATTR.SIZE : FATTR.MTIME | FATTR.CTIME;
      if (req.fh !== undefined) valid |= FATTR.FH;
      return encodeSetattrIn({ valid, fh: BigInt(req.fh ?? 0), size: req.size ?? 0, mode: 0, uid: 0, gid: 0 });
    }
    case 'OPEN':
    case 'OPENDIR':
      return encodeOpenIn({ flags: req.flags, openFlags: 0 });
    case 'READ':
    case 'READDIR':
      return encodeReadIn({ fh: BigInt(req.fh), offset: req.offset, size: req.size, readFlags: 0, lockOwner: 0n, flags: 0 });
    case 'WRITE':
      return encodeWriteIn({ fh: BigInt(req.fh), offset: req.offset, size: req.data.length, writeFlags: 0, lockOwner: 0n, flags: 0, data: req.data });
    case 'RELEASE':
    case 'RELEASEDIR':
      return encodeReleaseIn({ fh: BigInt(req.fh), flags: req.flags, releaseFlags: 0, lockOwner: 0n });
    case 'FLUSH':
      return new Writer(SIZE.flushIn).u64(0, BigInt(req.fh)).bytes;
    case 'FSYNC':
    case 'FSYNCDIR':
      return new Writer(SIZE.fsyncIn).u64(0, BigInt(req.fh)).bytes;
    case 'FALLOCATE':
      // fuse_fallocate_in: fh, offset, length, mode (the client's fallocate step: 4096 at 0).
      return new Writer(32).u64(0, BigInt(req.fh)).u64(8, 0).u64(16, 4096).bytes;
    case 'IOCTL':
      return new Writer(32).u64(0, BigInt(req.fh)).bytes;
    case 'LSEEK':
      return new Writer(24).u64(0, BigInt(req.fh)).u64(8, req.offset).u32(16, req.whence).bytes;
    case 'COPY_FILE_RANGE':
    case 'COPY_FILE_RANGE_64':
      return new Writer(56).u64(0, BigInt(req.fh)).u64(8, req.offset).u64(16, req.nodeidOut).u64(24, BigInt(req.fhOut)).u64(32, req.offsetOut).u64(40, req.size).bytes;
    case 'GETXATTR':
      return concat([new Writer(SIZE.getxattrIn).u32(0, req.size).bytes, cstr(req.name)]);
    case 'SETLK':
      // fuse_lk_in: fh, owner, fuse_file_lock {start 0, end OFFSET_MAX, type F_RDLCK 0 / F_WRLCK
      // 1 / F_UNLCK 2, pid}, lk_flags (FUSE_LK_FLOCK), padding.
      return new Writer(48)
        .u64(0, BigInt(req.fh))
        .u64(24, 0x7fffffffffffffffn)
        .u32(32, req.type === 'shared' ? 0 : req.type === 'exclusive' ? 1 : 2)
        .u32(40, req.flock ? 1 : 0).bytes;
  }
}

/** The whole request message. */
export function encodeSimRequest(req: FuseRequest, unique: bigint, caller: Caller): Uint8Array {
  const b = body(req);
  const opcode = FUSE_OPCODES[req.op];
  return concat([encodeInHeader({ len: SIZE.inHeader + b.length, opcode, unique, nodeid: BigInt(req.nodeid), uid: caller.uid, gid: caller.gid, pid: caller.pid, totalExtlen: 0 }), b]);
}

/** A reply the kernel would refuse or misread: what is wrong with it. */
export class BadReply extends Error {}

function errnoOf(n: number): Errno {
  const name = errnoName(n);
  return isErrno(name) ? name : 'EIO';
}

function needs(b: Uint8Array, size: number, what: string): void {
  if (b.length < size) throw new BadReply(`${what}: ${b.length} bytes where the kernel needs ${size}`);
}

function attrOf(mode: number, size: number, attrTimeout: number): { size: number; isDir: boolean; attrTimeout: number } {
  return { size, isDir: (mode & S_IFMT) === S_IFDIR, attrTimeout };
}

/** fuse_init_out as the case format writes an INIT reply (unnamed flag bits are dropped: the kernel ignores them). */
function initSpec(b: Uint8Array): InitReplySpec {
  const o = decodeInitOut(b);
  const word = BigInt(o.flags >>> 0) | (o.flags & (1 << 30) ? BigInt(o.flags2 >>> 0) << 32n : 0n);
  const flags = (Object.keys(INIT_FLAG_BITS) as InitFlagName[]).filter((n) => (word >> BigInt(INIT_FLAG_BITS[n])) & 1n);
  const spec: InitReplySpec = { major: o.major, minor: o.minor, flags, maxStackDepth: o.maxStackDepth, maxBackground: o.maxBackground, congestionThreshold: o.congestionThreshold };
  if (b.length < SIZE.initOut) spec.length = b.length;
  return spec;
}

/** Decode the daemon's reply `msg` (out header included) to `req`. */
export function decodeSimReply(req: FuseRequest, msg: Uint8Array): DaemonReply {
  const h = decodeOutHeader(msg);
  if (h === null) throw new BadReply(`a reply of ${msg.length} bytes is shorter than fuse_out_header`);
  if (h.error > 0 || h.error <= -512) throw new BadReply(`fuse_out_header.error ${h.error} is not 0 or a negative errno (the kernel answers the write with EINVAL)`);
  if (h.error !== 0) return { error: errnoOf(-h.error) };
  const b = msg.subarray(SIZE.outHeader, h.len);
  switch (req.op) {
    case 'INIT':
      return { error: null, init: initSpec(b) };
    case 'LOOKUP':
    case 'MKNOD': {
      needs(b, SIZE.entryOut, `${req.op} reply`);
      const e = decodeEntryOut(b);
      // fuse_lookup_name: a zero nodeid is a negative entry (ENOENT, cached).
      if (e.nodeid === 0n) return { error: 'ENOENT' };
      return { error: null, entry: { nodeid: Number(e.nodeid), entryTimeout: e.entryValid, ...attrOf(e.attr.mode, e.attr.size, e.attrValid) } };
    }
    case 'CREATE': {
      needs(b, SIZE.entryOut + SIZE.openOut, 'CREATE reply');
      const e = decodeEntryOut(b);
      const o = decodeOpenOut(b.subarray(SIZE.entryOut));
      return { error: null, entry: { nodeid: Number(e.nodeid), entryTimeout: e.entryValid, ...attrOf(e.attr.mode, e.attr.size, e.attrValid) }, open: { fh: Number(o.fh), openFlags: o.openFlags, backingId: o.backingId } };
    }
    case 'GETATTR':
    case 'SETATTR': {
      needs(b, SIZE.attrOut, `${req.op} reply`);
      const a = decodeAttrOut(b);
      return { error: null, attr: attrOf(a.attr.mode, a.attr.size, a.attrValid) };
    }
    case 'OPEN':
    case 'OPENDIR': {
      needs(b, SIZE.openOut, `${req.op} reply`);
      const o = decodeOpenOut(b);
      return { error: null, open: { fh: Number(o.fh), openFlags: o.openFlags, backingId: o.backingId } };
    }
    case 'READ':
      return { error: null, data: b.slice() };
    case 'WRITE':
    case 'COPY_FILE_RANGE':
    case 'COPY_FILE_RANGE_64':
      needs(b, SIZE.writeOut, `${req.op} reply`);
      return { error: null, written: decodeWriteOut(b) };
    case 'READDIR': {
      const ds = decodeDirents(b);
      const names = ds.map((d) => d.name).filter((n) => n !== '.' && n !== '..');
      return { error: null, names, nextOffset: ds.length > 0 ? Number(ds[ds.length - 1]!.off) : req.offset };
    }
    case 'LSEEK':
      needs(b, 8, 'LSEEK reply');
      return { error: null, offset: new Reader(b).num64(0) };
    case 'GETXATTR':
      return { error: null, xattrSize: b.length >= SIZE.getxattrOut ? new Reader(b).u32(0) : b.length };
    case 'STATFS':
      needs(b, SIZE.statfsOut, 'STATFS reply');
      return { error: null, statfsBsize: new Reader(b).u32(40) };
    default:
      return { error: null };
  }
}
