// Coverage of the spec's check ids by cases: an id is covered by a case when the case lists it
// in `checks` or one of its steps does. Computed per profile over the cases applying to it.
import { PROFILE_NAMES, type Case, type ProfileName } from '../spec/case.ts';
import { CHECK_IDS, type CheckId } from '../spec/check-ids.ts';
import type { CoverageSummary } from './results.ts';
import { caseProfiles } from './runner.ts';

/** Every profile, as spec/case.ts lists them. */
export const ALL_PROFILES = PROFILE_NAMES;

/** The union of a case's `checks` and its steps' `checks`. */
export function caseCoveredIds(kase: Case): Set<CheckId> {
  const ids = new Set<CheckId>(kase.checks);
  for (const step of kase.steps) for (const id of step.checks ?? []) ids.add(id);
  return ids;
}

/**
 * Spec ids covered by the cases that apply to `profile`, or by all cases when no profile is
 * given. The spec is 6.18's; some of its ids are about other kernels (DEV-12 is SYNC_INIT before
 * 6.18, BOPEN-2 is CONFIG_FUSE_PASSTHROUGH=n), so the spec's full coverage is over all cases.
 */
export function coverageFor(cases: readonly Case[], profile?: ProfileName, specIds: readonly CheckId[] = CHECK_IDS): CoverageSummary {
  const covered = new Set<CheckId>();
  for (const kase of cases) {
    if (profile !== undefined && !caseProfiles(kase).includes(profile)) continue;
    for (const id of caseCoveredIds(kase)) covered.add(id);
  }
  const uncovered = specIds.filter((id) => !covered.has(id));
  return { specIds: specIds.length, coveredIds: specIds.length - uncovered.length, uncovered };
}

export function coverageByProfile(cases: readonly Case[]): Partial<Record<ProfileName, CoverageSummary>> {
  const out: Partial<Record<ProfileName, CoverageSummary>> = {};
  for (const p of ALL_PROFILES) out[p] = coverageFor(cases, p);
  return out;
}

export function percent(c: CoverageSummary): string {
  return c.specIds === 0 ? '100.0%' : `${((100 * c.coveredIds) / c.specIds).toFixed(1)}%`;
}
