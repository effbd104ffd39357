// Differences the differential fuzzer found that were the kernel harness's fault, not the
// kernel's: each case here failed on the kernel target before its fix. Expectations come from
// kernel-spec.md (ids in the titles) and fixtures/world.ts (default contents).
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
});
