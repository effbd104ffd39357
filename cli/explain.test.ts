// `fusepass explain` answers the problems daemon authors hit (conformance/cases/problems/) from
// the sim: for each, the step that shows the symptom, the check id the spec says decides it, the
// hidden cause behind an EIO (OBS-11) and, when passthrough is off, the INIT check that switched
// it off. Expected ids and causes are those of ../shared/kernel-spec.md, not the sim's output.
import { describe, expect, it } from 'vitest';
import { main } from './main.ts';

async function explain(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['explain', ...argv], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, text: out.join('\n'), err: err.join('\n') };
}

/** The answer's section for one step: from its heading to the next heading. */
function stepSection(text: string, step: number): string {
  const start = text.search(new RegExp(`, step ${step}: `));
  expect(start, `no answer for step ${step}`).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + 1);
  const next = rest.search(/\n\S[^\n]*, step \d+: /);
  return next < 0 ? rest : rest.slice(0, next);
}

interface Problem {
  step: number;
  result: string;
  /** The check that decides the step (spec), and other ids the answer must name. */
  names: string[];
  cause?: string;
  /** INIT check that switched passthrough off (spec §2). */
  root?: string;
}

// Spec: §2 INIT-6/8/9 + §4 BOPEN-4/5, §12 STACK-4/5/9/10, §7 OPEN-8/9/12, §8 IOM-2/7/8, §11 LIFE-20/24, §10 IO-3/11/15, §13 OBS-9/12.
const PROBLEMS: Record<string, Problem[]> = {
  'problem-writeback-cache-disables-passthrough': [{ step: 3, result: 'EPERM', names: ['BOPEN-4'], root: 'INIT-9' }],
  'problem-missing-init-ext-disables-passthrough': [{ step: 3, result: 'EPERM', names: ['BOPEN-4'], root: 'INIT-6' }],
  'problem-max-stack-depth-out-of-range': [
    { step: 3, result: 'EPERM', names: ['BOPEN-4'], root: 'INIT-8' },
    { step: 4, result: 'EIO', names: ['OPEN-8'], cause: 'EINVAL', root: 'INIT-8' },
  ],
  'problem-no-cap-sys-admin-eperm': [
    { step: 5, result: 'EPERM', names: ['BOPEN-5'] },
    { step: 6, result: 'EPERM', names: ['BCLOSE-5'] },
  ],
  'problem-rootless-userns-daemon-eperm': [{ step: 3, result: 'EPERM', names: ['BOPEN-5'] }],
  'problem-eloop-backing-on-overlayfs': [{ step: 3, result: 'ELOOP', names: ['STACK-4', 'BOPEN-10'] }],
  'problem-overlayfs-backing-needs-max-stack-depth-2': [{ step: 3, result: 'ok', names: ['STACK-5'] }],
  'problem-eloop-fuse-on-fuse': [{ step: 3, result: 'ELOOP', names: ['STACK-9', 'BOPEN-10'] }],
  'problem-fuse-on-fuse-max-stack-depth-2': [{ step: 3, result: 'ok', names: ['STACK-10'] }],
  'problem-second-backing-id-same-file-eio': [{ step: 7, result: 'EIO', names: ['IOM-7', 'OPEN-6'], cause: 'EBUSY' }],
  'problem-backing-close-while-files-open': [
    { step: 8, result: 'EIO', names: ['OPEN-12'], cause: 'ENOENT' },
    { step: 12, result: 'EIO', names: ['IOM-7'], cause: 'EBUSY' },
  ],
  'problem-keep-cache-makes-passthrough-open-fail': [{ step: 4, result: 'EIO', names: ['OPEN-9', 'OPEN-6'], cause: 'EINVAL' }],
  'problem-cached-open-blocks-passthrough-open': [
    { step: 6, result: 'EIO', names: ['IOM-8'], cause: 'ETXTBSY' },
    { step: 10, result: 'EIO', names: ['IOM-2'], cause: 'EINVAL' },
  ],
  'problem-direct-io-splits-read-write-from-mmap': [
    { step: 5, result: 'ok → "D*4096"', names: ['IO-3'] },
    { step: 6, result: 'ok', names: ['IO-11'] },
  ],
  'problem-stale-size-after-passthrough-write': [{ step: 6, result: 'ok → 10000', names: ['OBS-12'] }],
  'problem-truncate-does-not-reach-backing-file': [{ step: 5, result: 'ok', names: ['IO-15'] }],
  'problem-daemon-abort-with-files-open': [
    { step: 5, result: 'ok → "B*4096"', names: ['IO-26'] },
    { step: 10, result: 'ENOTCONN', names: ['LIFE-20'] },
  ],
  'problem-daemon-crash-with-files-open': [{ step: 8, result: 'ENOTCONN', names: ['LIFE-20'] }],
  'problem-umount-with-ids-registered': [{ step: 5, result: 'ok', names: ['LIFE-24'] }],
  'problem-rlimit-nofile-bypass-lsof-invisible': [{ step: 8, result: 'ok → "no"', names: ['OBS-9'] }],
};

