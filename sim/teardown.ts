// The end of a case (spec/target.ts): client maps and fds, (lazy) umounts, daemon fds, /dev/fuse
// fds, in the kernel target's order, and one observation of what that released (LIFE-23).
// Split from kernel.ts.
import type { BackingEvent, MountRequest } from '../spec/observation.ts';
import { canonicalEvents } from '../spec/observation.ts';
import type { ObservedOpcode } from '../spec/uapi.ts';
import { Trace } from './explain.ts';
import type { Kernel, SimResult } from './kernel.ts';
import { plainFileNames } from './mountpoint.ts';
import { ovlUmountOverFuse } from './mount.ts';
import { ok } from './outcome.ts';
import type { KernelState } from './state.ts';

/** What the teardown's observation gathers from the calls it makes. */
interface TeardownAcc {
  t: Trace;
  reqs: ObservedOpcode[];
  evs: BackingEvent[];
  /** The observed inner daemon's requests (World.observeInnerDaemon). */
  inner: ObservedOpcode[] | undefined;
  /** The named mounts' requests (MountStep.as). */
  mounts?: MountRequest[];
}

export function kernelTeardown(k: Kernel): SimResult {
  const t = new Trace();
  const s = k.state;
  for (const st of k.allStates()) st.daemonWinsReleaseRace = true;
  // No closures bound to names here: tsx (keepNames) defines a name on each when it is made.
  const acc: TeardownAcc = { t, reqs: [], evs: [], inner: s.observeInner === undefined ? undefined : [] };
  // The kernel target pins the superblock with O_PATH reopens of the fds open when teardown
  // starts and closes the pins after the daemon's fds: if any of them is a FUSE file (a client
  // fd, a daemon fd on the mount), the superblock, and so the connection's registrations,
  // outlive the daemon's fds; otherwise the lazy umount kills it before they close. Found by
  // fusepass fuzz (close-event order at finish, 6.18).
  // Each named mount likewise, by the client files open on it (fuzz seed 1824749385: a further
  // mount with none died at its umount, before the daemon's fds closed).
  const pinnedNamed = new Set([...k.mounts].filter(([, st]) => st.clientFiles.size > 0).map(([name]) => name));
  const pinned =
    s.clientFiles.size > 0 ||
    plainFileNames(s).length > 0 ||
    daemonFileFds(s).some(([, fd]) => {
      const tf = s.daemonTask.fds.get(fd);
      return tf?.kind === 'world' && tf.file.inode.mount.sb.kind === 'fuseUnderTest';
    });
  // Maps before fds, as a process exit does (exit_mm before exit_files) and as the kernel target.
  const maps: [string, string | undefined][] = [];
  const fds: [string, string | undefined][] = [];
  for (const [name, st] of [[undefined, s] as const, ...k.mounts]) {
    for (const m of st.maps.keys()) maps.push([m, name]);
    for (const f of [...st.clientFiles.keys(), ...plainFileNames(st)]) fds.push([f, name]);
  }
  if (k.mounts.size > 0) {
    // Across mounts, in the order they were made (fuzz seed 667041107).
    maps.splice(0, maps.length, ...k.inOpenOrder(maps));
    fds.splice(0, fds.length, ...k.inOpenOrder(fds));
  }
  for (const [m, name] of maps) collect(acc, k.use(name).client.munmap(m));
  for (const [f, name] of fds) collect(acc, k.use(name).client.close(f));
  k.use(undefined);
  collect(acc, k.run((tr) => ovlUmountOverFuse(s, tr)));
  // A mount nothing pins dies at its lazy umount, before the daemon's fds close; a pinned one
  // after them: the model umounts it then. The mount under test first, as the kernel target.
  const named = [...k.mounts.keys()];
  umountLazily(k, acc, [...(pinned ? [] : [undefined]), ...named.filter((n) => !pinnedNamed.has(n))]);
  for (const [name] of daemonFileFds(s)) collect(acc, k.daemon.close(name));
  umountLazily(k, acc, [...(pinned ? [undefined] : []), ...named.filter((n) => pinnedNamed.has(n))]);
  for (const name of [...s.devFiles.keys()]) collect(acc, k.use(k.mountOf({ dev: name })).daemon.devClose(name));
  k.use(undefined);
  for (const st of k.allStates()) st.daemonWinsReleaseRace = false;
  const r = k.observation(ok(), t, acc.reqs, canonicalEvents(acc.evs));
  if (acc.inner !== undefined) r.innerRequests = acc.inner;
  if (k.mounts.size > 0) r.mountRequests = acc.mounts ?? [];
  return r;
}

/** The teardown's lazy umounts of these mounts (undefined: the mount under test), in order. */
function umountLazily(k: Kernel, acc: TeardownAcc, mounts: readonly (string | undefined)[]): void {
  for (const name of mounts) {
    const st = name === undefined ? k.state : k.mounts.get(name);
    if (st?.conn?.mounted === true) collect(acc, k.use(name).daemon.umount({ lazy: true }));
  }
  k.use(undefined);
}

function collect(acc: TeardownAcc, o: SimResult): void {
  acc.reqs.push(...o.requests);
  if (o.innerRequests !== undefined) acc.inner?.push(...o.innerRequests);
  acc.evs.push(...o.events);
  if (o.mountRequests !== undefined) (acc.mounts ??= []).push(...o.mountRequests);
  for (const c of o.explain.checks) acc.t.pass(c);
  for (const f of o.explain.functions ?? []) acc.t.fn(f);
}

/** The daemon's fd names that are not /dev/fuse fds, with their numbers. */
function daemonFileFds(s: KernelState): [string, number][] {
  const out: [string, number][] = [];
  for (const [name, fd] of s.daemonFds) if (s.daemonTask.fds.get(fd)?.kind !== 'dev') out.push([name, fd]);
  return out;
}
