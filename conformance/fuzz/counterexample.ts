// A shrunk failure as a case file in the library's format, ready to commit as a regression case:
// the failing step carries the judge's observation as `expect` (mode both: the kernel is the
// judge) and a note; the description says how to replay the fuzz run that found it.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ensureDir } from '../ensure-dir.ts';
import { join } from 'node:path';
import type { Case, Step } from '../../spec/case.ts';
import { CHECK_IDS, type CheckId } from '../../spec/check-ids.ts';
import type { ExpectedObservation } from '../../spec/observation.ts';
import { displayPath, formatLoadError, loadCaseFile } from '../load.ts';
import type { FuzzFailure, FuzzMode } from './driver.ts';
import { materialize } from './materialize.ts';

export const DEFAULT_FUZZ_OUT = 'reports/out/fuzz';

const KNOWN_IDS: ReadonlySet<string> = new Set(CHECK_IDS);

/** The command line that replays a failure. */
export function replayCommand(mode: FuzzMode, f: Pick<FuzzFailure, 'seed' | 'path'>): string {
  return `npx fusepass fuzz --target ${mode} --seed ${f.seed} --path ${f.path}`;
}

/** A stable kebab-case id: mode, seed, and a hash of the steps. */
export function counterexampleId(mode: FuzzMode, f: FuzzFailure): string {
  const h = createHash('sha256').update(JSON.stringify({ w: f.kase.world, s: f.kase.steps })).digest('hex').slice(0, 8);
  return `fuzz-${mode}-seed-${Math.abs(f.seed)}-${h}`;
}

/** The failure's case with id, title, description, checks and the judge's expectation. */
export function counterexampleCase(mode: FuzzMode, f: FuzzFailure): Case {
  const id = counterexampleId(mode, f);
  const d = f.detail;
  const steps: Step[] = f.kase.steps.map((s) => ({ ...s }));
  // The check ids the sim passed through at the failing step: what the case is about.
  const sim = materialize(f.program);
  const atStep = d.step === null ? undefined : d.step < sim.results.length ? sim.results[d.step] : sim.teardown;
  // Once each: an explanation may pass an id twice (the teardown's LIFE-24 for two superblocks),
  // and the loader refuses a case that lists one twice (fuzz seed 611002636 wrote such a file).
  const checks = [...new Set((atStep?.explain.checks ?? []).filter((c): c is CheckId => KNOWN_IDS.has(c)))];
  const step = d.step === null ? undefined : steps[d.step];
  if (step !== undefined) {
    const ref = d.reference;
    if (mode === 'both' && ref !== undefined && ref.fault === undefined) {
      const expect: ExpectedObservation = {};
      const fields = new Set((d.divergences ?? []).filter((x) => x.step === d.step).map((x) => x.field));
      if (fields.has('errno')) expect.errno = ref.errno;
      if (fields.has('value')) expect.value = ref.value ?? null;
      if (fields.has('requests')) expect.requests = [...ref.requests];
      if (fields.has('allRequests') && ref.allRequests !== undefined) expect.allRequests = [...ref.allRequests];
      if (fields.has('events')) expect.events = [...ref.events];
      if (fields.has('innerRequests') && ref.innerRequests !== undefined) expect.innerRequests = [...ref.innerRequests];
      if (fields.has('mountRequests') && ref.mountRequests !== undefined) expect.mountRequests = [...ref.mountRequests];
      if (Object.keys(expect).length > 0) step.expect = expect;
    }
    step.note = `fuzz: ${d.messages.join('; ')}`;
  }
  const kase: Case = {
    id,
    title: `fuzz counterexample: ${d.messages[0] ?? 'failure'}`.slice(0, 200),
    description:
      `Found by \`fusepass fuzz --target ${mode}\` and shrunk by fast-check (${f.shrinks} shrink attempts). ` +
      `Replay: \`${replayCommand(mode, f)}\`. ` +
      (mode === 'both' ? 'The expectation on the failing step is the kernel\'s observation (the kernel is the judge). ' : 'It breaks an invariant of the model. ') +
      `Details: ${d.messages.join('; ')}`,
    checks,
    world: f.kase.world,
    steps,
  };
  if (f.kase.simOnly !== undefined) kase.simOnly = f.kase.simOnly;
  return kase;
}

/** The case as the library writes it: one step per line. */
export function formatCase(kase: Case): string {
  const head = Object.entries(kase)
    .filter(([k]) => k !== 'steps')
    .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const steps = kase.steps.map((s) => `    ${JSON.stringify(s)}`).join(',\n');
  return `{\n${head.join(',\n')},\n  "steps": [\n${steps}\n  ]\n}\n`;
}

export interface WrittenCounterexample {
  file: string;
  kase: Case;
  /** Loader problems with the written file (expected none): schema and name checks. */
  problems: string[];
}

/** Write the counterexample under `outDir` and validate it with the library's loader. */
export function writeCounterexample(mode: FuzzMode, f: FuzzFailure, outDir: string = DEFAULT_FUZZ_OUT): WrittenCounterexample {
  const kase = counterexampleCase(mode, f);
  ensureDir(outDir);
  const file = join(outDir, `${kase.id}.json`);
  writeFileSync(file, formatCase(kase));
  const loaded = loadCaseFile(file);
  return { file: displayPath(file), kase, problems: loaded.errors.map(formatLoadError) };
}
