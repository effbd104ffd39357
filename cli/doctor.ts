// `fusepass doctor [DIR]`: will FUSE passthrough work on this machine, for backing files under
// DIR, and why not. Facts come from /proc and /dev; the kernel's own answers from a probe in a
// private mount namespace (real-kernel/doctor/): the INIT offer, BACKING_OPEN of a file from DIR
// with max_stack_depth 1 and 2, overlayfs over the FUSE mount. Exit 0 when it will work.
import { parseArgs } from 'node:util';
import { dirFacts, machineFacts, type DirFacts, type MachineFacts } from '../real-kernel/doctor/machine.ts';
import type { ProbeRequest, ProbeResult } from '../real-kernel/doctor/types.ts';
import { diagnose, formatDiagnosis } from './doctor-verdict.ts';
import { argsErrorText } from './args.ts';
import type { CliIo } from './io.ts';

export const DOCTOR_USAGE = `usage: fusepass doctor [DIR] [--json]

  Checks this machine for FUSE passthrough: kernel release, /dev/fuse, CAP_SYS_ADMIN in the initial
  user namespace, containers, and whether the kernel offers FUSE_PASSTHROUGH in INIT (asked with a
  throwaway FUSE mount in a private mount namespace; nothing is left mounted). With DIR: registers
  one of its files with BACKING_OPEN under max_stack_depth 1 and 2 to learn its filesystem's stack
  depth, the max_stack_depth a daemon must negotiate, and whether overlayfs can then be mounted
  over the FUSE mount. A verdict in plain words with the spec's check ids.
  --json   print the diagnosis as JSON
  Exit status: 0 passthrough will work; 1 it will not (or could not be checked); 2 bad usage.`;

export interface DoctorDeps {
  machine?: () => MachineFacts;
  dir?: (path: string) => DirFacts;
  probe?: (req: ProbeRequest) => Promise<ProbeResult>;
}

export async function doctorCommand(argv: string[], io: CliIo, deps: DoctorDeps = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    io.err(`fusepass doctor: ${argsErrorText(e)}. See fusepass doctor --help.`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(DOCTOR_USAGE);
    return 0;
  }
  if (parsed.positionals.length > 1) {
    io.err(`fusepass doctor: one directory at a time (got ${parsed.positionals.join(', ')}). See fusepass doctor --help.`);
    return 2;
  }
  const dirArg = parsed.positionals[0];
  const m = (deps.machine ?? machineFacts)();
  const dir = dirArg === undefined ? undefined : (deps.dir ?? dirFacts)(dirArg);
  // Probe only where mounting can work at all; otherwise the verdict says why not.
  let probe: ProbeResult | undefined;
  if (m.devFuse.usable && m.uid === 0 && m.capSysAdmin === true && m.initialUserns !== false) {
    const run = deps.probe ?? (await import('../real-kernel/doctor/probe.ts')).runProbe;
    probe = await run(dir?.exists ? { dir: dir.path } : {});
  }
  const d = diagnose(m, probe, dir);
  if (parsed.values.json) io.out(JSON.stringify({ ...d, dir: dir ? { facts: dir, findings: d.dir } : undefined, probe }, null, 2));
  else for (const l of formatDiagnosis(d, dir?.path)) io.out(l);
  return d.works ? 0 : 1;
}
