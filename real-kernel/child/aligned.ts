// Page-aligned user buffers for read/write steps. An O_DIRECT file (passthrough to a disk
// backing file, or a FUSE file whose daemon allows direct I/O) rejects a buffer that is not
// aligned to the logical block size with EINVAL, and a JS Uint8Array lives wherever the heap
// put it: a harness artifact, not kernel behaviour. Anonymous mmap memory is page-aligned.
import { sys, type Pointer } from '../ffi/libc.ts';

const PAGE = 4096;

/**
 * Run `use` with `len` bytes of page-aligned memory (`view` is live over it); the memory is
 * unmapped afterwards, so `use` must copy out what it keeps. A failed mmap is thrown: it is a
 * harness failure (the step becomes a `crash` fault), not an outcome of the step.
 */
export function withPageBuffer<T>(len: number, use: (p: Pointer, view: Uint8Array) => T): T {
  const size = Math.max(PAGE, Math.ceil(len / PAGE) * PAGE);
  const p = sys.anon(size);
  if (typeof p === 'number') throw new Error(`mmap of a ${size}-byte I/O buffer failed: errno ${-p}`);
  try {
    return use(p, sys.view(p, size).subarray(0, len));
  } finally {
    sys.munmap(p, size);
  }
}
