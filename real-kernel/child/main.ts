// The namespace child: started by the runner as `unshare --mount --propagation private node ...`
// so that every mount it makes lives in a private namespace that dies with it. It dies with its
// parent (PR_SET_PDEATHSIG), plays cases sent over IPC, and gives each case a fresh mount
// namespace of its own (unshare(CLONE_NEWNS) on the main thread, setns back afterwards).
import * as fs from 'node:fs';
import { sys } from '../ffi/libc.ts';
import { CLONE_NEWNS, MS, O } from '../ffi/consts.ts';
import { DaemonHandle } from '../daemon/handle.ts';
import type { Case } from '../../spec/case.ts';
import type { Observation } from '../../spec/observation.ts';
import { CaseSession } from './session.ts';
import { startIoctlServer, type ServerCred } from './ioctl-servers.ts';
import { SetupError } from './world.ts';
import { enterNamespaceChild, publishConnections, startGuardian } from './guardian.ts';
import type { FromChild, ToChild } from './protocol.ts';


function die(msg: string): never {
  process.stderr.write(`fusepass kernel child: ${msg}\n`);
  return sys.exit(1);
}

function reply(m: FromChild): void {
  process.send?.(m);
}

// ---- safety first ---------------------------------------------------------------------------
const unsafe = enterNamespaceChild();
if (unsafe) die(unsafe);
// tracefs, in this private namespace only (fusectl is mounted by enterNamespaceChild).
if (!fs.existsSync('/sys/kernel/tracing/events')) sys.mount('tracefs', '/sys/kernel/tracing', 'tracefs', 0, null);

// Disk dir on the machine's ext4, guarded (guardian.ts): removed once we are gone, our FUSE
// connections aborted if our death hangs on them.
const diskRoot = `/var/tmp/fusepass-${process.pid}`;
// Each case's tmpfs is mounted here, inside the case namespace only. Never on /tmp: the repo
// (and so the worker and helper scripts a case loads) may live under /tmp.
startGuardian(diskRoot, String(process.env.FUSEPASS_PARENT_PID));
const scratch = `${diskRoot}/scratch`;
fs.mkdirSync(scratch);

function publish(): void {
  publishConnections(diskRoot, session?.connections() ?? []);
}

// Start libuv's thread pool now: threads created inside a case namespace would share the case
// thread's fs_struct and make setns(2) back to the base namespace fail (EINVAL).
await fs.promises.stat('/');
const baseNs = sys.open('/proc/self/ns/mnt', O.RDONLY | O.CLOEXEC);
if (baseNs < 0) die('cannot open /proc/self/ns/mnt');

// The cred `userns` ioctl server, started while no case has a FUSE file open (ioctl-servers.ts);
// the others start with the first case that uses them.
const usernsProblem = startIoctlServer('userns');
if (usernsProblem) die(`cannot start the userns ioctl server: ${usernsProblem}`);

const pool: DaemonHandle[] = [];
async function ensureWorkers(n: number): Promise<void> {
  const missing = Math.max(0, n - pool.length);
  pool.push(...(await Promise.all(Array.from({ length: missing }, () => DaemonHandle.start()))));
}
await ensureWorkers(2);

function workersNeeded(k: Case): number {
  const on = new Set(Object.values(k.world.files ?? {}).map((f) => f.on));
  // One more for each further mount (MountStep.as).
  const named = k.steps.filter((s) => s.op === 'mount' && s.as !== undefined).length;
  return 1 + named + (on.has('fusePt1') ? 1 : 0) + (on.has('fusePt2') ? 1 : 0) + (on.has('fuse') || on.has('overlayOverFuse') ? 1 : 0) + (on.has('nestedFuse') ? 1 : 0);
}

let session: CaseSession | null = null;
let caseNo = 0;
let disk = '';

function leaveCase(): void {
  session?.dispose();
  session = null;
  publish();
  if (sys.setns(baseNs, CLONE_NEWNS) < 0) die('setns back to the base namespace failed');
  fs.rmSync(disk, { recursive: true, force: true });
}

/** The ioctl servers a case's steps use, besides `userns` (started with the child). */
function serverCreds(k: Case): ServerCred[] {
  const creds = k.steps.map((s) => (s.op === 'backingOpen' || s.op === 'backingClose' ? s.cred : undefined));
  return [...new Set(creds)].filter((c): c is ServerCred => c === 'capDroppedProcess' || c === 'nonRootCapSysAdmin');
}

async function start(kase: Case): Promise<FromChild> {
  await ensureWorkers(workersNeeded(kase));
  // Before the case's namespace exists and while no FUSE file is open (ioctl-servers.ts).
  for (const cred of serverCreds(kase)) {
    const problem = startIoctlServer(cred);
    if (problem) return { t: 'started', fault: { kind: 'setup', message: `cannot start the ${cred} ioctl server: ${problem}` } };
  }
  if (sys.unshare(CLONE_NEWNS) < 0) die('unshare(CLONE_NEWNS) failed');
  sys.mount(null, '/', null, MS.REC | MS.PRIVATE, null);
  if (sys.mount('tmpfs', scratch, 'tmpfs', 0, 'mode=755') < 0) die('cannot mount the case tmpfs');
  disk = `${diskRoot}/c${++caseNo}`;
  let next = 1;
  try {
    session = new CaseSession(kase, `${scratch}/w`, disk, pool[0]!, () => {
      const d = pool[next++];
      if (!d) throw new SetupError('no spare daemon worker');
      return d;
    });
    publish();
    return { t: 'started' };
  } catch (e) {
    leaveCase();
    const message = e instanceof Error ? e.message : String(e);
    return { t: 'started', fault: { kind: 'setup', message } };
  }
}

const NO_SESSION: Observation = { errno: null, value: null, requests: [], events: [], fault: { kind: 'setup', message: 'no case started' } };

async function handle(m: ToChild): Promise<FromChild> {
  switch (m.t) {
    case 'start':
      // A case the runner never finished: tear it down properly first (closing its FUSE files
      // after the daemon stopped reading would wait forever on FLUSH).
      if (session) {
        session.finish();
        leaveCase();
      }
      return start(m.kase);
    case 'apply': {
      const obs = session ? session.apply(m.step) : NO_SESSION;
      publish();
      return { t: 'obs', obs };
    }
    case 'finish': {
      if (!session) return { t: 'obs', obs: NO_SESSION };
      const obs = session.finish();
      leaveCase();
      return { t: 'obs', obs };
    }
    case 'quit':
      // Never exit with FUSE files open: closing them at exit would wait on our own daemon.
      if (session) {
        session.finish();
        leaveCase();
      }
      return sys.exit(0);
  }
}

let chain: Promise<void> = Promise.resolve();
process.on('message', (m: ToChild) => {
  chain = chain.then(async () => reply(await handle(m))).catch((e: unknown) => die(e instanceof Error ? (e.stack ?? e.message) : String(e)));
});
process.on('disconnect', () => sys.exit(0));
reply({ t: 'ready', pid: process.pid });
