// OPEN / CREATE reply handling (kernel-spec §7) and the operations still sent to the daemon (§10).
import { describe, expect, it } from 'vitest';
import { mounted, ptOpen, registered } from './test-helpers.ts';

describe('OPEN and CREATE (file.c fuse_open, fuse_finish_open)', () => {
  it('OPEN-1: generic_file_open refuses a file over 2 GiB to a 32-bit caller: EOVERFLOW, no OPEN', () => {
    const k = mounted({ world: { nodes: { big: { size: 0x80000000 } } } });
    const r = k.client.open('big', ['O_RDONLY'], 'f', { compat32: true });
    expect(r.errno).toBe('EOVERFLOW');
    expect(r.requests).toEqual([]);
  });

  it('OPEN-2: the OPEN request is sent for a plain open', () => {
    const r = mounted().client.open('n', ['O_RDONLY', 'O_CREAT'], 'f');
    expect(r.requests).toEqual(['OPEN']);
    expect(r.explain.checks).toContain('OPEN-2');
  });

  it('OPEN-3: an OPEN error reply is returned as is', () => {
    const k = mounted();
    k.daemon.setOpenReply('n', { error: 'EACCES' });
    expect(k.client.open('n', ['O_RDONLY'], 'f').errno).toBe('EACCES');
  });

  it('OPEN-4: OPEN answered ENOSYS: no further OPENs, no passthrough', () => {
    const k = registered();
    k.daemon.setOpenReply('n', { error: 'ENOSYS' });
    expect(k.client.open('n', ['O_RDONLY'], 'f').errno).toBeNull();
    k.daemon.setOpenReply('n', { flags: ['PASSTHROUGH'], backing: 'b1' });
    const r = k.client.open('n', ['O_RDONLY'], 'g');
    expect(r.requests).toEqual([]);
    expect(r.explain.checks).toContain('OPEN-4');
    expect(k.client.read('g', 4, 0).value).toBe('D*4');
  });

  it('OPEN-5: a backing_id without FOPEN_PASSTHROUGH is ignored', () => {
    const k = registered();
    k.daemon.setOpenReply('n', { backing: 'b1' });
    const r = k.client.open('n', ['O_RDONLY'], 'f');
    expect(r.explain.checks).toContain('OPEN-5');
    expect(k.client.read('f', 4, 0)).toMatchObject({ value: 'D*4', requests: ['READ'] });
  });

  it('OPEN-6: any io-mode failure sends a synchronous RELEASE and returns EIO', () => {
    const r = ptOpen(registered(), { backing: 999 });
    expect(r).toMatchObject({ errno: 'EIO', requests: ['OPEN', 'RELEASE'] });
    expect(r.explain.checks).toContain('OPEN-6');
  });

  it('OPEN-7: PARALLEL_DIRECT_WRITES without DIRECT_IO is cleared (PT|PDW behaves as PT)', () => {
    const k = registered();
    const r = ptOpen(k, { extra: ['PARALLEL_DIRECT_WRITES'] });
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('OPEN-7');
    expect(k.client.read('f', 2, 0).value).toBe('B*2');
  });

  it('OPEN-8: PT on a connection without PT is EIO (EINVAL), also with DIRECT_IO', () => {
    const k = mounted({ init: { flags: ['INIT_EXT'] } });
    const r = ptOpen(k, { backing: 1, extra: ['DIRECT_IO'] });
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EINVAL']);
    expect(r.explain.checks).toContain('OPEN-8');
  });

  it('OPEN-9: PT with KEEP_CACHE, NONSEEKABLE, CACHE_DIR, STREAM or unknown bits is EIO (EINVAL)', () => {
    const k = registered();
    for (const extra of ['KEEP_CACHE', 'NONSEEKABLE', 'CACHE_DIR', 'STREAM'] as const) {
      const r = ptOpen(k, { extra: [extra] });
      expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EINVAL']);
      expect(r.explain.checks).toContain('OPEN-9');
    }
    k.daemon.setOpenReply('n', { flags: ['PASSTHROUGH'], extraBits: 1 << 8, backing: 'b1' });
    expect(k.client.open('n', [], 'g').errno).toBe('EIO');
  });

  it('OPEN-10: unknown bits without PT are ignored', () => {
    const k = mounted();
    k.daemon.setOpenReply('n', { extraBits: 1 << 8 });
    const r = k.client.open('n', ['O_RDONLY'], 'f');
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('OPEN-10');
  });

  it('OPEN-11: PT with backing_id 0, -1 or INT_MIN is EIO (EINVAL)', () => {
    const k = registered();
    for (const id of [0, -1, -0x80000000]) {
      const r = ptOpen(k, { backing: id });
      expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EINVAL']);
    }
  });

  it('OPEN-12: PT with an id never allocated or closed is EIO (ENOENT)', () => {
    const k = registered();
    expect(ptOpen(k, { backing: 999 }).explain.cause).toBe('ENOENT');
    k.daemon.backingClose({ dev: 'dev', id: 'b1' });
    const r = ptOpen(k);
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'ENOENT']);
    expect(r.explain.checks).toContain('OPEN-12');
  });

  it('OPEN-13: a failing per-open backing open is EIO with the backing errno', () => {
    const r = ptOpen(registered({ file: 'ro' }), { flags: ['O_WRONLY'] });
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EROFS']);
    expect(r.explain.checks).toContain('OPEN-13');
  });

  it('OPEN-14: valid flags, a registered id, no conflict: the open succeeds', () => {
    const r = ptOpen(registered());
    expect(r).toMatchObject({ errno: null, requests: ['OPEN'] });
    expect(r.explain.checks).toContain('OPEN-14');
  });

  it('OPEN-15: O_TRUNC with atomic_o_trunc zeroes the FUSE i_size only; the backing is untouched', () => {
    const k = registered({ init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'ATOMIC_O_TRUNC'], maxStackDepth: 1 } });
    const r = ptOpen(k, { flags: ['O_RDWR', 'O_TRUNC'] });
    // handle_truncate still asks dentry_needs_remove_privs; fuse_setattr sends no SETATTR.
    expect(r.requests).toEqual(['OPEN', 'GETXATTR']);
    expect(r.explain.checks).toContain('OPEN-15');
    expect(k.client.stat({ fd: 'f', dontSync: true }).value).toBe(0);
    expect(k.inspectBacking('b').value).toBe('B*4096');
  });

  it('OPEN-16: a successful PT open invalidates the page cache', () => {
    const k = registered();
    k.client.open('n', ['O_RDONLY'], 'c');
    k.client.read('c', 10, 0);
    k.client.close('c');
    const r = ptOpen(k);
    expect(r.explain.checks).toContain('OPEN-16');
    expect(k.state.fuseInodes.get('n')?.pages.size).toBe(0);
  });

  it('OPEN-17: a CREATE reply with PT is handled as OPEN', () => {
    const k = registered({ world: { files: { b: { on: 'disk' } }, nodes: {}, create: { flags: ['PASSTHROUGH'], backing: 'b1' } } });
    const r = k.client.open('new', ['O_RDWR', 'O_CREAT'], 'f');
    expect(r).toMatchObject({ errno: null, requests: ['CREATE'], events: ['b:open'] });
    expect(r.explain.checks).toContain('OPEN-17');
  });

  it('OPEN-18: CREATE with a failing PT setup sends RELEASE and returns EIO', () => {
    const k = registered({ world: { files: { b: { on: 'disk' } }, nodes: {}, create: { flags: ['PASSTHROUGH'], backing: 999 } } });
    const r = k.client.open('new', ['O_RDWR', 'O_CREAT'], 'f');
    expect(r).toMatchObject({ errno: 'EIO', requests: ['CREATE', 'RELEASE'] });
    expect(r.explain.checks).toContain('OPEN-18');
  });

  it('OPEN-19: OPENDIR with PT (bogus id) is ignored: opendir succeeds', () => {
    const k = mounted();
    k.daemon.setOpenReply('sub', { flags: ['PASSTHROUGH', 'KEEP_CACHE'], backing: 999 });
    const r = k.client.opendir('sub', 'd');
    expect(r).toMatchObject({ errno: null, requests: ['OPENDIR'] });
    expect(r.explain.checks).toContain('OPEN-19');
  });

  it('OPEN-20: readdir always goes to the daemon', () => {
    const k = mounted();
    k.client.opendir(undefined, 'd');
    const r = k.client.readdir('d');
    expect(r.requests).toEqual(['READDIR']);
    expect(r.explain.checks).toContain('OPEN-20');
  });

  it('OPEN-21: a fileattr ioctl opens its own fuse_file: OPEN, IOCTL, RELEASE; PT ignored', () => {
    const k = registered();
    ptOpen(k);
    const r = k.client.ioctl('f', 0x80086601);
    expect(r).toMatchObject({ errno: 'ENOTTY', requests: ['OPEN', 'IOCTL', 'RELEASE'], events: [] });
    expect(r.explain.checks).toContain('OPEN-21');
  });
});

