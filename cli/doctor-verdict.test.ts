// The doctor's verdict from given facts and probe answers (no kernel needed). Expectations from
// the spec: BOPEN-5 (CAP_SYS_ADMIN in the initial user namespace), INIT-1/BOPEN-2 (the INIT offer),
// BOPEN-10 with STACK-3/4/5/11 (depth < max_stack_depth, msd at most 2, INIT-8), STACK-1/STACK-2
// (a FUSE mount has depth msd; overlayfs over it needs msd + 1 <= 2).
import { describe, expect, it } from 'vitest';
import type { DirFacts, MachineFacts } from '../real-kernel/doctor/machine.ts';
import type { ProbeResult } from '../real-kernel/doctor/types.ts';
import { diagnose, formatDiagnosis } from './doctor-verdict.ts';

const root: MachineFacts = {
  release: '6.18.0-test',
  devFuse: { present: true, usable: true, detail: 'character device 10:229' },
  uid: 0,
  capSysAdmin: true,
  initialUserns: true,
  uidMap: '0 0 4294967295',
  container: [],
};
const offered = { major: 7, minor: 45, initExt: true, passthrough: true };
const disk: DirFacts = { path: '/data', exists: true, fsType: 'ext4', mountPoint: '/' };
const overlay: DirFacts = { path: '/merged', exists: true, fsType: 'overlay', mountPoint: '/merged', overlayLowers: ['/l'] };

function probe(r1: string | null, r2: string | null): ProbeResult {
  return {
    offered,
    file: { path: '/x/f', created: false },
    registrations: [
      { msd: 1, errno: r1, ...(r1 === null ? { id: 1 } : {}), overlayOnTop: null },
      { msd: 2, errno: r2, ...(r2 === null ? { id: 1 } : {}), overlayOnTop: 'EINVAL' },
    ],
  };
}

describe('doctor verdict', () => {
  it('STACK-3: a depth-0 directory works with max_stack_depth 1 and the mount can sit under overlayfs (STACK-2)', () => {
    const d = diagnose(root, probe(null, null), disk);
    expect(d).toMatchObject({ works: true, depth: 0, maxStackDepth: 1, underOverlay: true });
    expect(d.verdict).toBe('passthrough will work for backing files under /data with max_stack_depth 1; the FUSE mount can sit under overlayfs.');
    expect(d.checks).toEqual(expect.arrayContaining(['INIT-1', 'BOPEN-10', 'STACK-3', 'STACK-2']));
  });

  it('STACK-4/5: overlayfs backing files need max_stack_depth 2, and then overlayfs cannot go on top (STACK-2)', () => {
    const d = diagnose(root, probe('ELOOP', null), overlay);
    expect(d).toMatchObject({ works: true, depth: 1, maxStackDepth: 2, underOverlay: false });
    expect(d.verdict).toContain('with max_stack_depth 2');
    expect(d.verdict).toContain('overlayfs cannot be mounted over the FUSE mount (STACK-2)');
    expect(d.checks).toEqual(expect.arrayContaining(['STACK-4', 'STACK-5']));
  });

  it('BOPEN-10, INIT-8: depth 2 or more cannot work with any max_stack_depth', () => {
    const d = diagnose(root, probe('ELOOP', 'ELOOP'), { ...disk, fsType: 'fuse.inner' });
    expect(d.works).toBe(false);
    expect(d.depth).toBe('≥2');
    expect(d.verdict).toMatch(/^passthrough will not work for backing files under \/data, because .*ELOOP \(BOPEN-10\)/);
  });

  it('BOPEN-5: without CAP_SYS_ADMIN, or in a user namespace, it will not work', () => {
    const noCap = diagnose({ ...root, uid: 1000, capSysAdmin: false }, undefined);
    expect(noCap.works).toBe(false);
    expect(noCap.verdict).toContain('lacks CAP_SYS_ADMIN, so BACKING_OPEN gives EPERM (BOPEN-5)');
    const userns = diagnose({ ...root, initialUserns: false, uidMap: '0 1000 1' }, undefined);
    expect(userns.works).toBe(false);
    expect(userns.verdict).toContain('needs CAP_SYS_ADMIN in the initial one (BOPEN-5: EPERM)');
  });

  it('INIT-1, BOPEN-2: a kernel that does not offer FUSE_PASSTHROUGH', () => {
    const d = diagnose(root, { offered: { ...offered, passthrough: false, minor: 39 }, registrations: [] }, disk);
    expect(d.works).toBe(false);
    expect(d.verdict).toContain('does not offer FUSE_PASSTHROUGH in INIT');
    expect(d.checks).toEqual(expect.arrayContaining(['INIT-1', 'BOPEN-2']));
  });

  it('without a directory: the machine verdict with max_stack_depth 1', () => {
    const d = diagnose(root, { offered, registrations: [{ msd: 1, errno: null, overlayOnTop: null }] });
    expect(d.works).toBe(true);
    expect(d.verdict).toMatch(/^passthrough will work on this machine/);
  });

  it('a missing /dev/fuse or a failed probe is a clear "will not", marked in the listing', () => {
    const d = diagnose({ ...root, devFuse: { present: false, usable: false, detail: 'missing' } }, undefined, disk);
    expect(d.works).toBe(false);
    expect(d.verdict).toContain('no usable /dev/fuse');
    expect(formatDiagnosis(d, '/data').join('\n')).toMatch(/✗ \/dev\/fuse +missing/);
    const p = diagnose(root, { error: 'the probe did not finish', registrations: [] }, disk);
    expect(p.works).toBe(false);
    expect(p.verdict).toContain('the probe failed (the probe did not finish)');
  });
});
