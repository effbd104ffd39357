// The scripted daemon's answers, as fixtures/world.ts documents them (the behaviour both targets
// share), checked on encoded requests without a kernel.
import { describe, expect, it } from 'vitest';
import { FUSE_OPCODES } from '../../spec/uapi.ts';
import { ERRNO } from '../../spec/errno.ts';
import { concat } from '../../wire/bytes.ts';
import {
  decodeAttrOut,
  decodeDirents,
  decodeEntryOut,
  decodeInitOut,
  decodeOpenOut,
  decodeOutHeader,
  decodeWriteOut,
  encodeCreateIn,
  encodeInHeader,
  encodeInitIn,
  encodeOpenIn,
  encodeReadIn,
  encodeSetattrIn,
  encodeWriteIn,
} from '../../wire/structs.ts';
import { handleRequest, newDaemonState, type DaemonState } from './logic.ts';

let unique = 1n;
function req(opcode: number, nodeid: bigint, body: Uint8Array): Uint8Array {
  const len = 40 + body.length;
  return concat([encodeInHeader({ len, opcode, unique: unique++, nodeid, uid: 0, gid: 0, pid: 1, totalExtlen: 0 }), body]);
}
function name(s: string): Uint8Array {
  return concat([new TextEncoder().encode(s), new Uint8Array(1)]);
}
function answer(s: DaemonState, msg: Uint8Array): { error: number; body: Uint8Array } {
  const h = handleRequest(s, msg);
  if (!h?.reply) throw new Error('no reply');
  const out = decodeOutHeader(h.reply)!;
  expect(out.len).toBe(h.reply.length);
  return { error: out.error, body: h.reply.subarray(16) };
}
const O = FUSE_OPCODES;

