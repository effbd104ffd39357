// Loads the two targets by dynamic import, so that a machine where koffi (the kernel target's
// FFI) cannot load still runs the sim, with a one-line reason instead of an import crash.
import type { ProfileName } from '../spec/case.ts';
import type { Target } from '../spec/target.ts';
import { ownModule } from '../real-kernel/host/runtime.ts';

export type Loaded = { target: Target; reason?: undefined } | { target?: undefined; reason: string };

// Specifiers are held in variables, so the modules are typed `unknown` here and their exports
// are checked at run time: a missing or renamed export is a one-line reason, not a crash. They
// name the .ts sources or, in the installed package, the compiled .js (runtime.ts).
const SIM_TARGET_MODULE = ownModule('./targets/sim-target', import.meta.url).href;
const KERNEL_TARGET_MODULE = ownModule('./targets/kernel-target', import.meta.url).href;

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

export async function loadSimTarget(profile?: ProfileName): Promise<Loaded> {
  try {
    const mod = (await import(SIM_TARGET_MODULE)) as { createSimTarget?: unknown };
    if (typeof mod.createSimTarget !== 'function') return { reason: `${SIM_TARGET_MODULE} does not export createSimTarget` };
    const create = mod.createSimTarget as (opts?: { profile?: ProfileName }) => Target;
    return { target: create(profile ? { profile } : {}) };
  } catch (e) {
    return { reason: `the sim target does not load: ${firstLine(e)}` };
  }
}

/** The kernel target when it can run cases here; otherwise the one-line reason why not. */
export async function loadKernelTarget(opts: { deadlineMs?: number } = {}): Promise<Loaded> {
  let target: Target;
  try {
    const mod = (await import(KERNEL_TARGET_MODULE)) as { createKernelTarget?: unknown };
    if (typeof mod.createKernelTarget !== 'function') return { reason: `${KERNEL_TARGET_MODULE} does not export createKernelTarget` };
    target = (mod.createKernelTarget as (o?: { deadlineMs?: number }) => Target)(opts);
  } catch (e) {
    return { reason: `the kernel target does not load: ${firstLine(e)}` };
  }
  try {
    const why = await target.unavailable();
    if (why !== null) {
      await target.dispose?.().catch(() => undefined);
      return { reason: why };
    }
  } catch (e) {
    return { reason: `the kernel target cannot tell whether it is usable: ${firstLine(e)}` };
  }
  return { target };
}
