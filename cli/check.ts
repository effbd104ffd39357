// `fusepass check [options] -- <daemon> <args...>`: run the user's own, unmodified FUSE daemon on
// a mount fusepass holds, relay its session, play the battery and say in check ids what the
// daemon does wrong (check/). Exit 0 without error findings, 1 with one, 2 when the command was
// wrong or the daemon could not be checked.
import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { argsErrorText } from './args.ts';
import { parseDuration } from './fuzz.ts';
import type { CliIo } from './io.ts';
import { parseInjection, type Injection } from '../check/inject.ts';
import { SCENARIO_IDS } from '../check/battery.ts';
import { PROFILE_NAMES, type ProfileName } from '../spec/case.ts';

const isProfileName = (s: string): s is ProfileName => (PROFILE_NAMES as readonly string[]).includes(s);
import type { CheckOptions, CheckReport } from '../check/run.ts';
import { formatCheckReport } from '../reports/check-text.ts';
import { writeCheckReadable } from '../reports/check-readable.ts';

export const CHECK_USAGE = `usage: fusepass check [options] -- <daemon> <args...>

  Runs your FUSE daemon, unmodified, on a FUSE mount fusepass holds in a private mount namespace:
  its /dev/fuse session is relayed through a socket and its backing ioctls are trapped (seccomp)
  and performed on the real /dev/fuse. A battery of client scenarios runs on the mount; what the
  daemon answered is turned into findings with the spec's check ids. Needs root (the kernel judges
  CAP_SYS_ADMIN on your daemon), /dev/fuse and a passthrough kernel; with --target sim the model
  of the kernel takes its place and none of these is needed.

  In the daemon's command line:
    {src}   a directory fusepass fills with the battery's files (data, other); pass it where the
            daemon takes the directory it serves
    {fd}    where the daemon takes its mountpoint: becomes /dev/fd/4, a session already mounted
            (libfuse and go-fuse accept /dev/fd/N)
    Without {fd} the daemon mounts by itself: its mount(2) is trapped and performed by fusepass,
    in a private mount namespace (never on the host's mounts), on the path the daemon names;
    {mnt} gives it an empty directory for that.

  --target T         kernel (default): the running kernel judges the daemon, through a relay;
                     sim: the fusepass model of the kernel (--profile, default 6.18) takes the
                     kernel's place: no root, no /dev/fuse, no mount, any profile; needs {fd};
                     both: the kernel, then the model, compared step by step (exit 1 on a
                     divergence no known one explains)
  --inject RULE      answer the daemon's Nth backing ioctl with an errno instead of performing it,
                     e.g. backing-open#2=ELOOP (repeatable; without #N: every call)
  --profile P        with --target sim: the kernel the model is (${PROFILE_NAMES.join(', ')}), or all:
                     every one, a column each. With the kernel: show the daemon the kernel P where it differs in
                     what it offers and answers: the INIT offer, the backing ioctls without
                     CONFIG_FUSE_PASSTHROUGH, O_PATH on 6.9, SYNC_INIT before 6.18; the rest
                     is the running kernel's (default: the running kernel alone)
  --scenarios A,B    play only these scenarios: ${SCENARIO_IDS.join(', ')}
  --timeout D        deadline per scenario, for INIT and for the daemon's exit (default 10s)
  --json FILE        also write the report as JSON, with FILE.md, FILE.html and FILE.junit.xml
                     (- for JSON on stdout; the summary then goes to stderr)
  Exit status: 0 no error finding; 1 an error finding; 2 bad usage, or the daemon could not be checked.

  e.g. sudo npx fusepass check -- ./passthrough_hp --foreground {src} {fd}
       npx fusepass check --target sim --profile 6.9 -- ./passthrough_hp --foreground {src} {fd}
       sudo npx fusepass check -- ./passthrough_hp --foreground {src} /mnt/pt`;

export interface CheckDeps {
  run?: (opts: CheckOptions) => Promise<CheckReport | { problem: string }>;
}

type Parsed = CheckOptions & { json?: string; allProfiles?: boolean };

