// SIGINT and SIGTERM for the long-running commands (run, fuzz): the first asks the work to stop
// at the next safe point so the command can write what it has (a partial report, the fuzz
// statistics) and exit 130 or 143, as a shell expects of a process the signal ended; a second
// one ends the process at once.
import { readFileSync } from 'node:fs';

export interface Interrupt {
  /** The signal received, or null. */
  readonly signal: NodeJS.Signals | null;
  /** 130 after SIGINT, 143 after SIGTERM. */
  exitCode(): number;
  dispose(): void;
}

/** The parent of `pid` from /proc, or null. */
function ppidOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * Under `npx` the command runs as npm → sh -c → node: a signal to npm kills the shell and left
 * node running to the end of its work, and a killed npm left both. So the end of the shell
 * (PR_SET_PDEATHSIG) and the end of npm (the shell re-parented) count as SIGTERM.
 */
function followLauncher(): () => void {
  try {
    void import('../real-kernel/ffi/libc.ts').then(({ sys }) => sys.prctl(1 /* PR_SET_PDEATHSIG */, 15 /* SIGTERM */)).catch(() => undefined);
  } catch {
    /* no koffi here: only the signals themselves stop the work */
  }
  if (process.env['npm_command'] !== 'exec') return () => undefined;
  const parent = process.ppid;
  const launcher = ppidOf(parent);
  const timer = setInterval(() => {
    if (ppidOf(parent) !== launcher) process.kill(process.pid, 'SIGTERM');
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

export function onInterrupt(note: (line: string) => void): Interrupt {
  let signal: NodeJS.Signals | null = null;
  const unfollow = followLauncher();
  const handler = (sig: NodeJS.Signals) => {
    if (signal !== null) process.exit(sig === 'SIGINT' ? 130 : 143);
    signal = sig;
    note(`${sig}: stopping at the next safe point to write what there is (${sig} again ends at once)`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get signal() {
      return signal;
    },
    exitCode: () => (signal === 'SIGINT' ? 130 : 143),
    dispose: () => {
      unfollow();
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
