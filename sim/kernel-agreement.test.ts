// Regressions from `fusepass fuzz --target both` on 6.18: every expected value below is what the
// running 6.18 kernel did for the same steps (the kernel target), not what the sim computed.
import { describe, expect, it } from 'vitest';
import type { InitReplySpec } from '../spec/case.ts';
import { mounted, ptOpen, registered } from './test-helpers.ts';

const WB_INIT: InitReplySpec = { flags: ['INIT_EXT', 'WRITEBACK_CACHE'] };
/** The probes' world: node m holds 8 bytes. */
const M8 = { files: { b: { on: 'disk' as const } }, nodes: { n: {}, m: { content: 'DDDDDDDD', size: 8 } } };

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

  it('OPEN-2: an open without FOPEN_KEEP_CACHE writes dirty writeback-cache pages back (invalidate_inode_pages2 launders them)', () => {
    // fuzz --target both, seed 23; the whole sequence replayed on 6.18 (kernel answers in comments).
    const k = mounted({ init: WB_INIT });
    k.client.open('n', ['O_RDWR'], 'f1');
    expect(k.client.write('f1', 'w').requests).toEqual(['GETXATTR', 'READ']);
    expect(k.client.open('n', ['O_RDONLY'], 'f2').requests).toEqual(['OPEN', 'WRITE']); // kernel: [OPEN, WRITE]
    expect(k.client.open('n', ['O_RDONLY', 'O_DIRECT'], 'f3').requests).toEqual(['OPEN']); // nothing dirty left
    expect(k.client.write('f1', 'w').requests).toEqual(['GETXATTR', 'READ']); // the page was dropped
    k.daemon.setOpenReply('n', { flags: ['KEEP_CACHE'] });
    expect(k.client.open('n', ['O_RDONLY'], 'f4').requests).toEqual(['OPEN']); // KEEP_CACHE: kept dirty
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    expect(k.client.open('n', ['O_RDONLY'], 'f5').requests).toEqual(['OPEN', 'WRITE']);
    // The daemon got the bytes: the page is re-read from it (kernel: READ, "w*2+D*8").
    expect(k.client.read('f1', 10, 0)).toMatchObject({ errno: null, value: 'w*2+D*8', requests: ['READ'] });
  });

  it('INIT-3: after a failed INIT the daemon cannot even O_PATH-open a file on its own mount (the LOOKUP is refused)', () => {
    // fuzz --target both, seed 38: kernel 6.18 answered ECONNREFUSED, no request seen.
    const k = mounted({ init: { error: 'ENOSYS' }, world: { files: { self: { on: 'self' } }, nodes: { n: {} } } });
    expect(k.daemon.open('self', 'path', 'bf1')).toMatchObject({ errno: 'ECONNREFUSED', requests: [] });
    expect(k.daemon.open('self', 'rdonly', 'bf2')).toMatchObject({ errno: 'ECONNREFUSED', requests: [] });
  });

  it('IO-11: with the writeback cache a store through a shared mapping dirties the times: munmap sends WRITE then SETATTR', () => {
    // Probe on 6.18 (after an fsync had flushed everything): mapWrite, munmap -> [WRITE, SETATTR].
    const k = mounted({ init: WB_INIT });
    k.client.open('n', ['O_RDWR'], 'f1');
    k.client.write('f1', 'abc');
    k.client.fsync('f1');
    expect(k.client.mmap('f1', { shared: true, write: true }, 'm1').errno).toBeNull();
    expect(k.client.mapWrite('m1', 'q').errno).toBeNull();
    expect(k.client.munmap('m1').requests).toEqual(['WRITE', 'SETATTR']);
  });

  it('IO-11: without the writeback cache the same munmap sends only WRITE (S_NOCMTIME: no local times)', () => {
    const k = mounted({ init: { flags: ['INIT_EXT'] } });
    k.client.open('n', ['O_RDWR'], 'f1');
    k.client.mmap('f1', { shared: true, write: true }, 'm1');
    k.client.mapWrite('m1', 'q');
    expect(k.client.munmap('m1').requests).toEqual(['WRITE']);
  });

  it('IO-16: with the writeback cache GETATTR does not change a regular file\'s i_size (the kernel trusts its own)', () => {
    // Probe on 6.18 with WRITEBACK_CACHE and ATOMIC_O_TRUNC: the O_TRUNC open zeroes i_size
    // locally; the daemon keeps its 4096 bytes, yet stat says 0 after a GETATTR.
    const k = mounted({ init: { flags: ['INIT_EXT', 'WRITEBACK_CACHE', 'ATOMIC_O_TRUNC'] } });
    k.client.open('n', ['O_RDWR'], 'f1');
    expect(k.client.write('f1', 'abc').requests).toEqual(['GETXATTR', 'READ']);
    expect(k.client.open('n', ['O_WRONLY', 'O_TRUNC'], 'f2').requests).toEqual(['OPEN', 'GETXATTR']);
    expect(k.client.stat({ fd: 'f1' })).toMatchObject({ value: 0, requests: ['GETATTR'] });
    // The page at 0 is past EOF now: no READ before the write (kernel: [GETXATTR]).
    expect(k.client.write('f2', 'xy').requests).toEqual(['GETXATTR']);
    expect(k.client.lseek('f1', 'END', 0)).toMatchObject({ value: 2, requests: [] });
  });

  it('IO-18: with the writeback cache a size-only request (read past EOF, SEEK_END) sends no GETATTR after a DIRECT_IO write', () => {
    // Probe on 6.18: node m holds 8 bytes; f1 cached, f2 FOPEN_DIRECT_IO.
    const k = mounted({ init: WB_INIT, world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    k.daemon.setOpenReply('m', { flags: ['DIRECT_IO'] });
    k.client.open('m', ['O_RDWR'], 'f2');
    expect(k.client.write('f2', 'abcdefghijkl').requests).toEqual(['WRITE']);
    // kernel: [READ] (no GETATTR), "efghijkl".
    expect(k.client.read('f1', 100, 4)).toMatchObject({ value: 'e*1+f*1+g*1+h*1+i*1+j*1+k*1+l*1', requests: ['READ'] });
    expect(k.client.write('f2', 'Q', 30).requests).toEqual(['WRITE']);
    expect(k.client.lseek('f1', 'END', 0)).toMatchObject({ value: 31, requests: [] }); // kernel: 31, []
  });

  it('IO-3: a DIRECT_IO write launders the dirty cached pages of its range before its WRITE (invalidate_inode_pages2_range)', () => {
    const k = mounted({ init: WB_INIT, world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    k.daemon.setOpenReply('m', { flags: ['DIRECT_IO'] });
    k.client.open('m', ['O_RDWR'], 'f2');
    k.client.write('f2', 'abcdefghijkl');
    k.client.read('f1', 100, 4);
    expect(k.client.write('f1', 'z', 20).requests).toEqual(['GETXATTR']); // cached, dirty
    // kernel: [WRITE] (launder + the write itself, repeats collapsed), then the daemon holds z.
    expect(k.client.write('f2', 'Q', 30).requests).toEqual(['WRITE']);
    expect(k.client.read('f1', 100, 10)).toMatchObject({ value: 'k*1+l*1+\\x00*8+z*1+\\x00*9+Q*1', requests: ['READ'] });
    // Nothing dirty is left for the close (kernel: [SETATTR, FLUSH, RELEASE], no WRITE).
    expect(k.client.close('f2').requests).toEqual(['SETATTR', 'FLUSH', 'RELEASE']);
  });

  it('IO-6: without the writeback cache an O_DIRECT write drops the cached pages of its range (generic_file_direct_write)', () => {
    // Probe on 6.18: f1 cached the page; the O_DIRECT write through f2 invalidated it, so the
    // next read through f1 sent GETATTR and READ (the sim used to patch the cached page instead).
    const k = mounted({ world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    expect(k.client.read('f1', 10).requests).toEqual(['READ']);
    k.daemon.setOpenReply('m', { flags: ['KEEP_CACHE'] });
    k.client.open('m', ['O_RDWR', 'O_DIRECT'], 'f2');
    expect(k.client.write('f2', 'xy').requests).toEqual(['GETXATTR', 'WRITE']);
    expect(k.client.read('f1', 10, 0)).toMatchObject({ value: 'x*1+y*1+D*6', requests: ['GETATTR', 'READ'] });
    // A dirty page of a shared mapping is written before an O_DIRECT read (kiocb_write_and_wait).
    k.client.mmap('f1', { shared: true, write: true }, 'm1');
    k.client.mapWrite('m1', 'Z', 3);
    expect(k.client.read('f2', 10, 0)).toMatchObject({ value: 'x*1+y*1+D*1+Z*1+D*4', requests: ['WRITE', 'READ'] });
    expect(k.client.write('f2', 'W', 5).requests).toEqual(['GETXATTR', 'WRITE']);
    expect(k.client.mapRead('m1', 8)).toMatchObject({ value: 'x*1+y*1+D*1+Z*1+D*1+W*1+D*2', requests: ['READ'] });
  });

  it('IO-1: an O_DIRECT PT read at the backing file\'s EOF returns 0 bytes, not EINVAL, however misaligned', () => {
    // fuzz --target both, seed 83: a 1-byte read at offset 4096 of the 4096-byte disk file.
    const k = registered({ world: { files: { b: { on: 'disk' } }, nodes: { n: {} } } });
    expect(ptOpen(k, { flags: ['O_RDONLY', 'O_DIRECT'] }).errno).toBeNull();
    expect(k.client.read('f', 1, 4096)).toMatchObject({ errno: null, value: '', requests: [] });
    // Inside the file the misaligned read is still refused by the backing filesystem.
    expect(k.client.read('f', 1, 0)).toMatchObject({ errno: 'EINVAL', requests: [] });
  });

  it('IO-21: with the writeback cache copy_file_range writes the source\'s dirty pages back, then flushes the destination\'s times', () => {
    // Probe on 6.18 (the daemon answers COPY_FILE_RANGE with ENOSYS; the splice fallback copies).
    const k = mounted({ init: WB_INIT, world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    k.client.open('n', ['O_RDWR'], 'f2');
    expect(k.client.write('f1', 'abc').requests).toEqual(['GETXATTR', 'READ']);
    // kernel: 4, [WRITE, GETXATTR, COPY_FILE_RANGE, SETATTR, GETXATTR, READ].
    expect(k.client.copyRange({ from: 'f1', to: 'f2', length: 4 })).toMatchObject({ value: 4, requests: ['WRITE', 'GETXATTR', 'COPY_FILE_RANGE_64', 'COPY_FILE_RANGE', 'SETATTR', 'GETXATTR', 'READ'] });
    // The fallback's write found the times current: the close sends no SETATTR.
    expect(k.client.close('f2').requests).toEqual(['WRITE', 'FLUSH', 'RELEASE']);
  });

  it('IO-20: a fallocate whose time flush failed leaves AS_EIO: the next close reports EIO (filemap_check_errors), not ENOTCONN', () => {
    // fuzz --target both, seeds 23 and 25 (second batch): WB+PT INIT, abort, fallocate, close.
    const k = mounted({ init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'WRITEBACK_CACHE'], maxStackDepth: 1 } });
    k.client.open('n', ['O_RDWR'], 'f1');
    k.daemon.abort();
    expect(k.client.fallocate('f1').errno).toBe('ENOTCONN');
    expect(k.client.close('f1').errno).toBe('EIO'); // kernel 6.18: EIO
  });

  it('IO-5: with HANDLE_KILLPRIV_V2 every attribute refresh (GETATTR or SETATTR reply) clears S_NOSEC: the next write asks GETXATTR again', () => {
    // Probe on 6.18 (kernel answers in comments).
    const k = mounted({ init: { flags: ['INIT_EXT', 'HANDLE_KILLPRIV_V2'] }, world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    expect(k.client.write('f1', 'abc').requests).toEqual(['GETXATTR', 'WRITE']);
    expect(k.client.write('f1', 'abc').requests).toEqual(['WRITE']); // S_NOSEC
    expect(k.client.ftruncate('f1', 3).requests).toEqual(['SETATTR']); // S_NOSEC: no GETXATTR
    expect(k.client.write('f1', 'abc').requests).toEqual(['GETXATTR', 'WRITE']); // cleared by SETATTR
    expect(k.client.write('f1', 'abc').requests).toEqual(['WRITE']);
    expect(k.client.stat({ fd: 'f1' }).requests).toEqual(['GETATTR']);
    expect(k.client.write('f1', 'abc').requests).toEqual(['GETXATTR', 'WRITE']); // cleared by GETATTR
  });

  it('IO-15: a size-changing SETATTR launders the dirty page that holds the new EOF (truncate_pagecache, then invalidate_inode_pages2)', () => {
    // Probe on 6.18 with DIRECT_IO_ALLOW_MMAP and a DIRECT_IO file mapped shared.
    const k = mounted({ init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'DIRECT_IO_ALLOW_MMAP'], maxStackDepth: 1 }, world: M8 });
    k.daemon.setOpenReply('m', { flags: ['DIRECT_IO'] });
    k.client.open('m', ['O_RDWR'], 'f1');
    k.client.mmap('f1', { shared: true, write: true }, 'm1');
    expect(k.client.mapWrite('m1', 'Z', 1).requests).toEqual(['READ']);
    // A direct read writes the range's dirty pages first.
    expect(k.client.read('f1', 8, 0)).toMatchObject({ value: 'D*1+Z*1+D*6', requests: ['WRITE', 'READ'] });
    k.client.mapWrite('m1', 'V', 5);
    expect(k.client.ftruncate('f1', 7).requests).toEqual(['GETXATTR', 'SETATTR', 'WRITE']); // kernel 6.18
  });

  it('IO-16: a GETATTR that brings a new size launders a dirty mapped page before dropping the cache (fuse_change_attributes_i)', () => {
    // Probe on 6.18: the daemon shrank the file to 6 bytes behind the kernel's back.
    const k = mounted({ world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    k.client.mmap('f1', { shared: true, write: true }, 'm1');
    k.client.mapWrite('m1', 'Z', 1);
    k.daemon.setDaemonSize('m', 6);
    expect(k.client.stat({ fd: 'f1' })).toMatchObject({ value: 6, requests: ['GETATTR', 'WRITE'] });
    expect(k.client.mapRead('m1', 6)).toMatchObject({ value: 'D*1+Z*1+D*4', requests: ['READ'] });
  });

  it('IO-3: a FOPEN_DIRECT_IO read writes the dirty cached pages of its range first, without DIRECT_IO_ALLOW_MMAP too', () => {
    // Probe on 6.18: f1 cached and mapped shared, f3 FOPEN_DIRECT_IO|KEEP_CACHE.
    const k = mounted({ init: { flags: ['INIT_EXT'] }, world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    k.client.mmap('f1', { shared: true, write: true }, 'm1');
    k.client.mapWrite('m1', 'Z', 1);
    k.daemon.setOpenReply('m', { flags: ['DIRECT_IO', 'KEEP_CACHE'] });
    k.client.open('m', ['O_RDWR'], 'f3');
    expect(k.client.read('f3', 8, 0)).toMatchObject({ value: 'D*1+Z*1+D*6', requests: ['WRITE', 'READ'] });
    k.client.mapWrite('m1', 'Y', 2);
    expect(k.client.write('f3', 'W', 5).requests).toEqual(['WRITE']);
    expect(k.client.mapRead('m1', 8)).toMatchObject({ value: 'D*1+Z*1+Y*1+D*2+W*1+D*2', requests: ['READ'] });
  });

  it('IO-11: a store to a MAP_PRIVATE mapping is seen through that mapping only (a PT backing file is not written)', () => {
    // Probe on 6.18 (kernel answers in comments).
    const k = mounted({ world: { files: { b: { on: 'disk' } }, nodes: { n: {}, m: {} } } });
    k.daemon.open('b', 'rdwr', 'bf1');
    k.daemon.backingOpen({ dev: 'dev', fd: 'bf1', as: 'b1' });
    ptOpen(k, { flags: ['O_RDWR'], as: 'f1' });
    k.client.mmap('f1', { shared: false, write: true }, 'm1');
    expect(k.client.mapWrite('m1', 'P', 1).requests).toEqual([]);
    expect(k.client.mapRead('m1', 4).value).toBe('B*1+P*1+B*2');
    expect(k.client.read('f1', 4, 0).value).toBe('B*4');
    expect(k.inspectBacking('b', 4).value).toBe('B*4');
    // Not PT: the write fault reads the page in first (READ), then copies it.
    k.client.open('m', ['O_RDWR'], 'f2');
    k.client.mmap('f2', { shared: false, write: true }, 'm2');
    expect(k.client.mapWrite('m2', 'Q', 1).requests).toEqual(['READ']);
    expect(k.client.mapRead('m2', 4)).toMatchObject({ value: 'D*1+Q*1+D*2', requests: [] });
    expect(k.client.read('f2', 4, 0)).toMatchObject({ value: 'D*4', requests: [] });
  });

  it('IO-11: munmap of a private mapping runs write_inode_now too: with the writeback cache dirty times go as SETATTR', () => {
    // Probe on 6.18: the write's times stayed dirty (the open's launder writes pages only).
    const k = mounted({ init: WB_INIT });
    k.client.open('new1', ['O_RDWR', 'O_CREAT'], 'f1');
    expect(k.client.write('f1', 'abc').requests).toEqual(['GETXATTR']);
    expect(k.client.open('new1', ['O_RDWR', 'O_CREAT'], 'f2').requests).toEqual(['OPEN', 'WRITE']);
    expect(k.client.read('f2', 10)).toMatchObject({ value: 'a*1+b*1+c*1', requests: ['READ'] });
    k.client.mmap('f2', { shared: false, write: true }, 'm1');
    k.client.mapWrite('m1', 'P');
    expect(k.client.mapRead('m1', 3).value).toBe('P*1+b*1+c*1');
    expect(k.client.munmap('m1').requests).toEqual(['SETATTR']);
  });

  it('IO-21: the copy_file_range fallback reads a PT O_DIRECT source through read_iter: a misaligned copy from a disk backing file is EINVAL', () => {
    // fuzz --target both, seed 156: kernel 6.18 answered EINVAL, [GETXATTR, COPY_FILE_RANGE].
    const k = mounted({ world: { files: { b: { on: 'disk' } }, nodes: { n: {}, m: {} } } });
    k.daemon.open('b', 'rdwr', 'bf1');
    k.daemon.backingOpen({ dev: 'dev', fd: 'bf1', as: 'b1' });
    ptOpen(k, { flags: ['O_RDONLY', 'O_DIRECT'], as: 'f1' });
    k.client.open('c1', ['O_RDWR', 'O_CREAT'], 'f4');
    expect(k.client.copyRange({ from: 'f1', to: 'f4', length: 1 })).toMatchObject({ errno: 'EINVAL', requests: ['GETXATTR', 'COPY_FILE_RANGE_64', 'COPY_FILE_RANGE'] });
  });

  it('IO-21: the copy_file_range fallback reads a cached file opened O_DIRECT with a READ every time (fuse_direct_IO)', () => {
    // Probe on 6.18 (kernel answers in comments).
    const k = mounted({ init: { flags: ['INIT_EXT'] }, world: M8 });
    k.client.open('m', ['O_RDONLY', 'O_DIRECT'], 'f2');
    k.client.open('n', ['O_RDWR'], 'f3');
    expect(k.client.copyRange({ from: 'f2', to: 'f3', length: 4 })).toMatchObject({ value: 4, requests: ['GETXATTR', 'COPY_FILE_RANGE_64', 'COPY_FILE_RANGE', 'READ', 'GETXATTR', 'WRITE'] });
    expect(k.client.copyRange({ from: 'f2', to: 'f3', length: 4 })).toMatchObject({ value: 4, requests: ['READ', 'GETXATTR', 'WRITE'] });
  });

  it('IO-12: a store to a mapped page wholly past EOF is SIGBUS; one inside the last page faults the whole page in (READ)', () => {
    // Probe on 6.18: node m holds 8 bytes; mappings of 8192 bytes (kernel answers in comments).
    const k = mounted({ world: M8 });
    k.client.open('m', ['O_RDWR'], 'f2');
    k.client.mmap('f2', { shared: true, write: true, length: 8192 }, 'm1');
    expect(k.client.mapWrite('m1', 'A', 5000).fault).toMatchObject({ kind: 'crash', message: 'SIGBUS: the store touches a page past the end of the file or one that could not be read' });
    expect(k.client.mapWrite('m1', 'B', 100)).toMatchObject({ requests: ['READ'] });
    k.client.mmap('f2', { shared: false, write: true, length: 8192 }, 'm2');
    expect(k.client.mapWrite('m2', 'C', 5000).fault?.kind).toBe('crash');
    expect(k.client.mapWrite('m2', 'E', 100)).toMatchObject({ errno: null, requests: [] }); // page cached
    expect(k.client.munmap('m1').requests).toEqual(['WRITE']);
  });

  it('LIFE-20: page writeback to an aborted connection is dropped silently: close reports the EIO a failed time flush left, not ENOTCONN', () => {
    // fuzz --target both, seed 25 (second batch): kernel 6.18 answered EIO at the close.
    const k = mounted({ init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'WRITEBACK_CACHE'], maxStackDepth: 1 } });
    k.client.open('n', ['O_RDWR'], 'f1');
    k.client.write('f1', 'w');
    k.daemon.abort();
    expect(k.client.fallocate('f1').errno).toBe('ENOTCONN');
    expect(k.client.close('f1').errno).toBe('EIO');
  });

  it('LIFE-20: after an abort, fsync of dirty writeback-cache data fails on the times (ENOTCONN); a later close sends FLUSH and gets ENOTCONN', () => {
    // Probe on 6.18: write, abort, write, fsync -> ENOTCONN, close -> ENOTCONN.
    const k = mounted({ init: WB_INIT, world: M8 });
    k.client.open('m', ['O_RDWR'], 'f1');
    k.client.write('f1', 'abc');
    k.daemon.abort();
    expect(k.client.write('f1', 'x')).toMatchObject({ errno: null, value: 1, requests: [] });
    expect(k.client.fsync('f1').errno).toBe('ENOTCONN');
    expect(k.client.close('f1').errno).toBe('ENOTCONN');
  });
});
