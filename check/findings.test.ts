// The findings of `fusepass check` from hand-written traces, without a kernel: each trace is what
// the relay would see for a daemon making one known mistake, and the finding must name the check
// kernel-spec.md gives that mistake (the kernel tests hold the same rules to real daemons).
import { describe, expect, it } from 'vitest';
import type { ClientStep } from '../spec/case.ts';
import { analyze } from './findings.ts';
import type { ScenarioRun, SetupResult, TeardownResult, TracedBacking, TracedReply, TracedRequest, TracedStep, Traffic } from './protocol.ts';

/** Build a step's traffic in relay order: each item gets the next `at`. */
function traffic(...items: (Omit<TracedRequest, 'at'> | Omit<TracedReply, 'at'> | Omit<TracedBacking, 'at'> | { note: string })[]): Traffic {
  const t: Traffic = { requests: [], replies: [], backing: [], notes: [] };
  items.forEach((x, at) => {
    if ('note' in x) t.notes.push(x.note);
    else if ('seq' in x) t.backing.push({ ...x, at } as TracedBacking);
    else if ('error' in x) t.replies.push({ ...x, at } as TracedReply);
    else t.requests.push({ ...x, at } as TracedRequest);
  });
  return t;
}

const req = (op: string, unique: number, more: Partial<TracedRequest> = {}) => ({ op, opcode: 0, unique: String(unique), nodeid: '1', pid: 1, ...more });
const openReply = (unique: number, flags: string[], backingId: number, fh: number) => ({ op: 'OPEN', unique: String(unique), error: 0, open: { fh: String(fh), openFlags: flags, extraBits: 0, backingId } });
const lookup = (unique: number, nodeid: number) => ({ op: 'LOOKUP', unique: String(unique), error: 0, nodeid: String(nodeid) });
const bopen = (seq: number, result: number | string, answeredBy?: TracedBacking['answeredBy']) => ({ op: 'open' as const, seq, tid: 1, fd: 9, target: `/src/f${seq}`, flags: 0, result, ...(answeredBy ? { answeredBy } : {}) });
const bclose = (seq: number, id: number, result: number | string) => ({ op: 'close' as const, seq, tid: 1, id, result });

function setup(flags: string[], msd = 1): SetupResult {
  return {
    t: 'setup',
    argv: ['./d', '/dev/fd/4'],
    problem: null,
    traffic: traffic(req('INIT', 1, { init: { major: 7, minor: 45, flags: ['INIT_EXT', 'PASSTHROUGH'] } }), { op: 'INIT', unique: '1', error: 0, init: { major: 7, minor: 45, flags, maxStackDepth: msd, maxWrite: 131072 } }),
  };
}

const step = (s: ClientStep, errno: string | null, t: Traffic): TracedStep => ({ step: s, errno, value: null, traffic: t });
const open = (node: string, as: string): ClientStep => ({ op: 'open', node, flags: ['O_RDONLY'], as });
const teardown = (t: Traffic = traffic()): TeardownResult => ({ t: 'teardown', umount: null, daemonExit: 'exited with status 0', traffic: t, log: '' });
const run = (id: string, steps: TracedStep[]): ScenarioRun => ({ id, title: id, steps });

const PT = ['INIT_EXT', 'PASSTHROUGH'];

