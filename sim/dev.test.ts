// /dev/fuse fd states and ioctl dispatch (kernel-spec §3).
import { describe, expect, it } from 'vitest';
import { FUSE_DEV_IOC } from '../spec/uapi.ts';
import { createKernel } from './kernel.ts';
import { mounted, registered, WORLD } from './test-helpers.ts';

describe('/dev/fuse (dev.c fuse_dev_ioctl)', () => {
  it('DEV-1: an unknown word, or BACKING_OPEN with another size or direction, is ENOTTY', () => {
    const k = mounted();
    for (const cmd of [0x4018e501 /* _IOW(229,1,24 bytes) */, 0x8010e501 /* _IOR */, 0xe5ff]) {
      const r = k.daemon.devIoctl('dev', cmd);
      expect(r.errno).toBe('ENOTTY');
      expect(r.explain.checks).toContain('DEV-1');
    }
  });

  it('DEV-2: a 32-bit caller uses the same numbers with the same results', () => {
    const k = registered();
    expect(k.daemon.devIoctl('dev', 0x1234, { compat32: true }).errno).toBe('ENOTTY');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf', compat32: true });
    expect(r.value).toBe(2);
    expect(r.explain.checks).toContain('DEV-2');
  });

  it('DEV-3: read() on an fd with no fuse_dev is EPERM', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    expect(k.daemon.devRead('dev').errno).toBe('EPERM');
  });

  it('DEV-4: backing ioctls on a fresh fd are EPERM, even with a NULL argument', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: -1, nullArg: true });
    expect(r.errno).toBe('EPERM');
    expect(r.explain.checks).toEqual(expect.arrayContaining(['DEV-4', 'BOPEN-1']));
    expect(k.daemon.backingClose({ dev: 'dev', id: 1 }).errno).toBe('EPERM');
  });

  it('DEV-5: on a SYNC_INIT fd not yet attached the ioctl sleeps; a signal ends it with EINTR', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    k.daemon.syncInit('dev');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: -1 }).fault?.kind).toBe('timeout');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: -1, interruptAfterMs: 10 });
    expect(r.errno).toBe('EINTR');
    expect(r.explain.checks).toContain('DEV-5');
    // BACKING_CLOSE goes through the same fuse_get_dev() wait (spec DEV-5 table: "same").
    expect(k.daemon.backingClose({ dev: 'dev', id: 1 }).fault?.kind).toBe('timeout');
    const c = k.daemon.backingClose({ dev: 'dev', id: 1, interruptAfterMs: 10 });
    expect(c.errno).toBe('EINTR');
    expect(c.explain.checks).toContain('DEV-5');
  });

  it('DEV-6: after mount, before the INIT reply, backing ioctls are EPERM', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    k.daemon.mount('dev', undefined, { deferInit: true });
    k.daemon.open('b', 'rdonly', 'bf');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.errno).toBe('EPERM');
    expect(r.explain.checks).toEqual(expect.arrayContaining(['DEV-6', 'BOPEN-4']));
  });

  it('DEV-7: after INIT with PT the BOPEN checks run', () => {
    const k = registered();
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.value).toBe(2);
    expect(r.explain.checks).toContain('DEV-7');
  });

  it('DEV-8: after INIT without PT: EFAULT for a NULL argument first, else EPERM', () => {
    const k = mounted({ init: { flags: ['INIT_EXT'] } });
    expect(k.daemon.backingOpen({ dev: 'dev', fd: -1, nullArg: true }).errno).toBe('EFAULT');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: -1 });
    expect(r.errno).toBe('EPERM');
    expect(r.explain.checks).toContain('DEV-8');
    expect(k.daemon.backingClose({ dev: 'dev', id: 1, nullArg: true }).errno).toBe('EFAULT');
    expect(k.daemon.backingClose({ dev: 'dev', id: 1 }).errno).toBe('EPERM');
  });

  it('DEV-9: a cloned fd shares the connection and its ids', () => {
    const k = registered();
    expect(k.daemon.devClone('dev', 'dev2').errno).toBeNull();
    const r = k.daemon.backingOpen({ dev: 'dev2', fd: 'bf', as: 'b2' });
    expect(r.value).toBe(2);
    expect(r.explain.checks).toContain('DEV-9');
    expect(k.daemon.backingClose({ dev: 'dev2', id: 'b1' }).errno).toBeNull();
    expect(k.daemon.backingClose({ dev: 'dev', id: 'b2' }).errno).toBeNull();
  });

  it('DEV-10: SYNC_INIT on a fresh fd returns 0, and again 0', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    expect(k.daemon.syncInit('dev').errno).toBeNull();
    const r = k.daemon.syncInit('dev');
    expect(r.errno).toBeNull();
    expect(r.explain.checks).toContain('DEV-10');
  });

  it('DEV-11: SYNC_INIT on a mounted or cloned fd is EINVAL', () => {
    const k = mounted();
    expect(k.daemon.syncInit('dev').errno).toBe('EINVAL');
    k.daemon.devClone('dev', 'c');
    expect(k.daemon.syncInit('c').errno).toBe('EINVAL');
  });

  it('DEV-12: SYNC_INIT before 6.18 is ENOTTY', () => {
    for (const profile of ['6.12', '6.9'] as const) {
      const k = createKernel({ profile, world: WORLD });
      k.daemon.devOpen('dev');
      const r = k.daemon.devIoctl('dev', FUSE_DEV_IOC.SYNC_INIT);
      expect(r.errno).toBe('ENOTTY');
      expect(r.explain.checks).toContain('DEV-12');
    }
  });

  it('DEV-13: after a failed SYNC_INIT mount a backing ioctl is EPERM at once (observed 6.18; the spec inferred a sleep)', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    k.daemon.syncInit('dev');
    expect(k.daemon.mount('dev', { error: 'EIO' }).errno).toBe('ENOTCONN');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: -1, interruptAfterMs: 5 });
    expect(r.errno).toBe('EPERM');
    expect(r.explain.checks).toContain('DEV-13');
  });
});
