// The text summary of a `fusepass check` report: the negotiation, one line per scenario (what
// the application saw, what reached the daemon, what was registered), then the findings.
import { requestCounts } from '../check/traffic.ts';
import type { CheckReport } from '../check/run.ts';
import type { Finding, ProfileRun, ScenarioRun, Traffic } from '../check/protocol.ts';
import { errnoName } from '../spec/errno.ts';

/** `OPEN×3 READ×1`: requests by opcode, in first-seen order. */
export function requestCountsText(traffic: readonly Traffic[]): string {
  return requestCounts(traffic) || '-';
}

function backingText(traffic: readonly Traffic[]): string {
  const parts = traffic.flatMap((t) => t.backing.map((b) => (b.op === 'open' ? `open#${b.seq}=${b.result}` : `close(${b.id})=${b.result}`)));
  return parts.join(' ') || '-';
}

/** ok, or the failed steps: `open data: EIO`. */
function outcome(run: ScenarioRun): string {
  const bad = run.steps.filter((s) => s.skipped === undefined && (s.errno !== null || s.fault !== undefined || (s.expected !== undefined && s.value !== s.expected)));
  if (bad.length === 0) return 'ok';
  return bad
    .map((s) => {
      const what = 'node' in s.step && s.step.node !== undefined ? `${s.step.op} ${s.step.node}` : s.step.op;
      const why = s.errno ?? (s.fault !== undefined ? 'fault' : 'wrong data');
      return `${what}: ${why}`;
    })
    .join('; ');
}

/** The kernel the daemon met: the running one, or the model of a profile (--target sim). */
export function checkedOn(r: CheckReport): string {
  if (r.profiles) return `the fusepass model of Linux ${r.profiles.map((p) => p.name).join(', ')} (--target sim --profile all)`;
  if (r.target === 'sim') return `the fusepass model of Linux ${r.profile?.name ?? '6.18'} (--target sim)`;
  if (r.target === 'both') return `Linux ${r.kernelRelease} and the fusepass model of ${r.comparison?.profile ?? '6.18'} (--target both)`;
  return `Linux ${r.kernelRelease}`;
}

function table(head: string[], rows: string[][], cap = 48): string[] {
  const widths = head.map((h, i) => Math.min(cap, Math.max(h.length, ...rows.map((row) => row[i]!.length))));
  return [head, ...rows].map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function findingLines(findings: readonly Finding[], indent = '  '): string[] {
  return findings.flatMap((f) => [
    `${indent}${f.level.padEnd(5)} ${f.checks.length > 0 ? `[${f.checks.join(', ')}] ` : ''}${f.scenario ? `(${f.scenario}) ` : ''}${f.message}`,
    ...(f.advice ? [`${indent}      what to change: ${f.advice}`] : []),
  ]);
}

/** --profile all: a column per profile, what the application saw and what reached the daemon. */
function profileLines(runs: readonly ProfileRun[]): string[] {
  const ids = [...new Set(runs.flatMap((p) => [...p.scenarios.map((s) => s.id), ...(p.hung ? [p.hung] : [])]))];
  const cell = (p: ProfileRun, id: string) => {
    if (p.hung === id) return 'did not finish (deadline)';
    const s = p.scenarios.find((x) => x.id === id);
    if (!s) return '-';
    const traffic = [...s.steps.map((x) => x.traffic), ...(s.cleanup ? [s.cleanup] : [])];
    const io = traffic.flatMap((t) => t.requests).filter((q) => q.op === 'READ' || q.op === 'WRITE').length;
    const fails = traffic.flatMap((t) => t.backing).filter((b) => typeof b.result !== 'number').length;
    return [outcome(s), io > 0 ? `${io} READ/WRITE to the daemon` : '', fails > 0 ? `${fails} ioctl(s) failed` : ''].filter(Boolean).join(', ');
  };
  const out = table(['scenario', ...runs.map((p) => p.name)], ids.map((id) => [id, ...runs.map((p) => cell(p, id))]), 64);
  for (const p of runs) {
    out.push('', `findings on ${p.name}: ${p.summary.errors} error(s), ${p.summary.warnings} warning(s), ${p.summary.infos} info`);
    out.push(...findingLines(p.findings));
  }
  return out;
}

export function formatCheckReport(r: CheckReport): string[] {
  const out: string[] = [];
  out.push(`fusepass check on ${checkedOn(r)}: ${r.command.join(' ')}`);
  if (r.profile !== null && !r.profiles) out.push(`profile: ${r.profile.emulated}`);
  if (r.inject.length > 0) out.push(`injected: ${r.inject.map((i) => `${i.op}${i.seq === null ? '' : `#${i.seq}`}=${errnoName(i.errno)}`).join(', ')}`);
  const offer = r.setup.traffic.requests.find((q) => q.op === 'INIT')?.init;
  const reply = r.setup.traffic.replies.find((q) => q.op === 'INIT')?.init;
  if (offer && reply && !r.profiles) {
    const asked = ['PASSTHROUGH', 'WRITEBACK_CACHE'].filter((f) => reply.flags.includes(f)).join(' + ') || 'no PASSTHROUGH';
    out.push(`INIT: kernel ${offer.major}.${offer.minor} ${offer.flags.includes('PASSTHROUGH') ? 'offers' : 'does not offer'} PASSTHROUGH; the daemon asks ${asked}, max_stack_depth ${reply.maxStackDepth}`);
  }
  out.push('');
  if (r.profiles) out.push(...profileLines(r.profiles));
  else {
    const rows = r.scenarios.map((s) => {
      const traffic = [...s.steps.map((x) => x.traffic), ...(s.cleanup ? [s.cleanup] : [])];
      return [s.id, outcome(s), requestCountsText(traffic), backingText(traffic)];
    });
    if (r.hung) rows.push([r.hung, 'did not finish (deadline)', '', '']);
    if (r.teardown) rows.push(['teardown', `umount ${r.teardown.umount ?? 'ok'}, daemon ${r.teardown.daemonExit}`, requestCountsText([r.teardown.traffic]), backingText([r.teardown.traffic])]);
    out.push(...table(['scenario', 'application saw', 'requests to the daemon', 'backing ioctls'], rows));
    out.push('');
    out.push(r.findings.length === 0 ? 'findings: none' : 'findings:');
    out.push(...findingLines(r.findings));
  }
  if (r.comparison) {
    const c = r.comparison;
    out.push('');
    out.push(`the model (${c.profile}) beside this kernel: ${c.divergences.length === 0 ? 'the same in every step' : `${c.divergences.length} divergence(s), ${r.summary.unexplainedDivergences ?? 0} unexplained`}`);
    for (const d of c.divergences) out.push(`  ${d.where}${d.step === null ? '' : ` step ${d.step + 1}`} ${d.what}: kernel ${d.kernel} | model ${d.sim}${d.explainedBy ? ` (known: ${d.explainedBy})` : ''}`);
  }
  out.push('');
  out.push(`summary: ${r.summary.errors} error(s), ${r.summary.warnings} warning(s), ${r.summary.infos} info${r.profiles ? ` over ${r.profiles.length} profiles` : ''}${r.summary.unexplainedDivergences !== undefined ? `, ${r.summary.unexplainedDivergences} unexplained divergence(s)` : ''}`);
  return out;
}
