// From a check's trace to findings in check ids (kernel-spec.md): what the daemon negotiated,
// which of its answers made the kernel fail an application's syscall and why, where passthrough
// was silently off, and what it leaked. It follows the kernel's state through the trace the way
// fs/fuse does: passthrough on or off after INIT (fuse_process_init_reply), the registered ids
// (fuse_backing_open/close), and per inode the open files and whether a backing file is bound
// (fuse_file_io_open, iomode.c), so an EIO at open is traced to the check that produced it.
import { CHECKS, type CheckId } from '../spec/check-ids.ts';
import { modelOpen, type OpenQuestion } from './model.ts';
import { FOPEN_DIRECT_IO, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH_MASK, fopenFlags, type FopenFlagName } from '../spec/uapi.ts';
import type { Finding, ScenarioRun, SetupResult, TeardownResult, TracedBacking, TracedReply, TracedStep, Traffic } from './protocol.ts';

export type { Finding };


export interface CheckTrace {
  setup: SetupResult;
  scenarios: ScenarioRun[];
  hung: string | null;
  teardown: TeardownResult | null;
  /**
   * The kernel that judged the daemon when it was the model (--target sim): its profile decides
   * what the INIT reply negotiates. Absent: the running kernel (6.18 rules).
   */
  writebackDisablesPassthrough?: boolean;
}

/** What the kernel's state says about one open file of the daemon's. */
interface OpenFile {
  nodeid: string;
  node: string;
  passthrough: boolean;
  backingId: number;
  cached: boolean;
  /** The daemon's reply to its open, for the model's replay (model.ts). */
  reply: NonNullable<TracedReply['open']>;
}

/** The errno a failed BACKING_OPEN gives, and the check behind it (§4). */
const BOPEN_CHECK: Record<string, CheckId> = {
  EPERM: 'BOPEN-5',
  EOPNOTSUPP: 'BOPEN-2',
  ENOTTY: 'DEV-1',
  EFAULT: 'BOPEN-3',
  EBADF: 'BOPEN-7',
  EISDIR: 'BOPEN-8',
  EINVAL: 'BOPEN-9',
  ELOOP: 'BOPEN-10',
  ENOMEM: 'BOPEN-11',
  ENOSPC: 'BOPEN-12',
};

function bits(open: NonNullable<TracedReply['open']>): number {
  return (fopenFlags(open.openFlags as FopenFlagName[]) | open.extraBits) >>> 0;
}

/** The negotiation of INIT (§2), from the kernel's offer and the daemon's reply. */
function negotiation(setup: SetupResult, writebackDisablesPassthrough: boolean): { on: boolean; findings: Finding[] } {
  const offer = setup.traffic.requests.find((r) => r.op === 'INIT')?.init;
  const reply = setup.traffic.replies.find((r) => r.op === 'INIT')?.init;
  const out: Finding[] = [];
  if (!offer || !reply) return { on: false, findings: out };
  const offered = offer.flags.includes('PASSTHROUGH');
  const asked = reply.flags.includes('PASSTHROUGH');
  const wb = reply.flags.includes('WRITEBACK_CACHE');
  const msdOk = reply.maxStackDepth >= 1 && reply.maxStackDepth <= 2;
  const on = offered && asked && msdOk && !(wb && writebackDisablesPassthrough);
  const proto = `kernel ${offer.major}.${offer.minor}, daemon ${reply.major}.${reply.minor}`;
  if (!offered) out.push({ level: 'info', checks: ['INIT-1'], scenario: null, message: `the kernel does not offer FUSE_PASSTHROUGH (${proto})` });
  else if (!asked) out.push({ level: 'info', checks: ['INIT-10'], scenario: null, message: `the daemon did not ask for passthrough in its INIT reply (${proto}): every read and write goes through the daemon` });
  else if (wb && !writebackDisablesPassthrough && msdOk) {
    out.push({
      level: 'warn',
      checks: ['INIT-9'],
      scenario: null,
      message: `the daemon asks for PASSTHROUGH together with WRITEBACK_CACHE: this kernel negotiates both and passthrough works, but from 6.11 on the kernel turns passthrough off and keeps writeback caching, silently (${proto})`,
      advice: 'ask for FUSE_PASSTHROUGH only when writeback caching is off (libfuse: do not set FUSE_CAP_PASSTHROUGH with FUSE_CAP_WRITEBACK_CACHE)',
    });
  } else if (wb) {
    out.push({
      level: 'warn',
      checks: ['INIT-9'],
      scenario: null,
      message: `the daemon asks for PASSTHROUGH together with WRITEBACK_CACHE: the kernel turns passthrough off and keeps writeback caching, silently (${proto})`,
      advice: 'ask for FUSE_PASSTHROUGH only when writeback caching is off (libfuse: do not set FUSE_CAP_PASSTHROUGH with FUSE_CAP_WRITEBACK_CACHE)',
    });
  } else if (!msdOk) {
    out.push({
      level: 'warn',
      checks: ['INIT-8'],
      scenario: null,
      message: `the daemon asks for PASSTHROUGH with max_stack_depth ${reply.maxStackDepth}: outside 1..2 the kernel leaves passthrough off`,
      advice: 'reply max_stack_depth 1 for backing files on a plain filesystem, 2 when they live on overlayfs or another FUSE mount',
    });
  } else {
    out.push({ level: 'info', checks: ['INIT-7'], scenario: null, message: `passthrough negotiated with max_stack_depth ${reply.maxStackDepth} (${proto})` });
  }
  return { on, findings: out };
}

