// The seccomp user-notification filter a checked daemon runs under (DESIGN.md "the daemon is
// pluggable"): its backing ioctls and mount calls stop in the kernel and are handed to fusepass,
// which performs them on the real /dev/fuse and answers with the kernel's result. Linux x86-64
// (include/uapi/linux/seccomp.h, filter.h, audit.h); classic BPF built here, no libseccomp.
import { FUSE_DEV_IOC } from '../spec/uapi.ts';

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const NR = { read: 0, readv: 19, recvfrom: 45, recvmsg: 47, splice: 275, ioctl: 16, mount: 165, fsopen: 430, fsmount: 432, io_uring_setup: 425, seccomp: 317, pidfd_open: 434, pidfd_getfd: 438 } as const;

export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_ERRNO = 0x00050000;
/** Answer flag: let the trapped syscall run as it was made (not our session fd). */
export const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;

export const SECCOMP_IOCTL = {
  NOTIF_RECV: 0xc0502100,
  NOTIF_SEND: 0xc0182101,
  NOTIF_ID_VALID: 0x40082102,
  NOTIF_ADDFD: 0x40182103,
} as const;

export const NOTIF_SIZE = 80;
/** struct seccomp_notif_addfd, and its flag to put the fd at a given number (dup2-like). */
export const NOTIF_ADDFD_SIZE = 24;
export const SECCOMP_ADDFD_FLAG_SETFD = 1;
export const NOTIF_RESP_SIZE = 24;

const ENOSYS = 38;

// BPF opcodes (linux/bpf_common.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const RET_K = 0x06;
// Offsets in struct seccomp_data: nr, arch, then args[6] from 16; args[1]'s low word at 24.
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LO = 16;
const OFF_ARG1_LO = 24;

/** The ioctl commands the filter hands to fusepass: every /dev/fuse ioctl of uapi fuse.h. */
export const TRAPPED_IOCTLS: readonly number[] = [FUSE_DEV_IOC.CLONE, FUSE_DEV_IOC.BACKING_OPEN, FUSE_DEV_IOC.BACKING_CLOSE, FUSE_DEV_IOC.SYNC_INIT];

/** Syscalls that read a request from the session fd: trapped when their fd is the session. */
export const SESSION_READS: readonly number[] = [NR.read, NR.readv, NR.recvfrom, NR.recvmsg, NR.splice];

/**
 * The filter program: on x86-64, ioctl with a /dev/fuse command and mount(2) go to the listener,
 * and so does every read of a request from the session fd (`sessionFd`; for splice, its fd_in;
 * null when the daemon mounts by itself and the number is learnt from its mount(2): then every
 * read-like call, the relay letting the others through at once):
 * the relay lets each through when a request is queued for it, and when the connection has
 * ended it first puts the dead /dev/fuse fd in the session's place, so the daemon's read fails
 * with ENODEV as the kernel's would (not EOF). The new mount API (fsopen) fails with ENOSYS so
 * libraries fall back to mount(2) (libfuse does); io_uring_setup fails with ENOSYS so
 * FUSE-over-io_uring is never attempted. Everything else runs.
 */
