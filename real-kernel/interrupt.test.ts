// ^C (SIGINT to the whole process group) during `fusepass run --target both`: the namespace
// child leaves the signal to the runner, the case in flight finishes, the partial report is
// written with what played, the exit status is 130, and nothing is left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { staticUnavailableReason } from './host/availability.ts';

const CLI = fileURLToPath(new URL('../bin/fusepass.js', import.meta.url));
const reason = staticUnavailableReason();

describe.skipIf(reason !== null && process.env.FUSEPASS_REQUIRE_KERNEL !== '1')('fusepass run interrupted', () => {
  it('SIGINT to the process group mid-run: partial report, no case failed by the signal, exit 130, no child or work dir left', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'fusepass-int-')), 'r.json');
    const child = spawn(process.execPath, [CLI, 'run', '--target', 'both', '--json', json], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.resume();
    while (!/\[ *10\/\d+\]/.test(err)) await new Promise((r) => setTimeout(r, 50));
    process.kill(-child.pid!, 'SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(130);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { summary: { cases: number; kernelNote?: string }; cases: { status: string }[] };
    expect(report.summary.kernelNote).toMatch(/interrupted by SIGINT after \d+ of \d+ cases/);
    expect(report.cases.length).toBeGreaterThanOrEqual(10);
    expect(err).not.toMatch(/child exited \(SIGINT\)/);
    expect(report.cases.filter((c) => c.status === 'failed')).toEqual([]);
    // The namespace child's work dir goes with it (its guardian removes it).
    const end = Date.now() + 10_000;
    const leftovers = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => / fuse/.test(l) && !l.startsWith('fusectl'));
    while (Date.now() < end && leftovers().length > 0) await new Promise((r) => setTimeout(r, 100));
    expect(leftovers()).toEqual([]);
    expect(existsSync(json.replace(/\.json$/, '.md'))).toBe(true);
  }, 90_000);
});
