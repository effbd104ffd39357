// `fusepass check --target sim`: the user's daemon against the kernel model instead of the
// running kernel. No root, no /dev/fuse, no mount: the daemon gets one end of a SOCK_SEQPACKET
// pair as its session ({fd}), the model (sim/, on the chosen profile) sends it requests through
// the port of check/sim-port.ts, and the daemon's backing ioctls, trapped by the same launcher
// and seccomp supervisor as on the kernel, are answered by the model. The battery, the shadow
// of the expected bytes and the findings are those of the kernel target. Everything runs in
// this process, synchronously per step; every wait has the scenario's deadline.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sys } from '../real-kernel/ffi/libc.ts';
import { createKernel, getProfile, type Kernel } from '../sim/index.ts';
import { playStep } from '../conformance/targets/sim-target.ts';
import { DEFAULT_INIT_REPLY, PROFILE_NAMES, type ClientStep, type ProfileName } from '../spec/case.ts';
import { errnoName } from '../spec/errno.ts';
import { SCENARIOS, SOURCE_FILES, seedSteps, seededNote } from './battery.ts';
import { killGroup, launchDaemon, LaunchError, tail, type DaemonProcess } from './daemon-process.ts';
import { analyze } from './findings.ts';
import type { CheckReport, Finding, Scenario, ScenarioRun, SetupResult, TeardownResult, TracedStep } from './protocol.ts';
import type { RelayEvent } from './relay-messages.ts';
import { Sessions } from './sessions.ts';
import { Shadow } from './shadow.ts';
import { DaemonGone, DaemonHung, ExternalDaemonPort, modelBacking } from './sim-port.ts';
import { substitute } from './substitute.ts';
import { createSupervisor } from './supervisor.ts';
import { toTraffic } from './traffic.ts';
import type { CheckOptions } from './run.ts';

/** Where the session socket sits in the daemon, as on the kernel target. */
const SESSION_FD = 4;
const DEV = 'session';
const WORK_PREFIX = 'fusepass-check-sim-';

/** What the report says about the kernel the daemon met. */
export function simNote(profile: ProfileName): string {
  return `the kernel is the fusepass model of ${profile} (sim/; last confirmed on ${getProfile(profile).confirmedOn}): no real /dev/fuse or mount was used; the daemon's backing ioctls were answered by the model, which judges them with the daemon taken as privileged (CAP_SYS_ADMIN), as when it runs as root`;
}

/** Work directories of earlier runs whose process is gone (killed before it could clean up). */
function removeStaleWorkDirs(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = Number(name.slice(WORK_PREFIX.length));
    if (!name.startsWith(WORK_PREFIX) || !Number.isInteger(pid)) continue;
    try {
      process.kill(pid, 0);
    } catch {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    }
  }
}

interface Live {
  k: Kernel;
  port: ExternalDaemonPort;
  events: RelayEvent[];
  daemon: DaemonProcess;
  sources: Map<string, Uint8Array>;
  sessions: Sessions;
  connUp: boolean;
}

const take = (l: Live) => toTraffic(l.events.splice(0));

/** Play one client step on the model; a daemon that hangs or leaves ends the run there. */
function play(l: Live, step: ClientStep): { errno: string | null; value: number | string | null; fault?: string } {
  const r = playStep(l.k, step);
  return { errno: r.errno, value: r.value ?? null, ...(r.fault ? { fault: r.fault.message } : {}) };
}

/** Close what a scenario left open, as its process exit would. */
function closeAll(l: Live): void {
  const s = l.k.state;
  for (const name of [...s.maps.keys()]) l.k.client.munmap(name);
  for (const name of [...s.clientFiles.keys()]) l.k.client.close(name);
}

function playScenario(l: Live, scenario: Scenario, timeoutMs: number): ScenarioRun {
  l.port.deadline = Date.now() + timeoutMs;
  const steps: TracedStep[] = [];
  const shadow = new Shadow(l.sources);
  for (const step of scenario.steps) {
    l.events.splice(0);
    const uses = 'fd' in step && typeof step.fd === 'string' ? step.fd : 'map' in step ? step.map : undefined;
    if (uses !== undefined && !l.k.state.clientFiles.has(uses) && !l.k.state.maps.has(uses)) {
      steps.push({ step, errno: null, value: null, skipped: `${uses} is not open`, traffic: toTraffic([]) });
      continue;
    }
    const out = play(l, step);
    l.port.settle();
    const t: TracedStep = { step, errno: out.errno, value: out.value, traffic: take(l) };
    const exp = shadow.apply(step, out.fault === undefined && out.errno === null);
    if (exp !== undefined) t.expected = exp;
    if (out.fault !== undefined) t.fault = out.fault;
    steps.push(t);
  }
  const leftOpen = l.k.state.clientFiles.size + l.k.state.maps.size;
  closeAll(l);
  l.port.settle();
  const rest = take(l);
  return { id: scenario.id, title: scenario.title, steps, ...(leftOpen > 0 || rest.requests.length > 0 ? { cleanup: rest } : {}) };
}

