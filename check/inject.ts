// --inject rules: fusepass answers the daemon's n-th backing ioctl with an errno instead of
// performing it, to show the daemon a failure the kernel gives elsewhere (ELOOP from a stacked
// backing file, BOPEN-10; EPERM without CAP_SYS_ADMIN, BOPEN-5).
import { ERRNO } from '../spec/errno.ts';

export interface Injection {
  op: 'backing-open' | 'backing-close';
  /** 1-based call number; null: every call. */
  seq: number | null;
  errno: number;
}

const RULE = /^(backing-open|backing-close)(?:#(\d+))?=([A-Z0-9]+)$/;

/** Parse `backing-open#2=ELOOP` (or `backing-close=ENOENT`, every call); a message when bad. */
export function parseInjection(text: string): Injection | string {
  const m = RULE.exec(text);
  if (!m) return `--inject ${JSON.stringify(text)}: expected <backing-open|backing-close>[#N]=<ERRNO>, e.g. backing-open#2=ELOOP`;
  const errno = (ERRNO as Record<string, number>)[m[3]!];
  if (errno === undefined) return `--inject ${JSON.stringify(text)}: unknown errno ${m[3]} (expected a name such as ELOOP, EPERM, EIO)`;
  const seq = m[2] === undefined ? null : Number(m[2]);
  if (seq === 0) return `--inject ${JSON.stringify(text)}: calls are counted from 1`;
  return { op: m[1] as Injection['op'], seq, errno };
}

