// Steps that act on the world's host files from outside FUSE: the daemon's pwrite and a
// misdirected /dev/fuse ioctl on its fds (daemonWrite, daemonIoctl), removing a name or the
// overlayfs under the files (unlinkWorldFile, umountWorldFs), and reading a file back
// (inspectBacking). Split from session.ts, which keeps the /dev/fuse and mount steps.
import * as fs from 'node:fs';
import type { Step } from '../../spec/case.ts';
import { summarizeBytes } from '../../spec/observation.ts';
import { FUSE_DEV_IOC } from '../../spec/uapi.ts';
import { MNT_DETACH } from '../ffi/consts.ts';
import { sys } from '../ffi/libc.ts';
import { res, type Outcome } from './client-steps.ts';
import type { BuiltWorld } from './world.ts';

export type WorldStep = Extract<Step, { op: 'daemonWrite' | 'daemonIoctl' | 'umountWorldFs' | 'mountOverlayOnFuse' | 'unlinkWorldFile' | 'inspectBacking' }>;

export const WORLD_STEP_OPS: ReadonlySet<Step['op']> = new Set(['daemonWrite', 'daemonIoctl', 'umountWorldFs', 'mountOverlayOnFuse', 'unlinkWorldFile', 'inspectBacking']);

/** Play a world step; `daemonFd` resolves a daemon fd name (throws for an unknown one). */
export function runWorldStep(s: WorldStep, world: BuiltWorld, daemonFd: (name: string) => number): Outcome {
  const file = (name: string) => {
    const f = world.files.get(name);
    if (!f) throw new Error(`no world file named ${name}`);
    return f;
  };
  switch (s.op) {
    case 'daemonWrite': {
      const bytes = new TextEncoder().encode(s.data);
      const n = sys.pwrite(daemonFd(s.fd), bytes, bytes.length, s.offset ?? 0);
      return res(n, n);
    }
    case 'daemonIoctl':
      return res(sys.ioctl(daemonFd(s.fd), FUSE_DEV_IOC[s.cmd], new Uint8Array(64)));
    case 'umountWorldFs':
      // world.ts mounts the overlay world files' overlayfs there.
      return res(sys.umount2(`${world.work}/ovl`, s.lazy ? MNT_DETACH : 0));
    case 'mountOverlayOnFuse': {
      // Upper and work dirs on the disk, as the `overlay` world files' overlayfs has them.
      const top = overlayOnFusePath(world);
      fs.mkdirSync(top, { recursive: true });
      fs.mkdirSync(`${world.disk}/top-upper`, { recursive: true });
      fs.mkdirSync(`${world.disk}/top-work`, { recursive: true });
      const r = sys.mount('overlay', top, 'overlay', 0, `lowerdir=${world.mnt},upperdir=${world.disk}/top-upper,workdir=${world.disk}/top-work`);
      if (r === 0) world.overlayOnFuse = top;
      return res(r);
    }
    case 'unlinkWorldFile':
      return res(sys.unlink(file(s.file).path));
    case 'inspectBacking': {
      const f = file(s.file);
      // The name may be gone (unlinkWorldFile): a symlink's target file is no longer reachable by it.
      if (!lexists(f.path)) return { errno: 'ENOENT', quiet: true };
      const bytes = fs.readFileSync(f.spec.type === 'symlink' ? `${f.path}.target` : f.path);
      const off = s.offset ?? 0;
      const slice = bytes.subarray(off, s.length === undefined ? undefined : off + s.length);
      return { errno: null, value: summarizeBytes(slice), quiet: true };
    }
  }
}

/** Where mountOverlayOnFuse mounts its overlayfs. */
export function overlayOnFusePath(world: BuiltWorld): string {
  return `${world.work}/top`;
}

/**
 * Unmount the overlayfs over the FUSE mount, if a step mounted one: first in the teardown, so
 * that the FUSE mount's umount finds it gone (the sim's teardown drops it at the same point).
 */
export function umountOverlayOnFuse(world: BuiltWorld): void {
  if (world.overlayOnFuse === null) return;
  sys.umount2(world.overlayOnFuse, MNT_DETACH);
  world.overlayOnFuse = null;
}

/** lstat(2) finds the name (a dangling symlink counts). */
function lexists(path: string): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