describe('check findings (check/findings.ts) on hand-written traces', () => {
  it('INIT-9: PASSTHROUGH asked together with WRITEBACK_CACHE is a warning (passthrough silently off)', () => {
    const f = analyze({ setup: setup([...PT, 'WRITEBACK_CACHE']), scenarios: [], hung: null, teardown: teardown() });
    expect(f.filter((x) => x.level === 'warn').map((x) => x.checks)).toEqual([['INIT-9']]);
  });

  it('INIT-8: max_stack_depth 3 leaves passthrough off, a warning', () => {
    const f = analyze({ setup: setup(PT, 3), scenarios: [], hung: null, teardown: teardown() });
    expect(f.filter((x) => x.level === 'warn').map((x) => x.checks)).toEqual([['INIT-8']]);
  });

  it('IOM-2: an open answered without FOPEN_PASSTHROUGH while the inode is open in passthrough mode is the EIO the application saw', () => {
    const scenario = run('reopen', [
      step(open('data', 'a'), null, traffic(req('LOOKUP', 2), lookup(2, 5), bopen(1, 1), req('OPEN', 3), openReply(3, ['PASSTHROUGH'], 1, 10))),
      step(open('data', 'b'), 'EIO', traffic(req('OPEN', 4), openReply(4, ['KEEP_CACHE'], 0, 11), req('RELEASE', 5, { fh: '11' }))),
    ]);
    const f = analyze({ setup: setup(PT), scenarios: [scenario], hung: null, teardown: teardown() });
    const errors = f.filter((x) => x.level === 'error');
    expect(errors.map((x) => [x.checks[0], x.scenario])).toEqual([['IOM-2', 'reopen']]);
    expect(errors[0]!.message).toContain('EINVAL');
  });

  it('OPEN-12: a reply naming an id the daemon closed before is an EIO (ENOENT)', () => {
    const scenario = run('closed-id', [
      step(open('data', 'a'), null, traffic(req('LOOKUP', 2), lookup(2, 5), bopen(1, 1), req('OPEN', 3), openReply(3, ['PASSTHROUGH'], 1, 10), bclose(1, 1, 0))),
      step({ op: 'close', fd: 'a' }, null, traffic(req('FLUSH', 4), req('RELEASE', 5, { fh: '10' }))),
      step(open('data', 'b'), 'EIO', traffic(req('OPEN', 6), openReply(6, ['PASSTHROUGH'], 1, 12), req('RELEASE', 7, { fh: '12' }))),
    ]);
    const f = analyze({ setup: setup(PT), scenarios: [scenario], hung: null, teardown: teardown() });
    expect(f.filter((x) => x.level === 'error').map((x) => x.checks[0])).toEqual(['OPEN-12']);
  });

  it('BCLOSE-7: closing an id twice is an error; an id never closed by teardown is a leak warning (LIFE-1)', () => {
    const scenario = run('ids', [
      step(open('data', 'a'), null, traffic(req('LOOKUP', 2), lookup(2, 5), bopen(1, 1), bopen(2, 2), req('OPEN', 3), openReply(3, ['PASSTHROUGH'], 1, 10))),
      step({ op: 'close', fd: 'a' }, null, traffic(req('RELEASE', 4, { fh: '10' }), bclose(1, 1, 0), bclose(2, 1, 'ENOENT'))),
    ]);
    const f = analyze({ setup: setup(PT), scenarios: [scenario], hung: null, teardown: teardown() });
    expect(f.filter((x) => x.level === 'error').map((x) => x.checks)).toEqual([['BCLOSE-7']]);
    expect(f.filter((x) => x.level === 'warn').map((x) => x.checks)).toEqual([['LIFE-1', 'LIFE-23']]);
  });

  it('a failed BACKING_OPEN followed by opens of other files without FOPEN_PASSTHROUGH is the mount-wide fallback warning', () => {
    const scenario = run('fallback', [
      step(open('data', 'a'), null, traffic(req('LOOKUP', 2), lookup(2, 5), bopen(1, 1), req('OPEN', 3), openReply(3, ['PASSTHROUGH'], 1, 10))),
      step(open('other', 'b'), null, traffic(req('LOOKUP', 4), lookup(4, 6), bopen(2, 'ELOOP', 'inject'), req('OPEN', 5), openReply(5, ['KEEP_CACHE'], 0, 11))),
      step({ op: 'close', fd: 'a' }, null, traffic(req('RELEASE', 6, { fh: '10' }), bclose(1, 1, 0))),
      step({ op: 'close', fd: 'b' }, null, traffic(req('RELEASE', 7, { fh: '11' }))),
    ]);
    const f = analyze({ setup: setup(PT), scenarios: [scenario], hung: null, teardown: teardown() });
    expect(f.find((x) => x.level === 'warn')?.message).toMatch(/mount-wide fallback/);
    expect(f.find((x) => x.checks[0] === 'BOPEN-10' && x.level === 'info')?.message).toContain('injected');
    expect(f.filter((x) => x.level === 'error')).toEqual([]);
  });

  it('passthrough negotiated but never used in any open is an error', () => {
    const scenario = run('plain', [step(open('data', 'a'), null, traffic(req('LOOKUP', 2), lookup(2, 5), req('OPEN', 3), openReply(3, ['KEEP_CACHE'], 0, 10)))]);
    const f = analyze({ setup: setup(PT), scenarios: [scenario], hung: null, teardown: teardown() });
    expect(f.filter((x) => x.level === 'error').map((x) => x.checks)).toEqual([['INIT-7', 'OPEN-14']]);
  });

  it('a READ of a file opened with FOPEN_PASSTHROUGH reaching the daemon is an error (IO-1)', () => {
    const scenario = run('leaky', [
      step(open('data', 'a'), null, traffic(req('LOOKUP', 2), lookup(2, 5), bopen(1, 1), req('OPEN', 3), openReply(3, ['PASSTHROUGH'], 1, 10))),
      step({ op: 'read', fd: 'a', length: 10 }, null, traffic(req('READ', 4, { fh: '10', offset: 0, size: 10 }))),
    ]);
    const f = analyze({ setup: setup(PT), scenarios: [scenario], hung: null, teardown: teardown() });
    expect(f.filter((x) => x.level === 'error').map((x) => x.checks)).toEqual([['IO-1']]);
  });
});
