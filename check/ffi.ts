// The syscalls only `fusepass check` makes (seccomp, execve, socket buffers, another process's
// memory), through koffi like real-kernel/ffi/libc.ts, each returning the result or −errno.
import * as fs from 'node:fs';
import koffi from 'koffi';
import { lazyLibc, ret } from '../real-kernel/ffi/koffi-libc.ts';
import { decodeNotif, NOTIF_ADDFD_SIZE, NOTIF_SIZE, NR, SECCOMP_ADDFD_FLAG_SETFD, SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_IOCTL, SECCOMP_SET_MODE_FILTER, encodeNotifResp, type Notif } from './seccomp.ts';

interface Raw {
  syscall3p: (nr: number, a: number, b: number, c: Uint8Array) => number;
  execve: (path: string, argv: (string | null)[], envp: (string | null)[]) => number;
  setsockopt: (fd: number, level: number, name: number, val: Int32Array, len: number) => number;
  ioctl: (fd: number, req: number, arg: Uint8Array) => number;
}

const load = lazyLibc<Raw>((f) => ({
  syscall3p: f('long syscall(long nr, long a, long b, void *c)'),
  execve: f('int execve(const char *path, const char **argv, const char **envp)'),
  setsockopt: f('int setsockopt(int fd, int level, int name, const void *val, unsigned int len)'),
  ioctl: f('int ioctl(int fd, unsigned long req, void *arg)'),
}));

const PR_SET_NO_NEW_PRIVS = 38;
const SOL_SOCKET = 1;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;

export const checkSys = {
  /**
   * Install `prog` (classic BPF) as a seccomp filter on the calling thread with a user
   * notification listener; returns the listener fd (close-on-exec) or −errno. Sets
   * no_new_privs first, which an unprivileged caller needs and root does not mind.
   */
  installFilter(prog: Uint8Array, prctl: (opt: number, a: number) => number): number {
    const r = prctl(PR_SET_NO_NEW_PRIVS, 1);
    if (r < 0) return r;
    // struct sock_fprog: u16 len, 6 bytes padding, the filter pointer.
    const fprog = new Uint8Array(16);
    const dv = new DataView(fprog.buffer);
    dv.setUint16(0, prog.length / 8, true);
    const mem = koffi.alloc('uint8_t', prog.length);
    koffi.encode(mem, 'uint8_t', Array.from(prog), prog.length);
    dv.setBigUint64(8, BigInt(koffi.address(mem)), true);
    return ret(load().syscall3p(NR.seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, fprog));
  },
  /** Replace this process image; returns −errno only when it failed. */
  execve(path: string, argv: readonly string[], env: readonly string[]): number {
    return ret(load().execve(path, [...argv, null], [...env, null]));
  },
  /** Force both socket buffers of `fd` to `bytes` (needs CAP_NET_ADMIN; falls back silently). */
  forceBuffers(fd: number, bytes: number): void {
    const v = Int32Array.of(bytes);
    load().setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, v, 4);
    load().setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, v, 4);
  },
  /** The next notification on a listener (blocks unless polled first), or −errno. */
  notifRecv(listener: number): Notif | number {
    const b = new Uint8Array(NOTIF_SIZE); // zeroed, as the kernel requires
    const r = ret(load().ioctl(listener, SECCOMP_IOCTL.NOTIF_RECV, b));
    return r < 0 ? r : decodeNotif(b);
  },
  notifSend(listener: number, id: bigint, resp: { val?: number; errno?: number; continue?: boolean }): number {
    return ret(load().ioctl(listener, SECCOMP_IOCTL.NOTIF_SEND, encodeNotifResp(id, resp)));
  },
  /**
   * Put our fd `src` at number `target` in the notifying task's fd table (replacing what was
   * there, close-on-exec off); the number or −errno.
   */
  notifAddFd(listener: number, id: bigint, src: number, target: number): number {
    const b = new Uint8Array(NOTIF_ADDFD_SIZE);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, id, true);
    dv.setUint32(8, SECCOMP_ADDFD_FLAG_SETFD, true);
    dv.setUint32(12, src, true);
    dv.setUint32(16, target, true);
    return ret(load().ioctl(listener, SECCOMP_IOCTL.NOTIF_ADDFD, b));
  },
  /** Is the notification still pending (its thread has not been killed or interrupted)? */
  notifValid(listener: number, id: bigint): boolean {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, id, true);
    return ret(load().ioctl(listener, SECCOMP_IOCTL.NOTIF_ID_VALID, b)) === 0;
  },
};

/** `len` bytes of process `pid`'s memory at `addr` (through /proc/<pid>/mem), or null. */
export function readProcessMemory(pid: number, addr: bigint, len: number): Uint8Array | null {
  let fd = -1;
  try {
    fd = fs.openSync(`/proc/${pid}/mem`, 'r');
    const b = new Uint8Array(len);
    const n = fs.readSync(fd, b, 0, len, Number(addr));
    return n === len ? b : null;
  } catch {
    return null;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** The thread group (process) of thread `tid`, from /proc; null when it is gone. */
export function tgidOf(tid: number): number | null {
  try {
    const m = /^Tgid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${tid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Does thread `tid` hold CAP_SYS_ADMIN in the initial user namespace (BOPEN-5, BCLOSE-5)? The
 * kernel asks capable(CAP_SYS_ADMIN) of the ioctl's caller; fusepass performs the ioctl itself,
 * so it asks the same question of the daemon thread first. fusepass's own user namespace stands
 * for the initial one (/proc/1 may be out of reach): if fusepass is not in it, its own ioctl
 * fails with the same EPERM.
 */
export function hasInitNsSysAdmin(tid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${tid}/status`, 'utf8');
    const eff = /^CapEff:\s+([0-9a-f]+)$/m.exec(status);
    if (!eff || (BigInt(`0x${eff[1]}`) & (1n << 21n)) === 0n) return false;
    return fs.readlinkSync(`/proc/${tid}/ns/user`) === fs.readlinkSync('/proc/self/ns/user');
  } catch {
    return false;
  }
}
