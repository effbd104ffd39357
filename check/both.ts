// `fusepass check --target both`: the battery on this kernel (run.ts, through the relay) and then
// on the model (sim-run.ts) with the same daemon command, compared step by step (compare.ts).
// The report is the kernel's, with the model's run and every divergence beside it; a divergence
// no known one explains counts in summary.unexplainedDivergences and fails the check.
import { runCheck, type CheckOptions } from './run.ts';
import { runSimCheck } from './sim-run.ts';
import { compareRuns } from './compare.ts';
import type { CheckReport } from './protocol.ts';

export async function runBoth(opts: CheckOptions): Promise<CheckReport | { problem: string }> {
  const kernel = await runCheck({ ...opts, target: 'kernel' });
  if ('problem' in kernel) return { problem: `on the kernel: ${kernel.problem}` };
  const profile = opts.profile ?? '6.18';
  const sim = await runSimCheck({ ...opts, profile, target: 'sim' });
  if ('problem' in sim) return { problem: `on the model: ${sim.problem}` };
  const divergences = compareRuns(kernel, sim);
  return {
    ...kernel,
    target: 'both',
    comparison: { profile, sim: { setup: sim.setup, scenarios: sim.scenarios, hung: sim.hung, teardown: sim.teardown, findings: sim.findings }, divergences },
    summary: { ...kernel.summary, unexplainedDivergences: divergences.filter((d) => d.explainedBy === undefined).length },
  };
}
