// `npm run bench reports`: the readable reports must take time linear in the size of the run.
// One case of N reads and one of 10 N, played on the sim in one run; each renderer's time for
// the larger over the smaller should be about 10 (it was ~quadratic: 100k steps took 84 s).
import type { Case } from '../spec/case.ts';
import { runCases } from '../conformance/runner.ts';
import { createSimTarget } from '../conformance/targets/sim-target.ts';
import { prepareTarget } from '../conformance/runner.ts';
import { coverageFor } from '../conformance/coverage.ts';
import { buildReport } from '../reports/json.ts';
import { renderMarkdown } from '../reports/markdown.ts';
import { renderHtml } from '../reports/html.ts';
import { renderJunit } from '../reports/junit.ts';
import type { Report } from '../reports/report.ts';

function readsCase(n: number): Case {
  return {
    id: `bench-reads-${n}`,
    title: `${n} reads`,
    checks: ['IO-1'],
    world: { nodes: { a: {} } },
    steps: [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'a', as: 'f' }, ...Array.from({ length: n }, () => ({ op: 'read' as const, fd: 'f', length: 1, offset: 0 }))],
  };
}

async function reportOf(n: number): Promise<Report> {
  const kase = readsCase(n);
  const sim = await prepareTarget(createSimTarget());
  const results = await runCases([{ case: kase, file: `${kase.id}.json` }], [sim]);
  return buildReport({ startedAt: new Date(), durationMs: 0, results, errors: [], targets: ['sim'], kernel: null, profile: '6.18', coverage: coverageFor([kase]), coverageByProfile: {}, unusedKnownDivergences: [] });
}

function ms(f: () => unknown): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

export async function benchReports(n = 10_000): Promise<Record<string, number>> {
  const small = await reportOf(n);
  const large = await reportOf(10 * n);
  const ratios: Record<string, number> = {};
  console.log(`bench reports: one case of ${n} and of ${10 * n} reads (sim); time(10 N) / time(N) is ~10 when linear`);
  for (const [name, render] of [
    ['markdown', (r: Report) => renderMarkdown(r, {})],
    ['html', (r: Report) => renderHtml(r, {})],
    ['junit', (r: Report) => renderJunit(r)],
    ['json', (r: Report) => JSON.stringify(r)],
  ] as const) {
    render(small); // warm up
    const a = ms(() => render(small));
    const b = ms(() => render(large));
    ratios[name] = b / a;
    console.log(`  ${name.padEnd(8)}  ${a.toFixed(0).padStart(5)} ms  ${b.toFixed(0).padStart(6)} ms  ratio ${(b / a).toFixed(1)}`);
  }
  return ratios;
}
