// The Markdown and JUnit forms of a `fusepass check` report, written beside its JSON report
// with the same building blocks as `run`'s (markdown.ts cells, check links and index; junit.ts
// suites): a test case per scenario, failing on its error findings.
import { writeFileSync } from 'node:fs';
import type { CheckReport, Finding } from '../check/protocol.ts';
import { checkIndex, checkLinks, cell } from './markdown.ts';
import { junitDocument, renderSuite, type JunitCase } from './junit.ts';
import { formatCheckReport, requestCounts } from './check-text.ts';
import { readablePaths } from './write.ts';

function findingLine(f: Finding): string {
  return `| ${f.level} | ${checkLinks(f.checks)} | ${cell(f.scenario ?? '(mount)')} | ${cell(f.message)}${f.advice ? `<br>*what to change:* ${cell(f.advice)}` : ''} |`;
}

export function renderCheckMarkdown(r: CheckReport): string {
  const out: string[] = [`# fusepass check: ${cell(r.command.join(' '))}`, '', `Linux ${r.kernelRelease}. ${r.summary.errors} error(s), ${r.summary.warnings} warning(s), ${r.summary.infos} info.`, ''];
  out.push('## Findings', '', '| level | checks | scenario | finding |', '|---|---|---|---|', ...r.findings.map(findingLine), '');
  out.push('## Scenarios', '');
  for (const s of r.scenarios) {
    out.push(`### ${s.id}: ${cell(s.title)}`, '', '| step | result | requests to the daemon | open replies | backing ioctls |', '|---|---|---|---|---|');
    for (const x of s.steps) {
      const result = x.skipped ? `not run (${x.skipped})` : (x.errno ?? (x.fault ? `fault: ${x.fault}` : String(x.value ?? 'ok')));
      const replies = x.traffic.replies.filter((p) => p.open).map((p) => `${p.open!.openFlags.join('\\|')} id ${p.open!.backingId}`).join('; ');
      const backing = x.traffic.backing.map((b) => (b.op === 'open' ? `open #${b.seq} → ${b.result}` : `close ${b.id} → ${b.result}`)).join('; ');
      const wrong = x.expected !== undefined && x.value !== x.expected ? ` (source: ${x.expected})` : '';
      out.push(`| ${cell(JSON.stringify(x.step))} | ${cell(result + wrong)} | ${requestCounts([x.traffic])} | ${replies || '-'} | ${cell(backing) || '-'} |`);
    }
    out.push('');
  }
  out.push('## Summary as printed', '', '```', ...formatCheckReport(r), '```', '');
  out.push(...checkIndex(new Set(r.findings.flatMap((f) => f.checks))), '');
  return out.join('\n');
}

export function renderCheckJunit(r: CheckReport): string {
  const errorsOf = (scenario: string | null) => r.findings.filter((f) => f.level === 'error' && f.scenario === scenario);
  const testcase = (name: string, errors: Finding[]): JunitCase => {
    const base: JunitCase = { name, classname: 'fusepass.check', timeSec: 0 };
    if (errors.length === 0) return base;
    return { ...base, failure: { message: `[${errors[0]!.checks.join(', ')}] ${errors[0]!.message}`, body: errors.map((f) => `[${f.checks.join(', ')}] ${f.message}${f.advice ? `\nwhat to change: ${f.advice}` : ''}`).join('\n') } };
  };
  const cases = [testcase('mount', errorsOf(null)), ...r.scenarios.map((s) => testcase(s.id, errorsOf(s.id)))];
  if (r.hung && !r.scenarios.some((s) => s.id === r.hung)) cases.push(testcase(r.hung, errorsOf(r.hung)));
  return junitDocument([renderSuite(`fusepass check ${r.command[0] ?? ''}`, cases, new Date().toISOString().replace(/\.\d+Z$/, ''))], 0);
}

/** Write FILE.md and FILE.junit.xml beside the JSON report FILE.json. */
export function writeCheckReadable(r: CheckReport, jsonPath: string): { markdown: string; junit: string } {
  const p = readablePaths(jsonPath);
  writeFileSync(p.markdown, renderCheckMarkdown(r));
  writeFileSync(p.junit, renderCheckJunit(r));
  return { markdown: p.markdown, junit: p.junit };
}
