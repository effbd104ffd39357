// The direct half of `npm run bench check` (started by bench/check.ts under `unshare --mount`):
// passthrough_hp mounts by itself on a real /dev/fuse, no relay, and the same workload runs on
// its mount. Prints one JSON line: the WorkloadResult, or { problem }.
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { sys } from '../real-kernel/ffi/libc.ts';
import { ensureBenchFile, runWorkload, type WorkloadOptions } from '../check/workload.ts';

const [hp, optsJson] = process.argv.slice(2);
const opts = JSON.parse(optsJson!) as WorkloadOptions;
const dir = `/var/tmp/fusepass-bench-${process.pid}`;
fs.mkdirSync(`${dir}/src`, { recursive: true });
fs.mkdirSync(`${dir}/mnt`);
ensureBenchFile(`${dir}/src`, opts.readMiB);
const daemon = spawn(hp!, ['--foreground', '--nocache', `${dir}/src`, `${dir}/mnt`], { stdio: 'ignore', detached: true });
const kill = () => {
  try {
    process.kill(-daemon.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
};
process.on('exit', () => {
  kill();
  fs.rmSync(dir, { recursive: true, force: true });
});
const mounted = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(`${dir}/mnt `);
const end = Date.now() + 10_000;
while (!mounted() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
if (!mounted()) {
  console.log(JSON.stringify({ problem: 'passthrough_hp did not mount within 10 s' }));
  process.exit(0);
}
try {
  console.log(JSON.stringify(runWorkload(`${dir}/mnt`, opts)));
} catch (e) {
  console.log(JSON.stringify({ problem: e instanceof Error ? e.message : String(e) }));
}
sys.umount2(`${dir}/mnt`, 2);
