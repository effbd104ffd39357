// Who ran a `fusepass run`, for the readable reports' environment table (the JSON report does
// not record it). Read here, in the CLI, so that reports/ only formats what it is given.
// real-kernel/doctor/machine.ts reads the same CapEff line for the doctor's verdict.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { getuid } from 'node:process';
import type { EnvironmentExtra } from '../reports/view.ts';

/** CAP_SYS_ADMIN (bit 21) in the effective set, from /proc/self/status; null if unreadable. */
function hasCapSysAdmin(): boolean | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? (BigInt(`0x${m[1]}`) & (1n << 21n)) !== 0n : null;
  } catch {
    return null;
  }
}

/** uid and CAP_SYS_ADMIN of this process, and the host name. */
export function runEnvironment(): EnvironmentExtra {
  const uid = getuid?.();
  const cap = hasCapSysAdmin();
  const who = uid === undefined ? 'unknown user' : uid === 0 ? 'root (uid 0)' : `uid ${uid}`;
  const caps = cap === null ? '' : cap ? ', CAP_SYS_ADMIN' : ', no CAP_SYS_ADMIN';
  return { privileges: `${who}${caps}`, host: hostname() };
}
