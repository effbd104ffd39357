// Issue one ioctl as root of a fresh user namespace (started by `unshare -U --map-root-user`):
// all capabilities there, none in the initial namespace (cred `userns`, BOPEN-5). The /dev/fuse
// fd arrives as fd 3, an optional file for fuse_backing_map.fd as fd 4.
// argv: <cmd> <arg hex or "null"> ; prints the ioctl result or -errno.
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');
const ioctl = lib.func('int ioctl(int fd, unsigned long req, void *arg)');
const [cmd, hex] = process.argv.slice(2);
const arg = hex === 'null' ? null : Buffer.from(hex ?? '', 'hex');
const r = ioctl(3, Number(cmd) >>> 0, arg);
// Read errno before touching process.stdout: its lazy setup calls isatty (ENOTTY).
const out = String(r < 0 ? -koffi.errno() : r);
process.stdout.write(out);
