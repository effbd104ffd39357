// `fusepass check`'s namespace child: started by the host as `unshare --mount --propagation
// private node ...`, so the FUSE mount it makes lives in a private namespace that dies with it.
// It holds the real /dev/fuse and the mount, starts the daemon under test (launcher + seccomp)
// with a socket as its session fd, runs the relay worker, plays battery scenarios as client
// steps on its main thread and answers each with what the relay saw.
import * as fs from 'node:fs';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { sys } from '../real-kernel/ffi/libc.ts';
import { CLONE_NEWNS, EFD_CLOEXEC, MNT_DETACH, MS, O } from '../real-kernel/ffi/consts.ts';
import { connIdentity, type ConnId } from '../real-kernel/child/fusectl.ts';
import { connOf } from '../real-kernel/child/fusectl.ts';
import { enterNamespaceChild, publishConnections, startGuardian } from '../real-kernel/child/guardian.ts';
import { sleepMs, waitingCount } from '../real-kernel/child/observers.ts';
import { ClientSteps } from '../real-kernel/child/client-steps.ts';
import { entryPath } from '../real-kernel/child/scratch-path.ts';
import { errnoName } from '../spec/errno.ts';
import { checkSys } from './ffi.ts';
import { killGroup, launchDaemon, LaunchError, tail, type DaemonProcess } from './daemon-process.ts';
import { FUSE_OPCODES } from '../spec/uapi.ts';
import { NO_REPLY, type RelayEvent } from './relay-messages.ts';
import { toTraffic } from './traffic.ts';
import { Shadow } from './shadow.ts';
import { seedSteps, seededNote } from './battery.ts';
import { mountsByItself, substitute } from './substitute.ts';
import { ensureBenchFile, runWorkload } from './workload.ts';
import type { FromCheckChild, Scenario, ScenarioRun, SetupRequest, SetupResult, TeardownResult, ToCheckChild, TracedStep } from './protocol.ts';


function die(msg: string): never {
  process.stderr.write(`fusepass check child: ${msg}\n`);
  return sys.exit(1);
}

// ---- safety first (as real-kernel/child/main.ts) ----------------------------------------------
const unsafe = enterNamespaceChild();
if (unsafe) die(unsafe);
const workDir = `/var/tmp/fusepass-check-${process.pid}`;
startGuardian(workDir, String(process.env.FUSEPASS_PARENT_PID));
// Start libuv's thread pool in the base namespace (see real-kernel/child/main.ts).
await fs.promises.stat('/');

interface Live {
  devFd: number;
  sockFd: number;
  mnt: string;
  conn: ConnId | null;
  daemon: DaemonProcess;
  relay: Worker;
  port: MessagePort;
  wakeFd: number;
  sources: Map<string, Uint8Array>;
  client: ClientSteps;
  /** Requests relayed and not yet answered (by unique). */
  outstanding: Set<bigint>;
}

let live: Live | null = null;

/** Everything the relay posted since the last call. */
function drain(l: Live): RelayEvent[] {
  const out: RelayEvent[] = [];
  for (let m = receiveMessageOnPort(l.port); m; m = receiveMessageOnPort(l.port)) {
    const e = m.message as RelayEvent | { t: 'ready' | 'stopped' };
    if (e.t === 'ready' || e.t === 'stopped') continue;
    const ev = e as RelayEvent;
    if (ev.t === 'request' && !NO_REPLY.has(ev.opcode)) l.outstanding.add(ev.unique);
    if (ev.t === 'reply') l.outstanding.delete(ev.unique);
    if (ev.t === 'mounted') {
      // The daemon's own mount(2), performed by the relay: the battery plays on its target.
      l.devFd = ev.devFd;
      l.mnt = ev.target;
      l.conn = ev.conn;
      publishConnections(workDir, ev.conn ? [ev.conn] : []);
    }
    out.push(ev);
  }
  return out;
}

