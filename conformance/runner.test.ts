// The runner against a tiny scripted Target (not the sim): each test decides what the fake
// "kernel" or "sim" observes, so the runner's own logic is what is under test.
import { describe, expect, it } from 'vitest';
import type { Case, ProfileName, Step } from '../spec/case.ts';
import type { Observation } from '../spec/observation.ts';
import type { CaseSession, Target, TargetName } from '../spec/target.ts';
import { knownLabel, parseKnownDivergences, type KnownDivergence } from './known-divergences.ts';
import { playCase, runCase, type RunTarget } from './runner.ts';

type Script = (step: Step, index: number) => Observation | Promise<Observation>;

interface Calls {
  start: number;
  applied: number[];
  finish: number;
}

function ok(extra: Partial<Observation> = {}): Observation {
  return { errno: null, requests: [], events: [], ...extra };
}

function fakeTarget(name: TargetName, script: Script, opts: { profile?: ProfileName; startThrows?: boolean; finishThrows?: boolean } = {}): RunTarget & { calls: Calls } {
  const calls: Calls = { start: 0, applied: [], finish: 0 };
  const target: Target = {
    name,
    unavailable: async () => null,
    info: async () => ({ name, profile: opts.profile ?? '6.18', kernelRelease: name === 'kernel' ? '6.18.44' : null }),
    start: async (): Promise<CaseSession> => {
      calls.start++;
      if (opts.startThrows) throw new Error('cannot build world');
      return {
        apply: async (step, index) => {
          calls.applied.push(index);
          return script(step, index);
        },
        finish: async () => {
          calls.finish++;
          if (opts.finishThrows) throw new Error('teardown exploded');
          return ok({ events: ['data:close_nowrite'] });
        },
      };
    },
  };
  return { target, info: { name, profile: opts.profile ?? '6.18', kernelRelease: name === 'kernel' ? '6.18.44' : null }, calls };
}

const threeSteps: Step[] = [
  { op: 'devOpen', as: 'dev' },
  { op: 'mount', dev: 'dev' },
  { op: 'backingOpen', dev: 'dev', fd: -1, expect: { errno: 'EBADF' } },
];

function makeCase(steps: Step[] = threeSteps, extra: Partial<Case> = {}): Case {
  return { id: 'fake-case', title: 'fake', checks: ['BOPEN-7'], world: {}, steps, ...extra };
}

const loaded = (kase: Case) => ({ case: kase, file: 'conformance/cases/fake-case.json' });

/** What a correct kernel answers for `threeSteps` (BOPEN-7: a closed fd number gives EBADF). */
const correct: Script = (_s, i) => (i === 2 ? ok({ errno: 'EBADF', explain: { checks: ['BOPEN-7'] } }) : ok());

