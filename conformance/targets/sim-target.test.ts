// The sim target plays case steps on the model and tears down in the documented order.
import { describe, expect, it } from 'vitest';
import type { Case } from '../../spec/case.ts';
import { createSimTarget } from './sim-target.ts';

const kase: Case = {
  id: 'sim-target-smoke',
  title: 'register, PT open, read, close, teardown',
  checks: ['BOPEN-13', 'OPEN-14', 'IO-1', 'LIFE-23'],
  world: { files: { b: { on: 'disk' } }, nodes: { n: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } } },
  steps: [
    { op: 'devOpen', as: 'dev' },
    { op: 'mount', dev: 'dev' },
    { op: 'daemonOpen', file: 'b', mode: 'rdonly', as: 'bf' },
    { op: 'backingOpen', dev: 'dev', fd: 'bf', as: 'b1' },
    { op: 'daemonClose', fd: 'bf' },
    { op: 'open', node: 'n', flags: ['O_RDONLY'], as: 'f' },
    { op: 'read', fd: 'f', length: 10, offset: 0 },
  ],
};

describe('sim target', () => {
  it('BOPEN-13, OPEN-14, IO-1: plays the steps into canonical observations with explanations', async () => {
    const t = createSimTarget();
    expect(await t.unavailable()).toBeNull();
    expect(await t.info()).toEqual({ name: 'sim', profile: '6.18', kernelRelease: null });
    const s = await t.start(kase);
    const obs = [];
    for (const [i, step] of kase.steps.entries()) obs.push(await s.apply(step, i));
    expect(obs[1]).toMatchObject({ errno: null, value: '7.45 offers:INIT_EXT,PASSTHROUGH', requests: ['INIT'] });
    expect(obs[3]).toMatchObject({ errno: null, value: 1 });
    expect(obs[5]).toMatchObject({ errno: null, requests: ['OPEN'], events: ['b:open'] });
    expect(obs[6]).toMatchObject({ errno: null, value: 'B*10', requests: [] });
    expect(obs[6]?.explain?.checks).toContain('IO-1');
  });

  it('LIFE-23: finish() closes client fds, umounts, closes daemon and /dev/fuse fds, and reports the releases', async () => {
    const s = await createSimTarget().start(kase);
    for (const [i, step] of kase.steps.entries()) await s.apply(step, i);
    const fin = await s.finish();
    expect(fin.errno).toBeNull();
    expect(fin.requests).toEqual(['FLUSH', 'RELEASE']);
    // The per-open file at close, then the registered file when the connection is freed.
    expect(fin.events).toEqual(['b:close_nowrite']);
    expect(fin.explain?.checks).toContain('LIFE-23');
  });

  it('OPEN-8: plays on the nopt profile', async () => {
    const s = await createSimTarget({ profile: 'nopt' }).start(kase);
    for (const [i, step] of kase.steps.slice(0, 4).entries()) await s.apply(step, i);
    const r = await s.apply({ op: 'backingOpen', dev: 'dev', fd: 'bf' }, 4);
    expect(r.errno).toBe('EOPNOTSUPP');
  });

  it('DEV-5: a fault, not a thrown error, when a step cannot complete', async () => {
    const s = await createSimTarget().start(kase);
    await s.apply({ op: 'devOpen', as: 'd' }, 0);
    await s.apply({ op: 'syncInit', dev: 'd' }, 1);
    const r = await s.apply({ op: 'backingOpen', dev: 'd', fd: -1 }, 2);
    expect(r.fault?.kind).toBe('timeout');
    expect((await s.finish()).errno).toBeNull();
  });
});