/**
 * Wait until the step's traffic has settled: nothing outstanding on the relay, the kernel's
 * `waiting` count 0, and two quiet polls in a row (asynchronous RELEASEs are queued before the
 * closing syscall returns). Bounded by `boundMs`: a daemon that does not answer is reported as
 * such by the host's deadline, not waited for here.
 */
function settle(l: Live, boundMs = 2000): RelayEvent[] {
  const events: RelayEvent[] = [];
  const end = Date.now() + boundMs;
  let quiet = 0;
  while (Date.now() < end) {
    const got = drain(l);
    events.push(...got);
    const busy = l.outstanding.size > 0 || (l.conn !== null && waitingCount(l.conn) > 0);
    quiet = busy || got.length > 0 ? 0 : quiet + 1;
    if (quiet >= 3) break;
    sleepMs(5);
  }
  return events;
}

async function setup(m: SetupRequest): Promise<SetupResult> {
  const src = `${workDir}/src`;
  const mnt = `${workDir}/mnt`;
  const argv = substitute(m.argv, m.fdNumber, src, mnt);
  const selfMount = mountsByItself(m.argv);
  const failed = (problem: string, events: RelayEvent[] = [], log?: string): SetupResult => ({ t: 'setup', argv, problem, traffic: toTraffic(events), ...(log !== undefined ? { log } : {}) });
  fs.mkdirSync(src);
  fs.mkdirSync(mnt);
  const sources = new Map<string, Uint8Array>();
  for (const [name, content] of Object.entries(m.sourceFiles)) {
    const bytes = new TextEncoder().encode(content);
    fs.writeFileSync(entryPath(src, name), bytes);
    sources.set(name, bytes);
  }
  // The mount goes in a namespace of its own, as the kernel target's cases do: nothing started
  // before it (the guardian, libuv's threads) ever holds it.
  if (sys.unshare(CLONE_NEWNS) < 0) return failed('unshare(CLONE_NEWNS) failed');
  sys.mount(null, '/', null, MS.REC | MS.PRIVATE, null);
  // {fd}: fusepass mounts, the daemon gets the session; mount mode: the relay performs the
  // daemon's own mount(2) when it comes (relay-worker.ts mountFuse).
  let devFd = -1;
  let conn: ConnId | null = null;
  if (!selfMount) {
    devFd = sys.open('/dev/fuse', O.RDWR | O.CLOEXEC);
    if (devFd < 0) return failed(`cannot open /dev/fuse: ${errnoName(devFd)}`);
    const r = sys.mount('fusepass-check', mnt, 'fuse.fusepass-check', 0, `fd=${devFd},rootmode=40000,user_id=0,group_id=0,allow_other`);
    if (r < 0) return failed(`mounting FUSE failed: ${errnoName(r)}`);
    conn = connIdentity(connOf(mnt));
    publishConnections(workDir, conn ? [conn] : []);
  }
  const pair = sys.seqpacketPair();
  if (typeof pair === 'number') return failed(`socketpair failed: ${errnoName(pair)}`);
  const [ours, theirs] = pair;
  // A whole WRITE request (max_write + headers) must fit one SEQPACKET message (the kernel
  // doubles the value: 16 MiB, beyond libfuse's largest max_write).
  checkSys.forceBuffers(ours, 8 << 20);
  checkSys.forceBuffers(theirs, 8 << 20);
  const sessionLink = fs.readlinkSync(`/proc/self/fd/${theirs}`);
  const logFile = `${workDir}/daemon.log`;
  let daemon: DaemonProcess;
  try {
    daemon = await launchDaemon(argv, selfMount ? null : { fd: theirs, at: m.fdNumber }, logFile, m.initTimeoutMs);
  } catch (e) {
    sys.close(theirs);
    return failed(e instanceof LaunchError ? e.message : String(e));
  }
  // In mount mode the relay keeps the daemon's end until the daemon's mount(2) asks for it.
  if (!selfMount) sys.close(theirs);
  // The daemon leads a process group (launcher.mjs): the guardian kills it if we are killed.
  fs.appendFileSync(`${workDir}/pgids`, `${daemon.pid}\n`);
  process.on('exit', () => killGroup(daemon.pid));
  const wakeFd = sys.eventfd(EFD_CLOEXEC);
  const { port1, port2 } = new MessageChannel();
  const relay = new Worker(new URL('./relay-boot.mjs', import.meta.url), {
    workerData: { devFd, sockFd: ours, daemonEnd: selfMount ? theirs : -1, listener: daemon.listener, sessionLink, wakeFd, port: port2, inject: m.inject, profile: m.profile, conn },
    transferList: [port2],
  });
  relay.unref();
  const l: Live = {
    devFd,
    sockFd: ours,
    mnt,
    conn,
    daemon,
    relay,
    port: port1,
    wakeFd,
    sources,
    client: new ClientSteps({ path: (node) => (node === undefined || node === '' ? l.mnt : entryPath(l.mnt, node)), closeFile: (fd) => sys.close(fd) }),
    outstanding: new Set(),
  };
  live = l;
  let exited: string | null = null;
  // A daemon that forks into the background exits 0 here: say what to do about it.
  void daemon.exited.then(
    (x) => (exited = `the daemon exited (${x.signal ?? `status ${x.code}`}) before answering INIT${x.code === 0 ? '; if it daemonizes, run it in the foreground (libfuse: --foreground or -f)' : ''}`),
  );
  // Wait for the daemon's INIT reply to reach the kernel.
  const events: RelayEvent[] = [];
  const end = Date.now() + m.initTimeoutMs;
  let initDone = false;
  while (Date.now() < end && !initDone && exited === null) {
    await new Promise((r) => setTimeout(r, 10));
    const got = drain(l);
    events.push(...got);
    initDone = got.some((e) => e.t === 'reply' && e.opcode === FUSE_OPCODES.INIT);
  }
  events.push(...drain(l));
  if (!initDone) {
    const why = exited ?? `the daemon did not answer INIT within ${m.initTimeoutMs} ms`;
    killGroup(daemon.pid);
    sys.umount2(mnt, MNT_DETACH);
    return failed(why, events, tail(logFile));
  }
  // A daemon not told to serve {src} (an encrypting or remote one) gets the battery's files
  // written through its own mount, so the scenarios find them.
  if (!m.argv.some((a) => a.includes('{src}'))) events.push(...seedThroughMount(l));
  return { t: 'setup', argv, problem: null, traffic: toTraffic(events) };
}

