// The Markdown summary of a run, made from the JSON report: verdict, environment, the case
// table with a status per target, each case's checked trace (failed and diverging cases first,
// open; the others folded in <details>), the coverage matrix and a check index. Check ids link
// to anchors of that index inside the same file (`#check-BOPEN-5`), so links work offline and
// on any Markdown viewer that keeps inline HTML anchors (GitHub, VS Code, pandoc).
import { CHECKS } from '../spec/check-ids.ts';
import type { TargetName } from '../spec/target.ts';
import type { CaseResult } from '../conformance/results.ts';
import type { Report } from './report.ts';
import {
  attentionOrder,
  caseAnchor,
  caseGroup,
  caseGroups,
  checkAnchor,
  checkSection,
  coverageRows,
  divergenceText,
  environmentRows,
  isCheckId,
  observationLines,
  STATUS_LABEL,
  targetStatus,
  traceRows,
  type EnvironmentExtra,
  type TraceRow,
} from './view.ts';

/** Escape text for a Markdown table cell (pipes, newlines, inline HTML). */
export function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, '<br>');
}

export function checkLink(id: string): string {
  return isCheckId(id) ? `[${id}](#${checkAnchor(id)})` : id;
}

export const checkLinks = (ids: readonly string[]) => ids.map(checkLink).join(' ');

/** The bundled check index (all ids, or those given), so the links above work offline. */
export function checkIndex(ids: Iterable<string> = Object.keys(CHECKS)): string[] {
  const out = ['## Check index', '', 'From the index of shared/kernel-spec.md (Linux 6.18).', '', '| id | check | result | spec section |', '|---|---|---|---|'];
  for (const id of ids) {
    const c = CHECKS[id as keyof typeof CHECKS];
    if (c) out.push(`| <a id="${checkAnchor(id)}"></a>${id} | ${cell(c.statement)} | ${cell(c.result)} | ${checkSection(id)} |`);
  }
  return out;
}

function obsCell(row: TraceRow, t: TargetName): string {
  const s = row.obs[t];
  if (!s) return '–';
  const o = observationLines(s.observation);
  const parts = [`**${cell(o.result)}**`];
  if (o.requests !== '–') parts.push(`⇢ ${cell(o.requests)}`);
  if (o.events !== '–') parts.push(`◎ ${cell(o.events)}`);
  if (o.cause) parts.push(`hidden cause ${o.cause}`);
  if (o.checks.length > 0) parts.push(`via ${checkLinks(o.checks)}`);
  for (const f of row.failures[t] ?? []) parts.push(`✗ ${cell(f)}`);
  return parts.join('<br>');
}

function trace(c: CaseResult, targets: TargetName[]): string[] {
  const lines = [`| # | step | checks | expected | ${targets.join(' | ')} |`, `|---:|---|---|---|${targets.map(() => '---|').join('')}`];
  for (const row of traceRows(c)) {
    const idx = row.index < 0 ? '' : row.bad ? `**${row.index}** ✗` : String(row.index);
    lines.push(`| ${idx} | \`${cell(row.label)}\` | ${checkLinks(row.checks)} | ${cell(row.expect)} | ${targets.map((t) => obsCell(row, t)).join(' | ')} |`);
    for (const d of row.divergences) lines.push(`| | ${d.known ? '≈' : '⚠'} **${cell(divergenceText(d))}** | | | ${targets.map(() => '').join(' | ')} |`);
  }
  return lines;
}