describe('runner: expectations', () => {
  it('passes when every expected field matches', async () => {
    const t = fakeTarget('kernel', correct);
    const run = await playCase(makeCase(), t);
    expect(run.status).toBe('passed');
    expect(run.steps.map((s) => s.op)).toEqual(['devOpen', 'mount', 'backingOpen', 'finish']);
  });

  it('fails with a message naming field, expected and observed values', async () => {
    const t = fakeTarget('kernel', (_s, i) => (i === 2 ? ok({ errno: 'EPERM' }) : ok()));
    const r = await runCase(loaded(makeCase()), [t]);
    expect(r.status).toBe('failed');
    expect(r.failures).toEqual(['[kernel] step 2 (backingOpen): errno: expected EBADF, got EPERM']);
  });

  it('checks value, requests and events, and treats an absent value as null', async () => {
    const steps: Step[] = [{ op: 'read', fd: 'f1', length: 3, expect: { value: 'B*3', requests: ['GETATTR'], events: [] } }, { op: 'close', fd: 'f1', expect: { value: null } }];
    const t = fakeTarget('kernel', (_s, i) => (i === 0 ? ok({ value: 'D*3', requests: ['READ'], events: ['data:open'] }) : ok()));
    const r = await runCase(loaded(makeCase(steps)), [t]);
    expect(r.failures).toEqual([
      '[kernel] step 0 (read): value: expected "B*3", got "D*3"',
      '[kernel] step 0 (read): requests: expected [GETATTR], got [READ]',
      '[kernel] step 0 (read): events: expected [], got [data:open]',
    ]);
  });

  it('an expected internal cause is checked on the sim only (the kernel hides it behind EIO)', async () => {
    const steps: Step[] = [{ op: 'open', node: 'a', as: 'f1', expect: { errno: 'EIO', cause: 'EBUSY' } }];
    const answer = ok({ errno: 'EIO', explain: { checks: [], cause: 'ETXTBSY' } });
    const onKernel = await runCase(loaded(makeCase(steps)), [fakeTarget('kernel', () => answer)]);
    expect(onKernel.status).toBe('passed');
    const onSim = await runCase(loaded(makeCase(steps)), [fakeTarget('sim', () => answer)]);
    expect(onSim.failures).toEqual(['[sim] step 0 (open): cause: expected EBUSY, got ETXTBSY']);
  });

  it("a step's checks must appear in the sim's explanation (not asked of the kernel)", async () => {
    const steps: Step[] = [{ op: 'backingOpen', dev: 'dev', fd: -1, checks: ['BOPEN-7', 'BOPEN-1'] }];
    const answer = ok({ errno: 'EBADF', explain: { checks: ['BOPEN-1', 'BOPEN-3', 'BOPEN-7'] } });
    expect((await runCase(loaded(makeCase(steps)), [fakeTarget('sim', () => answer)])).status).toBe('passed');
    const thin = ok({ errno: 'EBADF', explain: { checks: ['BOPEN-1'] } });
    const r = await runCase(loaded(makeCase(steps)), [fakeTarget('sim', () => thin)]);
    expect(r.failures).toEqual([expect.stringMatching(/^\[sim\] step 0 \(backingOpen\): checks: .*does not pass through BOPEN-7 /)]);
    expect((await runCase(loaded(makeCase(steps)), [fakeTarget('kernel', () => ok({ errno: 'EBADF' }))])).status).toBe('passed');
  });
});

