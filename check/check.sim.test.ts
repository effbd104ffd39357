// `fusepass check --target sim`: real daemons against the kernel model, as an ordinary user. When
// the tests run as root they drop to nobody (setpriv), so nothing here can lean on privilege,
// /dev/fuse or a mount. The daemons are libfuse 3.18.2's passthrough_hp, built unmodified, and
// our bug-pattern fixture. What each profile must show comes from kernel history
// (kernel-spec.md §14): protocol 7.40 on 6.9, 7.41 on 6.12, 7.45 on 6.18; 6.9's fget refuses
// O_PATH fds (BOPEN-16); 6.9 allows WRITEBACK_CACHE with passthrough, 6.11 on turn passthrough
// off (INIT-9); a kernel without CONFIG_FUSE_PASSTHROUGH answers BACKING_OPEN with EOPNOTSUPP
// (BOPEN-2) and offers no FUSE_PASSTHROUGH (INIT-1).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from './run.ts';
import { checkReportSchemaErrors } from '../reports/validate.ts';
import { buildBuggy, passthroughHp } from './test-daemons.ts';

const CLI = fileURLToPath(new URL('../bin/fusepass.js', import.meta.url));
const asRoot = process.getuid?.() === 0;
const hasSetpriv = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v setpriv'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Run `fusepass check --target sim` as nobody (when we are root) and parse its JSON report. */
function simCheck(args: string[]): { code: number; report: CheckReport | null; stderr: string; uid: number } {
  const cmd = [process.execPath, CLI, 'check', '--target', 'sim', '--json', '-', ...args];
  const drop = asRoot && hasSetpriv ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const argv = [...drop, ...cmd];
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: tmpdir(), encoding: 'utf8', timeout: 120_000 });
  const out = r.stdout ?? '';
  return { code: r.status ?? -1, report: out.startsWith('{') ? (JSON.parse(out) as CheckReport) : null, stderr: r.stderr ?? '', uid: drop.length > 0 ? 65534 : (process.getuid?.() ?? -1) };
}

const requests = (rep: CheckReport) => rep.scenarios.flatMap((s) => [...s.steps.flatMap((x) => x.traffic.requests), ...(s.cleanup?.requests ?? [])]);
const backingOpens = (rep: CheckReport) => rep.scenarios.flatMap((s) => [...s.steps.flatMap((x) => x.traffic.backing), ...(s.cleanup?.backing ?? [])]).filter((b) => b.op === 'open');

describe('fusepass check --target sim with libfuse passthrough_hp, unprivileged', () => {
  let hp = '';
  beforeAll(() => {
    hp = passthroughHp();
  }, 320_000);

  for (const [profile, minor] of [['6.18', 45], ['6.12', 41], ['6.9', 40]] as const) {
    it(`${profile}: offered protocol 7.${minor}; passthrough in effect (the model registered its fds, no READ/WRITE reached it, bytes equal the source); the daemon exits 0 at the umount`, () => {
      const r = simCheck(['--profile', profile, '--', hp, '--foreground', '{src}', '{fd}']);
      expect(r.stderr).not.toMatch(/could not be checked/);
      expect(r.code).toBe(0);
      const rep = r.report!;
      expect(checkReportSchemaErrors(rep)).toEqual([]);
      expect(rep.target).toBe('sim');
      if (asRoot && hasSetpriv) expect(r.uid).toBe(65534);
      expect(rep.setup.traffic.requests.find((q) => q.op === 'INIT')!.init!.minor).toBe(minor);
      expect(rep.findings.filter((f) => f.level !== 'info')).toEqual([]);
      const opens = backingOpens(rep);
      expect(opens.length).toBeGreaterThan(0);
      expect(opens.every((b) => typeof b.result === 'number' && b.result > 0)).toBe(true);
      expect(requests(rep).filter((q) => q.op === 'READ' || q.op === 'WRITE')).toEqual([]);
      const reads = rep.scenarios.flatMap((s) => s.steps.filter((x) => x.expected !== undefined));
      expect(reads.length).toBeGreaterThan(10);
      for (const x of reads) expect(x.value).toBe(x.expected);
      expect(rep.teardown?.daemonExit).toBe('exited with status 0');
    }, 130_000);
  }

  it('nopt: no FUSE_PASSTHROUGH offered (INIT-1, info); passthrough_hp serves every read itself and never calls BACKING_OPEN', () => {
    const r = simCheck(['--profile', 'nopt', '--', hp, '--foreground', '{src}', '{fd}']);
    expect(r.code).toBe(0);
    const rep = r.report!;
    expect(rep.setup.traffic.requests.find((q) => q.op === 'INIT')!.init!.flags).not.toContain('PASSTHROUGH');
    expect(rep.findings.map((f) => [f.level, f.checks[0]])).toEqual([['info', 'INIT-1']]);
    expect(requests(rep).filter((q) => q.op === 'READ').length).toBeGreaterThan(0);
    expect(backingOpens(rep)).toEqual([]);
    for (const x of rep.scenarios.flatMap((s) => s.steps.filter((y) => y.expected !== undefined))) expect(x.value).toBe(x.expected);
  }, 130_000);

  it('--profile all: one report with a run per profile; the run of nopt has reads served by the daemon, the others none', () => {
    const r = simCheck(['--profile', 'all', '--scenarios', 'read', '--', hp, '--foreground', '{src}', '{fd}']);
    expect(r.code).toBe(0);
    const rep = r.report!;
    expect(checkReportSchemaErrors(rep)).toEqual([]);
    expect(rep.profiles!.map((p) => p.name)).toEqual(['6.18', '6.12', '6.9', 'nopt', '6.1']);
    for (const p of rep.profiles!) {
      const reads = p.scenarios.flatMap((s) => s.steps.flatMap((x) => x.traffic.requests)).filter((q) => q.op === 'READ');
      expect([p.name, reads.length > 0]).toEqual([p.name, p.name === 'nopt' || p.name === '6.1']);
    }
    expect(rep.summary.infos).toBe(rep.profiles!.reduce((n, p) => n + p.summary.infos, 0));
  }, 130_000);

  it('leaves nothing behind: no work directory and no daemon after the run', () => {
    simCheck(['--scenarios', 'read', '--', hp, '--foreground', '{src}', '{fd}']);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('fusepass-check-sim-'))).toEqual([]);
    const left = spawnSync('pgrep', ['-f', `${hp} --foreground ${tmpdir()}/fusepass-check-sim-`], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
  }, 130_000);
});

