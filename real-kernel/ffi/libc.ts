// The syscall layer: glibc functions through koffi, each returning the result or −errno
// (kernel style), so callers handle errors as values. Loaded lazily: importing this module on a
// machine without koffi's native part must not crash the sim-only paths.
import koffi from 'koffi';
import { lazyLibc, ret } from './koffi-libc.ts';
import { AT_FDCWD, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './consts.ts';

/** An opaque pointer as koffi returns it (mmap). */
export type Pointer = object;

interface Raw {
  open: (p: string, f: number, m: number) => number;
  close: (fd: number) => number;
  read: (fd: number, b: Uint8Array | Pointer, n: number) => number;
  write: (fd: number, b: Uint8Array | Pointer, n: number) => number;
  pread: (fd: number, b: Uint8Array | Pointer, n: number, off: number) => number;
  pwrite: (fd: number, b: Uint8Array | Pointer, n: number, off: number) => number;
  ioctl: (fd: number, req: number, arg: Uint8Array | null) => number;
  mount: (src: string | null, tgt: string, type: string | null, flags: number, data: string | null) => number;
  umount2: (tgt: string, flags: number) => number;
  truncate: (path: string, len: number) => number;
  unlink: (path: string) => number;
  clock_gettime: (clk: number, ts: Uint8Array) => number;
  openat: (dirfd: number, path: string, flags: number, mode: number) => number;
  rename: (from: string, to: string) => number;
  capget: (hdr: Uint8Array, data: Uint8Array) => number;
  capset: (hdr: Uint8Array, data: Uint8Array) => number;
  unshare: (flags: number) => number;
  setns: (fd: number, nstype: number) => number;
  prctl: (opt: number, a: number, b: number, c: number, d: number) => number;
  inotify_init1: (flags: number) => number;
  inotify_add_watch: (fd: number, path: string, mask: number) => number;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => Pointer;
  munmap: (p: Pointer, len: number) => number;
  msync: (p: Pointer, len: number, flags: number) => number;
  splice: (fdIn: number, offIn: BigInt64Array | null, fdOut: number, offOut: BigInt64Array | null, len: number, flags: number) => number;
  pipe2: (fds: Int32Array, flags: number) => number;
  statx: (dirfd: number, path: string, flags: number, mask: number, buf: Uint8Array) => number;
  lseek: (fd: number, off: number, whence: number) => number;
  ftruncate: (fd: number, len: number) => number;
  fsync: (fd: number) => number;
  fdatasync: (fd: number) => number;
  fallocate: (fd: number, mode: number, off: number, len: number) => number;
  copy_file_range: (fdIn: number, offIn: Uint8Array | null, fdOut: number, offOut: Uint8Array | null, len: number, flags: number) => number;
  sendfile: (outFd: number, inFd: number, off: Uint8Array | null, count: number) => number;
  madvise: (addr: bigint, len: number, advice: number) => number;
  flock: (fd: number, op: number) => number;
  posix_fallocate: (fd: number, off: number, len: number) => number;
  fcntl: (fd: number, cmd: number, arg: Uint8Array) => number;
  syscall0: (nr: number) => number;
  syscall3: (nr: number, a: number, b: number, c: number) => number;
  poll: (fds: Uint8Array, n: number, timeout: number) => number;
  eventfd: (initval: number, flags: number) => number;
  mknod: (path: string, mode: number, dev: number) => number;
  mkfifo: (path: string, mode: number) => number;
  memfd_create: (name: string, flags: number) => number;
  socket: (domain: number, type: number, proto: number) => number;
  bind: (fd: number, addr: Uint8Array, len: number) => number;
  getpid: () => number;
  getppid: () => number;
  fgetxattr: (fd: number, name: string, buf: Uint8Array, n: number) => number;
  _exit: (code: number) => void;
  getdents64: (nr: number, fd: number, buf: Uint8Array, n: number) => number;
  readlink: (path: string, buf: Uint8Array, n: number) => number;
  dlsym: (handle: null, name: string) => Pointer | null;
  sigaction: (sig: number, act: Uint8Array, old: null) => number;
  socketpair: (domain: number, type: number, proto: number, sv: Int32Array) => number;
  fcntl_int: (fd: number, cmd: number, arg: number) => number;
  sendmsg: (fd: number, msg: Pointer, flags: number) => number;
}

const load = lazyLibc<Raw>((f) => ({
  open: f('int open(const char *path, int flags, int mode)'),
  close: f('int close(int fd)'),
  read: f('long read(int fd, void *buf, unsigned long n)'),
  write: f('long write(int fd, const void *buf, unsigned long n)'),
  pread: f('long pread(int fd, void *buf, unsigned long n, long off)'),
  pwrite: f('long pwrite(int fd, const void *buf, unsigned long n, long off)'),
  ioctl: f('int ioctl(int fd, unsigned long req, void *arg)'),
  mount: f('int mount(const char *src, const char *tgt, const char *type, unsigned long flags, const char *data)'),
  umount2: f('int umount2(const char *tgt, int flags)'),
  truncate: f('int truncate(const char *path, long len)'),
  unlink: f('int unlink(const char *path)'),
  clock_gettime: f('int clock_gettime(int clk, void *ts)'),
  openat: f('int openat(int dirfd, const char *path, int flags, int mode)'),
  rename: f('int rename(const char *from, const char *to)'),
  capget: f('int capget(void *hdr, void *data)'),
  capset: f('int capset(void *hdr, void *data)'),
  unshare: f('int unshare(int flags)'),
  setns: f('int setns(int fd, int nstype)'),
  prctl: f('int prctl(int opt, unsigned long a, unsigned long b, unsigned long c, unsigned long d)'),
  inotify_init1: f('int inotify_init1(int flags)'),
  inotify_add_watch: f('int inotify_add_watch(int fd, const char *path, uint32_t mask)'),
  mmap: f('void *mmap(void *addr, unsigned long len, int prot, int flags, int fd, long off)'),
  munmap: f('int munmap(void *p, unsigned long len)'),
  msync: f('int msync(void *p, unsigned long len, int flags)'),
  splice: f('long splice(int fdIn, void *offIn, int fdOut, void *offOut, unsigned long len, unsigned int flags)'),
  pipe2: f('int pipe2(void *fds, int flags)'),
  statx: f('int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf)'),
  lseek: f('long lseek(int fd, long off, int whence)'),
  ftruncate: f('int ftruncate(int fd, long len)'),
  fsync: f('int fsync(int fd)'),
  fdatasync: f('int fdatasync(int fd)'),
  fallocate: f('int fallocate(int fd, int mode, long off, long len)'),
  copy_file_range: f('long copy_file_range(int fdIn, void *offIn, int fdOut, void *offOut, unsigned long len, unsigned int flags)'),
  sendfile: f('long sendfile(int outFd, int inFd, void *off, unsigned long count)'),
  madvise: f('int madvise(uintptr_t addr, unsigned long len, int advice)'),
  flock: f('int flock(int fd, int op)'),
  posix_fallocate: f('int posix_fallocate(int fd, long off, long len)'),
  fcntl: f('int fcntl(int fd, int cmd, void *arg)'),
  syscall0: f('long syscall(long nr)'),
  syscall3: f('long syscall(long nr, long a, long b, long c)'),
  poll: f('int poll(void *fds, unsigned long n, int timeout)'),
  eventfd: f('int eventfd(unsigned int initval, int flags)'),
  mknod: f('int mknod(const char *path, unsigned int mode, unsigned long dev)'),
  mkfifo: f('int mkfifo(const char *path, unsigned int mode)'),
  memfd_create: f('int memfd_create(const char *name, unsigned int flags)'),
  socket: f('int socket(int domain, int type, int proto)'),
  bind: f('int bind(int fd, const void *addr, unsigned int len)'),
  getpid: f('int getpid()'),
  getppid: f('int getppid()'),
  fgetxattr: f('long fgetxattr(int fd, const char *name, void *buf, unsigned long n)'),
  _exit: f('void _exit(int code)'),
  getdents64: f('long syscall(long nr, int fd, void *buf, unsigned long n)'),
  readlink: f('long readlink(const char *path, void *buf, unsigned long n)'),
  dlsym: f('void *dlsym(void *handle, const char *name)'),
  sigaction: f('int sigaction(int sig, const void *act, void *old)'),
  socketpair: f('int socketpair(int domain, int type, int proto, void *sv)'),
  fcntl_int: f('int fcntl(int fd, int cmd, int arg)'),
  sendmsg: f('long sendmsg(int fd, const void *msg, int flags)'),
}));

/** −errno when the call failed (returned a negative value), else the result. */
/** An loff_t the kernel reads (and may advance), or NULL for none. */
function loff(off: number | undefined): Uint8Array | null {
  if (off === undefined) return null;
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(off), true);
  return b;
}

