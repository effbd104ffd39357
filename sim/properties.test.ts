// Property tests over random operation sequences on the model. Each property says its
// invariant in words. Replay a failure with FC_SEED=<seed> (and FC_PATH) as fast-check prints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OpenFlagName } from '../spec/case.ts';
import type { FopenFlagName } from '../spec/uapi.ts';
import { createKernel, type Kernel, type SimResult } from './kernel.ts';
import { WORLD } from './test-helpers.ts';

const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED']);
const path = process.env['FC_PATH'];
// FC_RUNS scales every property's run count (e.g. FC_RUNS=20 for a long hunt).
const scale = Number(process.env['FC_RUNS'] ?? '1');
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns: Math.max(1, Math.round(numRuns * scale)), ...(seed === undefined ? {} : { seed }), ...(path === undefined ? {} : { path }) });

type Op =
  | { op: 'daemonOpen'; file: string; mode: 'rdonly' | 'rdwr' | 'path'; as: string }
  | { op: 'daemonClose'; fd: string }
  | { op: 'backingOpen'; fd: string; as: string; cred: 'root' | 'noCapSysAdmin' }
  | { op: 'backingClose'; id: string | number }
  | { op: 'devClone' }
  | { op: 'setOpenReply'; node: string; flags: FopenFlagName[]; backing: string | number }
  | { op: 'open'; node: string; flags: OpenFlagName[]; as: string }
  | { op: 'read'; fd: string }
  | { op: 'write'; fd: string; at: number }
  | { op: 'mmap'; fd: string; shared: boolean; write: boolean; as: string }
  | { op: 'munmap'; map: string }
  | { op: 'close'; fd: string }
  | { op: 'stat'; fd: string }
  | { op: 'abort' }
  | { op: 'umount'; lazy: boolean }
  | { op: 'devClose'; dev: string }
  | { op: 'misc'; what: 'lseekEnd' | 'seekData' | 'ftruncate' | 'fsync' | 'fallocate' | 'ioctl' | 'fileattr' | 'spliceRead' | 'spliceWrite' | 'copy' | 'statNoSync'; fd: string; fd2: string }
  | { op: 'map'; what: 'read' | 'write'; map: string; at: number }
  | { op: 'daemonSize'; node: string; size: number };

const DFD = ['d0', 'd1', 'd2'];
const REG = ['r0', 'r1', 'r2', 'r3'];
const CFD = ['c0', 'c1', 'c2'];
const MAP = ['m0', 'm1'];
const FILES = ['b', 'b2', 't', 'ov', 'dir', 'fifo', 'ro', 'link'];
const NODES = ['n', 'm'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('daemonOpen' as const), file: fc.constantFrom(...FILES), mode: fc.constantFrom('rdonly' as const, 'rdwr' as const, 'path' as const), as: fc.constantFrom(...DFD) }),
  fc.record({ op: fc.constant('daemonClose' as const), fd: fc.constantFrom(...DFD) }),
  fc.record({ op: fc.constant('backingOpen' as const), fd: fc.constantFrom(...DFD), as: fc.constantFrom(...REG), cred: fc.constantFrom('root' as const, 'root' as const, 'noCapSysAdmin' as const) }),
  fc.record({ op: fc.constant('backingClose' as const), id: fc.oneof(fc.constantFrom(...REG), fc.integer({ min: -1, max: 6 })) }),
  fc.record({ op: fc.constant('devClone' as const) }),
  fc.record({
    op: fc.constant('setOpenReply' as const),
    node: fc.constantFrom(...NODES),
    flags: fc.subarray(['PASSTHROUGH', 'DIRECT_IO', 'KEEP_CACHE', 'NOFLUSH', 'PARALLEL_DIRECT_WRITES'] as FopenFlagName[]),
    backing: fc.oneof(fc.constantFrom(...REG), fc.integer({ min: -1, max: 6 })),
  }),
  fc.record({ op: fc.constant('open' as const), node: fc.constantFrom(...NODES), flags: fc.constantFrom<OpenFlagName[]>(['O_RDONLY'], ['O_RDWR'], ['O_WRONLY', 'O_APPEND'], ['O_RDWR', 'O_TRUNC']), as: fc.constantFrom(...CFD) }),
  fc.record({ op: fc.constant('read' as const), fd: fc.constantFrom(...CFD) }),
  fc.record({ op: fc.constant('write' as const), fd: fc.constantFrom(...CFD), at: fc.integer({ min: 0, max: 9000 }) }),
  fc.record({ op: fc.constant('mmap' as const), fd: fc.constantFrom(...CFD), shared: fc.boolean(), write: fc.boolean(), as: fc.constantFrom(...MAP) }),
  fc.record({ op: fc.constant('munmap' as const), map: fc.constantFrom(...MAP) }),
  fc.record({ op: fc.constant('close' as const), fd: fc.constantFrom(...CFD) }),
  fc.record({ op: fc.constant('stat' as const), fd: fc.constantFrom(...CFD) }),
  fc.record({ op: fc.constant('abort' as const) }),
  fc.record({ op: fc.constant('umount' as const), lazy: fc.boolean() }),
  fc.record({ op: fc.constant('devClose' as const), dev: fc.constantFrom('dev', 'clone') }),
  fc.record({
    op: fc.constant('misc' as const),
    what: fc.constantFrom('lseekEnd' as const, 'seekData' as const, 'ftruncate' as const, 'fsync' as const, 'fallocate' as const, 'ioctl' as const, 'fileattr' as const, 'spliceRead' as const, 'spliceWrite' as const, 'copy' as const, 'statNoSync' as const),
    fd: fc.constantFrom(...CFD),
    fd2: fc.constantFrom(...CFD),
  }),
  fc.record({ op: fc.constant('map' as const), what: fc.constantFrom('read' as const, 'write' as const), map: fc.constantFrom(...MAP), at: fc.integer({ min: 0, max: 4000 }) }),
  fc.record({ op: fc.constant('daemonSize' as const), node: fc.constantFrom(...NODES), size: fc.integer({ min: 0, max: 20000 }) }),
);

