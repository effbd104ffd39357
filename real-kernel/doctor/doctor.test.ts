// `fusepass doctor` on the live kernel: a directory on the disk filesystem (depth 0: max_stack_depth
// 1, STACK-3; overlayfs can go over the FUSE mount, STACK-2) and a directory on an overlayfs mount
// built inside a private mount namespace (depth 1: ELOOP with msd 1, works with msd 2, STACK-4/5;
// overlayfs cannot go over a msd-2 FUSE mount, STACK-2). Nothing may be left mounted on the host.
// Skips without root, /dev/fuse or unshare; FUSEPASS_REQUIRE_KERNEL=1 turns the skip into a failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { staticUnavailableReason } from '../host/availability.ts';

const reason = staticUnavailableReason();
if (reason && process.env['FUSEPASS_REQUIRE_KERNEL'] === '1') throw new Error(`FUSEPASS_REQUIRE_KERNEL=1 but ${reason}`);
if (reason) console.warn(`doctor kernel tests skipped: ${reason}`);

const BIN = fileURLToPath(new URL('../../bin/fusepass.js', import.meta.url));
const TSX = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/loader.mjs')).href;

interface DoctorJson {
  works: boolean;
  verdict: string;
  depth?: number | string;
  maxStackDepth?: number;
  underOverlay?: boolean;
  checks: string[];
}

const hostMounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
const before = reason ? '' : hostMounts();
const scratch: string[] = [];

afterAll(() => {
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

describe.skipIf(reason !== null)('fusepass doctor on the live kernel', () => {
  it('STACK-3: a directory on the disk filesystem works with max_stack_depth 1, overlayfs may go on top (STACK-2)', () => {
    const dir = fs.mkdtempSync(path.join('/var/tmp', 'fusepass-doctor-disk-'));
    scratch.push(dir);
    fs.writeFileSync(path.join(dir, 'backing'), 'B'.repeat(4096));
    const r = spawnSync(process.execPath, ['--import', TSX, BIN, 'doctor', dir, '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as DoctorJson;
    expect(d).toMatchObject({ works: true, depth: 0, maxStackDepth: 1, underOverlay: true });
    expect(d.verdict).toBe(`passthrough will work for backing files under ${dir} with max_stack_depth 1; the FUSE mount can sit under overlayfs.`);
    expect(d.checks).toEqual(expect.arrayContaining(['INIT-1', 'BOPEN-10', 'BOPEN-13', 'STACK-3']));
    // the file the probe registered is unchanged and nothing was created beside it
    expect(fs.readdirSync(dir)).toEqual(['backing']);
  }, 90_000);

  it('STACK-4/5: a directory on overlayfs needs max_stack_depth 2, and then overlayfs cannot go on top (STACK-2)', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'fusepass-doctor-ovl-'));
    scratch.push(base);
    // The overlay exists only in this private mount namespace; doctor runs inside it.
    const script = [
      'set -e',
      `mount -t tmpfs fusepass-doctor-test "${base}"`,
      `mkdir "${base}/l" "${base}/u" "${base}/w" "${base}/m"`,
      `echo data > "${base}/l/f"`,
      `mount -t overlay overlay -o lowerdir="${base}/l",upperdir="${base}/u",workdir="${base}/w" "${base}/m"`,
      `exec "${process.execPath}" --import "${TSX}" "${BIN}" doctor "${base}/m" --json`,
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as DoctorJson;
    expect(d).toMatchObject({ works: true, depth: 1, maxStackDepth: 2, underOverlay: false });
    expect(d.verdict).toContain(`under ${base}/m with max_stack_depth 2`);
    expect(d.checks).toEqual(expect.arrayContaining(['BOPEN-10', 'STACK-4', 'STACK-5', 'STACK-2']));
    // the overlay and its tmpfs lived only in the namespace
    expect(fs.readdirSync(base)).toEqual([]);
  }, 90_000);

  it('the human output ends in a verdict and check ids; exit 0', () => {
    const dir = fs.mkdtempSync(path.join('/var/tmp', 'fusepass-doctor-text-'));
    scratch.push(dir);
    fs.writeFileSync(path.join(dir, 'f'), 'x');
    const out = execFileSync(process.execPath, ['--import', TSX, BIN, 'doctor', dir], { encoding: 'utf8', timeout: 60_000 });
    expect(out).toMatch(/FUSE_PASSTHROUGH +offered in INIT 7\.\d+/);
    expect(out).toMatch(/^verdict: passthrough will work for backing files under .* with max_stack_depth 1/m);
    expect(out).toMatch(/^checks: .*BOPEN-10/m);
  }, 90_000);

  it('SIGKILL of the doctor while its probe runs leaves no scratch dir (the probe has a guardian)', async () => {
    const probeDirs = () => fs.readdirSync('/var/tmp').filter((n) => /^fusepass-doctor-\d+$/.test(n));
    const existing = new Set(probeDirs());
    const child = spawn(process.execPath, ['--import', TSX, BIN, 'doctor', '/var/tmp'], { stdio: 'ignore' });
    const end = Date.now() + 20_000;
    while (Date.now() < end && probeDirs().every((d) => existing.has(d))) await new Promise((r) => setTimeout(r, 10));
    const mine = probeDirs().filter((d) => !existing.has(d));
    expect(mine.length).toBe(1);
    child.kill('SIGKILL');
    const gone = Date.now() + 20_000;
    while (Date.now() < gone && fs.existsSync(`/var/tmp/${mine[0]}`)) await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(`/var/tmp/${mine[0]}`)).toBe(false);
  }, 60_000);

  it('leaves no mount behind in the host namespace', () => {
    const after = hostMounts();
    expect(after).not.toContain('fusepass-doctor');
    const stacked = (m: string) => m.split('\n').filter((l) => / - (fuse|overlay)/.test(l));
    const fresh = stacked(after).filter((l) => !stacked(before).includes(l));
    expect(fresh).toEqual([]);
  });
});