describe('operations that still go to the daemon on a PT file', () => {
  const pt = () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    return k;
  };

  it('IO-13: fsync and fdatasync send FSYNC; the backing file is not synced', () => {
    expect(pt().client.fsync('f').requests).toEqual(['FSYNC']);
  });

  it('IO-14: close sends FLUSH unless NOFLUSH', () => {
    const k = registered();
    ptOpen(k);
    expect(k.client.close('f').requests).toEqual(['FLUSH', 'RELEASE']);
    ptOpen(k, { extra: ['NOFLUSH'] });
    const r = k.client.close('f');
    expect(r.requests).toEqual(['RELEASE']);
    expect(r.explain.checks).toContain('IO-14');
  });

  it('IO-15: ftruncate sends SETATTR; the backing file is not truncated', () => {
    const k = pt();
    // do_truncate asks dentry_needs_remove_privs first (GETXATTR), then SETATTR.
    expect(k.client.ftruncate('f', 10).requests).toEqual(['GETXATTR', 'SETATTR']);
    expect(k.inspectBacking('b').value).toBe('B*4096');
    expect(k.client.stat({ fd: 'f', dontSync: true }).value).toBe(10);
  });

  it('IO-16: stat goes to the daemon (GETATTR) once the attributes are stale', () => {
    const k = pt();
    k.client.write('f', 'x', 0);
    const r = k.client.stat({ fd: 'f' });
    expect(r.requests).toEqual(['GETATTR']);
    expect(r.explain.checks).toContain('IO-16');
  });

  it('IO-17: SEEK_SET and SEEK_CUR are local', () => {
    const k = pt();
    expect(k.client.lseek('f', 'SET', 10)).toMatchObject({ value: 10, requests: [] });
    expect(k.client.lseek('f', 'CUR', 5)).toMatchObject({ value: 15, requests: [] });
  });

  it('IO-18: SEEK_END refreshes stale attributes and uses the FUSE i_size', () => {
    const k = pt();
    k.daemon.setDaemonSize('n', 100);
    k.client.write('f', 'x', 0);
    expect(k.client.lseek('f', 'END', 0)).toMatchObject({ value: 100, requests: ['GETATTR'] });
  });

  it('IO-19: SEEK_DATA sends LSEEK; after ENOSYS the generic fallback', () => {
    const k = pt();
    expect(k.client.lseek('f', 'DATA', 0)).toMatchObject({ value: 0, requests: ['LSEEK'] });
    const r = k.client.lseek('f', 'HOLE', 0);
    expect(r).toMatchObject({ value: 4096, requests: [] });
    expect(r.explain.checks).toContain('IO-19');
  });

  it('IO-20: fallocate sends FALLOCATE; ENOSYS becomes EOPNOTSUPP', () => {
    const k = pt();
    // file_modified removes privileges first (GETXATTR); after ENOSYS no request at all.
    expect(k.client.fallocate('f')).toMatchObject({ errno: 'EOPNOTSUPP', requests: ['GETXATTR', 'FALLOCATE'] });
    expect(k.client.fallocate('f')).toMatchObject({ errno: 'EOPNOTSUPP', requests: [] });
  });

  it('IO-21: copy_file_range is not passed through: COPY_FILE_RANGE, then the daemon sees the write', () => {
    const k = pt();
    k.daemon.setOpenReply('m', {});
    k.client.open('m', ['O_RDWR'], 'g');
    const r = k.client.copyRange({ from: 'f', to: 'g', length: 4 });
    expect(r.value).toBe(4);
    // file_modified(file_out), COPY_FILE_RANGE_64 and COPY_FILE_RANGE (ENOSYS each), then the splice
    // fallback's write to the destination (observed on 6.18 by the kernel target).
    expect(r.requests).toEqual(['GETXATTR', 'COPY_FILE_RANGE_64', 'COPY_FILE_RANGE', 'GETXATTR', 'WRITE']);
    expect(r.explain.checks).toContain('IO-21');
  });

  it('IO-22: an ioctl sends IOCTL to the daemon', () => {
    const r = pt().client.ioctl('f', 0x5401);
    expect(r).toMatchObject({ errno: 'ENOTTY', requests: ['IOCTL'] });
    expect(r.explain.checks).toContain('IO-22');
  });

  it('IO-23: xattrs go to the daemon unchanged by PT', () => {
    const r = pt().client.getxattr('f', 'user.x');
    expect(r).toMatchObject({ errno: 'ENODATA', requests: ['GETXATTR'] });
    expect(r.explain.checks).toContain('IO-23');
  });
});

describe('VFS rules around the FUSE calls (observed on 6.18 by the kernel target)', () => {
  it('IO-21: copy_file_range between overlapping ranges of one file is EINVAL before any request', () => {
    const k = registered();
    ptOpen(k);
    ptOpen(k, { flags: ['O_RDWR'], as: 'g' });
    expect(k.client.copyRange({ from: 'f', to: 'g', length: 10 })).toMatchObject({ errno: 'EINVAL', requests: [] });
  });

  it('IO-9: splice into an O_APPEND file is EINVAL', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_WRONLY', 'O_APPEND'] });
    expect(k.client.spliceWrite('f', 'S')).toMatchObject({ errno: 'EINVAL', requests: [] });
  });
});
