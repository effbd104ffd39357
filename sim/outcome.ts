// What one modelled syscall returns before the facade wraps it with requests and events.
import type { Errno } from '../spec/errno.ts';
import type { TargetFault } from '../spec/observation.ts';

export interface Outcome {
  errno: Errno | null;
  value?: number | string | null;
  /** The step could not complete (e.g. it would sleep forever, DEV-5). */
  fault?: TargetFault;
}

export const ok = (value?: number | string | null): Outcome => (value === undefined ? { errno: null } : { errno: null, value });
export const err = (errno: Errno): Outcome => ({ errno });

/** A step the harness could not carry out (an unknown name): not a kernel answer. */
export const setupFault = (message: string): Outcome => ({ errno: null, fault: { kind: 'setup', message } });
