// libc through koffi, loaded on first use (importing a module that binds syscalls costs nothing
// until one is called), and the one errno convention every binding uses.
import koffi from 'koffi';

/** A getter for the functions `bind` declares, bound from libc.so.6 on the first call. */
export function lazyLibc<T>(bind: (f: (signature: string) => never) => T): () => T {
  let bound: T | null = null;
  return () => {
    if (bound === null) {
      const lib = koffi.load('libc.so.6');
      bound = bind((sig) => lib.func(sig) as never);
    }
    return bound;
  };
}

/** A libc result as the syscall wrappers return it: the value, or −errno on failure. */
export function ret(r: number): number {
  return r < 0 ? -koffi.errno() : r;
}