/** Follow the kernel's state through the trace and report what the daemon's answers caused. */
export function analyze(t: CheckTrace): Finding[] {
  const { on, findings } = negotiation(t.setup, t.writebackDisablesPassthrough ?? true);
  const initReply = t.setup.traffic.replies.find((r) => r.op === 'INIT')?.init ?? { flags: [], maxStackDepth: 0 };
  const registered = new Set<number>();
  const files = new Map<string, OpenFile>(); // fh → file
  const nodeids = new Map<string, string>(); // node name → the daemon's nodeid
  let ptOpens = 0;
  let ptTraffic = 0; // READ/WRITE of passthrough files that reached the daemon
  let readsChecked = 0;
  let readsWrong = 0;
  const idsUsed = new Set<number>();
  let fallbackAfter: TracedBacking | null = null;
  let nonPtAfterFailure = 0;
  let diedIn: string | null = null;
  let clones = 0;

  const backing = (b: TracedBacking, scenario: string | null) => {
    const ok = typeof b.result === 'number';
    if (b.op === 'open') {
      if (ok) registered.add(b.result as number);
      else {
        fallbackAfter ??= b;
        const check = b.result === 'EPERM' && !on ? 'BOPEN-4' : (BOPEN_CHECK[b.result as string] ?? 'BOPEN-13');
        const reason = `${b.why ? ` (${b.why})` : ''}${b.answeredBy === 'inject' ? ' (injected by --inject)' : b.answeredBy === 'privilege' ? ' (the daemon thread lacks CAP_SYS_ADMIN in the initial user namespace)' : b.answeredBy === 'profile' ? ' (the answer of the kernel --profile emulates)' : ''}`;
        const f: Finding = { level: 'info', checks: b.checks ?? [check], scenario, message: `BACKING_OPEN #${b.seq} of ${b.target} failed with ${String(b.result)}${reason}` };
        // Failures alike in one scenario are one finding listing the calls.
        foldAs.set(f, { key: `BACKING_OPEN failed with ${String(b.result)}${reason}`, item: `#${b.seq} of ${b.target}` });
        findings.push(f);
      }
    } else if (ok) registered.delete(b.id!);
    else if (b.result === 'ENOENT') {
      findings.push({
        level: 'error',
        checks: ['BCLOSE-7'],
        scenario,
        message: `BACKING_CLOSE of id ${b.id} failed with ENOENT: the id was not registered (closed twice, or never opened)`,
        advice: 'close each backing id exactly once, and only ids BACKING_OPEN returned; a RELEASE of a file whose open failed has no id to drop',
      });
    }
  };

  /** One step's (or a cleanup's) traffic in the order the relay saw it, judged as it happens. */
  const replay = (tr: Traffic, scenario: string | null, s?: TracedStep) => {
    const step = s?.step;
    const items = [
      ...tr.backing.map((b) => ({ at: b.at, b })),
      ...tr.replies.map((r) => ({ at: r.at, r })),
      ...tr.requests.map((q) => ({ at: q.at, q })),
    ].sort((x, y) => x.at - y.at);
    for (const it of items) {
      if ('b' in it) backing(it.b, scenario);
      else if ('r' in it) {
        const r = it.r;
        if (step?.op === 'open' && (r.op === 'LOOKUP' || r.op === 'CREATE') && r.nodeid !== undefined) nodeids.set(step.node, r.nodeid);
        if (step?.op !== 'open' || s === undefined || (r.op !== 'OPEN' && r.op !== 'CREATE') || r.error !== 0 || !r.open) continue;
        // The kernel judges the reply when it arrives: registrations made before it count,
        // closes the daemon makes afterwards (for the failed open's RELEASE) do not.
        const open = r.open;
        const nodeid = nodeids.get(step.node) ?? step.node;
        const pt = (bits(open) & FOPEN_PASSTHROUGH) !== 0;
        if (!pt && fallbackAfter) nonPtAfterFailure++;
        const sameInode = [...files.values()].filter((f) => f.nodeid === nodeid);
        if (s.errno === 'EIO') {
          // The kernel looks the id up after the reply, in the opening task: an id the daemon
          // closed after replying, before the failed open's synchronous RELEASE, may already have
          // been gone then (a race the daemon made). Closes after that RELEASE are its answer to it.
          const release = items.find((x) => x.at > it.at && 'q' in x && x.q.op === 'RELEASE')?.at ?? Infinity;
          const closedAfter = new Set(items.filter((x) => x.at > it.at && x.at < release && 'b' in x && x.b.op === 'close' && x.b.result === 0).map((x) => ('b' in x ? x.b.id : undefined)));
          const known = new Set([...registered].filter((id) => !closedAfter.has(id)));
          const ours = eioAtOpen(scenario ?? '', step.node, open, pt, on, known, sameInode);
          findings.push(...withModel(ours, { init: initReply, earlier: sameInode.map((f) => f.reply), reply: open, openFlags: step.flags ?? ['O_RDONLY'], registered: known }, step.node));
        }
        if (s.errno === null) {
          if (pt) {
            ptOpens++;
            idsUsed.add(open.backingId);
          }
          files.set(open.fh, { nodeid, node: step.node, passthrough: pt && on, backingId: open.backingId, cached: (bits(open) & FOPEN_DIRECT_IO) === 0, reply: open });
        }
      } else {
        const q = it.q;
        const f = q.fh === undefined ? undefined : files.get(q.fh);
        if (q.op === 'RELEASE' && q.fh !== undefined) files.delete(q.fh);
        if ((q.op === 'READ' || q.op === 'WRITE') && f?.passthrough && f.cached) {
          ptTraffic++;
          findings.push({
            level: 'error',
            checks: [q.op === 'READ' ? 'IO-1' : 'IO-4'],
            scenario,
            message: `${q.op} of ${f.node} reached the daemon although its open was answered with FOPEN_PASSTHROUGH (backing id ${f.backingId})`,
          });
        }
      }
    }
    for (const n of tr.notes) {
      // During a scenario, the daemon's session ending means it died (at teardown it is due).
      if (n === 'the daemon closed its session') diedIn ??= scenario;
      else if (n.startsWith('relay:') && !n.includes('closed its session')) findings.push({ level: 'warn', checks: [], scenario, message: n });
      else if (n.startsWith('note: the daemon cloned its session')) clones++;
      else if (n.startsWith('note:')) findings.push({ level: 'info', checks: [], scenario, message: n.slice('note: '.length) });
    }
  };

  replay(t.setup.traffic, null);
  for (const run of t.scenarios) {
    const nodeOf = new Map<string, string>(); // client fd name → node
    for (const s of run.steps) {
      if (s.step.op === 'open') nodeOf.set(s.step.as, s.step.node);
      replay(s.traffic, run.id, s);
      const step = s.step;
      if ((step.op === 'read' || step.op === 'mapRead') && s.expected !== undefined && s.errno === null) {
        readsChecked++;
        if (s.value !== s.expected) {
          readsWrong++;
          const file = nodeOf.get(step.op === 'read' ? step.fd : step.map) ?? 'a file';
          findings.push({ level: 'error', checks: ['IO-1'], scenario: run.id, message: `a read of ${file} returned ${String(s.value).slice(0, 60)}, the source holds ${s.expected.slice(0, 60)}` });
        }
      }
    }
    if (run.cleanup) replay(run.cleanup, run.id);
  }

  if (clones > 0) findings.push({ level: 'info', checks: ['DEV-9'], scenario: null, message: `the daemon cloned its session ${clones} time(s) (FUSE_DEV_IOC_CLONE, e.g. libfuse --clone-fd); each clone was relayed through a socket of its own` });
  if (fallbackAfter && nonPtAfterFailure > 0 && ptOpens > 0) {
    const f = fallbackAfter as TracedBacking;
    findings.push({
      level: 'warn',
      checks: ['BOPEN-10', 'IOM-2'],
      scenario: null,
      message: `after BACKING_OPEN #${f.seq} failed (${String(f.result)}), the daemon answered ${nonPtAfterFailure} later open(s) without FOPEN_PASSTHROUGH: one failure turned passthrough off for other files too (a silent, mount-wide fallback)`,
      advice: 'fall back per file: a BACKING_OPEN failure concerns that backing file only; keep answering opens of inodes that are open in passthrough mode with FOPEN_PASSTHROUGH and their backing id',
    });
  }
  const opened = t.scenarios.some((r) => r.steps.some((s) => s.step.op === 'open' && s.errno === null));
  if (on && ptOpens === 0 && opened) {
    findings.push({
      level: 'error',
      checks: ['INIT-7', 'OPEN-14'],
      scenario: null,
      message: 'passthrough was negotiated, but no open was answered with FOPEN_PASSTHROUGH: every read and write went through the daemon',
      advice: 'register the file with FUSE_DEV_IOC_BACKING_OPEN and answer OPEN/CREATE with FOPEN_PASSTHROUGH and the backing id',
    });
  }
  if (on && ptOpens > 0 && ptTraffic === 0) {
    findings.push({
      level: 'info',
      checks: ['IO-1', 'IO-4', 'IO-11'],
      scenario: null,
      message: `passthrough in effect where used: ${ptOpens} open(s) answered with FOPEN_PASSTHROUGH over ${idsUsed.size} backing id(s); no READ or WRITE of those files reached the daemon; ${readsChecked - readsWrong} of ${readsChecked} reads equal to the source`,
    });
  }
  if (t.hung !== null) {
    findings.push({ level: 'error', checks: [], scenario: t.hung, message: `scenario ${t.hung} did not finish within the deadline: the daemon stopped answering; fusepass aborted the connection` });
  }
  const exit = t.teardown?.daemonExit ?? null;
  if (diedIn !== null) {
    findings.push({
      level: 'error',
      checks: ['LIFE-20'],
      scenario: diedIn,
      message: `the daemon closed its session during this scenario${exit ? ` (it ${exit})` : ''}: the connection was aborted, and the application's syscalls failed with ENOTCONN${t.teardown?.log ? `; its last output: ${t.teardown.log.split('\n').slice(-2).join(' | ')}` : ''}`,
    });
  } else if (t.teardown) {
    replay(t.teardown.traffic, null);
    const leaked = [...registered];
    if (leaked.length > 0) {
      findings.push({
        level: 'warn',
        checks: ['LIFE-1', 'LIFE-23'],
        scenario: null,
        message: `backing id(s) ${leaked.join(', ')} were still registered when the daemon's session ended: the daemon never closed them (the kernel frees them with the connection)`,
        advice: 'FUSE_DEV_IOC_BACKING_CLOSE each id once no open file of its inode needs it (on the last RELEASE)',
      });
    }
    if (exit !== 'exited with status 0') {
      findings.push({ level: 'error', checks: [], scenario: null, message: `after the umount the daemon ${exit}${t.teardown.log ? `; its last output: ${t.teardown.log.split('\n').slice(-2).join(' | ')}` : ''}` });
    }
  }
  return fold(findings);
}

