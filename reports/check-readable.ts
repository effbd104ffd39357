// The Markdown, HTML and JUnit forms of a `fusepass check` report, written beside its JSON report
// with the same building blocks as `run`'s (markdown.ts and html.ts cells, check links, index
// and styles; junit.ts suites): a test case per scenario, failing on its error findings.
import { writeFileSync } from 'node:fs';
import { checkedOn } from './check-text.ts';
import type { CheckReport, Finding } from '../check/protocol.ts';
import { checkIndex, checkLinks, cell } from './markdown.ts';
import { junitDocument, renderSuite, type JunitCase } from './junit.ts';
import { formatCheckReport, requestCountsText } from './check-text.ts';
import { describeStep } from './view.ts';
import { readablePaths, type ReadablePaths } from './write.ts';
import { CSS, checkIndex as checkIndexHtml, checkLinks as checkLinksHtml, esc } from './html.ts';

function findingLine(f: Finding): string {
  return `| ${f.level} | ${checkLinks(f.checks)} | ${cell(f.scenario ?? '(mount)')} | ${cell(f.message)}${f.advice ? `<br>*what to change:* ${cell(f.advice)}` : ''} |`;
}

export function renderCheckMarkdown(r: CheckReport): string {
  const out: string[] = [`# fusepass check: ${cell(r.command.join(' '))}`, '', `${checkedOn(r)}. ${r.summary.errors} error(s), ${r.summary.warnings} warning(s), ${r.summary.infos} info.`, ''];
  out.push('## Findings', '', '| level | checks | scenario | finding |', '|---|---|---|---|', ...r.findings.map(findingLine), '');
  out.push('## Scenarios', '');
  for (const s of r.scenarios) {
    out.push(`### ${s.id}: ${cell(s.title)}`, '', '| step | result | requests to the daemon | open replies | backing ioctls |', '|---|---|---|---|---|');
    for (const x of s.steps) {
      const result = x.skipped ? `not run (${x.skipped})` : (x.errno ?? (x.fault ? `fault: ${x.fault}` : String(x.value ?? 'ok')));
      const replies = x.traffic.replies.filter((p) => p.open).map((p) => `${p.open!.openFlags.join('\\|')} id ${p.open!.backingId}`).join('; ');
      const backing = x.traffic.backing.map((b) => (b.op === 'open' ? `open #${b.seq} → ${b.result}` : `close ${b.id} → ${b.result}`)).join('; ');
      const wrong = x.expected !== undefined && x.value !== x.expected ? ` (source: ${x.expected})` : '';
      out.push(`| ${cell(describeStep(x.step))} | ${cell(result + wrong)} | ${requestCountsText([x.traffic])} | ${replies || '-'} | ${cell(backing) || '-'} |`);
    }
    out.push('');
  }
  out.push('## Summary as printed', '', '```', ...formatCheckReport(r), '```', '');
  out.push(...checkIndex(new Set(r.findings.flatMap((f) => f.checks))), '');
  return out.join('\n');
}

/** The check page's tables size their columns to their content (run's trace tables are fixed). */
const CHECK_CSS = '.ck{table-layout:auto;width:100%;border-collapse:collapse;background:var(--card)}.ck th,.ck td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line);overflow-wrap:break-word}.ck th{white-space:nowrap}.ck tr.bad td{background:var(--badbg)}';

/** A self-contained HTML page (run's styles and check index; no script, no network). */
export function renderCheckHtml(r: CheckReport): string {
  const s = r.summary;
  const cls = (l: Finding['level']) => (l === 'error' ? 'bad' : l === 'warn' ? 'warn' : 'muted');
  const findings = r.findings
    .map((f) => `<tr><td><span class="badge ${cls(f.level)}">${esc(f.level)}</span></td><td>${checkLinksHtml(f.checks)}</td><td>${esc(f.scenario ?? '(mount)')}</td><td>${esc(f.message)}${f.advice ? `<br><i>what to change:</i> ${esc(f.advice)}` : ''}</td></tr>`)
    .join('\n');
  const scenario = (run: CheckReport['scenarios'][number]) => {
    const rows = run.steps.map((x) => {
      const result = x.skipped ? `not run (${x.skipped})` : (x.errno ?? (x.fault ? `fault: ${x.fault}` : String(x.value ?? 'ok')));
      const wrong = x.expected !== undefined && x.value !== x.expected;
      const replies = x.traffic.replies.filter((p) => p.open).map((p) => `${p.open!.openFlags.join('|')} id ${p.open!.backingId}`).join('; ');
      const backing = x.traffic.backing.map((b) => (b.op === 'open' ? `open #${b.seq} → ${b.result}` : `close ${b.id} → ${b.result}`)).join('; ');
      return `<tr class="${x.errno || wrong ? 'bad' : ''}"><td><code>${esc(describeStep(x.step))}</code></td><td>${esc(result)}${wrong ? ` <b>(source: ${esc(x.expected!)})</b>` : ''}</td><td>${esc(requestCountsText([x.traffic]))}</td><td>${esc(replies || '-')}</td><td>${esc(backing || '-')}</td></tr>`;
    });
    return `<section><h3>${esc(run.id)}: ${esc(run.title)}</h3><table class="ck"><thead><tr><th>step</th><th>result</th><th>requests to the daemon</th><th>open replies</th><th>backing ioctls</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></section>`;
  };
  const verdict = s.errors > 0 ? `<p class="verdict bad"><b>${s.errors} error finding(s)</b>, ${s.warnings} warning(s).</p>` : `<p class="verdict ok"><b>No error finding</b>, ${s.warnings} warning(s).</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fusepass check ${esc(r.command[0] ?? '')}</title>
<style>${CSS}${CHECK_CSS}</style></head>
<body>
<header><h1>fusepass check</h1>
<div class="sub">${esc(r.command.join(' '))} · ${esc(checkedOn(r))}</div>
${verdict}
</header>
<main>
<section id="findings"><h2>Findings</h2><table class="ck"><thead><tr><th>level</th><th>checks</th><th>scenario</th><th>finding</th></tr></thead><tbody>${findings}</tbody></table></section>
<section id="scenarios"><h2>Scenarios</h2>${r.scenarios.map(scenario).join('\n')}</section>
<section id="checks"><h2>Check index</h2>${checkIndexHtml(new Set(r.findings.flatMap((f) => f.checks)))}</section>
</main>
</body></html>
`;
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

/** Write FILE.md, FILE.html and FILE.junit.xml beside the JSON report FILE.json. */
export function writeCheckReadable(r: CheckReport, jsonPath: string): ReadablePaths {
  const p = readablePaths(jsonPath);
  writeFileSync(p.markdown, renderCheckMarkdown(r));
  writeFileSync(p.html, renderCheckHtml(r));
  writeFileSync(p.junit, renderCheckJunit(r));
  return p;
}