function caseSection(c: CaseResult, targets: TargetName[], folded: boolean): string[] {
  const head = `${STATUS_LABEL[c.status]} ${c.id}: ${c.title}`;
  const body = [
    `<a id="${caseAnchor(c.id)}"></a>`,
    '',
    ...(c.description ? [c.description, ''] : []),
    `checks ${checkLinks(c.checks)} · profiles ${c.profiles.join(', ')} · \`${c.file}\`${c.simOnly ? ` · sim only: ${c.simOnly}` : ''}`,
    '',
    ...c.runs.filter((r) => r.reason).map((r) => `- ${r.target}: ${r.reason}`),
    ...c.divergences.map((d) => `- ${d.known ? '≈ known' : '⚠'} ${d.step >= c.steps.length ? 'finish' : `step ${d.step} (${d.op})`}: ${divergenceText(d)}`),
    ...c.failures.filter((f) => !f.startsWith('[diff]')).map((f) => `- ✗ ${f}`),
    '',
    ...trace(c, targets),
    '',
  ];
  return folded ? ['<details>', `<summary>${cell(head)}</summary>`, '', ...body, '</details>', ''] : [`### ${cell(head)}`, '', ...body];
}

export interface MarkdownOptions {
  environment?: EnvironmentExtra;
}

export function renderMarkdown(report: Report, opts: MarkdownOptions = {}): string {
  const s = report.summary;
  const targets: TargetName[] = s.targets.length > 0 ? s.targets : ['sim'];
  const out: string[] = ['# fusepass conformance report', ''];
  out.push(
    s.failing
      ? `**Not clean:** ${s.failed} failed, ${s.errors} broken case files, ${s.unexplainedDivergences} unexplained divergences (of ${s.divergences}).`
      : `**Clean:** every played case passed${s.divergences > 0 ? '; every divergence is known' : ''}.`,
    '',
    `| cases | passed | failed | broken | not applicable | skipped | divergences (unexplained) | spec coverage |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|`,
    `| ${s.cases} | ${s.passed} | ${s.failed} | ${s.errors} | ${s.notApplicable} | ${s.skipped} | ${s.divergences} (${s.unexplainedDivergences}) | ${s.coverage.coveredIds}/${s.coverage.specIds} |`,
    '',
    '## Environment',
    '',
    '| | |',
    '|---|---|',
    ...environmentRows(report, opts.environment).map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
    '',
    '## Cases',
    '',
    `| case | group | status | ${targets.join(' | ')} | divergences | title |`,
    `|---|---|---|${targets.map(() => '---|').join('')}---:|---|`,
  );
  for (const e of report.errors) out.push(`| \`${cell(e.file)}\` | | BROKEN | ${targets.map(() => '').join(' | ')} | | ${cell(`${e.path || '(file)'}: ${e.message}`)} |`);
  for (const c of report.cases) {
    out.push(`| [${c.id}](#${caseAnchor(c.id)}) | ${caseGroup(c)} | ${STATUS_LABEL[c.status]} | ${targets.map((t) => targetStatus(c, t)).join(' | ')} | ${c.divergences.length || ''} | ${cell(c.title)} |`);
  }
  out.push('', '## Checked traces', '');
  out.push('Each step as written, what it expected, and what each target observed: the result, ⇢ the FUSE requests the daemon received, ◎ inotify events on backing files; the sim adds the checks it passed through. ⚠ marks a divergence (expected = the sim, observed = the kernel).', '');
  for (const c of attentionOrder(report)) {
    const attention = c.status === 'failed' || c.divergences.length > 0;
    out.push(...caseSection(c, targets, !attention));
  }

  const groups = caseGroups(report);
  const byCase = new Map(report.cases.map((c) => [c.id, caseGroup(c)]));
  out.push('## Coverage matrix', '', `Check ids (rows) by case group (columns): the number of cases of the group covering the id. ${s.coverage.coveredIds}/${s.coverage.specIds} covered.`, '');
  out.push(`| check | ${groups.join(' | ')} | cases |`, `|---|${groups.map(() => '---:|').join('')}---|`);
  for (const r of coverageRows(report)) {
    const cells = groups.map((g) => {
      const n = r.cases.filter((id) => byCase.get(id) === g).length;
      return n === 0 ? '' : String(n);
    });
    out.push(`| ${checkLink(r.id)} | ${cells.join(' | ')} | ${r.cases.length === 0 ? '**not covered**' : r.cases.map((id) => `[${id}](#${caseAnchor(id)})`).join(', ')} |`);
  }
  out.push('', ...checkIndex(), '');
  return out.join('\n');
}