describe('fusepass explain: the problems daemon authors hit', () => {
  for (const [id, problems] of Object.entries(PROBLEMS)) {
    for (const p of problems) {
      it(`${id} step ${p.step}: ${p.result} via ${p.names.join(', ')}${p.cause ? `, hidden ${p.cause}` : ''}${p.root ? `, root ${p.root}` : ''}`, async () => {
        const r = await explain(id, '--step', String(p.step));
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        const s = stepSection(r.text, p.step);
        expect(s).toMatch(new RegExp(`result: ${p.result.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        for (const n of p.names) expect(s).toMatch(new RegExp(`^ {4}${n} `, 'm'));
        if (p.result !== 'ok' && !p.result.startsWith('ok ')) expect(s).toMatch(/decided by: [A-Z]+-\d+/);
        if (p.cause) expect(s).toContain(`hidden cause: ${p.cause}`);
        else expect(s).not.toContain('hidden cause');
        if (p.root) expect(s).toMatch(new RegExp(`root cause: .* by ${p.root}:`));
        // A failing syscall names the kernel function that failed it.
        if (!p.result.startsWith('ok')) expect(s).toMatch(/kernel functions: \w+/);
      });
    }
  }

  it('without --step explains the steps the case is about', async () => {
    const r = await explain('problem-cached-open-blocks-passthrough-open');
    expect(r.code).toBe(0);
    expect(r.text).toContain(', step 6: ');
    expect(r.text).toContain(', step 10: ');
  });
});

describe('fusepass explain: symptoms on the command line', () => {
  it('OPEN-9: KEEP_CACHE beside PASSTHROUGH gives EIO with hidden EINVAL and names the allowed flags', async () => {
    const r = await explain('--op', 'open', '--reply-flags', 'PASSTHROUGH,KEEP_CACHE', '--backing', '1');
    expect(r.code).toBe(0);
    expect(r.text).toContain('result: EIO  (the daemon received OPEN, RELEASE)');
    expect(r.text).toContain('decided by: OPEN-9');
    expect(r.text).toContain('hidden cause: EINVAL');
    expect(r.text).toMatch(/what to change: .*DIRECT_IO/);
  });

  it('INIT-9: WRITEBACK_CACHE makes BACKING_OPEN fail with EPERM (BOPEN-4)', async () => {
    const r = await explain('--op', 'backing-open', '--init-flags', 'INIT_EXT,PASSTHROUGH,WRITEBACK_CACHE');
    expect(r.text).toContain('result: EPERM');
    expect(r.text).toMatch(/^ {4}BOPEN-4 /m);
    expect(r.text).toMatch(/root cause: .* by INIT-9:/);
  });

  it('STACK-4: a backing file on overlayfs with msd 1 gives ELOOP; msd 2 works (STACK-5)', async () => {
    const one = await explain('--op', 'backing-open', '--on', 'overlay', '--msd', '1');
    expect(one.text).toContain('result: ELOOP');
    expect(one.text).toContain('decided by: STACK-4');
    const two = await explain('--op', 'backing-open', '--on', 'overlay', '--msd', '2');
    expect(two.text).toContain('result: ok → 1');
    expect(two.text).toMatch(/^ {4}STACK-5 /m);
  });

  it('BOPEN-5: without CAP_SYS_ADMIN; --errno that the sim does not confirm exits 1 and says so', async () => {
    const agree = await explain('--op', 'backing-open', '--cred', 'noCapSysAdmin', '--errno', 'EPERM');
    expect(agree.code).toBe(0);
    expect(agree.text).toContain('decided by: BOPEN-5');
    expect(agree.text).toContain('the sim agrees');
    const differ = await explain('--op', 'backing-open', '--cred', 'noCapSysAdmin', '--errno', 'ELOOP');
    expect(differ.code).toBe(1);
    expect(differ.text).toContain('the sim answers EPERM, not ELOOP');
  });

  it('--errno EIO for open lists library cases where open gives EIO, with their deciding checks', async () => {
    const r = await explain('--op', 'open', '--errno', 'EIO');
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/library cases where open gives EIO/);
    expect(r.text).toMatch(/problem-keep-cache-makes-passthrough-open-fail \(step 4, OPEN-9, hidden cause EINVAL\)/);
  });

  it('IOM-8: a passthrough open while the file is open cached gives EIO (ETXTBSY)', async () => {
    const r = await explain('--op', 'open', '--first-open', 'none');
    expect(r.text).toContain('decided by: IOM-8');
    expect(r.text).toContain('hidden cause: ETXTBSY');
    expect(r.text).toMatch(/what to change: .*answer every open of an inode the same way/);
  });

  it('a step the sim could not play (its fd was never opened) shows the fault, no "nothing to change", and exits 1', async () => {
    for (const argv of [['--op', 'stat', '--on', 'self'], ['--op', 'ftruncate', '--type', 'dir']]) {
      const r = await explain(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.text).toMatch(/→ fault setup: no client fd named "f"/);
      expect(r.text).not.toContain('nothing, this step works');
      expect(r.text).toMatch(/what to change: this step could not be played .*the earlier failure above/);
    }
  });

  it('bad input is one line naming the option and what was expected, exit 2', async () => {
    for (const argv of [['--op', 'opne'], ['--op', 'open', '--reply-flags', 'PASSTHRU'], ['--op', 'open', '--msd', 'x'], ['--op', 'open', '--msd', '-1'], [], ['no-such-case'], ['problem-eloop-fuse-on-fuse', '--step', '99']]) {
      const r = await explain(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^fusepass explain: /);
      if (argv.includes('-1')) expect(r.err).toMatch(/--msd needs a value; for one starting with "-" write --msd=-N/);
    }
  });
});
