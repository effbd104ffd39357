// Starting a namespace child's guardian (guardian.sh): a process in the host namespace that
// outlives the child by moments, removes its disk dir and aborts its FUSE connections if its
// death hangs on them. It ignores terminal signals and runs in its own session, so a ^C to the
// runner does not stop it. Used by the kernel target's child and by `fusepass check`'s child.
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConnId } from './fusectl.ts';

const GUARDIAN = fileURLToPath(new URL('./guardian.sh', import.meta.url));

/** Guard `dir` (created here) for this process, whose runner is `runnerPid`. */
export function startGuardian(dir: string, runnerPid: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${dir}/conns`, '');
  const trace = process.env.FUSEPASS_GUARDIAN_TRACE;
  const guardian = spawn('sh', [...(trace ? ['-x'] : []), GUARDIAN, String(process.pid), runnerPid, dir], {
    stdio: ['ignore', 'ignore', trace ? fs.openSync(`${trace}.${process.pid}`, 'w') : 'ignore'],
    detached: true,
  });
  guardian.unref();
}

/**
 * Tell the guardian which connections are ours, as "<N> <fusectl dir inode>" lines recorded when
 * each was made: numbers are reused at once when a connection is freed (maybe by another run),
 * fusectl inodes are not, and the guardian aborts only where both still match.
 */
export function publishConnections(dir: string, conns: readonly ConnId[]): void {
  fs.writeFileSync(`${dir}/conns`, conns.map((c) => `${c.n} ${c.ino}\n`).join(''));
}
