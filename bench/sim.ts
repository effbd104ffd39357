// Model throughput: operations per second for a typical daemon/client mix (register, open,
// read, write, close, unregister) on one core. Target: >= 1,000,000 ops/s (issue 13; 200,000 in
// issue 2).
import { createKernel } from '../sim/index.ts';

export interface SimBenchResult {
  ops: number;
  seconds: number;
  opsPerSecond: number;
}

/** One round = 6 model operations: BACKING_OPEN, open, read, write, close, BACKING_CLOSE. */
export function benchSim(opts: { rounds?: number; print?: boolean } = {}): SimBenchResult {
  const rounds = opts.rounds ?? 50_000;
  const k = createKernel({ world: { files: { b: { on: 'disk' } }, nodes: { n: {} } } });
  k.state.vfs.trackFiles = false; // keep memory flat: the teardown property is tested elsewhere
  k.daemon.devOpen('dev');
  k.daemon.mount('dev');
  k.daemon.open('b', 'rdwr', 'bf');
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const id = k.daemon.backingOpen({ dev: 'dev', fd: 'bf' }).value as number;
      k.daemon.setOpenReply('n', { flags: ['PASSTHROUGH'], backing: id });
      k.client.open('n', ['O_RDWR'], 'f');
      k.client.read('f', 4096, 0);
      k.client.write('f', 'hello', 0);
      k.client.close('f');
      k.daemon.backingClose({ dev: 'dev', id });
    }
  };
  run(Math.min(2000, rounds)); // warm up the JIT
  const t0 = process.hrtime.bigint();
  run(rounds);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const ops = rounds * 6;
  const r = { ops, seconds, opsPerSecond: Math.round(ops / seconds) };
  if (opts.print !== false) {
    console.log(`sim: ${r.ops} model operations in ${r.seconds.toFixed(2)} s = ${r.opsPerSecond.toLocaleString('en-US')} ops/s (target >= 1,000,000, issue 13; npm run bench -- versus compares with before it)`);
  }
  return r;
}
