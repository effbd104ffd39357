// FUSE_DEV_IOC_BACKING_OPEN / _CLOSE and the id allocator (kernel-spec §4, §5, §6, §12).
import { describe, expect, it } from 'vitest';
import { INT_MAX } from '../spec/uapi.ts';
import { mounted, ptOpen, registered } from './test-helpers.ts';

const open = (file: string, mode: 'rdonly' | 'wronly' | 'rdwr' | 'path' | 'pathNofollow' = 'rdonly', msd = 1) => {
  const k = mounted({ init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: msd } });
  k.daemon.open(file, mode, 'x');
  return { k, r: k.daemon.backingOpen({ dev: 'dev', fd: 'x', as: 'bx' }) };
};

describe('BACKING_OPEN (backing.c fuse_backing_open), checks in order', () => {
  it('BOPEN-1: no fuse_dev on the fd is EPERM', () => {
    const k = mounted();
    k.daemon.devOpen('fresh');
    expect(k.daemon.backingOpen({ dev: 'fresh', fd: -1 }).errno).toBe('EPERM');
  });

  it('BOPEN-2: CONFIG_FUSE_PASSTHROUGH=n gives EOPNOTSUPP (after the fuse_dev check)', () => {
    const k = mounted({ profile: 'nopt' });
    k.daemon.open('b', 'rdonly', 'bf');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.errno).toBe('EOPNOTSUPP');
    expect(r.explain.checks).toContain('BOPEN-2');
  });

  it('BOPEN-3: a NULL map is EFAULT', () => {
    expect(mounted().daemon.backingOpen({ dev: 'dev', fd: 0, nullArg: true }).errno).toBe('EFAULT');
  });

  it('BOPEN-4: passthrough not on is EPERM', () => {
    const k = mounted({ init: { flags: ['INIT_EXT'], maxStackDepth: 1 } });
    k.daemon.open('b', 'rdonly', 'bf');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).explain.checks).toContain('BOPEN-4');
  });

  it('BOPEN-5: no CAP_SYS_ADMIN in the initial user namespace is EPERM (userns root too)', () => {
    const k = mounted();
    k.daemon.open('b', 'rdonly', 'bf');
    for (const cred of ['noCapSysAdmin', 'userns'] as const) {
      const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf', cred });
      expect(r.errno).toBe('EPERM');
      expect(r.explain.checks).toContain('BOPEN-5');
    }
  });

  it('BOPEN-6: flags != 0 or padding != 0 is EINVAL', () => {
    const k = mounted();
    k.daemon.open('b', 'rdonly', 'bf');
    for (const a of [{ flags: 1 }, { flags: 0x80000000 }, { padding: 1 }]) expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf', ...a }).errno).toBe('EINVAL');
  });

  it('BOPEN-7: an fd not open in the caller is EBADF', () => {
    const k = mounted();
    expect(k.daemon.backingOpen({ dev: 'dev', fd: -1 }).errno).toBe('EBADF');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 999 }).errno).toBe('EBADF');
  });

  it('BOPEN-8: a directory is EISDIR', () => {
    expect(open('dir').r.errno).toBe('EISDIR');
  });

  it('BOPEN-9: fifo, socket, char device, O_PATH|O_NOFOLLOW symlink and /dev/fuse itself are EINVAL', () => {
    expect(open('fifo').r.errno).toBe('EINVAL');
    expect(open('sock', 'path').r.errno).toBe('EINVAL');
    expect(open('null').r.errno).toBe('EINVAL');
    expect(open('link', 'pathNofollow').r.errno).toBe('EINVAL');
    const k = mounted();
    k.daemon.open('devfuse:dev', 'rdwr', 'self');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'self' }).errno).toBe('EINVAL');
  });

  it('BOPEN-10: backing s_stack_depth >= max_stack_depth is ELOOP', () => {
    const { r } = open('ov');
    expect(r.errno).toBe('ELOOP');
    expect(r.explain.checks).toContain('BOPEN-10');
  });

  it('BOPEN-11: a failing fuse_backing allocation is ENOMEM', () => {
    const k = mounted();
    k.daemon.open('b', 'rdonly', 'bf');
    k.simFailAlloc('fuseBacking');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).errno).toBe('ENOMEM');
  });

  it('BOPEN-12: a failing id allocation is ENOMEM (ENOSPC when the space is full)', () => {
    const k = mounted();
    k.daemon.open('b', 'rdonly', 'bf');
    k.simFailAlloc('idr');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.errno).toBe('ENOMEM');
    expect(r.explain.checks).toContain('BOPEN-12');
  });

  it('BOPEN-13: success returns an id > 0', () => {
    const k = registered();
    expect(k.hidden().backings).toEqual([{ id: 1, count: 1 }]);
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).explain.checks).toContain('BOPEN-13');
  });

  it('BOPEN-14: no cap and bad flags is EPERM (cap before flags)', () => {
    const k = mounted();
    k.daemon.open('b', 'rdonly', 'bf');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf', flags: 1, cred: 'noCapSysAdmin' }).errno).toBe('EPERM');
  });

  it('BOPEN-15: bad flags with a bad fd is EINVAL (flags before fd)', () => {
    expect(mounted().daemon.backingOpen({ dev: 'dev', fd: -1, flags: 1 }).errno).toBe('EINVAL');
  });

  it('BOPEN-16: O_RDONLY, O_WRONLY, O_RDWR and O_PATH fds all get an id', () => {
    for (const mode of ['rdonly', 'wronly', 'rdwr', 'path'] as const) expect(open('b', mode).r.value).toBe(1);
  });

  it('BOPEN-17: no file-operation check: a file whose fs lacks ->mmap registers, mmap fails later', () => {
    const k = mounted({ world: { files: { nm: { on: 'disk', simTraits: ['noMmap'] } }, nodes: { n: {} } } });
    k.daemon.open('nm', 'rdonly', 'x');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'x', as: 'b1' });
    expect(r.value).toBe(1);
    expect(r.explain.checks).toContain('BOPEN-17');
    ptOpen(k);
    expect(k.client.mmap('f', { shared: false }, 'm').errno).toBe('ENODEV');
  });
});

