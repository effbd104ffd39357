// `--target both` compares what a daemon author reads in the report (check/compare.ts). The
// invariant: two runs that showed the same thing have no divergence, and each thing that differs
// (a step's errno or value, how many requests of an opcode, a backing ioctl's result, a finding)
// is one divergence naming where it was and both sides.
import { describe, expect, it } from 'vitest';
import { CLOSE_AFTER_OPEN_REPLY, compareRuns, opCounts } from './compare.ts';
import type { CheckReport, Finding, TracedStep, Traffic } from './protocol.ts';

const traffic = (ops: string[], backing: Traffic['backing'] = []): Traffic => ({
  requests: ops.map((op, at) => ({ at, op, opcode: 0, unique: String(at), nodeid: '1', pid: 1 })),
  replies: [],
  backing,
  notes: [],
});
const step = (errno: string | null, value: string | null, t: Traffic): TracedStep => ({ step: { op: 'read', fd: 'a', length: 1 }, errno, value, traffic: t });
type Run = Pick<CheckReport, 'setup' | 'scenarios' | 'hung' | 'teardown' | 'findings'>;
const run = (steps: TracedStep[], findings: Finding[] = []): Run => ({
  setup: { t: 'setup', argv: [], problem: null, traffic: traffic(['INIT']) },
  scenarios: [{ id: 'read', title: 'read', steps }],
  hung: null,
  teardown: { t: 'teardown', umount: null, daemonExit: 'exited with status 0', traffic: traffic([]), log: '' },
  findings,
});

describe('compareRuns', () => {
  it('identical runs: no divergence, whatever the uniques and nodeids', () => {
    const a = run([step(null, 'a*4096', traffic(['LOOKUP', 'OPEN']))]);
    const b = run([step(null, 'a*4096', traffic(['OPEN', 'LOOKUP']))]);
    b.scenarios[0]!.steps[0]!.traffic.requests.forEach((q) => (q.nodeid = '99'));
    expect(compareRuns(a, b)).toEqual([]);
  });

  it('one divergence per thing that differs, naming the scenario, the step and both sides', () => {
    const bo = (result: number | string) => [{ at: 0, op: 'open' as const, seq: 1, tid: 1, fd: 5, target: '/s/data', flags: 0, result }];
    const k = run([step(null, 'a*4096', traffic(['OPEN', 'READ'], bo(1)))]);
    const s = run([step('EIO', null, traffic(['OPEN', 'READ', 'READ'], bo('EBADF')))]);
    expect(compareRuns(k, s)).toEqual([
      { where: 'read', step: 0, what: 'errno', kernel: '-', sim: 'EIO' },
      { where: 'read', step: 0, what: 'value', kernel: 'a*4096', sim: '-' },
      { where: 'read', step: 0, what: 'requests', kernel: 'OPEN READ', sim: 'OPEN READ×2' },
      { where: 'read', step: 0, what: 'backing', kernel: 'open=1', sim: 'open=EBADF' },
    ]);
  });

  it('findings match by level, scenario and a check the other names or explains; the rest diverge', () => {
    const f = (level: Finding['level'], checks: Finding['checks']): Finding => ({ level, checks, scenario: 'read', message: '' });
    const k = run([], [f('info', ['BOPEN-4']), f('error', ['OPEN-9'])]);
    const s = run([], [f('info', ['DEV-8', 'BOPEN-4', 'BID-7']), f('warn', ['OPEN-9'])]);
    expect(compareRuns(k, s)).toEqual([
      { where: 'findings', step: null, what: 'finding', kernel: 'error OPEN-9 (read)', sim: '-' },
      { where: 'findings', step: null, what: 'finding', kernel: '-', sim: 'warn OPEN-9 (read)' },
    ]);
  });

  it('a daemon that closes the id it just answered OPEN with races the kernel: what follows is explained, not counted', () => {
    const reply = { at: 1, op: 'OPEN', unique: '2', error: 0, open: { fh: '1', openFlags: ['PASSTHROUGH'], extraBits: 0, backingId: 1 } };
    const close = { at: 2, op: 'close' as const, seq: 1, tid: 1, id: 1, result: 0 };
    const simStep = step(null, null, { ...traffic(['OPEN']), replies: [reply], backing: [close] });
    const d = compareRuns(run([step('EIO', null, traffic(['OPEN', 'RELEASE']))]), run([simStep]));
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((x) => x.explainedBy === CLOSE_AFTER_OPEN_REPLY)).toBe(true);
  });

  it('opCounts lists opcodes by name with their counts', () => {
    expect(opCounts([traffic(['READ', 'OPEN', 'READ']), traffic(['FLUSH'])])).toBe('FLUSH OPEN READ×2');
  });
});
