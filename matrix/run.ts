// `npm run matrix`: the case library replayed with `--target both` on the kernels people run,
// each a Debian kernel package booted under QEMU (TCG), on the profile that names it. Per kernel:
// apt-get download the newest package of the series (cached), unpack it, build an initramfs
// (build-initramfs.sh: busybox + the modules the guest needs), copy this project onto an ext4
// scratch disk (mkfs.ext4 -d, no root needed), boot with the host's / read-only over 9p
// (init.sh, then stage2.sh), and read the run's report back from the disk (debugfs). Prints a
// line per kernel naming its release; exits 1 when a kernel did not finish, or a case failed or
// diverged without explanation there.
//   npm run matrix [-- --kernels 6.12] [--timeout 20m] [--cases FILE ...]
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ProfileName } from '../spec/case.ts';
import type { Report } from '../reports/report.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROJECT = path.resolve(HERE, '..');
const CACHE = path.join(process.env.FUSEPASS_CACHE ?? '/var/tmp/fusepass-cache', 'matrix');
const ENV = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };

interface KernelSpec {
  /** The series, as --kernels names it. */
  name: string;
  /** Debian package names of the series; the newest is booted. */
  pkg: RegExp;
  /** The profile whose model the kernel is compared with. */
  profile: ProfileName;
}

export const KERNELS: readonly KernelSpec[] = [
  { name: '6.12', pkg: /^linux-image-6\.12\.\d+\+deb12-amd64-unsigned$/, profile: '6.12' },
  // Debian 12's own kernel: no passthrough at all (the cases of profile 6.1).
  { name: '6.1', pkg: /^linux-image-6\.1\.0-\d+-amd64-unsigned$/, profile: '6.1' },
];

export interface KernelResult {
  name: string;
  package: string;
  /** uname -r in the guest; null when it never got there. */
  release: string | null;
  profile: ProfileName;
  /** The library run's summary, or why there is none. */
  summary: Pick<Report['summary'], 'cases' | 'passed' | 'failed' | 'notApplicable' | 'divergences' | 'unexplainedDivergences'> | null;
  problem: string | null;
  seconds: number;
  /** Cases that failed and passed when the guest played them again (racy under emulation). */
  racy: string[];
}

/**
 * Count a case that failed in the library run but passed when played again as passed, naming it
 * racy: its divergences go from the summary with it.
 */
export function withRetries(summary: NonNullable<KernelResult['summary']>, first: Report, retry: Report | null): { summary: NonNullable<KernelResult['summary']>; racy: string[] } {
  if (retry === null) return { summary, racy: [] };
  const passedAgain = new Set(retry.cases.filter((c) => c.status === 'passed').map((c) => c.id));
  const racy = first.cases.filter((c) => c.status === 'failed' && passedAgain.has(c.id));
  const divergences = racy.reduce((n, c) => n + c.divergences.length, 0);
  const unexplained = racy.reduce((n, c) => n + c.divergences.filter((d) => d.known === undefined).length, 0);
  return {
    summary: { ...summary, passed: summary.passed + racy.length, failed: summary.failed - racy.length, divergences: summary.divergences - divergences, unexplainedDivergences: summary.unexplainedDivergences - unexplained },
    racy: racy.map((c) => c.id),
  };
}

function sh(cmd: string, args: string[], opts: { cwd?: string; timeout?: number } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env: ENV, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
}

/** The newest package of the series apt knows. */
function newestPackage(k: KernelSpec): string {
  const names = sh('apt-cache', ['pkgnames', 'linux-image-']).split('\n').filter((n) => k.pkg.test(n));
  if (names.length === 0) throw new Error(`apt knows no package like ${k.pkg} (apt-get update?)`);
  return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
}

