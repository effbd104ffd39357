// Builds the JSON report of a run (reports/report.ts) and writes it.
import { writeFileSync } from 'node:fs';
import { ensureDir } from '../conformance/ensure-dir.ts';
import { dirname, resolve } from 'node:path';
import type { ProfileName } from '../spec/case.ts';
import type { TargetName } from '../spec/target.ts';
import type { CaseResult, CoverageSummary, LoadError } from '../conformance/results.ts';
import type { Report } from './report.ts';

export interface ReportInput {
  startedAt: Date;
  durationMs: number;
  results: CaseResult[];
  errors: LoadError[];
  targets: TargetName[];
  kernel: string | null;
  profile: ProfileName;
  kernelNote?: string;
  coverage: CoverageSummary;
  coverageByProfile: Partial<Record<ProfileName, CoverageSummary>>;
  unusedKnownDivergences: string[];
}

export function buildReport(input: ReportInput): Report {
  const count = (status: CaseResult['status']) => input.results.filter((r) => r.status === status).length;
  const divergences = input.results.flatMap((r) => r.divergences);
  const known = divergences.filter((d) => d.known).length;
  // Each distinct file with load errors counts once as a broken case.
  const broken = new Set(input.errors.map((e) => e.file)).size;
  const failed = count('failed');
  const unexplained = divergences.length - known;
  const cases = input.results.length + broken;
  const summary: Report['summary'] = {
    cases,
    passed: count('passed'),
    failed,
    errors: broken,
    notApplicable: count('notApplicable'),
    skipped: count('skipped'),
    divergences: divergences.length,
    knownDivergences: known,
    unexplainedDivergences: unexplained,
    coverage: input.coverage,
    targets: input.targets,
    kernel: input.kernel,
    profile: input.profile,
    durationMs: Math.round(input.durationMs),
    failing: failed > 0 || broken > 0 || unexplained > 0 || cases === 0,
  };
  if (input.kernelNote !== undefined) summary.kernelNote = input.kernelNote;
  return {
    version: 1,
    tool: 'fusepass',
    startedAt: input.startedAt.toISOString(),
    summary,
    coverageByProfile: input.coverageByProfile,
    cases: input.results,
    errors: input.errors,
    unusedKnownDivergences: input.unusedKnownDivergences,
  };
}

/** Default report path: reports/out/run-<time>.json under the working directory. */
export function defaultReportPath(startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  return resolve('reports', 'out', `run-${stamp}.json`);
}

/** Write the report as 2-space JSON; returns the absolute path written. */
export function writeJsonReport(report: Report, file: string): string {
  const path = resolve(file);
  ensureDir(dirname(path));
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
