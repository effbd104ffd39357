// The model's requests on the wire and the daemon's replies back (check/sim-wire.ts), checked
// against the codec the relay decodes the real kernel's requests with (relay-messages.ts) and
// the encoders of the uapi structs (wire/structs.ts), which the kernel tests hold to real
// daemons. A reply the kernel would refuse must not be taken as an answer.
import { describe, expect, it } from 'vitest';
import { FUSE_OPCODES, INIT_FLAG_BITS } from '../spec/uapi.ts';
import { encodeCreateOut, encodeEntryOut, encodeInitOut, encodeOpenOut, encodeReply, encodeWriteOut, type Attr } from '../wire/structs.ts';
import { decodeRequest } from './relay-messages.ts';
import { BadReply, decodeSimReply, encodeSimRequest } from './sim-wire.ts';
import { handleRequest, newDaemonState } from '../real-kernel/daemon/logic.ts';

const caller = { uid: 1000, gid: 100, pid: 4242 };
const attr = (mode: number, size: number): Attr => ({ ino: 7n, size, blocks: 0, atime: 0, mtime: 0, ctime: 0, mode, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096 });

describe('requests of the model as the relay decodes them', () => {
  it('LOOKUP, OPEN, READ, WRITE, RELEASE carry opcode, unique, nodeid, pid, name, flags, fh, offset and size', () => {
    const lookup = decodeRequest(encodeSimRequest({ op: 'LOOKUP', nodeid: 1, name: 'data' }, 2n, caller))!.event;
    expect([lookup.op, lookup.unique, lookup.nodeid, lookup.pid, lookup.name]).toEqual(['LOOKUP', 2n, 1n, 4242, 'data']);
    const open = decodeRequest(encodeSimRequest({ op: 'OPEN', nodeid: 9, flags: 0o100002 }, 4n, caller))!.event;
    expect([open.opcode, open.nodeid, open.flags]).toEqual([FUSE_OPCODES.OPEN, 9n, 0o100002]);
    const read = decodeRequest(encodeSimRequest({ op: 'READ', nodeid: 9, fh: 77, offset: 8192, size: 4096 }, 6n, caller))!.event;
    expect([read.fh, read.offset, read.size]).toEqual([77n, 8192, 4096]);
    const data = new TextEncoder().encode('hello');
    const write = decodeRequest(encodeSimRequest({ op: 'WRITE', nodeid: 9, fh: 77, offset: 3, data }, 8n, caller))!.event;
    expect([write.fh, write.offset, write.size]).toEqual([77n, 3, 5]);
    const rel = decodeRequest(encodeSimRequest({ op: 'RELEASE', nodeid: 9, fh: 77, flags: 0 }, 10n, caller))!.event;
    expect([rel.op, rel.fh]).toEqual(['RELEASE', 77n]);
  });

  it('UNLINK and RENAME name their entries as a daemon reads them: the kernel target\'s scripted daemon removes and renames the node', () => {
    const s = newDaemonState({ a: {}, b: {} });
    const gone = handleRequest(s, encodeSimRequest({ op: 'UNLINK', nodeid: 1, name: 'a' }, 2n, caller))!;
    expect([gone.opcode, [...s.nodes.keys()]]).toEqual([FUSE_OPCODES.UNLINK, ['b']]);
    const moved = handleRequest(s, encodeSimRequest({ op: 'RENAME', nodeid: 1, name: 'b', newName: 'long-new-name' }, 4n, caller))!;
    expect([moved.opcode, [...s.nodes.keys()], s.nodes.get('long-new-name')?.name]).toEqual([FUSE_OPCODES.RENAME, ['long-new-name'], 'long-new-name']);
    // A name the daemon does not have: ENOENT in the reply header.
    const missing = handleRequest(s, encodeSimRequest({ op: 'RENAME', nodeid: 1, name: 'b', newName: 'c' }, 6n, caller))!;
    expect(new DataView(missing.reply!.buffer, missing.reply!.byteOffset).getInt32(4, true)).toBe(-2);
  });

  it('SETLK is a fuse_lk_in over the whole file (end OFFSET_MAX) with the lock type and FUSE_LK_FLOCK for flock; the kernel target\'s scripted daemon answers ENOSYS', () => {
    const msg = encodeSimRequest({ op: 'SETLK', nodeid: 9, fh: 77, flock: true, type: 'exclusive' }, 2n, caller);
    const body = new DataView(msg.buffer, msg.byteOffset + 40);
    expect([msg.length - 40, body.getBigUint64(0, true), body.getBigUint64(16, true), body.getBigUint64(24, true), body.getUint32(32, true), body.getUint32(40, true)]).toEqual([48, 77n, 0n, 0x7fffffffffffffffn, 1, 1]);
    const unlock = new DataView(encodeSimRequest({ op: 'SETLK', nodeid: 9, fh: 77, flock: false, type: 'unlock' }, 4n, caller).buffer);
    expect([unlock.getUint32(40 + 32, true), unlock.getUint32(40 + 40, true)]).toEqual([2, 0]);
    const answered = handleRequest(newDaemonState({}), msg)!;
    expect([answered.opcode, new DataView(answered.reply!.buffer, answered.reply!.byteOffset).getInt32(4, true)]).toEqual([FUSE_OPCODES.SETLK, -38]);
  });

  it('INIT offers 7.<minor> with the named flags, INIT_EXT carrying the high word', () => {
    const ev = decodeRequest(encodeSimRequest({ op: 'INIT', nodeid: 0, minor: 40, flags: ['INIT_EXT', 'PASSTHROUGH', 'ASYNC_READ'] }, 2n, caller))!.event;
    expect(ev.init).toEqual({ major: 7, minor: 40, flags: ['ASYNC_READ', 'INIT_EXT', 'PASSTHROUGH'].sort((a, b) => INIT_FLAG_BITS[a as 'ASYNC_READ'] - INIT_FLAG_BITS[b as 'ASYNC_READ']) });
  });
});

