// The CLI end to end with fake targets (the real ones are tested by the library test):
// argument handling, target choice, exit codes, progress/summary streams, the JSON report.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ProfileName, Step } from '../spec/case.ts';
import type { Observation } from '../spec/observation.ts';
import type { Target, TargetName } from '../spec/target.ts';
import type { Loaded } from '../conformance/target-loader.ts';
import type { Report } from '../reports/report.ts';
import { reportSchemaErrors } from '../reports/validate.ts';
import { main } from './main.ts';
import type { RunDeps } from './run.ts';

const fixtures = fileURLToPath(new URL('../conformance/test-fixtures/', import.meta.url));
const valid = join(fixtures, 'valid-case.json');
const noKnown = join(tmpdir(), 'fusepass-no-known-divergences.json');

/** A target that answers every step exactly as the step expects (and explains its checks). */
function echoTarget(name: TargetName, profile: ProfileName = '6.18', tweak?: (s: Step, i: number, o: Observation) => Observation): Target {
  return {
    name,
    unavailable: async () => null,
    info: async () => ({ name, profile, kernelRelease: name === 'kernel' ? '6.18.44-test' : null }),
    start: async () => ({
      apply: async (step, i) => {
        const e = step.expect ?? {};
        const o: Observation = { errno: e.errno ?? null, value: e.value ?? null, requests: e.requests ?? [], events: e.events ?? [], explain: { checks: step.checks ?? [] } };
        return tweak ? tweak(step, i, o) : o;
      },
      finish: async () => ({ errno: null, requests: [], events: [] }),
    }),
  };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

function deps(extra: Partial<RunDeps> = {}): RunDeps {
  return {
    loadSim: async (p): Promise<Loaded> => ({ target: echoTarget('sim', p) }),
    loadKernel: async (): Promise<Loaded> => ({ reason: 'no /dev/fuse in this test' }),
    casesDir: fixtures,
    knownFile: noKnown,
    ...extra,
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'fusepass-cli-'));
const reportOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;

describe('fusepass CLI', () => {
  it('--help and no arguments print the usage and exit 0', async () => {
    for (const argv of [[], ['--help']]) {
      const c = capture();
      expect(await main(argv, c.io)).toBe(0);
      expect(c.out.join('\n')).toMatch(/usage: fusepass <command>[\s\S]*fusepass run \[--target sim\|kernel\|both\]/);
    }
  });

  it('an unknown command or option is a one-line usage error with exit 2', async () => {
    const c = capture();
    expect(await main(['frobnicate'], c.io)).toBe(2);
    expect(c.err).toEqual([expect.stringMatching(/unknown command "frobnicate".*expected one of: run/)]);
    const d = capture();
    expect(await main(['run', '--target', 'vm'], d.io, { run: deps() })).toBe(2);
    expect(d.err).toEqual([expect.stringMatching(/--target "vm": expected one of sim, kernel, both/)]);
    const e = capture();
    expect(await main(['run', '--frob'], e.io, { run: deps() })).toBe(2);
    expect(e.err).toEqual(['fusepass run: unknown option --frob. See fusepass run --help.']);
  });

  it('without a usable kernel it runs the sim with a one-line note, and exits 0 when all pass', async () => {
    const c = capture();
    const json = join(tmp, 'ok.json');
    expect(await main(['run', valid, '--json', json], c.io, { run: deps() })).toBe(0);
    expect(c.err[0]).toBe('note: kernel target unavailable (no /dev/fuse in this test); running on the sim only');
    expect(c.err[1]).toMatch(/^\[1\/1\] PASS valid-case/);
    expect(c.out.at(-1)).toMatch(/^report: .*ok\.json$/);
    const r = reportOf(json);
    expect(reportSchemaErrors(r)).toEqual([]);
    expect(r.summary).toMatchObject({ cases: 1, passed: 1, failed: 0, errors: 0, divergences: 0, unexplainedDivergences: 0, targets: ['sim'], kernel: null, profile: '6.18', failing: false });
    // valid-case covers BOPEN-13 and OPEN-1 (its checks).
    expect(r.summary.coverage.coveredIds).toBe(2);
    // A selected case names what it exercises, not the ~200 ids it was never meant to cover.
    expect(c.out).toContainEqual(expect.stringMatching(/^ {2}check ids +2 exercised by these cases: BOPEN-13, OPEN-1$/));
    expect(c.out.join('\n')).not.toMatch(/uncovered/);
  });

  it('a run of the whole library (no selector, or its directory) reports spec coverage and lists the uncovered ids', async () => {
    for (const selectors of [[], [fixtures]]) {
      const c = capture();
      expect(await main(['run', '--target', 'sim', '--json', join(tmp, 'all.json'), ...selectors], c.io, { run: deps() })).toBe(1);
      expect(c.out).toContainEqual(expect.stringMatching(/^ {2}spec coverage +2\/\d+ check ids by the cases that played on profile 6.18/));
      expect(c.out).toContainEqual(expect.stringMatching(/^uncovered spec ids: INIT-1, .*\(\d+ in all; see the report\)$/));
    }
  });

  it('broken case files are reported with file, path and expectation, the rest still runs, exit 1', async () => {
    const c = capture();
    const json = join(tmp, 'broken.json');
    expect(await main(['run', '--target', 'sim', '--json', json], c.io, { run: deps() })).toBe(1);
    const r = reportOf(json);
    expect(reportSchemaErrors(r)).toEqual([]);
    expect(r.summary).toMatchObject({ cases: 5, passed: 1, errors: 4, failing: true });
    expect(r.errors.map((e) => e.path).sort()).toEqual(['', '/steps/2/op', '/steps/3/fd', '/steps/3/length']);
    expect(c.err.filter((l) => l.startsWith('BROKEN '))).toHaveLength(4);
    expect(c.out.join('\n')).toMatch(/broken case files:\n[\s\S]*wrong-type\.json: \/steps\/3\/length: expected integer/);
  });

  it('by default plays both targets when the kernel is usable; a divergence fails with exit 1', async () => {
    const c = capture();
    const json = join(tmp, 'both.json');
    const kernel = echoTarget('kernel', '6.18', (s, _i, o) => (s.op === 'read' ? { ...o, requests: ['READ'] } : o));
    expect(await main(['run', 'valid-case', '--json', json], c.io, { run: deps({ loadKernel: async () => ({ target: kernel }) }) })).toBe(1);
    const r = reportOf(json);
    expect(reportSchemaErrors(r)).toEqual([]);
    expect(r.summary).toMatchObject({ targets: ['sim', 'kernel'], kernel: '6.18.44-test', divergences: 1, unexplainedDivergences: 1 });
    expect(r.cases[0]!.runs.map((x) => x.target)).toEqual(['sim', 'kernel']);
    expect(r.cases[0]!.runs[1]!.steps[5]!.observation.requests).toEqual(['READ']);
    expect(c.out.join('\n')).toMatch(/divergences\s+1 \(0 known, 1 unexplained\)/);
  });

  it('--target kernel without a usable kernel is an error naming the reason', async () => {
    const c = capture();
    expect(await main(['run', '--target', 'kernel', valid], c.io, { run: deps() })).toBe(1);
    expect(c.err).toEqual([expect.stringContaining('needs the kernel target, which is unavailable here: no /dev/fuse in this test')]);
  });

  it('--profile other than the kernel\'s runs the sim only by default, with a note', async () => {
    const c = capture();
    const json = join(tmp, 'profile.json');
    const kernel = echoTarget('kernel', '6.18');
    expect(await main(['run', '--profile', '6.12', valid, '--json', json], c.io, { run: deps({ loadKernel: async () => ({ target: kernel }) }) })).toBe(0);
    expect(c.err[0]).toMatch(/note: the running kernel is profile 6\.18; --profile 6\.12 runs on the sim only/);
    expect(reportOf(json).summary).toMatchObject({ targets: ['sim'], profile: '6.12', kernel: null });
  });

  // The real sim on the real library: whatever the sim puts in observations (explanations
  // included) must still fit the report schema.
  it('a run of the library on the real sim writes a report that validates against reports/report.schema.json', async () => {
    const c = capture();
    const json = join(tmp, 'library.json');
    await main(['run', '--target', 'sim', '--json', json], c.io);
    const r = reportOf(json);
    expect(reportSchemaErrors(r)).toEqual([]);
    expect(r.summary.cases).toBeGreaterThan(0);
    expect(r.summary.targets).toEqual(['sim']);
  });

  it('coverage counts only the cases that played on the profile (--profile nopt plays few, and covers only their ids)', async () => {
    const c = capture();
    const json = join(tmp, 'nopt.json');
    await main(['run', '--target', 'sim', '--profile', 'nopt', '--json', json], c.io);
    const r = reportOf(json);
    const playedIds = new Set(r.cases.filter((k) => k.status === 'passed' || k.status === 'failed').flatMap((k) => k.checks));
    expect(r.summary.notApplicable).toBeGreaterThan(r.summary.passed);
    expect(r.summary.coverage.coveredIds).toBe(playedIds.size);
    expect(r.summary.coverage.coveredIds).toBeLessThan(r.summary.coverage.specIds);
  });

  it('a --json path that cannot be written is a one-line error naming it, exit 1', async () => {
    const notADir = join(tmp, 'plain-file');
    writeFileSync(notADir, '');
    for (const json of [join(notADir, 'r.json'), '/proc/fusepass-no-such-dir/r.json']) {
      const c = capture();
      expect(await main(['run', valid, '--target', 'sim', '--json', json], c.io, { run: deps() })).toBe(1);
      expect(c.err.at(-1)).toMatch(new RegExp(`^fusepass run: cannot write the report ${json}: (ENOTDIR|ENOENT) `));
    }
  });

  it('--json - prints the JSON report alone on stdout, the summary on stderr, and writes no file named "-"', async () => {
    const c = capture();
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      expect(await main(['run', valid, '--target', 'sim', '--json', '-'], c.io, { run: deps() })).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    const report = JSON.parse(c.out.join('\n')) as Report;
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.summary.passed).toBe(1);
    expect(c.err.some((l) => /^ {2}cases {2,}1$/.test(l))).toBe(true);
    expect(existsSync(join(tmp, '-'))).toBe(false);
  });

  it('--version prints the package version', async () => {
    const c = capture();
    expect(await main(['--version'], c.io)).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(c.out).toEqual([`fusepass ${pkg.version}`]);
  });

  it('an unknown case id is an error, exit 1', async () => {
    const c = capture();
    const json = join(tmp, 'unknown.json');
    expect(await main(['run', 'no-such-case', '--target', 'sim', '--json', json], c.io, { run: deps() })).toBe(1);
    expect(reportOf(json).errors).toEqual([expect.objectContaining({ file: 'no-such-case' })]);
  });
});
