// The reader's view of a JSON report, shared by the Markdown, HTML and JUnit writers: a case's
// trace step by step with each target's observation side by side, divergences worded as
// "expected ... observed ...", the coverage matrix and the environment. Pure: no I/O.
import type { CheckId } from '../spec/check-ids.ts';
import { CHECKS } from '../spec/check-ids.ts';
import type { Step } from '../spec/case.ts';
import type { Observation } from '../spec/observation.ts';
import type { TargetName } from '../spec/target.ts';
import type { CaseResult, Divergence, ObservedValue, StepResult } from '../conformance/results.ts';
import { show } from '../conformance/compare.ts';
import type { Report } from './report.ts';

export const TARGET_ORDER: readonly TargetName[] = ['sim', 'kernel'];

/** Spec section of each check-id prefix (shared/kernel-spec.md headings). */
export const SPEC_SECTIONS: Record<string, string> = {
  INIT: '§2 FUSE_INIT negotiation',
  DEV: '§3 /dev/fuse fd states and ioctl dispatch',
  BOPEN: '§4 FUSE_DEV_IOC_BACKING_OPEN',
  BID: '§5 Backing id allocation',
  BCLOSE: '§6 FUSE_DEV_IOC_BACKING_CLOSE',
  OPEN: '§7 OPEN and CREATE replies',
  IOM: '§8 Inode io-mode state machine',
  PTF: '§9 The per-open backing file',
  IO: '§10 Data path and coherence',
  LIFE: '§11 Lifetime and reference counting',
  STACK: '§12 Stack depth',
  OBS: '§13 Observables for a test harness',
};

export function isCheckId(id: string): id is CheckId {
  return Object.hasOwn(CHECKS, id);
}

export function checkSection(id: string): string {
  return SPEC_SECTIONS[id.replace(/-\d+$/, '')] ?? 'kernel-spec.md';
}

/** Anchor of a check id in the bundled check index (HTML and Markdown alike). */
export function checkAnchor(id: string): string {
  return `check-${id}`;
}

export function caseAnchor(id: string): string {
  return `case-${id}`;
}

/** A step as a person reads it: `backingOpen dev=dev fd=bf1 as=b1`. */
export function describeStep(step: Step | { op: string }): string {
  const parts: string[] = [step.op];
  for (const [k, v] of Object.entries(step)) {
    if (k === 'op' || k === 'checks' || k === 'expect' || k === 'note' || v === undefined) continue;
    parts.push(`${k}=${compact(v)}`);
  }
  return parts.join(' ');
}

