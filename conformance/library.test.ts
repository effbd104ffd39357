// The case library under `npm test`: one test per case, named `<case id> [<check ids>]`, that
// plays it on the sim under every profile it applies to and, where the kernel target is usable,
// on the kernel too, comparing the two step by step. FUSEPASS_REQUIRE_KERNEL=1 (CI) turns an
// unusable kernel into a failure.
import { afterAll, describe, expect, it } from 'vitest';
import type { ProfileName } from '../spec/case.ts';
import type { TestContext } from 'vitest';
import { coverageFor } from './coverage.ts';
import { formatLoadError, loadCases } from './load.ts';
import { loadKnownDivergences } from './known-divergences.ts';
import { caseProfiles, prepareTarget, runCase, type RunTarget } from './runner.ts';
import { loadKernelTarget, loadSimTarget } from './target-loader.ts';
import { ALL_PROFILES } from './coverage.ts';
import { playStep } from './targets/sim-target.ts';
import { createKernel, stepInvariantViolations, teardownInvariantViolations } from '../sim/index.ts';

const requireKernel = process.env['FUSEPASS_REQUIRE_KERNEL'] === '1';
const library = loadCases();
const known = loadKnownDivergences();

// The sim target must load for every profile; a profile that does not fails its cases.
const simTargets = new Map<ProfileName, RunTarget>();
let simLoadError: string | null = null;
for (const p of ALL_PROFILES) {
  const loaded = await loadSimTarget(p);
  if (loaded.target) simTargets.set(p, await prepareTarget(loaded.target));
  else simLoadError = loaded.reason;
}

const kernelLoaded = await loadKernelTarget();
const kernel = kernelLoaded.target ? await prepareTarget(kernelLoaded.target) : undefined;
const kernelReason = kernelLoaded.reason ?? null;

afterAll(async () => {
  for (const rt of [...simTargets.values(), ...(kernel ? [kernel] : [])]) await rt.target.dispose?.();
});

function annotate(ctx: TestContext, message: string) {
  // context.annotate exists from vitest 3.2; the note shows in reporters that support it.
  const a = (ctx as { annotate?: (m: string) => Promise<unknown> }).annotate;
  if (a) void a(message);
}

describe('case library (conformance/cases)', () => {
  it('has no broken case files and a sound known-divergences.json', () => {
    expect([...library.errors, ...known.errors].map(formatLoadError)).toEqual([]);
  });

  if (kernel) {
    it(`kernel target is usable (${kernel.info.kernelRelease ?? 'unknown release'}, profile ${kernel.info.profile})`, () => {});
  } else if (requireKernel) {
    it('kernel target is usable (FUSEPASS_REQUIRE_KERNEL=1)', () => {
      expect.fail(`kernel target unavailable: ${kernelReason ?? ''}`);
    });
  } else {
    it.skip(`kernel target: skipped (${kernelReason ?? ''})`, () => {});
  }

  it('the sim target loads for every profile', () => {
    expect(simLoadError).toBeNull();
  });

  for (const loaded of library.cases) {
    const kase = loaded.case;
    const name = `${kase.id} [${kase.checks.join(', ')}]`;
    it(name, async (ctx) => {
      const failures: string[] = [];
      for (const p of caseProfiles(kase)) {
        const sim = simTargets.get(p);
        if (!sim) {
          failures.push(`no sim target for profile ${p}: ${simLoadError ?? 'not loaded'}`);
          continue;
        }
        const r = await runCase(loaded, [sim], { known: known.entries });
        failures.push(...r.failures.map((f) => `(sim ${p}) ${f}`));
      }

      if (!kernel) {
        if (requireKernel) failures.push(`kernel target unavailable: ${kernelReason ?? ''}`);
        else annotate(ctx, `kernel part skipped: ${kernelReason ?? ''}`);
      } else if (kase.simOnly !== undefined) {
        annotate(ctx, `sim only: ${kase.simOnly}`);
      } else if (!caseProfiles(kase).includes(kernel.info.profile)) {
        annotate(ctx, `not applicable to the running kernel's profile ${kernel.info.profile}`);
      } else {
        const sim = simTargets.get(kernel.info.profile);
        const r = await runCase(loaded, sim ? [sim, kernel] : [kernel], { known: known.entries });
        failures.push(...r.failures.map((f) => `(${sim ? 'sim+kernel' : 'kernel'} ${kernel.info.profile}) ${f}`));
      }
      // One line per failure, in full (a deep-equal diff would elide them).
      if (failures.length > 0) expect.fail(`${loaded.file}:\n  ${failures.join('\n  ')}`);
    });
  }

  // The fuzzer checks the model's invariants on generated cases only; the library's cases are
  // the ones a kernel confirmed, so they must keep them too (an fsync's deferred ENOTCONN once
  // came back without an explanation here, and only a random-seed fuzz noticed).
  it('OBS-11 and the model invariants: every step of every case, on every profile it applies to, leaves the sim sound and explains its errno', () => {
    const bad: string[] = [];
    for (const { case: kase, file } of library.cases) {
      for (const profile of caseProfiles(kase)) {
        const k = createKernel({ profile, world: kase.world });
        kase.steps.forEach((step, i) => {
          for (const v of stepInvariantViolations(k, playStep(k, step))) bad.push(`${file} (${profile}) step ${i} ${step.op}: ${v}`);
        });
        k.teardown();
        for (const v of teardownInvariantViolations(k)) bad.push(`${file} (${profile}) teardown: ${v}`);
      }
    }
    if (bad.length > 0) expect.fail(bad.join('\n'));
  });

  // Not faked: this fails until the case library covers every check id of the spec.
  it('every 6.18 spec id is covered by a case (fails until the case library is complete)', () => {
    // Over all cases: a few spec ids are about other profiles (DEV-12: 6.12/6.9; BOPEN-2: nopt).
    const c = coverageFor(library.cases.map((l) => l.case));
    if (c.uncovered.length > 0) expect.fail(`${c.coveredIds}/${c.specIds} spec ids covered; uncovered: ${c.uncovered.join(', ')}`);
  });
});
