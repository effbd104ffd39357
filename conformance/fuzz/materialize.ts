// Turns a generated program (generate.ts) into a case in the library's format by playing it on
// the sim step by step: each intent is resolved against the names live at that point (a client
// fd is live when its open succeeded and it was not closed, ...), and intents with nothing to
// act on are dropped. So every program, shrunk or not, yields a well-formed case whose names
// are defined before use. While playing, the model's invariants are checked (sim mode).
import type { World } from '../../fixtures/world.ts';
import type { Case, Step } from '../../spec/case.ts';
import type { CheckId } from '../../spec/check-ids.ts';
import { createKernel, teardownInvariantViolations, type SimResult } from '../../sim/index.ts';
import { Builder, type InvariantViolation } from './builder.ts';
import { BIG_NODE_SIZE, FILE_PALETTE, NODES, type FuzzProgram } from './generate.ts';
import { play } from './play.ts';

/** One string for every case (its encoding is shared: sim/daemon.ts sharedText). */
const BIG_NODE_CONTENT = 'M'.repeat(BIG_NODE_SIZE);

export type { InvariantViolation } from './builder.ts';

export interface Materialized {
  kase: Case;
  /** The sim's observation of each step (same indexes as kase.steps), then of the teardown. */
  results: SimResult[];
  teardown: SimResult;
  violations: InvariantViolation[];
  /** Check ids the sim's explanations passed through, steps and teardown (made when first read). */
  readonly reached: Set<CheckId>;
  /** Adds those ids to `into`, in the same order, without making `reached`. */
  addReachedTo(into: Set<CheckId>): void;
}

export function worldOf(p: FuzzProgram): World {
  // Plain loops: once per case, and Object.fromEntries and array spreads showed in its profile.
  const files: NonNullable<World['files']> = {};
  addPaletteFile(files, 0);
  for (const i of p.files) addPaletteFile(files, i);
  const nodes: NonNullable<World['nodes']> = {};
  for (const n of NODES) nodes[n] = {};
  if (p.liveSize === true) nodes['n'] = { sizeFrom: 'b' };
  if (p.bigNode === true) nodes['m'] = { content: BIG_NODE_CONTENT };
  const world: World = { files, nodes };
  if (p.daemon !== undefined) world.daemon = p.daemon;
  if (p.watchIo === true) world.watchIo = true;
  // The inner mount's daemon if there is one, else the FUSE-on-FUSE one's.
  if (p.observeInner === true && files['inner'] !== undefined) world.observeInnerDaemon = 'fuse';
  else if (p.observeInner === true && files['pt1'] !== undefined) world.observeInnerDaemon = 'fusePt1';
  // `nest` files need a directory of the FUSE tree to be mounted on.
  if (files['nest'] !== undefined) {
    nodes['sub'] = { type: 'dir' };
    world.nestedFuseAt = 'sub';
  }
  return world;
}

/** A copy of palette entry `i`'s spec under its name (an index past the palette adds nothing). */
function addPaletteFile(files: NonNullable<World['files']>, i: number): void {
  const entry = FILE_PALETTE[i];
  if (entry) files[entry[0]] = { ...entry[1] };
}


function usesSimOnlySteps(steps: readonly Step[]): boolean {
  return steps.some((s) => s.op === 'simFailAlloc' || s.op === 'simIdCursor');
}

/** Resolve and play a program on a fresh 6.18 sim; the case it yields and what the sim saw. */
export function materialize(p: FuzzProgram, opts: { id?: string } = {}): Materialized {
  const world = worldOf(p);
  const k = createKernel({ profile: '6.18', world });
  const b = new Builder(k, Object.keys(world.files ?? {}));
  b.emit({ op: 'devOpen', as: 'dev' });
  b.emit(p.init === undefined ? { op: 'mount', dev: 'dev' } : { op: 'mount', dev: 'dev', init: p.init });
  for (const it of p.intents) {
    if (b.broken) break;
    play(b, it);
  }
  // The teardown umounts lazily before it closes daemon fds; a daemon fd on the mount would then
  // be the racy last close (see 'umount'), so the case closes those itself while mounted.
  for (const name of b.liveDaemonFds().filter((n) => b.daemonFdOnSelf.has(n))) b.emit({ op: 'daemonClose', fd: name });
  let teardown: SimResult;
  let teardownChecks: readonly CheckId[] = [];
  try {
    teardown = k.teardown();
    teardownChecks = teardown.explain.checks;
    const bad = teardownInvariantViolations(k);
    if (bad.length > 0) b.violations.push({ step: b.steps.length, messages: bad });
  } catch (e) {
    teardown = { errno: null, value: null, requests: [], events: [], explain: { checks: [] } };
    b.violations.push({ step: b.steps.length, messages: [`the sim's teardown threw: ${e instanceof Error ? e.message : String(e)}`] });
  }
  const kase: Case = {
    id: opts.id ?? 'fuzz-case',
    title: 'a generated case',
    checks: [],
    world,
    steps: b.steps,
  };
  if (usesSimOnlySteps(b.steps)) kase.simOnly = 'generated with sim-only steps (simFailAlloc, simIdCursor)';
  // The ids reached are the steps' explanations' and the teardown's, in order: a set of them per
  // case cost a Set.add per check of every step (~4% of the fuzzer), and the fuzz loop adds them
  // to its own tally directly (addReachedTo), so the per-case set is made only when asked for.
  return new MaterializedCase(kase, b.results, teardown, b.violations, teardownChecks);
}

/** A class, not an object literal with a getter: V8 gives each such literal a shape of its own. */
class MaterializedCase implements Materialized {
  private reachedSet: Set<CheckId> | undefined = undefined;

  constructor(
    readonly kase: Case,
    readonly results: SimResult[],
    readonly teardown: SimResult,
    readonly violations: InvariantViolation[],
    /** The teardown's check ids as it returned them (also when an invariant check threw after it). */
    private readonly teardownChecks: readonly CheckId[],
  ) {}

  get reached(): Set<CheckId> {
    if (this.reachedSet === undefined) this.addReachedTo((this.reachedSet = new Set()));
    return this.reachedSet;
  }

  addReachedTo(into: Set<CheckId>): void {
    for (const r of this.results) for (const c of r.explain.checks) into.add(c);
    for (const c of this.teardownChecks) into.add(c);
  }
}
