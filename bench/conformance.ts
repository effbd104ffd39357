// Library time on the sim and on the kernel (when usable) and their ratio. Targets: the whole
// library on the sim under 2 s, on the kernel under 2 minutes (issue 4).
import { loadCases } from '../conformance/load.ts';
import { prepareTarget, runCases, type RunTarget } from '../conformance/runner.ts';
import { loadKernelTarget, loadSimTarget } from '../conformance/target-loader.ts';

export interface ConformanceBench {
  cases: number;
  simMs: number | null;
  kernelMs: number | null;
  /** kernel time / sim time, when both ran. */
  ratio: number | null;
  notes: string[];
}

async function timeLibrary(rt: RunTarget, cases: ReturnType<typeof loadCases>['cases']): Promise<{ ms: number; failed: number }> {
  const t0 = performance.now();
  const results = await runCases(cases, [rt]);
  return { ms: performance.now() - t0, failed: results.filter((r) => r.status === 'failed').length };
}

export async function benchConformance(log: (line: string) => void = console.log): Promise<ConformanceBench> {
  const { cases } = loadCases();
  const out: ConformanceBench = { cases: cases.length, simMs: null, kernelMs: null, ratio: null, notes: [] };
  const kernel = await loadKernelTarget();
  const kernelRun = kernel.target ? await prepareTarget(kernel.target) : undefined;
  const profile = kernelRun?.info.profile ?? '6.18';

  const sim = await loadSimTarget(profile);
  if (sim.target) {
    const r = await timeLibrary(await prepareTarget(sim.target), cases);
    out.simMs = r.ms;
    log(`conformance: library (${cases.length} cases, profile ${profile}) on the sim: ${r.ms.toFixed(0)} ms${r.failed ? ` (${r.failed} failed)` : ''} [target < 2000 ms]`);
    await sim.target.dispose?.();
  } else out.notes.push(`sim: ${sim.reason}`);

  if (kernelRun && kernel.target) {
    const r = await timeLibrary(kernelRun, cases);
    out.kernelMs = r.ms;
    log(`conformance: library on the kernel (${kernelRun.info.kernelRelease ?? '?'}): ${(r.ms / 1000).toFixed(1)} s${r.failed ? ` (${r.failed} failed)` : ''} [target < 120 s]`);
    await kernel.target.dispose?.();
  } else out.notes.push(`kernel: ${kernel.reason ?? 'unavailable'}`);

  if (out.simMs !== null && out.kernelMs !== null && out.simMs > 0) {
    out.ratio = out.kernelMs / out.simMs;
    log(`conformance: kernel/sim time ratio ${out.ratio.toFixed(0)}x`);
  }
  for (const n of out.notes) log(`conformance: skipped ${n}`);
  return out;
}