/** Create the battery's files through the mount (open O_CREAT|O_TRUNC, write, close). */
function seedThroughMount(l: Live): RelayEvent[] {
  const events: RelayEvent[] = [];
  for (const [name, bytes] of l.sources) {
    for (const step of seedSteps(name, bytes)) {
      if (step.op !== 'open' && !l.client.fds.has('seed')) break;
      let failed: string | null = null;
      try {
        const out = l.client.run(step);
        if (out.errno) failed = out.errno;
      } catch (e) {
        failed = e instanceof Error ? e.message : String(e);
      }
      events.push(...settle(l));
      if (failed) events.push({ t: 'relayError', message: `writing the battery's file ${name} through the mount: ${step.op} gave ${failed}` });
    }
  }
  l.client.releaseAll();
  events.push({ t: 'note', message: seededNote(l.sources.keys()) });
  return events;
}

function playScenario(l: Live, scenario: Scenario): ScenarioRun {
  const steps: TracedStep[] = [];
  const shadow = new Shadow(l.sources);
  for (const step of scenario.steps) {
    drain(l);
    // A step on an fd or mapping whose open failed is not run (the failure is the open's).
    const uses = 'fd' in step && typeof step.fd === 'string' ? step.fd : 'map' in step ? step.map : undefined;
    if (uses !== undefined && !l.client.fds.has(uses) && !l.client.maps.has(uses)) {
      steps.push({ step, errno: null, value: null, skipped: `${uses} is not open`, traffic: toTraffic([]) });
      continue;
    }
    let out: ReturnType<ClientSteps['run']>;
    try {
      out = l.client.run(step);
    } catch (e) {
      out = { fault: { kind: 'crash', message: e instanceof Error ? e.message : String(e) } };
    }
    const traffic = toTraffic(settle(l));
    const t: TracedStep = { step, errno: out.errno ?? null, value: out.value ?? null, traffic };
    const exp = shadow.apply(step, !out.fault && out.errno === null);
    if (exp !== undefined) t.expected = exp;
    if (out.fault) t.fault = out.fault.message;
    steps.push(t);
  }
  // Whatever the scenario left open is closed before the next one (their RELEASEs count here).
  const leftOpen = [...l.client.fds.keys()];
  l.client.releaseAll();
  const rest = toTraffic(settle(l));
  return { id: scenario.id, title: scenario.title, steps, ...(leftOpen.length > 0 || rest.requests.length > 0 ? { cleanup: rest } : {}) };
}

