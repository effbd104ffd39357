// What the runner produces for one case: per-target step observations, the failures found,
// and the divergences between targets. Reports (reports/) only format these.
import type { CheckId } from '../spec/check-ids.ts';
import type { ProfileName, Step, StepOp } from '../spec/case.ts';
import type { Observation } from '../spec/observation.ts';
import type { TargetName } from '../spec/target.ts';

/**
 * - `passed` / `failed`: played; failed when a target failed or a divergence is unexplained
 * - `error`: the case file is broken (see `LoadError`), nothing was played
 * - `notApplicable`: the case's `profiles` exclude every target's profile
 * - `skipped`: nothing could play it (a simOnly case with only the kernel target selected)
 */
export type CaseStatus = 'passed' | 'failed' | 'error' | 'notApplicable' | 'skipped';

export type TargetRunStatus = 'passed' | 'failed' | 'notApplicable' | 'skipped';

/**
 * One step as one target played it. Pseudo-steps: op `finish` (index = steps.length) for the
 * teardown, op `start` (index -1) when building the world failed.
 */
export interface StepResult {
  index: number;
  op: StepOp | 'start' | 'finish';
  observation: Observation;
  /** Why this step fails the case on this target (expectation, missing check, fault); empty if none. */
  failures: string[];
}

export interface TargetRun {
  target: TargetName;
  profile: ProfileName;
  status: TargetRunStatus;
  /** Why the run was skipped or not applicable. */
  reason?: string;
  /** Steps played, in order; stops after a fault; ends with the `finish` pseudo-step. */
  steps: StepResult[];
}

/** Observation fields compared between targets (never `explain`). */
export type DivergenceField = 'errno' | 'value' | 'requests' | 'allRequests' | 'events' | 'innerRequests' | 'mountRequests' | 'fault';
/** A compared field's value: errno name, value, request/event list, fault text, or null. */
export type ObservedValue = string | number | string[] | null;

export type KnownDivergenceKind = 'kernel-bug' | 'unobservable';

export interface Divergence {
  /** Step index; steps.length for the `finish` teardown. */
  step: number;
  op: StepOp | 'start' | 'finish';
  field: DivergenceField;
  sim: ObservedValue;
  kernel: ObservedValue;
  /** Set when conformance/known-divergences.json explains it. */
  known?: { reason: string; kind: KnownDivergenceKind };
}

export interface CaseResult {
  id: string;
  /** The case file, relative to the working directory when possible. */
  file: string;
  title: string;
  /** What a daemon author learns from the case (the case's description). */
  description?: string;
  checks: CheckId[];
  /** The case's steps as written, so reports can show each observation beside its step. */
  steps: Step[];
  /** Profiles the case applies to (the case's `profiles`, or the default). */
  profiles: ProfileName[];
  /** Set for cases that run on the sim only, with the case's reason. */
  simOnly?: string;
  status: CaseStatus;
  /** One line each: every failure of every target and every unexplained divergence. */
  failures: string[];
  runs: TargetRun[];
  divergences: Divergence[];
  durationMs: number;
}

/** A broken case file or bad input: one line naming file, JSON path and what was expected. */
export interface LoadError {
  file: string;
  /** JSON pointer inside the file (`/steps/3/fd`), or `` for the whole file. */
  path: string;
  message: string;
}

/** Coverage of the spec's check ids by cases (for one profile, or for all cases). */
export interface CoverageSummary {
  /** Number of check ids in the spec (spec/check-ids.ts). */
  specIds: number;
  /** Number of spec ids covered by the cases counted. */
  coveredIds: number;
  /** Spec ids no counted case covers. */
  uncovered: CheckId[];
}