describe('backing ids (idr_alloc_cyclic)', () => {
  it('BID-1: ids are per connection, shared by clones', () => {
    const k = registered();
    k.daemon.devClone('dev', 'c');
    expect(k.daemon.backingOpen({ dev: 'c', fd: 'bf' }).value).toBe(2);
    const other = registered();
    expect(other.hidden().backings.map((b) => b.id)).toEqual([1]);
  });

  it('BID-2: the first id is 1', () => {
    const r = open('b').r;
    expect(r.value).toBe(1);
    expect(r.explain.checks).toContain('BID-2');
  });

  it('BID-3: open 1, close 1, the next open gets 2', () => {
    const k = registered();
    k.daemon.backingClose({ dev: 'dev', id: 1 });
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).value).toBe(2);
  });

  it('BID-4: opens 6, 7, 8, close 7, next open is 9', () => {
    const k = registered();
    for (let i = 2; i <= 8; i++) k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    k.daemon.backingClose({ dev: 'dev', id: 7 });
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.value).toBe(9);
    expect(r.explain.checks).toContain('BID-4');
  });

  it('BID-5: past INT_MAX the lowest free id >= 1 is taken', () => {
    const k = registered();
    k.simIdCursor(INT_MAX);
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).value).toBe(INT_MAX);
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.value).toBe(2);
    expect(r.explain.checks).toContain('BID-5');
  });

  it('BID-6: a full id space gives ENOSPC; a closed id becomes free again', () => {
    const k = mounted();
    k.daemon.open('b', 'rdonly', 'bf');
    k.simIdCursor(1, true);
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.errno).toBe('ENOSPC');
    expect(r.explain.checks).toContain('BID-6');
    k.daemon.backingClose({ dev: 'dev', id: 5 });
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).value).toBe(5);
  });

  it('BID-7: a failed BACKING_OPEN consumes no id', () => {
    const k = registered();
    k.daemon.backingOpen({ dev: 'dev', fd: 'bf', flags: 1 });
    k.daemon.backingOpen({ dev: 'dev', fd: -1 });
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).value).toBe(2);
  });

  it('BID-8: the same file registered twice gets two ids and two fuse_backings', () => {
    const k = registered();
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).value).toBe(2);
    expect(k.hidden().backings).toEqual([{ id: 1, count: 1 }, { id: 2, count: 1 }]);
  });

  it('BID-9: no RLIMIT_NOFILE accounting: more registrations than the limit allows fds', () => {
    const k = mounted({ rlimitNofile: 8 });
    for (let i = 0; i < 20; i++) {
      expect(k.daemon.open('b', 'rdonly', 'x').errno).toBeNull();
      expect(k.daemon.backingOpen({ dev: 'dev', fd: 'x' }).errno).toBeNull();
      k.daemon.close('x');
    }
    expect(k.hidden().pinnedInvisible).toBe(20);
  });
});

