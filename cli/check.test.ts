// `fusepass check` argument handling and report writing, with the run injected (no kernel): bad
// arguments are one line and exit 2, exit status follows error findings, --json writes the JSON
// report with its Markdown and JUnit siblings, and an unwritable --json fails before the run.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main.ts';
import type { CheckOptions, CheckReport } from '../check/run.ts';
import type { Finding } from '../check/protocol.ts';
import { checkReportSchemaErrors } from '../reports/validate.ts';

function report(findings: Finding[]): CheckReport {
  const count = (l: Finding['level']) => findings.filter((f) => f.level === l).length;
  const traffic = { requests: [], replies: [], backing: [], notes: [] };
  return {
    tool: 'fusepass check',
    target: 'kernel',
    kernelRelease: '6.18.0',
    command: ['./myfs', '/dev/fd/4'],
    inject: [],
    profile: null,
    setup: { t: 'setup', argv: ['./myfs', '/dev/fd/4'], problem: null, traffic },
    scenarios: [
      { id: 'read', title: 'read', steps: [{ step: { op: 'open', node: 'data', as: 'a' }, errno: 'EIO', value: null, traffic }] },
      { id: 'mmap-read', title: 'mmap', steps: [] },
    ],
    hung: null,
    teardown: { t: 'teardown', umount: null, daemonExit: 'exited with status 0', traffic, log: '' },
    findings,
    summary: { errors: count('error'), warnings: count('warn'), infos: count('info') },
  };
}

async function run(argv: string[], result: CheckReport | { problem: string }) {
  const out: string[] = [];
  const err: string[] = [];
  let given: CheckOptions | null = null;
  const code = await main(['check', ...argv], { out: (l) => out.push(l), err: (l) => err.push(l) }, {
    check: {
      run: async (o) => {
        given = o;
        return result;
      },
    },
  });
  return { code, out, err, given: given as CheckOptions | null };
}

const EIO: Finding = { level: 'error', checks: ['IOM-2', 'OPEN-6'], scenario: 'read', message: 'open of data failed with EIO', advice: 'answer with FOPEN_PASSTHROUGH' };

describe('fusepass check (cli/check.ts)', () => {
  it('passes the daemon command, injections, profile, scenarios and timeout through', async () => {
    const r = await run(['--inject', 'backing-open#2=ELOOP', '--profile', '6.12', '--scenarios', 'read,mmap-read', '--timeout', '3s', '--', './myfs', '-f', '{fd}'], report([]));
    expect(r.code).toBe(0);
    expect(r.given).toEqual({ argv: ['./myfs', '-f', '{fd}'], inject: [{ op: 'backing-open', seq: 2, errno: 40 }], profile: '6.12', scenarios: ['read', 'mmap-read'], timeoutMs: 3000, target: 'kernel' });
    const sim = await run(['--target', 'sim', '--profile', '6.9', '--', './myfs', '{fd}'], report([]));
    expect([sim.code, sim.given?.target, sim.given?.profile]).toEqual([0, 'sim', '6.9']);
  });

  it('exit 1 with an error finding, 0 with warnings only', async () => {
    expect((await run(['--', './myfs', '{fd}'], report([EIO]))).code).toBe(1);
    expect((await run(['--', './myfs', '{fd}'], report([{ ...EIO, level: 'warn' }]))).code).toBe(0);
  });

  for (const [argv, why] of [
    [['./myfs'], /the daemon command goes after --|no daemon command/],
    [['--'], /no daemon command/],
    [['--profile', 'all', '--', 'x', '{fd}'], /--profile all goes with --target sim/],
    [['--target', 'qemu', '--', 'x', '{fd}'], /--target "qemu": expected kernel, sim or both/],
    [['--target', 'sim', '--', 'x', '/mnt'], /--target sim needs \{fd\}/],
    [['--inject', 'backing-open#0=ELOOP', '--', 'x'], /counted from 1/],
    [['--inject', 'backing-open=EWHAT', '--', 'x'], /unknown errno EWHAT/],
    [['--scenarios', 'nope', '--', 'x'], /unknown scenario nope/],
    [['--timeout', 'soon', '--', 'x'], /expected a duration/],
    [['--profile', '5.4', '--', 'x'], /--profile "5.4": expected one of 6.18, 6.12, 6.9, nopt/],
    [['--frob', '--', 'x'], /unknown option --frob/],
  ] as [string[], RegExp][]) {
    it(`bad arguments ${argv.join(' ')}: one line, exit 2, nothing run`, async () => {
      const r = await run(argv, report([]));
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(why);
      expect(r.given).toBeNull();
    });
  }

  it('a daemon that could not be checked: one line, exit 2', async () => {
    const r = await run(['--', './myfs', '{fd}'], { problem: 'the daemon exited (status 1) before answering INIT' });
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['fusepass check: the daemon could not be checked: the daemon exited (status 1) before answering INIT']);
  });

  it('--json FILE writes a schema-valid JSON report, Markdown and HTML with linked check ids (bundled index, no network), and JUnit failing the scenario with the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fusepass-check-cli-'));
    const file = join(dir, 'r.json');
    const r = await run(['--json', file, '--', './myfs', '{fd}'], report([EIO]));
    expect(r.code).toBe(1);
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(checkReportSchemaErrors(json)).toEqual([]);
    const md = readFileSync(join(dir, 'r.md'), 'utf8');
    expect(md).toContain('[IOM-2](#check-IOM-2)');
    expect(md).toContain('<a id="check-IOM-2"></a>IOM-2');
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    expect(html).toMatch(/<a class="chk" href="#check-IOM-2"/);
    expect(html).toContain('<tr id="check-IOM-2">');
    expect(html).not.toMatch(/<script src=|https?:\/\//);
    const junit = readFileSync(join(dir, 'r.junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuite [^>]*tests="3" failures="1"/); // mount, read, mmap-read
    expect(junit).toMatch(/<testcase name="read"[^>]*>\s*<failure message="\[IOM-2, OPEN-6\] open of data failed with EIO"/);
  });

  it('--json - prints the JSON alone on stdout and the summary on stderr', async () => {
    const r = await run(['--json', '-', '--', './myfs', '{fd}'], report([]));
    expect(JSON.parse(r.out.join('\n')).tool).toBe('fusepass check');
    expect(r.err.some((l) => l.startsWith('summary:'))).toBe(true);
  });

  it('an unwritable --json fails before the daemon is run', async () => {
    const r = await run(['--json', '/nonexistent-dir/r.json', '--', './myfs', '{fd}'], report([]));
    expect(r.code).toBe(2);
    expect(r.given).toBeNull();
    expect(r.err[0]).toMatch(/cannot write the report \/nonexistent-dir\/r\.json: ENOENT/);
    expect(existsSync('/nonexistent-dir/r.json')).toBe(false);
  });
});
