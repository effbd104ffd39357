// The case thread's handle on one daemon worker: start it once, point it at a /dev/fuse fd per
// connection, send configuration (rung in through an eventfd so a worker blocked in poll wakes),
// and read its request log from shared memory.
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { sys } from '../ffi/libc.ts';
import { EFD_CLOEXEC } from '../ffi/consts.ts';
import { FUSE_OPCODES, type FuseOpcodeName, type ObservedOpcode } from '../../spec/uapi.ts';
import { INTERRUPT_SIGNAL, LOG_BASE, LOG_CAP, SAB_WORDS, SLOT, type ToWorker } from './shared.ts';

const OPNAME = new Map<number, FuseOpcodeName>(Object.entries(FUSE_OPCODES).map(([k, v]) => [v, k as FuseOpcodeName]));

export function opcodeName(n: number): FuseOpcodeName | null {
  return OPNAME.get(n) ?? null;
}

export class DaemonHandle {
  readonly words: Int32Array;
  private readonly port: MessagePort;
  private readonly wakeFd: number;
  private readonly one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private logSeen = 0;
  devFd = -1;

  private constructor(
    readonly worker: Worker,
    sab: SharedArrayBuffer,
    port: MessagePort,
    wakeFd: number,
  ) {
    this.words = new Int32Array(sab);
    this.port = port;
    this.wakeFd = wakeFd;
  }

  static async start(): Promise<DaemonHandle> {
    const sab = new SharedArrayBuffer(SAB_WORDS * 4);
    const wakeFd = sys.eventfd(EFD_CLOEXEC);
    if (wakeFd < 0) throw new Error(`eventfd failed: errno ${-wakeFd}`);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: { sab, wakeFd, port: port2 },
      transferList: [port2],
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    worker.unref();
    return new DaemonHandle(worker, sab, port1, wakeFd);
  }

  /** Post a message and ring the doorbell; with `wait`, block until the worker applied it. */
  send(m: ToWorker, wait = false): void {
    const before = Atomics.load(this.words, SLOT.ack);
    this.port.postMessage(m);
    sys.write(this.wakeFd, this.one);
    if (wait) {
      const deadline = Date.now() + 2000;
      while (Atomics.load(this.words, SLOT.ack) === before && Date.now() < deadline) Atomics.wait(this.words, SLOT.ack, before, 50);
    }
  }

  serve(m: Extract<ToWorker, { t: 'serve' }>): void {
    this.devFd = m.devFd;
    this.logSeen = 0;
    this.send(m, true);
  }

  /** Stop serving (before the fd is closed, so the worker holds no reference to it). */
  stop(): void {
    this.devFd = -1;
    this.send({ t: 'stop' }, true);
  }

  /** Wait until the INIT reply was written (initState 2) or held (1); false on timeout. */
  waitInit(want: 1 | 2, timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = Atomics.load(this.words, SLOT.initState);
      if (s >= want) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.words, SLOT.initState, s, Math.min(left, 20));
    }
  }

  initRequest(): { major: number; minor: number; flags: number; flags2: number } {
    const w = this.words;
    return { major: w[SLOT.initMajor]!, minor: w[SLOT.initMinor]!, flags: w[SLOT.initFlags]! >>> 0, flags2: w[SLOT.initFlags2]! >>> 0 };
  }

  get logCount(): number {
    return Atomics.load(this.words, SLOT.logCount);
  }

  get busy(): boolean {
    return Atomics.load(this.words, SLOT.busy) === 1;
  }

  /** The INIT is held for a replyInit step (deferInit). */
  get initHeld(): boolean {
    return Atomics.load(this.words, SLOT.initState) === 1;
  }

  get gone(): boolean {
    return Atomics.load(this.words, SLOT.gone) === 1;
  }

  /** Have this worker interrupt the calling thread's next sleeping syscall after `ms`. */
  armAlarm(ms: number): void {
    sys.installInterruptHandler(INTERRUPT_SIGNAL);
    Atomics.store(this.words, SLOT.alarm, 1);
    this.send({ t: 'alarm', ms, pid: sys.getpid(), tid: sys.gettid() });
  }

  disarmAlarm(): void {
    Atomics.store(this.words, SLOT.alarm, 0);
    Atomics.notify(this.words, SLOT.alarm);
  }

  /** See SLOT.hold. */
  setHold(on: boolean): void {
    Atomics.store(this.words, SLOT.hold, on ? 1 : 0);
  }

  /** Opcodes logged since the last call. */
  /** Every opcode the daemon received since the last call; one without a name as `OP_<n>`. */
  /**
   * The requests logged since the last call, oldest first. The log is a ring of LOG_CAP entries:
   * `lostFromLog` says how many older ones were overwritten, so a caller never passes off a
   * truncated list as the whole.
   */
  lostFromLog = 0;

  takeLog(): ObservedOpcode[] {
    const n = this.logCount;
    this.lostFromLog = Math.max(0, n - this.logSeen - LOG_CAP);
    const out: ObservedOpcode[] = [];
    for (let i = Math.max(this.logSeen, n - LOG_CAP); i < n; i++) {
      const code = Atomics.load(this.words, LOG_BASE + (i % LOG_CAP));
      out.push(opcodeName(code) ?? `OP_${code}`);
    }
    this.logSeen = n;
    return out;
  }

  async terminate(): Promise<void> {
    this.port.close();
    await this.worker.terminate();
  }
}
