// JUnit XML for CI systems, made from the JSON report. One <testsuite> per target (a test case
// per conformance case, failing on that target's step failures), one `sim-vs-kernel` suite when
// both targets ran (failing on unexplained divergences), and one `case-files` suite with an
// <error> per broken case file. classname = the case group (bopen, problems, ...).
import type { TargetName } from '../spec/target.ts';
import type { CaseResult } from '../conformance/results.ts';
import type { Report } from './report.ts';
import { caseGroup, divergenceText } from './view.ts';

export function xmlEscape(s: string): string {
  // Characters XML 1.0 forbids are dropped; the rest escaped for attributes and text alike.
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface JunitCase {
  name: string;
  classname: string;
  timeSec: number;
  failure?: { message: string; body: string };
  error?: { message: string; body: string };
  skipped?: string;
}

function renderCase(t: JunitCase): string {
  const open = `    <testcase name="${xmlEscape(t.name)}" classname="${xmlEscape(t.classname)}" time="${t.timeSec.toFixed(3)}"`;
  if (t.failure) return `${open}>\n      <failure message="${xmlEscape(t.failure.message)}" type="failure">${xmlEscape(t.failure.body)}</failure>\n    </testcase>`;
  if (t.error) return `${open}>\n      <error message="${xmlEscape(t.error.message)}" type="error">${xmlEscape(t.error.body)}</error>\n    </testcase>`;
  if (t.skipped !== undefined) return `${open}>\n      <skipped message="${xmlEscape(t.skipped)}"/>\n    </testcase>`;
  return `${open}/>`;
}

export function renderSuite(name: string, cases: JunitCase[], timestamp: string): string {
  const failures = cases.filter((c) => c.failure).length;
  const errors = cases.filter((c) => c.error).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const time = cases.reduce((a, c) => a + c.timeSec, 0);
  return [
    `  <testsuite name="${xmlEscape(name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${xmlEscape(timestamp)}">`,
    ...cases.map(renderCase),
    '  </testsuite>',
  ].join('\n');
}

function targetCase(c: CaseResult, t: TargetName, share: number): JunitCase {
  const base: JunitCase = { name: c.id, classname: `fusepass.${t}.${caseGroup(c)}`, timeSec: share };
  const run = c.runs.find((r) => r.target === t);
  if (!run) return { ...base, skipped: `not played on ${t}` };
  if (run.status === 'notApplicable' || run.status === 'skipped') return { ...base, skipped: run.reason ?? run.status };
  const lines = run.steps.flatMap((s) => s.failures.map((f) => `step ${s.index} (${s.op}): ${f}`));
  if (run.status === 'failed' || lines.length > 0) {
    return { ...base, failure: { message: lines[0] ?? `${c.id} failed on ${t}`, body: [`${c.title}`, `file: ${c.file}`, ...lines].join('\n') } };
  }
  return base;
}

function diffCase(c: CaseResult, share: number): JunitCase {
  const base: JunitCase = { name: c.id, classname: `fusepass.sim-vs-kernel.${caseGroup(c)}`, timeSec: share };
  if (c.runs.filter((r) => r.status === 'passed' || r.status === 'failed').length < 2) return { ...base, skipped: 'not played on both targets' };
  const unexplained = c.divergences.filter((d) => !d.known);
  if (unexplained.length === 0) return base;
  const lines = unexplained.map((d) => `${d.step >= c.steps.length ? 'finish' : `step ${d.step} (${d.op})`}: ${divergenceText(d)}`);
  return { ...base, failure: { message: lines[0] ?? 'divergence', body: [`${c.title}`, `file: ${c.file}`, ...lines].join('\n') } };
}

export function renderJunit(report: Report): string {
  const targets = report.summary.targets;
  const stamp = report.startedAt.replace(/\.\d+Z$/, '');
  const suites: string[] = [];
  for (const t of targets) {
    // Case time is measured for all targets together; split it evenly so suite sums add up.
    suites.push(renderSuite(`fusepass ${t}`, report.cases.map((c) => targetCase(c, t, c.durationMs / 1000 / Math.max(1, targets.length))), stamp));
  }
  if (targets.length > 1) suites.push(renderSuite('fusepass sim-vs-kernel', report.cases.map((c) => diffCase(c, 0)), stamp));
  if (report.errors.length > 0) {
    const byFile = new Map<string, string[]>();
    for (const e of report.errors) byFile.set(e.file, [...(byFile.get(e.file) ?? []), `${e.path || '(file)'}: ${e.message}`]);
    suites.push(
      renderSuite(
        'fusepass case-files',
        [...byFile].map(([file, msgs]) => ({ name: file, classname: 'fusepass.case-files', timeSec: 0, error: { message: msgs[0] ?? 'broken case file', body: msgs.join('\n') } })),
        stamp,
      ),
    );
  }
  return junitDocument(suites, report.summary.durationMs / 1000);
}

/** The `<testsuites>` document around rendered suites. */
export function junitDocument(suites: string[], durationSec: number): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="fusepass" tests="${suites.length === 0 ? 0 : countAttr(suites, 'tests')}" failures="${countAttr(suites, 'failures')}" errors="${countAttr(suites, 'errors')}" time="${durationSec.toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function countAttr(suites: string[], attr: string): number {
  const re = new RegExp(`^  <testsuite [^>]*\\b${attr}="(\\d+)"`);
  return suites.reduce((a, s) => a + Number(re.exec(s)?.[1] ?? 0), 0);
}
