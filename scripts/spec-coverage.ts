// Coverage of the spec's check ids by tests AND cases (npm run coverage:spec):
// - an id counts for tests when a *.test.ts file names it in a test or describe title
//   (the code rules ask tests that exercise an id to name it in their title);
// - an id counts for cases when a case that some test plays covers it (its checks or a step's):
//   conformance/library.test.ts plays the whole library, so every library case counts when
//   that test exists; other case files count when a test file names their id.
// Prints the table per prefix and the uncovered ids; with --require-full exits 1 unless every
// spec id (the 6.18 spec) is covered.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHECK_IDS, type CheckId } from '../spec/check-ids.ts';
import type { Case } from '../spec/case.ts';
import { ALL_PROFILES, caseCoveredIds, coverageFor, percent } from '../conformance/coverage.ts';
import { loadCases } from '../conformance/load.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// reports/out (from the repo root) holds generated run reports; reports/ itself has tests.
const SKIP_DIRS = new Set(['reports/out']);

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      const p = join(dir, e.name);
      if (e.name !== 'node_modules' && !e.name.startsWith('.') && !SKIP_DIRS.has(relative(root, p))) out.push(...testFiles(p));
    } else if (e.name.endsWith('.test.ts')) out.push(join(dir, e.name));
  }
  return out.sort();
}

const TITLE = /\b(?:it|test|describe)(?:\.\w+)*(?:\([^()]*\))?\(\s*(['"`])((?:\\.|(?!\1)[\s\S])*?)\1/g;
const ID = /\b([A-Z]+-\d+)\b/g;

/** Check ids named in test or describe titles of a test file's source. */
export function idsInTestTitles(source: string, known: ReadonlySet<string> = new Set(CHECK_IDS)): Set<CheckId> {
  const ids = new Set<CheckId>();
  for (const m of source.matchAll(TITLE)) {
    for (const id of (m[2] ?? '').matchAll(ID)) if (known.has(id[1]!)) ids.add(id[1] as CheckId);
  }
  return ids;
}

export interface SpecCoverage {
  byTests: Map<CheckId, string[]>;
  byCases: Map<CheckId, string[]>;
  uncovered: CheckId[];
  playedCases: Case[];
}

export function computeSpecCoverage(): SpecCoverage {
  const files = testFiles(root);
  const byTests = new Map<CheckId, string[]>();
  const sources = new Map<string, string>();
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    sources.set(f, src);
    for (const id of idsInTestTitles(src)) byTests.set(id, [...(byTests.get(id) ?? []), relative(root, f)]);
  }
  const libraryTest = join(root, 'conformance', 'library.test.ts');
  const library = loadCases([]).cases;
  const played = library.filter(
    (c) => existsSync(libraryTest) || [...sources.values()].some((src) => src.includes(c.case.id)),
  );
  const byCases = new Map<CheckId, string[]>();
  for (const c of played) for (const id of caseCoveredIds(c.case)) byCases.set(id, [...(byCases.get(id) ?? []), c.case.id]);
  const uncovered = CHECK_IDS.filter((id) => !byTests.has(id) && !byCases.has(id));
  return { byTests, byCases, uncovered, playedCases: played.map((c) => c.case) };
}

function main(argv: string[]): number {
  const cov = computeSpecCoverage();
  const prefixes = [...new Set(CHECK_IDS.map((id) => id.split('-')[0]!))];
  const rows = prefixes.map((p) => {
    const ids = CHECK_IDS.filter((id) => id.startsWith(`${p}-`));
    const t = ids.filter((id) => cov.byTests.has(id)).length;
    const c = ids.filter((id) => cov.byCases.has(id)).length;
    const either = ids.filter((id) => cov.byTests.has(id) || cov.byCases.has(id)).length;
    return [p, String(ids.length), String(t), String(c), String(either)];
  });
  const total = CHECK_IDS.length;
  const covered = total - cov.uncovered.length;
  const header = ['prefix', 'ids', 'tests', 'cases', 'covered'];
  const all = [header, ...rows, ['total', String(total), String(cov.byTests.size), String(cov.byCases.size), String(covered)]];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) console.log(r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  '));
  console.log(`\nspec ids covered by tests or played cases: ${covered}/${total} (${((100 * covered) / total).toFixed(1)}%)`);
  const perProfile = ALL_PROFILES.map((p) => `${p} ${percent(coverageFor(cov.playedCases, p))}`).join(', ');
  console.log(`cases per profile: ${perProfile}`);
  if (cov.uncovered.length > 0) console.log(`uncovered: ${cov.uncovered.join(', ')}`);
  if (argv.includes('--require-full') && cov.uncovered.length > 0) {
    console.error(`coverage:spec: ${cov.uncovered.length} spec ids uncovered (--require-full)`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