describe('runner: differential comparison', () => {
  it('same observations on both targets: no divergence, explain never compared', async () => {
    const sim = fakeTarget('sim', correct);
    const kernel = fakeTarget('kernel', (_s, i) => (i === 2 ? ok({ errno: 'EBADF', explain: { checks: ['INIT-1'], advice: 'other' } }) : ok()));
    const r = await runCase(loaded(makeCase()), [sim, kernel]);
    expect(r.divergences).toEqual([]);
    expect(r.status).toBe('passed');
  });

  it('a difference in requests is an unexplained divergence that fails the case', async () => {
    const sim = fakeTarget('sim', correct);
    const kernel = fakeTarget('kernel', (s, i) => (i === 1 ? ok({ requests: ['INIT', 'GETATTR'] }) : correct(s, i)));
    const r = await runCase(loaded(makeCase()), [sim, kernel]);
    expect(r.divergences).toEqual([{ step: 1, op: 'mount', field: 'requests', sim: [], kernel: ['INIT', 'GETATTR'] }]);
    expect(r.status).toBe('failed');
    expect(r.failures).toEqual(['[diff] step 1 (mount): requests differs: sim [], kernel [INIT, GETATTR]']);
  });

  it('compares the finish teardown too', async () => {
    const sim = fakeTarget('sim', correct);
    const kernel = fakeTarget('kernel', correct);
    kernel.target.start = async () => ({ apply: async (s, i) => correct(s, i), finish: async () => ok({ events: [] }) });
    const r = await runCase(loaded(makeCase()), [sim, kernel]);
    expect(r.divergences).toEqual([{ step: 3, op: 'finish', field: 'events', sim: ['data:close_nowrite'], kernel: [] }]);
  });

  it('a known divergence (case id + step + field) is explained and does not fail the case', async () => {
    const known: KnownDivergence[] = [{ case: 'fake-case', step: 1, field: 'requests', kind: 'unobservable', reason: 'the kernel sends an extra GETATTR' }];
    const used = new Set<string>();
    const sim = fakeTarget('sim', correct);
    const kernel = fakeTarget('kernel', (s, i) => (i === 1 ? ok({ requests: ['GETATTR'] }) : correct(s, i)));
    const r = await runCase(loaded(makeCase()), [sim, kernel], { known, usedKnown: used });
    expect(r.status).toBe('passed');
    expect(r.divergences[0]?.known).toEqual({ kind: 'unobservable', reason: 'the kernel sends an extra GETATTR' });
    expect([...used]).toEqual([knownLabel(known[0]!)]);
  });

  it('a pattern entry matches by case id; a different field or case is still unexplained', async () => {
    const sim = fakeTarget('sim', correct);
    const kernel = fakeTarget('kernel', (s, i) => (i === 1 ? ok({ requests: ['GETATTR'] }) : correct(s, i)));
    const byPattern: KnownDivergence[] = [{ casePattern: '^fake-', kind: 'kernel-bug', reason: 'r' }];
    expect((await runCase(loaded(makeCase()), [sim, kernel], { known: byPattern })).status).toBe('passed');
    const otherField: KnownDivergence[] = [{ case: 'fake-case', step: 1, field: 'events', kind: 'kernel-bug', reason: 'r' }];
    expect((await runCase(loaded(makeCase()), [sim, kernel], { known: otherField })).status).toBe('failed');
    const otherCase: KnownDivergence[] = [{ case: 'other-case', kind: 'kernel-bug', reason: 'r' }];
    expect((await runCase(loaded(makeCase()), [sim, kernel], { known: otherCase })).status).toBe('failed');
  });
});

