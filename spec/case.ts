// The conformance case format: the source of truth for conformance/case.schema.json
// (generated with typescript-json-schema). A case is a script of steps played by the daemon and
// the client against one kernel (DESIGN.md "The one idea"). References are by name: a /dev/fuse
// fd `dev`, a daemon file `bf1`, a registration `b1`, a client fd `f1`, a mapping `m1`.
import type { World } from '../fixtures/world.ts';
import type { CheckId } from './check-ids.ts';
import type { ExpectedObservation } from './observation.ts';
import type { IoBytes, S32 } from './ranges.ts';
// The daemon's steps before the client's: the schema lists step ops in this order.
import type { DaemonStep } from './daemon-steps.ts';
import type { ClientStep } from './client-steps.ts';

export type * from './ranges.ts';
export * from './daemon-steps.ts';
export type * from './client-steps.ts';

/**
 * Kernel-version profiles (sim/profiles). `nopt`: 6.18 with CONFIG_FUSE_PASSTHROUGH=n; `6.1`: a
 * kernel before passthrough (Debian 12's, booted by npm run matrix; Ubuntu 22.04's 5.15 and
 * RHEL 9's 5.14 have no backing ioctls either, but were not booted here).
 */
export type ProfileName = '6.18' | '6.12' | '6.9' | 'nopt' | '6.1';
/** Every profile, newest first (nopt beside the 6.18 it is built from). */
export const PROFILE_NAMES: readonly ProfileName[] = ['6.18', '6.12', '6.9', 'nopt', '6.1'];

// ---- observer steps -----------------------------------------------------------------------

/** Read a world file's bytes directly, outside FUSE: did data reach the backing file? */
export interface InspectBackingStep { op: 'inspectBacking'; file: string; length?: IoBytes; offset?: IoBytes }

/**
 * An inotify watch on the FUSE file a client fd has open (inotify_add_watch of its
 * /proc/self/fd link: no lookup, no request): from now on its events count as `<as>:<kind>`,
 * open and close (IN_OPEN of any later open of the file, IN_CLOSE_* when a struct file of it is
 * released), and with World.watchIo `access` and `modify`: what vfs_read, vfs_write, splice,
 * sendfile, copy_file_range, ftruncate and fallocate report on the FUSE file itself, whatever
 * passthrough does underneath; mmap I/O reports nothing. `as` names the watch in events; it is
 * no world file's name.
 */
export interface WatchFuseFileStep { op: 'watchFuseFile'; fd: string; as: string }

/**
 * Read a kernel observable (kernel-spec.md §13) as a canonical value:
 * - `devFdinfoKeys` / `fileFdinfoKeys`: sorted field names of /proc/self/fdinfo of `dev` / `fd`,
 *   comma-separated (OBS-1, OBS-2, OBS-3)
 * - `devFdinfoValues`: the values of `dev`'s fdinfo that do not depend on the host, as
 *   `pos:<n>,flags:<octal>[,fuse_connection:mount|other]`: fuse_connection (6.16+, only on an fd
 *   attached to a connection) is `mount` when it names the connection of the mount under test
 *   (its st_dev minor, its fusectl directory), and stays after umount and abort (OBS-1)
 * - `mapsPath`: `fuse` when /proc/self/maps names the mapping `map` by its FUSE path, else `backing` (OBS-4)
 * - `fusectlEntries`: sorted names in /sys/fs/fuse/connections/<N>/ of the mount under test (OBS-5)
 * - `fusectlWaiting`: the number in its `waiting` file (OBS-6)
 * - `fusectlValues`: its `max_background` and `congestion_threshold` files, as
 *   `max_background:<n>,congestion_threshold:<n>` (OBS-5)
 * - `fdTableHasFile`: `yes` when any fd of the daemon's process refers to world file `file`,
 *   as lsof would show it, else `no` (OBS-9)
 * - `lsofHasFile`: `yes` when any process on the machine has world file `file` open by an fd or
 *   mapped, found as lsof finds it: by mount and inode in /proc/PID/fdinfo, by device and inode in
 *   /proc/PID/maps. A registration (LIFE-1) or a PT open's backing file (PTF-1) is in no table,
 *   and a PT mapping shows as the FUSE file (maps shows file_user_inode); over an overlayfs file
 *   its real file is mapped, and that shows as the backing file. Files on disk, tmpfs, overlay
 *   or roBind (OBS-9)
 * - `fuseTracepoints`: sorted names under tracefs events/fuse/ (OBS-10)
 * - `initOffer`: the whole INIT request the kernel sent at the last mount, `<major>.<minor>
 *   <FLAG,FLAG,...>` in bit order (INIT-1, INIT-2); empty before the first mount
 */