/** The battery's files written through the model's mount (the command line has no {src}). */
function seedThroughMount(l: Live): void {
  for (const [name, bytes] of l.sources) {
    for (const step of seedSteps(name, bytes)) {
      if (step.op !== 'open' && !l.k.state.clientFiles.has('seed')) break;
      const out = play(l, step);
      if (out.errno !== null || out.fault !== undefined) l.events.push({ t: 'relayError', message: `writing the battery's file ${name} through the mount: ${step.op} gave ${out.errno ?? out.fault}` });
    }
  }
  l.events.push({ t: 'note', message: seededNote(l.sources.keys()) });
}

async function teardown(l: Live, timeoutMs: number): Promise<TeardownResult> {
  l.port.deadline = Date.now() + timeoutMs;
  // The model's umount and the close of the daemon's session: the connection ends (as
  // fuse_kill_sb_anon and fuse_abort_conn do), and the daemon's reads fail with ENODEV.
  const u = l.k.daemon.umount({ lazy: false });
  if (u.errno !== null) l.k.daemon.umount({ lazy: true });
  l.connUp = false;
  l.sessions.endAll(-1, (message) => l.events.push({ t: 'relayError', message }));
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  void l.daemon.exited.then((x) => (exit = x));
  const end = Date.now() + timeoutMs;
  while (exit === null && Date.now() < end) {
    l.port.settle(20, 20);
    await new Promise((r) => setImmediate(r));
  }
  let daemonExit: string;
  if (exit !== null) {
    const x: { code: number | null; signal: NodeJS.Signals | null } = exit;
    daemonExit = x.signal ? `killed by ${x.signal}` : `exited with status ${x.code}`;
  } else {
    l.daemon.proc.kill('SIGKILL');
    await l.daemon.exited;
    daemonExit = `did not exit within ${timeoutMs} ms of the umount; killed`;
  }
  return { t: 'teardown', umount: u.errno, daemonExit, traffic: take(l), log: tail(l.daemon.logFile) };
}

