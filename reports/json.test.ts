import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaseResult } from '../conformance/results.ts';
import { buildReport, writeJsonReport, type ReportInput } from './json.ts';
import { reportSchemaErrors } from './validate.ts';

function result(id: string, status: CaseResult['status'], divergences: CaseResult['divergences'] = []): CaseResult {
  return { id, file: `${id}.json`, title: id, checks: [], steps: [], profiles: ['6.18'], status, failures: [], runs: [], divergences, durationMs: 1 };
}

const base: ReportInput = {
  startedAt: new Date('2026-01-01T00:00:00Z'),
  durationMs: 12.4,
  results: [],
  errors: [],
  targets: ['sim', 'kernel'],
  kernel: '6.18.44',
  profile: '6.18',
  coverage: { specIds: 2, coveredIds: 2, uncovered: [] },
  coverageByProfile: {},
  unusedKnownDivergences: [],
};

describe('JSON report', () => {
  it('counts statuses, broken files once per file, and known vs unexplained divergences', () => {
    const d = { step: 1, op: 'mount' as const, field: 'requests' as const, sim: [], kernel: ['GETATTR'] };
    const report = buildReport({
      ...base,
      results: [
        result('a', 'passed', [{ ...d, known: { kind: 'unobservable', reason: 'r' } }]),
        result('b', 'failed', [d]),
        result('c', 'notApplicable'),
        result('d', 'skipped'),
      ],
      errors: [
        { file: 'x.json', path: '/steps/0/op', message: 'unknown step op' },
        { file: 'x.json', path: '/steps/1/fd', message: 'not defined' },
        { file: 'y.json', path: '', message: 'malformed JSON' },
      ],
    });
    expect(report.summary).toMatchObject({
      cases: 6,
      passed: 1,
      failed: 1,
      errors: 2,
      notApplicable: 1,
      skipped: 1,
      divergences: 2,
      knownDivergences: 1,
      unexplainedDivergences: 1,
      failing: true,
    });
    expect(reportSchemaErrors(report)).toEqual([]);
  });

  it('a run with only passes is not failing; an empty run is', () => {
    expect(buildReport({ ...base, results: [result('a', 'passed')] }).summary.failing).toBe(false);
    expect(buildReport(base).summary.failing).toBe(true);
  });

  it('an unexplained divergence alone makes the run failing', () => {
    const d = { step: 0, op: 'devOpen' as const, field: 'errno' as const, sim: null, kernel: 'EPERM' };
    expect(buildReport({ ...base, results: [result('a', 'passed', [d])] }).summary.failing).toBe(true);
  });

  it('writes 2-space JSON that reads back equal and validates against the schema', () => {
    const report = buildReport({ ...base, results: [result('a', 'passed')] });
    const path = writeJsonReport(report, join(mkdtempSync(join(tmpdir(), 'fusepass-report-')), 'sub', 'r.json'));
    const back = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    expect(back).toEqual(report);
    expect(reportSchemaErrors(back)).toEqual([]);
    expect(reportSchemaErrors({ ...report, summary: { ...report.summary, cases: 'six' } })).toEqual([expect.stringContaining('/summary/cases')]);
  });
});
