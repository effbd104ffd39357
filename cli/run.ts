// `fusepass run`: load cases, pick targets, play, compare, print progress (stderr) and a
// summary table (stdout), write the JSON report, exit non-zero on failures, broken cases or
// unexplained divergences.
import { parseArgs } from 'node:util';
import { relative, resolve } from 'node:path';
import type { ProfileName } from '../spec/case.ts';
import { CHECK_IDS, type CheckId } from '../spec/check-ids.ts';
import type { Target } from '../spec/target.ts';
import { ALL_PROFILES, coverageByProfile, coverageFor, percent } from '../conformance/coverage.ts';
import { knownLabel, loadKnownDivergences, KNOWN_DIVERGENCES_FILE } from '../conformance/known-divergences.ts';
import { formatLoadError, loadCases, CASES_DIR } from '../conformance/load.ts';
import type { CaseResult, CoverageSummary } from '../conformance/results.ts';
import { prepareTarget, runCases, type RunTarget } from '../conformance/runner.ts';
import { loadKernelTarget, loadSimTarget, type Loaded } from '../conformance/target-loader.ts';
import { buildReport, defaultReportPath, writeJsonReport } from '../reports/json.ts';
import { onInterrupt } from './interrupt.ts';
import type { Report } from '../reports/report.ts';
import { writeReadableReports, type ReadablePaths } from '../reports/write.ts';
import { argsErrorText } from './args.ts';
import { runEnvironment } from './run-environment.ts';
import type { CliIo } from './io.ts';

export const RUN_USAGE = `usage: fusepass run [--target sim|kernel|both] [--profile 6.18|6.12|6.9|nopt] [--json FILE] [case files, directories or ids ...]

  Plays conformance cases (default: every case in conformance/cases/) and compares targets step by step.
  --target   sim, kernel or both (default: both when the kernel target is usable here, else sim)
  --profile  kernel profile the sim plays (default: the running kernel's, else 6.18)
  --json     where to write the JSON report (default: reports/out/run-<time>.json; - for the JSON
             alone on stdout, the summary then on stderr and no other file); the Markdown,
             HTML and JUnit reports go beside it (<name>.md, <name>.html, <name>.junit.xml)
  Exit status: 0 all passed; 1 failures, broken cases or unexplained divergences; 2 bad usage.`;

const KERNEL_WATCHDOG_MS = 120_000;
const TARGET_CHOICES = ['sim', 'kernel', 'both'] as const;

/** Replaceable pieces, for tests and for library users. */
export interface RunDeps {
  loadSim?: (profile: ProfileName) => Promise<Loaded>;
  loadKernel?: () => Promise<Loaded>;
  casesDir?: string;
  knownFile?: string;
  now?: () => Date;
}

interface RunArgs {
  target?: (typeof TARGET_CHOICES)[number];
  profile?: ProfileName;
  json?: string;
  selectors: string[];
}

function parseRunArgs(argv: string[]): RunArgs | { error: string } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string', short: 't' },
        profile: { type: 'string', short: 'p' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return { error: argsErrorText(e) };
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const target = values.target;
  if (target !== undefined && !(TARGET_CHOICES as readonly string[]).includes(target)) {
    return { error: `--target ${JSON.stringify(target)}: expected one of ${TARGET_CHOICES.join(', ')}` };
  }
  const profile = values.profile;
  if (profile !== undefined && !(ALL_PROFILES as readonly string[]).includes(profile)) {
    return { error: `--profile ${JSON.stringify(profile)}: expected one of ${ALL_PROFILES.join(', ')}` };
  }
  const out: RunArgs = { selectors: positionals };
  if (target !== undefined) out.target = target as RunArgs['target'] & string;
  if (profile !== undefined) out.profile = profile as ProfileName;
  if (values.json !== undefined) out.json = values.json;
  return out;
}

