import { describe, expect, it } from 'vitest';
import type { Case } from '../spec/case.ts';
import { caseCoveredIds, coverageByProfile, coverageFor } from './coverage.ts';

const kase = (id: string, extra: Partial<Case>): Case => ({ id, title: id, checks: [], world: {}, steps: [], ...extra });

describe('coverage of spec ids by cases', () => {
  it("a case covers the union of its checks and its steps' checks", () => {
    const c = kase('a', { checks: ['BOPEN-5'], steps: [{ op: 'devOpen', as: 'dev', checks: ['DEV-3', 'BOPEN-5'] }] });
    expect([...caseCoveredIds(c)].sort()).toEqual(['BOPEN-5', 'DEV-3']);
  });

  it('counts ids against the given spec id list and lists the uncovered ones in spec order', () => {
    const c = coverageFor([kase('a', { checks: ['BOPEN-5'] })], undefined, ['BOPEN-4', 'BOPEN-5', 'BOPEN-6']);
    expect(c).toEqual({ specIds: 3, coveredIds: 1, uncovered: ['BOPEN-4', 'BOPEN-6'] });
  });

  it('per profile counts only cases applying to it (no profiles = 6.18, 6.12, 6.9); over all profiles counts every case', () => {
    const ids = ['DEV-12', 'BOPEN-2', 'BOPEN-5'] as const;
    const cases = [
      kase('old', { checks: ['DEV-12'], profiles: ['6.12', '6.9'] }),
      kase('nopt', { checks: ['BOPEN-2'], profiles: ['nopt'] }),
      kase('any', { checks: ['BOPEN-5'] }),
    ];
    expect(coverageFor(cases, '6.18', ids).uncovered).toEqual(['DEV-12', 'BOPEN-2']);
    expect(coverageFor(cases, '6.12', ids).uncovered).toEqual(['BOPEN-2']);
    expect(coverageFor(cases, 'nopt', ids).uncovered).toEqual(['DEV-12', 'BOPEN-5']);
    expect(coverageFor(cases, undefined, ids).uncovered).toEqual([]);
    expect(Object.keys(coverageByProfile(cases)).sort()).toEqual(['6.1', '6.12', '6.18', '6.9', 'nopt']);
  });
});
