// Where the CLI writes: stdout for results (summary table, report path), stderr for progress
// and notes. Injected so tests can capture both.
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: CliIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};