function parseCheckArgs(argv: string[]): Parsed | { error: string } | 'help' {
  const dashes = argv.indexOf('--');
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const daemon = dashes < 0 ? [] : argv.slice(dashes + 1);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        inject: { type: 'string', multiple: true },
        scenarios: { type: 'string' },
        timeout: { type: 'string' },
        profile: { type: 'string' },
        target: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    const text = argsErrorText(e);
    return { error: /positional/i.test(text) ? 'the daemon command goes after --' : text };
  }
  if (values.help) return 'help';
  if (daemon.length === 0) return { error: 'no daemon command: put it after --, e.g. fusepass check -- ./passthrough_hp --foreground {src} {fd}' };
  const inject: Injection[] = [];
  for (const rule of values.inject ?? []) {
    const r = parseInjection(rule);
    if (typeof r === 'string') return { error: r };
    inject.push(r);
  }
  let scenarios: string[] | null = null;
  if (values.scenarios !== undefined) {
    scenarios = values.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = scenarios.filter((s) => !SCENARIO_IDS.includes(s));
    if (unknown.length > 0 || scenarios.length === 0) return { error: `--scenarios: unknown scenario ${unknown.join(', ') || '(none given)'} (expected some of: ${SCENARIO_IDS.join(', ')})` };
  }
  const timeoutMs = values.timeout === undefined ? 10_000 : parseDuration(values.timeout);
  if (timeoutMs === null) return { error: `--timeout ${JSON.stringify(values.timeout)}: expected a duration such as 10s, 500ms or 2m` };
  const profile = values.profile ?? null;
  const all = profile === 'all';
  if (profile !== null && !all && !isProfileName(profile)) return { error: `--profile ${JSON.stringify(profile)}: expected one of ${PROFILE_NAMES.join(', ')}${values.target === 'sim' ? ', or all' : ''}` };
  const target = values.target ?? 'kernel';
  if (target !== 'kernel' && target !== 'sim' && target !== 'both') return { error: `--target ${JSON.stringify(target)}: expected kernel, sim or both` };
  if (target !== 'kernel' && !daemon.some((a) => a.includes('{fd}'))) return { error: `--target ${target} needs {fd} in the daemon command line: the model hands the daemon its session there (fusepass does not mount)` };
  if (all && target !== 'sim') return { error: '--profile all goes with --target sim (the model of every profile)' };
  return { argv: daemon, inject, profile: all ? null : (profile as ProfileName | null), scenarios, timeoutMs, target, ...(all ? { allProfiles: true } : {}), ...(values.json !== undefined ? { json: values.json } : {}) };
}

export async function checkCommand(argv: string[], io: CliIo, deps: CheckDeps = {}): Promise<number> {
  const args = parseCheckArgs(argv);
  if (args === 'help') {
    io.out(CHECK_USAGE);
    return 0;
  }
  if ('error' in args) {
    io.err(`fusepass check: ${args.error}. See fusepass check --help.`);
    return 2;
  }
  // An unwritable --json is found now, not after the daemon has been checked.
  if (args.json !== undefined && args.json !== '-') {
    try {
      writeFileSync(args.json, '');
    } catch (e) {
      io.err(`fusepass check: cannot write the report ${args.json}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (expected a writable file path for --json)`);
      return 2;
    }
  }
  const simRun = args.allProfiles ? 'runSimCheckAll' : 'runSimCheck';
  const run = deps.run ?? (args.target === 'sim' ? (await import('../check/sim-run.ts'))[simRun] : args.target === 'both' ? (await import('../check/both.ts')).runBoth : (await import('../check/run.ts')).runCheck);
  const report = await run(args);
  if ('problem' in report) {
    if (args.json !== undefined && args.json !== '-') rmSync(args.json, { force: true });
    io.err(`fusepass check: the daemon could not be checked: ${report.problem}`);
    return 2;
  }
  const text = formatCheckReport(report);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (args.json === '-') {
    io.out(json.trimEnd());
    for (const l of text) io.err(l);
  } else {
    for (const l of text) io.out(l);
    if (args.json !== undefined) {
      try {
        writeFileSync(args.json, json);
        const more = writeCheckReadable(report, args.json);
        io.out(`report: ${args.json} (and ${more.markdown}, ${more.html}, ${more.junit})`);
      } catch (e) {
        io.err(`fusepass check: cannot write the report ${args.json}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (expected a writable file path for --json)`);
        return 2;
      }
    }
  }
  return report.summary.errors > 0 || (report.summary.unexplainedDivergences ?? 0) > 0 ? 1 : 0;
}
