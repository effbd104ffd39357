// The semantic checks of the steps that mount on or over the FUSE mount under test, of its
// inotify watches, and of observe steps (validate.ts checkNames): once per case, where to,
// names of their own, and what each observable needs.
import type { Case, ObserveStep } from '../spec/case.ts';
import type { Issue } from './schema-errors.ts';
import { LSOF_WORLD_FS, WORLD_HELD_FS } from './validate-world.ts';

/**
 * What the case's mountNestedFuse, mountOverlayOnFuse and watchFuseFile steps say wrong, and its
 * named mounts (MountStep.as) and the steps that address them.
 */
export function checkMountAndWatchSteps(kase: Case): Issue[] {
  const issues: Issue[] = [];
  /** Client fd name -> the op of its latest defining step. */
  const fdOrigin = new Map<string, 'open' | 'opendir'>();
  const watches = new Set<string>();
  const once = new Set<string>();
  /** Named mounts (MountStep.as) so far, and the named mount of each client fd opened there. */
  const mounts = new Set<string>();
  const fdMount = new Map<string, string | undefined>();
  /** /dev/fuse fds of named mounts (the mounting fd and its clones), daemon fds of `self` files. */
  const namedDevs = new Set<string>();
  const selfFds = new Set<string>();
  /** /dev/fuse fds some mount step used, and clones: attached, or tried (a further mount needs a fresh one). */
  const usedDevs = new Set<string>();
  /** Client fds open now, by the mount they were opened on. */
  const openOn = new Map<string, string | undefined>();
  for (const [i, step] of kase.steps.entries()) {
    const at = `/steps/${i}`;
    const named = (step as { mount?: string }).mount;
    if (named !== undefined && !mounts.has(named)) {
      issues.push({ path: `${at}/mount`, message: `"${named}" names no earlier mount step's "as" (expected one of: ${[...mounts].join(', ') || '(none)'})` });
    }
    switch (step.op) {
      case 'mount': {
        const reused = usedDevs.has(step.dev);
        usedDevs.add(step.dev);
        if (step.as === undefined) break;
        // Its worker serves the fd from the start: one a mount already has would be served twice.
        if (reused) issues.push({ path: `${at}/dev`, message: `"${step.dev}" was given to an earlier mount step or cloned (expected a fresh /dev/fuse fd for a further mount)` });
        if (mounts.has(step.as)) issues.push({ path: `${at}/as`, message: `"${step.as}" names an earlier mount (expected a name of its own for each further mount)` });
        // The kernel target's further mounts are plain mount(2)s answered at once.
        if (step.deferInit === true) issues.push({ path: `${at}/deferInit`, message: 'a further mount answers its INIT at once (expected no deferInit with "as": replyInit answers the mount under test only)' });
        if (kase.world.daemonInUserns === true) issues.push({ path: `${at}/as`, message: 'a further mount is mounted from the initial namespace (expected a world without daemonInUserns)' });
        mounts.add(step.as);
        namedDevs.add(step.dev);
        break;
      }
      case 'devClone':
        usedDevs.add(step.as);
        if (namedDevs.has(step.dev)) namedDevs.add(step.as);
        break;
      case 'daemonOpen':
        if (kase.world.files?.[step.file]?.on === 'self') selfFds.add(step.as);
        else selfFds.delete(step.as);
        break;
      case 'backingOpen':
        // Its PT files would read through the mount under test (READs to its daemon), which the
        // model serves from the file's bytes directly.
        if (namedDevs.has(step.dev) && typeof step.fd === 'string' && selfFds.has(step.fd)) {
          issues.push({ path: `${at}/fd`, message: `"${step.fd}" is a file of the mount under test, which the model does not stack under a further mount (expected a file off the case's FUSE mounts for "${step.dev}")` });
        }
        break;
      case 'open':
      case 'opendir': {
        const on = step.mount;
        // Each mount keeps its own fds: one name open on two of them is two files to the model.
        if (openOn.has(step.as) && openOn.get(step.as) !== on) issues.push({ path: `${at}/as`, message: `"${step.as}" is open on another mount (expected a name not open elsewhere, or a close first)` });
        openOn.set(step.as, on);
        fdMount.set(step.as, on);
        fdOrigin.set(step.as, step.op);
        break;
      }
      case 'close':
        openOn.delete(step.fd);
        break;
      case 'stat':
        if (step.mount !== undefined && step.fd !== undefined) issues.push({ path: `${at}/mount`, message: 'an fd is on the mount it was opened on (expected "mount" only with "node")' });
        break;
      case 'copyRange':
      case 'sendfile':
        if (step.from !== undefined && step.to !== undefined && fdMount.get(step.from) !== fdMount.get(step.to)) {
          issues.push({ path: `${at}/to`, message: `"${step.from}" and "${step.to}" are files of different FUSE mounts, which the model does not copy between (expected two fds of one mount)` });
        }
        break;
      case 'watchFuseFile':
        // Its name labels events, as world files' names do: the two must not meet.
        if (kase.world.files?.[step.as] !== undefined) issues.push({ path: `${at}/as`, message: `"${step.as}" is a world file's name, which its events already use (expected a name of its own for the watch)` });
        if (watches.has(step.as)) issues.push({ path: `${at}/as`, message: `"${step.as}" names an earlier watch (expected a name of its own for each watch)` });
        watches.add(step.as);
        if (fdOrigin.get(step.fd) === 'opendir') issues.push({ path: `${at}/fd`, message: `"${step.fd}" is a directory fd (expected a client fd of a file, from an open step)` });
        break;
      case 'mountNestedFuse':
        if (kase.world.nestedFuseAt === undefined) issues.push({ path: `${at}/op`, message: 'the world names no directory to mount on (expected world.nestedFuseAt, a directory node)' });
        if (once.has(step.op)) issues.push({ path: `${at}/op`, message: 'a second nested FUSE mount (expected at most one mountNestedFuse step per case)' });
        once.add(step.op);
        break;
      case 'mountOverlayOnFuse':
        if (once.has(step.op)) issues.push({ path: `${at}/op`, message: 'a second overlayfs over the FUSE mount (expected at most one mountOverlayOnFuse step per case)' });
        once.add(step.op);
        break;
      default:
        break;
    }
  }
  return issues;
}

