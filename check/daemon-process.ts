// Starting the daemon under test: resolve its command, start check/launcher.mjs with the
// daemon's fds in place (the session socket at the fd number `{fd}` names), take a copy of the
// seccomp listener the launcher installs, and let it exec the daemon. Its output goes to a log
// the report quotes when the daemon dies.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sys } from '../real-kernel/ffi/libc.ts';
import { filterProgram } from './seccomp.ts';

const LAUNCHER = fileURLToPath(new URL('./launcher.mjs', import.meta.url));

export class LaunchError extends Error {}

/** The executable a command name runs, as execvp would find it; a LaunchError when none. */
export function resolveCommand(cmd: string, envPath: string = process.env.PATH ?? '/usr/bin:/bin'): string {
  const candidates = cmd.includes('/') ? [path.resolve(cmd)] : envPath.split(':').filter(Boolean).map((d) => path.join(d, cmd));
  for (const c of candidates) {
    try {
      const st = fs.statSync(c);
      if (st.isFile()) {
        fs.accessSync(c, fs.constants.X_OK);
        return c;
      }
    } catch {
      /* try the next */
    }
  }
  throw new LaunchError(cmd.includes('/') ? `the daemon ${cmd} does not exist or is not executable` : `the daemon command ${cmd} is not in PATH`);
}

export interface DaemonProcess {
  proc: ChildProcess;
  pid: number;
  /** Our copy of the seccomp listener (close-on-exec). */
  listener: number;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `argv` (argv[0] resolved) with `session.fd` at fd number `session.at` in the daemon (or
 * without a session: mount mode, the daemon mounts by itself), and return once it is past the
 * filter installation (the exec follows at once).
 */
export async function launchDaemon(argv: readonly string[], session: { fd: number; at: number } | null, logFile: string, timeoutMs: number): Promise<DaemonProcess> {
  const exe = resolveCommand(argv[0]!);
  // Reads of every fd are trapped: the relay recognises a session by what the fd is, and a
  // session cloned later (FUSE_DEV_IOC_CLONE) gets a number nobody knows now.
  const log = fs.openSync(logFile, 'w');
  const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', log, log, 'pipe'];
  if (session) {
    while (stdio.length < session.at) stdio.push('ignore');
    stdio[session.at] = session.fd;
  }
  const proc = spawn(process.execPath, [LAUNCHER, exe, ...argv], {
    stdio,
    env: { ...process.env, FUSEPASS_SECCOMP_FILTER: Buffer.from(filterProgram(null)).toString('hex'), FUSEPASS_SECCOMP_KEEP_FDS: session ? `0,1,2,${session.at}` : '0,1,2' },
  });
  fs.closeSync(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const ctl = proc.stdio[3] as unknown as Duplex;
  const first = await new Promise<string>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve('error the launcher did not report within the deadline'), timeoutMs);
    ctl.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.split('\n')[0]!);
      }
    });
    void exited.then(() => resolve(text.split('\n')[0] || 'error the launcher exited before installing the filter'));
  });
  const m = /^listener (\d+)$/.exec(first);
  if (!m || proc.pid === undefined) {
    proc.kill('SIGKILL');
    throw new LaunchError(first.replace(/^error /, ''));
  }
  const listener = sys.takeFd(proc.pid, Number(m[1]));
  if (listener < 0) {
    proc.kill('SIGKILL');
    throw new LaunchError(`cannot take the daemon's seccomp listener (pidfd_getfd: errno ${-listener})`);
  }
  ctl.write('1');
  return { proc, pid: proc.pid, listener, logFile, exited };
}

/** SIGKILL the daemon's process group (it leads one, launcher.mjs): whatever it started goes too. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* the group is gone */
  }
}

/** The last lines of the daemon's log, for a report. */
export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}
