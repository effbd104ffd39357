// `fusepass check --target both`: the same daemon, the same battery, once on this kernel and
// once on the model, compared step by step. What is compared is what the report shows a daemon
// author: each step's errno and value, how many requests of each opcode reached the daemon, the
// backing ioctls and what they returned, the findings, the INIT offer and the daemon's exit.
// Uniques, nodeids and file handles are the daemon's own numbering and are not compared.
import type { CheckDivergence, CheckReport, Finding, ScenarioRun, Traffic } from './protocol.ts';
import { requestCounts } from './traffic.ts';

/** "FLUSH×3 LOOKUP OPEN×2": how many requests of each opcode, in opcode-name order. */
export const opCounts = (traffic: readonly Traffic[]) => requestCounts(traffic, true);

/** "open=1 open=EBADF close(1)=0": the backing ioctls in order, with what they returned. */
function backingText(traffic: readonly Traffic[]): string {
  return traffic
    .flatMap((t) => t.backing)
    .map((b) => (b.op === 'open' ? `open=${b.result}` : `close(${b.id})=${b.result}`))
    .join(' ');
}

function findingKey(f: Finding): string {
  return `${f.level} ${f.checks[0] ?? '-'}${f.scenario ? ` (${f.scenario})` : ''}`;
}

const show = (v: unknown) => (v === null || v === undefined ? '-' : String(v));

/**
 * A known divergence: the daemon closes a backing id right after answering OPEN with it, before
 * the open(2) has returned. On the kernel the opener's fuse_passthrough_open (after it wakes) and
 * the daemon's BACKING_CLOSE race: the open succeeds or fails with EIO (OPEN-12) depending on
 * which runs first, and the ids of later registrations shift with it. The model takes the reply
 * first. Everything from the step where the model saw it on is explained by the race.
 */
export const CLOSE_AFTER_OPEN_REPLY = 'close-after-open-reply race: the daemon closed a backing id right after answering OPEN with it (OPEN-12 on the kernel when the close wins)';

/** Where the model's run shows that race: [scenario index, step index], or null. */
function closeAfterOpenReply(run: Pick<CheckReport, 'scenarios'>): [number, number] | null {
  for (const [si, s] of run.scenarios.entries()) {
    for (const [i, st] of s.steps.entries()) {
      const ids = new Set(st.traffic.replies.flatMap((r) => (r.open && r.open.backingId > 0 ? [r.open.backingId] : [])));
      if (st.traffic.backing.some((b) => b.op === 'close' && b.id !== undefined && ids.has(b.id))) return [si, i];
    }
  }
  return null;
}

/** Every difference between the kernel's run and the model's, in report order. */
export function compareRuns(kernel: Pick<CheckReport, 'setup' | 'scenarios' | 'hung' | 'teardown' | 'findings'>, sim: Pick<CheckReport, 'setup' | 'scenarios' | 'hung' | 'teardown' | 'findings'>): CheckDivergence[] {
  const out: CheckDivergence[] = [];
  const differ = (where: string, step: number | null, what: CheckDivergence['what'], k: string, s: string) => {
    if (k !== s) out.push({ where, step, what, kernel: k, sim: s });
  };
  const offer = (r: typeof kernel) => {
    const o = r.setup.traffic.requests.find((q) => q.op === 'INIT')?.init;
    return o ? `${o.major}.${o.minor} ${[...o.flags].sort().join(',')}` : '-';
  };
  differ('setup', null, 'offer', offer(kernel), offer(sim));
  differ('setup', null, 'requests', opCounts([kernel.setup.traffic]), opCounts([sim.setup.traffic]));
  const simRuns = new Map<string, ScenarioRun>(sim.scenarios.map((s) => [s.id, s]));
  for (const k of kernel.scenarios) {
    const s = simRuns.get(k.id);
    if (s === undefined) {
      differ(k.id, null, 'hung', 'played', sim.hung === k.id ? 'did not finish (deadline)' : 'not played');
      continue;
    }
    k.steps.forEach((ks, i) => {
      const ss = s.steps[i];
      if (ss === undefined) return differ(k.id, i, 'errno', show(ks.errno), 'not played');
      differ(k.id, i, 'errno', ks.skipped ?? show(ks.errno), ss.skipped ?? show(ss.errno));
      differ(k.id, i, 'value', show(ks.value), show(ss.value));
      differ(k.id, i, 'requests', opCounts([ks.traffic]), opCounts([ss.traffic]));
      differ(k.id, i, 'backing', backingText([ks.traffic]), backingText([ss.traffic]));
    });
    const clean = (r: ScenarioRun) => (r.cleanup ? [r.cleanup] : []);
    differ(k.id, null, 'requests', opCounts(clean(k)), opCounts(clean(s)));
    differ(k.id, null, 'backing', backingText(clean(k)), backingText(clean(s)));
  }
  if (kernel.hung !== null && !simRuns.has(kernel.hung)) differ(kernel.hung, null, 'hung', 'did not finish (deadline)', sim.hung === kernel.hung ? 'did not finish (deadline)' : 'not played');
  else if (sim.hung !== null && kernel.hung !== sim.hung) differ(sim.hung, null, 'hung', kernel.hung === null ? 'played' : 'not played', 'did not finish (deadline)');
  differ('teardown', null, 'daemonExit', kernel.teardown?.daemonExit ?? '-', sim.teardown?.daemonExit ?? '-');
  differ('teardown', null, 'requests', opCounts(kernel.teardown ? [kernel.teardown.traffic] : []), opCounts(sim.teardown ? [sim.teardown.traffic] : []));
  // A finding matches one of the same level and scenario that names the same check, or whose
  // explanation holds it: the model explains a failed ioctl by its whole path (an EPERM
  // BACKING_OPEN without passthrough: DEV-8 at the ioctl, then BOPEN-4), the kernel's rules name
  // one check of it.
  // The race's consequences are explained, not counted.
  const race = closeAfterOpenReply(sim);
  if (race !== null) {
    const order = new Map(sim.scenarios.map((s, i) => [s.id, i]));
    for (const d of out) {
      const si = order.get(d.where);
      if (si === undefined ? d.where === 'teardown' : si > race[0] || (si === race[0] && (d.step === null || d.step >= race[1]))) d.explainedBy = CLOSE_AFTER_OPEN_REPLY;
    }
  }
  const unmatched = [...sim.findings];
  for (const kf of kernel.findings) {
    const i = unmatched.findIndex((sf) => sf.level === kf.level && sf.scenario === kf.scenario && (sf.checks.includes(kf.checks[0]!) || kf.checks.includes(sf.checks[0]!) || (kf.checks.length === 0 && sf.checks.length === 0)));
    if (i >= 0) unmatched.splice(i, 1);
    else out.push({ where: 'findings', step: null, what: 'finding', kernel: findingKey(kf), sim: '-' });
  }
  for (const sf of unmatched) out.push({ where: 'findings', step: null, what: 'finding', kernel: '-', sim: findingKey(sf) });
  if (race !== null) for (const d of out) if (d.where === 'findings') d.explainedBy = CLOSE_AFTER_OPEN_REPLY;
  return out;
}
