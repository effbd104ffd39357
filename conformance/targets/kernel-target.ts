// The kernel target: plays cases on the running Linux kernel through real-kernel/ (a raw
// /dev/fuse daemon in a namespace child per run, a fresh mount namespace per case), under a
// per-case deadline. A timeout aborts the case's FUSE connections, kills the child, yields a
// `timeout` fault, and the next case gets a new child.
import * as os from 'node:os';
import type { Case, ProfileName, Step } from '../../spec/case.ts';
import type { Observation, TargetFault } from '../../spec/observation.ts';
import type { CaseSession, Target, TargetInfo } from '../../spec/target.ts';
import { KernelChild, startDeadlineFromEnv } from '../../real-kernel/host/child-host.ts';
import { staticUnavailableReason } from '../../real-kernel/host/availability.ts';
import { getProfile } from '../../sim/index.ts';

export interface KernelTargetOptions {
  /** Hard deadline per case (start, steps and finish together), ms. Default 5000. */
  deadlineMs?: number;
  /**
   * Deadline for starting the namespace child (node, koffi, daemon workers), ms. Default 20 s,
   * or FUSEPASS_START_DEADLINE_MS: a kernel under emulation (the QEMU matrix) took 9-29 s.
   */
  startDeadlineMs?: number;
}


const PROBE: Case = {
  id: 'probe-passthrough',
  title: 'does the kernel offer passthrough in INIT',
  checks: ['INIT-1'],
  world: {},
  steps: [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }],
};

/** The sim profile closest to a kernel release: the newest profile not newer than it. */
export function profileOf(release: string): ProfileName {
  const m = /^(\d+)\.(\d+)/.exec(release);
  const v = m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
  if (v >= 6018) return '6.18';
  if (v >= 6012) return '6.12';
  if (v >= 6009) return '6.9';
  // Before 6.9 there are no backing ioctls at all (Debian 12's 6.1, Ubuntu 22.04's 5.15).
  return '6.1';
}

function faultObs(fault: TargetFault): Observation {
  return { errno: null, value: null, requests: [], events: [], fault };
}

export function createKernelTarget(opts: KernelTargetOptions = {}): Target {
  const deadlineMs = opts.deadlineMs ?? 5000;
  const startDeadlineMs = opts.startDeadlineMs ?? startDeadlineFromEnv();
  let child: KernelChild | null = null;
  let reason: Promise<string | null> | null = null;
  /** The probe mount's INIT offer offered FUSE_PASSTHROUGH (null: not probed). */
  let offersPassthrough: boolean | null = null;

  async function getChild(): Promise<KernelChild | string> {
    if (child?.alive) return child;
    const c = await KernelChild.spawn(startDeadlineMs);
    if (typeof c === 'string') return c;
    child = c;
    return c;
  }

  async function probe(): Promise<string | null> {
    const s = staticUnavailableReason();
    if (s) return s;
    const c = await getChild();
    if (typeof c === 'string') return `cannot start the namespace child: ${c}`;
    const started = await c.request({ t: 'start', kase: PROBE }, startDeadlineMs);
    if (!('ok' in started) || started.ok.t !== 'started' || started.ok.fault) return 'the probe case did not start';
    await c.request({ t: 'apply', step: PROBE.steps[0]!, index: 0 }, 5000);
    const m = await c.request({ t: 'apply', step: PROBE.steps[1]!, index: 1 }, 5000);
    await c.request({ t: 'finish' }, 5000);
    if (!('ok' in m) || m.ok.t !== 'obs') return 'the probe mount timed out';
    const v = m.ok.obs.value;
    if (m.ok.obs.errno) return `mounting FUSE failed: ${m.ok.obs.errno}`;
    if (typeof v !== 'string') return `the probe mount reported no INIT offer (${String(v)})`;
    offersPassthrough = v.includes('PASSTHROUGH');
    // A kernel without passthrough is a target too: of the profile without it (info below).
    return null;
  }

  return {
    name: 'kernel',
    unavailable(): Promise<string | null> {
      reason ??= probe();
      return reason;
    },
    async info(): Promise<TargetInfo> {
      const byRelease = profileOf(os.release());
      // No FUSE_PASSTHROUGH in the offer of a 6.9+ kernel: built without CONFIG_FUSE_PASSTHROUGH.
      const profile = offersPassthrough === false && getProfile(byRelease).passthroughConfigured ? 'nopt' : byRelease;
      return { name: 'kernel', profile, kernelRelease: os.release() };
    },
    async start(kase: Case): Promise<CaseSession> {
      let dead: TargetFault | null = null;
      // Starting a child (after a timeout killed the last one) does not count against the case.
      const c = await getChild();
      const deadline = Date.now() + deadlineMs;
      const left = (): number => Math.max(1, deadline - Date.now());
      if (typeof c === 'string') dead = { kind: 'setup', message: `cannot start the namespace child: ${c}` };
      else {
        const r = await c.request({ t: 'start', kase }, left());
        if ('timeout' in r) dead = { kind: 'timeout', message: `building the world took longer than ${deadlineMs} ms` };
        else if ('crash' in r) dead = { kind: 'crash', message: r.crash };
        else if (r.ok.t === 'started' && r.ok.fault) dead = r.ok.fault;
      }
      const kid = typeof c === 'string' ? null : c;
      async function call(m: { t: 'apply'; step: Step; index: number } | { t: 'finish' }, what: string): Promise<Observation> {
        if (dead || !kid) return faultObs({ kind: dead?.kind === 'setup' ? 'setup' : 'crash', message: `not run: ${dead?.message ?? 'no child'}` });
        const r = await kid.request(m, left());
        if ('timeout' in r) {
          const aborted = kid.lastAborted.length > 0 ? `aborted connection ${kid.lastAborted.join(', ')}` : 'no connection to abort';
          dead = { kind: 'timeout', message: `${what} did not finish within the ${deadlineMs} ms case deadline; ${aborted}; child killed` };
          return faultObs(dead);
        }
        if ('crash' in r) {
          dead = { kind: 'crash', message: r.crash };
          return faultObs(dead);
        }
        return r.ok.t === 'obs' ? r.ok.obs : faultObs({ kind: 'crash', message: 'unexpected reply' });
      }
      return {
        apply: (step: Step, index: number) => call({ t: 'apply', step, index }, `step ${index} (${step.op})`),
        finish: async () => {
          if (dead?.kind === 'timeout' || dead?.kind === 'crash') return { errno: null, value: null, requests: [], events: [] };
          return call({ t: 'finish' }, 'finish');
        },
      };
    },
    async dispose(): Promise<void> {
      await child?.quit();
      child = null;
    },
  };
}
