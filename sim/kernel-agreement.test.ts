// Regressions from `fusepass fuzz --target both` on 6.18: every expected value below is what the
// running 6.18 kernel did for the same steps (the kernel target), not what the sim computed.
import { describe, expect, it } from 'vitest';
import type { InitReplySpec } from '../spec/case.ts';
import { mounted } from './test-helpers.ts';

const WB_INIT: InitReplySpec = { flags: ['INIT_EXT', 'WRITEBACK_CACHE'] };

describe('sim agrees with the 6.18 kernel on fuzzed cases', () => {
  it('IO-8: splice with an offset on a FOPEN_NONSEEKABLE file is EINVAL, no request (do_splice wants FMODE_PREAD/PWRITE)', () => {
    const k = mounted();
    k.daemon.setOpenReply('m', { flags: ['NONSEEKABLE'] });
    expect(k.client.open('m', ['O_RDWR'], 'g').errno).toBeNull();
    // kernel 6.18: spliceRead(offset 0) -> EINVAL, []; spliceWrite(offset 0) -> EINVAL, [].
    expect(k.client.spliceRead('g', 1, 0)).toMatchObject({ errno: 'EINVAL', requests: [] });
    expect(k.client.spliceWrite('g', 'x', 0)).toMatchObject({ errno: 'EINVAL', requests: [] });
    // Without an offset splice uses f_pos and goes on as usual.
    expect(k.client.spliceWrite('g', 'x').errno).toBeNull();
  });

  it('IO-8: splice with an offset on a FOPEN_STREAM file is EINVAL too (stream_open clears FMODE_PREAD)', () => {
    const k = mounted();
    k.daemon.setOpenReply('m', { flags: ['STREAM'] });
    k.client.open('m', ['O_RDONLY'], 'g');
    expect(k.client.spliceRead('g', 1, 3)).toMatchObject({ errno: 'EINVAL', requests: [] });
  });

  it('IO-5: with the writeback cache an O_DIRECT write asks GETXATTR then sends WRITE at once', () => {
    const k = mounted({ init: WB_INIT });
    k.client.open('n', ['O_RDWR', 'O_DIRECT'], 'f');
    // kernel 6.18: write "hello" -> 5, [GETXATTR, WRITE] (not a READ of the page: no page cache).
    expect(k.client.write('f', 'hello')).toMatchObject({ errno: null, value: 5, requests: ['GETXATTR', 'WRITE'] });
  });

  it('IO-20: with the writeback cache fallocate flushes the dirty times (SETATTR) even when FALLOCATE fails', () => {
    const k = mounted({ init: WB_INIT });
    k.client.open('n', ['O_RDWR', 'O_DIRECT'], 'f');
    k.client.write('f', 'hello');
    // kernel 6.18: fallocate(0, 10) -> EOPNOTSUPP, [GETXATTR, FALLOCATE, SETATTR].
    expect(k.client.fallocate('f')).toMatchObject({ errno: 'EOPNOTSUPP', requests: ['GETXATTR', 'FALLOCATE', 'SETATTR'] });
  });

  it('OBS-12: with the writeback cache, stat after closing an O_DIRECT file asks GETATTR', () => {
    const k = mounted({ init: WB_INIT });
    k.client.open('n', ['O_RDONLY', 'O_DIRECT'], 'h');
    expect(k.client.close('h').requests).toEqual(['FLUSH', 'RELEASE']);
    // kernel 6.18: stat(node) -> [GETATTR].
    expect(k.client.stat({ node: 'n' }).requests).toEqual(['GETATTR']);
  });
});
