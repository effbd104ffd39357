// The runner's side of a namespace child: spawn it in a private mount namespace, send requests
// with a deadline, and on timeout abort its FUSE connections (through fusectl in the child's own
// namespace, reached via /proc/<pid>/root) and kill it. Children die with the runner
// (PR_SET_PDEATHSIG in the child, SIGKILL on exit here), so nothing outlives a run.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeArgs, ownModule } from './runtime.ts';
import type { FromChild, ToChild } from '../child/protocol.ts';

const CHILD_MAIN = fileURLToPath(ownModule('../child/main', import.meta.url));

const live = new Set<{ killNow(): void }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.killNow();
  });
}

/**
 * The start deadline of a namespace child: FUSEPASS_START_DEADLINE_MS when it is a positive
 * whole number (a kernel under emulation took 9-29 s), else 20 s.
 */
export function startDeadlineFromEnv(fallback = 20_000): number {
  const v = Number(process.env.FUSEPASS_START_DEADLINE_MS);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

export type Outcome<T> = { ok: T } | { timeout: true } | { crash: string };

/**
 * A namespace child speaking `To`/`From` messages (the kernel target's by default; `fusepass
 * check` starts its own main module with its own protocol). Its first message has `t: 'ready'`.
 */
export class KernelChild<To extends { t: string } = ToChild, From extends { t: string } = FromChild> {
  private pending: ((m: From | { crash: string }) => void) | null = null;
  private exited = false;
  /** Connections aborted by the last timeout. */
  lastAborted: number[] = [];
  private readonly exitPromise: Promise<void>;

  private constructor(private readonly proc: ChildProcess) {
    this.exitPromise = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exited = true;
        live.delete(this);
        this.pending?.({ crash: `child exited (${signal ?? code})` });
        this.pending = null;
        resolve();
      });
    });
    proc.on('message', (m: From) => {
      const p = this.pending;
      this.pending = null;
      p?.(m);
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get alive(): boolean {
    return !this.exited;
  }

  static async spawn<T extends { t: string } = ToChild, F extends { t: string } = FromChild>(startTimeoutMs = startDeadlineFromEnv(), main: string = CHILD_MAIN): Promise<KernelChild<T, F> | string> {
    installExitHook();
    const proc = spawn('unshare', ['--mount', '--propagation', 'private', process.execPath, ...nodeArgs(), main], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, FUSEPASS_PARENT_PID: String(process.pid) },
    });
    const child = new KernelChild<T, F>(proc);
    live.add(child);
    const first = await child.wait(startTimeoutMs);
    if ('ok' in first && first.ok.t === 'ready') return child;
    await child.kill();
    return 'timeout' in first
      ? `the namespace child did not start within ${startTimeoutMs} ms (a slow machine: raise FUSEPASS_START_DEADLINE_MS)`
      : 'crash' in first
        ? first.crash
        : 'unexpected first message';
  }

  private wait(timeoutMs: number): Promise<Outcome<From>> {
    if (this.exited) return Promise.resolve({ crash: 'child is gone' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = null;
        resolve({ timeout: true });
      }, Math.max(1, timeoutMs));
      this.pending = (m) => {
        clearTimeout(timer);
        resolve('crash' in m ? { crash: m.crash } : { ok: m });
      };
    });
  }

  /** Send a request and wait for its reply; on timeout abort the child's connections and kill it. */
  async request(m: To, timeoutMs: number): Promise<Outcome<From>> {
    if (this.exited) return { crash: 'child is gone' };
    const reply = this.wait(timeoutMs);
    this.proc.send(m);
    const r = await reply;
    if ('timeout' in r) {
      this.lastAborted = this.abortConnections();
      await this.kill();
    }
    return r;
  }

  /** FUSE connection numbers of every FUSE mount in the child's (case) namespace. */
  connections(): number[] {
    try {
      return fs
        .readFileSync(`/proc/${this.pid}/mountinfo`, 'utf8')
        .split('\n')
        .filter((l) => / - fuse(\.\S+)? /.test(l))
        .map((l) => Number(l.split(' ')[2]!.split(':')[1]));
    } catch {
      return [];
    }
  }

  /** Write to /sys/fs/fuse/connections/N/abort as the child's namespace shows it. */
  abortConnections(): number[] {
    const done: number[] = [];
    for (const n of this.connections()) {
      try {
        fs.writeFileSync(`/proc/${this.pid}/root/sys/fs/fuse/connections/${n}/abort`, '1');
        done.push(n);
      } catch {
        /* already gone */
      }
    }
    return done;
  }

  /**
   * Abort the child's connections, then SIGKILL it: killed with a FUSE file open, its exit would
   * otherwise wait forever for a FLUSH answer from its own (dead) daemon thread.
   */
  killNow(): void {
    if (this.exited) return;
    this.abortConnections();
    this.proc.kill('SIGKILL');
  }

  async kill(): Promise<void> {
    this.killNow();
    await this.exitPromise;
  }

  async quit(): Promise<void> {
    if (this.exited) return;
    this.proc.send({ t: 'quit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await this.exitPromise;
    clearTimeout(t);
  }
}
