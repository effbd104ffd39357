// Decoding what the relay carries, against messages built with the wire codec's encoders.
import { describe, expect, it } from 'vitest';
import { concat } from '../wire/bytes.ts';
import { encodeInHeader, encodeInitIn, encodeOpenOut, encodeReply } from '../wire/structs.ts';
import { SIZE } from '../wire/layout.ts';
import { FUSE_OPCODES, INIT_FLAG_BITS } from '../spec/uapi.ts';
import { decodeReply, decodeRequest, initFlagNames, opName } from './relay-messages.ts';

const header = (opcode: number, bodyLen: number) => encodeInHeader({ len: SIZE.inHeader + bodyLen, opcode, unique: 7n, nodeid: 1n, uid: 0, gid: 0, pid: 42, totalExtlen: 0 });

describe('relay messages (check/relay-messages.ts)', () => {
  it('strips FUSE_OVER_IO_URING from the INIT offer and keeps everything else', () => {
    const flags = (1 << INIT_FLAG_BITS.INIT_EXT) | (1 << INIT_FLAG_BITS.ASYNC_READ);
    const flags2 = (1 << (INIT_FLAG_BITS.PASSTHROUGH - 32)) | (1 << (INIT_FLAG_BITS.OVER_IO_URING - 32));
    const body = encodeInitIn({ major: 7, minor: 45, maxReadahead: 131072, flags, flags2 });
    const d = decodeRequest(concat([header(FUSE_OPCODES.INIT, body.length), body]))!;
    expect(d.event.init!.flags).toEqual(['ASYNC_READ', 'INIT_EXT', 'PASSTHROUGH']);
    const forwarded = new DataView(d.forward.buffer, d.forward.byteOffset).getUint32(SIZE.inHeader + 16, true);
    expect(forwarded).toBe(1 << (INIT_FLAG_BITS.PASSTHROUGH - 32));
  });

  it('an INIT offer without io_uring is forwarded byte for byte', () => {
    const body = encodeInitIn({ major: 7, minor: 45, maxReadahead: 0, flags: 1 << INIT_FLAG_BITS.INIT_EXT, flags2: 1 << (INIT_FLAG_BITS.PASSTHROUGH - 32) });
    const msg = concat([header(FUSE_OPCODES.INIT, body.length), body]);
    expect(decodeRequest(msg)!.forward).toBe(msg);
  });

  it('--profile: the forwarded INIT carries the emulated minor and only flags both kernels offer', () => {
    const flags = (1 << INIT_FLAG_BITS.INIT_EXT) | (1 << INIT_FLAG_BITS.ASYNC_READ);
    const flags2 = (1 << (INIT_FLAG_BITS.PASSTHROUGH - 32)) | (1 << (INIT_FLAG_BITS.REQUEST_TIMEOUT - 32));
    const body = encodeInitIn({ major: 7, minor: 45, maxReadahead: 131072, flags, flags2 });
    const msg = concat([header(FUSE_OPCODES.INIT, body.length), body]);
    // A 7.40 kernel without CONFIG_FUSE_PASSTHROUGH offering INIT_EXT and ASYNC_READ only.
    const mask = (1n << BigInt(INIT_FLAG_BITS.INIT_EXT)) | (1n << BigInt(INIT_FLAG_BITS.ASYNC_READ)) | (1n << BigInt(INIT_FLAG_BITS.WRITEBACK_CACHE));
    const d = decodeRequest(msg, { minor: 40, mask })!;
    expect(d.event.init).toEqual({ major: 7, minor: 40, flags: ['ASYNC_READ', 'INIT_EXT'] });
    const dv = new DataView(d.forward.buffer, d.forward.byteOffset);
    expect([dv.getUint32(SIZE.inHeader + 4, true), dv.getUint32(SIZE.inHeader + 12, true), dv.getUint32(SIZE.inHeader + 16, true)]).toEqual([40, flags, 0]);
    expect(d.forward.length).toBe(msg.length);
    expect(new DataView(msg.buffer, msg.byteOffset).getUint32(SIZE.inHeader + 4, true)).toBe(45); // the kernel's bytes untouched
  });

  it('an OPEN reply gives fh, open flags and the signed backing id', () => {
    const r = decodeReply(encodeReply(7n, 0, encodeOpenOut({ fh: 3n, openFlags: 0x81, backingId: -5 })), FUSE_OPCODES.OPEN)!;
    expect(r.open).toEqual({ fh: 3n, openFlags: 0x81, backingId: -5 });
  });

  it('an error reply carries the errno and no payload', () => {
    expect(decodeReply(encodeReply(7n, -2), FUSE_OPCODES.LOOKUP)).toEqual({ t: 'reply', unique: 7n, opcode: FUSE_OPCODES.LOOKUP, op: 'LOOKUP', error: -2 });
  });

  it('an opcode without a name is kept by number', () => {
    expect(opName(60)).toBe('OP_60');
    expect(decodeRequest(header(60, 0))!.event.op).toBe('OP_60');
    expect(initFlagNames(1n << 63n)).toEqual(['bit63']);
  });
});
