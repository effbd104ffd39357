// The daemon's own fds by name (daemonOpen, daemonClose): files of the world it opened, and
// second names for its /dev/fuse fds (`devfuse:<dev>`, which it does not own). Split from
// session.ts.
import { sys } from '../ffi/libc.ts';
import { O } from '../ffi/consts.ts';
import { res, type Outcome } from './client-steps.ts';
import type { BuiltWorld } from './world.ts';

interface DaemonFd {
  fd: number;
  /** Opened by daemonOpen (closed by daemonClose), not a name for a /dev/fuse fd. */
  owned: boolean;
  /** The world file it is open on (owned fds). */
  file?: string;
}

export class DaemonFds {
  private readonly byName = new Map<string, DaemonFd>();

  constructor(private readonly world: BuiltWorld) {}

  /** The fd of a name, or undefined. */
  find(name: string): number | undefined {
    return this.byName.get(name)?.fd;
  }

  fd(name: string): number {
    const d = this.byName.get(name);
    if (!d) throw new Error(`no daemon fd named ${name}`);
    return d.fd;
  }

  /** A daemon fd that is open on a file of the mount under test (`self` world files). */
  isSelf(name: string): boolean {
    const file = this.byName.get(name)?.file;
    return file !== undefined && this.world.files.get(file)?.spec.on === 'self';
  }

  /** How many owned fds are open on files of the mount under test. */
  selfCount(): number {
    return [...this.byName.keys()].filter((n) => this.isSelf(n)).length;
  }

  /** `devfuse:<dev>`: a second name for a /dev/fuse fd, gone when that fd closes. */
  alias(as: string, fd: number): Outcome {
    this.byName.set(as, { fd, owned: false });
    return { errno: null };
  }

  /** open(2) of a world file in the given daemonOpen mode. */
  open(file: string, mode: string, as: string): Outcome {
    const f = this.world.files.get(file);
    if (!f) throw new Error(`no world file named ${file}`);
    const access = { rdonly: O.RDONLY, wronly: O.WRONLY, rdwr: O.RDWR, path: O.PATH, pathNofollow: O.PATH | O.NOFOLLOW }[mode] ?? O.RDONLY;
    // A fifo opened for reading would wait for a writer: open it non-blocking (harness choice).
    const extra = f.spec.type === 'fifo' && !(access & O.PATH) ? O.NONBLOCK : 0;
    // A socket has no open by path (ENXIO): the daemon's fd of a socketpair end is a dup of it.
    const sockEnd = f.spec.on === 'sockfs' && !(access & O.PATH) ? Number(f.path.slice(f.path.lastIndexOf('/') + 1)) : null;
    const fd = sockEnd !== null ? sys.dupCloexec(sockEnd) : sys.open(f.path, access | extra | O.CLOEXEC);
    if (fd >= 0) this.byName.set(as, { fd, owned: true, file });
    return res(fd);
  }

  /** Forget a name; what it named, for the caller to close when owned. */
  take(name: string): { fd: number; owned: boolean } {
    const d = this.byName.get(name);
    if (!d) throw new Error(`no daemon fd named ${name}`);
    this.byName.delete(name);
    return d;
  }

  /** A /dev/fuse fd closed: the names the daemon gave it go too (the number may be reused). */
  forgetAliasesOf(fd: number): void {
    for (const [k, v] of this.byName) if (v.fd === fd && !v.owned) this.byName.delete(k);
  }

  ownedFds(): number[] {
    return [...this.byName.values()].filter((d) => d.owned).map((d) => d.fd);
  }

  /** The teardown: close every owned fd and forget every name. */
  closeAll(): void {
    for (const d of this.byName.values()) if (d.owned) sys.close(d.fd);
    this.byName.clear();
  }
}
