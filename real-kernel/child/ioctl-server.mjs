// The ioctl server of a cred other than the case process's own (ioctl-servers.ts says which
// process runs it: root of a user namespace, root without CAP_SYS_ADMIN, or uid 1000 holding
// it). Each request arrives on the SOCK_SEQPACKET socket at fd 3 as one message: JSON {cmd, hex,
// mapFd} plus SCM_RIGHTS with the /dev/fuse fd and, when mapFd is set, the file for
// fuse_backing_map.fd (whose number in our table is patched into the map). It answers with the
// ioctl result or -errno as text.
//
// Why a server and not a helper per ioctl: a process forked from the case process gets a copy
// of its fd table, and closing those copies (close-on-exec, or exit) sends FLUSH for every FUSE
// file in it (fuse_flush runs on each close), requests the real caller never causes.
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');
const ioctl = lib.func('int ioctl(int fd, unsigned long req, void *arg)');
const recvmsg = lib.func('long recvmsg(int fd, void *msg, int flags)');
const write = lib.func('long write(int fd, const void *buf, unsigned long n)');
const close = lib.func('int close(int fd)');
const mmap = lib.func('void *mmap(void *addr, unsigned long len, int prot, int flags, int fd, long off)');
const prctl = lib.func('int prctl(int opt, unsigned long a, unsigned long b, unsigned long c, unsigned long d)');

const PR_SET_PDEATHSIG = 1;
const SIGKILL = 9;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOCK = 3;
prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

// One page for msghdr (0), iovec (64), control (128..255) and the payload (256..).
const PAGE = 4096;
const page = mmap(null, PAGE, 3, 0x22, -1, 0);
const base = koffi.address(page);
const mem = Buffer.from(koffi.view(page, PAGE));
const CTRL = 128;
const CTRL_LEN = 128;
const DATA = 256;

function answer(text) {
  const b = Buffer.from(text);
  write(SOCK, b, b.length);
}

for (;;) {
  mem.fill(0, 0, DATA);
  mem.writeBigUInt64LE(base + 64n, 16); // msg_iov
  mem.writeBigUInt64LE(1n, 24); // msg_iovlen
  mem.writeBigUInt64LE(base + BigInt(CTRL), 32); // msg_control
  mem.writeBigUInt64LE(BigInt(CTRL_LEN), 40); // msg_controllen
  mem.writeBigUInt64LE(base + BigInt(DATA), 64); // iov_base
  mem.writeBigUInt64LE(BigInt(PAGE - DATA), 72); // iov_len
  const n = Number(recvmsg(SOCK, page, MSG_CMSG_CLOEXEC));
  if (n <= 0) process.exit(0); // the case process is gone (or the socket broke)
  const fds = [];
  const controllen = Number(mem.readBigUInt64LE(40));
  for (let off = CTRL; off + 16 <= CTRL + controllen; ) {
    const len = Number(mem.readBigUInt64LE(off));
    if (len < 16) break;
    if (mem.readInt32LE(off + 8) === SOL_SOCKET && mem.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(mem.readInt32LE(p));
    }
    off += (len + 7) & ~7;
  }
  let out;
  try {
    const req = JSON.parse(mem.toString('utf8', DATA, DATA + n));
    const arg = req.hex === null ? null : Buffer.from(req.hex, 'hex');
    if (arg && req.mapFd && fds[1] !== undefined) arg.writeInt32LE(fds[1], 0);
    if (fds[0] === undefined) out = '-9';
    else {
      const r = ioctl(fds[0], Number(req.cmd) >>> 0, arg);
      out = String(r < 0 ? -koffi.errno() : r);
    }
  } catch {
    out = '-5';
  }
  for (const fd of fds) close(fd);
  answer(out);
}
