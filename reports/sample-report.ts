// A small hand-written JSON report for the report writers' tests: one case passing on both
// targets, one failing on the kernel's expectation with a sim/kernel divergence at teardown, one
// not applicable, and one broken case file. Values follow the spec's examples (OPEN-9: KEEP_CACHE
// beside PASSTHROUGH gives EIO with OPEN then RELEASE; BOPEN-13: the first id is 1).
import type { Step } from '../spec/case.ts';
import type { Observation } from '../spec/observation.ts';
import type { CaseResult, StepResult } from '../conformance/results.ts';
import type { Report } from './report.ts';

const ok = (extra: Partial<Observation> = {}): Observation => ({ errno: null, value: null, requests: [], events: [], ...extra });

function stepsOf(obs: Observation[], steps: Step[], failures: Record<number, string[]> = {}): StepResult[] {
  return obs.map((observation, index) => ({ index, op: index < steps.length ? steps[index]!.op : 'finish', observation, failures: failures[index] ?? [] }));
}

const keepCacheSteps: Step[] = [
  { op: 'devOpen', as: 'dev' },
  { op: 'mount', dev: 'dev' },
  { op: 'daemonOpen', file: 'bf', mode: 'rdonly', as: 'bf1' },
  { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', expect: { errno: null, value: 1 } },
  { op: 'open', node: 'f', as: 'f1', checks: ['OPEN-9', 'OPEN-6'], expect: { errno: 'EIO', requests: ['OPEN', 'RELEASE'], cause: 'EINVAL' } },
];

const simKeepCache: Observation[] = [
  ok({ explain: { checks: [], functions: ['fuse_dev_open'] } }),
  ok({ value: '7.45 offers:INIT_EXT,PASSTHROUGH', requests: ['INIT'], explain: { checks: ['INIT-1', 'INIT-7'] } }),
  ok({ events: ['bf:open'] }),
  ok({ value: 1, explain: { checks: ['DEV-7', 'BOPEN-13'], functions: ['fuse_dev_ioctl_backing_open', 'fuse_backing_open'] } }),
  {
    errno: 'EIO',
    value: null,
    requests: ['OPEN', 'RELEASE'],
    events: [],
    explain: { checks: ['OPEN-2', 'OPEN-9', 'OPEN-6', 'OBS-11'], cause: 'EINVAL', functions: ['fuse_open', 'fuse_file_io_open'], advice: 'with FOPEN_PASSTHROUGH only DIRECT_IO, PARALLEL_DIRECT_WRITES and NOFLUSH are allowed' },
  },
  ok({ requests: ['FLUSH', 'RELEASE'], events: ['bf:close_nowrite'] }),
];
const kernelKeepCache: Observation[] = [
  ok(),
  ok({ value: '7.45 offers:INIT_EXT,PASSTHROUGH', requests: ['INIT'] }),
  ok({ events: ['bf:open'] }),
  ok({ value: 1 }),
  { errno: 'EIO', value: null, requests: ['OPEN'], events: [] },
  ok({ requests: ['FLUSH'], events: ['bf:close_nowrite'] }),
];

export const FAILING_CASE: CaseResult = {
  id: 'problem-keep-cache-makes-passthrough-open-fail',
  file: 'conformance/cases/problems/problem-keep-cache-makes-passthrough-open-fail.json',
  title: 'open(2) gives EIO: FOPEN_KEEP_CACHE set alongside FOPEN_PASSTHROUGH <b>',
  description: 'Only FOPEN_DIRECT_IO, FOPEN_PARALLEL_DIRECT_WRITES and FOPEN_NOFLUSH may accompany FOPEN_PASSTHROUGH.',
  checks: ['OPEN-6', 'OPEN-9'],
  steps: keepCacheSteps,
  profiles: ['6.18', '6.12', '6.9'],
  status: 'failed',
  failures: [
    '[kernel] step 4 (open): requests: expected [OPEN, RELEASE], got [OPEN]',
    '[diff] step 4 (open): requests differs: sim [OPEN, RELEASE], kernel [OPEN]',
    '[diff] finish: requests differs: sim [FLUSH, RELEASE], kernel [FLUSH]',
  ],
  runs: [
    { target: 'sim', profile: '6.18', status: 'passed', steps: stepsOf(simKeepCache, keepCacheSteps) },
    { target: 'kernel', profile: '6.18', status: 'failed', steps: stepsOf(kernelKeepCache, keepCacheSteps, { 4: ['requests: expected [OPEN, RELEASE], got [OPEN]'] }) },
  ],
  divergences: [
    { step: 4, op: 'open', field: 'requests', sim: ['OPEN', 'RELEASE'], kernel: ['OPEN'] },
    { step: 5, op: 'finish', field: 'requests', sim: ['FLUSH', 'RELEASE'], kernel: ['FLUSH'] },
  ],
  durationMs: 12.5,
};

const bopenSteps: Step[] = [
  { op: 'devOpen', as: 'dev' },
  { op: 'mount', dev: 'dev' },
  { op: 'daemonOpen', file: 'bf', mode: 'rdonly', as: 'bf1' },
  { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', checks: ['BOPEN-13'], expect: { errno: null, value: 1 } },
];
const bopenObs: Observation[] = [ok(), ok({ requests: ['INIT'] }), ok({ events: ['bf:open'] }), ok({ value: 1, explain: { checks: ['BOPEN-13'] } }), ok()];

export const PASSING_CASE: CaseResult = {
  id: 'bopen-success-returns-positive-id',
  file: 'conformance/cases/bopen/bopen-success-returns-positive-id.json',
  title: 'BACKING_OPEN of a regular file returns id 1',
  checks: ['BOPEN-13', 'BID-2'],
  steps: bopenSteps,
  profiles: ['6.18', '6.12', '6.9'],
  status: 'passed',
  failures: [],
  runs: [
    { target: 'sim', profile: '6.18', status: 'passed', steps: stepsOf(bopenObs, bopenSteps) },
    { target: 'kernel', profile: '6.18', status: 'passed', steps: stepsOf(bopenObs.map((o) => ({ ...o, explain: undefined }) as Observation), bopenSteps) },
  ],
  divergences: [],
  durationMs: 8,
};

export const NOT_APPLICABLE_CASE: CaseResult = {
  id: 'profile-6-9-only',
  file: 'conformance/cases/profiles/profile-6-9-only.json',
  title: 'A 6.9-only behaviour',
  checks: ['BOPEN-2'],
  steps: [{ op: 'devOpen', as: 'dev' }],
  profiles: ['6.9'],
  status: 'notApplicable',
  failures: [],
  runs: [
    { target: 'sim', profile: '6.18', status: 'notApplicable', reason: 'the case applies to 6.9, not 6.18', steps: [] },
    { target: 'kernel', profile: '6.18', status: 'notApplicable', reason: 'the case applies to 6.9, not 6.18', steps: [] },
  ],
  divergences: [],
  durationMs: 0,
};

export function sampleReport(): Report {
  const cases = [PASSING_CASE, FAILING_CASE, NOT_APPLICABLE_CASE];
  return {
    version: 1,
    tool: 'fusepass',
    startedAt: '2026-11-24T03:00:00.000Z',
    summary: {
      cases: 4,
      passed: 1,
      failed: 1,
      errors: 1,
      notApplicable: 1,
      skipped: 0,
      divergences: 2,
      knownDivergences: 0,
      unexplainedDivergences: 2,
      coverage: { specIds: 198, coveredIds: 5, uncovered: [] },
      targets: ['sim', 'kernel'],
      kernel: '6.18.44-test',
      profile: '6.18',
      durationMs: 20,
      failing: true,
    },
    coverageByProfile: {},
    cases,
    errors: [{ file: 'conformance/cases/bopen/broken & <odd>.json', path: '/steps/3/fd', message: 'expected a string or a number' }],
    unusedKnownDivergences: [],
  };
}
