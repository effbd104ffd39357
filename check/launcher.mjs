// The checked daemon's first moments (plain JS, started by check/daemon-process.ts with the
// daemon's command line): die with the parent, install the seccomp filter the parent built
// (hex in FUSEPASS_SECCOMP_FILTER) with a user-notification listener, tell the parent the
// listener's fd number on fd 3, wait until the parent has taken a copy (pidfd_getfd), then
// execve the daemon. The filter stays on this thread, which becomes the daemon; node's other
// threads die at execve. argv: <daemon path> <argv0> <args...>
import koffi from 'koffi';
import { readSync, writeSync } from 'node:fs';

const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int opt, unsigned long a, unsigned long b, unsigned long c, unsigned long d)');
const syscall = libc.func('long syscall(long nr, long a, long b, void *c)');
const execve = libc.func('int execve(const char *path, const char **argv, const char **envp)');
const fcntl = libc.func('int fcntl(int fd, int cmd, int arg)');
const setpgid = libc.func('int setpgid(int pid, int pgid)');

const CTL = 3;
const PR_SET_PDEATHSIG = 1;
const PR_SET_NO_NEW_PRIVS = 38;
const SIGKILL = 9;
const NR_SECCOMP = 317;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;

function fail(msg) {
  try {
    writeSync(CTL, `error ${msg}\n`);
  } catch {
    /* the parent is gone */
  }
  process.exit(127);
}

const [path, ...argv] = process.argv.slice(2);
const filterHex = process.env.FUSEPASS_SECCOMP_FILTER ?? '';
const env = Object.entries(process.env)
  .filter(([k]) => !k.startsWith('FUSEPASS_SECCOMP_'))
  .map(([k, v]) => `${k}=${v}`);
if (!path || filterHex === '') fail('launcher: missing daemon path or filter');

if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail(`prctl(PR_SET_PDEATHSIG): errno ${koffi.errno()}`);
// A process group of its own: whatever the daemon spawns is killed with it (check/child-main.ts,
// and the guardian if fusepass itself is killed).
if (setpgid(0, 0) < 0) fail(`setpgid: errno ${koffi.errno()}`);
if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(`prctl(PR_SET_NO_NEW_PRIVS): errno ${koffi.errno()}`);
const prog = Buffer.from(filterHex, 'hex');
const mem = koffi.alloc('uint8_t', prog.length);
koffi.encode(mem, 'uint8_t', Array.from(prog), prog.length);
const fprog = Buffer.alloc(16);
fprog.writeUInt16LE(prog.length / 8, 0);
fprog.writeBigUInt64LE(BigInt(koffi.address(mem)), 8);
const listener = syscall(NR_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, fprog);
if (listener < 0) fail(`seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): errno ${koffi.errno()} (seccomp user notification unavailable)`);

writeSync(CTL, `listener ${listener}\n`);
// The parent answers one byte once it holds the listener: exec'ing earlier would close the only
// copy (it is close-on-exec) and every trapped call would fail with ENOSYS instead.
const ack = Buffer.alloc(1);
if (readSync(CTL, ack, 0, 1, null) !== 1 || ack[0] !== 0x31) process.exit(127);
// The control channel must not leak into the daemon; its stdio and session fds must reach it
// (node marks the fds it inherited close-on-exec when it sets up its streams).
fcntl(CTL, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
for (const fd of (process.env.FUSEPASS_SECCOMP_KEEP_FDS ?? '0,1,2').split(',').map(Number)) {
  if (fcntl(fd, 2 /* F_SETFD */, 0) < 0) fail(`fd ${fd} is not open in the launcher (errno ${koffi.errno()})`);
}
const r = execve(path, [...argv, null], [...env, null]);
fail(`execve ${path}: errno ${r < 0 ? koffi.errno() : r}`);