/** Play one op, skipping those whose names are not live (the harness, not the kernel, refuses). */
function play(k: Kernel, o: Op, ids: Set<number>): SimResult | undefined {
  const s = k.state;
  switch (o.op) {
    case 'daemonOpen':
      if (!s.daemonFds.has(o.as)) return k.daemon.open(o.file, o.mode, o.as);
      return;
    case 'daemonClose':
      if (s.daemonFds.has(o.fd)) return k.daemon.close(o.fd);
      return;
    case 'backingOpen': {
      if (!s.daemonFds.has(o.fd) || !s.devFiles.has('dev')) return;
      const r = k.daemon.backingOpen({ dev: 'dev', fd: o.fd, as: o.as, cred: o.cred });
      if (typeof r.value === 'number' && r.errno === null) {
        // Ids are unique per connection while the cursor has not wrapped (BID-3, BID-4).
        expect(ids.has(r.value)).toBe(false);
        ids.add(r.value);
      }
      return r;
    }
    case 'backingClose':
      if (s.devFiles.has('dev') && (typeof o.id === 'number' || s.regs.has(o.id))) return k.daemon.backingClose({ dev: 'dev', id: o.id });
      return;
    case 'devClone':
      if (s.devFiles.has('dev') && !s.devFiles.has('clone')) return k.daemon.devClone('dev', 'clone');
      return;
    case 'setOpenReply':
      return k.daemon.setOpenReply(o.node, { flags: o.flags, backing: o.backing });
      return;
    case 'open':
      if (!s.clientFiles.has(o.as)) return k.client.open(o.node, o.flags, o.as);
      return;
    case 'read':
      if (s.clientFiles.has(o.fd)) return k.client.read(o.fd, 100, 0);
      return;
    case 'write':
      if (s.clientFiles.has(o.fd)) return k.client.write(o.fd, 'w', o.at);
      return;
    case 'mmap':
      if (s.clientFiles.has(o.fd) && !s.maps.has(o.as)) return k.client.mmap(o.fd, { shared: o.shared, write: o.write }, o.as);
      return;
    case 'munmap':
      if (s.maps.has(o.map)) return k.client.munmap(o.map);
      return;
    case 'close':
      if (s.clientFiles.has(o.fd)) return k.client.close(o.fd);
      return;
    case 'stat':
      if (s.clientFiles.has(o.fd)) return k.client.stat({ fd: o.fd });
      return;
    case 'abort':
      return k.daemon.abort();
      return;
    case 'umount':
      return k.daemon.umount({ lazy: o.lazy });
      return;
    case 'devClose':
      if (s.devFiles.has(o.dev)) return k.daemon.devClose(o.dev);
      return;
    case 'misc': {
      if (!s.clientFiles.has(o.fd)) return;
      const c = k.client;
      switch (o.what) {
        case 'lseekEnd': return c.lseek(o.fd, 'END', 0);
        case 'seekData': return c.lseek(o.fd, 'DATA', 10);
        case 'ftruncate': return c.ftruncate(o.fd, 100);
        case 'fsync': return c.fsync(o.fd);
        case 'fallocate': return c.fallocate(o.fd);
        case 'ioctl': return c.ioctl(o.fd, 0x5401);
        case 'fileattr': return c.ioctl(o.fd, 0x80086601);
        case 'spliceRead': return c.spliceRead(o.fd, 50, 0);
        case 'spliceWrite': return c.spliceWrite(o.fd, 'sp', 3);
        case 'copy': return s.clientFiles.has(o.fd2) ? c.copyRange({ from: o.fd, to: o.fd2, length: 10 }) : undefined;
        case 'statNoSync': return c.stat({ fd: o.fd, dontSync: true });
      }
      return;
    }
    case 'map':
      if (!s.maps.has(o.map)) return;
      return o.what === 'read' ? k.client.mapRead(o.map, 16, o.at) : k.client.mapWrite(o.map, 'M', o.at);
    case 'daemonSize':
      return k.daemon.setDaemonSize(o.node, o.size);
  }
}

function fresh(rlimitNofile = 1024): Kernel {
  const k = createKernel({ world: WORLD, rlimitNofile });
  k.daemon.devOpen('dev');
  k.daemon.mount('dev');
  return k;
}