/** Findings that differ only in which call they saw, folded under one message (fold). */
const foldAs = new WeakMap<Finding, { key: string; item: string }>();

/**
 * The same finding seen several times in one scenario is one finding, with its count; failed
 * backing ioctls alike are one finding that lists the calls.
 */
function fold(findings: readonly Finding[]): Finding[] {
  const out: Finding[] = [];
  const seen = new Map<string, { f: Finding; n: number; items: string[]; key: string | null }>();
  for (const f of findings) {
    const as = foldAs.get(f);
    const key = `${f.level}|${f.checks.join(',')}|${f.scenario}|${as?.key ?? f.message}`;
    const prev = seen.get(key);
    if (prev) {
      prev.n++;
      if (as) prev.items.push(as.item);
    } else {
      const entry = { f: { ...f }, n: 1, items: as ? [as.item] : [], key: as?.key ?? null };
      seen.set(key, entry);
      out.push(entry.f);
    }
  }
  for (const { f, n, items, key } of seen.values()) if (n > 1) f.message = key !== null ? `${key}: ${n} calls (${items.join(', ')})` : `${f.message} (${n} times)`;
  return out;
}

/**
 * The model's reading of the same EIO (model.ts): it names the deciding check, the hidden errno
 * and the advice, as `fusepass explain` would. fusepass's own reading of the trace (eioAtOpen)
 * gives the words; when the two name different checks, the model's wins and the finding says
 * so; when the model does not predict the EIO at all, that is a divergence, reported as such.
 */
