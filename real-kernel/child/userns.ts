// cred `userns`: the ioctl is issued by a helper process in a new user namespace that inherits
// the /dev/fuse fd (and the file to register), so it is root there but has no CAP_SYS_ADMIN in
// the initial user namespace.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ERRNO } from '../../spec/errno.ts';
import { decodeBackingMap, encodeBackingMap } from '../wire/structs.ts';
import { FUSE_DEV_IOC } from '../../spec/uapi.ts';

const HELPER = fileURLToPath(new URL('./userns-ioctl.mjs', import.meta.url));

export function usernsIoctl(devFd: number, cmd: number, arg: Uint8Array | null, passFd?: number): number {
  let payload = arg;
  // The map's fd must name the file in the helper's table, where it arrives as fd 4.
  if (arg && passFd !== undefined && cmd === FUSE_DEV_IOC.BACKING_OPEN) payload = encodeBackingMap({ ...decodeBackingMap(arg), fd: 4 });
  const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe', devFd];
  if (passFd !== undefined) stdio.push(passFd);
  const r = spawnSync('unshare', ['-U', '--map-root-user', process.execPath, HELPER, String(cmd >>> 0), payload ? Buffer.from(payload).toString('hex') : 'null'], {
    stdio,
    timeout: 5000,
    encoding: 'utf8',
  });
  const n = Number(r.stdout);
  return r.status === 0 && Number.isFinite(n) && r.stdout !== '' ? n : -ERRNO.EIO;
}
