// A case's further FUSE mounts (spec/daemon-steps.ts MountStep.as): each a mount(2) of its own
// /dev/fuse fd at `<work>/mnt<n>` (a case's names are never paths), served by a daemon worker of
// its own with the same nodes and registration names, as one daemon serving several mounts.
// Split from session.ts, which keeps the mount under test.
import fs from 'node:fs';
import { canonicalMountRequests, type MountRequest } from '../../spec/observation.ts';
import type { InitReplySpec } from '../../spec/case.ts';
import type { ObservedOpcode } from '../../spec/uapi.ts';
import { sys } from '../ffi/libc.ts';
import { MNT_DETACH } from '../ffi/consts.ts';
import type { DaemonHandle } from '../daemon/handle.ts';
import type { ToWorker } from '../daemon/shared.ts';
import { connIdentity, connOf, type ConnId } from './fusectl.ts';
import { initOfferTexts } from './kernel-observables.ts';
import { res, type Outcome } from './client-steps.ts';

export interface NamedMount {
  readonly daemon: DaemonHandle;
  readonly mnt: string;
  /** Its connection as fusectl named it when mounted (fusectl.ts: numbers are reused). */
  connId: ConnId | null;
  mounted: boolean;
}

/** What the worker of a mount is told to serve, its fd aside. */
export type ServeSpec = Omit<Extract<ToWorker, { t: 'serve' }>, 't' | 'devFd'>;

export class NamedMounts {
  private readonly byName = new Map<string, NamedMount>();

  constructor(
    private readonly work: string,
    private readonly spare: () => DaemonHandle,
  ) {}

  get size(): number {
    return this.byName.size;
  }

  get(name: string): NamedMount {
    const m = this.byName.get(name);
    if (!m) throw new Error(`no mount named ${name}`);
    return m;
  }

  daemons(): DaemonHandle[] {
    return [...this.byName.values()].map((m) => m.daemon);
  }

  /** Each mount's directory and connection number (st_dev minor), for observables. */
  places(): { mnt: string; minor: number | null }[] {
    return [...this.byName.values()].map((m) => ({ mnt: m.mnt, minor: m.connId?.n ?? null }));
  }

  connIds(): ConnId[] {
    return [...this.byName.values()].map((m) => m.connId).filter((c): c is ConnId => c !== null);
  }

  /** Forget what the daemons received so far (before a step). */
  skipLogs(): void {
    for (const m of this.byName.values()) m.daemon.takeLog();
  }

  /** The step's requests on every named mount (Observation.mountRequests). */
  takeRequests(): MountRequest[] {
    return canonicalMountRequests(new Map([...this.byName].map(([name, m]) => [name, m.daemon.takeLog() as ObservedOpcode[]])));
  }

  /**
   * mount(2) of `name` with `devFd`, its worker serving `serve`. Returns the outcome (the INIT
   * offer as a mount step's value) and the mount, made even when mount(2) failed.
   */
  mount(name: string, devFd: number, serve: ServeSpec & { init: InitReplySpec }): { outcome: Outcome; mount: NamedMount } {
    const m: NamedMount = { daemon: this.spare(), mnt: `${this.work}/mnt${this.byName.size + 1}`, connId: null, mounted: false };
    this.byName.set(name, m);
    fs.mkdirSync(m.mnt, { recursive: true });
    m.daemon.serve({ t: 'serve', devFd, ...serve });
    const r = sys.mount('fusepass', m.mnt, 'fuse.fusepass', 0, `fd=${devFd},rootmode=40000,user_id=0,group_id=0,allow_other`);
    if (r < 0) {
      m.daemon.send({ t: 'fd', devFd: -1 }, true);
      return { outcome: res(r), mount: m };
    }
    m.mounted = true;
    m.connId = connIdentity(connOf(m.mnt));
    if (!m.daemon.waitInit(2, 3000)) return { outcome: { fault: { kind: 'timeout', message: 'the kernel sent no INIT' } }, mount: m };
    return { outcome: { errno: null, value: initOfferTexts(m.daemon.initRequest()).step }, mount: m };
  }

  /** The teardown's lazy umounts, after the mount under test's. */
  umountAll(): void {
    for (const m of this.byName.values()) {
      if (m.mounted) sys.umount2(m.mnt, MNT_DETACH);
      m.mounted = false;
    }
  }

  /** Stop the workers and detach what is still mounted (the namespace goes next). */
  dispose(): void {
    for (const m of this.byName.values()) m.daemon.stop();
    this.umountAll();
  }
}