describe('scripted daemon (fixtures/world.ts)', () => {
  it('INIT-7: answers INIT with the fixed fields; PASSTHROUGH travels in flags2 bit 5; minor and max_readahead echo the request', () => {
    const s = newDaemonState({});
    s.init = { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2 };
    const r = answer(s, req(O.INIT, 0n, encodeInitIn({ major: 7, minor: 45, maxReadahead: 131072, flags: 0x73fffffb, flags2: 0x5fd })));
    expect(r.error).toBe(0);
    const o = decodeInitOut(r.body);
    expect(r.body.length).toBe(64);
    expect(o).toMatchObject({ major: 7, minor: 45, maxReadahead: 131072, flags: 1 << 30, flags2: 0x20, maxStackDepth: 2 });
    expect(o).toMatchObject({ maxBackground: 16, congestionThreshold: 12, maxWrite: 131072, timeGran: 1, maxPages: 32 });
  });
  it('INIT-4 / INIT-3: a short INIT reply has the requested length; an error reply carries the errno', () => {
    const s = newDaemonState({});
    s.init = { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1, length: 24 };
    expect(answer(s, req(O.INIT, 0n, encodeInitIn({ major: 7, minor: 45, maxReadahead: 0, flags: 0, flags2: 0 }))).body.length).toBe(24);
    const e = newDaemonState({});
    e.init = { error: 'EIO' };
    expect(answer(e, req(O.INIT, 0n, encodeInitIn({ major: 7, minor: 45, maxReadahead: 0, flags: 0, flags2: 0 }))).error).toBe(-ERRNO.EIO);
  });
  it('a held INIT (deferInit) gets no reply', () => {
    const s = newDaemonState({});
    s.init = null;
    expect(handleRequest(s, req(O.INIT, 0n, encodeInitIn({ major: 7, minor: 45, maxReadahead: 0, flags: 0, flags2: 0 })))?.reply).toBeNull();
    expect(s.pendingInit).not.toBeNull();
  });
  it('LOOKUP: stable nodeid, 3600 s timeouts, mode 0100644, nlink 1, size = daemon size; unknown names ENOENT', () => {
    const s = newDaemonState({ f1: {}, f2: { size: 100 } });
    const a = decodeEntryOut(answer(s, req(O.LOOKUP, 1n, name('f1'))).body);
    const b = decodeEntryOut(answer(s, req(O.LOOKUP, 1n, name('f1'))).body);
    expect(a.nodeid).toBe(b.nodeid);
    expect(a).toMatchObject({ generation: 0n, entryValid: 3600, attrValid: 3600 });
    expect(a.attr).toMatchObject({ mode: 0o100644, nlink: 1, uid: 0, gid: 0, size: 4096 });
    expect(decodeEntryOut(answer(s, req(O.LOOKUP, 1n, name('f2'))).body).attr.size).toBe(100);
    expect(answer(s, req(O.LOOKUP, 1n, name('nope'))).error).toBe(-ERRNO.ENOENT);
  });
  it('GETATTR of the root: a directory 040755', () => {
    const s = newDaemonState({});
    expect(decodeAttrOut(answer(s, req(O.GETATTR, 1n, new Uint8Array(16))).body).attr.mode).toBe(0o40755);
  });
  it('OPEN: the node OpenReplySpec, a fresh fh per open, a backing name resolved to its id', () => {
    const s = newDaemonState({ f1: { open: { flags: ['PASSTHROUGH', 'NOFLUSH'], extraBits: 0x100, backing: 'b1' } } });
    s.backingIds = { b1: 7 };
    const id = decodeEntryOut(answer(s, req(O.LOOKUP, 1n, name('f1'))).body).nodeid;
    const a = decodeOpenOut(answer(s, req(O.OPEN, id, encodeOpenIn({ flags: 0, openFlags: 0 }))).body);
    const b = decodeOpenOut(answer(s, req(O.OPEN, id, encodeOpenIn({ flags: 0, openFlags: 0 }))).body);
    expect(a.openFlags).toBe(0x80 | 0x20 | 0x100);
    expect(a.backingId).toBe(7);
    expect(a.fh).not.toBe(b.fh);
  });
  it('OPEN-3: an error in the OpenReplySpec is the reply', () => {
    const s = newDaemonState({ f1: { open: { error: 'EACCES' } } });
    expect(answer(s, req(O.OPEN, 2n, encodeOpenIn({ flags: 0, openFlags: 0 }))).error).toBe(-ERRNO.EACCES);
  });
  it('CREATE adds an empty node answered with World.create', () => {
    const s = newDaemonState({}, { flags: ['PASSTHROUGH'], backing: 3 });
    const r = answer(s, req(O.CREATE, 1n, encodeCreateIn({ flags: 0o101, mode: 0o100644, umask: 0, openFlags: 0, name: 'new' })));
    expect(decodeEntryOut(r.body).attr.size).toBe(0);
    expect(decodeOpenOut(r.body.subarray(128))).toMatchObject({ openFlags: 0x80, backingId: 3 });
    expect(s.nodes.get('new')?.content.length).toBe(0);
  });
  it('READ serves the daemon content; WRITE stores and extends it and replies the count; SETATTR size truncates', () => {
    const s = newDaemonState({ f1: { content: 'abc' } });
    const write = answer(s, req(O.WRITE, 2n, encodeWriteIn({ fh: 1n, offset: 2, size: 3, writeFlags: 0, lockOwner: 0n, flags: 0, data: new TextEncoder().encode('XYZ') })));
    expect(decodeWriteOut(write.body)).toBe(3);
    const read = answer(s, req(O.READ, 2n, encodeReadIn({ fh: 1n, offset: 0, size: 100, readFlags: 0, lockOwner: 0n, flags: 0 })));
    expect(new TextDecoder().decode(read.body)).toBe('abXYZ');
    const sa = answer(s, req(O.SETATTR, 2n, encodeSetattrIn({ valid: 1 << 3, fh: 0n, size: 1, mode: 0, uid: 0, gid: 0 })));
    expect(decodeAttrOut(sa.body).attr.size).toBe(1);
  });
  it('READDIR lists ".", ".." and the nodes; GETXATTR ENODATA; STATFS zeros; other opcodes ENOSYS; FORGET unanswered', () => {
    const s = newDaemonState({ f1: {}, d: { type: 'dir' } });
    const dir = answer(s, req(O.READDIR, 1n, encodeReadIn({ fh: 1n, offset: 0, size: 4096, readFlags: 0, lockOwner: 0n, flags: 0 })));
    expect(decodeDirents(dir.body).map((d) => d.name)).toEqual(['.', '..', 'f1', 'd']);
    expect(answer(s, req(O.GETXATTR, 2n, concat([new Uint8Array(8), name('security.capability')]))).error).toBe(-ERRNO.ENODATA);
    expect(answer(s, req(O.STATFS, 1n, new Uint8Array(0))).body).toEqual(new Uint8Array(80));
    for (const op of [O.LSEEK, O.FALLOCATE, O.IOCTL, O.COPY_FILE_RANGE]) expect(answer(s, req(op, 2n, new Uint8Array(64))).error).toBe(-ERRNO.ENOSYS);
    expect(handleRequest(s, req(O.FORGET, 2n, new Uint8Array(8)))?.reply).toBeNull();
  });
});