/** Reference counts seen from outside: fb counts, struct file counts, iocachectr bookkeeping. */
function assertCountsSane(k: Kernel): void {
  const h = k.hidden();
  expect(h.bugs).toEqual([]);
  for (const b of h.backings) expect(b.count).toBeGreaterThanOrEqual(1);
  for (const f of k.state.vfs.allFiles) expect(f.count).toBeGreaterThanOrEqual(0);
}

const seqArb = fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' });

/**
 * fc.assert that `check` holds after every step of every random sequence (and `atEnd`, if
 * given, after the whole sequence) on a fresh kernel. play() itself asserts ids are unseen.
 */
function assertForEverySequence(check: (k: Kernel, o: Op, r: SimResult | undefined) => void, atEnd?: (k: Kernel) => void): void {
  fc.assert(
    fc.property(seqArb, (ops) => {
      const k = fresh();
      const ids = new Set<number>();
      for (const o of ops) check(k, o, play(k, o, ids));
      atEnd?.(k);
    }),
    params(300),
  );
}

type PinStep = 'open+register' | 'close-fd' | 'noop';

/** The daemon opens and registers files, or closes its oldest fd: the BID-9 pinning script. */
function playPinScript(k: Kernel, script: readonly PinStep[]): void {
  let n = 0;
  for (const step of script) {
    if (step === 'open+register') {
      const name = `x${n++}`;
      if (k.daemon.open('b', 'rdonly', name).errno === null) k.daemon.backingOpen({ dev: 'dev', fd: name });
    } else if (step === 'close-fd') {
      const fd = [...k.state.daemonFds.keys()][0];
      if (fd !== undefined) k.daemon.close(fd);
    }
  }
}

describe('properties of the model over random operation sequences', () => {
  it('reference counts never go negative (fb counts, f_count, no double free) after any step', () => {
    assertForEverySequence((k) => assertCountsSane(k));
  });

  it('IOM-21: an inode bound to a backing file is in passthrough mode (fb => iocachectr < 0) after any step', () => {
    assertForEverySequence((k) => {
      for (const st of Object.values(k.hidden().inodes)) if (st.boundId !== null) expect(st.iocachectr).toBeLessThan(0);
    });
  });

  it('after full teardown every file the kernel took is released exactly once (LIFE-23)', () => {
    assertForEverySequence(
      () => {},
      (k) => {
        k.teardown();
        expect(k.hidden().bugs).toEqual([]);
        for (const f of k.state.vfs.allFiles) {
          expect(f.count).toBe(0);
          expect(f.releases).toBe(1);
        }
      },
    );
  });

  it('BID-4: ids are unique per connection (never reused before the cursor wraps)', () => {
    assertForEverySequence(() => {}); // play() asserts each new id is unseen
  });

  it('every errno is explained: by the check id that produced it, or (VFS errors outside the passthrough path) by a kernel function and advice', () => {
    assertForEverySequence((_k, o, r) => {
      if (r === undefined || r.errno === null) return;
      const explained = r.explain.checks.length > 0 || ((r.explain.functions ?? []).length > 0 && r.explain.advice !== undefined);
      expect(explained, `${o.op} -> ${r.errno} ${JSON.stringify(r.explain)}`).toBe(true);
    });
  });

  it('no sequence throws: kernel answers are errnos, never exceptions', () => {
    // A throw in any step or in teardown makes fc.assert fail with the shrunk sequence.
    expect(() => assertForEverySequence(() => {}, (k) => k.teardown())).not.toThrow();
  });

  it('BID-9, OBS-9: fast-check FINDS a daemon pinning more backing files than RLIMIT_NOFILE, none in its fd table', () => {
    const RLIMIT = 8;
    // The claim a reviewer might expect to hold: "a daemon cannot pin more files than
    // RLIMIT_NOFILE". It is false: registrations hold struct files, not fds (BID-9).
    const claim = fc.property(fc.array(fc.constantFrom<PinStep>('open+register', 'close-fd', 'noop'), { minLength: 1, maxLength: 60, size: 'max' }), (script) => {
      const k = fresh(RLIMIT);
      playPinScript(k, script);
      const h = k.hidden();
      return h.backings.length <= RLIMIT;
    });
    const out = fc.check(claim, params(500));
    expect(out.failed).toBe(true);
    // Replay the counterexample and show the concern: more pins than the limit, all invisible.
    const script = (out.counterexample as [PinStep[]] | null)?.[0] ?? [];
    const k = fresh(RLIMIT);
    playPinScript(k, script);
    for (const fd of [...k.state.daemonFds.keys()]) k.daemon.close(fd);
    const h = k.hidden();
    expect(h.backings.length).toBeGreaterThan(RLIMIT);
    expect(h.pinnedInvisible).toBe(h.backings.length);
    expect(k.observe('fdTableHasFile', { file: 'b' }).value).toBe('no');
    console.log(`BID-9 counterexample (seed ${out.seed}): ${h.backings.length} files pinned with RLIMIT_NOFILE ${RLIMIT}, ${h.daemonOpenFds} fds open`);
  });
});