export async function runSimCheck(opts: CheckOptions): Promise<CheckReport | { problem: string }> {
  if (!opts.argv.some((a) => a.includes('{fd}'))) return { problem: 'with --target sim the daemon takes its session from {fd} in its command line (fusepass does not mount); e.g. -- ./passthrough_hp --foreground {src} {fd}' };
  const profile = opts.profile ?? '6.18';
  removeStaleWorkDirs();
  const workDir = path.join(os.tmpdir(), `${WORK_PREFIX}${process.pid}`);
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(`${workDir}/src`, { recursive: true });
  const src = `${workDir}/src`;
  const argv = substitute(opts.argv, SESSION_FD, src, `${workDir}/mnt`);
  const sources = new Map<string, Uint8Array>();
  for (const [name, content] of Object.entries(SOURCE_FILES)) {
    const bytes = new TextEncoder().encode(content);
    fs.writeFileSync(path.join(src, name), bytes);
    sources.set(name, bytes);
  }
  const opened: number[] = [];
  let daemon: DaemonProcess | null = null;
  const pair = sys.seqpacketPair();
  if (typeof pair === 'number') return { problem: `socketpair failed: ${errnoName(pair)}` };
  const [ours, theirs] = pair;
  // What /proc/<pid>/fd shows for the daemon's session fd: how its reads and ioctls are told apart.
  const sessionLink = fs.readlinkSync(`/proc/self/fd/${theirs}`);
  try {
    const logFile = `${workDir}/daemon.log`;
    try {
      daemon = await launchDaemon(argv, { fd: theirs, at: SESSION_FD }, logFile, opts.timeoutMs);
    } catch (e) {
      return { problem: e instanceof LaunchError ? e.message : String(e) };
    } finally {
      sys.close(theirs);
    }
    const d = daemon;
    const events: RelayEvent[] = [];
    const post = (e: RelayEvent) => events.push(e);
    const sessions = new Sessions(d.listener, { fd: ours, link: sessionLink });
    let l: Live | null = null;
    const supervisor = createSupervisor({
      listener: d.listener,
      sessions,
      inject: opts.inject,
      profile: null,
      daemonEnd: -1,
      post,
      devFd: () => -1,
      state: () => (l === null || l.connUp ? 'up' : 'gone'),
      mounted: () => {},
      model: { backingOpen: (a) => backing.backingOpen(a), backingClose: (a) => backing.backingClose(a), devIoctl: (a) => backing.devIoctl(a) },
    });
    const port = new ExternalDaemonPort({ listener: d.listener, sessions, supervise: supervisor.supervise, post, caller: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, pid: process.pid } });
    const k = createKernel({ profile, port });
    const backing = modelBacking(k, DEV, opened);
    l = { k, port, events, daemon: d, sources, sessions, connUp: true };
    const live = l;

    // ---- setup: /dev/fuse, mount with the daemon's INIT reply ----
    port.deadline = Date.now() + opts.timeoutMs;
    let exitNote: string | null = null;
    void d.exited.then((x) => (exitNote = `the daemon exited (${x.signal ?? `status ${x.code}`}) before answering INIT${x.code === 0 ? '; if it daemonizes, run it in the foreground (libfuse: --foreground or -f)' : ''}`));
    let setup: SetupResult;
    try {
      k.daemon.devOpen(DEV);
      // The session sits at the number the daemon knows it by.
      const s = k.state;
      const dev = s.devFiles.get(DEV)!;
      s.daemonTask.fds.delete(dev.fd!);
      s.daemonTask.fds.set(SESSION_FD, { kind: 'dev', devName: DEV });
      dev.fd = SESSION_FD;
      const m = k.daemon.mount(DEV, DEFAULT_INIT_REPLY);
      if (m.errno !== null) throw new DaemonGone(`the model's mount failed with ${m.errno}`);
      port.settle();
      if (!opts.argv.some((a) => a.includes('{src}'))) seedThroughMount(live);
      setup = { t: 'setup', argv, problem: null, traffic: take(live) };
    } catch (e) {
      if (!(e instanceof DaemonHung || e instanceof DaemonGone)) throw e;
      await new Promise((r) => setTimeout(r, 50));
      const why = exitNote ?? (e instanceof DaemonHung ? `the daemon did not answer INIT within ${opts.timeoutMs} ms` : e.message);
      return { problem: `${why}${tail(logFile) ? ` (daemon output: ${tail(logFile).split('\n').slice(-3).join(' | ')})` : ''}` };
    }

    // ---- the battery ----
    const runs: ScenarioRun[] = [];
    let hung: string | null = null;
    let gone: string | null = null;
    for (const scenario of SCENARIOS.filter((x) => opts.scenarios === null || opts.scenarios.includes(x.id))) {
      try {
        runs.push(playScenario(live, scenario, opts.timeoutMs));
      } catch (e) {
        if (!(e instanceof DaemonHung || e instanceof DaemonGone)) throw e;
        if (e instanceof DaemonHung) hung = scenario.id;
        else gone = `${scenario.id}: ${e.message}`;
        break;
      }
    }
    let td: TeardownResult | null = null;
    if (hung === null) td = await teardown(live, opts.timeoutMs);
    if (gone !== null && td) td.traffic.notes.push(`the daemon left during ${gone}`);
    const findings: Finding[] = analyze({ setup, scenarios: runs, hung, teardown: td, writebackDisablesPassthrough: k.profile.writebackDisablesPassthrough });
    const count = (level: Finding['level']) => findings.filter((f) => f.level === level).length;
    return {
      tool: 'fusepass check',
      target: 'sim',
      kernelRelease: os.release(),
      command: argv,
      inject: opts.inject,
      profile: { name: profile, emulated: simNote(profile) },
      setup,
      scenarios: runs,
      hung,
      teardown: td,
      findings,
      summary: { errors: count('error'), warnings: count('warn'), infos: count('info') },
    };
  } finally {
    if (daemon !== null) {
      killGroup(daemon.pid);
      sys.close(daemon.listener);
    }
    sys.close(ours);
    for (const fd of opened) sys.close(fd);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** --profile all: the battery on the model of every profile, one report with a run per profile. */
export async function runSimCheckAll(opts: CheckOptions): Promise<CheckReport | { problem: string }> {
  const runs: CheckReport[] = [];
  for (const name of PROFILE_NAMES) {
    const r = await runSimCheck({ ...opts, profile: name });
    if ('problem' in r) return { problem: `on profile ${name}: ${r.problem}` };
    runs.push(r);
  }
  const first = runs[0]!;
  const sum = (k: 'errors' | 'warnings' | 'infos') => runs.reduce((n, r) => n + r.summary[k], 0);
  return {
    ...first,
    profiles: runs.map((r) => ({ name: r.profile!.name, setup: r.setup, scenarios: r.scenarios, hung: r.hung, teardown: r.teardown, findings: r.findings, summary: r.summary })),
    summary: { errors: sum('errors'), warnings: sum('warnings'), infos: sum('infos') },
  };
}
