// The backing world: stack depths per filesystem kind (kernel-spec §12).
import { describe, expect, it } from 'vitest';
import { overlayStackDepth, buildBackingWorld } from './build.ts';
import { Vfs } from './vfs.ts';

const sb = (stackDepth: number) => ({ kind: 'disk' as const, stackDepth, hasMmap: true, directIo: true });

describe('stack depth rules', () => {
  it('STACK-2: overlayfs takes max(layer depth) + 1 and fails with EINVAL above 2', () => {
    expect(overlayStackDepth([sb(0)])).toBe(1);
    expect(overlayStackDepth([sb(0), sb(1)])).toBe(2);
    expect(overlayStackDepth([sb(2)])).toBe('EINVAL');
  });

  it('STACK-1, STACK-3, STACK-7: world filesystems get the depths of kernel-spec §12', () => {
    const vfs = new Vfs();
    const w = buildBackingWorld(vfs, {}, { sb: { kind: 'fuseUnderTest', stackDepth: 0, hasMmap: true, directIo: true }, readOnly: false });
    expect(w.mounts.disk.sb.stackDepth).toBe(0);
    expect(w.mounts.tmpfs.sb.stackDepth).toBe(0);
    expect(w.mounts.overlay.sb.stackDepth).toBe(1);
    expect(w.mounts.overlayOverFuse.sb.stackDepth).toBe(1);
    expect(w.mounts.fuse.sb.stackDepth).toBe(0);
    expect(w.mounts.fusePt1.sb.stackDepth).toBe(1);
    expect(w.mounts.fusePt2.sb.stackDepth).toBe(2);
    expect(w.mounts.roBind.readOnly).toBe(true);
  });
});
