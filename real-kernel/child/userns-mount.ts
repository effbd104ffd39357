// Mounting from inside a new user namespace (World.daemonInUserns: rootless FUSE): the helper
// script mounts with a /dev/fuse fd of its own, and the case's process joins its mount
// namespace (split from session.ts).
import * as fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ERRNO } from '../../spec/errno.ts';
import { sys } from '../ffi/libc.ts';
import { CLONE_NEWNS, O } from '../ffi/consts.ts';
import { sleepMs } from './observers.ts';
import type { BuiltWorld } from './world.ts';

const USERNS_MOUNT = fileURLToPath(new URL('./userns-mount.sh', import.meta.url));

/**
 * World.daemonInUserns: a helper in a new user+mount namespace mounts with our /dev/fuse fd;
 * then this thread joins that mount namespace (we are root in the initial user namespace, so
 * setns is allowed), where the client steps see the mount. `takeOver` gets the helper's
 * /dev/fuse fd (opened in its user namespace) for the daemon. 0 or −errno.
 */
export function mountInUserns(world: BuiltWorld, helpers: ChildProcess[], takeOver: (fd: number) => void): number {
  const status = `${world.work}/.userns-mount-status`;
  const helper = spawn('unshare', ['-U', '--map-root-user', '--mount', '--propagation', 'private', 'sh', USERNS_MOUNT, world.mnt, status], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  helpers.push(helper);
  const end = Date.now() + 3000;
  while (!fs.existsSync(status) && Date.now() < end) sleepMs(2);
  if (!fs.existsSync(status)) return -ERRNO.ETIMEDOUT;
  const code = Number(fs.readFileSync(status, 'utf8').trim());
  if (code !== 0) return -ERRNO.EPERM;
  const taken = sys.takeFd(helper.pid ?? -1, 3);
  if (taken < 0) return taken;
  takeOver(taken);
  fs.writeFileSync(`${status}.taken`, '');
  const helperFd = `/proc/${helper.pid ?? -1}/fd/3`;
  for (const stop = Date.now() + 2000; fs.existsSync(helperFd) && Date.now() < stop; ) sleepMs(2);
  const ns = sys.open(`/proc/${helper.pid}/ns/mnt`, O.RDONLY | O.CLOEXEC);
  if (ns < 0) return ns;
  const r = sys.setns(ns, CLONE_NEWNS);
  sys.close(ns);
  return r;
  }