function withModel(ours: Finding, q: OpenQuestion, node: string): Finding[] {
  const m = modelOpen(q);
  if (m.errno !== 'EIO' || !m.decidedBy) {
    return [
      ours,
      {
        level: 'warn',
        checks: ['OBS-11'],
        scenario: ours.scenario,
        message: `divergence: the kernel failed the open of ${node} with EIO, but the model of Linux 6.18 predicts ${m.errno ?? 'success'} for the same daemon answers (the kernel is the judge; please report it with this report)`,
      },
    ];
  }
  const checks = [...new Set<CheckId>([m.decidedBy, 'OPEN-6', 'OBS-11'])];
  // Our advice speaks of this trace (the daemon's own ids); the model's of its replay.
  if (ours.checks[0] === m.decidedBy) return [{ ...ours, checks }];
  const c = CHECKS[m.decidedBy];
  return [
    {
      ...ours,
      checks,
      message: `open of ${node} failed with EIO (the kernel's internal error: ${m.cause ?? 'unknown'}): ${m.decidedBy}: ${c.statement} → ${c.result} (the model's reading; fusepass's own trace reading said ${ours.checks[0] ?? 'nothing'})`,
      ...(m.advice ? { advice: m.advice } : ours.advice ? { advice: ours.advice } : {}),
    },
  ];
}

