// A runner process for the leak test: starts the kernel target, plays a case up to the middle
// (FUSE mounted, a backing file registered, a passthrough file open, an overlay and an inner
// FUSE mounted), prints its namespace child's pid and FUSE connections as one JSON line, then
// either finishes cleanly (`finish`) or waits to be killed (`hang`).
import * as fs from 'node:fs';
import { createKernelTarget } from '../../conformance/targets/kernel-target.ts';
import type { Case } from '../../spec/case.ts';

const mode = process.argv[2] ?? 'finish';
const kase: Case = {
  id: 'leak-mid-case',
  title: 'a case left in the middle',
  checks: ['LIFE-19'],
  world: {
    files: { b1: { on: 'disk' }, o1: { on: 'overlay' }, i1: { on: 'fuse' } },
    nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } },
  },
  steps: [
    { op: 'devOpen', as: 'dev' },
    { op: 'mount', dev: 'dev' },
    { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
    { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1' },
    { op: 'open', node: 'f1', as: 'f' },
    { op: 'read', fd: 'f', length: 10 },
  ],
};

/**
 * The namespace child: the one process whose parent is this runner. Its guardian, ioctl servers
 * and inner daemons carry the same FUSEPASS_PARENT_PID, and once pids wrap any of them may have
 * the lowest pid, so the environment alone does not pick it (a run that took the guardian saw no
 * FUSE connection in its mount table).
 */
function namespaceChildOf(pid: number): number {
  const ours = fs.readdirSync('/proc').filter((n) => {
    try {
      // Field 4 of stat is the ppid; the command name before it may hold spaces, so split after ')'.
      const stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
      return /^\d+$/.test(n) && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid && fs.readFileSync(`/proc/${n}/environ`, 'utf8').split('\0').includes(`FUSEPASS_PARENT_PID=${pid}`);
    } catch {
      return false;
    }
  });
  if (ours.length !== 1) throw new Error(`expected one namespace child of ${pid}, found ${ours.length}`);
  return Number(ours[0]);
}

const target = createKernelTarget({ deadlineMs: 60_000 });
const reason = await target.unavailable();
if (reason) {
  console.log(JSON.stringify({ skip: reason }));
  process.exit(0);
}
const s = await target.start(kase);
for (const [i, step] of kase.steps.entries()) await s.apply(step, i);
const child = namespaceChildOf(process.pid);
const conns = fs
  .readFileSync(`/proc/${child}/mountinfo`, 'utf8')
  .split('\n')
  .filter((l) => / - fuse(\.\S+)? /.test(l))
  .map((l) => Number(l.split(' ')[2]!.split(':')[1]))
  // With the fusectl inode: numbers are reused at once (maybe by another run), inodes are not.
  .map((n) => ({ n, ino: fs.statSync(`/proc/${child}/root/sys/fs/fuse/connections/${n}`).ino }));
console.log(JSON.stringify({ child, conns }));
if (mode === 'hang') {
  setInterval(() => undefined, 1000);
} else {
  await s.finish();
  await target.dispose?.();
}
