// The model's replay of an open a daemon answered (check/model.ts): the deciding check for the
// answers kernel-spec.md gives a known outcome, without a kernel.
import { describe, expect, it } from 'vitest';
import { modelOpen, type OpenQuestion } from './model.ts';

const INIT = { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 };
const pt = (id: number, ...more: string[]) => ({ openFlags: ['PASSTHROUGH', ...more], extraBits: 0, backingId: id });
const q = (o: Partial<OpenQuestion>): OpenQuestion => ({ init: INIT, earlier: [], reply: pt(1), openFlags: ['O_RDONLY'], registered: new Set([1]), ...o });

describe('model.ts: the model replays what the daemon answered', () => {
  it('a passthrough open with a registered id succeeds (OPEN-14)', () => {
    expect(modelOpen(q({})).errno).toBeNull();
  });
  it('FOPEN_PASSTHROUGH with KEEP_CACHE: EIO decided by OPEN-9, hidden EINVAL', () => {
    expect(modelOpen(q({ reply: pt(1, 'KEEP_CACHE') }))).toMatchObject({ errno: 'EIO', decidedBy: 'OPEN-9', cause: 'EINVAL' });
  });
  it('an id that is not registered: OPEN-12, hidden ENOENT', () => {
    expect(modelOpen(q({ reply: pt(5), registered: new Set([1]) }))).toMatchObject({ errno: 'EIO', decidedBy: 'OPEN-12', cause: 'ENOENT' });
  });
  it('a second backing id for an inode open in passthrough mode: IOM-7, hidden EBUSY', () => {
    expect(modelOpen(q({ earlier: [pt(1)], reply: pt(2), registered: new Set([1, 2]) }))).toMatchObject({ errno: 'EIO', decidedBy: 'IOM-7', cause: 'EBUSY' });
  });
  it('a non-passthrough open of an inode open in passthrough mode: IOM-2, hidden EINVAL', () => {
    expect(modelOpen(q({ earlier: [pt(1)], reply: { openFlags: ['KEEP_CACHE'], extraBits: 0, backingId: 0 } }))).toMatchObject({ errno: 'EIO', decidedBy: 'IOM-2', cause: 'EINVAL' });
  });
  it('with WRITEBACK_CACHE in the INIT reply passthrough is off (INIT-9), and a passthrough reply fails: OPEN-8, hidden EINVAL', () => {
    expect(modelOpen(q({ init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'WRITEBACK_CACHE'], maxStackDepth: 1 } }))).toMatchObject({ errno: 'EIO', decidedBy: 'OPEN-8', cause: 'EINVAL' });
  });
});
