// The per-open backing file (kernel-spec §9) and the PT data path (§10).
import { describe, expect, it } from 'vitest';
import { mounted, ptOpen, registered } from './test-helpers.ts';

const traitWorld = (trait: 'denyWrite' | 'noDirectIo' | 'lsmDenyOpen' | 'leased') => ({ files: { b: { on: 'disk' as const, simTraits: [trait] } }, nodes: { n: {} } });

describe('per-open backing file (passthrough.c, backing-file.c)', () => {
  it('PTF-1: each PT open creates its own struct file, in no fd table', () => {
    const k = registered();
    k.daemon.close('bf');
    expect(ptOpen(k).events).toEqual(['b:open']);
    expect(ptOpen(k, { as: 'g' }).events).toEqual(['b:open']);
    const o = k.observe('fdTableHasFile', { file: 'b' });
    expect(o.value).toBe('no');
    expect(o.explain.checks).toContain('PTF-1');
  });

  it('PTF-2: the per-open file takes the FUSE file flags: a write open gives close_write', () => {
    const k = registered();
    expect(ptOpen(k, { flags: ['O_RDWR'] }).explain.checks).toContain('PTF-2');
    expect(k.client.close('f').events).toEqual(['b:close_write']);
  });

  it('PTF-3: O_CREAT/O_TRUNC in the backing open have no effect: the backing is not truncated', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR', 'O_TRUNC'] });
    const r = k.inspectBacking('b');
    expect(r.value).toBe('B*4096');
    expect(r.explain.checks).toContain('PTF-3');
  });

  it('PTF-4: a write PT open of a deny-write backing inode is EIO (ETXTBSY)', () => {
    const k = registered({ world: traitWorld('denyWrite') });
    const r = ptOpen(k, { flags: ['O_WRONLY'] });
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'ETXTBSY']);
    expect(ptOpen(k, { flags: ['O_RDONLY'], as: 'g' }).errno).toBeNull();
  });

  it('PTF-5: a write PT open on a read-only mount is EIO (EROFS); read-only is fine', () => {
    const k = registered({ file: 'ro' });
    const r = ptOpen(k, { flags: ['O_RDWR'] });
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EROFS']);
    expect(r.explain.checks).toContain('PTF-5');
    expect(ptOpen(k, { as: 'g' }).errno).toBeNull();
  });

  it('PTF-6: an LSM denying the per-open file gives EIO', () => {
    const r = ptOpen(registered({ world: traitWorld('lsmDenyOpen') }));
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EACCES']);
  });

  it('PTF-7: a lease on the backing inode is broken at the PT open', () => {
    const r = ptOpen(registered({ world: traitWorld('leased') }));
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('PTF-7');
  });

  it('PTF-8: O_DIRECT on a backing file without direct I/O is EIO (EINVAL)', () => {
    const r = ptOpen(registered({ world: traitWorld('noDirectIo') }), { flags: ['O_RDONLY', 'O_DIRECT'] });
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EINVAL']);
    expect(r.explain.checks).toContain('PTF-8');
  });

  it('PTF-9: IN_OPEN at each PT open, IN_CLOSE_NOWRITE when the per-open file goes', () => {
    const k = registered();
    expect(ptOpen(k).events).toEqual(['b:open']);
    const c = k.client.close('f');
    expect(c.events).toEqual(['b:close_nowrite']);
    expect(c.explain.checks).toContain('PTF-9');
  });

  it('PTF-10: a PT open failing at IOM-8 opened and put the per-open file: open + close events', () => {
    const k = registered();
    k.client.open('n', ['O_RDONLY'], 'c');
    const r = ptOpen(k);
    expect(r.events).toEqual(['b:open', 'b:close_nowrite']);
    expect(r.requests).toEqual(['OPEN', 'RELEASE']);
    expect(r.explain.checks).toContain('PTF-10');
  });

  it('PTF-11: backing I/O runs under the credentials captured at BACKING_OPEN', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    expect(k.state.clientFiles.get('f')?.ff.cred?.label).toBe('root');
    expect(k.client.write('f', 'x', 0).explain.checks).toContain('PTF-11');
  });
});

