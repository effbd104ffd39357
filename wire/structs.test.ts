import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeBackingMap,
  decodeCreateIn,
  decodeDirents,
  decodeEntryOut,
  decodeInHeader,
  decodeInitIn,
  decodeInitOut,
  decodeOpenOut,
  decodeOutHeader,
  decodeReadIn,
  decodeReleaseIn,
  decodeSetattrIn,
  decodeWriteIn,
  encodeBackingMap,
  encodeCreateIn,
  encodeDirents,
  encodeEntryOut,
  encodeInHeader,
  encodeInitIn,
  encodeInitOut,
  encodeOpenOut,
  encodeOutHeader,
  encodeReadIn,
  encodeReleaseIn,
  encodeReply,
  encodeSetattrIn,
  encodeWriteIn,
  initFlagWord,
  type InitOut,
} from './structs.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });

const initOut = fc.record<InitOut>({
  major: u32,
  minor: u32,
  maxReadahead: u32,
  flags: u32,
  maxBackground: u16,
  congestionThreshold: u16,
  maxWrite: u32,
  timeGran: u32,
  maxPages: u16,
  mapAlignment: u16,
  flags2: u32,
  maxStackDepth: u32,
  requestTimeout: u16,
});

describe('wire layouts (kernel-spec §1.2)', () => {
  it('fuse_init_out is 64 bytes with flags2 at 32 and max_stack_depth at 36', () => {
    const b = encodeInitOut({ ...zeroInitOut(), flags2: 0x20, maxStackDepth: 2 });
    expect(b.length).toBe(64);
    const dv = new DataView(b.buffer, b.byteOffset);
    expect(dv.getUint32(32, true)).toBe(0x20);
    expect(dv.getUint32(36, true)).toBe(2);
  });
  it('INIT-4: a short fuse_init_out is sent as the first `length` bytes; missing fields decode as 0', () => {
    const b = encodeInitOut({ ...zeroInitOut(), major: 7, minor: 45, maxStackDepth: 1 }, 24);
    expect(b.length).toBe(24);
    expect(decodeInitOut(b).maxStackDepth).toBe(0);
    expect(decodeInitOut(b).minor).toBe(45);
  });
  it('fuse_open_out is 16 bytes: fh u64, open_flags u32 at 8, backing_id s32 at 12', () => {
    const b = encodeOpenOut({ fh: 5n, openFlags: 0x80, backingId: -1 });
    expect(b.length).toBe(16);
    const dv = new DataView(b.buffer, b.byteOffset);
    expect(dv.getUint32(8, true)).toBe(0x80);
    expect(dv.getInt32(12, true)).toBe(-1);
  });
  it('fuse_backing_map is 16 bytes: fd s32, flags u32 at 4, padding u64 at 8', () => {
    const b = encodeBackingMap({ fd: -1, flags: 1, padding: 1n });
    expect(b.length).toBe(16);
    const dv = new DataView(b.buffer, b.byteOffset);
    expect(dv.getInt32(0, true)).toBe(-1);
    expect(dv.getUint32(4, true)).toBe(1);
    expect(dv.getBigUint64(8, true)).toBe(1n);
  });
  it('fuse_in_header is 40 bytes and fuse_out_header 16; an error reply has no payload', () => {
    expect(encodeInHeader({ len: 40, opcode: 26, unique: 1n, nodeid: 0n, uid: 0, gid: 0, pid: 0, totalExtlen: 0 }).length).toBe(40);
    expect(encodeOutHeader({ len: 16, error: 0, unique: 1n }).length).toBe(16);
    const r = encodeReply(9n, -2, new Uint8Array(8));
    expect(r.length).toBe(16);
    expect(decodeOutHeader(r)).toEqual({ len: 16, error: -2, unique: 9n });
  });
  it('a CREATE request carries fuse_create_in (16 bytes) then the NUL-terminated name', () => {
    const b = encodeCreateIn({ flags: 0o101, mode: 0o100644, umask: 0o22, openFlags: 0, name: 'new' });
    expect(b.length).toBe(16 + 4);
    expect(decodeCreateIn(b).name).toBe('new');
  });
  it('INIT-6: flags2 counts only when flags has INIT_EXT (bit 30)', () => {
    expect(initFlagWord(0, 0x20)).toBe(0n);
    expect(initFlagWord(1 << 30, 0x20)).toBe((1n << 30n) | (1n << 37n));
  });
  it('a short fuse_init_in (pre-7.36 kernels) decodes with flags2 = 0', () => {
    expect(decodeInitIn(new Uint8Array([7, 0, 0, 0, 45, 0, 0, 0])).flags2).toBe(0);
  });
});