/** Why open(2) failed with EIO after a successful OPEN reply (§5, §7): the hidden errno's check. */
function eioAtOpen(scenario: string, node: string, open: NonNullable<TracedReply['open']>, pt: boolean, on: boolean, registered: ReadonlySet<number>, sameInode: readonly OpenFile[]): Finding {
  const why = (checks: CheckId[], hidden: string, message: string, advice: string): Finding => ({
    level: 'error',
    checks: [...checks, 'OPEN-6', 'OBS-11'],
    scenario,
    message: `open of ${node} failed with EIO (the kernel's internal error: ${hidden}): ${message}`,
    advice,
  });
  const flags = bits(open);
  if (pt && !on) {
    return why(['OPEN-8'], 'EINVAL', 'the OPEN reply sets FOPEN_PASSTHROUGH, but INIT did not enable passthrough on this connection', 'answer with FOPEN_PASSTHROUGH only when passthrough was negotiated (see the INIT finding)');
  }
  if (pt) {
    if ((flags & ~FOPEN_PASSTHROUGH_MASK) !== 0) {
      return why(['OPEN-9'], 'EINVAL', `the OPEN reply combines FOPEN_PASSTHROUGH with ${open.openFlags.filter((f) => !['PASSTHROUGH', 'DIRECT_IO', 'PARALLEL_DIRECT_WRITES', 'NOFLUSH'].includes(f)).join(', ') || `bits 0x${(flags & ~FOPEN_PASSTHROUGH_MASK).toString(16)}`}`, 'with FOPEN_PASSTHROUGH only DIRECT_IO, PARALLEL_DIRECT_WRITES and NOFLUSH are allowed');
    }
    if (open.backingId <= 0) return why(['OPEN-11'], 'EINVAL', `the OPEN reply sets FOPEN_PASSTHROUGH with backing id ${open.backingId}`, 'answer with the id FUSE_DEV_IOC_BACKING_OPEN returned');
    if (!registered.has(open.backingId)) {
      return why(['OPEN-12'], 'ENOENT', `backing id ${open.backingId} is not registered (closed already, or never opened)`, 'keep an id registered until the last open file of its inode is released');
    }
    const other = sameInode.find((f) => f.passthrough && f.backingId !== open.backingId);
    if (other) return why(['IOM-7'], 'EBUSY', `the inode is already open in passthrough mode with backing id ${other.backingId}, this reply names ${open.backingId}`, 'use one backing id per inode for all its open files');
    if (sameInode.some((f) => !f.passthrough && f.cached)) {
      return why(['IOM-8'], 'ETXTBSY', 'the inode is already open without passthrough (cached I/O); a passthrough open must wait until those files are closed', 'answer every open of an inode the same way: all with FOPEN_PASSTHROUGH, or none');
    }
    return why(['OPEN-13'], 'the backing file open', 'the kernel could not open the backing file for this file (PTF-*)', 'check the backing file: read-only mount for a write open, O_DIRECT support, deny-write');
  }
  if (sameInode.some((f) => f.passthrough)) {
    return why(['IOM-2'], 'EINVAL', 'the OPEN reply has no FOPEN_PASSTHROUGH, but the inode is open in passthrough mode (a backing file is bound to it)', 'while an inode has files open in passthrough mode, answer its opens with FOPEN_PASSTHROUGH and the same backing id; fall back per file, not per mount');
  }
  return why([], 'unknown', 'no passthrough rule explains it', 'see the trace');
}
