// Which check of an explanation decided a failed step: the one whose spec result names the
// errno (or the internal errno hidden behind an EIO, OBS-11). Shared by `explain` and by
// `check`'s findings, so both name the same check for the same answer.
import { CHECKS, type CheckId } from './check-ids.ts';
import type { Errno } from './errno.ts';

const word = (s: string) => new RegExp(`\\b${s}\\b`);

/** The check whose spec result names the errno (or the hidden cause): the one that decided. */
export function decidingCheck(checks: readonly CheckId[], errno: Errno | null, cause?: Errno): CheckId | undefined {
  if (errno === null) return undefined;
  const names = cause !== undefined ? [cause, errno] : [errno];
  for (const n of names) {
    const hit = checks.find((id) => id !== 'OBS-11' && word(n).test(CHECKS[id].result));
    if (hit) return hit;
  }
  return undefined;
}
