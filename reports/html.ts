// The HTML report: one self-contained page (inline CSS and script, no network, readable
// offline) made from the JSON report. Check ids link to a check index bundled in the page
// itself (`#check-BOPEN-5`: statement, result and spec section of shared/kernel-spec.md), so
// links work wherever the file is copied.
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

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function checkLink(id: string): string {
  if (!isCheckId(id)) return `<span class="chk unknown">${esc(id)}</span>`;
  const c = CHECKS[id];
  return `<a class="chk" href="#${checkAnchor(id)}" title="${esc(`${c.statement} → ${c.result}`)}">${esc(id)}</a>`;
}

export const checkLinks = (ids: readonly string[]) => ids.map(checkLink).join(' ');

function statusBadge(status: string): string {
  const cls = status === 'passed' || status === 'PASS' ? 'ok' : status === 'failed' || status === 'FAIL' || status === 'BROKEN' ? 'bad' : 'muted';
  return `<span class="badge ${cls}">${esc(status)}</span>`;
}

function targetsOf(report: Report): TargetName[] {
  return report.summary.targets.length > 0 ? report.summary.targets : ['sim'];
}

function obsCell(row: TraceRow, t: TargetName): string {
  const s = row.obs[t];
  if (!s) return '<td class="obs none">not played</td>';
  const o = observationLines(s.observation);
  const diverging = row.divergences.some((d) => !d.known);
  const failing = (row.failures[t]?.length ?? 0) > 0;
  const cls = ['obs', failing ? 'fail' : '', t === 'kernel' && diverging ? 'diverge' : '', s.observation.errno !== null ? 'errno' : ''].filter(Boolean).join(' ');
  const lines = [
    `<div class="res">${esc(o.result)}</div>`,
    o.requests !== '–' ? `<div class="req" title="FUSE requests the daemon received">⇢ ${esc(o.requests)}</div>` : '',
    o.events !== '–' ? `<div class="ev" title="inotify events on backing files">◎ ${esc(o.events)}</div>` : '',
    o.cause ? `<div class="cause">hidden cause <b>${esc(o.cause)}</b></div>` : '',
    o.checks.length > 0 ? `<div class="why">via ${checkLinks(o.checks)}</div>` : '',
    o.functions.length > 0 ? `<div class="fn">${esc(o.functions.join(' › '))}</div>` : '',
    ...(row.failures[t] ?? []).map((f) => `<div class="failure">✗ ${esc(f)}</div>`),
  ];
  return `<td class="${cls}">${lines.filter(Boolean).join('')}</td>`;
}

