// The doctor's side of the probe: run real-kernel/doctor/probe-child.ts in a private mount
// namespace (`unshare --mount --propagation private`), under a deadline. On timeout, abort the
// child's FUSE connections (through fusectl as its namespace shows it, /proc/<pid>/root) and
// kill it, so nothing is left behind in the host namespace.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeArgs, ownModule } from '../host/runtime.ts';
import { probeScratchDir, type ProbeRequest, type ProbeResult } from './types.ts';

const PROBE_CHILD = fileURLToPath(ownModule('./probe-child', import.meta.url));

function abortFuseOf(pid: number): void {
  try {
    for (const l of fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
      if (!/ - fuse(\.\S+)? /.test(l)) continue;
      const conn = Number(l.split(' ')[2]?.split(':')[1]);
      try {
        fs.writeFileSync(`/proc/${pid}/root/sys/fs/fuse/connections/${conn}/abort`, '1');
      } catch {
        /* gone already */
      }
    }
  } catch {
    /* the child is gone */
  }
}

export function runProbe(request: ProbeRequest, timeoutMs = 20_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', process.execPath, ...nodeArgs(), PROBE_CHILD, JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FUSEPASS_DOCTOR_PARENT: String(process.pid) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const kill = () => {
      if (child.pid !== undefined) abortFuseOf(child.pid);
      child.kill('SIGKILL');
    };
    const onExit = () => kill();
    process.once('exit', onExit);
    const timer = setTimeout(() => {
      kill();
      resolve({ error: `the probe did not finish within ${timeoutMs} ms (killed; its FUSE connections aborted)`, registrations: [] });
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      process.off('exit', onExit);
      resolve({ error: `cannot start the probe: ${e.message}`, registrations: [] });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', onExit);
      if (child.pid !== undefined) fs.rmSync(probeScratchDir(child.pid), { recursive: true, force: true });
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as ProbeResult);
      } catch {
        const why = stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit ${signal ?? code}`;
        resolve({ error: `the probe failed: ${why}`, registrations: [] });
      }
    });
  });
}
