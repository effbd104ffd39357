// The state a generated program is played against while it becomes a case (materialize.ts): the
// sim kernel, the steps emitted so far with their observations, and the names live at each point.
import type { Step } from '../../spec/case.ts';
import { IdUniqueness, stepInvariantViolations, type Kernel, type SimResult } from '../../sim/index.ts';
import { playStep } from '../targets/sim-target.ts';
import { HOST_WORLD_FS } from '../validate-world.ts';
import type { IdRef } from './generate.ts';
import type { KernelState } from '../../sim/state.ts';
import type { FuseOpenFile, Mapping } from '../../sim/types.ts';

export interface InvariantViolation {
  /** Step index, or steps.length for the teardown. */
  step: number;
  messages: string[];
}

/** `list[len-1-(pick mod len)]`: position 0 is the most recent name. */
export function recent<T>(list: readonly T[], pick: number): T | undefined {
  return list.length === 0 ? undefined : list[list.length - 1 - (pick % list.length)];
}

export function nth<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}


export class Builder {
  readonly steps: Step[] = [];
  readonly results: SimResult[] = [];
  readonly violations: InvariantViolation[] = [];
  /** Ids handed out so far, per connection (each numbers its own, BID-1). */
  private readonly ids = new Map<object, IdUniqueness>();
  private idCursorMoved = false;
  private readonly counters = new Map<string, number>();
  /** Names defined by steps that succeeded, in order. */
  readonly daemonFds: string[] = [];
  readonly regs: string[] = [];
  readonly created: string[] = [];
  broken = false;

  constructor(
    readonly k: Kernel,
    readonly fileNames: string[],
  ) {}

  fresh(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}${n}`;
  }

  /** Play the step on the sim, record it and its invariants; the result, or null when it broke. */
  emit(step: Step): SimResult | null {
    if (this.broken) return null;
    const index = this.steps.length;
    let r: SimResult;
    try {
      r = playStep(this.k, step);
    } catch (e) {
      this.steps.push(step);
      this.violations.push({ step: index, messages: [`the sim threw: ${e instanceof Error ? e.message : String(e)}`] });
      this.broken = true;
      return null;
    }
    this.steps.push(step);
    this.results.push(r);
    const bad = stepInvariantViolations(this.k, r);
    if (step.op === 'backingOpen' && r.errno === null && typeof r.value === 'number' && !this.idCursorMoved) {
      const conn = this.k.state.devFiles.get(step.dev)?.conn;
      if (conn != null) {
        let seen = this.ids.get(conn);
        if (seen === undefined) this.ids.set(conn, (seen = new IdUniqueness()));
        const v = seen.record(r.value);
        if (v !== null) bad.push(v);
      }
    }
    if (step.op === 'simIdCursor') this.idCursorMoved = true;
    if (bad.length > 0) this.violations.push({ step: index, messages: bad });
    if (r.fault !== undefined) this.broken = true; // a sim fault: the session is in no known state
    return r;
  }

  /** A FUSE fd is open: a client fd, or a daemon fd on the mount under test. */
  fuseFdOpen(): boolean {
    if (this.k.state.clientFiles.size > 0) return true;
    return this.liveDaemonFds().some((n) => this.daemonFdOnSelf.has(n));
  }

  /** The further mount the fuzzer makes (MountStep.as), once its step ran. */
  static readonly TWO = 'two';

  /** The named mount's state, if a mount step made it (mounted or not). */
  two(): KernelState | undefined {
    return this.k.mounts.get(Builder.TWO);
  }

  /** A client fd's FUSE file, on whichever mount it was opened. */
  clientFile(name: string): FuseOpenFile | undefined {
    return this.k.state.clientFiles.get(name) ?? this.two()?.clientFiles.get(name);
  }

  /** A mapping, on whichever mount its file is. */
  mapping(name: string): Mapping | undefined {
    return this.k.state.maps.get(name) ?? this.two()?.maps.get(name);
  }
  readonly daemonFdOnSelf = new Set<string>();
  /** Daemon fds of world files on disk, tmpfs, overlay or roBind: the ones daemonWrite may use. */
  readonly hostFileFds = new Set<string>();

  /** A daemonOpen of a world file succeeded as `name`. */
  noteDaemonFd(name: string, file: string): void {
    this.daemonFds.push(name);
    const on = this.k.state.world.files?.[file]?.on;
    if (on === 'self') this.daemonFdOnSelf.add(name);
    if (on !== undefined && HOST_WORLD_FS.has(on)) this.hostFileFds.add(name);
  }

  /** Any FUSE struct file still held: a client fd, a mapping, a daemon fd on the mount. */
  fuseFileHeld(): boolean {
    return this.fuseFdOpen() || this.k.state.maps.size > 0;
  }

  liveDaemonFds(): string[] {
    return this.daemonFds.filter((n) => this.k.state.daemonFds.has(n));
  }
  liveDevs(): string[] {
    return [...this.k.state.devFiles.keys()];
  }
  liveClientFds(): string[] {
    const two = this.two();
    return two === undefined ? [...this.k.state.clientFiles.keys()] : [...this.k.state.clientFiles.keys(), ...two.clientFiles.keys()];
  }
  liveMaps(): string[] {
    const two = this.two();
    return two === undefined ? [...this.k.state.maps.keys()] : [...this.k.state.maps.keys(), ...two.maps.keys()];
  }

  idOf(ref: IdRef): string | number | undefined {
    return 'raw' in ref ? ref.raw : recent(this.regs, ref.reg);
  }
}
