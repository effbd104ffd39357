// The explanation trail of one kernel operation: which spec checks it passed through, in order,
// which kernel functions ran, and the internal errno the kernel hides behind EIO (OBS-11).
import type { CheckId } from '../spec/check-ids.ts';
import type { Errno } from '../spec/errno.ts';
import type { Explanation } from '../spec/observation.ts';

export class Trace {
  readonly checks: CheckId[] = [];
  readonly functions: string[] = [];
  cause: Errno | undefined;
  advice: string | undefined;

  /** Record that the operation passed (or was decided by) check `id`. */
  pass(id: CheckId): void {
    // Length first: reading checks[-1] of an empty list is a slow property lookup in V8 (a
    // negative index is no array index), and every call's first check came here.
    const n = this.checks.length;
    if (n === 0 || this.checks[n - 1] !== id) this.checks.push(id);
  }

  /** Record entry into a kernel function (kernel spelling, e.g. fuse_backing_open). */
  fn(name: string): void {
    if (!this.functions.includes(name)) this.functions.push(name);
  }

  /** A check failed with `errno`: record it and return the errno for the caller to propagate. */
  fail(errno: Errno, id: CheckId, advice?: string): Errno {
    this.pass(id);
    if (advice !== undefined && this.advice === undefined) this.advice = advice;
    return errno;
  }

  /**
   * A generic VFS error outside the passthrough path (no spec check decides it): name the
   * kernel function and say why, so no errno is left unexplained.
   */
  vfs(errno: Errno, fn: string, advice: string): Errno {
    this.fn(fn);
    this.advice ??= advice;
    return errno;
  }

  /** Take over what a side trace recorded (its outcome turned out to matter after all). */
  absorb(o: Trace): void {
    for (const c of o.checks) this.pass(c);
    for (const f of o.functions) this.fn(f);
    this.cause ??= o.cause;
    this.advice ??= o.advice;
  }

  /** Remember the internal errno hidden behind a later EIO (OBS-11). */
  hide(cause: Errno): void {
    this.cause ??= cause;
  }

  /** The explanation; it takes the trace's own lists, so call it once, when the call is over. */
  toExplanation(): Explanation {
    // OBS-11 (the hidden internal errno) closes the list of the checks that produced it.
    if (this.cause !== undefined && !this.checks.includes('OBS-11')) this.checks.push('OBS-11');
    const e: Explanation = { checks: this.checks, functions: this.functions };
    if (this.cause !== undefined) e.cause = this.cause;
    if (this.advice !== undefined) e.advice = this.advice;
    return e;
  }
}