describe('wire round trips (decode(encode(x)) = x for every field value)', () => {
  it('in header', () => {
    fc.assert(
      fc.property(fc.record({ len: u32, opcode: u32, unique: u64, nodeid: u64, uid: u32, gid: u32, pid: u32, totalExtlen: u16 }), (h) => {
        expect(decodeInHeader(encodeInHeader(h))).toEqual(h);
      }),
    );
  });
  it('init in / init out', () => {
    fc.assert(
      fc.property(fc.record({ major: u32, minor: u32, maxReadahead: u32, flags: u32, flags2: u32 }), (i) => {
        expect(decodeInitIn(encodeInitIn(i))).toEqual(i);
      }),
    );
    fc.assert(fc.property(initOut, (o) => {
        expect(decodeInitOut(encodeInitOut(o))).toEqual(o);
      }));
  });
  it('open out, backing map, entry out', () => {
    fc.assert(fc.property(fc.record({ fh: u64, openFlags: u32, backingId: i32 }), (o) => {
        expect(decodeOpenOut(encodeOpenOut(o))).toEqual(o);
      }));
    fc.assert(
      fc.property(fc.record({ fd: i32, flags: u32, padding: u64 }), (m) => {
        expect(decodeBackingMap(encodeBackingMap(m))).toEqual(m);
      }),
    );
    fc.assert(
      fc.property(
        fc.record({
          nodeid: u64,
          generation: u64,
          entryValid: safe,
          attrValid: safe,
          attr: fc.record({
            ino: u64,
            size: safe,
            blocks: safe,
            atime: safe,
            mtime: safe,
            ctime: safe,
            mode: u32,
            nlink: u32,
            uid: u32,
            gid: u32,
            rdev: u32,
            blksize: u32,
          }),
        }),
        (e) => {
          expect(decodeEntryOut(encodeEntryOut(e))).toEqual(e);
        },
      ),
    );
  });
  it('read in, write in, release in, setattr in', () => {
    fc.assert(
      fc.property(fc.record({ fh: u64, offset: safe, size: u32, readFlags: u32, lockOwner: u64, flags: u32 }), (x) => {
        expect(decodeReadIn(encodeReadIn(x))).toEqual(x);
      }),
    );
    fc.assert(
      fc.property(fc.record({ fh: u64, offset: safe, writeFlags: u32, lockOwner: u64, flags: u32 }), fc.uint8Array({ maxLength: 64 }), (x, data) => {
        const w = { ...x, size: data.length, data };
        expect(decodeWriteIn(encodeWriteIn(w))).toEqual(w);
      }),
    );
    fc.assert(
      fc.property(fc.record({ fh: u64, flags: u32, releaseFlags: u32, lockOwner: u64 }), (x) => {
        expect(decodeReleaseIn(encodeReleaseIn(x))).toEqual(x);
      }),
    );
    fc.assert(
      fc.property(fc.record({ valid: u32, fh: u64, size: safe, mode: u32, uid: u32, gid: u32 }), (x) => {
        expect(decodeSetattrIn(encodeSetattrIn(x))).toEqual(x);
      }),
    );
  });
  it('dirents are 8-byte aligned and round-trip', () => {
    const name = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(fc.array(fc.record({ ino: u64, off: safe, type: u32, name }), { maxLength: 5 }), (ds) => {
        const b = encodeDirents(ds);
        expect(b.length % 8).toBe(0);
        expect(decodeDirents(b)).toEqual(ds);
      }),
    );
  });
});

function zeroInitOut(): InitOut {
  return {
    major: 0,
    minor: 0,
    maxReadahead: 0,
    flags: 0,
    maxBackground: 0,
    congestionThreshold: 0,
    maxWrite: 0,
    timeGran: 0,
    maxPages: 0,
    mapAlignment: 0,
    flags2: 0,
    maxStackDepth: 0,
    requestTimeout: 0,
  };
}
