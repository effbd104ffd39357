// Per-thread capabilities (capget/capset act on the calling thread): a daemon "without
// CAP_SYS_ADMIN" is the ioctl-issuing thread with that bit cleared from its effective set, kept
// in the permitted set so the thread can raise it back afterwards (kernel-spec Appendix B).
import { sys } from './libc.ts';
import { CAP_SYS_ADMIN, LINUX_CAPABILITY_VERSION_3 } from './consts.ts';

function header(): Uint8Array {
  const h = new Uint8Array(8);
  new DataView(h.buffer).setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  return h;
}

/** Set or clear CAP_SYS_ADMIN in the calling thread's effective set; 0 or −errno. */
export function setEffectiveSysAdmin(on: boolean): number {
  const data = new Uint8Array(24);
  const r = sys.capget(header(), data);
  if (r < 0) return r;
  const dv = new DataView(data.buffer);
  const eff = dv.getUint32(0, true);
  dv.setUint32(0, on ? eff | (1 << CAP_SYS_ADMIN) : eff & ~(1 << CAP_SYS_ADMIN), true);
  return sys.capset(header(), data);
}

/**
 * Run `fn` as uid and gid 65534 on this thread only, then back to root: raw setresuid/setresgid
 * (glibc's wrappers would change every thread, the daemon workers too). The saved ids stay 0,
 * so the thread may return, and its effective capabilities come back from the permitted set.
 */
export function asNobody<T>(fn: () => T): T {
  const SYS_SETRESUID = 117;
  const SYS_SETRESGID = 119;
  const g = sys.syscall3(SYS_SETRESGID, -1, 65534, -1);
  if (g < 0) throw new Error(`setresgid(-1, 65534, -1) failed: errno ${-g}`);
  const u = sys.syscall3(SYS_SETRESUID, -1, 65534, -1);
  if (u < 0) {
    sys.syscall3(SYS_SETRESGID, -1, 0, -1);
    throw new Error(`setresuid(-1, 65534, -1) failed: errno ${-u}`);
  }
  try {
    return fn();
  } finally {
    const back = sys.syscall3(SYS_SETRESUID, -1, 0, -1);
    sys.syscall3(SYS_SETRESGID, -1, 0, -1);
    if (back < 0) throw new Error(`setresuid back to root failed: errno ${-back}`);
  }
}

/** Run `fn` with CAP_SYS_ADMIN dropped from this thread's effective set, then raise it again. */
export function withoutSysAdmin<T>(fn: () => T): T {
  const r = setEffectiveSysAdmin(false);
  if (r < 0) throw new Error(`capset drop CAP_SYS_ADMIN failed: errno ${-r}`);
  try {
    return fn();
  } finally {
    setEffectiveSysAdmin(true);
  }
}
