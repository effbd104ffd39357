// The launcher and filter, end to end on this machine (no root needed): a program started
// through launchDaemon has its /dev/fuse ioctls stop at fusepass, which reads their argument
// from the daemon's memory and answers them; other ioctls, fsopen and io_uring_setup behave as
// the filter says.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sys } from '../real-kernel/ffi/libc.ts';
import { FUSE_DEV_IOC } from '../spec/uapi.ts';
import { checkSys, readProcessMemory, tgidOf } from './ffi.ts';
import { launchDaemon, LaunchError, resolveCommand } from './daemon-process.ts';
import { NR } from './seccomp.ts';

const python = (() => {
  try {
    return resolveCommand('python3');
  } catch {
    return null;
  }
})();

// A stand-in daemon: BACKING_OPEN with fd 7 and flags 5 on its fd 4, then a harmless ioctl
// (TCGETS) and fsopen; prints what each returned.
const SCRIPT = `
import fcntl, struct, os, ctypes
arg = bytearray(struct.pack('<iIQ', 7, 5, 0))
try:
    r = fcntl.ioctl(4, ${FUSE_DEV_IOC.BACKING_OPEN}, arg)
    print('backing_open', r)
except OSError as e:
    print('backing_open errno', e.errno)
try:
    fcntl.ioctl(4, 0x5401, bytearray(60))
    print('tcgets ok')
except OSError as e:
    print('tcgets errno', e.errno)
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(${NR.fsopen}, b'fuse', 0)
print('fsopen', r, ctypes.get_errno())
`;

describe.skipIf(python === null)('launcher: seccomp user notification of /dev/fuse ioctls', () => {
  it('traps BACKING_OPEN, hands fusepass its argument, returns fusepass answer; fsopen is ENOSYS', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fusepass-launch-'));
    const pair = sys.seqpacketPair();
    if (typeof pair === 'number') throw new Error(`socketpair: ${pair}`);
    const d = await launchDaemon([python!, '-c', SCRIPT], { fd: pair[1], at: 4 }, path.join(dir, 'log'), 5000);
    sys.close(pair[1]);
    const deadline = Date.now() + 5000;
    let seen: { pid: number; cmd: number; map: Uint8Array | null } | null = null;
    while (seen === null && Date.now() < deadline) {
      const rev = sys.pollIn([d.listener], 100);
      if (typeof rev === 'number' || !rev[0]) continue;
      const n = checkSys.notifRecv(d.listener);
      if (typeof n === 'number') continue;
      // Every read-like call is trapped too (the relay tells sessions from other fds): let
      // those, and anything but BACKING_OPEN, run as made.
      if (n.nr !== NR.ioctl || Number(n.args[1]! & 0xffffffffn) !== FUSE_DEV_IOC.BACKING_OPEN >>> 0) {
        checkSys.notifSend(d.listener, n.id, { continue: true });
        continue;
      }
      const map = readProcessMemory(n.pid, n.args[2]!, 16);
      seen = { pid: n.pid, cmd: Number(n.args[1]! & 0xffffffffn), map };
      expect(checkSys.notifValid(d.listener, n.id)).toBe(true);
      checkSys.notifSend(d.listener, n.id, { val: 42 });
    }
    const exit = await d.exited;
    const out = fs.readFileSync(d.logFile, 'utf8');
    expect(exit.code).toBe(0);
    expect(seen?.cmd).toBe(FUSE_DEV_IOC.BACKING_OPEN >>> 0);
    expect(tgidOf(seen!.pid) ?? d.pid).toBe(d.pid);
    const dv = new DataView(seen!.map!.buffer);
    expect([dv.getInt32(0, true), dv.getUint32(4, true)]).toEqual([7, 5]);
    expect(out).toContain('backing_open 42');
    expect(out).toContain('tcgets errno 25'); // ENOTTY on a socket: not trapped, really run
    expect(out).toContain('fsopen -1 38');
    sys.close(d.listener);
    fs.rmSync(dir, { recursive: true });
  });

  it('a daemon that does not exist is a LaunchError naming it', async () => {
    await expect(launchDaemon(['/nonexistent/daemon'], null, '/dev/null', 1000)).rejects.toThrow(LaunchError);
    await expect(launchDaemon(['/nonexistent/daemon'], null, '/dev/null', 1000)).rejects.toThrow(/\/nonexistent\/daemon does not exist/);
  });

  it('the filter only traps on the calling thread: the launcher parent is unaffected', () => {
    expect(execFileSync(python!, ['-c', 'print(1)']).toString().trim()).toBe('1');
  });
});