describe('BACKING_CLOSE (backing.c fuse_backing_close)', () => {
  it('BCLOSE-1: no fuse_dev is EPERM', () => {
    const k = registered();
    k.daemon.devOpen('fresh');
    expect(k.daemon.backingClose({ dev: 'fresh', id: 1 }).errno).toBe('EPERM');
  });
  it('BCLOSE-2: CONFIG_FUSE_PASSTHROUGH=n is EOPNOTSUPP', () => {
    expect(mounted({ profile: 'nopt' }).daemon.backingClose({ dev: 'dev', id: 1 }).errno).toBe('EOPNOTSUPP');
  });
  it('BCLOSE-3: a NULL argument is EFAULT', () => {
    expect(registered().daemon.backingClose({ dev: 'dev', id: 1, nullArg: true }).errno).toBe('EFAULT');
  });
  it('BCLOSE-4: passthrough not on is EPERM', () => {
    expect(mounted({ init: { flags: ['INIT_EXT'] } }).daemon.backingClose({ dev: 'dev', id: 1 }).errno).toBe('EPERM');
  });
  it('BCLOSE-5: no CAP_SYS_ADMIN is EPERM, even for id 0', () => {
    expect(registered().daemon.backingClose({ dev: 'dev', id: 0, cred: 'noCapSysAdmin' }).errno).toBe('EPERM');
  });
  it('BCLOSE-6: id <= 0 (0, -1, INT_MIN) is EINVAL', () => {
    const k = registered();
    for (const id of [0, -1, 0x80000000]) expect(k.daemon.backingClose({ dev: 'dev', id }).errno).toBe('EINVAL');
  });
  it('BCLOSE-7: an id never allocated, or closed twice, is ENOENT', () => {
    const k = registered();
    expect(k.daemon.backingClose({ dev: 'dev', id: 999 }).errno).toBe('ENOENT');
    k.daemon.backingClose({ dev: 'dev', id: 1 });
    expect(k.daemon.backingClose({ dev: 'dev', id: 1 }).errno).toBe('ENOENT');
  });
  it('BCLOSE-8: a live id closes with 0', () => {
    const k = registered();
    expect(k.daemon.backingClose({ dev: 'dev', id: 'b1' }).errno).toBeNull();
    expect(k.hidden().backings).toEqual([]);
  });
  it('BCLOSE-9: an id in use by an open PT file closes with 0, no EBUSY', () => {
    const k = registered();
    ptOpen(k);
    const r = k.daemon.backingClose({ dev: 'dev', id: 'b1' });
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('BCLOSE-9');
  });
  it('BCLOSE-10: any fd of the connection may close any id', () => {
    const k = registered();
    k.daemon.devClone('dev', 'c');
    const r = k.daemon.backingClose({ dev: 'c', id: 'b1' });
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('BCLOSE-10');
  });
  it('BCLOSE-11: PT files open with a closed id keep reading the backing file', () => {
    const k = registered();
    ptOpen(k);
    k.daemon.backingClose({ dev: 'dev', id: 'b1' });
    const r = k.client.read('f', 16, 0);
    expect(r.value).toBe('B*16');
    expect(r.explain.checks).toContain('BCLOSE-11');
  });
});

describe('stack depth (kernel-spec §12)', () => {
  it('STACK-3: a backing file on disk or tmpfs (depth 0) is ok with msd 1 and 2', () => {
    for (const msd of [1, 2]) for (const f of ['b', 't']) expect(open(f, 'rdonly', msd).r.value).toBe(1);
  });
  it('STACK-4: on overlayfs (depth 1) with msd 1: ELOOP', () => {
    expect(open('ov', 'rdonly', 1).r.errno).toBe('ELOOP');
  });
  it('STACK-5: on overlayfs with msd 2: ok, PT read returns the overlay data', () => {
    const { k, r } = open('ov', 'rdonly', 2);
    expect(r.value).toBe(1);
    ptOpen(k, { backing: 'bx' });
    expect(k.client.read('f', 4, 0).value).toBe('B*4');
  });
  it('STACK-6: a backing file on the same FUSE mount (depth = msd) is ELOOP', () => {
    const r = open('self').r;
    expect(r.errno).toBe('ELOOP');
    expect(r.explain.checks).toContain('STACK-6');
  });
  it('STACK-7: overlayfs over a non-PT FUSE mounts (depth 1) and follows STACK-4/5', () => {
    expect(open('ovf', 'rdonly', 1).r.errno).toBe('ELOOP');
    expect(open('ovf', 'rdonly', 2).r.explain.checks).toContain('STACK-7');
  });
  it('STACK-8: an inner FUSE without PT (depth 0) is ok', () => {
    expect(open('inner', 'rdonly', 1).r.value).toBe(1);
  });
  it('STACK-9: inner PT FUSE msd 1 (depth 1) under outer msd 1 is ELOOP', () => {
    expect(open('pt1', 'rdonly', 1).r.errno).toBe('ELOOP');
  });
  it('STACK-10: inner PT FUSE msd 1 under outer msd 2 is ok', () => {
    expect(open('pt1', 'rdonly', 2).r.value).toBe(1);
  });
  it('STACK-11: inner PT FUSE msd 2 (depth 2) is ELOOP under any outer', () => {
    for (const msd of [1, 2]) expect(open('pt2', 'rdonly', msd).r.errno).toBe('ELOOP');
  });
});
