// Kernel-version profiles (kernel-spec §14): each difference seen through the public API.
import { describe, expect, it } from 'vitest';
import { createKernel } from './kernel.ts';
import { fuseInitOffer } from './inode.ts';
import { PROFILES } from './profiles.ts';
import { mounted, ptOpen, registered, WORLD } from './test-helpers.ts';

const bopen = (profile: keyof typeof PROFILES, file: string, mode: 'rdonly' | 'path' = 'rdonly') => {
  const k = mounted({ profile });
  k.daemon.open(file, mode, 'x');
  return k.daemon.backingOpen({ dev: 'dev', fd: 'x' });
};

describe('profiles', () => {
  it('INIT-2: the INIT minor is 45 on 6.18, 41 on 6.12, 40 on 6.9', () => {
    for (const [p, minor] of [['6.18', 45], ['6.12', 41], ['6.9', 40]] as const) {
      const k = createKernel({ profile: p, world: WORLD });
      k.daemon.devOpen('dev');
      expect(k.daemon.mount('dev').value).toBe(`7.${minor} offers:INIT_EXT,PASSTHROUGH`);
    }
  });

  it('INIT-1, INIT-2: the whole offer follows fuse_send_init: 6.9 (7.40) without ALLOW_IDMAP, 6.12 adds it (and HAS_INODE_DAX, CONFIG_FUSE_DAX), 6.18 adds REQUEST_TIMEOUT, nopt drops PASSTHROUGH', () => {
    // 6.12's fuse_send_init, copied from linux-source-6.12 (fs/fuse/inode.c), in bit order.
    const linux612 = [
      'ASYNC_READ', 'POSIX_LOCKS', 'ATOMIC_O_TRUNC', 'EXPORT_SUPPORT', 'BIG_WRITES', 'DONT_MASK', 'SPLICE_WRITE', 'SPLICE_MOVE',
      'SPLICE_READ', 'FLOCK_LOCKS', 'HAS_IOCTL_DIR', 'AUTO_INVAL_DATA', 'DO_READDIRPLUS', 'READDIRPLUS_AUTO', 'ASYNC_DIO',
      'WRITEBACK_CACHE', 'NO_OPEN_SUPPORT', 'PARALLEL_DIROPS', 'HANDLE_KILLPRIV', 'POSIX_ACL', 'ABORT_ERROR', 'MAX_PAGES',
      'CACHE_SYMLINKS', 'NO_OPENDIR_SUPPORT', 'EXPLICIT_INVAL_DATA', 'HANDLE_KILLPRIV_V2', 'SETXATTR_EXT', 'INIT_EXT',
      'SECURITY_CTX', 'CREATE_SUPP_GROUP', 'HAS_EXPIRE_ONLY', 'DIRECT_IO_ALLOW_MMAP', 'PASSTHROUGH', 'NO_EXPORT_SUPPORT',
      'HAS_RESEND', 'ALLOW_IDMAP',
    ];
    // Debian's 6.12 is built with CONFIG_FUSE_DAX: HAS_INODE_DAX too (measured in the matrix).
    expect(fuseInitOffer(PROFILES['6.12'])).toEqual([...linux612.slice(0, 29), 'HAS_INODE_DAX', ...linux612.slice(29)]);
    expect(fuseInitOffer(PROFILES['6.9'])).toEqual(linux612.filter((f) => f !== 'ALLOW_IDMAP')); // 7.41 added it
    expect(fuseInitOffer(PROFILES['6.18'])).toEqual([...linux612, 'REQUEST_TIMEOUT']); // 7.43 (6.14)
    expect(fuseInitOffer(PROFILES.nopt)).toEqual([...linux612, 'REQUEST_TIMEOUT'].filter((f) => f !== 'PASSTHROUGH'));
  });

  it('INIT-1: nopt does not offer PASSTHROUGH, and OPEN with PT is EIO (OPEN-8)', () => {
    const k = createKernel({ profile: 'nopt', world: WORLD });
    k.daemon.devOpen('dev');
    expect(k.daemon.mount('dev').value).toBe('7.45 offers:INIT_EXT');
    const r = ptOpen(k, { backing: 1 });
    expect([r.errno, r.explain.cause]).toEqual(['EIO', 'EINVAL']);
  });

  it("BOPEN-8, BOPEN-9: 6.12 as Debian ships it (6.12.118, stable backport of the 6.17 fix) rejects non-regular files as 6.18 does; 6.9 has no such check and takes a fifo", () => {
    expect(bopen('6.12', 'fifo').errno).toBe('EINVAL');
    expect(bopen('6.12', 'dir').errno).toBe('EISDIR');
    expect(bopen('6.18', 'fifo').errno).toBe('EINVAL');
    expect(bopen('6.9', 'fifo').value).toBe(1);
  });

  it('BOPEN-16: 6.9 uses fget: an O_PATH fd is EBADF; 6.12 accepts it', () => {
    expect(bopen('6.9', 'b', 'path').errno).toBe('EBADF');
    expect(bopen('6.12', 'b', 'path').value).toBe(1);
  });

  it('BOPEN-17: 6.9 rejects a directory (no read_iter/write_iter) with EOPNOTSUPP, accepts /dev/null', () => {
    expect(bopen('6.9', 'dir').errno).toBe('EOPNOTSUPP');
    expect(bopen('6.9', 'null').value).toBe(1);
  });

  it('INIT-9: 6.9 allows WRITEBACK_CACHE together with PASSTHROUGH', () => {
    const init = { flags: ['INIT_EXT', 'PASSTHROUGH', 'WRITEBACK_CACHE'] as const, maxStackDepth: 1 };
    expect(mounted({ profile: '6.9', init: { ...init, flags: [...init.flags] } }).hidden().passthrough).toBe(true);
    expect(mounted({ profile: '6.18', init: { ...init, flags: [...init.flags] } }).hidden().passthrough).toBe(false);
  });

  it('IO-24: 6.9 does not extend the FUSE i_size after an extending PT write', () => {
    const k = registered({ profile: '6.9' });
    ptOpen(k, { flags: ['O_RDWR'] });
    k.client.write('f', 'x', 9999);
    expect(k.client.stat({ fd: 'f', dontSync: true }).value).toBe(4096);
  });

  it('DEV-12: only 6.18 has SYNC_INIT', () => {
    expect(PROFILES['6.18'].syncInit).toBe(true);
    expect(PROFILES['6.12'].syncInit).toBe(false);
    expect(PROFILES['6.9'].syncInit).toBe(false);
  });

  it('BOPEN-2, BCLOSE-2: nopt backing ioctls are EOPNOTSUPP', () => {
    expect(bopen('nopt', 'b').errno).toBe('EOPNOTSUPP');
    expect(mounted({ profile: 'nopt' }).daemon.backingClose({ dev: 'dev', id: 1 }).errno).toBe('EOPNOTSUPP');
  });
});

describe('registering /dev/fuse itself before the regular-file check', () => {
  it('BOPEN-9: on 6.9 (it has read_iter and write_iter) the registered /dev/fuse file keeps its connection alive after close and umount', () => {
    const k = mounted({ profile: '6.9' });
    k.daemon.open('devfuse:dev', 'rdwr', 'self');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'self' }).value).toBe(1);
    k.daemon.umount();
    k.daemon.devClose('dev');
    // fuse_dev_release waits for the last reference, which the fb holds: nothing is freed.
    expect(k.hidden().connectionFreed).toBe(false);
    expect(k.hidden().backings).toEqual([{ id: 1, count: 1 }]);
  });
});
