// `npm run bench check`: what the relay of `fusepass check` costs. libfuse's passthrough_hp
// (built from ../shared/third-party, --nocache so every stat is a GETATTR to the daemon) runs
// the same workload twice in one run: mounted directly on /dev/fuse, and relayed by fusepass
// check. Prints the added latency per metadata request and the ratio of passthrough read
// throughput (target: within a few percent: passthrough reads never cross the relay).
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeArgs } from '../real-kernel/host/runtime.ts';
import { runRelayedWorkload } from '../check/run.ts';
import { staticUnavailableReason } from '../real-kernel/host/availability.ts';
import type { WorkloadOptions, WorkloadResult } from '../check/workload.ts';

const BUILD = fileURLToPath(new URL('../scripts/build-passthrough-hp.sh', import.meta.url));
const DIRECT = fileURLToPath(new URL('./check-direct-child.ts', import.meta.url));

export interface CheckBenchResult {
  direct: WorkloadResult;
  relayed: WorkloadResult;
  addedStatUs: number;
  readRatio: number;
}

/** Best of each measure over the rounds: the machine's noise only ever slows a round down. */
function best(rs: WorkloadResult[]): WorkloadResult {
  return { statUsMedian: Math.min(...rs.map((r) => r.statUsMedian)), readMiBps: Math.max(...rs.map((r) => r.readMiBps)) };
}

export async function benchCheck(opts: WorkloadOptions = { stats: 2000, readMiB: 256, readPasses: 4 }, rounds = 3): Promise<CheckBenchResult | { skipped: string }> {
  const why = staticUnavailableReason();
  if (why) {
    console.log(`bench check: skipped (${why})`);
    return { skipped: why };
  }
  const hp = execFileSync('sh', [BUILD], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const directs: WorkloadResult[] = [];
  const relayeds: WorkloadResult[] = [];
  // Alternate the two so that warm-up and background load fall on both alike.
  for (let i = 0; i < rounds; i++) {
    const d = spawnSync('unshare', ['--mount', '--propagation', 'private', process.execPath, ...nodeArgs(), DIRECT, hp, JSON.stringify(opts)], { encoding: 'utf8', timeout: 600_000 });
    const direct = JSON.parse(d.stdout.trim().split('\n').pop() ?? '{}') as WorkloadResult | { problem: string };
    const relayed = await runRelayedWorkload([hp, '--foreground', '--nocache', '{src}', '{fd}'], opts, 10_000);
    if ('problem' in direct || 'problem' in relayed) {
      const p = 'problem' in direct ? `direct: ${direct.problem}` : `relayed: ${(relayed as { problem: string }).problem}`;
      console.log(`bench check: failed (${p})`);
      return { skipped: p };
    }
    directs.push(direct);
    relayeds.push(relayed);
  }
  const direct = best(directs);
  const relayed = best(relayeds);
  const r: CheckBenchResult = { direct, relayed, addedStatUs: relayed.statUsMedian - direct.statUsMedian, readRatio: relayed.readMiBps / direct.readMiBps };
  console.log(`bench check: passthrough_hp --nocache, ${opts.stats} stats, ${opts.readMiB} MiB read ${opts.readPasses} times, direct and relayed alternately, best of ${rounds} rounds each`);
  console.log(`  stat (GETATTR to the daemon), median  direct ${direct.statUsMedian.toFixed(1)} µs   relayed ${relayed.statUsMedian.toFixed(1)} µs   added by the relay ${r.addedStatUs.toFixed(1)} µs per request`);
  console.log(`  passthrough read throughput           direct ${direct.readMiBps.toFixed(0)} MiB/s   relayed ${relayed.readMiBps.toFixed(0)} MiB/s   ratio ${r.readRatio.toFixed(3)}`);
  return r;
}
