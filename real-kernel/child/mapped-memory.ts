// Loads and stores on a mapping without faulting the process. A load from a page wholly past
// the end of the mapped file raises SIGBUS, and a store to a read-only mapping SIGSEGV: done with
// plain memory access they would kill the namespace child. Through /proc/self/mem the same page
// faults run (filemap_fault, fuse page cache reads, page_mkwrite: the FUSE requests a real load
// or store sends), but a fault that would signal ends the transfer short instead (the access
// fails with EIO, or returns fewer bytes), which we report the way the sim does (sim/mmap.ts):
// errno null and a `crash` fault naming the signal.
//
// /proc/self/mem faults the pages in under mmap_read_lock and keeps it while the FUSE request is
// in flight; our daemon is a thread of this process, and a V8 mprotect or mmap of its waits for
// mmap_write_lock behind the reader: a deadlock (a 1 MiB mapRead hung every time; the case
// iom-mmap-cached-file-no-mode-change now and then under load). So the pages are populated
// first with MADV_POPULATE_READ / _WRITE, whose faults drop the lock for I/O as a real load's do;
// the /proc/self/mem transfer then finds them present. A page that would raise SIGBUS stops the
// populate (EFAULT) and is left to the transfer, which reports it.
import { SIGBUS_LOAD, SIGBUS_STORE, type TargetFault } from '../../spec/observation.ts';
import { sys } from '../ffi/libc.ts';
import { O } from '../ffi/consts.ts';

export interface MappedAccess {
  /** The bytes loaded, or the signal the load would raise. */
  bytes?: Uint8Array;
  fault?: TargetFault;
}

const PAGE = 4096;
/** include/uapi/asm-generic/mman-common.h (Linux 5.14). */
const MADV_POPULATE_READ = 22;
const MADV_POPULATE_WRITE = 23;

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

  /** Fault in the pages of [addr, addr + n) without holding mmap_lock across the I/O. */
  private populate(addr: bigint, n: number, write: boolean): void {
    const start = addr & ~BigInt(PAGE - 1);
    const end = (addr + BigInt(n) + BigInt(PAGE - 1)) & ~BigInt(PAGE - 1);
    sys.madvise(start, Number(end - start), write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
  }

  /** Load `n` bytes at address `addr` (a mapping's start plus the step's offset). */
  load(addr: bigint, n: number): MappedAccess {
    if (n <= 0) return { bytes: new Uint8Array(0) };
    this.populate(addr, n, false);
    const buf = new Uint8Array(n);
    const r = sys.pread(this.mem(), buf, n, Number(addr));
    return r === n ? { bytes: buf } : { fault: SIGBUS_LOAD };
  }

  /** Store `data` at `addr`; `writable` is whether the mapping was made with PROT_WRITE. */
  store(addr: bigint, data: Uint8Array, writable: boolean): TargetFault | null {
    // /proc/self/mem writes with FOLL_FORCE, which would store even into a read-only mapping.
    if (!writable) return SIGSEGV_STORE;
    if (data.length === 0) return null;
    this.populate(addr, data.length, true);
    const r = sys.pwrite(this.mem(), data, data.length, Number(addr));
    return r === data.length ? null : SIGBUS_STORE;
  }

  close(): void {
    if (this.fd >= 0) sys.close(this.fd);
    this.fd = -1;
  }
}