/** The unpacked package and its initramfs, from the cache or fetched now. */
function fetchKernel(pkg: string): { vmlinuz: string; initrd: string } {
  const dir = path.join(CACHE, pkg);
  const initrd = path.join(dir, 'initrd.gz');
  if (!fs.existsSync(initrd)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'deb'), { recursive: true });
    sh('apt-get', ['download', '-q', pkg], { cwd: path.join(dir, 'deb'), timeout: 600_000 });
    const deb = fs.readdirSync(path.join(dir, 'deb')).find((f) => f.endsWith('.deb'))!;
    sh('dpkg-deb', ['-x', path.join(dir, 'deb', deb), path.join(dir, 'root')]);
    fs.rmSync(path.join(dir, 'deb'), { recursive: true, force: true });
    sh('sh', [path.join(HERE, 'build-initramfs.sh'), path.join(dir, 'root'), initrd]);
  }
  const boot = path.join(dir, 'root', 'boot');
  return { vmlinuz: path.join(boot, fs.readdirSync(boot).find((f) => f.startsWith('vmlinuz-'))!), initrd };
}

/** The scratch disk: this project (node_modules included, reports left out), stage2 and its settings. */
function scratchDisk(work: string, profile: ProfileName, cases: readonly string[]): string {
  const staging = path.join(work, 'staging');
  fs.mkdirSync(staging, { recursive: true });
  fs.cpSync(PROJECT, path.join(staging, 'proj'), { recursive: true, filter: (src) => !/\/(\.git|reports\/out)(\/|$)/.test(src.slice(PROJECT.length)) });
  fs.copyFileSync(path.join(HERE, 'stage2.sh'), path.join(staging, 'stage2.sh'));
  fs.writeFileSync(path.join(staging, 'matrix.env'), `PROFILE=${profile}\nCASES='${cases.join(' ')}'\n`);
  const img = path.join(work, 'scratch.img');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, 4 * 2 ** 30); // sparse
  sh('mkfs.ext4', ['-q', '-F', '-d', staging, img]);
  fs.rmSync(staging, { recursive: true, force: true });
  return img;
}

/** Boot the kernel with the disk; the console goes to `log`. Resolves when QEMU exits or the deadline kills it. */
function boot(kernel: { vmlinuz: string; initrd: string }, img: string, log: string, timeoutMs: number): Promise<'exited' | 'deadline'> {
  const args = [
    ...['-machine', 'q35', '-accel', 'tcg,thread=single', '-m', '3072', '-smp', '2', '-nographic', '-no-reboot'],
    ...['-kernel', kernel.vmlinuz, '-initrd', kernel.initrd, '-append', 'console=ttyS0 panic=-1 quiet'],
    // The host's / read-only: node and the system the project runs on; never written.
    ...['-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'],
    ...['-drive', `file=${img},if=virtio,format=raw`],
  ];
  const out = fs.openSync(log, 'w');
  const q = spawn('qemu-system-x86_64', args, { stdio: ['ignore', out, out], env: ENV });
  fs.closeSync(out);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      q.kill('SIGKILL');
      resolve('deadline');
    }, timeoutMs);
    q.once('exit', () => {
      clearTimeout(timer);
      resolve('exited');
    });
  });
}

/** Replay what the guest left in the scratch disk's journal (debugfs reads without it). */
function recoverDisk(img: string): void {
  try {
    sh('e2fsck', ['-fy', img]);
  } catch {
    /* e2fsck exits 1 when it fixed something: the disk is readable now */
  }
}

/** A file the guest wrote to the scratch disk, or null. */
function readBack(img: string, file: string): string | null {
  try {
    const text = sh('debugfs', ['-R', `cat ${file}`, img]);
    return text.length > 0 ? text : null;
  } catch {
    return null;
  }
}