/** Which field each observable needs (spec/case.ts ObserveStep). */
const OBSERVE_NEEDS: Record<string, 'dev' | 'fd' | 'map' | 'file' | undefined> = {
  devFdinfoKeys: 'dev',
  devFdinfoValues: 'dev',
  fileFdinfoKeys: 'fd',
  mapsPath: 'map',
  fdTableHasFile: 'file',
  lsofHasFile: 'file',
};

const OBSERVE_NEED_TEXT = { dev: 'a /dev/fuse fd name', fd: 'a client fd name', map: 'a mapping name', file: 'a world file name' };

/** What an observe step says wrong besides an unknown world file (checkNames checks names). */
export function checkObserveStep(kase: Case, step: ObserveStep, at: string): Issue[] {
  const issues: Issue[] = [];
  const need = OBSERVE_NEEDS[step.what];
  if (need && step[need] === undefined) {
    issues.push({ path: `${at}/${need}`, message: `missing: observe "${step.what}" needs "${need}" (expected ${OBSERVE_NEED_TEXT[need]})` });
  }
  // A client fd or mapping picks the mount observed: only where the observable reads it.
  for (const key of ['fd', 'map'] as const) {
    if (step[key] !== undefined && need !== key) issues.push({ path: `${at}/${key}`, message: `observe "${step.what}" reads no "${key}" (expected ${need === undefined ? 'none of dev, fd, map, file' : `only "${need}"`})` });
  }
  const on = step.file === undefined ? undefined : kase.world.files?.[step.file]?.on;
  // Found by identity with statx of its path: a host file, never one on FUSE (a stat there is a
  // request) or one the world itself holds (memfd) or that the host may (procfs, sysfs).
  if (step.what === 'lsofHasFile' && on !== undefined && !LSOF_WORLD_FS.has(on)) {
    issues.push({ path: `${at}/file`, message: `"${step.file}" is on ${on} (expected a world file on ${[...LSOF_WORLD_FS].join(', ')})` });
  }
  // The kernel target's world holds a memfd, pipe or socket open: always in the fd table.
  if (step.what === 'fdTableHasFile' && on !== undefined && WORLD_HELD_FS.has(on)) {
    issues.push({ path: `${at}/file`, message: `"${step.file}" is on ${on}, which the world itself keeps open (expected a world file with a name)` });
  }
  return issues;
}