export const sys = {
  open: (path: string, flags: number, mode = 0o644): number => ret(load().open(path, flags, mode)),
  close: (fd: number): number => ret(load().close(fd)),
  read: (fd: number, buf: Uint8Array, n = buf.length): number => ret(load().read(fd, buf, n)),
  write: (fd: number, buf: Uint8Array, n = buf.length): number => ret(load().write(fd, buf, n)),
  pread: (fd: number, buf: Uint8Array, n: number, off: number): number => ret(load().pread(fd, buf, n, off)),
  pwrite: (fd: number, buf: Uint8Array, n: number, off: number): number => ret(load().pwrite(fd, buf, n, off)),
  ioctl: (fd: number, req: number, arg: Uint8Array | null): number => ret(load().ioctl(fd, req >>> 0, arg)),
  mount: (src: string | null, tgt: string, type: string | null, flags: number, data: string | null): number =>
    ret(load().mount(src, tgt, type, flags, data)),
  umount2: (tgt: string, flags: number): number => ret(load().umount2(tgt, flags)),
  /** truncate(2) by path: no open, so no inotify open/close events on the file. */
  truncate: (path: string, len: number): number => ret(load().truncate(path, len)),
  unlink: (path: string): number => ret(load().unlink(path)),
  /** CLOCK_REALTIME_COARSE (5) in nanoseconds: the clock current_time() stamps inodes with. */
  coarseNowNs: (): bigint => {
    const ts = new Uint8Array(16);
    load().clock_gettime(5, ts);
    const dv = new DataView(ts.buffer);
    return dv.getBigInt64(0, true) * 1_000_000_000n + dv.getBigInt64(8, true);
  },
  openat: (dirfd: number, path: string, flags: number, mode = 0o644): number => ret(load().openat(dirfd, path, flags, mode)),
  /** A raw syscall of up to three arguments (thread-local where glibc's wrapper is not). */
  syscall3: (nr: number, a: number, b: number, c: number): number => ret(load().syscall3(nr, a, b, c)),
  rename: (from: string, to: string): number => ret(load().rename(from, to)),
  capget: (hdr: Uint8Array, data: Uint8Array): number => ret(load().capget(hdr, data)),
  capset: (hdr: Uint8Array, data: Uint8Array): number => ret(load().capset(hdr, data)),
  unshare: (flags: number): number => ret(load().unshare(flags)),
  setns: (fd: number, nstype: number): number => ret(load().setns(fd, nstype)),
  prctl: (opt: number, a: number, b = 0, c = 0, d = 0): number => ret(load().prctl(opt, a, b, c, d)),
  inotifyInit: (flags: number): number => ret(load().inotify_init1(flags)),
  inotifyAddWatch: (fd: number, path: string, mask: number): number => ret(load().inotify_add_watch(fd, path, mask >>> 0)),
  /** The mapping, or −errno. */
  mmap: (len: number, prot: number, flags: number, fd: number, off = 0): Pointer | number => {
    const p = load().mmap(null, len, prot, flags, fd, off);
    return koffi.address(p) === 0xffffffffffffffffn ? -koffi.errno() : p;
  },
  munmap: (p: Pointer, len: number): number => ret(load().munmap(p, len)),
  /** Anonymous private read-write memory (page-aligned), or −errno. */
  anon: (len: number): Pointer | number => sys.mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1),
  /** read(2)/pread(2) into raw memory (`off` null: at the file position). */
  readPtr: (fd: number, p: Pointer, n: number, off: number | null): number =>
    ret(off === null ? load().read(fd, p, n) : load().pread(fd, p, n, off)),
  /** write(2)/pwrite(2) from raw memory (`off` null: at the file position). */
  writePtr: (fd: number, p: Pointer, n: number, off: number | null): number =>
    ret(off === null ? load().write(fd, p, n) : load().pwrite(fd, p, n, off)),
  msync: (p: Pointer, len: number, flags: number): number => ret(load().msync(p, len, flags)),
  /** Bytes of a mapping, live (reads and writes go to the mapped pages). */
  view: (p: Pointer, len: number): Uint8Array => new Uint8Array(koffi.view(p, len)),
  splice: (fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, len: number, flags = 0): number =>
    ret(
      load().splice(
        fdIn,
        offIn === null ? null : BigInt64Array.of(BigInt(offIn)),
        fdOut,
        offOut === null ? null : BigInt64Array.of(BigInt(offOut)),
        len,
        flags,
      ),
    ),
  /** fcntl(F_DUPFD_CLOEXEC): a new fd for the same open file, or −errno. */
  dupCloexec: (fd: number): number => ret(load().fcntl_int(fd, 1030, 0)),
  /** [readFd, writeFd] or −errno. */
  pipe: (flags = 0): [number, number] | number => {
    const fds = new Int32Array(2);
    const r = ret(load().pipe2(fds, flags));
    return r < 0 ? r : [fds[0]!, fds[1]!];
  },
  /** struct statx (256 bytes) of a path or (with AT_EMPTY_PATH and path '') of an fd. */
  statx: (dirfd: number, path: string, flags: number, mask: number, buf: Uint8Array): number =>
    ret(load().statx(dirfd, path, flags, mask, buf)),
  lseek: (fd: number, off: number, whence: number): number => ret(load().lseek(fd, off, whence)),
  ftruncate: (fd: number, len: number): number => ret(load().ftruncate(fd, len)),
  fsync: (fd: number): number => ret(load().fsync(fd)),
  fdatasync: (fd: number): number => ret(load().fdatasync(fd)),
  fallocate: (fd: number, mode: number, off: number, len: number): number => ret(load().fallocate(fd, mode, off, len)),
  /** copy_file_range(2); an offset given is passed as a loff_t the kernel reads and advances. */
  copyFileRange: (fdIn: number, fdOut: number, len: number, offIn?: number, offOut?: number): number =>
    ret(load().copy_file_range(fdIn, loff(offIn), fdOut, loff(offOut), len, 0)),
  /**
   * A non-blocking whole-file lock: flock(2) with LOCK_NB, or fcntl F_OFD_SETLK with a struct
   * flock over the whole file (l_whence SEEK_SET, l_start 0, l_len 0, l_pid 0).
   */
  lock: (fd: number, kind: 'flock' | 'ofd', type: 'shared' | 'exclusive' | 'unlock'): number => {
    if (kind === 'flock') return ret(load().flock(fd, (type === 'shared' ? 1 : type === 'exclusive' ? 2 : 8) | 4));
    const fl = new Uint8Array(32); // struct flock: l_type, l_whence (shorts), l_start, l_len, l_pid
    new DataView(fl.buffer).setInt16(0, type === 'shared' ? 0 : type === 'exclusive' ? 1 : 2, true);
    const F_OFD_SETLK = 37;
    return ret(load().fcntl(fd, F_OFD_SETLK, fl));
  },
  /** glibc's posix_fallocate(3): 0, or −errno (it returns the error number, not −1). */
  posixFallocate: (fd: number, off: number, len: number): number => -load().posix_fallocate(fd, off, len),
  /** madvise(2) on [addr, addr + len); addr page-aligned. */
  madvise: (addr: bigint, len: number, advice: number): number => ret(load().madvise(addr, len, advice)),
  /** sendfile(2) of `count` bytes from `inFd` (at `off`, its position untouched, when given). */
  sendfile: (outFd: number, inFd: number, count: number, off?: number): number => ret(load().sendfile(outFd, inFd, loff(off), count)),
  gettid: (): number => load().syscall0(186),
  tgkill: (tgid: number, tid: number, sig: number): number => ret(load().syscall3(234, tgid, tid, sig)),
  /** A copy, in our fd table, of fd `fd` of process `pid` (pidfd_open + pidfd_getfd), or −errno. */
  takeFd: (pid: number, fd: number): number => {
    const pidfd = ret(load().syscall3(434, pid, 0, 0));
    if (pidfd < 0) return pidfd;
    const r = ret(load().syscall3(438, pidfd, fd, 0));
    load().close(pidfd);
    return r;
  },
  /** poll(2) on fds for POLLIN; returns the revents per fd, or −errno. */
  pollIn: (fds: readonly number[], timeoutMs: number): number[] | number => {
    const arr = new Uint8Array(8 * fds.length);
    const dv = new DataView(arr.buffer);
    fds.forEach((fd, i) => {
      dv.setInt32(i * 8, fd, true);
      dv.setInt16(i * 8 + 4, 1, true);
    });
    const r = ret(load().poll(arr, fds.length, timeoutMs));
    if (r < 0) return r;
    return fds.map((_, i) => dv.getInt16(i * 8 + 6, true));
  },
  eventfd: (flags: number): number => ret(load().eventfd(0, flags)),
  mknod: (path: string, mode: number, dev: number): number => ret(load().mknod(path, mode, dev)),
  mkfifo: (path: string, mode: number): number => ret(load().mkfifo(path, mode)),
  /** memfd_create(2) with MFD_CLOEXEC: an anonymous shmem file; returns its fd. */
  memfdCreate: (name: string): number => ret(load().memfd_create(name, 1)),
  /** A bound AF_UNIX socket file at `path`; returns the socket fd. */
  unixSocketAt: (path: string): number => {
    const fd = ret(load().socket(1, 1, 0));
    if (fd < 0) return fd;
    const addr = new Uint8Array(110);
    new DataView(addr.buffer).setUint16(0, 1, true);
    addr.set(new TextEncoder().encode(path), 2);
    const r = ret(load().bind(fd, addr, addr.length));
    return r < 0 ? r : fd;
  },
  /** A connected AF_UNIX SOCK_SEQPACKET pair, both ends close-on-exec, or −errno. */
  seqpacketPair: (): [number, number] | number => {
    const sv = new Int32Array(2);
    const r = ret(load().socketpair(1, 5 | 0o2000000, 0, sv));
    return r < 0 ? r : [sv[0]!, sv[1]!];
  },
  /** sendmsg(2) of one message carrying `fds` (SCM_RIGHTS); bytes sent or −errno. */
  sendWithFds: (sock: number, payload: Uint8Array, fds: readonly number[]): number => {
    // msghdr at 0, iovec at 64, control at 128, payload at 256 of one anonymous page.
    if (payload.length > 4096 - 256 || fds.length > 8) return -7; // E2BIG
    const page = sys.anon(4096);
    if (typeof page === 'number') return page;
    try {
      const base = koffi.address(page);
      const mem = sys.view(page, 4096);
      const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
      const controlLen = 16 + Math.ceil((4 * fds.length) / 8) * 8;
      dv.setBigUint64(16, base + 64n, true); // msg_iov
      dv.setBigUint64(24, 1n, true); // msg_iovlen
      dv.setBigUint64(32, base + 128n, true); // msg_control
      dv.setBigUint64(40, BigInt(controlLen), true); // msg_controllen
      dv.setBigUint64(64, base + 256n, true); // iov_base
      dv.setBigUint64(72, BigInt(payload.length), true); // iov_len
      dv.setBigUint64(128, BigInt(16 + 4 * fds.length), true); // cmsg_len
      dv.setInt32(136, 1, true); // SOL_SOCKET
      dv.setInt32(140, 1, true); // SCM_RIGHTS
      fds.forEach((fd, i) => dv.setInt32(144 + 4 * i, fd, true));
      mem.set(payload, 256);
      return ret(load().sendmsg(sock, page, 0x4000)); // MSG_NOSIGNAL
    } finally {
      sys.munmap(page, 4096);
    }
  },
  getpid: (): number => load().getpid(),
  getppid: (): number => load().getppid(),
  /**
   * Install a no-op handler for `sig` without SA_RESTART, so the signal interrupts a sleeping
   * syscall with EINTR. The handler is libc's getpid (async-signal-safe, ignores its argument):
   * no JS runs in signal context.
   */
  installInterruptHandler: (sig: number): number => {
    const l = load();
    const fn = l.dlsym(null, 'getpid');
    if (!fn) return -38;
    const act = new Uint8Array(152);
    new DataView(act.buffer).setBigUint64(0, koffi.address(fn), true);
    return ret(l.sigaction(sig, act, null));
  },
  fgetxattr: (fd: number, name: string, buf: Uint8Array): number => ret(load().fgetxattr(fd, name, buf, buf.length)),
  /** Leave at once, all threads, no JS teardown (workers blocked in poll(2) cannot be joined). */
  exit: (code: number): never => {
    load()._exit(code);
    throw new Error('unreachable');
  },
  /** Entry names of an open directory fd via getdents64, or −errno. */
  getdents: (fd: number): string[] | number => {
    const names: string[] = [];
    const buf = new Uint8Array(32768);
    for (;;) {
      const n = ret(load().getdents64(217, fd, buf, buf.length));
      if (n < 0) return n;
      if (n === 0) return names;
      const dv = new DataView(buf.buffer);
      for (let off = 0; off < n; ) {
        const reclen = dv.getUint16(off + 16, true);
        let end = off + 19;
        while (buf[end] !== 0) end++;
        names.push(new TextDecoder().decode(buf.subarray(off + 19, end)));
        off += reclen;
      }
    }
  },
};

export { AT_FDCWD };
