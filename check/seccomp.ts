// The seccomp user-notification filter a checked daemon runs under (DESIGN.md "the daemon is
// pluggable"): its backing ioctls and mount calls stop in the kernel and are handed to fusepass,
// which performs them on the real /dev/fuse and answers with the kernel's result. Linux x86-64
// (include/uapi/linux/seccomp.h, filter.h, audit.h); classic BPF built here, no libseccomp.
import { FUSE_DEV_IOC } from '../spec/uapi.ts';

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const NR = { ioctl: 16, mount: 165, fsopen: 430, fsmount: 432, io_uring_setup: 425, seccomp: 317, pidfd_open: 434, pidfd_getfd: 438 } as const;

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
export const NOTIF_RESP_SIZE = 24;

const ENOSYS = 38;

// BPF opcodes (linux/bpf_common.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const RET_K = 0x06;
// Offsets in struct seccomp_data: nr, arch, then args[6] from 16; args[1]'s low word at 24.
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG1_LO = 24;

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** The ioctl commands the filter hands to fusepass: every /dev/fuse ioctl of uapi fuse.h. */
export const TRAPPED_IOCTLS: readonly number[] = [FUSE_DEV_IOC.CLONE, FUSE_DEV_IOC.BACKING_OPEN, FUSE_DEV_IOC.BACKING_CLOSE, FUSE_DEV_IOC.SYNC_INIT];

/**
 * The filter program: on x86-64, ioctl with a /dev/fuse command and mount(2) go to the
 * listener; the new mount API (fsopen) fails with ENOSYS so libraries fall back to mount(2)
 * (libfuse does); io_uring_setup fails with ENOSYS so FUSE-over-io_uring is never attempted
 * (fusepass relays /dev/fuse reads and writes only). Everything else runs.
 */
export function filterProgram(): Uint8Array {
  const p: Insn[] = [];
  const ld = (k: number) => p.push({ code: LD_W_ABS, jt: 0, jf: 0, k });
  const ret = (k: number) => p.push({ code: RET_K, jt: 0, jf: 0, k });
  // Jumps are relative (target = pc + 1 + jt); `to` resolves a label's index once all are laid out.
  const n = TRAPPED_IOCTLS.length;
  const at = { ioctl: 9, retNotif: 11 + n, retEnosys: 12 + n };
  const jeq = (k: number, target: number) => p.push({ code: JEQ_K, jt: target - p.length - 1, jf: 0, k: k >>> 0 });
  ld(OFF_ARCH); // 0
  jeq(AUDIT_ARCH_X86_64, 3); // 1
  ret(SECCOMP_RET_ALLOW); // 2: another ABI (x32, i386): not trapped
  ld(OFF_NR); // 3
  jeq(NR.ioctl, at.ioctl); // 4
  jeq(NR.mount, at.retNotif); // 5
  jeq(NR.fsopen, at.retEnosys); // 6
  jeq(NR.io_uring_setup, at.retEnosys); // 7
  ret(SECCOMP_RET_ALLOW); // 8
  ld(OFF_ARG1_LO); // 9: the ioctl command's low word
  for (const cmd of TRAPPED_IOCTLS) jeq(cmd, at.retNotif); // 10 .. 9 + n
  ret(SECCOMP_RET_ALLOW); // 10 + n
  ret(SECCOMP_RET_USER_NOTIF); // 11 + n
  ret(SECCOMP_RET_ERRNO | ENOSYS); // 12 + n
  if (p.length !== at.retEnosys + 1) throw new Error('seccomp filter layout changed: fix the label indices');
  const out = new Uint8Array(p.length * 8);
  const dv = new DataView(out.buffer);
  p.forEach((insn, i) => {
    dv.setUint16(i * 8, insn.code, true);
    dv.setUint8(i * 8 + 2, insn.jt);
    dv.setUint8(i * 8 + 3, insn.jf);
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
