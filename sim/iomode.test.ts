// The inode io-mode state machine (kernel-spec §8).
import { describe, expect, it } from 'vitest';
import { mounted, ptOpen, registered } from './test-helpers.ts';

const ALLOW_MMAP = { flags: ['INIT_EXT', 'PASSTHROUGH', 'DIRECT_IO_ALLOW_MMAP'] as const, maxStackDepth: 1 };

describe('io modes (iomode.c)', () => {
  it('IOM-1: a server without OPEN (ENOSYS) has no io modes: a later PT reply is never seen', () => {
    const k = registered();
    k.daemon.setOpenReply('n', { error: 'ENOSYS' });
    const r = k.client.open('n', ['O_RDONLY'], 'f');
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('IOM-1');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(0);
  });

  it('IOM-2: a non-PT open of an fb-bound inode is EIO (EINVAL), with OPEN then RELEASE', () => {
    const k = registered();
    ptOpen(k);
    for (const flags of [[], ['DIRECT_IO'], ['KEEP_CACHE']] as const) {
      k.daemon.setOpenReply('n', { flags: [...flags] });
      const r = k.client.open('n', ['O_RDONLY'], 'g');
      expect(r.errno).toBe('EIO');
      expect(r.explain.cause).toBe('EINVAL');
      expect(r.explain.checks).toContain('IOM-2');
      expect(r.requests).toEqual(['OPEN', 'RELEASE']);
    }
  });

  it('IOM-3: DIRECT_IO without PT leaves the inode untouched (IOM_NONE)', () => {
    const k = mounted();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    expect(k.client.open('n', ['O_RDONLY'], 'f').explain.checks).toContain('IOM-3');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(0);
  });

  it('IOM-4: a cached open increments iocachectr', () => {
    const k = mounted();
    k.client.open('n', ['O_RDONLY'], 'f');
    k.client.open('n', ['O_RDONLY'], 'g');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(2);
  });

  it('IOM-5: a cached open waits while parallel DIO writes are in flight, then proceeds', () => {
    const k = mounted();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO', 'PARALLEL_DIRECT_WRITES'] });
    k.client.open('n', ['O_RDWR'], 'w');
    k.simBeginParallelDioWrite('w');
    k.daemon.setOpenReply('n', {});
    expect(k.client.open('n', ['O_RDONLY'], 'c0').fault?.kind).toBe('timeout');
    k.simInterleave('cachedIoWait', (kk) => kk.simEndParallelDioWrite('w'));
    const r = k.client.open('n', ['O_RDONLY'], 'c');
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toEqual(expect.arrayContaining(['IOM-5', 'IOM-4']));
    expect(k.hidden().inodes['n']?.iocachectr).toBe(1);
  });

  it('IOM-6: an fb appearing during that wait makes the cached open EIO (ETXTBSY)', () => {
    const k = registered();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO', 'PARALLEL_DIRECT_WRITES'] });
    k.client.open('n', ['O_RDWR'], 'w');
    k.simBeginParallelDioWrite('w');
    k.simInterleave('cachedIoWait', (kk) => {
      kk.daemon.setOpenReply('n', { flags: ['PASSTHROUGH'], backing: 'b1' });
      kk.client.open('n', ['O_RDONLY'], 'p');
      kk.daemon.setOpenReply('n', {});
    });
    k.daemon.setOpenReply('n', {});
    const r = k.client.open('n', ['O_RDONLY'], 'c');
    expect(r.errno).toBe('EIO');
    expect(r.explain.cause).toBe('ETXTBSY');
    expect(r.explain.checks).toContain('IOM-6');
  });

  it('IOM-7: a PT open with another fb than the bound one is EIO (EBUSY), even the same file', () => {
    const k = registered();
    k.daemon.backingOpen({ dev: 'dev', fd: 'bf', as: 'b2' });
    ptOpen(k);
    const r = ptOpen(k, { backing: 'b2', as: 'g' });
    expect(r.errno).toBe('EIO');
    expect(r.explain.cause).toBe('EBUSY');
    expect(r.explain.checks).toContain('IOM-7');
  });

  it('IOM-8: a PT open beside cached users is EIO (ETXTBSY)', () => {
    const k = registered();
    k.client.open('n', ['O_RDONLY'], 'c');
    const r = ptOpen(k);
    expect(r.errno).toBe('EIO');
    expect(r.explain.cause).toBe('ETXTBSY');
    expect(r.explain.checks).toContain('IOM-8');
  });

  it('IOM-9: a passing PT open decrements iocachectr and binds the fb', () => {
    const k = registered();
    ptOpen(k);
    ptOpen(k, { as: 'g' });
    expect(k.hidden().inodes['n']).toEqual({ iocachectr: -2, boundId: 1 });
    expect(k.hidden().backings).toEqual([{ id: 1, count: 2 }]);
  });

  it('IOM-10: a PT open beside DIO-only files succeeds', () => {
    const k = registered();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    k.client.open('n', ['O_RDONLY'], 'd');
    const r = ptOpen(k);
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('IOM-10');
  });

  it('IOM-11: mmap of a DIO non-PT file of a bound inode is ENODEV', () => {
    const k = registered();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    k.client.open('n', ['O_RDONLY'], 'd');
    ptOpen(k);
    for (const shared of [true, false]) expect(k.client.mmap('d', { shared }, 'm').errno).toBe('ENODEV');
  });

  it('IOM-12: MAP_SHARED of a DIO file without ALLOW_MMAP is ENODEV', () => {
    const k = mounted();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    k.client.open('n', ['O_RDONLY'], 'd');
    const r = k.client.mmap('d', { shared: true }, 'm');
    expect(r.errno).toBe('ENODEV');
    expect(r.explain.checks).toContain('IOM-12');
  });

  it('IOM-13: MAP_PRIVATE of a DIO file is a generic mmap with no state change', () => {
    const k = mounted();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    k.client.open('n', ['O_RDONLY'], 'd');
    expect(k.client.mmap('d', { shared: false }, 'm').errno).toBeNull();
    expect(k.hidden().inodes['n']?.iocachectr).toBe(0);
  });

  it('IOM-14: MAP_SHARED of a DIO file with ALLOW_MMAP makes it cached until the file is released', () => {
    const k = mounted({ init: { ...ALLOW_MMAP, flags: [...ALLOW_MMAP.flags] } });
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    k.client.open('n', ['O_RDWR'], 'd');
    expect(k.client.mmap('d', { shared: true }, 'm').explain.checks).toContain('IOM-14');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(1);
    k.client.munmap('m');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(1);
    k.client.close('d');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(0);
  });

  it('IOM-15: that mmap racing a PT open fails with the raw ETXTBSY, not EIO', () => {
    const k = registered({ init: { ...ALLOW_MMAP, flags: [...ALLOW_MMAP.flags] } });
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO'] });
    k.client.open('n', ['O_RDWR'], 'd');
    k.simInterleave('mmapBeforeCachedIo', (kk) => ptOpen(kk));
    const r = k.client.mmap('d', { shared: true }, 'm');
    expect(r.errno).toBe('ETXTBSY');
    expect(r.explain.checks).toContain('IOM-15');
  });

  it('IOM-16: mmap of a PT file changes no io mode', () => {
    const k = registered();
    ptOpen(k);
    expect(k.client.mmap('f', { shared: true }, 'm').explain.checks).toContain('IOM-16');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(-1);
  });

  it('IOM-17: mmap of a cached file changes nothing', () => {
    const k = mounted();
    k.client.open('n', ['O_RDONLY'], 'c');
    expect(k.client.mmap('c', { shared: true }, 'm').explain.checks).toContain('IOM-17');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(1);
  });

  it('IOM-18: a parallel DIO write takes an uncached count and never binds an fb', () => {
    const k = mounted();
    k.daemon.setOpenReply('n', { flags: ['DIRECT_IO', 'PARALLEL_DIRECT_WRITES'] });
    k.client.open('n', ['O_RDWR'], 'w');
    const r = k.client.write('w', 'xx', 0);
    expect(r.explain.checks).toContain('IOM-18');
    expect(r.requests).toEqual(['WRITE']);
    expect(k.hidden().inodes['n']).toEqual({ iocachectr: 0, boundId: null });
  });

  it('IOM-19: releasing a cached file decrements iocachectr', () => {
    const k = mounted();
    k.client.open('n', ['O_RDONLY'], 'c');
    expect(k.client.close('c').explain.checks).toContain('IOM-19');
    expect(k.hidden().inodes['n']?.iocachectr).toBe(0);
  });

  it('IOM-20: releasing a PT file increments iocachectr; at 0 the fb is unbound and put', () => {
    const k = registered();
    ptOpen(k);
    ptOpen(k, { as: 'g' });
    k.client.close('f');
    expect(k.hidden().inodes['n']).toEqual({ iocachectr: -1, boundId: 1 });
    const r = k.client.close('g');
    expect(r.explain.checks).toContain('IOM-20');
    expect(k.hidden().inodes['n']).toEqual({ iocachectr: 0, boundId: null });
    expect(k.hidden().backings).toEqual([{ id: 1, count: 1 }]);
  });

  it('IOM-21: fb bound implies iocachectr < 0 throughout open/close', () => {
    const k = registered();
    const check = () => {
      for (const s of Object.values(k.hidden().inodes)) if (s.boundId !== null) expect(s.iocachectr).toBeLessThan(0);
    };
    ptOpen(k); check();
    ptOpen(k, { as: 'g' }); check();
    k.client.close('f'); check();
    k.client.close('g'); check();
  });

  it('IOM-22: one fb backs two inodes, each holding its own reference', () => {
    const k = registered();
    ptOpen(k);
    const r = ptOpen(k, { node: 'm', as: 'g' });
    expect(r.explain.checks).toContain('IOM-22');
    expect(k.hidden().backings).toEqual([{ id: 1, count: 3 }]);
    k.client.open('n', ['O_RDONLY'], 'x');
    k.client.close('f');
    expect(k.hidden().inodes['m']?.boundId).toBe(1);
  });

  it('IOM-23: after the last PT file closes the inode is idle and opens in any mode', () => {
    const k = registered();
    ptOpen(k);
    k.client.close('f');
    k.daemon.setOpenReply('n', {});
    const r = k.client.open('n', ['O_RDONLY'], 'c');
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('IOM-23');
  });

  it('IOM-24: a PT mmap outlives close: inode idle, cached open ok, mapping reads the backing', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    expect(k.client.mmap('f', { shared: true, write: true }, 'm').errno).toBeNull();
    k.client.close('f');
    expect(k.hidden().inodes['n']).toEqual({ iocachectr: 0, boundId: null });
    k.daemon.setOpenReply('n', {});
    expect(k.client.open('n', ['O_RDONLY'], 'c').explain.checks).toContain('IOM-24');
    const r = k.client.mapRead('m', 4);
    expect(r.value).toBe('B*4');
  });
});