export async function runCommand(argv: string[], io: CliIo, deps: RunDeps = {}): Promise<number> {
  const args = parseRunArgs(argv);
  if (args === 'help') {
    io.out(RUN_USAGE);
    return 0;
  }
  if ('error' in args) {
    io.err(`fusepass run: ${args.error}. See fusepass run --help.`);
    return 2;
  }
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const t0 = performance.now();

  // ---- targets ----------------------------------------------------------------------------
  const picked = await pickTargets(args, deps, io);
  if ('exit' in picked) return picked.exit;
  const { runTargets, profile, kernelRelease } = picked;
  let { kernelNote } = picked;
  const interrupt = onInterrupt((l) => io.err(l));

  try {
    // ---- cases ------------------------------------------------------------------------------
    const loaded = loadCases(args.selectors, deps.casesDir ?? CASES_DIR);
    const known = loadKnownDivergences(deps.knownFile ?? KNOWN_DIVERGENCES_FILE);
    const errors = [...loaded.errors, ...known.errors];
    for (const e of errors) io.err(`BROKEN ${formatLoadError(e)}`);

    const used = new Set<string>();
    const width = String(loaded.cases.length).length;
    const results = await runCases(loaded.cases, runTargets, {
      shouldStop: () => interrupt.signal !== null,
      // Only a safety net: the kernel target enforces its own per-case deadline.
      ...(runTargets.some((t) => t.target.name === 'kernel') ? { watchdogMs: KERNEL_WATCHDOG_MS } : {}),
      known: known.entries,
      usedKnown: used,
      onCase: (r, i, total) => io.err(progressLine(r, i, total, width)),
    });

    if (interrupt.signal !== null) {
      const note = `interrupted by ${interrupt.signal} after ${results.length} of ${loaded.cases.length} cases`;
      kernelNote = kernelNote === undefined ? note : `${kernelNote}; ${note}`;
    }
    const cases = loaded.cases.map((c) => c.case);
    const played = new Set(results.filter((r) => r.status === 'passed' || r.status === 'failed').map((r) => r.id));
    const report = buildReport({
      startedAt,
      durationMs: performance.now() - t0,
      results,
      errors,
      targets: runTargets.map((t) => t.target.name),
      kernel: kernelRelease,
      profile,
      ...(kernelNote !== undefined ? { kernelNote } : {}),
      // Only cases that really played on this profile cover anything (N/A ones do not).
      coverage: coverageFor(cases.filter((c) => played.has(c.id)), profile),
      coverageByProfile: coverageByProfile(cases),
      // Pattern entries are not tied to the selected cases; list only exact-case entries unused.
      unusedKnownDivergences: known.entries
        .filter((k) => k.case !== undefined && loaded.cases.some((c) => c.case.id === k.case))
        .map(knownLabel)
        .filter((label) => !used.has(label)),
    });
    // Named cases or directories are a selection: which spec ids they exercise is the news,
    // not the ~200 ids a handful of cases were never meant to cover.
    const casesDir = resolve(deps.casesDir ?? CASES_DIR);
    const wholeLibrary = args.selectors.every((sel) => resolve(sel) === casesDir);
    // `--json -` (or /dev/stdout): the JSON alone on stdout for a pipe, the summary on stderr,
    // and no other files.
    if (args.json === '-' || args.json === '/dev/stdout') {
      for (const line of summaryLines(report, wholeLibrary ? 'library' : 'selection')) io.err(line);
      io.out(JSON.stringify(report, null, 2));
      return interrupt.signal !== null ? interrupt.exitCode() : report.summary.failing ? 1 : 0;
    }
    for (const line of summaryLines(report, wholeLibrary ? 'library' : 'selection')) io.out(line);
    const wanted = args.json ?? defaultReportPath(startedAt);
    let path: string;
    let readable: ReadablePaths;
    try {
      path = writeJsonReport(report, wanted);
      readable = writeReadableReports(report, path, runEnvironment());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      io.err(`fusepass run: cannot write the report ${wanted}: ${code ?? (e instanceof Error ? e.message : String(e))} (expected a writable file path for --json)`);
      return 1;
    }
    io.out(`readable reports: ${shortPath(readable.html)}, ${shortPath(readable.markdown)}, ${shortPath(readable.junit)}`);
    io.out(`report: ${shortPath(path)}`);
    if (interrupt.signal !== null) io.out(`interrupted by ${interrupt.signal}: the report holds the ${results.length} cases played`);
    return interrupt.signal !== null ? interrupt.exitCode() : report.summary.failing ? 1 : 0;
  } finally {
    interrupt.dispose();
    for (const rt of runTargets) await rt.target.dispose?.().catch(() => undefined);
  }
}

type Picked =
  | { runTargets: RunTarget[]; profile: ProfileName; kernelNote?: string; kernelRelease: string | null }
  | { exit: number };

async function pickTargets(args: RunArgs, deps: RunDeps, io: CliIo): Promise<Picked> {
  const wantKernel = args.target !== 'sim';
  let kernel: Loaded | undefined;
  if (wantKernel) kernel = await (deps.loadKernel ?? loadKernelTarget)();
  let kernelNote: string | undefined;
  let kernelTarget: Target | undefined = kernel?.target;

  if (args.target === 'kernel' || args.target === 'both') {
    if (!kernelTarget) {
      io.err(`fusepass run: --target ${args.target} needs the kernel target, which is unavailable here: ${kernel?.reason ?? 'unknown reason'}`);
      return { exit: 1 };
    }
  } else if (args.target === undefined && !kernelTarget) {
    kernelNote = `kernel target unavailable (${kernel?.reason ?? 'unknown reason'}); running on the sim only`;
    io.err(`note: ${kernelNote}`);
  }

  const kernelRun = kernelTarget ? await prepareTarget(kernelTarget) : undefined;
  const profile = args.profile ?? kernelRun?.info.profile ?? '6.18';
  if (kernelRun && kernelRun.info.profile !== profile) {
    if (args.target !== undefined) {
      io.err(`fusepass run: the running kernel is profile ${kernelRun.info.profile}; --profile ${profile} can run on the sim only (use --target sim)`);
      await kernelTarget?.dispose?.().catch(() => undefined);
      return { exit: 2 };
    }
    kernelNote = `the running kernel is profile ${kernelRun.info.profile}; --profile ${profile} runs on the sim only`;
    io.err(`note: ${kernelNote}`);
    await kernelTarget?.dispose?.().catch(() => undefined);
    kernelTarget = undefined;
  }

  const runTargets: RunTarget[] = [];
  if (args.target !== 'kernel') {
    const sim = await (deps.loadSim ?? loadSimTarget)(profile);
    if (!sim.target) {
      io.err(`fusepass run: ${sim.reason}`);
      await kernelTarget?.dispose?.().catch(() => undefined);
      return { exit: 1 };
    }
    runTargets.push(await prepareTarget(sim.target));
  }
  if (kernelTarget && kernelRun) runTargets.push(kernelRun);
  const out: Picked = { runTargets, profile, kernelRelease: kernelTarget && kernelRun ? kernelRun.info.kernelRelease : null };
  if (kernelNote !== undefined) out.kernelNote = kernelNote;
  return out;
}