export interface ObserveStep {
  op: 'observe';
  what: 'devFdinfoKeys' | 'devFdinfoValues' | 'fileFdinfoKeys' | 'mapsPath' | 'fusectlEntries' | 'fusectlWaiting' | 'fusectlValues' | 'fdTableHasFile' | 'lsofHasFile' | 'fuseTracepoints' | 'initOffer';
  dev?: string;
  fd?: string;
  map?: string;
  file?: string;
}

// ---- sim-only steps (states the kernel cannot reach in a bounded run) -----------------------

/** Move the connection's id cursor (BID-5 wrap) or fill the id space (BID-6). */
export interface SimIdCursorStep { op: 'simIdCursor'; next: S32; fillToMax?: boolean }
/** Make the next allocation fail (BOPEN-11 fuse_backing, BOPEN-12 idr). */
export interface SimFailAllocStep { op: 'simFailAlloc'; what: 'fuseBacking' | 'idr' }
/**
 * Start (`begin`) a parallel DIO write on a DIRECT_IO|PARALLEL_DIRECT_WRITES client fd and leave
 * it in flight (IOM-18: iocachectr--, no fb), or finish it (`end`). Sim only (IOM-5, IOM-6).
 */
export interface SimParallelDioWriteStep { op: 'simParallelDioWrite'; fd: string; phase: 'begin' | 'end' }
/**
 * Another task's actions, run when the next step reaches `at` and is about to sleep or sits
 * between two checks: `cachedIoWait` = a cached open (or ALLOW_MMAP shared mmap) waiting for
 * parallel DIO writes (IOM-5, IOM-6); `mmapBeforeCachedIo` = a DIO shared mmap between the IOM-11
 * check and its cached-io open (IOM-15). Their requests and events count as the next step's.
 * Sim only.
 */
export interface SimInterleaveStep { op: 'simInterleave'; at: 'cachedIoWait' | 'mmapBeforeCachedIo'; actions: Action[] }

export type Action =
  | DaemonStep
  | ClientStep
  | InspectBackingStep
  | WatchFuseFileStep
  | ObserveStep
  | SimIdCursorStep
  | SimFailAllocStep
  | SimParallelDioWriteStep
  | SimInterleaveStep;
export type StepOp = Action['op'];

/** One step of a case: an action, the check ids it exercises, and optionally what must be seen. */
export type Step = Action & {
  /**
   * Check ids this step exercises, each once; the sim's explanation of the step must pass through them.
   * @uniqueItems true
   */
  checks?: CheckId[];
  /** Expected observation, checked on every target. */
  expect?: ExpectedObservation;
  note?: string;
};

export interface Case {
  /** Unique, kebab-case; the file name without .json. */
  id: string;
  title: string;
  /** What a daemon author learns from this case. */
  description?: string;
  /**
   * Spec check ids the case covers, each once.
   * @uniqueItems true
   */
  checks: CheckId[];
  /**
   * Profiles the case applies to; default all profiles that have passthrough. A case that can
   * run nowhere is broken: at least one, each once.
   * @minItems 1
   * @uniqueItems true
   */
  profiles?: ProfileName[];
  /** Why the case runs on the sim only (a state the kernel cannot reach in a bounded run). */
  simOnly?: string;
  world: World;
  steps: Step[];
}
