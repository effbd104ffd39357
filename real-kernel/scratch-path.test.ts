// Names from a case never reach outside the case's scratch area on the kernel target, even when
// a case bypasses the loader's name check (library callers, generated cases): entryPath is the
// defence in depth, and the kernel target refuses such a case as a setup fault that leaves the
// host untouched.
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Case } from '../spec/case.ts';
import { entryPath } from './child/scratch-path.ts';
import { kernelGate, play } from './test-support.ts';

describe('entryPath: one entry of its directory, or refused', () => {
  it('joins a plain name', () => {
    expect(entryPath('/scratch/w/mnt', 'data')).toBe('/scratch/w/mnt/data');
    expect(entryPath('/scratch/w/mnt/', 'a..b')).toBe('/scratch/w/mnt/a..b');
  });
  for (const name of ['../x', '../../../../tmp/x', 'a/b', '/etc/passwd', '..', '.', '', 'a\0b', 'x'.repeat(256)]) {
    it(`refuses ${JSON.stringify(name).slice(0, 40)}`, () => {
      expect(() => entryPath('/scratch/w/mnt', name)).toThrow(/refusing case name/);
    });
  }
});

const gate = await kernelGate();

describe.skipIf(gate.reason !== null && !gate.required)('kernel target: a case that names a path outside its scratch area', () => {
  afterAll(async () => {
    await gate.target.dispose?.();
  });
  // A fresh name per run: an earlier escape would otherwise make this test pass or fail for the
  // wrong reason.
  const tag = `fusepass-escape-${process.pid}-${randomBytes(4).toString('hex')}`;
  const outside = (what: string) => `/tmp/${tag}-${what}`;
  const escape = (what: string) => `../../../../../../..${outside(what)}`;

  it('is available (FUSEPASS_REQUIRE_KERNEL=1)', () => {
    expect(gate.reason).toBeNull();
  });

  for (const on of ['disk', 'tmpfs', 'overlay', 'roBind'] as const) {
    it(`a world file on ${on}: setup fault, nothing created outside`, async () => {
      const kase: Case = {
        id: 'escape',
        title: 'escape',
        checks: [],
        world: { files: { [escape(on)]: { on, content: 'pwned' } } },
        steps: [{ op: 'devOpen', as: 'dev' }],
      };
      const played = await play(gate.target, kase);
      expect(played.steps[0]!.fault?.kind).toBe('setup');
      expect(played.steps[0]!.fault?.message).toContain('refusing case name');
      expect(fs.existsSync(outside(on))).toBe(false);
    });
  }

  it('a node created with open O_CREAT: the step faults, nothing created outside', async () => {
    const kase: Case = {
      id: 'escape-node',
      title: 'escape',
      checks: [],
      world: {},
      steps: [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: escape('node'), flags: ['O_CREAT', 'O_RDWR'], as: 'f' }],
    };
    const played = await play(gate.target, kase);
    expect(played.steps[2]!.fault?.message).toContain('refusing case name');
    expect(fs.existsSync(outside('node'))).toBe(false);
  });
});