const STATUS_WORD: Record<CaseResult['status'], string> = {
  passed: 'PASS',
  failed: 'FAIL',
  error: 'BROKEN',
  notApplicable: 'N/A',
  skipped: 'SKIP',
};

function progressLine(r: CaseResult, i: number, total: number, width: number): string {
  const known = r.divergences.filter((d) => d.known).length;
  const notes = [
    `${r.durationMs.toFixed(1)} ms`,
    ...(r.simOnly !== undefined ? ['sim only'] : []),
    ...(known > 0 ? [`${known} known divergence${known > 1 ? 's' : ''}`] : []),
    ...r.runs.filter((x) => x.status === 'notApplicable' && r.status !== 'notApplicable').map((x) => `${x.target} n/a`),
  ];
  const head = `[${String(i + 1).padStart(width)}/${total}] ${STATUS_WORD[r.status].padEnd(4)} ${r.id} (${notes.join(', ')})`;
  const reason = r.status === 'notApplicable' || r.status === 'skipped' ? r.runs.map((x) => x.reason).filter(Boolean) : [];
  return [head, ...r.failures.map((f) => `      ${f}`), ...reason.map((x) => `      ${x}`)].join('\n');
}

/** The spec ids a coverage summary counts as covered, in spec order. */
function exercisedIds(c: CoverageSummary): CheckId[] {
  const uncovered = new Set(c.uncovered);
  return CHECK_IDS.filter((id) => !uncovered.has(id));
}

function shortPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel.startsWith('..') ? p : rel;
}

/** How many ids to name on one summary line before pointing at the report instead. */
const MAX_LISTED_IDS = 40;

function idList(ids: readonly string[]): string {
  return ids.length <= MAX_LISTED_IDS ? ids.join(', ') : `${ids.slice(0, MAX_LISTED_IDS).join(', ')}, ... (${ids.length} in all; see the report)`;
}

/**
 * The summary table printed on stdout. For the whole library the coverage line counts spec ids
 * and lists the uncovered ones; for a selection of cases it names the ids those cases exercise.
 */
export function summaryLines(report: Report, scope: 'library' | 'selection' = 'library'): string[] {
  const s = report.summary;
  const rows: [string, string][] = [
    ['cases', String(s.cases)],
    ['passed', String(s.passed)],
    ['failed', String(s.failed)],
    ['broken case files', String(s.errors)],
    ['not applicable', String(s.notApplicable)],
    ['skipped', String(s.skipped)],
    ['divergences', `${s.divergences} (${s.knownDivergences} known, ${s.unexplainedDivergences} unexplained)`],
    scope === 'library'
      ? ['spec coverage', `${s.coverage.coveredIds}/${s.coverage.specIds} check ids by the cases that played on profile ${s.profile} (${percent(s.coverage)})`]
      : ['check ids', `${s.coverage.coveredIds} exercised by these cases${s.coverage.coveredIds > 0 ? `: ${idList(exercisedIds(s.coverage))}` : ''}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const targets = s.targets.join('+') || 'none';
  const lines = [
    `fusepass run: ${targets}, profile ${s.profile}${s.kernel ? `, kernel ${s.kernel}` : ''}, ${(s.durationMs / 1000).toFixed(2)} s`,
    ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`),
  ];
  const failed = report.cases.filter((c) => c.status === 'failed');
  if (failed.length > 0) {
    lines.push('failed cases:');
    for (const c of failed) lines.push(`  ${c.id}: ${c.failures[0] ?? ''}${c.failures.length > 1 ? ` (+${c.failures.length - 1} more)` : ''}`);
  }
  if (report.errors.length > 0) {
    lines.push('broken case files:');
    for (const e of report.errors) lines.push(`  ${formatLoadError(e)}`);
  }
  if (scope === 'library' && s.coverage.uncovered.length > 0) lines.push(`uncovered spec ids: ${idList(s.coverage.uncovered)}`);
  if (report.unusedKnownDivergences.length > 0) {
    lines.push(`known divergences not seen in this run: ${report.unusedKnownDivergences.join(', ')}`);
  }
  if (s.cases === 0) lines.push('no cases to run');
  return lines;
}
