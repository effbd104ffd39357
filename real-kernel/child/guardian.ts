// A namespace child's first steps, and its guardian (guardian.sh): a process in the host namespace that
// outlives the child by moments, removes its disk dir and aborts its FUSE connections if its
// death hangs on them. It ignores terminal signals and runs in its own session, so a ^C to the
// runner does not stop it. Used by the kernel target's child and by `fusepass check`'s child.
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConnId } from './fusectl.ts';
import { sys } from '../ffi/libc.ts';
import { PR_SET_PDEATHSIG } from '../ffi/consts.ts';

const SIGKILL = 9;

/**
 * The first thing a namespace child does (the kernel target's, fusepass check's): die with its
 * parent, leave terminal signals to it, refuse to go on outside a private mount namespace, and
 * mount fusectl there only.
 * Returns the reason to stop, or null.
 */
export function enterNamespaceChild(): string | null {
  sys.prctl(PR_SET_PDEATHSIG, SIGKILL);
  // ^C and `timeout` signal the whole process group: the parent decides when this child ends
  // (it finishes the case in flight, then quits it), and it dies with the parent regardless.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  if (String(sys.getppid()) !== process.env.FUSEPASS_PARENT_PID) return 'parent already gone';
  if (fs.readlinkSync('/proc/self/ns/mnt') === fs.readlinkSync(`/proc/${sys.getppid()}/ns/mnt`)) return 'not in a private mount namespace; refusing to mount anything';
  if (!fs.existsSync('/sys/fs/fuse/connections/') || fs.readdirSync('/sys/fs/fuse/connections').length === 0) {
    sys.mount('fusectl', '/sys/fs/fuse/connections', 'fusectl', 0, null);
  }
  return null;
}

const GUARDIAN = fileURLToPath(new URL('./guardian.sh', import.meta.url));

/** Guard `dir` (created here) for this process, whose runner is `runnerPid`. */
export function startGuardian(dir: string, runnerPid: string): void {
  // The runner's mount namespace (the host's), held open for the guardian: it moves there
  // before it waits, even if the runner is gone by the time it starts (guardian.sh).
  let hostNs: number | 'ignore' = 'ignore';
  try {
    hostNs = fs.openSync(`/proc/${runnerPid}/ns/mnt`, 'r');
  } catch {
    /* the runner is gone already: the guardian stays where it is */
  }
  const trace = process.env.FUSEPASS_GUARDIAN_TRACE;
  const guardian = spawn('sh', [...(trace ? ['-x'] : []), GUARDIAN, String(process.pid), runnerPid, dir], {
    stdio: ['ignore', 'ignore', trace ? fs.openSync(`${trace}.${process.pid}`, 'w') : 'ignore', hostNs],
    detached: true,
    env: { ...process.env, FUSEPASS_GUARDIAN_NS_FD: hostNs === 'ignore' ? '' : '3' },
  });
  if (typeof hostNs === 'number') fs.closeSync(hostNs);
  guardian.unref();
  // The directory only once the guardian watches: killed between the two, we leave nothing (a
  // SIGKILL right after the directory appeared left it behind on a loaded machine).
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${dir}/conns`, '');
}

/**
 * Tell the guardian which connections are ours, as "<N> <fusectl dir inode>" lines recorded when
 * each was made: numbers are reused at once when a connection is freed (maybe by another run),
 * fusectl inodes are not, and the guardian aborts only where both still match.
 */
export function publishConnections(dir: string, conns: readonly ConnId[]): void {
  fs.writeFileSync(`${dir}/conns`, conns.map((c) => `${c.n} ${c.ino}\n`).join(''));
}
