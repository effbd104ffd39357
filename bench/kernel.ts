// Median per-case cost on the kernel target (fresh mount namespace, world, mount, INIT, a few
// steps, teardown) and of the same case on the sim target, and their ratio. Target: <= 50 ms per
// simple case on the kernel (issue 3).
import type { Case } from '../spec/case.ts';
import type { Target } from '../spec/target.ts';
import { createKernelTarget } from '../conformance/targets/kernel-target.ts';
import { createSimTarget } from '../conformance/targets/sim-target.ts';

export const SIMPLE_CASE: Case = {
  id: 'bench-simple-pt-read',
  title: 'register a backing file, open a node in passthrough, read, close',
  checks: ['BOPEN-13', 'OPEN-14', 'IO-1', 'LIFE-10'],
  world: { files: { b1: { on: 'disk' } }, nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } } },
  steps: [
    { op: 'devOpen', as: 'dev' },
    { op: 'mount', dev: 'dev' },
    { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
    { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1' },
    { op: 'open', node: 'f1', as: 'f1' },
    { op: 'read', fd: 'f1', length: 4096 },
    { op: 'close', fd: 'f1' },
  ],
};

async function timeCase(t: Target, k: Case): Promise<number> {
  const t0 = performance.now();
  const s = await t.start(k);
  for (const [i, step] of k.steps.entries()) await s.apply(step, i);
  await s.finish();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface KernelBenchResult {
  kernelMs: number | null;
  simMs: number;
  ratio: number | null;
  skipped?: string;
}

export async function benchKernel(opts: { runs?: number; print?: boolean } = {}): Promise<KernelBenchResult> {
  const runs = opts.runs ?? 40;
  const print = opts.print ?? true;
  const sim = createSimTarget();
  for (let i = 0; i < 50; i++) await timeCase(sim, SIMPLE_CASE);
  const simTimes: number[] = [];
  for (let i = 0; i < runs * 10; i++) simTimes.push(await timeCase(sim, SIMPLE_CASE));
  const simMs = median(simTimes);

  const kernel = createKernelTarget();
  const reason = await kernel.unavailable();
  if (reason) {
    if (print) console.log(`kernel bench skipped: ${reason}; sim median ${simMs.toFixed(3)} ms/case`);
    await kernel.dispose?.();
    return { kernelMs: null, simMs, ratio: null, skipped: reason };
  }
  for (let i = 0; i < 3; i++) await timeCase(kernel, SIMPLE_CASE);
  const kTimes: number[] = [];
  for (let i = 0; i < runs; i++) kTimes.push(await timeCase(kernel, SIMPLE_CASE));
  await kernel.dispose?.();
  const kernelMs = median(kTimes);
  const ratio = kernelMs / simMs;
  if (print) {
    console.log(`kernel target: median ${kernelMs.toFixed(1)} ms/case over ${runs} cases (target <= 50 ms: ${kernelMs <= 50 ? 'met' : 'NOT met'})`);
    console.log(`sim target:    median ${simMs.toFixed(3)} ms/case over ${runs * 10} cases`);
    console.log(`ratio kernel/sim: ${ratio.toFixed(0)}x`);
  }
  return { kernelMs, simMs, ratio };
}
