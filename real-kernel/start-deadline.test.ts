// The namespace child's start deadline is configurable (FUSEPASS_START_DEADLINE_MS: a kernel
// under emulation starts it in 9-29 s), and a run that asked for the kernel never falls back to
// the sim silently when the child does not start in time.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { staticUnavailableReason } from './host/availability.ts';

const CLI = fileURLToPath(new URL('../bin/fusepass.js', import.meta.url));
const reason = staticUnavailableReason();

describe.skipIf(reason !== null && process.env.FUSEPASS_REQUIRE_KERNEL !== '1')('namespace child start deadline', () => {
  it('--target both with a start deadline too short to meet: one line naming the deadline and the variable, exit 1', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--target', 'both', 'bopen-success-returns-positive-id'], {
      encoding: 'utf8',
      env: { ...process.env, FUSEPASS_START_DEADLINE_MS: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--target both needs the kernel target, which is unavailable here: .*did not start within 1 ms .*FUSEPASS_START_DEADLINE_MS/);
    expect(r.stdout).not.toMatch(/PASS/);
  });
});
