// Shared by the real-kernel tests: one kernel target per test file, the skip/require gate
// (FUSEPASS_REQUIRE_KERNEL=1 turns a skip into a failure), and a case player.
import type { Case } from '../spec/case.ts';
import type { Observation } from '../spec/observation.ts';
import type { Target } from '../spec/target.ts';
import { createKernelTarget } from '../conformance/targets/kernel-target.ts';

export interface KernelGate {
  target: Target;
  /** null when kernel tests can run. */
  reason: string | null;
  required: boolean;
}

export async function kernelGate(opts: { deadlineMs?: number } = {}): Promise<KernelGate> {
  const target = createKernelTarget(opts);
  const reason = await target.unavailable();
  const required = process.env.FUSEPASS_REQUIRE_KERNEL === '1';
  if (reason && !required) console.warn(`kernel tests skipped: ${reason}`);
  return { target, reason, required };
}

export interface Played {
  steps: Observation[];
  finish: Observation;
}

export async function play(target: Target, kase: Case): Promise<Played> {
  const s = await target.start(kase);
  const steps: Observation[] = [];
  for (const [i, step] of kase.steps.entries()) steps.push(await s.apply(step, i));
  return { steps, finish: await s.finish() };
}

/** Observations reduced to what a step's `expect` names, for readable assertion failures. */
export function mismatches(kase: Case, played: Played): string[] {
  const out: string[] = [];
  kase.steps.forEach((step, i) => {
    const o = played.steps[i]!;
    if (o.fault) out.push(`step ${i} (${step.op}): fault ${o.fault.kind}: ${o.fault.message}`);
    const e = step.expect;
    if (!e) return;
    for (const k of ['errno', 'value', 'requests', 'events'] as const) {
      if (e[k] === undefined) continue;
      if (JSON.stringify(e[k]) !== JSON.stringify(o[k] ?? null)) out.push(`step ${i} (${step.op}) ${k}: expected ${JSON.stringify(e[k])}, got ${JSON.stringify(o[k] ?? null)}`);
    }
  });
  return out;
}
