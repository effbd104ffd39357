// Loads and stores on a mapping without faulting the process. A load from a page wholly past
// the end of the mapped file raises SIGBUS, and a store to a read-only mapping SIGSEGV: done with
// plain memory access they would kill the namespace child. Through /proc/self/mem the same page
// faults run (filemap_fault, fuse page cache reads, page_mkwrite: the FUSE requests a real load
// or store sends), but a fault that would signal ends the transfer short instead (the access
// fails with EIO, or returns fewer bytes), which we report the way the sim does (sim/mmap.ts):
// errno null and a `crash` fault naming the signal.
import type { TargetFault } from '../../spec/observation.ts';
import { sys } from '../ffi/libc.ts';
import { O } from '../ffi/consts.ts';

export interface MappedAccess {
  /** The bytes loaded, or the signal the load would raise. */
  bytes?: Uint8Array;
  fault?: TargetFault;
}

const SIGBUS_LOAD: TargetFault = { kind: 'crash', message: 'SIGBUS: the load touches a page past the end of the file' };
const SIGBUS_STORE: TargetFault = { kind: 'crash', message: 'SIGBUS: the store touches a page past the end of the file' };
const SIGSEGV_STORE: TargetFault = { kind: 'crash', message: 'store to a read-only mapping (SIGSEGV)' };

export class MappedMemory {
  private fd = -1;

  private mem(): number {
    if (this.fd < 0) {
      this.fd = sys.open('/proc/self/mem', O.RDWR | O.CLOEXEC);
      if (this.fd < 0) throw new Error(`open /proc/self/mem: errno ${-this.fd}`);
    }
    return this.fd;
  }

  /** Load `n` bytes at address `addr` (a mapping's start plus the step's offset). */
  load(addr: bigint, n: number): MappedAccess {
    if (n <= 0) return { bytes: new Uint8Array(0) };
    const buf = new Uint8Array(n);
    const r = sys.pread(this.mem(), buf, n, Number(addr));
    return r === n ? { bytes: buf } : { fault: SIGBUS_LOAD };
  }

  /** Store `data` at `addr`; `writable` is whether the mapping was made with PROT_WRITE. */
  store(addr: bigint, data: Uint8Array, writable: boolean): TargetFault | null {
    // /proc/self/mem writes with FOLL_FORCE, which would store even into a read-only mapping.
    if (!writable) return SIGSEGV_STORE;
    if (data.length === 0) return null;
    const r = sys.pwrite(this.mem(), data, data.length, Number(addr));
    return r === data.length ? null : SIGBUS_STORE;
  }

  close(): void {
    if (this.fd >= 0) sys.close(this.fd);
    this.fd = -1;
  }
}