describe("the daemon's replies as the model takes them", () => {
  it('LOOKUP: nodeid, size, directory bit and both timeouts; a zero nodeid is a negative entry', () => {
    const entry = encodeEntryOut({ nodeid: 33n, generation: 0n, entryValid: 0, attrValid: 5, attr: attr(0o100644, 65536) });
    expect(decodeSimReply({ op: 'LOOKUP', nodeid: 1, name: 'data' }, encodeReply(2n, 0, entry))).toEqual({ error: null, entry: { nodeid: 33, entryTimeout: 0, size: 65536, isDir: false, attrTimeout: 5 } });
    const negative = encodeEntryOut({ nodeid: 0n, generation: 0n, entryValid: 1, attrValid: 1, attr: attr(0, 0) });
    expect(decodeSimReply({ op: 'LOOKUP', nodeid: 1, name: 'x' }, encodeReply(2n, 0, negative))).toEqual({ error: 'ENOENT' });
  });

  it('OPEN and CREATE: fh, open flags and the signed backing id; errors by name', () => {
    const open = encodeOpenOut({ fh: 5n, openFlags: 1 << 7, backingId: -3 });
    expect(decodeSimReply({ op: 'OPEN', nodeid: 9, flags: 0 }, encodeReply(4n, 0, open))).toEqual({ error: null, open: { fh: 5, openFlags: 128, backingId: -3 } });
    const create = encodeCreateOut({ nodeid: 40n, generation: 0n, entryValid: 1, attrValid: 1, attr: attr(0o100644, 0) }, { fh: 6n, openFlags: 0, backingId: 2 });
    expect(decodeSimReply({ op: 'CREATE', nodeid: 1, name: 'n', flags: 0, mode: 0o644 }, encodeReply(4n, 0, create)).open).toEqual({ fh: 6, openFlags: 0, backingId: 2 });
    expect(decodeSimReply({ op: 'OPEN', nodeid: 9, flags: 0 }, encodeReply(4n, -38))).toEqual({ error: 'ENOSYS' });
  });

  it('INIT: the reply as the case format writes it, a short reply keeping its length (INIT-4)', () => {
    const out = { major: 7, minor: 45, maxReadahead: 0, flags: (1 << 30) | 1, maxBackground: 64, congestionThreshold: 48, maxWrite: 1 << 20, timeGran: 1, maxPages: 0, mapAlignment: 0, flags2: 1 << (INIT_FLAG_BITS.PASSTHROUGH - 32), maxStackDepth: 2, requestTimeout: 0 };
    expect(decodeSimReply({ op: 'INIT', nodeid: 0, minor: 45, flags: [] }, encodeReply(2n, 0, encodeInitOut(out))).init).toEqual({ major: 7, minor: 45, flags: ['ASYNC_READ', 'INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2, maxBackground: 64, congestionThreshold: 48 });
    expect(decodeSimReply({ op: 'INIT', nodeid: 0, minor: 45, flags: [] }, encodeReply(2n, 0, encodeInitOut(out, 24))).init?.length).toBe(24);
  });

  it('WRITE: the size written; READ: the bytes', () => {
    expect(decodeSimReply({ op: 'WRITE', nodeid: 9, fh: 1, offset: 0, data: new Uint8Array(9) }, encodeReply(8n, 0, encodeWriteOut(9))).written).toBe(9);
    expect(decodeSimReply({ op: 'READ', nodeid: 9, fh: 1, offset: 0, size: 3 }, encodeReply(6n, 0, new Uint8Array([1, 2, 3]))).data).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('a reply the kernel refuses is no answer: a positive error, one below -511, a short fixed-size reply', () => {
    expect(() => decodeSimReply({ op: 'GETATTR', nodeid: 1 }, encodeReply(2n, 5))).toThrow(BadReply);
    expect(() => decodeSimReply({ op: 'GETATTR', nodeid: 1 }, encodeReply(2n, -600))).toThrow(BadReply);
    expect(() => decodeSimReply({ op: 'OPEN', nodeid: 9, flags: 0 }, encodeReply(2n, 0, new Uint8Array(8)))).toThrow(/OPEN reply: 8 bytes where the kernel needs 16/);
  });
});
