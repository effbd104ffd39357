// `fusepass <command> ...`: dispatches to a command module (run.ts, fuzz.ts, explain.ts,
// doctor.ts beside this file). A new command gets an entry in COMMANDS and a module of its own.
import { readFileSync } from 'node:fs';
import { processIo, type CliIo } from './io.ts';
import { runCommand, RUN_USAGE, type RunDeps } from './run.ts';
import { explainCommand, EXPLAIN_USAGE } from './explain.ts';
import { doctorCommand, DOCTOR_USAGE, type DoctorDeps } from './doctor.ts';
import { fuzzCommand, FUZZ_USAGE, type FuzzDeps } from './fuzz.ts';
import { checkCommand, CHECK_USAGE, type CheckDeps } from './check.ts';

interface Command {
  summary: string;
  usage: string;
  run(argv: string[], io: CliIo, deps: CliDeps): Promise<number>;
}

export interface CliDeps {
  run?: RunDeps;
  fuzz?: FuzzDeps;
  doctor?: DoctorDeps;
  check?: CheckDeps;
}

const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'play the case library on the sim and the kernel and compare them step by step',
    usage: RUN_USAGE,
    run: (argv, io, deps) => runCommand(argv, io, deps.run),
  },
  fuzz: {
    summary: 'generate cases with fast-check, check the sim (and the kernel), shrink failures to case files',
    usage: FUZZ_USAGE,
    run: (argv, io, deps) => fuzzCommand(argv, io, deps.fuzz),
  },
  check: {
    summary: "run your own FUSE daemon under a relay and tell, in check ids, what it does wrong with passthrough",
    usage: CHECK_USAGE,
    run: (argv, io, deps) => checkCommand(argv, io, deps.check),
  },
  explain: {
    summary: 'why the kernel answers what it answers: check ids, hidden cause, kernel functions, what to change (from the sim)',
    usage: EXPLAIN_USAGE,
    run: (argv, io) => explainCommand(argv, io),
  },
  doctor: {
    summary: 'will passthrough work on this machine (and for backing files under DIR)? a verdict with check ids',
    usage: DOCTOR_USAGE,
    run: (argv, io, deps) => doctorCommand(argv, io, deps.doctor),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: fusepass <command> [options]     (fusepass --version: the version)',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    RUN_USAGE,
  ].join('\n');
}

/** The version in the package.json that ships with this module (sources or dist/). */
export function version(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'fusepass') return pkg.version ?? 'unknown';
    } catch {
      /* not here: look one folder up */
    }
  }
  return 'unknown';
}

export async function main(argv: string[], io: CliIo = processIo, deps: CliDeps = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.out(`fusepass ${version()}`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`fusepass: unknown command "${name}"; expected one of: ${Object.keys(COMMANDS).join(', ')}. See fusepass --help.`);
    return 2;
  }
  try {
    return await command.run(rest, io, deps);
  } catch (e) {
    // A bug of ours, not bad input: still one line, with a hint where to look.
    io.err(`fusepass ${name}: internal error: ${e instanceof Error ? e.message : String(e)} (set FUSEPASS_DEBUG=1 for the stack)`);
    if (process.env['FUSEPASS_DEBUG'] && e instanceof Error && e.stack) io.err(e.stack);
    return 1;
  }
}
