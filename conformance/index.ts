// The conformance API (package export `fusepass/conformance`): load and validate cases, play
// them on targets, compare targets, compute coverage.
export { CASES_DIR, displayPath, findCaseFiles, formatLoadError, loadCaseFile, loadCases } from './load.ts';
export type { LoadedCase, LoadResult } from './load.ts';
export { checkNames, checkId } from './validate.ts';
export { CaseSchema } from './schema-errors.ts';
export type { Issue } from './schema-errors.ts';
export { caseProfiles, DEFAULT_CASE_PROFILES, divergencesOf, playCase, prepareTarget, runCase, runCases } from './runner.ts';
export type { RunOptions, RunTarget } from './runner.ts';
export { checkExpectation, diffObservations, missingChecks } from './compare.ts';
export { KNOWN_DIVERGENCES_FILE, knownLabel, loadKnownDivergences, matchKnown, parseKnownDivergences } from './known-divergences.ts';
export type { KnownDivergence } from './known-divergences.ts';
export { ALL_PROFILES, caseCoveredIds, coverageByProfile, coverageFor } from './coverage.ts';
export { loadKernelTarget, loadSimTarget } from './target-loader.ts';
export type * from './results.ts';