export async function runKernel(k: KernelSpec, timeoutMs: number, outDir: string, cases: readonly string[] = []): Promise<KernelResult> {
  const t0 = Date.now();
  const pkg = newestPackage(k);
  const result: KernelResult = { name: k.name, package: pkg, release: null, profile: k.profile, summary: null, problem: null, seconds: 0, racy: [] };
  const work = fs.mkdtempSync(path.join(CACHE, 'run-'));
  try {
    const kernel = fetchKernel(pkg);
    const img = scratchDisk(work, k.profile, cases);
    const log = path.join(outDir, `matrix-${k.name}-console.log`);
    const how = await boot(kernel, img, log, timeoutMs);
    recoverDisk(img);
    result.release = readBack(img, '/out/release')?.trim() ?? null;
    const report = readBack(img, '/out/report.json');
    const runLog = readBack(img, '/out/run.log');
    if (runLog !== null) fs.writeFileSync(path.join(outDir, `matrix-${k.name}-run.log`), runLog);
    if (report !== null) {
      fs.writeFileSync(path.join(outDir, `matrix-${k.name}.json`), report);
      const first = JSON.parse(report) as Report;
      const s = first.summary;
      const retry = readBack(img, '/out/retry.json');
      if (retry !== null) fs.writeFileSync(path.join(outDir, `matrix-${k.name}-retry.json`), retry);
      const counted = withRetries({ cases: s.cases, passed: s.passed, failed: s.failed, notApplicable: s.notApplicable, divergences: s.divergences, unexplainedDivergences: s.unexplainedDivergences }, first, retry === null ? null : (JSON.parse(retry) as Report));
      result.summary = counted.summary;
      result.racy = counted.racy;
    } else {
      result.problem = how === 'deadline' ? `the guest did not finish within ${timeoutMs / 1000} s (console: ${log})` : `the guest wrote no report (console: ${log})`;
    }
  } catch (e) {
    const err = e as { message?: string; stderr?: string };
    result.problem = [err.message?.split('\n')[0], err.stderr?.trim().split('\n').at(-1)].filter(Boolean).join(': ') || String(e);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    result.seconds = Math.round((Date.now() - t0) / 1000);
  }
  return result;
}

export function kernelLine(r: KernelResult): string {
  const where = `${r.name} (${r.release ?? r.package}) on profile ${r.profile}`;
  if (r.summary === null) return `matrix: ${where}: ${r.problem}`;
  const s = r.summary;
  const racy = r.racy.length === 0 ? '' : ` (${r.racy.length} of them only when played again, racy under emulation: ${r.racy.join(', ')})`;
  return `matrix: ${where}: ${s.passed} passed${racy}, ${s.failed} failed, ${s.notApplicable} not applicable, ${s.divergences} divergences (${s.unexplainedDivergences} unexplained), ${r.seconds} s`;
}

const ok = (r: KernelResult) => r.summary !== null && r.summary.failed === 0 && r.summary.unexplainedDivergences === 0;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { kernels: { type: 'string' }, timeout: { type: 'string' }, cases: { type: 'string', multiple: true } } });
  // Case files by path in this project (they are played from its copy in the guest).
  const cases = (values.cases ?? []).map((c) => path.relative(PROJECT, path.resolve(c)));
  const bad = cases.filter((c) => c.startsWith('..') || !/^[\w./-]+\.json$/.test(c) || !fs.existsSync(path.join(PROJECT, c)));
  if (bad.length > 0) {
    console.error(`matrix: --cases ${bad.join(', ')}: expected case files inside this project`);
    return 2;
  }
  const wanted = values.kernels?.split(',') ?? KERNELS.map((k) => k.name);
  const unknown = wanted.filter((w) => !KERNELS.some((k) => k.name === w));
  if (unknown.length > 0) {
    console.error(`matrix: unknown kernel ${unknown.join(', ')} (expected some of: ${KERNELS.map((k) => k.name).join(', ')})`);
    return 2;
  }
  const minutes = Number(/^(\d+)m$/.exec(values.timeout ?? '20m')?.[1] ?? NaN);
  if (!Number.isFinite(minutes)) {
    console.error(`matrix: --timeout ${values.timeout}: expected minutes such as 20m`);
    return 2;
  }
  try {
    sh('sh', [path.join(HERE, 'install.sh')]);
  } catch (e) {
    console.error(String((e as { stderr?: string }).stderr ?? e).trim());
    return 2;
  }
  fs.mkdirSync(CACHE, { recursive: true });
  const outDir = path.join(PROJECT, 'reports', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const results: KernelResult[] = [];
  for (const k of KERNELS.filter((x) => wanted.includes(x.name))) {
    console.log(`matrix: booting ${k.name} under QEMU (TCG) for the library on profile ${k.profile} ...`);
    const r = await runKernel(k, minutes * 60_000, outDir, cases);
    console.log(kernelLine(r));
    results.push(r);
  }
  fs.writeFileSync(path.join(outDir, 'matrix.json'), `${JSON.stringify({ tool: 'fusepass matrix', kernels: results }, null, 2)}\n`);
  console.log(`matrix: ${results.filter(ok).length}/${results.length} kernels agree with their profile; reports/out/matrix.json`);
  return results.every(ok) ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
