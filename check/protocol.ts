// What `fusepass check`'s namespace child (check/child-main.ts) and its host (check/run.ts)
// exchange over Node's IPC channel, and the JSON-safe trace the report is built from. One
// request at a time; every request gets exactly one reply.
import type { ClientStep, ProfileName } from '../spec/case.ts';
import type { CheckId } from '../spec/check-ids.ts';
import type { Injection } from './inject.ts';
import type { WorkloadOptions, WorkloadResult } from './workload.ts';

/** A relayed request, as the report shows it. `at`: its place among the step's events. */
export interface TracedRequest {
  at: number;
  op: string;
  opcode: number;
  unique: string;
  nodeid: string;
  pid: number;
  name?: string;
  flags?: number;
  fh?: string;
  offset?: number;
  size?: number;
  init?: { major: number; minor: number; flags: string[] };
}

/** A relayed reply; `open` for OPEN/CREATE, `init` for INIT. */
export interface TracedReply {
  at: number;
  op: string;
  unique: string;
  /** 0, or the negative errno the daemon answered. */
  error: number;
  nodeid?: string;
  open?: { fh: string; openFlags: string[]; extraBits: number; backingId: number };
  init?: { major: number; minor: number; flags: string[]; maxStackDepth: number; maxWrite: number };
  size?: number;
  /** The errno /dev/fuse gave the relayed reply, when the kernel refused it. */
  rejected?: string;
}

export interface TracedBacking {
  at: number;
  op: 'open' | 'close';
  seq: number;
  tid: number;
  /** open: the daemon's fd and what it refers to. */
  fd?: number;
  target?: string;
  flags?: number;
  /** close: the id. */
  id?: number;
  /** The id the kernel gave (open), 0 (close), or the errno name. */
  result: number | string;
  answeredBy?: 'inject' | 'privilege' | 'fault' | 'profile';
  /** --target sim: the model's explanation (kernel-spec.md ids, the deciding check first) and its words. */
  checks?: CheckId[];
  why?: string;
}

/** Everything the relay saw while one step ran (and settled). */
export interface Traffic {
  requests: TracedRequest[];
  replies: TracedReply[];
  backing: TracedBacking[];
  /** Other trapped calls (mount, clone, ioctls on other fds) and relay problems. */
  notes: string[];
}

export interface TracedStep {
  step: ClientStep;
  errno: string | null;
  value: number | string | null;
  /** For reads: the bytes the source file holds there, summarised like `value`. */
  expected?: string;
  fault?: string;
  /** Why the step was not run (its fd's open failed). */
  skipped?: string;
  traffic: Traffic;
}

export interface Scenario {
  id: string;
  title: string;
  steps: ClientStep[];
}

export interface ScenarioRun {
  id: string;
  title: string;
  steps: TracedStep[];
  /** Traffic after the last step, from closing what the scenario left open. */
  cleanup?: Traffic;
}

export interface SetupRequest {
  t: 'setup';
  /** The daemon's command line as the user gave it, with {fd} and maybe {src}. */
  argv: string[];
  /** The fd number the session socket takes in the daemon. */
  fdNumber: number;
  inject: Injection[];
  /** --profile: the kernel the relay shows the daemon (profile-emulation.ts), or null. */
  profile: ProfileName | null;
  /** Files created in {src} before the daemon starts: name → content. */
  sourceFiles: Record<string, string>;
  initTimeoutMs: number;
}

export type ToCheckChild =
  | SetupRequest
  | { t: 'scenario'; scenario: Scenario }
  | { t: 'workload'; opts: WorkloadOptions }
  | { t: 'teardown'; timeoutMs: number }
  | { t: 'quit' };

export interface SetupResult {
  t: 'setup';
  /** The command line as run: {fd} → /dev/fd/N, {src} → the source directory fusepass made. */
  argv: string[];
  /** null when the daemon is serving; else why it could not be checked (one line). */
  problem: string | null;
  traffic: Traffic;
  /** The tail of the daemon's output when it died or hung. */
  log?: string;
}

export interface TeardownResult {
  t: 'teardown';
  /** umount, the daemon's exit and what was still registered. */
  umount: string | null;
  daemonExit: string;
  traffic: Traffic;
  log: string;
}

export type FromCheckChild =
  | { t: 'ready'; pid: number }
  | SetupResult
  | { t: 'scenario'; run: ScenarioRun }
  | { t: 'workload'; result: WorkloadResult | { error: string } }
  | TeardownResult;

export interface Finding {
  level: 'error' | 'warn' | 'info';
  checks: CheckId[];
  /** The scenario it was seen in; null for the mount as a whole. */
  scenario: string | null;
  message: string;
  advice?: string;
}

/** The report of one `fusepass check` run (reports/check-report.schema.json). */
export interface CheckReport {
  tool: 'fusepass check';
  /**
   * kernel: the running kernel judged the daemon; sim: the fusepass model of `profile` did;
   * both: the kernel did (this report) and the model ran the same battery (`comparison`).
   */
  target: 'kernel' | 'sim' | 'both';
  /** The release of the machine fusepass ran on. */
  kernelRelease: string;
  command: string[];
  inject: Injection[];
  /** --profile: the kernel the relay showed the daemon and what it emulated; null: the running kernel alone. */
  profile: { name: ProfileName; emulated: string } | null;
  setup: SetupResult;
  scenarios: ScenarioRun[];
  /** The scenario a deadline stopped, when one did. */
  hung: string | null;
  teardown: TeardownResult | null;
  findings: Finding[];
  /** --target both: the model's run of the same battery and where it differed. */
  comparison?: CheckComparison;
  /**
   * --target sim --profile all: the battery on every profile, in PROFILE_NAMES order (the
   * report's own fields are the first's; the summary counts them all).
   */
  profiles?: ProfileRun[];
  summary: {
    errors: number;
    warnings: number;
    infos: number;
    /** --target both: divergences between the kernel and the model no known divergence explains. */
    unexplainedDivergences?: number;
  };
}

/** One profile's run of --profile all. */
export interface ProfileRun {
  name: ProfileName;
  setup: SetupResult;
  scenarios: ScenarioRun[];
  hung: string | null;
  teardown: TeardownResult | null;
  findings: Finding[];
  summary: { errors: number; warnings: number; infos: number };
}

/** The model's run beside the kernel's (--target both). */
export interface CheckComparison {
  /** The profile the model ran. */
  profile: ProfileName;
  sim: { setup: SetupResult; scenarios: ScenarioRun[]; hung: string | null; teardown: TeardownResult | null; findings: Finding[] };
  divergences: CheckDivergence[];
}

/** One place where the kernel and the model saw the daemon differently. */
export interface CheckDivergence {
  /** `setup`, a scenario id, or `teardown`. */
  where: string;
  /** The step's index in its scenario; null for setup, a scenario's cleanup and teardown. */
  step: number | null;
  what: 'errno' | 'value' | 'requests' | 'backing' | 'finding' | 'offer' | 'daemonExit' | 'hung';
  kernel: string;
  sim: string;
  /** The known divergence that explains it (check/known-divergences.ts); absent: unexplained. */
  explainedBy?: string;
}