function traceTable(c: CaseResult, targets: TargetName[]): string {
  const head = `<tr><th>#</th><th>step</th><th>checks</th><th>expected</th>${targets.map((t) => `<th>${esc(t)}</th>`).join('')}</tr>`;
  const body = traceRows(c)
    .map((row) => {
      const main = `<tr class="${row.bad ? 'bad' : ''}"><td class="idx">${row.index < 0 ? '' : row.index}</td><td class="step"><code>${esc(row.label)}</code>${row.note ? `<div class="note">${esc(row.note)}</div>` : ''}</td><td class="checks">${checkLinks(row.checks)}</td><td class="exp">${esc(row.expect)}</td>${targets.map((t) => obsCell(row, t)).join('')}</tr>`;
      const divs = row.divergences
        .map((d) => `<tr class="divergence${d.known ? ' known' : ''}"><td></td><td colspan="${3 + targets.length}">${d.known ? '≈' : '⚠'} step ${d.step} ${esc(divergenceText(d))}</td></tr>`)
        .join('');
      return main + divs;
    })
    .join('\n');
  const obsWidth = targets.length > 1 ? 28 : 44;
  const cols = `<colgroup><col style="width:32px"><col style="width:${targets.length > 1 ? 22 : 28}%"><col style="width:10%"><col style="width:12%">${targets.map(() => `<col style="width:${obsWidth}%">`).join('')}</colgroup>`;
  return `<table class="trace">${cols}<thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** The case's failures, minus the `[diff]` lines the divergence list already says. */
function failuresBesideDivergences(c: CaseResult): string[] {
  return c.failures.filter((f) => !f.startsWith('[diff]'));
}

function caseDetails(c: CaseResult, targets: TargetName[]): string {
  const diverging = c.divergences.some((d) => !d.known);
  const open = c.status === 'failed' || diverging;
  const runNotes = c.runs.filter((r) => r.reason).map((r) => `<li>${esc(r.target)}: ${esc(r.reason ?? '')}</li>`);
  return `<details class="case ${esc(c.status)}${diverging ? ' diverging' : ''}" id="${esc(caseAnchor(c.id))}"${open ? ' open' : ''}>
<summary>${statusBadge(STATUS_LABEL[c.status])} <b>${esc(c.id)}</b> <span class="title">${esc(c.title)}</span>${c.divergences.length > 0 ? ` <span class="badge warn">${c.divergences.length} divergence${c.divergences.length > 1 ? 's' : ''}</span>` : ''}</summary>
<div class="case-body">
${c.description ? `<p class="desc">${esc(c.description)}</p>` : ''}
<p class="meta">checks ${checkLinks(c.checks)} · profiles ${esc(c.profiles.join(', '))} · <code>${esc(c.file)}</code>${c.simOnly ? ` · sim only: ${esc(c.simOnly)}` : ''}</p>
${runNotes.length > 0 ? `<ul class="notes">${runNotes.join('')}</ul>` : ''}
${c.divergences.length > 0 ? `<ul class="divergences">${c.divergences.map((d) => `<li class="${d.known ? 'known' : ''}">${d.known ? '≈' : '⚠'} <b>${d.step >= c.steps.length ? 'finish' : `step ${d.step} ${esc(d.op)}`}</b> ${esc(divergenceText(d))}</li>`).join('')}</ul>` : ''}
${failuresBesideDivergences(c).length > 0 ? `<ul class="failures">${failuresBesideDivergences(c).map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
${c.steps.length > 0 || c.runs.length > 0 ? traceTable(c, targets) : ''}
</div></details>`;
}

function caseTable(report: Report, targets: TargetName[]): string {
  const rows = report.cases.map((c) => {
    const unexplained = c.divergences.filter((d) => !d.known).length;
    return `<tr data-status="${esc(c.status)}" data-diverging="${unexplained > 0 ? 1 : 0}" data-text="${esc(`${c.id} ${c.title} ${c.checks.join(' ')}`.toLowerCase())}"><td><a href="#${esc(caseAnchor(c.id))}">${esc(c.id)}</a></td><td class="group">${esc(caseGroup(c))}</td><td>${statusBadge(STATUS_LABEL[c.status])}</td>${targets.map((t) => `<td>${statusBadge(targetStatus(c, t))}</td>`).join('')}<td class="num">${c.divergences.length > 0 ? `<span class="badge ${unexplained > 0 ? 'bad' : 'warn'}">${c.divergences.length}</span>` : ''}</td><td class="title">${esc(c.title)}</td></tr>`;
  });
  const errors = report.errors.map((e) => `<tr data-status="error" data-diverging="0" data-text="${esc(e.file.toLowerCase())}"><td><code>${esc(e.file)}</code></td><td></td><td>${statusBadge('BROKEN')}</td>${targets.map(() => '<td></td>').join('')}<td></td><td class="title">${esc(`${e.path || '(file)'}: ${e.message}`)}</td></tr>`);
  return `<div class="scroll"><table id="case-table" class="cases"><colgroup><col style="width:33%"><col style="width:8%"><col style="width:8%">${targets.map(() => '<col style="width:9%">').join('')}<col style="width:5%"><col></colgroup><thead><tr><th>case</th><th>group</th><th>status</th>${targets.map((t) => `<th>${esc(t)}</th>`).join('')}<th>div.</th><th>title</th></tr></thead><tbody>
${[...errors, ...rows].join('\n')}
</tbody></table></div>`;
}

function coverageMatrix(report: Report): string {
  const groups = caseGroups(report);
  const byCase = new Map(report.cases.map((c) => [c.id, caseGroup(c)]));
  const rows = coverageRows(report).map((r) => {
    const cells = groups.map((g) => {
      const ids = r.cases.filter((id) => byCase.get(id) === g);
      return ids.length === 0 ? '<td class="cell"></td>' : `<td class="cell hit" title="${esc(ids.join('\n'))}">${ids.length}</td>`;
    });
    const cases = r.cases.map((id) => `<a href="#${esc(caseAnchor(id))}">${esc(id)}</a>`).join(', ');
    return `<tr class="${r.cases.length === 0 ? 'uncovered' : ''}"><th>${checkLink(r.id)}</th><td class="stmt">${esc(r.statement)} → ${esc(r.result)}</td>${cells.join('')}<td class="total">${r.cases.length}</td><td class="cov-cases"><details><summary>${r.cases.length === 0 ? 'not covered' : 'cases'}</summary>${cases}</details></td></tr>`;
  });
  return `<div class="scroll tall"><table class="matrix"><thead><tr><th>check</th><th>statement → result</th>${groups.map((g) => `<th class="rot"><span>${esc(g)}</span></th>`).join('')}<th>Σ</th><th></th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

/** The bundled check index (all ids, or those given), so the links work offline. */
export function checkIndex(ids: Iterable<string> = Object.keys(CHECKS)): string {
  const rows = [...ids].filter(isCheckId).map((id) => [id, CHECKS[id]] as const).map(
    ([id, c]) => `<tr id="${esc(checkAnchor(id))}"><th>${esc(id)}</th><td>${esc(c.statement)}</td><td>${esc(c.result)}</td><td class="sec">${esc(checkSection(id))}</td></tr>`,
  );
  return `<table class="index"><thead><tr><th>id</th><th>check (kernel-spec.md index)</th><th>result on 6.18</th><th>spec section</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}


function cards(report: Report): string {
  const s = report.summary;
  const card = (label: string, value: string, cls: string) => `<div class="card ${cls}"><div class="v">${esc(value)}</div><div class="l">${esc(label)}</div></div>`;
  return `<div class="cards">${[
    card('cases', String(s.cases), ''),
    card('passed', String(s.passed), 'ok'),
    card('failed', String(s.failed), s.failed > 0 ? 'bad' : ''),
    card('broken files', String(s.errors), s.errors > 0 ? 'bad' : ''),
    card('not applicable', String(s.notApplicable), 'muted'),
    card('divergences (unexplained)', `${s.divergences} (${s.unexplainedDivergences})`, s.unexplainedDivergences > 0 ? 'warn' : ''),
    card('spec coverage', `${s.coverage.coveredIds}/${s.coverage.specIds}`, s.coverage.coveredIds === s.coverage.specIds ? 'ok' : 'warn'),
  ].join('')}</div>`;
}

export const CSS = `
:root{--bg:#f6f7f9;--fg:#1d2430;--muted:#6b7482;--line:#dde1e7;--ok:#1f8a4c;--okbg:#e3f4ea;--bad:#c0392b;--badbg:#fbe6e3;--warn:#a86400;--warnbg:#fff1d6;--acc:#2d5bd1;--card:#fff}
*{box-sizing:border-box}
[id]{scroll-margin-top:52px}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:var(--bg);color:var(--fg)}
header{background:#1d2430;color:#fff;padding:18px 28px 14px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .sub{color:#b9c2cf;font-size:13px}
header .verdict{margin-top:6px;font-size:15px}
header .verdict.bad b{color:#ff8d80} header .verdict.ok b{color:#7fe0a4}
nav{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);padding:8px 28px;display:flex;gap:18px}
nav a{color:var(--acc);text-decoration:none;font-weight:500}
main{padding:16px 28px 40px;max-width:1600px}
h2{font-size:18px;margin:26px 0 10px}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:14px 0 4px}
.card{background:var(--card);color:var(--fg);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px}
.card .v{font-size:22px;font-weight:650}.card .l{font-size:12px;color:var(--muted)}
.card.ok .v{color:var(--ok)}.card.bad .v{color:var(--bad)}.card.warn .v{color:var(--warn)}.card.muted .v{color:var(--muted)}
.top{display:grid;grid-template-columns:minmax(0,3.3fr) minmax(250px,1fr);gap:18px;align-items:start}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid var(--line)}
thead th{position:sticky;top:0;background:#eef1f5;font-weight:600;font-size:12px;color:#3a4350;z-index:1}
.env th{width:40%;color:var(--muted);font-weight:500}
.scroll{max-height:430px;overflow:auto;border:1px solid var(--line);border-radius:8px;background:var(--card)}
.scroll.tall{max-height:640px}
.cases td.title{color:#3a4350;min-width:220px;font-size:12.5px}.cases{table-layout:fixed}.cases td:first-child{overflow-wrap:anywhere}.cases td.group{color:var(--muted)}
.cases tr:hover td{background:#f0f4ff}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:11.5px;font-weight:600;line-height:18px;background:#e9ecf1;color:#4a5360}
.badge.ok{background:var(--okbg);color:var(--ok)}.badge.bad{background:var(--badbg);color:var(--bad)}.badge.warn{background:var(--warnbg);color:var(--warn)}
.filters{display:flex;gap:8px;align-items:center;margin:0 0 8px}
.filters button{border:1px solid var(--line);background:#fff;border-radius:6px;padding:3px 10px;cursor:pointer;font:inherit}
.filters button.on{background:var(--acc);color:#fff;border-color:var(--acc)}
.filters input{flex:1;max-width:320px;padding:4px 8px;border:1px solid var(--line);border-radius:6px;font:inherit}
.filters .count{color:var(--muted);font-size:12px}
details.case{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--ok);border-radius:6px;margin:8px 0}
details.case.failed,details.case.diverging{border-left-color:var(--bad)}
details.case.notApplicable,details.case.skipped{border-left-color:#b8bfca}
details.case>summary{cursor:pointer;padding:7px 10px;list-style-position:inside}
details.case>summary .title{color:#3a4350}
.case-body{padding:0 12px 10px}
.desc{margin:4px 0 6px;max-width:110ch}.meta{color:var(--muted);font-size:12.5px;margin:4px 0 8px}
ul.failures{margin:4px 0 8px;padding-left:20px;color:var(--bad);font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
ul.divergences{list-style:none;margin:4px 0 8px;padding:6px 10px;background:var(--warnbg);border:1px solid #f0c36d;border-radius:6px;color:#7a4700;font-size:12.5px}
ul.divergences li.known{color:var(--muted)}
ul.notes{color:var(--muted);font-size:12.5px}
table.trace{font-size:12.5px;border:1px solid var(--line);table-layout:fixed}
table.trace td.idx{color:var(--muted);text-align:right}
table.trace td.step code{font-size:12px;white-space:pre-wrap;word-break:break-word}
table.trace td.exp{color:#3a4350;word-break:break-word}
td.obs{word-break:break-word;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11.5px}
td.obs .res{font-weight:650;font-size:12px}td.obs.errno .res{color:#8a4b00}
td.obs .req{color:#2d5bd1}td.obs .ev{color:#6a3fb0}td.obs .cause{color:var(--bad)}
td.obs .why{font-family:system-ui,sans-serif;color:var(--muted)}td.obs .fn{color:#8892a0;font-size:10.5px}
td.obs .failure{color:var(--bad);font-family:system-ui,sans-serif}
td.obs.fail,td.obs.diverge{background:var(--badbg)}
tr.bad td.idx{color:var(--bad);font-weight:700}
tr.divergence td{background:var(--warnbg);color:#7a4700;font-weight:600;font-size:12.5px;border-bottom:2px solid #f0c36d}
tr.divergence.known td{background:#eef1f5;color:var(--muted);font-weight:500}
.note{color:var(--muted);font-size:11.5px}
a.chk{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11.5px;color:var(--acc);text-decoration:none;background:#edf2ff;border-radius:4px;padding:0 3px;white-space:nowrap}
a.chk:hover{text-decoration:underline}
.matrix{font-size:12px}.matrix thead th{vertical-align:bottom}.matrix td.stmt{color:#3a4350;max-width:420px;font-size:11.5px}.matrix td.total{width:36px}.matrix td.cov-cases{width:30%}.matrix td.cell{width:28px;text-align:center;border-left:1px solid #eef0f3}
.matrix td.hit{background:#d9efe2;color:#1f6b3d;font-weight:600}.matrix tr.uncovered th{background:var(--badbg)}
.matrix th.rot{height:80px;vertical-align:bottom;padding:2px}.matrix th.rot span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
.matrix td.total{font-weight:600;text-align:right}.matrix td.cov-cases{font-size:11.5px}
.index{font-size:12.5px;background:#fff}.index th{font-family:ui-monospace,monospace;white-space:nowrap}.index td.sec{color:var(--muted)}
.index tr:target{background:#fff6c9}
footer{color:var(--muted);font-size:12px;padding:10px 28px 30px}
`;

// Runs in the page: filters for the case table, the counts beside them, opening a case named in
// the URL hash. It marks <body data-ready="1"> when done (the browser test waits for it).
const SCRIPT = `
(function(){
  var rows=[].slice.call(document.querySelectorAll('#case-table tbody tr'));
  var btns=[].slice.call(document.querySelectorAll('.filters button'));
  var box=document.querySelector('.filters input');
  var count=document.querySelector('.filters .count');
  var mode='all';
  function apply(){
    var q=(box&&box.value||'').toLowerCase(),n=0;
    rows.forEach(function(r){
      var ok=(mode==='all'||(mode==='failed'&&(r.dataset.status==='failed'||r.dataset.status==='error'))||(mode==='diverging'&&r.dataset.diverging==='1'))&&(!q||r.dataset.text.indexOf(q)>=0);
      r.style.display=ok?'':'none';if(ok)n++;
    });
    if(count)count.textContent=n+' of '+rows.length+' shown';
  }
  btns.forEach(function(b){b.addEventListener('click',function(){mode=b.dataset.filter;btns.forEach(function(x){x.classList.toggle('on',x===b)});apply();});});
  if(box)box.addEventListener('input',apply);
  function openHash(){var id=decodeURIComponent(location.hash.slice(1));var el=id&&document.getElementById(id);if(el&&el.tagName==='DETAILS')el.open=true;}
  window.addEventListener('hashchange',openHash);openHash();apply();
  document.body.dataset.ready='1';
})();
`;

export interface HtmlOptions {
  environment?: EnvironmentExtra;
}

export function renderHtml(report: Report, opts: HtmlOptions = {}): string {
  const s = report.summary;
  const targets = targetsOf(report);
  const ordered = attentionOrder(report);
  const attention = ordered.filter((c) => c.status === 'failed' || c.divergences.length > 0);
  const rest = ordered.filter((c) => !(c.status === 'failed' || c.divergences.length > 0));
  const verdict = s.failing
    ? `<p class="verdict bad"><b>Not clean:</b> ${s.failed} failed, ${s.errors} broken case file${s.errors === 1 ? '' : 's'}, ${s.unexplainedDivergences} unexplained divergence${s.unexplainedDivergences === 1 ? '' : 's'}.</p>`
    : `<p class="verdict ok"><b>Clean:</b> every played case passed${s.divergences > 0 ? ', every divergence is known' : ''}.</p>`;
  const env = environmentRows(report, opts.environment).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fusepass report ${esc(report.startedAt)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>fusepass conformance report</h1>
<div class="sub">FUSE passthrough · ${esc(targets.join(' + '))} · profile ${esc(s.profile)}${s.kernel ? ` · kernel ${esc(s.kernel)}` : ''} · ${esc(report.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</div>
${verdict}
${cards(report)}
</header>
<nav><a href="#cases">Cases</a><a href="#attention">Divergences &amp; failures</a><a href="#traces">All traces</a><a href="#coverage">Coverage matrix</a><a href="#checks">Check index</a></nav>
<main>
<div class="top">
<section id="cases"><h2>Cases</h2>
<div class="filters"><button class="on" data-filter="all">All</button><button data-filter="failed">Failed</button><button data-filter="diverging">Diverging</button><input type="search" placeholder="filter by case id, title or check id" aria-label="filter"><span class="count"></span></div>
${caseTable(report, targets)}
</section>
<section id="environment"><h2>Environment</h2><div class="panel"><table class="env">${env}</table></div>
<p class="meta">Check ids link to the check index at the end of this page (statements from shared/kernel-spec.md, bundled so the page works offline). Observations: result, ⇢ FUSE requests the daemon received, ◎ inotify events on backing files; the sim adds the checks it passed through.</p></section>
</div>
<section id="attention"><h2>Divergences and failures (${attention.length})</h2>
${attention.length === 0 ? '<p class="meta">None.</p>' : attention.map((c) => caseDetails(c, targets)).join('\n')}
</section>
<section id="traces"><h2>All other checked traces (${rest.length})</h2>
${rest.map((c) => caseDetails(c, targets)).join('\n')}
</section>
<section id="coverage"><h2>Coverage matrix: check ids by case group</h2>
<p class="meta">${s.coverage.coveredIds} of ${s.coverage.specIds} spec check ids are covered by the cases of this run. A cell counts the cases of that group covering the id (hover for their names).</p>
${coverageMatrix(report)}
</section>
<section id="checks"><h2>Check index</h2>
${checkIndex()}
</section>
</main>
<footer>fusepass report format v${report.version} · generated from the JSON report of the run started ${esc(report.startedAt)}</footer>
<script>${SCRIPT}</script>
</body></html>
`;
}
