// `fusepass check` on the running kernel: start the namespace child (check/child-main.ts), have
// it mount FUSE and start the daemon under test with its session relayed, play the battery one
// scenario at a time under a deadline, tear down, and turn the trace into findings. A daemon
// that hangs a scenario is a finding: the host aborts the connection and kills the child, and
// the report says where it stopped.
import { fileURLToPath } from 'node:url';
import * as os from 'node:os';
import { KernelChild, startDeadlineFromEnv } from '../real-kernel/host/child-host.ts';
import { ownModule } from '../real-kernel/host/runtime.ts';
import { staticUnavailableReason } from '../real-kernel/host/availability.ts';
import { SCENARIOS, SOURCE_FILES } from './battery.ts';
import type { Injection } from './inject.ts';
import { emulationNote } from './profile-emulation.ts';
import type { ProfileName } from '../spec/case.ts';
import type { CheckReport, FromCheckChild, ScenarioRun, TeardownResult, ToCheckChild } from './protocol.ts';

export type { CheckReport };
import { analyze } from './findings.ts';
import type { WorkloadOptions, WorkloadResult } from './workload.ts';
import type { Finding } from './protocol.ts';

const CHECK_MAIN = fileURLToPath(ownModule('./child-main', import.meta.url));

/** Where the session socket sits in the daemon: `{fd}` becomes `/dev/fd/4`. */
export const SESSION_FD = 4;

export interface CheckOptions {
  /** The daemon's command line, with `{fd}` where its mountpoint goes and maybe `{src}`. */
  argv: string[];
  inject: Injection[];
  /** --profile: the kernel the relay shows the daemon, or null for the running one. */
  profile: ProfileName | null;
  /** Scenario ids to play, in battery order; all when null. */
  scenarios: string[] | null;
  /** Deadline per scenario (and for INIT, and for the daemon's exit after umount), ms. */
  timeoutMs: number;
  /**
   * kernel (default): the running kernel behind a relay; sim: the model in its place
   * (sim-run.ts); both: one after the other, compared (both.ts).
   */
  target?: 'kernel' | 'sim' | 'both';
}


/** Why the daemon cannot be checked here, or null. */
export function checkUnavailable(argv: readonly string[]): string | null {
  if (argv.length === 0) return 'no daemon command given (expected: fusepass check [options] -- <daemon> <args...>)';
  return staticUnavailableReason();
}

/** The relayed daemon under the bench workload (bench/check.ts): setup, workload, teardown. */
export async function runRelayedWorkload(argv: string[], opts: WorkloadOptions, timeoutMs: number): Promise<WorkloadResult | { problem: string }> {
  const unavailable = checkUnavailable(argv);
  if (unavailable) return { problem: unavailable };
  const child = await KernelChild.spawn<ToCheckChild, FromCheckChild>(startDeadlineFromEnv(), CHECK_MAIN);
  if (typeof child === 'string') return { problem: child };
  try {
    const s = await child.request({ t: 'setup', argv, fdNumber: SESSION_FD, inject: [], profile: null, sourceFiles: {}, initTimeoutMs: timeoutMs }, timeoutMs + 5000);
    if (!('ok' in s) || s.ok.t !== 'setup' || s.ok.problem) return { problem: 'ok' in s && s.ok.t === 'setup' ? String(s.ok.problem) : 'setup failed' };
    const w = await child.request({ t: 'workload', opts }, 600_000);
    await child.request({ t: 'teardown', timeoutMs }, timeoutMs * 2 + 5000);
    if (!('ok' in w) || w.ok.t !== 'workload') return { problem: 'the workload did not finish' };
    return 'error' in w.ok.result ? { problem: w.ok.result.error } : w.ok.result;
  } finally {
    await child.quit();
  }
}

export async function runCheck(opts: CheckOptions): Promise<CheckReport | { problem: string }> {
  const unavailable = checkUnavailable(opts.argv);
  if (unavailable) return { problem: unavailable };
  const child = await KernelChild.spawn<ToCheckChild, FromCheckChild>(startDeadlineFromEnv(), CHECK_MAIN);
  if (typeof child === 'string') return { problem: `cannot start the namespace child: ${child}` };
  try {
    const s = await child.request({ t: 'setup', argv: opts.argv, fdNumber: SESSION_FD, inject: opts.inject, profile: opts.profile, sourceFiles: { ...SOURCE_FILES }, initTimeoutMs: opts.timeoutMs }, opts.timeoutMs + 5000);
    if (!('ok' in s) || s.ok.t !== 'setup') return { problem: `the namespace child failed while starting the daemon (${'crash' in s ? s.crash : 'deadline'})` };
    const setup = s.ok;
    if (setup.problem) return { problem: `${setup.problem}${setup.log ? ` (daemon output: ${setup.log.split('\n').slice(-3).join(' | ')})` : ''}` };
    const runs: ScenarioRun[] = [];
    let hung: string | null = null;
    for (const scenario of SCENARIOS.filter((x) => opts.scenarios === null || opts.scenarios.includes(x.id))) {
      const r = await child.request({ t: 'scenario', scenario }, opts.timeoutMs);
      if ('ok' in r && r.ok.t === 'scenario') runs.push(r.ok.run);
      else {
        hung = scenario.id;
        break;
      }
    }
    let teardown: TeardownResult | null = null;
    if (hung === null) {
      const t = await child.request({ t: 'teardown', timeoutMs: opts.timeoutMs }, opts.timeoutMs * 2 + 5000);
      if ('ok' in t && t.ok.t === 'teardown') teardown = t.ok;
    }
    const findings = analyze({ setup, scenarios: runs, hung, teardown });
    const count = (level: Finding['level']) => findings.filter((f) => f.level === level).length;
    return {
      tool: 'fusepass check',
      target: 'kernel',
      kernelRelease: os.release(),
      command: setup.argv,
      inject: opts.inject,
      profile: opts.profile === null ? null : { name: opts.profile, emulated: emulationNote(opts.profile, os.release()) },
      setup,
      scenarios: runs,
      hung,
      teardown,
      findings,
      summary: { errors: count('error'), warnings: count('warn'), infos: count('info') },
    };
  } finally {
    await child.quit();
  }
}
