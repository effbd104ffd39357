// `npm run bench -- versus [<git rev>]`: the model and sim-only fuzz rates of this tree against
// an older commit's, measured alternately in one run on this machine so that load affects both
// alike, and printed as ratios. The default is BASELINE, the commit at which issue 13 asked for
// >= 1M model ops/s and >= 10k fuzz cases/s "against the current numbers".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The last commit before issue 13 (2026-11-24): ~140-330k model ops/s, 3-5k fuzz cases/s then. */
export const BASELINE = 'f2e470f';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Rates {
  modelOps: number;
  fuzzCases: number;
  fuzzSteps: number;
}

/** The numbers the sim and fuzz benches print (their line format is the same at BASELINE). */
export function parseRates(out: string): Rates | null {
  const num = (s: string | undefined) => (s === undefined ? NaN : Number(s.replaceAll(',', '')));
  const ops = /^sim: .* = ([\d,]+) ops\/s/m.exec(out)?.[1];
  const fuzz = /^fuzz: sim-only .* = ([\d,]+) cases\/s, ([\d,]+) steps\/s/m.exec(out);
  const r = { modelOps: num(ops), fuzzCases: num(fuzz?.[1]), fuzzSteps: num(fuzz?.[2]) };
  return Object.values(r).every(Number.isFinite) ? r : null;
}

function runBench(dir: string): Rates {
  // FUSEPASS_BENCH_SIM_ONLY: this tree's fuzz bench skips its kernel part; an older one may not.
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/index.ts', 'sim', 'fuzz'], { cwd: dir, encoding: 'utf8', env: { ...process.env, FUSEPASS_BENCH_SIM_ONLY: '1' }, timeout: 600_000 });
  const rates = parseRates(r.stdout ?? '');
  if (rates === null) throw new Error(`bench in ${dir} printed no rates (exit ${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  return rates;
}

function git(args: string[], cwd = ROOT): { ok: boolean; out: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/**
 * The old commit's tree with its own packages (it may need ones this tree dropped, memfs at
 * BASELINE): git archive plus npm install (its lock file may not satisfy today's npm ci), cached under $FUSEPASS_CACHE/bench-versus/<commit>.
 */
function oldTree(rev: string, log: (line: string) => void): string {
  const sha = git(['rev-parse', `${rev}^{commit}`]);
  if (!sha.ok) throw new Error(`bench versus: ${rev} is not a commit of this repository (expected a git clone with its history)`);
  const dir = join(process.env['FUSEPASS_CACHE'] ?? '/var/tmp/fusepass-cache', 'bench-versus', sha.out);
  if (existsSync(join(dir, '.ready'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`versus: unpacking ${rev} and installing its packages into ${dir} (once)`);
  const unpack = spawnSync('sh', ['-c', `git archive ${sha.out} | tar -x -C "$1"`, 'sh', dir], { cwd: ROOT, encoding: 'utf8' });
  if (unpack.status !== 0) throw new Error(`bench versus: git archive ${rev}: ${unpack.stderr.trim()}`);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  if (npm.status !== 0) throw new Error(`bench versus: npm install in ${dir}: ${(npm.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  writeFileSync(join(dir, '.ready'), '');
  return dir;
}

export async function benchVersus(rev = BASELINE, rounds = 3, log: (line: string) => void = console.log): Promise<void> {
  const old = oldTree(rev, log);
  const now: Rates[] = [];
  const then: Rates[] = [];
  for (let i = 0; i < rounds; i++) {
    then.push(runBench(old));
    now.push(runBench(ROOT));
  }
  const best = (rs: Rates[], k: keyof Rates) => Math.max(...rs.map((r) => r[k]));
  const median = (rs: Rates[], k: keyof Rates) => rs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const row = (what: string, k: keyof Rates, unit: string, target?: number) => {
    const n = best(now, k);
    const o = best(then, k);
    const met = target === undefined ? '' : ` (target >= ${fmt(target)}: ${n >= target ? 'met' : 'not met'})`;
    log(`${what.padEnd(20)} ${fmt(n).padStart(10)} ${unit} now, ${fmt(o).padStart(9)} at ${rev}: ${ratio(n, o)} best, ${ratio(median(now, k), median(then, k))} median${met}`);
  };
  log(`versus ${rev}: ${rounds} alternating runs each of npm run bench sim fuzz (the model's part)`);
  row('model (bench sim)', 'modelOps', 'ops/s', 1_000_000);
  row('fuzz sim-only cases', 'fuzzCases', 'cases/s', 10_000);
  row('fuzz sim-only steps', 'fuzzSteps', 'steps/s');
}
