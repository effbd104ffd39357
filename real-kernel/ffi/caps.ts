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
