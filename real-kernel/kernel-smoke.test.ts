// The kernel smoke set (one case or more per spec group) played on the running kernel, with
// expectations from kernel-spec.md; and, where the sim target exists, step-by-step equality of
// the sim's and the kernel's canonical observations.
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Case } from '../spec/case.ts';
import type { Observation } from '../spec/observation.ts';
import type { Target } from '../spec/target.ts';
import { SMOKE_CASES } from './smoke-cases.ts';
import { kernelGate, mismatches, play } from './test-support.ts';

const gate = await kernelGate();

const GROUPS = ['INIT', 'DEV', 'BOPEN', 'BID', 'BCLOSE', 'OPEN', 'IOM', 'PTF', 'IO', 'LIFE', 'STACK'];

describe('smoke set coverage', () => {
  it('has at least one case per spec group', () => {
    const prefixes = new Set(SMOKE_CASES.flatMap((k) => k.checks.map((c) => c.split('-')[0])));
    expect(GROUPS.filter((g) => !prefixes.has(g))).toEqual([]);
  });
});

if (gate.reason && gate.required) {
  describe('kernel smoke set', () => {
    it('runs on this machine (FUSEPASS_REQUIRE_KERNEL=1)', () => {
      expect.fail(`kernel target unavailable: ${gate.reason}`);
    });
  });
}

const SIM_TARGET = new URL('../conformance/targets/sim-target.ts', import.meta.url);

async function simTarget(): Promise<Target | null> {
  if (!fs.existsSync(SIM_TARGET)) return null;
  const mod = (await import(SIM_TARGET.href)) as { createSimTarget?: () => Target };
  return mod.createSimTarget ? mod.createSimTarget() : null;
}

/** The fields both targets must agree on (explain is sim-only). */
function comparable(o: Observation): unknown {
  return { errno: o.errno, value: o.value ?? null, requests: o.requests, events: o.events, fault: o.fault?.kind ?? null };
}

describe.skipIf(gate.reason !== null)(gate.reason ? `kernel smoke set (skipped: ${gate.reason})` : 'kernel smoke set', () => {
  afterAll(async () => {
    await gate.target.dispose?.();
  });
  const kernelRuns = new Map<string, Awaited<ReturnType<typeof play>>>();

  for (const kase of SMOKE_CASES) {
    it(`${kase.checks.join(', ')}: ${kase.title}`, async () => {
      const played = await play(gate.target, kase);
      kernelRuns.set(kase.id, played);
      expect(mismatches(kase, played)).toEqual([]);
    });
  }

  it('sim and kernel observations are equal step by step (when the sim target exists)', async (ctx) => {
    const sim = await simTarget();
    if (!sim) {
      ctx.skip();
      return;
    }
    const diffs: string[] = [];
    for (const kase of SMOKE_CASES as Case[]) {
      const k = kernelRuns.get(kase.id) ?? (await play(gate.target, kase));
      const s = await play(sim, kase);
      kase.steps.forEach((step, i) => {
        const a = JSON.stringify(comparable(s.steps[i]!));
        const b = JSON.stringify(comparable(k.steps[i]!));
        if (a !== b) diffs.push(`${kase.id} step ${i} (${step.op}): sim ${a} kernel ${b}`);
      });
    }
    expect(diffs).toEqual([]);
  });
});
