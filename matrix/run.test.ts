// The matrix counts a case that failed under emulation and passed when the guest played it
// again as passed, naming it racy, with its divergences out of the summary; a case that failed
// twice stays failed.
import { describe, expect, it } from 'vitest';
import type { Report } from '../reports/report.ts';
import { kernelLine, withRetries } from './run.ts';

const caseResult = (id: string, status: string, divergences: number, known = 0) =>
  ({ id, status, divergences: [...Array(divergences).keys()].map((i) => (i < known ? { known: { reason: 'r', kind: 'unobservable' } } : {})) }) as unknown as Report['cases'][number];
const report = (cases: Report['cases']) => ({ cases }) as unknown as Report;

describe('matrix retries (matrix/stage2.sh plays failed cases once more)', () => {
  const summary = { cases: 10, passed: 7, failed: 3, notApplicable: 0, divergences: 9, unexplainedDivergences: 8 };
  const first = report([caseResult('a', 'failed', 4, 1), caseResult('b', 'failed', 3), caseResult('c', 'failed', 2), caseResult('d', 'passed', 0)]);

  it('a case that passes the second time counts as passed and is named racy; one that fails again stays failed', () => {
    const retry = report([caseResult('a', 'passed', 0), caseResult('b', 'failed', 3), caseResult('c', 'passed', 0)]);
    const r = withRetries(summary, first, retry);
    expect(r.racy).toEqual(['a', 'c']);
    expect(r.summary).toEqual({ cases: 10, passed: 9, failed: 1, notApplicable: 0, divergences: 3, unexplainedDivergences: 3 });
    const line = kernelLine({ name: '6.12', package: 'p', release: '6.12.118', profile: '6.12', summary: r.summary, problem: null, seconds: 5, racy: r.racy });
    expect(line).toBe('matrix: 6.12 (6.12.118) on profile 6.12: 9 passed (2 of them only when played again, racy under emulation: a, c), 1 failed, 0 not applicable, 3 divergences (3 unexplained), 5 s');
  });

  it('no retry report: the first run stands', () => {
    expect(withRetries(summary, first, null)).toEqual({ summary, racy: [] });
  });
});