/** JSON without the quotes around keys and plain words, for short step arguments. */
function compact(v: unknown): string {
  if (typeof v === 'string') return /^[\w.:/-]+$/.test(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(compact).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).map(([k, x]) => `${k}:${compact(x)}`).join(' ')}}`;
  }
  return String(v);
}

/** A compared value as messages print it: `EPERM`, `ok`, `"B*4096"`, `[OPEN, RELEASE]`. */
export function showValue(v: ObservedValue | undefined): string {
  return v === undefined ? '(none)' : show(v);
}

function showField(field: Divergence['field'], v: ObservedValue): string {
  if (field === 'errno') return v === null ? 'success' : String(v);
  return showValue(v);
}

/** "requests: expected [FLUSH, RELEASE] (sim) observed [FLUSH] (kernel)". */
export function divergenceText(d: Divergence): string {
  const known = d.known ? ` (known ${d.known.kind}: ${d.known.reason})` : '';
  return `${d.field}: expected ${showField(d.field, d.sim)} (sim) observed ${showField(d.field, d.kernel)} (kernel)${known}`;
}

/** The result line of an observation: `ok`, `ok → 1`, `EIO`, `fault timeout: ...`. */
export function resultText(o: Observation): string {
  if (o.fault) return `fault ${o.fault.kind}: ${o.fault.message}`;
  if (o.errno !== null) return o.errno;
  return o.value === undefined || o.value === null ? 'ok' : `ok → ${typeof o.value === 'string' ? JSON.stringify(o.value) : String(o.value)}`;
}

export interface ObservationLines {
  result: string;
  requests: string;
  events: string;
  /** The sim's explanation, when present. */
  checks: string[];
  cause?: string;
  functions: string[];
  advice?: string;
}

export function observationLines(o: Observation): ObservationLines {
  const out: ObservationLines = {
    result: resultText(o),
    requests: o.requests.join(' ') || '–',
    events: o.events.join(' ') || '–',
    checks: o.explain?.checks ?? [],
    functions: o.explain?.functions ?? [],
  };
  if (o.explain?.cause !== undefined) out.cause = o.explain.cause;
  if (o.explain?.advice !== undefined) out.advice = o.explain.advice;
  return out;
}

/** What a step expected, in one line (`errno EIO, requests [OPEN, RELEASE]`), or ''. */
export function expectText(step: Step | undefined): string {
  const e = step?.expect;
  if (!e) return '';
  const parts: string[] = [];
  if (e.errno !== undefined) parts.push(`errno ${e.errno ?? 'success'}`);
  if (e.value !== undefined) parts.push(`value ${showValue(e.value)}`);
  if (e.requests !== undefined) parts.push(`requests ${showValue(e.requests)}`);
  if (e.events !== undefined) parts.push(`events ${showValue(e.events)}`);
  if (e.cause !== undefined) parts.push(`cause ${e.cause}`);
  return parts.join(', ');
}

/** One row of a checked trace: the step as written and each target's observation. */
export interface TraceRow {
  index: number;
  /** `start`, `finish`, or the step's op. */
  op: string;
  label: string;
  step?: Step;
  checks: CheckId[];
  expect: string;
  note?: string;
  obs: Partial<Record<TargetName, StepResult>>;
  divergences: Divergence[];
  /** Failures of this step per target, as the runner worded them. */
  failures: Partial<Record<TargetName, string[]>>;
  /** true when a failure or an unexplained divergence sits on this row. */
  bad: boolean;
}

export function traceRows(c: CaseResult): TraceRow[] {
  const indices = new Set<number>();
  for (const r of c.runs) for (const s of r.steps) indices.add(s.index);
  for (const d of c.divergences) indices.add(d.step);
  // Indexed once: looking each step up in every run (and every divergence) per row was
  // quadratic in the number of steps (a 100k-step case took 28 s here).
  const byRun = c.runs.map((r) => ({ target: r.target, steps: new Map(r.steps.map((s) => [s.index, s])) }));
  const divergencesAt = new Map<number, CaseResult['divergences']>();
  for (const d of c.divergences) divergencesAt.set(d.step, [...(divergencesAt.get(d.step) ?? []), d]);
  const rows: TraceRow[] = [];
  for (const index of [...indices].sort((a, b) => a - b)) {
    const step = index >= 0 ? c.steps[index] : undefined;
    const op = index < 0 ? 'start' : (step?.op ?? 'finish');
    const obs: TraceRow['obs'] = {};
    const failures: TraceRow['failures'] = {};
    for (const r of byRun) {
      const s = r.steps.get(index);
      if (!s) continue;
      obs[r.target] = s;
      if (s.failures.length > 0) failures[r.target] = s.failures;
    }
    const divergences = divergencesAt.get(index) ?? [];
    const row: TraceRow = {
      index,
      op,
      label: step ? describeStep(step) : op === 'start' ? 'start (build the world)' : 'finish (teardown: close fds, umount, close /dev/fuse)',
      checks: step?.checks ?? [],
      expect: expectText(step),
      obs,
      divergences,
      failures,
      bad: Object.keys(failures).length > 0 || divergences.some((d) => !d.known),
    };
    if (step) row.step = step;
    if (step?.note !== undefined) row.note = step.note;
    rows.push(row);
  }
  return rows;
}

/** Status of one target for a case: passed, failed, n/a, skipped, or '–' when it did not run. */
export function targetStatus(c: CaseResult, t: TargetName): string {
  const r = c.runs.find((x) => x.target === t);
  if (!r) return '–';
  return r.status === 'notApplicable' ? 'n/a' : r.status;
}

/** The case library folder a case file sits in (`bopen`, `problems`), for grouping. */
export function caseGroup(c: { file: string; id: string }): string {
  const m = /cases\/([^/]+)\/[^/]+$/.exec(c.file.replace(/\\/g, '/'));
  return m?.[1] ?? c.id.split('-')[0] ?? 'other';
}

export interface CoverageRow {
  id: CheckId;
  statement: string;
  result: string;
  section: string;
  cases: string[];
}

/** The coverage matrix: every spec check id and the cases of this report that cover it. */
export function coverageRows(report: Report): CoverageRow[] {
  const byId = new Map<string, string[]>();
  for (const c of report.cases) for (const id of c.checks) byId.set(id, [...(byId.get(id) ?? []), c.id]);
  return (Object.keys(CHECKS) as CheckId[]).map((id) => ({
    id,
    statement: CHECKS[id].statement,
    result: CHECKS[id].result,
    section: checkSection(id),
    cases: byId.get(id) ?? [],
  }));
}

/** The groups of the cases in this report, in first-seen order. */
export function caseGroups(report: Report): string[] {
  return [...new Set(report.cases.map(caseGroup))];
}

/** Where the run happened, as label/value pairs. */
export interface EnvironmentExtra {
  /** e.g. "root (uid 0), CAP_SYS_ADMIN" — measured by the caller, not stored in the JSON report. */
  privileges?: string;
  host?: string;
}

export function environmentRows(report: Report, extra: EnvironmentExtra = {}): [string, string][] {
  const s = report.summary;
  const rows: [string, string][] = [
    ['date', report.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')],
    ['targets', s.targets.join(' + ') || 'none'],
    ['profile', s.profile],
    ['kernel release', s.kernel ?? 'kernel target did not run'],
  ];
  if (s.kernelNote) rows.push(['kernel note', s.kernelNote]);
  rows.push(['privileges', extra.privileges ?? (s.targets.includes('kernel') ? 'enough for the kernel target (root, CAP_SYS_ADMIN, /dev/fuse)' : 'not recorded')]);
  if (extra.host) rows.push(['host', extra.host]);
  rows.push(['duration', `${(s.durationMs / 1000).toFixed(2)} s`]);
  rows.push(['spec coverage', `${s.coverage.coveredIds}/${s.coverage.specIds} check ids`]);
  return rows;
}

/** Cases worth a reader's attention first: failed, then with divergences, then the rest. */
export function attentionOrder(report: Report): CaseResult[] {
  const rank = (c: CaseResult) => (c.status === 'failed' ? 0 : c.divergences.length > 0 ? 1 : 2);
  return [...report.cases].sort((a, b) => rank(a) - rank(b));
}

export const STATUS_LABEL: Record<CaseResult['status'], string> = {
  passed: 'PASS',
  failed: 'FAIL',
  error: 'BROKEN',
  notApplicable: 'N/A',
  skipped: 'SKIP',
};
