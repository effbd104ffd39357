// SIGINT and SIGTERM for the long-running commands (run, fuzz): the first asks the work to stop
// at the next safe point so the command can write what it has (a partial report, the fuzz
// statistics) and exit 130 or 143, as a shell expects of a process the signal ended; a second
// one ends the process at once.
export interface Interrupt {
  /** The signal received, or null. */
  readonly signal: NodeJS.Signals | null;
  /** 130 after SIGINT, 143 after SIGTERM. */
  exitCode(): number;
  dispose(): void;
}

export function onInterrupt(note: (line: string) => void): Interrupt {
  let signal: NodeJS.Signals | null = null;
  const handler = (sig: NodeJS.Signals) => {
    if (signal !== null) process.exit(sig === 'SIGINT' ? 130 : 143);
    signal = sig;
    note(`${sig}: stopping at the next safe point to write what there is (${sig} again ends at once)`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get signal() {
      return signal;
    },
    exitCode: () => (signal === 'SIGINT' ? 130 : 143),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
