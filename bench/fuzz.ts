// Fuzz throughput: generated cases (and their steps) checked per second, in sim-only mode
// (materialize + invariants; target >= 10,000 cases/s, issue 13; 1,000 in issue 5) and in differential mode (the
// same cases also played on the sim target and on the kernel, when usable, and compared).
// Programs come from fc.sample with a fixed seed, so every run measures the same cases; the
// timing covers generation-independent work only (fast-check's shrinking is not measured).
import fc from 'fast-check';
import { checkBoth, checkSim } from '../conformance/fuzz/driver.ts';
import { programArb, type FuzzProgram } from '../conformance/fuzz/generate.ts';
import { prepareTarget } from '../conformance/runner.ts';
import { loadKernelTarget } from '../conformance/target-loader.ts';
import { createSimTarget } from '../conformance/targets/sim-target.ts';

export interface FuzzBenchResult {
  simCasesPerSecond: number;
  simStepsPerSecond: number;
  /** Differential against the kernel; null when the kernel target is unavailable. */
  diffCasesPerSecond: number | null;
  diffStepsPerSecond: number | null;
}

const SEED = 5;

function rate(n: number, ms: number): number {
  return Math.round((n * 1000) / ms);
}

export async function benchFuzz(opts: { simCases?: number; diffCases?: number; log?: (line: string) => void } = {}): Promise<FuzzBenchResult> {
  const log = opts.log ?? console.log;
  const simCases = opts.simCases ?? 5000;
  const diffCases = opts.diffCases ?? 60;
  const programs: FuzzProgram[] = fc.sample(programArb(), { seed: SEED, numRuns: simCases });

  for (const p of programs.slice(0, 500)) checkSim(p); // warm up the JIT
  let steps = 0;
  const t0 = performance.now();
  for (const p of programs) steps += checkSim(p).m.kase.steps.length;
  const simMs = performance.now() - t0;
  const out: FuzzBenchResult = { simCasesPerSecond: rate(programs.length, simMs), simStepsPerSecond: rate(steps, simMs), diffCasesPerSecond: null, diffStepsPerSecond: null };
  log(`fuzz: sim-only ${programs.length} cases (${steps} steps) in ${simMs.toFixed(0)} ms = ${out.simCasesPerSecond.toLocaleString('en-US')} cases/s, ${out.simStepsPerSecond.toLocaleString('en-US')} steps/s [target >= 10,000 cases/s, issue 13]`);

  if (process.env['FUSEPASS_BENCH_SIM_ONLY'] === '1') return out; // bench versus: the model only
  const kernel = await loadKernelTarget();
  if (!kernel.target) {
    log(`fuzz: differential skipped: ${kernel.reason}`);
    return out;
  }
  try {
    const sim = await prepareTarget(createSimTarget());
    const ref = await prepareTarget(kernel.target);
    const some = programs.slice(0, diffCases);
    let dSteps = 0;
    let diverged = 0;
    const t1 = performance.now();
    for (const p of some) {
      const c = await checkBoth(p, sim, ref, []);
      dSteps += c.m.kase.steps.length;
      if (!c.ok) diverged++;
    }
    const diffMs = performance.now() - t1;
    out.diffCasesPerSecond = rate(some.length, diffMs);
    out.diffStepsPerSecond = rate(dSteps, diffMs);
    log(`fuzz: differential sim vs. kernel ${some.length} cases (${dSteps} steps) in ${(diffMs / 1000).toFixed(1)} s = ${out.diffCasesPerSecond} cases/s, ${out.diffStepsPerSecond} steps/s (${diverged} diverged)`);
  } finally {
    await kernel.target.dispose?.();
  }
  return out;
}
