// Differences the differential fuzzer found that were the kernel harness's fault, not the
// kernel's: each case here failed on the kernel target before its fix. Expectations come from
// kernel-spec.md (ids in the titles) and fixtures/world.ts (default contents).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Case } from '../spec/case.ts';
import { kernelGate, mismatches, play } from './test-support.ts';

const gate = await kernelGate();

if (gate.reason && gate.required) {
  describe('kernel harness artifacts', () => {
    it('runs on this machine (FUSEPASS_REQUIRE_KERNEL=1)', () => {
      expect.fail(`kernel target unavailable: ${gate.reason}`);
    });
  });
}

const PT_DISK: Case['world'] = {
  files: { b1: { on: 'disk' } },
  nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } },
};

const REGISTERED: Case['steps'] = [
  { op: 'devOpen', as: 'dev' },
  { op: 'mount', dev: 'dev' },
  { op: 'daemonOpen', file: 'b1', mode: 'rdwr', as: 'bf1' },
  { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', expect: { errno: null, value: 1 } },
];

describe.skipIf(gate.reason !== null)('kernel harness artifacts', () => {
  afterAll(async () => {
    await gate.target.dispose?.();
  });

  it('PTF-2, IO-1: O_DIRECT passthrough read(2), pread(2) and pwrite(2) of whole blocks succeed (the harness buffer is block-aligned)', async () => {
    const kase: Case = {
      id: 'artifact-odirect-aligned-buffers',
      title: 'O_DIRECT passthrough I/O with block-sized lengths',
      checks: ['PTF-2', 'IO-1'],
      world: PT_DISK,
      steps: [
        ...REGISTERED,
        { op: 'open', node: 'f1', as: 'f', flags: ['O_RDWR', 'O_DIRECT'], expect: { errno: null } },
        // The backing file is 4096 × 'B' (fixtures/world.ts); the reads go to it.
        { op: 'read', fd: 'f', length: 4096, expect: { errno: null, value: 'B*4096', requests: [] } },
        { op: 'read', fd: 'f', length: 8192, offset: 0, expect: { errno: null, value: 'B*4096', requests: [] } },
        { op: 'read', fd: 'f', length: 512, offset: 512, expect: { errno: null, value: 'B*512', requests: [] } },
        { op: 'write', fd: 'f', data: 'w'.repeat(4096), offset: 0, expect: { errno: null, value: 4096 } },
        { op: 'inspectBacking', file: 'b1', expect: { errno: null, value: 'w*4096' } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });

  it('OBS-5, OBS-6: fusectl observed after umount is ENOENT (the connection directory is gone), not a crash', async () => {
    const kase: Case = {
      id: 'artifact-fusectl-after-umount',
      title: 'observe fusectl before and after umount',
      checks: ['OBS-5', 'OBS-6'],
      world: {},
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev' },
        { op: 'observe', what: 'fusectlEntries', expect: { errno: null, value: 'abort,congestion_threshold,max_background,waiting' } },
        { op: 'umount', expect: { errno: null } },
        { op: 'observe', what: 'fusectlEntries', expect: { errno: 'ENOENT', value: null } },
        { op: 'observe', what: 'fusectlWaiting', expect: { errno: 'ENOENT', value: null } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });

  it('IO-11: a load past the end of a mapped file is a SIGBUS crash fault of the step; the case goes on', async () => {
    const kase: Case = {
      id: 'artifact-mapread-past-eof',
      title: 'loads and stores on PT and cached mappings beyond EOF and on a read-only mapping',
      checks: ['IO-11'],
      world: { files: { b1: { on: 'disk' } }, nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } }, c1: {} } },
      steps: [
        ...REGISTERED,
        { op: 'open', node: 'f1', as: 'f', flags: ['O_RDWR'], expect: { errno: null } },
        { op: 'mmap', fd: 'f', as: 'm', shared: true, write: true, length: 8192, expect: { errno: null } },
        // 4096 bytes of 'B' (fixtures/world.ts): the second page is wholly past EOF.
        { op: 'mapRead', map: 'm', length: 16, offset: 4096 },
        { op: 'mapRead', map: 'm', length: 8, offset: 4090 },
        { op: 'mapRead', map: 'm', length: 4, offset: 0, expect: { errno: null, value: 'B*4' } },
        { op: 'mapWrite', map: 'm', data: 'xy', offset: 4096 },
        { op: 'mapWrite', map: 'm', data: 'xx', offset: 0, expect: { errno: null } },
        { op: 'inspectBacking', file: 'b1', length: 3, expect: { errno: null, value: 'x*2+B*1' } },
        // A file of the mount without passthrough: the daemon's 4096 × 'D', through the page cache.
        { op: 'open', node: 'c1', as: 'c', expect: { errno: null } },
        { op: 'mmap', fd: 'c', as: 'mc', shared: false, length: 8192, expect: { errno: null } },
        { op: 'mapRead', map: 'mc', length: 1, offset: 4096 },
        { op: 'mapRead', map: 'mc', length: 2, offset: 0, expect: { errno: null, value: 'D*2' } },
        { op: 'mapWrite', map: 'mc', data: 'z', offset: 0 },
      ],
    };
    const played = await play(gate.target, kase);
    expect(mismatches(kase, played).filter((m) => !/^step (6|7|9|14|16) \(map(Read|Write)\): fault crash/.test(m))).toEqual([]);
    const faults = played.steps.map((o) => o.fault?.message ?? null);
    expect(faults[6]).toMatch(/^SIGBUS/);
    expect(faults[7]).toMatch(/^SIGBUS/);
    expect(faults[9]).toMatch(/^SIGBUS/);
    expect(faults[14]).toMatch(/^SIGBUS/);
    expect(faults[16]).toMatch(/SIGSEGV/);
    expect(played.finish.fault).toBeUndefined();
  });

  it('DEV-5: BACKING_CLOSE on a SYNC_INIT fd not yet mounted sleeps; interruptAfterMs ends it with EINTR', async () => {
    const kase: Case = {
      id: 'artifact-backing-close-interrupted',
      title: 'backingClose with interruptAfterMs on a SYNC_INIT-marked fd',
      checks: ['DEV-5'],
      world: {},
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'syncInit', dev: 'dev', expect: { errno: null } },
        { op: 'backingClose', dev: 'dev', id: 1, interruptAfterMs: 200, expect: { errno: 'EINTR', requests: [] } },
        // The fd still works afterwards: a mount attaches it and the ioctl answers (BCLOSE-7).
        { op: 'mount', dev: 'dev', expect: { errno: null } },
        { op: 'backingClose', dev: 'dev', id: 1, interruptAfterMs: 200, expect: { errno: 'ENOENT' } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });

  it('BOPEN-5, BCLOSE-5: cred userns ioctls with FUSE files open send the daemon nothing (no FLUSH from a helper closing copies)', async () => {
    const kase: Case = {
      id: 'artifact-userns-no-flush',
      title: 'userns BACKING_OPEN/CLOSE while a client fd and a daemon fd on the mount are open',
      checks: ['BOPEN-5', 'BCLOSE-5'],
      world: { files: { b1: { on: 'disk' }, s1: { on: 'self' } }, nodes: { c1: {} } },
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev', init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2 } },
        { op: 'open', node: 'c1', as: 'c', expect: { errno: null, requests: ['OPEN'] } },
        { op: 'daemonOpen', file: 's1', mode: 'rdonly', as: 'sf', expect: { errno: null } },
        { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1', expect: { errno: null } },
        { op: 'backingOpen', dev: 'dev', fd: 'bf1', cred: 'userns', expect: { errno: 'EPERM', requests: [], events: [] } },
        { op: 'backingOpen', dev: 'dev', fd: 'sf', cred: 'userns', expect: { errno: 'EPERM', requests: [], events: [] } },
        { op: 'backingClose', dev: 'dev', id: 1, cred: 'userns', expect: { errno: 'EPERM', requests: [], events: [] } },
        // Root still registers: the server took nothing away from the case's fds.
        { op: 'backingOpen', dev: 'dev', fd: 'bf1', expect: { errno: null, value: 1, requests: [] } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });

  it('PTF-2, STACK-5: an overlay backing file copied up by a writable open is still on the disk filesystem (O_DIRECT needs block alignment)', async () => {
    const kase: Case = {
      id: 'artifact-overlay-upper-on-disk',
      title: 'O_DIRECT PT I/O on a copied-up overlay backing file',
      checks: ['PTF-2', 'STACK-5'],
      world: { files: { b1: { on: 'overlay' } }, nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } } },
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev', init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2 } },
        { op: 'daemonOpen', file: 'b1', mode: 'rdwr', as: 'bf1' },
        { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', expect: { errno: null, value: 1 } },
        { op: 'open', node: 'f1', as: 'f', flags: ['O_RDWR', 'O_DIRECT'], expect: { errno: null } },
        { op: 'read', fd: 'f', length: 512, offset: 0, expect: { errno: null, value: 'B*512' } },
        // fixtures/world.ts: overlayfs over the disk filesystem; a disk file's O_DIRECT I/O must be block-aligned.
        { op: 'read', fd: 'f', length: 100, offset: 0, expect: { errno: 'EINVAL' } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });

  it('LIFE-20: after the connection ends, an O_PATH open of a name on the mount never looked up fails with ENOTCONN (the harness looks up nothing early)', async () => {
    const kase: Case = {
      id: 'artifact-no-early-lookup-of-self-files',
      title: 'O_PATH open of a self file after the last /dev/fuse fd closed',
      checks: ['LIFE-20'],
      world: { files: { s1: { on: 'self' } } },
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev', expect: { errno: null, requests: ['INIT'] } },
        { op: 'devClose', dev: 'dev', expect: { errno: null } },
        { op: 'daemonOpen', file: 's1', mode: 'path', as: 'p', expect: { errno: 'ENOTCONN', requests: [] } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });

  it('OBS-7: opens of a self file still show as open/close events of that file', async () => {
    const kase: Case = {
      id: 'artifact-self-file-events',
      title: 'events of a self file watched on first use',
      checks: ['OBS-7'],
      world: { files: { s1: { on: 'self' } } },
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev' },
        { op: 'daemonOpen', file: 's1', mode: 'rdonly', as: 'a', expect: { errno: null, requests: ['OPEN'], events: ['s1:open'] } },
        { op: 'daemonClose', fd: 'a', expect: { errno: null, requests: ['FLUSH', 'RELEASE'], events: ['s1:close_nowrite'] } },
        { op: 'open', node: 's1', as: 'c', expect: { errno: null, requests: ['OPEN'], events: ['s1:open'] } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });

  it('LIFE-19, OBS-5: after umount an abort step is ENOENT and leaves alone the connection that reused the number', async () => {
    const kase: Case = {
      id: 'artifact-abort-reused-connection-number',
      title: 'abort after umount while another FUSE mount holds the freed connection number',
      checks: ['LIFE-19', 'OBS-5'],
      world: {},
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev' },
        { op: 'umount', expect: { errno: null } },
        { op: 'abort', expect: { errno: 'ENOENT' } },
        { op: 'observe', what: 'fusectlEntries', expect: { errno: 'ENOENT' } },
      ],
    };
    const session = await gate.target.start(kase);
    const obs = [];
    for (const [i, step] of kase.steps.entries()) {
      // Between umount and abort, a FUSE mount elsewhere (its own mount namespace; its INIT is
      // never answered) takes the lowest free connection number: most likely the one just freed.
      if (step.op === 'abort') await other.start();
      obs.push(await session.apply(step, i));
    }
    await session.finish();
    const otherAborted = await other.aborted();
    expect(mismatches(kase, { steps: obs, finish: obs[0]! })).toEqual([]);
    expect(otherAborted).toBe(false);
  });
});

describe.skipIf(gate.reason !== null)('kernel harness artifacts with several /dev/fuse fds', () => {
  it('DEV-9: after the mounting fd closes, its clone serves the connection (not another, unmounted /dev/fuse fd)', async () => {
    const kase: Case = {
      id: 'artifact-clone-takes-over-serving',
      title: 'devClose of the mounting fd with a clone and a fresh fd open',
      checks: ['DEV-9'],
      world: { nodes: { c1: {} } },
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'devOpen', as: 'fresh' },
        { op: 'mount', dev: 'dev', expect: { errno: null } },
        { op: 'devClone', dev: 'dev', as: 'cl', expect: { errno: null } },
        { op: 'devClose', dev: 'dev', expect: { errno: null } },
        // The daemon content is 4096 × 'D' (fixtures/world.ts).
        { op: 'open', node: 'c1', as: 'c', expect: { errno: null, requests: ['OPEN'] } },
        { op: 'read', fd: 'c', length: 5, expect: { errno: null, value: 'D*5', requests: ['READ'] } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });
});

describe.skipIf(gate.reason !== null)('kernel harness artifacts after a lazy umount', () => {
  it('OBS-4, OBS-9: mappings and daemon fds of a lazily unmounted FUSE file are still shown as the FUSE file', async () => {
    const kase: Case = {
      id: 'artifact-observe-after-lazy-umount',
      title: 'mapsPath and fdTableHasFile after umount -l',
      checks: ['OBS-4', 'OBS-9'],
      world: { files: { b1: { on: 'disk' }, s1: { on: 'self' } }, nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } }, c1: {} } },
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev', init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2 } },
        { op: 'daemonOpen', file: 'b1', mode: 'rdwr', as: 'bf1' },
        { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', expect: { errno: null, value: 1 } },
        { op: 'daemonOpen', file: 's1', mode: 'rdonly', as: 'sf', expect: { errno: null } },
        { op: 'open', node: 'f1', as: 'f', flags: ['O_RDWR'], expect: { errno: null } },
        { op: 'mmap', fd: 'f', as: 'm', shared: true, length: 4096, expect: { errno: null } },
        { op: 'open', node: 'c1', as: 'c', flags: ['O_RDWR'], expect: { errno: null } },
        { op: 'mmap', fd: 'c', as: 'mc', shared: true, length: 4096, expect: { errno: null } },
        { op: 'umount', lazy: true, expect: { errno: null } },
        { op: 'observe', what: 'mapsPath', map: 'm', expect: { errno: null, value: 'fuse' } },
        { op: 'observe', what: 'mapsPath', map: 'mc', expect: { errno: null, value: 'fuse' } },
        { op: 'observe', what: 'fdTableHasFile', file: 's1', expect: { errno: null, value: 'yes' } },
      ],
    };
    expect(mismatches(kase, await play(gate.target, kase))).toEqual([]);
  });
});

/**
 * A FUSE mount outside the case: in a private mount namespace of its own, INIT never answered.
 * Aborted, a stat of it fails at once (ENOTCONN); alive, the stat waits for INIT until killed.
 */
const other = {
  proc: null as ChildProcess | null,
  async start(): Promise<void> {
    // Four mounts take the four lowest free numbers: one is almost surely the case's.
    const script = [
      'for i in 3 4 5 6; do eval "exec $i<>/dev/fuse"; d=$(mktemp -d); mount -i -t fuse -o fd=$i,rootmode=40000,user_id=0,group_id=0 other "$d" || exit 1; set -- "$@" "$d"; done',
      'echo up; read x',
      'for d in "$@"; do (timeout -s KILL 1 stat "$d" >/dev/null 2>&1; echo "rc=$?") & done; wait',
    ].join('\n');
    const p = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.proc = p;
    await new Promise<void>((ok, fail) => {
      p.stdout!.once('data', () => ok());
      p.once('exit', () => fail(new Error('the other FUSE mount failed')));
    });
  },
  async aborted(): Promise<boolean> {
    const p = this.proc!;
    let out = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const done = new Promise<void>((ok) => p.once('exit', () => ok()));
    p.stdin!.end('go\n');
    await done;
    // 137: the stat was still waiting for INIT when killed, so the connection was not aborted.
    const rcs = out.split('\n').filter((l) => l.startsWith('rc='));
    return rcs.length !== 4 || rcs.some((l) => l !== 'rc=137');
  },
};
