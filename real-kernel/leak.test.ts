// Safety, tested: no mount, process, FUSE connection or temp directory outlives a run, whether
// the runner finishes, gets SIGINT or gets SIGKILL in the middle of a case; and a case whose
// daemon never answers ends as a timeout fault, its connection aborted, and the next case runs.
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Case } from '../spec/case.ts';
import { kernelGate, play } from './test-support.ts';

// Generous: CI runs test files in parallel on 2 cores, and only the hanging step may time out.
const gate = await kernelGate({ deadlineMs: 4000 });
const RUNNER = fileURLToPath(new URL('./test-fixtures/leak-runner.ts', import.meta.url));

if (gate.reason && gate.required) {
  describe('kernel safety', () => {
    it('runs on this machine (FUSEPASS_REQUIRE_KERNEL=1)', () => {
      expect.fail(`kernel target unavailable: ${gate.reason}`);
    });
  });
}

/** FUSE and overlay lines of the host's mount table. */
function hostMounts(): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => / (fuse|fuse\.\S+|overlay|fusectl) /.test(l));
}

interface Conn {
  n: number;
  ino: number;
}

/**
 * Every FUSE connection of the machine with its fusectl inode, listed from a throwaway private
 * namespace. A number alone may meanwhile name another run's connection; the inode may not.
 */
function connections(): Conn[] {
  const out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t fusectl none /sys/fs/fuse/connections && ls -i /sys/fs/fuse/connections'], {
    encoding: 'utf8',
  });
  const words = out.split(/\s+/).filter(Boolean).map(Number);
  return words.flatMap((w, i) => (i % 2 === 0 ? [{ ino: w, n: words[i + 1]! }] : []));
}

function processesMentioning(s: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
    .filter((n) => {
      try {
        return fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(s) || fs.readFileSync(`/proc/${n}/environ`, 'utf8').includes(s);
      } catch {
        return false;
      }
    })
    .map(Number);
}

interface Mid {
  child: number;
  conns: Conn[];
}

async function runRunner(mode: 'finish' | 'hang', signal?: NodeJS.Signals): Promise<{ mid: Mid; runnerPid: number }> {
  const p = spawn(process.execPath, ['--import', 'tsx', RUNNER, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const mid = await new Promise<Mid>((resolve, reject) => {
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as Mid);
    });
    p.once('exit', () => reject(new Error(`runner exited before the middle of the case: ${buf}`)));
  });
  if (signal) p.kill(signal);
  await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)));
  return { mid, runnerPid: p.pid ?? -1 };
}

/** Poll until `ok` holds (teardown after a kill is asynchronous), at most `ms`. */
async function eventually(ok: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return ok();
}

describe.skipIf(gate.reason !== null)(gate.reason ? `kernel safety (skipped: ${gate.reason})` : 'kernel safety', () => {
  afterAll(async () => {
    await gate.target.dispose?.();
  });

  for (const [mode, signal] of [
    ['finish', undefined],
    ['hang', 'SIGINT'],
    ['hang', 'SIGKILL'],
  ] as const) {
    it(`nothing outlives a run whose runner ${signal ? `gets ${signal} mid-case` : 'finishes'}: mounts, connections, processes, temp dirs`, async () => {
      const mountsBefore = hostMounts();
      const { mid, runnerPid } = await runRunner(mode, signal);
      expect(mid.child).toBeGreaterThan(0);
      // The case had its FUSE mount under test and an inner FUSE mount: two connections.
      expect(mid.conns.length).toBe(2);
      const diskDir = `/var/tmp/fusepass-${mid.child}`;
      const clean = (): boolean =>
        !fs.existsSync(`/proc/${mid.child}`) &&
        processesMentioning(`FUSEPASS_PARENT_PID=${runnerPid}`).length === 0 &&
        processesMentioning(diskDir).length === 0 &&
        !fs.existsSync(diskDir) &&
        !connections().some((c) => mid.conns.some((m) => m.n === c.n && m.ino === c.ino));
      expect(await eventually(clean)).toBe(true);
      expect(hostMounts()).toEqual(mountsBefore);
    });
  }

  it('a daemon that never answers: timeout fault, connection aborted, child killed, next case runs', async () => {
    const hang: Case = {
      id: 'never-answers',
      title: 'INIT is never answered, so the open waits forever',
      checks: ['DEV-6'],
      world: { nodes: { f1: {} } },
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev', deferInit: true },
        { op: 'open', node: 'f1', as: 'f' },
        { op: 'close', fd: 'f' },
      ],
    };
    const played = await play(gate.target, hang);
    expect(played.steps[1]!.fault).toBeUndefined();
    expect(played.steps[2]!.fault?.kind).toBe('timeout');
    expect(played.steps[2]!.fault?.message).toMatch(/aborted connection \d+/);
    expect(played.steps[3]!.fault).toBeDefined();
    const next: Case = {
      id: 'after-timeout',
      title: 'the run goes on',
      checks: ['INIT-1'],
      world: {},
      steps: [
        { op: 'devOpen', as: 'dev' },
        { op: 'mount', dev: 'dev' },
      ],
    };
    const again = await play(gate.target, next);
    expect(again.steps[1]!.fault).toBeUndefined();
    expect(again.steps[1]!.value).toBe('7.45 offers:INIT_EXT,PASSTHROUGH');
  });
});