export function filterProgram(sessionFd: number | null): Uint8Array {
  // A tiny assembler: jumps name a label; labels resolve to relative offsets at the end.
  type Asm = { code: number; k: number; to?: string } | { label: string };
  const asm: Asm[] = [];
  const ld = (k: number) => asm.push({ code: LD_W_ABS, k });
  const ret = (k: number) => asm.push({ code: RET_K, k });
  const jeq = (k: number, to: string) => asm.push({ code: JEQ_K, k: k >>> 0, to });
  const label = (name: string) => asm.push({ label: name });
  ld(OFF_ARCH);
  jeq(AUDIT_ARCH_X86_64, 'native');
  ret(SECCOMP_RET_ALLOW); // another ABI (x32, i386): not trapped
  label('native');
  ld(OFF_NR);
  jeq(NR.ioctl, 'ioctl');
  jeq(NR.mount, 'notify');
  jeq(NR.fsopen, 'enosys');
  jeq(NR.io_uring_setup, 'enosys');
  for (const nr of SESSION_READS) jeq(nr, 'read');
  ret(SECCOMP_RET_ALLOW);
  label('read');
  if (sessionFd === null) ret(SECCOMP_RET_USER_NOTIF); // mount mode: the number is not known yet
  else {
    ld(OFF_ARG0_LO);
    jeq(sessionFd, 'notify');
    ret(SECCOMP_RET_ALLOW);
  }
  label('ioctl');
  ld(OFF_ARG1_LO); // the ioctl command's low word
  for (const cmd of TRAPPED_IOCTLS) jeq(cmd, 'notify');
  ret(SECCOMP_RET_ALLOW);
  label('notify');
  ret(SECCOMP_RET_USER_NOTIF);
  label('enosys');
  ret(SECCOMP_RET_ERRNO | ENOSYS);

  const insns = asm.filter((x): x is Exclude<Asm, { label: string }> => !('label' in x));
  const at = new Map<string, number>();
  let pc = 0;
  for (const x of asm) {
    if ('label' in x) at.set(x.label, pc);
    else pc++;
  }
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach((insn, i) => {
    const jt = insn.to === undefined ? 0 : at.get(insn.to)! - i - 1;
    if (jt < 0 || jt > 255) throw new Error(`seccomp filter: jump to ${insn.to} out of range`);
    dv.setUint16(i * 8, insn.code, true);
    dv.setUint8(i * 8 + 2, jt);
    dv.setUint8(i * 8 + 3, 0);
    dv.setUint32(i * 8 + 4, insn.k, true);
  });
  return out;
}

/** A classic-BPF interpreter for the subset above: what the filter answers for one syscall. */
export function runFilter(prog: Uint8Array, data: { nr: number; arch: number; args: readonly number[] }): number {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const word = (off: number): number => {
    if (off === OFF_NR) return data.nr;
    if (off === OFF_ARCH) return data.arch;
    const arg = (off - 16) >> 3;
    return Number(BigInt.asUintN(32, BigInt(data.args[arg] ?? 0)));
  };
  let a = 0;
  for (let pc = 0; pc * 8 < prog.length; pc++) {
    const code = dv.getUint16(pc * 8, true);
    const jt = dv.getUint8(pc * 8 + 2);
    const jf = dv.getUint8(pc * 8 + 3);
    const k = dv.getUint32(pc * 8 + 4, true);
    if (code === LD_W_ABS) a = word(k);
    else if (code === JEQ_K) pc += a >>> 0 === k ? jt : jf;
    else if (code === RET_K) return k;
    else throw new Error(`unexpected BPF opcode ${code}`);
  }
  throw new Error('BPF program fell off its end');
}

export interface Notif {
  id: bigint;
  /** The thread that made the call (a tid, in our pid namespace). */
  pid: number;
  nr: number;
  arch: number;
  args: bigint[];
}

export function decodeNotif(b: Uint8Array): Notif {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const args: bigint[] = [];
  for (let i = 0; i < 6; i++) args.push(dv.getBigUint64(32 + i * 8, true));
  return { id: dv.getBigUint64(0, true), pid: dv.getUint32(8, true), nr: dv.getInt32(16, true), arch: dv.getUint32(20, true), args };
}

/** struct seccomp_notif_resp: `val` as the syscall's result, or `error` (a positive errno). */
export function encodeNotifResp(id: bigint, r: { val?: number; errno?: number; continue?: boolean }): Uint8Array {
  const b = new Uint8Array(NOTIF_RESP_SIZE);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, id, true);
  dv.setBigInt64(8, BigInt(r.val ?? 0), true);
  dv.setInt32(16, r.errno ? -r.errno : 0, true);
  dv.setUint32(20, r.continue ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0, true);
  return b;
}
