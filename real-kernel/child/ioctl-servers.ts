// Backing ioctls issued by another process with other credentials (spec/case.ts Cred):
// - `userns`: root of its own user namespace (all capabilities there, none in the initial one:
//   BOPEN-5), started by `unshare -U --map-root-user`;
// - `capDroppedProcess`: a root process started without CAP_SYS_ADMIN in its bounding set, as a
//   service with CapabilityBoundingSet=~CAP_SYS_ADMIN (`setpriv --bounding-set -sys_admin`);
// - `nonRootCapSysAdmin`: uid and gid 1000 holding CAP_SYS_ADMIN as an ambient capability, as a
//   service with User= and AmbientCapabilities=CAP_SYS_ADMIN (`setpriv --reuid 1000 ...`).
// Each runs ioctl-server.mjs. A server is started while no case has a FUSE file open (at the
// namespace child's start, or at the start of a case that uses it): spawning copies the fd
// table, and closing those copies at exec sends FLUSH for every FUSE file in it, requests the
// real caller never causes. Each ioctl passes the /dev/fuse fd and, for BACKING_OPEN, the file to
// register: the daemon's own fd, or an O_PATH reopen of it where the caller asks (an O_PATH file
// has no ->flush, so the server's close of its copy sends no FLUSH; BOPEN-16 takes both).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ERRNO } from '../../spec/errno.ts';
import { FUSE_DEV_IOC } from '../../spec/uapi.ts';
import type { Cred } from '../../spec/case.ts';
import { sys } from '../ffi/libc.ts';
import { O } from '../ffi/consts.ts';

export type ServerCred = Exclude<Cred, 'root' | 'noCapSysAdmin'>;

const SERVER = fileURLToPath(new URL('./ioctl-server.mjs', import.meta.url));
/** A server answers at once; this only bounds a dead or wedged one. */
const REPLY_TIMEOUT_MS = 5000;

const COMMAND: Record<ServerCred, [string, string[]]> = {
  userns: ['unshare', ['-U', '--map-root-user']],
  capDroppedProcess: ['setpriv', ['--bounding-set', '-sys_admin', '--inh-caps', '-sys_admin']],
  nonRootCapSysAdmin: ['setpriv', ['--reuid', '1000', '--regid', '1000', '--clear-groups', '--inh-caps', '+sys_admin', '--ambient-caps', '+sys_admin']],
};

const servers = new Map<ServerCred, { sock: number; proc: ChildProcess }>();

/** Start the server for `cred` unless it runs; returns an error message or null. */
export function startIoctlServer(cred: ServerCred): string | null {
  if (servers.has(cred)) return null;
  const pair = sys.seqpacketPair();
  if (typeof pair === 'number') return `socketpair: errno ${-pair}`;
  const [ours, theirs] = pair;
  const [cmd, args] = COMMAND[cred];
  const proc = spawn(cmd, [...args, process.execPath, SERVER], { stdio: ['ignore', 'ignore', 'ignore', theirs] });
  proc.on('error', () => undefined);
  proc.unref();
  sys.close(theirs);
  servers.set(cred, { sock: ours, proc });
  return null;
}

export function stopIoctlServers(): void {
  for (const s of servers.values()) {
    sys.close(s.sock);
    s.proc.kill('SIGKILL');
  }
  servers.clear();
}

/**
 * The ioctl issued by the server for `cred`: its result, or −errno (EIO: no server). `passFd`:
 * the daemon fd a BACKING_OPEN registers; `reopenAsPath`: pass an O_PATH reopen of it instead.
 */
export function serverIoctl(cred: ServerCred, devFd: number, cmd: number, arg: Uint8Array | null, passFd?: number, reopenAsPath = true): number {
  const server = servers.get(cred);
  if (server === undefined) return -ERRNO.EIO;
  const mapFd = arg !== null && passFd !== undefined && cmd === FUSE_DEV_IOC.BACKING_OPEN;
  const fds = [devFd];
  const pathFd = mapFd && reopenAsPath ? sys.open(`/proc/self/fd/${passFd}`, O.PATH | O.CLOEXEC) : -1;
  if (mapFd && reopenAsPath && pathFd < 0) return pathFd;
  if (pathFd >= 0) fds.push(pathFd);
  else if (mapFd) fds.push(passFd!);
  const payload = new TextEncoder().encode(JSON.stringify({ cmd: cmd >>> 0, hex: arg ? Buffer.from(arg).toString('hex') : null, mapFd }));
  const sent = sys.sendWithFds(server.sock, payload, fds);
  if (pathFd >= 0) sys.close(pathFd);
  if (sent < 0) return -ERRNO.EIO;
  const ready = sys.pollIn([server.sock], REPLY_TIMEOUT_MS);
  if (typeof ready === 'number' || !(ready[0]! & 1)) return -ERRNO.EIO;
  const buf = new Uint8Array(64);
  const n = sys.read(server.sock, buf);
  const r = n > 0 ? Number(new TextDecoder().decode(buf.subarray(0, n))) : NaN;
  return Number.isInteger(r) ? r : -ERRNO.EIO;
}
