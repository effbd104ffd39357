// A greedy pass after fast-check's shrinking: drop intents one at a time, split ptSetup macros
// into their four intents (so a part of one can go), drop world files, fall back to the default
// INIT reply; keep every change after which the program still fails. Deterministic, so a replay
// (--seed, --path) reaches the same minimal case.
import type { FuzzProgram, Intent } from './generate.ts';

/** The four intents a ptSetup stands for (daemonOpen, backingOpen, setOpenReply, open). */
export function expandMacro(it: Extract<Intent, { k: 'ptSetup' }>): Intent[] {
  return [
    { k: 'daemonOpen', file: it.file, mode: it.mode },
    { k: 'backingOpen', dev: 0, pick: 0, cred: 'root', bad: 'none' },
    { k: 'setOpenReply', node: it.node, flags: ['PASSTHROUGH', ...it.extra], extraBits: 0, backing: { reg: 0 }, error: null },
    { k: 'open', node: it.node, create: false, access: it.access, extra: [] },
  ];
}

function without<T>(xs: readonly T[], i: number): T[] {
  return [...xs.slice(0, i), ...xs.slice(i + 1)];
}

/** Smallest program found that still fails, and how many candidates were tried. */
export async function minimizeProgram(start: FuzzProgram, fails: (p: FuzzProgram) => Promise<boolean>, maxTries = 400): Promise<{ program: FuzzProgram; tries: number }> {
  let best = start;
  let tries = 0;
  const attempt = async (p: FuzzProgram): Promise<boolean> => {
    if (tries >= maxTries) return false;
    tries++;
    if (!(await fails(p))) return false;
    best = p;
    return true;
  };
  let changed = true;
  while (changed && tries < maxTries) {
    changed = false;
    for (let i = best.intents.length - 1; i >= 0; i--) {
      if (i >= best.intents.length) continue;
      if (await attempt({ ...best, intents: without(best.intents, i) })) changed = true;
    }
    for (let i = 0; i < best.intents.length; i++) {
      const it = best.intents[i]!;
      if (it.k !== 'ptSetup') continue;
      if (await attempt({ ...best, intents: [...best.intents.slice(0, i), ...expandMacro(it), ...best.intents.slice(i + 1)] })) changed = true;
    }
    // A raw unknown id instead of a registration lets the registration's steps go too.
    for (let i = 0; i < best.intents.length; i++) {
      const it = best.intents[i]!;
      let raw: Intent | null = null;
      if (it.k === 'backingClose' && 'reg' in it.id) raw = { ...it, id: { raw: 999 } };
      if (it.k === 'setOpenReply' && it.backing !== null && 'reg' in it.backing) raw = { ...it, backing: { raw: 999 } };
      if (raw !== null && (await attempt({ ...best, intents: best.intents.map((x, j) => (j === i ? raw : x)) }))) changed = true;
    }
    for (let i = best.files.length - 1; i >= 0; i--) {
      if (await attempt({ ...best, files: without(best.files, i) })) changed = true;
    }
    if (best.init !== undefined && (await attempt({ ...best, init: undefined }))) changed = true;
  }
  return { program: best, tries };
}