async function teardown(l: Live, timeoutMs: number): Promise<TeardownResult> {
  l.client.releaseAll();
  const before = settle(l);
  const u = sys.umount2(l.mnt, 0);
  const umount = u < 0 ? errnoName(u) : null;
  if (u < 0) sys.umount2(l.mnt, MNT_DETACH);
  // The daemon learns of the umount from its session (ENODEV, then EOF on the socket).
  const exit = await Promise.race([l.daemon.exited.then((x) => x), new Promise<null>((r) => setTimeout(() => r(null), timeoutMs))]);
  let daemonExit: string;
  if (exit) daemonExit = exit.signal ? `killed by ${exit.signal}` : `exited with status ${exit.code}`;
  else {
    l.daemon.proc.kill('SIGKILL');
    await l.daemon.exited;
    daemonExit = `did not exit within ${timeoutMs} ms of the umount; killed`;
  }
  // Whatever the daemon started goes with it.
  killGroup(l.daemon.pid);
  const after = settle(l, 500);
  sys.write(l.wakeFd, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
  sys.close(l.devFd);
  live = null;
  return { t: 'teardown', umount, daemonExit, traffic: toTraffic([...before, ...after]), log: tail(l.daemon.logFile) };
}

async function handle(m: ToCheckChild): Promise<FromCheckChild> {
  switch (m.t) {
    case 'setup':
      return setup(m);
    case 'scenario':
      if (!live) die('scenario before setup');
      return { t: 'scenario', run: playScenario(live, m.scenario) };
    case 'workload': {
      if (!live) die('workload before setup');
      try {
        ensureBenchFile(`${workDir}/src`, m.opts.readMiB);
        return { t: 'workload', result: runWorkload(live.mnt, m.opts) };
      } catch (e) {
        return { t: 'workload', result: { error: e instanceof Error ? e.message : String(e) } };
      }
    }
    case 'teardown':
      if (!live) die('teardown before setup');
      return teardown(live, m.timeoutMs);
    case 'quit':
      // Leave nothing for the guardian but the directory: the daemon's group, the mount.
      if (live) {
        killGroup(live.daemon.pid);
        sys.umount2(live.mnt, MNT_DETACH);
      }
      return sys.exit(0);
  }
}

let chain: Promise<void> = Promise.resolve();
process.on('message', (m: ToCheckChild) => {
  chain = chain.then(async () => void process.send?.(await handle(m))).catch((e: unknown) => die(e instanceof Error ? (e.stack ?? e.message) : String(e)));
});
process.on('disconnect', () => sys.exit(0));
process.send?.({ t: 'ready', pid: process.pid } satisfies FromCheckChild);
