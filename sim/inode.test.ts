// FUSE_INIT negotiation (kernel-spec §2) and the superblock depth (STACK-1).
import { describe, expect, it } from 'vitest';
import type { InitReplySpec } from '../spec/case.ts';
import { createKernel } from './kernel.ts';
import { mounted, WORLD } from './test-helpers.ts';

function bopenAfter(init: InitReplySpec) {
  const k = mounted({ init });
  k.daemon.open('b', 'rdonly', 'bf');
  return k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
}

describe('FUSE_INIT (inode.c process_init_reply)', () => {
  it('INIT-1, INIT-2: the 6.18 INIT request is 7.45 and offers INIT_EXT and PASSTHROUGH', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    const r = k.daemon.mount('dev');
    expect(r.value).toBe('7.45 offers:INIT_EXT,PASSTHROUGH');
    expect(r.requests).toEqual(['INIT']);
    expect(r.explain.checks).toEqual(expect.arrayContaining(['INIT-1', 'INIT-2']));
  });

  it('INIT-3: an error reply or major != 7 marks the connection failed', () => {
    const k = mounted({ init: { major: 8, flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 } });
    expect(k.hidden().passthrough).toBe(false);
    const o = k.client.open('n', ['O_RDONLY'], 'f');
    expect(o.errno).toBe('ECONNREFUSED');
    expect(o.explain.checks).toContain('INIT-3');
    const e = mounted({ init: { error: 'EIO' } });
    expect(e.client.stat({ node: 'n' }).errno).toBe('ECONNREFUSED');
  });

  it('INIT-4: a short reply reads the missing max_stack_depth as 0, so PT stays off', () => {
    const r = bopenAfter({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1, length: 24 });
    expect(r.errno).toBe('EPERM');
  });

  it('INIT-5: a reply minor below 6 ignores the flags', () => {
    const k = mounted({ init: { minor: 5, flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 } });
    expect(k.hidden().passthrough).toBe(false);
  });

  it('INIT-6: PASSTHROUGH in flags2 without INIT_EXT is ignored', () => {
    expect(bopenAfter({ flags: ['PASSTHROUGH'], maxStackDepth: 1 }).errno).toBe('EPERM');
  });

  it('INIT-7, STACK-1: PASSTHROUGH with msd 1 or 2 turns PT on and sets the sb depth to msd', () => {
    for (const msd of [1, 2]) {
      const k = mounted({ init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: msd } });
      expect(k.hidden()).toMatchObject({ passthrough: true, maxStackDepth: msd, fuseStackDepth: msd });
    }
    expect(bopenAfter({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 }).value).toBe(1);
  });

  it('STACK-1: without PT the FUSE superblock depth stays 0', () => {
    expect(mounted({ init: { flags: ['INIT_EXT'], maxStackDepth: 1 } }).hidden().fuseStackDepth).toBe(0);
  });

  it('INIT-8: msd 0, 3 or 0xffffffff leaves PT off', () => {
    for (const msd of [0, 3, 0xffffffff]) expect(bopenAfter({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: msd }).errno).toBe('EPERM');
  });

  it('INIT-9: WRITEBACK_CACHE with PASSTHROUGH turns PT off (writeback on)', () => {
    const k = mounted({ init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'WRITEBACK_CACHE'], maxStackDepth: 1 } });
    expect(k.hidden().passthrough).toBe(false);
    expect(k.state.conn?.writebackCache).toBe(true);
  });

  it('INIT-10: PT off is silent: the mount succeeds and BACKING_OPEN says EPERM', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    expect(k.daemon.mount('dev', { flags: ['INIT_EXT'], maxStackDepth: 1 }).errno).toBeNull();
    k.daemon.open('b', 'rdonly', 'bf');
    const r = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' });
    expect(r.errno).toBe('EPERM');
    expect(r.explain.checks).toContain('BOPEN-4');
  });

  it('INIT-11: reply minors 20 and 39 with valid PT flags turn PT on', () => {
    for (const minor of [20, 39]) expect(mounted({ init: { minor, flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 } }).hidden().passthrough).toBe(true);
  });

  it('INIT-12: DIRECT_IO_ALLOW_MMAP alongside PT keeps PT on', () => {
    expect(bopenAfter({ flags: ['INIT_EXT', 'PASSTHROUGH', 'DIRECT_IO_ALLOW_MMAP'], maxStackDepth: 1 }).value).toBe(1);
  });

  it('INIT-13: without SYNC_INIT, PT is set only once the reply is processed (EPERM before)', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    k.daemon.mount('dev', undefined, { deferInit: true });
    k.daemon.open('b', 'rdonly', 'bf');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).errno).toBe('EPERM');
    expect(k.daemon.replyInit().explain.checks).toContain('INIT-13');
    expect(k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).value).toBe(1);
  });

  it('INIT-14: with SYNC_INIT the INIT reply is processed before mount(2) returns', () => {
    const k = createKernel({ world: WORLD });
    k.daemon.devOpen('dev');
    k.daemon.syncInit('dev');
    const r = k.daemon.mount('dev');
    expect(r.explain.checks).toContain('INIT-14');
    expect(k.hidden().passthrough).toBe(true);
  });
});