describe('PT data path', () => {
  it('IO-1: a PT read comes from the backing file with no READ', () => {
    const k = registered();
    ptOpen(k);
    const r = k.client.read('f', 4, 0);
    expect(r).toMatchObject({ value: 'B*4', requests: [] });
  });

  it('IO-2: a PT read is bounded by the backing size, not the FUSE i_size', () => {
    const k = registered();
    k.daemon.setDaemonSize('n', 100);
    ptOpen(k);
    expect(k.client.read('f', 8192, 0).value).toBe('B*4096');
  });

  it('IO-3: read and write on PT|DIRECT_IO go to the daemon', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'], extra: ['DIRECT_IO'] });
    expect(k.client.read('f', 4, 0)).toMatchObject({ value: 'D*4', requests: ['READ'] });
    expect(k.client.write('f', 'x', 0).requests).toEqual(['WRITE']);
  });

  it('IO-4: a PT write reaches the backing file with no WRITE', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    expect(k.client.write('f', 'XY', 0).requests).not.toContain('WRITE');
    expect(k.inspectBacking('b', 3).value).toBe('X*1+Y*1+B*1');
  });

  it('IO-5: a PT write first sends GETXATTR (file_remove_privs), again per write unless SB_NOSEC', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    expect(k.client.write('f', 'x', 0).requests).toEqual(['GETXATTR']);
    expect(k.client.write('f', 'x', 1).requests).toEqual(['GETXATTR']);
    // HANDLE_KILLPRIV_V2 gives the superblock SB_NOSEC: only the first write asks.
    const v2 = registered({ init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'HANDLE_KILLPRIV_V2'], maxStackDepth: 1 } });
    ptOpen(v2, { flags: ['O_RDWR'] });
    expect(v2.client.write('f', 'x', 0).requests).toEqual(['GETXATTR']);
    expect(v2.client.write('f', 'x', 1).requests).toEqual([]);
  });

  it('IO-6: an O_APPEND PT write lands at the backing EOF', () => {
    const k = registered({ file: 'small' });
    ptOpen(k, { flags: ['O_WRONLY', 'O_APPEND'] });
    k.client.write('f', 'Z');
    expect(k.inspectBacking('small').value).toBe('B*4+Z*1');
  });

  it('IO-7: splice_read on a PT file reads the backing file, no request', () => {
    const k = registered();
    ptOpen(k);
    expect(k.client.spliceRead('f', 100, 0)).toMatchObject({ value: 'B*100', requests: [] });
  });

  it('IO-8: splice_read on PT|DIRECT_IO goes through the FUSE page cache: READ', () => {
    const k = registered();
    ptOpen(k, { extra: ['DIRECT_IO'] });
    expect(k.client.spliceRead('f', 100, 0)).toMatchObject({ value: 'D*100', requests: ['READ'] });
  });

  it('IO-9: splice_write on a PT file writes the backing file', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    k.client.spliceWrite('f', 'S', 0);
    expect(k.inspectBacking('b', 1).value).toBe('S*1');
  });

  it('IO-10: splice_write on PT|DIRECT_IO sends WRITE', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'], extra: ['DIRECT_IO'] });
    expect(k.client.spliceWrite('f', 'S', 0).requests).toEqual(['WRITE']);
  });

  it('IO-11: mmap of PT and PT|DIRECT_IO files maps the backing file', () => {
    const k = registered();
    ptOpen(k, { extra: ['DIRECT_IO'] });
    k.client.mmap('f', { shared: true }, 'm');
    const r = k.client.mapRead('m', 4);
    expect(r).toMatchObject({ value: 'B*4', requests: [] });
    expect(r.explain.checks).toContain('IO-11');
  });

  it('IO-12: mmap of a PT file whose backing fs has no ->mmap is ENODEV', () => {
    const k = registered({ world: { files: { b: { on: 'disk', simTraits: ['noMmap'] } }, nodes: { n: {} } } });
    ptOpen(k);
    const r = k.client.mmap('f', { shared: true }, 'm');
    expect(r.errno).toBe('ENODEV');
    expect(r.explain.checks).toContain('IO-12');
  });

  it('IO-24: an extending PT write extends the FUSE i_size (statx DONT_SYNC shows 10000)', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    k.client.write('f', 'x', 9999);
    const r = k.client.stat({ fd: 'f', dontSync: true });
    expect(r).toMatchObject({ value: 10000, requests: [] });
    expect(r.explain.checks).toContain('IO-24');
  });

  it('IO-25: after a PT write stat sends GETATTR and the daemon size wins', () => {
    const k = registered();
    k.daemon.setDaemonSize('n', 100);
    ptOpen(k, { flags: ['O_RDWR'] });
    k.client.write('f', 'x', 9999);
    expect(k.client.stat({ fd: 'f' })).toMatchObject({ value: 100, requests: ['GETATTR'] });
  });

  it('IO-26: after a PT read exactly one stat sends GETATTR', () => {
    const k = registered();
    ptOpen(k);
    expect(k.client.stat({ fd: 'f' }).requests).toEqual([]);
    k.client.read('f', 1, 0);
    const s1 = k.client.stat({ fd: 'f' });
    expect(s1.requests).toEqual(['GETATTR']);
    expect(s1.explain.checks).toContain('IO-26');
    expect(k.client.stat({ fd: 'f' }).requests).toEqual([]);
  });

  it('IO-27: a PT inode has no page cache: a PT write is seen by the next read', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    k.client.write('f', 'Q', 0);
    const r = k.client.read('f', 1, 0);
    expect(r.value).toBe('Q*1');
    expect(r.explain.checks).toContain('IO-27');
  });

  it('IO-28: the backing size is never copied into the FUSE inode', () => {
    const k = registered();
    k.daemon.setDaemonSize('n', 10);
    ptOpen(k, { flags: ['O_RDWR'] });
    k.client.write('f', 'x', 0);
    expect(k.client.stat({ fd: 'f' }).value).toBe(10);
  });
});

describe('PT without passthrough negotiated', () => {
  it('OPEN-8: FOPEN_PASSTHROUGH on a connection without PT is EIO (EINVAL)', () => {
    const k = mounted({ init: { flags: ['INIT_EXT'] } });
    const r = ptOpen(k, { backing: 1 });
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EINVAL']);
    expect(r.requests).toEqual(['OPEN', 'RELEASE']);
  });
});
