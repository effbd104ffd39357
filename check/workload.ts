// The benchmark workload of `npm run bench check`, run on a mount's client side with the same
// syscalls whether the daemon is relayed by fusepass check or mounted directly: metadata
// round trips (stat of a file whose attributes the daemon does not let the kernel cache, so
// each is a GETATTR to the daemon) and sequential passthrough reads of a large file.
import * as fs from 'node:fs';
import { sys } from '../real-kernel/ffi/libc.ts';
import { AT_FDCWD, O, STATX_BASIC_STATS } from '../real-kernel/ffi/consts.ts';

export interface WorkloadOptions {
  /** stat(2) calls to time. */
  stats: number;
  /** Size of the file read, MiB, and how many times it is read whole. */
  readMiB: number;
  readPasses: number;
}

export interface WorkloadResult {
  statUsMedian: number;
  readMiBps: number;
}

export const BENCH_FILE = 'bench-data';

/** Create the file the workload reads (in the daemon's source directory), once. */
export function ensureBenchFile(src: string, mib: number): void {
  const p = `${src}/${BENCH_FILE}`;
  if (fs.existsSync(p) && fs.statSync(p).size === mib << 20) return;
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  const fd = fs.openSync(p, 'w');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk);
  // Written back now: the flusher must not compete with the timed reads for the CPU.
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

export function runWorkload(mnt: string, opts: WorkloadOptions): WorkloadResult {
  const path = `${mnt}/${BENCH_FILE}`;
  const statBuf = new Uint8Array(256);
  const times: number[] = [];
  for (let i = 0; i < opts.stats; i++) {
    const t0 = process.hrtime.bigint();
    const r = sys.statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, statBuf);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (r < 0) throw new Error(`stat ${path}: errno ${-r}`);
  }
  times.sort((a, b) => a - b);
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  if (fd < 0) throw new Error(`open ${path}: errno ${-fd}`);
  const buf = new Uint8Array(1 << 20);
  const size = opts.readMiB << 20;
  // One untimed pass: both modes then read from a warm page cache.
  for (let off = 0; off < size; off += buf.length) sys.pread(fd, buf, buf.length, off);
  const t0 = process.hrtime.bigint();
  for (let pass = 0; pass < opts.readPasses; pass++) {
    for (let off = 0; off < size; off += buf.length) {
      const n = sys.pread(fd, buf, buf.length, off);
      if (n <= 0) throw new Error(`read ${path} at ${off}: ${n}`);
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  sys.close(fd);
  return { statUsMedian: times[Math.floor(times.length / 2)]!, readMiBps: (opts.readMiB * opts.readPasses) / secs };
}
