// Where the CLI writes: stdout for results (summary table, report path), stderr for progress
// and notes. Injected so tests can capture both.
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

// `fusepass run | head` closes stdout early: stop writing quietly instead of dying with a trace.
let stdoutClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') stdoutClosed = true;
  else throw e;
});

export const processIo: CliIo = {
  out: (line) => {
    if (!stdoutClosed) process.stdout.write(`${line}\n`);
  },
  err: (line) => void process.stderr.write(`${line}\n`),
};