describe('fusepass check --target sim: profile differences a daemon author must hear about (test-fixtures/buggy_pt.c)', () => {
  let bin = '';
  beforeAll(() => {
    bin = buildBuggy();
  }, 320_000);

  it('opath: registering O_PATH fds fails on 6.9 with EBADF, named BOPEN-16, and works on 6.12', () => {
    const old = simCheck(['--profile', '6.9', '--scenarios', 'read', '--', bin, 'opath', '{src}', '{fd}']).report!;
    const failed = old.findings.filter((f) => f.checks.includes('BOPEN-16'));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.message).toMatch(/failed with EBADF.*O_PATH/);
    expect(backingOpens(old).every((b) => b.result === 'EBADF')).toBe(true);
    const now = simCheck(['--profile', '6.12', '--scenarios', 'read', '--', bin, 'opath', '{src}', '{fd}']).report!;
    expect(backingOpens(now).every((b) => typeof b.result === 'number')).toBe(true);
    expect(now.findings.filter((f) => f.level !== 'info')).toEqual([]);
  }, 130_000);

  it('writeback: WRITEBACK_CACHE with PASSTHROUGH works on 6.9 (no READ reaches the daemon) with a warning for later kernels; on 6.12 passthrough is off (INIT-9) and reads go to the daemon', () => {
    const old = simCheck(['--profile', '6.9', '--scenarios', 'read', '--', bin, 'writeback', '{src}', '{fd}']).report!;
    expect(old.findings.find((f) => f.checks.includes('INIT-9'))?.message).toMatch(/this kernel negotiates both and passthrough works, but from 6.11/);
    expect(requests(old).filter((q) => q.op === 'READ')).toEqual([]);
    const now = simCheck(['--profile', '6.12', '--scenarios', 'read', '--', bin, 'writeback', '{src}', '{fd}']).report!;
    expect(now.findings.find((f) => f.checks.includes('INIT-9'))?.message).toMatch(/turns passthrough off/);
    expect(requests(now).filter((q) => q.op === 'READ').length).toBeGreaterThan(0);
  }, 130_000);

  it('nopt: a daemon that calls BACKING_OPEN although passthrough is not offered is told EOPNOTSUPP (BOPEN-2), and its opens still work', () => {
    const rep = simCheck(['--profile', 'nopt', '--scenarios', 'read', '--', bin, 'good', '{src}', '{fd}']).report!;
    const opens = backingOpens(rep);
    expect(opens.length).toBeGreaterThan(0);
    expect(opens.every((b) => b.result === 'EOPNOTSUPP')).toBe(true);
    expect(rep.findings.some((f) => f.level === 'info' && f.checks[0] === 'BOPEN-2')).toBe(true);
    expect(rep.scenarios.every((s) => s.steps.every((x) => x.errno === null))).toBe(true);
  }, 130_000);

  // The bug patterns the kernel target names (check.kernel.test.ts), named the same by the model.
  for (const [mode, named] of [['good', null], ['keep-cache', 'OPEN-9'], ['per-open-ids', 'IOM-7'], ['close-in-use', 'OPEN-12'], ['double-close', 'BCLOSE-7']] as const) {
    it(`6.18, ${mode}: ${named ?? 'no error finding'}`, () => {
      const r = simCheck(['--scenarios', 'second-file,reopen-while-open', '--', bin, mode, '{src}', '{fd}']);
      const errors = r.report!.findings.filter((f) => f.level === 'error').map((f) => f.checks[0]);
      expect(new Set(errors)).toEqual(new Set(named === null ? [] : [named]));
      expect(r.code).toBe(named === null ? 0 : 1);
    }, 130_000);
  }

  it('hang-open: the daemon never answers OPEN; the scenario stops at its deadline with an error finding, and nothing is left running', () => {
    const r = simCheck(['--scenarios', 'read', '--timeout', '1s', '--', bin, 'hang-open', '{src}', '{fd}']);
    expect(r.code).toBe(1);
    expect(r.report!.hung).toBe('read');
    expect(r.report!.findings.some((f) => f.level === 'error')).toBe(true);
    expect(spawnSync('pgrep', ['-f', `${bin} hang-open`], { encoding: 'utf8' }).stdout.trim()).toBe('');
  }, 130_000);
});
