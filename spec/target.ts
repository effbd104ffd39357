// The Target interface: what the runner needs from the sim and from the running kernel.
import type { Case, ProfileName, Step } from './case.ts';
import type { Observation } from './observation.ts';

export type TargetName = 'sim' | 'kernel';

export interface TargetInfo {
  name: TargetName;
  profile: ProfileName;
  /** uname release for the kernel target, null for the sim. */
  kernelRelease: string | null;
}

export interface Target {
  readonly name: TargetName;
  /** null when the target can run cases here; otherwise a one-line reason. */
  unavailable(): Promise<string | null>;
  info(): Promise<TargetInfo>;
  /** Build the case's world (nothing mounted yet: mounting is a step). */
  start(kase: Case): Promise<CaseSession>;
  /** Release anything the target holds across cases (worker pools, namespaces). */
  dispose?(): Promise<void>;
}

export interface CaseSession {
  /** Play one step and observe it, settled (asynchronous RELEASE and deferred fput included). */
  apply(step: Step, index: number): Promise<Observation>;
  /**
   * Tear the world down in a fixed order (client fds and maps, umount, daemon fds, /dev/fuse
   * fds) and observe what that released (LIFE-23). Always safe to call, also after a fault.
   */
  finish(): Promise<Observation>;
}
