// A case's /dev/fuse fds by name (devOpen, devClone, devRead, devClose steps), with which mount
// each serves or is attached to: a daemon worker reads the fd a mount was made with, and must
// let go of it before it is closed. Split from session.ts.
import { FUSE_DEV_IOC } from '../../spec/uapi.ts';
import { encodeI32 } from '../../wire/structs.ts';
import { sys } from '../ffi/libc.ts';
import { O } from '../ffi/consts.ts';
import type { DaemonHandle } from '../daemon/handle.ts';
import { res, type Outcome } from './client-steps.ts';
import type { NamedMount } from './named-mounts.ts';

export interface DevFd {
  fd: number;
  /** The daemon worker serving this fd, when it is the mounted one. */
  served: boolean;
  /** Attached to the mount's connection (the mounting fd, or a clone of one). */
  attached: boolean;
  /** The further mount (MountStep.as) whose connection this fd serves or is attached to. */
  named?: NamedMount;
}

export class DevFds {
  private readonly byName = new Map<string, DevFd>();

  /** `daemon`: the mount under test's worker (a named mount's fds are its own worker's). */
  constructor(private readonly daemon: DaemonHandle) {}

  get(name: string): DevFd {
    const d = this.byName.get(name);
    if (!d) throw new Error(`no /dev/fuse fd named ${name}`);
    return d;
  }

  fd(name: string): number {
    return this.get(name).fd;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  open(as: string): Outcome {
    const fd = sys.open('/dev/fuse', O.RDWR | O.CLOEXEC);
    if (fd >= 0) this.byName.set(as, { fd, served: false, attached: false });
    return res(fd);
  }

  /** FUSE_DEV_IOC_CLONE succeeds only on an attached fd: the clone joins its connection. */
  clone(from: string, as: string): Outcome {
    const fd = sys.open('/dev/fuse', O.RDWR | O.CLOEXEC);
    if (fd < 0) return res(fd);
    const src = this.get(from);
    const r = sys.ioctl(fd, FUSE_DEV_IOC.CLONE, encodeI32(src.fd));
    if (r < 0) {
      sys.close(fd);
      return res(r);
    }
    this.byName.set(as, { fd, served: false, attached: true, ...(src.named === undefined ? {} : { named: src.named }) });
    return { errno: null };
  }

  read(name: string): Outcome {
    const d = this.get(name);
    if (d.served) return { fault: { kind: 'unsupported', message: 'devRead on the fd the daemon serves would steal its requests' } };
    return res(sys.read(d.fd, new Uint8Array(131072 + 8192)));
  }

  /** close(2) of the fd; `fd` is its number, for names the daemon gave it too. */
  close(name: string): { outcome: Outcome; fd: number } {
    const d = this.get(name);
    if (d.served) {
      // The worker must not hold the fd in poll(2)/read(2) while it is closed, or the close
      // would not be the last reference. Hand serving over to a clone if one remains.
      // Only a clone attached to the same connection can take over (not a fresh unmounted fd).
      const daemon = d.named?.daemon ?? this.daemon;
      const clone = [...this.byName.entries()].find(([n, x]) => n !== name && !x.served && x.attached && x.named === d.named);
      if (clone && !daemon.gone) {
        daemon.send({ t: 'fd', devFd: clone[1].fd }, true);
        clone[1].served = true;
      } else daemon.send({ t: 'fd', devFd: -1 }, true);
      d.served = false;
    }
    this.byName.delete(name);
    return { outcome: res(sys.close(d.fd)), fd: d.fd };
  }
}
