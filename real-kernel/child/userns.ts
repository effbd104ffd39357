// cred `userns`: the ioctl is issued by a server process that is root of its own user namespace
// (all capabilities there, none in the initial one: BOPEN-5), see userns-ioctl.mjs. It is
// started once per namespace child, before any case opens a FUSE file, so its fd table holds no
// copy of a case's FUSE files: a helper forked per ioctl closed such copies at exec and exit,
// and every close of a FUSE file sends FLUSH, a request the real caller never causes. Each
// ioctl passes it just the /dev/fuse fd and, for BACKING_OPEN, an O_PATH reopen of the file to
// register (an O_PATH file has no ->flush; fuse_backing_open takes O_PATH fds alike, BOPEN-16).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ERRNO } from '../../spec/errno.ts';
import { FUSE_DEV_IOC } from '../../spec/uapi.ts';
import { sys } from '../ffi/libc.ts';
import { O } from '../ffi/consts.ts';

const SERVER = fileURLToPath(new URL('./userns-ioctl.mjs', import.meta.url));
/** The server answers at once; this only bounds a dead or wedged server. */
const REPLY_TIMEOUT_MS = 5000;

let sock = -1;
let server: ChildProcess | null = null;

/** Start the server; call before any case runs. Returns an error message or null. */
export function startUsernsServer(): string | null {
  if (server) return null;
  const pair = sys.seqpacketPair();
  if (typeof pair === 'number') return `socketpair: errno ${-pair}`;
  const [ours, theirs] = pair;
  server = spawn('unshare', ['-U', '--map-root-user', process.execPath, SERVER], { stdio: ['ignore', 'ignore', 'ignore', theirs] });
  server.on('error', () => undefined);
  server.unref();
  sys.close(theirs);
  sock = ours;
  return null;
}

export function stopUsernsServer(): void {
  if (sock >= 0) sys.close(sock);
  sock = -1;
  server?.kill('SIGKILL');
  server = null;
}

/** The ioctl as root of a new user namespace: its result, or −errno (EIO: no server). */
export function usernsIoctl(devFd: number, cmd: number, arg: Uint8Array | null, passFd?: number): number {
  if (sock < 0) return -ERRNO.EIO;
  const mapFd = arg !== null && passFd !== undefined && cmd === FUSE_DEV_IOC.BACKING_OPEN;
  const fds = [devFd];
  const pathFd = mapFd ? sys.open(`/proc/self/fd/${passFd}`, O.PATH | O.CLOEXEC) : -1;
  if (mapFd && pathFd < 0) return pathFd;
  if (pathFd >= 0) fds.push(pathFd);
  const payload = new TextEncoder().encode(JSON.stringify({ cmd: cmd >>> 0, hex: arg ? Buffer.from(arg).toString('hex') : null, mapFd }));
  const sent = sys.sendWithFds(sock, payload, fds);
  if (pathFd >= 0) sys.close(pathFd);
  if (sent < 0) return -ERRNO.EIO;
  const ready = sys.pollIn([sock], REPLY_TIMEOUT_MS);
  if (typeof ready === 'number' || !(ready[0]! & 1)) return -ERRNO.EIO;
  const buf = new Uint8Array(64);
  const n = sys.read(sock, buf);
  const r = n > 0 ? Number(new TextDecoder().decode(buf.subarray(0, n))) : NaN;
  return Number.isInteger(r) ? r : -ERRNO.EIO;
}