describe('runner: faults, finish, applicability', () => {
  it('a throwing step becomes a crash fault: later steps are not played, finish still runs', async () => {
    const t = fakeTarget('kernel', (_s, i) => {
      if (i === 1) throw new Error('EFAULT in koffi');
      return ok();
    });
    const r = await runCase(loaded(makeCase()), [t]);
    expect(t.calls.applied).toEqual([0, 1]);
    expect(t.calls.finish).toBe(1);
    expect(r.status).toBe('failed');
    expect(r.failures).toEqual(['[kernel] step 1 (mount): fault crash: the target threw: EFAULT in koffi']);
  });

  it('a timeout fault fails the case and finish runs once', async () => {
    const t = fakeTarget('kernel', (_s, i) => (i === 0 ? ok({ fault: { kind: 'timeout', message: 'no reply in 5000 ms' } }) : ok()));
    const r = await runCase(loaded(makeCase()), [t]);
    expect(t.calls.applied).toEqual([0]);
    expect(t.calls.finish).toBe(1);
    expect(r.failures).toEqual(['[kernel] step 0 (devOpen): fault timeout: no reply in 5000 ms']);
  });

  it('a fault on one target stops the comparison there (no divergence noise after it)', async () => {
    const sim = fakeTarget('sim', correct);
    const kernel = fakeTarget('kernel', (s, i) => (i === 1 ? ok({ fault: { kind: 'unsupported', message: 'no fusectl' } }) : correct(s, i)));
    const r = await runCase(loaded(makeCase()), [sim, kernel]);
    expect(r.divergences).toEqual([{ step: 1, op: 'mount', field: 'fault', sim: null, kernel: 'unsupported: no fusectl' }]);
    expect(r.status).toBe('failed');
  });

  it('a step that never settles becomes a timeout fault under the watchdog, and finish still runs', async () => {
    const t = fakeTarget('kernel', (_s, i) => (i === 1 ? new Promise<Observation>(() => {}) : ok()));
    const r = await runCase(loaded(makeCase()), [t], { watchdogMs: 20 });
    expect(t.calls.finish).toBe(1);
    expect(r.failures).toEqual(['[kernel] step 1 (mount): fault timeout: step 1 did not settle within 20 ms']);
  });

  it('a failing start is a setup failure, and a throwing finish is a failure', async () => {
    const noStart = fakeTarget('kernel', correct, { startThrows: true });
    const r1 = await runCase(loaded(makeCase()), [noStart]);
    expect(r1.failures).toEqual(['[kernel] start: setup failed: cannot build world']);
    const badFinish = fakeTarget('kernel', correct, { finishThrows: true });
    const r2 = await runCase(loaded(makeCase()), [badFinish]);
    expect(r2.failures).toEqual(['[kernel] finish: fault crash: finish threw: teardown exploded']);
  });

  it('a simOnly case runs on the sim only, with the reason on the kernel run', async () => {
    const sim = fakeTarget('sim', correct);
    const kernel = fakeTarget('kernel', correct);
    const r = await runCase(loaded(makeCase(threeSteps, { simOnly: 'id space exhaustion needs 2^31 ioctls' })), [sim, kernel]);
    expect(kernel.calls.start).toBe(0);
    expect(r.status).toBe('passed');
    expect(r.simOnly).toBe('id space exhaustion needs 2^31 ioctls');
    expect(r.runs.map((x) => [x.target, x.status, x.reason ?? null])).toEqual([
      ['sim', 'passed', null],
      ['kernel', 'skipped', 'sim only: id space exhaustion needs 2^31 ioctls'],
    ]);
  });

  it('a case whose profiles exclude the target profile is not applicable; no profiles means 6.9, 6.12 and 6.18', async () => {
    const t = fakeTarget('kernel', correct, { profile: '6.18' });
    const r = await runCase(loaded(makeCase(threeSteps, { profiles: ['6.12'] })), [t]);
    expect(r.status).toBe('notApplicable');
    expect(t.calls.start).toBe(0);
    const nopt = fakeTarget('sim', correct, { profile: 'nopt' });
    expect((await runCase(loaded(makeCase()), [nopt])).status).toBe('notApplicable');
    for (const p of ['6.9', '6.12', '6.18'] as const) {
      expect((await runCase(loaded(makeCase()), [fakeTarget('sim', correct, { profile: p })])).status).toBe('passed');
    }
  });
});

describe('known-divergences.json parsing', () => {
  it('accepts the committed file', async () => {
    const { loadKnownDivergences } = await import('./known-divergences.ts');
    expect(loadKnownDivergences().errors).toEqual([]);
  });

  it('names the entry, the property and what was expected', () => {
    const text = JSON.stringify({ divergences: [{ case: 'a', casePattern: 'b', kind: 'bug', reason: '', step: -1, extra: 1 }] });
    const { entries, errors } = parseKnownDivergences(text, '/x/known.json');
    expect(entries).toEqual([]);
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      '/divergences/0/extra: unexpected property "extra" (expected only: case, casePattern, step, field, kind, reason)',
      '/divergences/0: expected exactly one of "case" (a case id) or "casePattern" (a regular expression)',
      '/divergences/0/step: expected a step index (integer ≥ 0) or "finish", got number -1',
      '/divergences/0/kind: expected one of kernel-bug, unobservable, got string "bug"',
      '/divergences/0/reason: expected a non-empty reason, got string ""',
    ]);
  });

  it('malformed JSON names the line and column, as for case files', () => {
    const text = '{ "divergences": [\n  { "case": "a", },\n] }';
    const { errors } = parseKnownDivergences(text, '/x/known.json');
    expect(errors.map((e) => e.message)).toEqual(['malformed JSON at line 2, column 18: unexpected "}," (expected { "divergences": [...] })']);
  });
});
