// The doctor's reasoning, pure: from the machine's facts and the kernel's answers to the probe,
// a verdict in plain words with the spec's check ids behind each finding.
import type { CheckId } from '../spec/check-ids.ts';
import type { DirFacts, MachineFacts } from '../real-kernel/doctor/machine.ts';
import type { ProbeResult, RegistrationProbe } from '../real-kernel/doctor/types.ts';

export interface Finding {
  label: string;
  value: string;
  checks: CheckId[];
  /** true when this finding stops passthrough from working. */
  blocks?: boolean;
}

export interface Diagnosis {
  works: boolean;
  verdict: string;
  machine: Finding[];
  dir: Finding[];
  /** The max_stack_depth a daemon must negotiate for DIR (or 1 without DIR), when any works. */
  maxStackDepth?: 1 | 2;
  /** The stack depth of DIR's filesystem as the kernel answered it ('≥2' when no msd works). */
  depth?: 0 | 1 | '≥2';
  /** Whether overlayfs can be mounted over the FUSE mount with that max_stack_depth. */
  underOverlay?: boolean;
  checks: CheckId[];
}

function reg(p: ProbeResult | undefined, msd: number): RegistrationProbe | undefined {
  return p?.registrations.find((r) => r.msd === msd);
}

export function diagnose(m: MachineFacts, probe: ProbeResult | undefined, dir?: DirFacts): Diagnosis {
  const machine: Finding[] = [];
  const dirF: Finding[] = [];
  const blockers: string[] = [];
  const block = (f: Finding, why: string, into: Finding[] = machine) => {
    into.push({ ...f, blocks: true });
    blockers.push(why);
  };

  machine.push({ label: 'kernel release', value: m.release, checks: [] });
  if (!m.devFuse.present || !m.devFuse.usable) {
    block({ label: '/dev/fuse', value: `${m.devFuse.present ? 'present but not usable' : 'missing'} (${m.devFuse.detail})`, checks: [] }, 'there is no usable /dev/fuse (load the fuse module, or pass the device into the container)');
  } else machine.push({ label: '/dev/fuse', value: `present, readable and writable (${m.devFuse.detail})`, checks: [] });

  const who = m.uid === null ? 'unknown uid' : `uid ${m.uid}`;
  if (m.initialUserns === false) {
    block(
      { label: 'user namespace', value: `a user namespace (uid_map "${m.uidMap}"): capabilities here do not count for BACKING_OPEN`, checks: ['BOPEN-5'] },
      'the process runs in a user namespace, and BACKING_OPEN needs CAP_SYS_ADMIN in the initial one (BOPEN-5: EPERM), so a rootless daemon cannot register backing files',
    );
  } else machine.push({ label: 'user namespace', value: m.initialUserns === null ? 'unknown (no /proc/self/uid_map)' : `the initial one (uid_map "${m.uidMap}")`, checks: [] });
  if (m.capSysAdmin !== true) {
    block(
      { label: 'privileges', value: `${who}, ${m.capSysAdmin === null ? 'capabilities unknown' : 'no CAP_SYS_ADMIN'}`, checks: ['BOPEN-5'] },
      'the caller lacks CAP_SYS_ADMIN, so BACKING_OPEN gives EPERM (BOPEN-5)',
    );
  } else machine.push({ label: 'privileges', value: `${who}, CAP_SYS_ADMIN${m.initialUserns === true ? ' in the initial user namespace' : ''}`, checks: ['BOPEN-5'] });
  machine.push({ label: 'container', value: m.container.length > 0 ? `yes: ${m.container.join('; ')}` : 'no signs of one', checks: [] });

  if (probe === undefined) {
    block({ label: 'FUSE_PASSTHROUGH', value: 'not probed (mounting needs root and /dev/fuse)', checks: ['INIT-1'] }, 'the kernel could not be asked whether it offers passthrough');
  } else if (probe.error !== undefined) {
    block({ label: 'FUSE_PASSTHROUGH', value: `probe failed: ${probe.error}`, checks: ['INIT-1'] }, `the probe failed (${probe.error})`);
  } else if (probe.mountErrno !== undefined) {
    block({ label: 'FUSE_PASSTHROUGH', value: `the probe's FUSE mount failed with ${probe.mountErrno}`, checks: ['INIT-1'] }, `mounting a FUSE filesystem fails here (${probe.mountErrno})`);
  } else if (!probe.offered?.passthrough) {
    const o = probe.offered;
    block(
      { label: 'FUSE_PASSTHROUGH', value: `not offered in INIT${o ? ` (${o.major}.${o.minor}${o.initExt ? '' : ', no INIT_EXT'})` : ''}`, checks: ['INIT-1', 'BOPEN-2'] },
      'the kernel does not offer FUSE_PASSTHROUGH in INIT (CONFIG_FUSE_PASSTHROUGH=n, or a kernel before 6.9): BACKING_OPEN gives EOPNOTSUPP (BOPEN-2)',
    );
  } else {
    const o = probe.offered;
    machine.push({ label: 'FUSE_PASSTHROUGH', value: `offered in INIT ${o.major}.${o.minor} (asked with a throwaway mount in a private mount namespace)`, checks: ['INIT-1', 'INIT-2'] });
  }

  const d: Diagnosis = { works: false, verdict: '', machine, dir: dirF, checks: [] };
  const probed = probe !== undefined && probe.error === undefined && probe.mountErrno === undefined && probe.offered?.passthrough === true;
  if (dir) {
    if (!dir.exists) block({ label: 'directory', value: `${dir.path} does not exist`, checks: [] }, `${dir.path} does not exist`, dirF);
    else {
      dirF.push({
        label: 'filesystem',
        value: `${dir.fsType ?? 'unknown'}${dir.mountPoint ? ` mounted at ${dir.mountPoint}` : ''}${dir.source ? ` (source ${dir.source})` : ''}${dir.overlayLowers ? `, ${dir.overlayLowers.length} lower layer${dir.overlayLowers.length > 1 ? 's' : ''}` : ''}`,
        checks: [],
      });
      if (dir.expectedDepth) dirF.push({ label: 'expected depth', value: dir.expectedDepth, checks: [] });
    }
    if (probed && dir.exists) {
      const f = probe.file;
      if (!f || f.error !== undefined || f.path === undefined) {
        block({ label: 'probe file', value: f?.error ?? 'none', checks: [] }, `no file under ${dir.path} could be opened to ask the kernel (${f?.error ?? 'unknown'})`, dirF);
      } else {
        dirF.push({ label: 'probe file', value: `${f.path}${f.created ? ' (created for the probe and removed)' : ''}`, checks: ['BOPEN-16'] });
        const r1 = reg(probe, 1);
        const r2 = reg(probe, 2);
        for (const r of [r1, r2]) {
          if (!r) continue;
          dirF.push({ label: `BACKING_OPEN msd ${r.msd}`, value: r.errno === null ? `ok (id ${r.id ?? '?'})` : r.errno, checks: r.errno === null ? ['BOPEN-13'] : r.errno === 'ELOOP' ? ['BOPEN-10'] : [] });
        }
        const viaFs = dir.fsType === 'overlay' ? 'STACK-5' : dir.fsType?.startsWith('fuse') ? 'STACK-10' : 'STACK-5';
        if (r1?.errno === null) {
          d.depth = 0;
          d.maxStackDepth = 1;
          dirF.push({ label: 'stack depth', value: '0: registered with max_stack_depth 1, the kernel\'s own answer (BOPEN-10 needs depth < msd)', checks: ['BOPEN-10', 'STACK-3'] });
        } else if (r1?.errno === 'ELOOP' && r2?.errno === null) {
          d.depth = 1;
          d.maxStackDepth = 2;
          dirF.push({ label: 'stack depth', value: '1: ELOOP with max_stack_depth 1, registered with 2 (BOPEN-10)', checks: ['BOPEN-10', dir.fsType === 'overlay' ? 'STACK-4' : 'STACK-9', viaFs] });
        } else if (r1?.errno === 'ELOOP' && r2?.errno === 'ELOOP') {
          d.depth = '≥2';
          block(
            { label: 'stack depth', value: '2 or more: ELOOP with max_stack_depth 1 and 2', checks: ['BOPEN-10', 'INIT-8', 'STACK-11'] },
            `files under ${dir.path} sit on a filesystem of stack depth 2 or more, and max_stack_depth cannot exceed 2 (INIT-8), so BACKING_OPEN always gives ELOOP (BOPEN-10)`,
            dirF,
          );
        } else {
          const e = r1?.errno ?? r2?.errno ?? 'no answer';
          block({ label: 'stack depth', value: `unknown: BACKING_OPEN gave ${e}`, checks: [] }, `BACKING_OPEN of a file under ${dir.path} gives ${e}`, dirF);
        }
        if (d.maxStackDepth !== undefined) {
          dirF.push({ label: 'max_stack_depth', value: `${d.maxStackDepth} (the smallest that works; negotiate it in the INIT reply with INIT_EXT|PASSTHROUGH and no WRITEBACK_CACHE)`, checks: ['INIT-7', 'INIT-9'] });
        }
      }
    }
  } else if (probed) {
    d.maxStackDepth = 1;
  }

  if (probed && d.maxStackDepth !== undefined) {
    const top = reg(probe, d.maxStackDepth)?.overlayOnTop;
    d.underOverlay = top === null;
    const value =
      top === null
        ? `yes: overlayfs over a FUSE mount with max_stack_depth ${d.maxStackDepth} mounts (FUSE depth ${d.maxStackDepth}, overlayfs ${d.maxStackDepth + 1} ≤ 2)`
        : `no: overlayfs over a FUSE mount with max_stack_depth ${d.maxStackDepth} fails with ${top ?? 'an error'} (FUSE depth ${d.maxStackDepth}, overlayfs would be ${d.maxStackDepth + 1} > 2)`;
    (dir ? dirF : machine).push({ label: 'under overlayfs', value, checks: ['STACK-1', 'STACK-2'] });
  }

  d.works = blockers.length === 0 && probed && d.maxStackDepth !== undefined;
  const where = dir ? `for backing files under ${dir.path}` : 'on this machine';
  if (d.works) {
    const overlay = d.underOverlay ? '; the FUSE mount can sit under overlayfs' : '; but overlayfs cannot be mounted over the FUSE mount (STACK-2)';
    d.verdict = dir
      ? `passthrough will work ${where} with max_stack_depth ${d.maxStackDepth}${overlay}.`
      : `passthrough will work ${where} (backing files on a non-stacked filesystem, max_stack_depth 1${d.underOverlay ? ', and the FUSE mount can sit under overlayfs' : ''}); name a directory to check its backing files.`;
  } else {
    d.verdict = `passthrough will not work ${where}, because ${blockers.join('; and ') || 'the probe gave no answer'}.`;
  }
  const all = [...machine, ...dirF].flatMap((f) => f.checks);
  d.checks = [...new Set(all)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return d;
}

export function formatDiagnosis(d: Diagnosis, dir?: string): string[] {
  const rows = (fs: Finding[]) => {
    const w = Math.max(...fs.map((f) => f.label.length), 0);
    return fs.map((f) => `  ${f.blocks ? '✗' : ' '} ${f.label.padEnd(w)}  ${f.value}${f.checks.length > 0 ? `  [${f.checks.join(', ')}]` : ''}`);
  };
  const out = ['machine', ...rows(d.machine)];
  if (dir !== undefined) out.push('', `backing files under ${dir}`, ...rows(d.dir));
  out.push('', `verdict: ${d.verdict}`, `checks: ${d.checks.join(', ') || 'none'}`);
  return out;
}
