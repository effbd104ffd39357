// fast-check arbitraries for whole fuzz cases. A fuzz case is generated as a *program*: a world
// choice, an INIT choice and a list of intents ("close the most recent client fd", "register
// daemon fd #2"). Intents name things by position among the names live at that point, so every
// list of intents, and every list fast-check shrinks it to, turns into a well-formed case
// (materialize.ts resolves the positions against the sim's state; impossible intents vanish).
import fc from 'fast-check';
import type { BackingFileSpec, DaemonSettings } from '../../fixtures/world.ts';
import type { Action, Cred, DaemonOpenMode, InitReplySpec, OpenFlagName } from '../../spec/case.ts';
import type { Errno } from '../../spec/errno.ts';
import type { FopenFlagName } from '../../spec/uapi.ts';

/** A reference to a registration: by position among those made so far, or a raw id. */
export type IdRef = { reg: number } | { raw: number };

export type Access = 'O_RDONLY' | 'O_WRONLY' | 'O_RDWR';

export type Intent =
  | { k: 'daemonOpen'; file: number; mode: DaemonOpenMode }
  | { k: 'daemonClose'; pick: number }
  | { k: 'daemonWrite'; pick: number; offset: number }
  | { k: 'daemonIoctl'; pick: number; cmd: 'CLONE' | 'BACKING_OPEN' | 'BACKING_CLOSE' | 'SYNC_INIT' }
  | { k: 'backingOpen'; dev: number; pick: number; cred: Cred; bad: 'none' | 'flags' | 'padding' | 'rawFd' | 'devFuse' }
  /** A loop of registrations of a host world file (RegisterManyStep). */
  | { k: 'registerMany'; dev: number; file: number; count: number }
  | { k: 'backingClose'; dev: number; id: IdRef; cred: Cred }
  /** `two`: the further mount's daemon replies (MountStep.as), once mountTwo made it. */
  | { k: 'setOpenReply'; node: number; flags: FopenFlagName[]; extraBits: number; backing: IdRef | null; error: Errno | null; two?: boolean }
  /** A macro for depth: open a world file, register it, answer PT with it for a node, open that node. */
  | { k: 'ptSetup'; file: number; mode: DaemonOpenMode; node: number; access: Access; extra: FopenFlagName[] }
  /** `two`: on the further mount (mountTwo), once it is mounted. */
  | { k: 'open'; node: number; create: boolean; access: Access; extra: OpenFlagName[]; nobody?: boolean; two?: boolean }
  | { k: 'read' | 'spliceRead'; pick: number; length: number; offset: number | null }
  | { k: 'write' | 'spliceWrite'; pick: number; data: string; offset: number | null }
  | { k: 'mmap'; pick: number; shared: boolean; write: boolean; big: boolean }
  /** Loads through a mapping, within the file: page faults and their readahead windows. */
  | { k: 'mapRead'; pick: number; offset: number; length: number }
  | { k: 'munmap'; pick: number }
  | { k: 'stat'; pick: number; node: number | null }
  | { k: 'ftruncate'; pick: number; size: number }
  | { k: 'fsync'; pick: number; dataOnly: boolean }
  | { k: 'close'; pick: number }
  | { k: 'lseek'; pick: number; whence: 'SET' | 'CUR' | 'END' | 'DATA' | 'HOLE'; offset: number }
  | { k: 'fallocate'; pick: number; length: number }
  | { k: 'posixFallocate'; pick: number; offset: number; length: number }
  | { k: 'getxattr'; pick: number }
  /** `two`: on the further mount (mountTwo), once it is mounted (so for rename and readdir). */
  | { k: 'unlink'; node: number; two?: boolean }
  | { k: 'unlinkWorldFile'; file: number }
  | { k: 'umountWorldFs'; lazy: boolean }
  | { k: 'mountOverlayOnFuse' }
  | { k: 'mountNestedFuse' }
  /** An inotify watch on the FUSE file of a client fd (WatchFuseFileStep). */
  | { k: 'watchFuseFile'; pick: number }
  | { k: 'rename'; from: number; to: number; two?: boolean }
  | { k: 'fileIoctl'; pick: number }
  /**
   * `fromOffset` / `toOffset`: explicit offsets; `world`: one side is a world file instead of a
   * client fd (`file` picks it), the source when `world` is 'from' (EXDEV, IO-21).
   */
  | { k: 'copyRange'; from: number; to: number; length: number; fromOffset?: number | undefined; toOffset?: number | undefined; world?: 'from' | 'to' | undefined; file?: number | undefined }
  /** A non-blocking whole-file lock, through a client fd or (`daemon`) a daemon fd. */
  | { k: 'lock'; pick: number; daemon: boolean; kind: 'flock' | 'ofd'; type: 'shared' | 'exclusive' | 'unlock' }
  /** sendfile(2): `offset` its offset argument; `world` / `file` as for copyRange. */
  | { k: 'sendfile'; from: number; to: number; length: number; offset?: number | undefined; world?: 'from' | 'to' | undefined; file?: number | undefined }
  /** opendir of the root, readdir, closedir. */
  | { k: 'readdir'; two?: boolean }
  | { k: 'setDaemonSize'; node: number; size: number }
  | { k: 'observe'; what: ObserveWhat; pick: number }
  | { k: 'inspect'; file: number }
  | { k: 'abort'; two?: boolean }
  | { k: 'umount'; lazy: boolean; two?: boolean }
  /** A further mount of the daemon through a second /dev/fuse fd (MountStep.as `two`). */
  | { k: 'mountTwo' }
  | { k: 'devClose'; pick: number }
  | { k: 'devClone' }
  // sim-only intents (mode sim): states the kernel cannot reach in a bounded run
  | { k: 'simFailAlloc'; what: 'fuseBacking' | 'idr' }
  | { k: 'simIdCursor'; next: number };

export type IntentKind = Intent['k'];

export type ObserveWhat = Extract<Action, { op: 'observe' }>['what'];
export const OBSERVABLES: readonly ObserveWhat[] = ['devFdinfoKeys', 'devFdinfoValues', 'fileFdinfoKeys', 'mapsPath', 'fusectlEntries', 'fusectlWaiting', 'fusectlValues', 'fdTableHasFile', 'lsofHasFile', 'fuseTracepoints', 'initOffer'];

/** World files the generator may put in a case: several stack depths and file types (STACK-*, BOPEN-8/9). */
export const FILE_PALETTE: readonly (readonly [string, BackingFileSpec])[] = [
  ['b', { on: 'disk' }],
  ['b2', { on: 'disk', content: 'BBBBBBBB' }],
  ['t', { on: 'tmpfs' }],
  ['ov', { on: 'overlay' }],
  ['ro', { on: 'roBind' }],
  ['inner', { on: 'fuse' }],
  ['pt1', { on: 'fusePt1' }],
  ['dir', { on: 'disk', type: 'dir' }],
  ['fifo', { on: 'disk', type: 'fifo' }],
  ['link', { on: 'disk', type: 'symlink' }],
  ['null', { on: 'disk', type: 'chardev' }],
  ['self', { on: 'self' }],
  ['proc', { on: 'procfs' }],
  ['sys', { on: 'sysfs' }],
  ['mem', { on: 'memfd' }],
  ['pipe', { on: 'pipefs' }],
  ['sock', { on: 'sockfs' }],
  ['nest', { on: 'nestedFuse' }],
];

/** FUSE nodes of every fuzz world; created nodes (O_CREAT) come after these. */
export const NODES: readonly string[] = ['n', 'm'];

export interface FuzzProgram {
  /** Indexes into FILE_PALETTE besides `b` (always present), ascending, no repeats. */
  files: number[];
  /** undefined = the mount step's default INIT reply (PT, msd 1). */
  init: InitReplySpec | undefined;
  intents: Intent[];
  /** The scripted daemon's timeouts and GETXATTR answer (World.daemon); undefined: the defaults. */
  daemon?: DaemonSettings | undefined;
  /** Node `n` reports the live size of `b` (FuseNodeSpec.sizeFrom), as passthrough_hp does. */
  liveSize?: boolean | undefined;
  /** The world's watches report IN_ACCESS and IN_MODIFY too (World.watchIo). */
  watchIo?: boolean | undefined;
  /** Node `m` serves BIG_NODE_SIZE bytes: long enough for readahead's windows to move on. */
  bigNode?: boolean | undefined;
  /**
   * With the `inner` file each step observes the `fuse` mount's daemon (World.observeInnerDaemon),
   * else with the `pt1` file the fusePt1 mount's. Never the nested mount's: a file of it still held when a lazy umount detaches it is released
   * in a race with that mount's death (its RELEASE reached the daemon 1 run in 10 on 6.18).
   */
  observeInner?: boolean | undefined;
}

/** 40 pages: past the 32-page window, so sequential reads meet PG_readahead marks. */
export const BIG_NODE_SIZE = 40 * 4096;

/** Mostly the defaults; otherwise each setting a daemon author may pick (passthrough_hp --nocache is both timeouts 0). */
const DAEMON_CHOICES: fc.Arbitrary<DaemonSettings | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 4,
    arbitrary: fc.record(
      { entryTimeout: fc.constantFrom<0 | 3600>(0, 3600), attrTimeout: fc.constantFrom<0 | 3600>(0, 3600), getxattr: fc.constantFrom<Errno>('ENODATA', 'ENOSYS', 'EOPNOTSUPP') },
      { requiredKeys: [] },
    ),
  },
);

export interface GenOptions {
  /** Allow sim-only intents (simFailAlloc, simIdCursor); the case is then marked simOnly. */
  simOnly?: boolean;
  /** Most intents per case (default 24). */
  maxIntents?: number;
  /** Generate only these kinds of intents (a focused fuzz run); default all. */
  only?: readonly IntentKind[];
}

const INIT_CHOICES: fc.Arbitrary<InitReplySpec | undefined> = fc.oneof(
  { weight: 24, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT', 'PASSTHROUGH', 'DIRECT_IO_ALLOW_MMAP'], maxStackDepth: 1 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT', 'PASSTHROUGH', 'WRITEBACK_CACHE'], maxStackDepth: 1 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 0 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 3 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['PASSTHROUGH'], maxStackDepth: 1 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT'], maxStackDepth: 1 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1, minor: 39 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1, length: 24 }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ error: 'ENOSYS' }) },
  { weight: 1, arbitrary: fc.constant<InitReplySpec>({ major: 8, flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 }) },
);

/** Which side of a copy is a world file rather than a client fd: none `noneWeight` times in one more. */
const worldSide = (noneWeight: number) => fc.oneof({ weight: noneWeight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom<'from' | 'to'>('from', 'to') });

/** Positions bias towards 0 (the most recent name), which is also what shrinking aims at. */
const pick = fc.nat({ max: 5 });
const file = fc.nat({ max: FILE_PALETTE.length });
const node = fc.nat({ max: NODES.length - 1 });
/** The macro mostly registers `b` (a plain disk file), so passthrough opens are frequent. */
const ptFile = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: file });
const cred: fc.Arbitrary<Cred> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Cred>('root') },
  { weight: 1, arbitrary: fc.constant<Cred>('noCapSysAdmin') },
  { weight: 1, arbitrary: fc.constant<Cred>('userns') },
  { weight: 1, arbitrary: fc.constantFrom<Cred>('capDroppedProcess', 'nonRootCapSysAdmin') },
);
const daemonMode: fc.Arbitrary<DaemonOpenMode> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<DaemonOpenMode>('rdonly') },
  { weight: 3, arbitrary: fc.constant<DaemonOpenMode>('rdwr') },
  { weight: 1, arbitrary: fc.constant<DaemonOpenMode>('wronly') },
  { weight: 1, arbitrary: fc.constant<DaemonOpenMode>('path') },
);
/** Raw ids: zero and negative (BCLOSE-6, OPEN-12), small numbers that may or may not be live, unknown. */
const rawId = fc.constantFrom(0, -1, 1, 2, 3, 999);
const idRef: fc.Arbitrary<IdRef> = fc.oneof({ weight: 5, arbitrary: fc.record({ reg: pick }) }, { weight: 1, arbitrary: fc.record({ raw: rawId }) });
const access: fc.Arbitrary<Access> = fc.constantFrom<Access>('O_RDONLY', 'O_RDWR', 'O_WRONLY');
const openExtra: fc.Arbitrary<OpenFlagName[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<OpenFlagName[]>([]) },
  { weight: 3, arbitrary: fc.subarray<OpenFlagName>(['O_APPEND', 'O_TRUNC', 'O_DIRECT'], { minLength: 1 }) },
);
/** FOPEN flags: mostly PT alone or with its allowed companions, sometimes forbidden ones (OPEN-9). */
const fopenFlags: fc.Arbitrary<FopenFlagName[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<FopenFlagName[]>(['PASSTHROUGH']) },
  { weight: 2, arbitrary: fc.subarray<FopenFlagName>(['PASSTHROUGH', 'DIRECT_IO', 'PARALLEL_DIRECT_WRITES', 'NOFLUSH']) },
  { weight: 1, arbitrary: fc.subarray<FopenFlagName>(['PASSTHROUGH', 'KEEP_CACHE', 'DIRECT_IO', 'NONSEEKABLE', 'STREAM']) },
  { weight: 1, arbitrary: fc.constant<FopenFlagName[]>([]) },
);
const ptExtra: fc.Arbitrary<FopenFlagName[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<FopenFlagName[]>([]) },
  { weight: 2, arbitrary: fc.subarray<FopenFlagName>(['DIRECT_IO', 'PARALLEL_DIRECT_WRITES', 'NOFLUSH'], { minLength: 1 }) },
  { weight: 1, arbitrary: fc.constant<FopenFlagName[]>(['KEEP_CACHE']) },
);
const offset = fc.option(fc.constantFrom(0, 2, 4096, 5000), { nil: null, freq: 2 });

function intentArb(opts: GenOptions): fc.Arbitrary<Intent> {
  const w = (weight: number, arbitrary: fc.Arbitrary<Intent>, ...kinds: IntentKind[]) => ({ weight, arbitrary, kinds });
  const choices = [
    w(5, fc.record({ k: fc.constant('daemonOpen' as const), file, mode: daemonMode }), 'daemonOpen'),
    w(2, fc.record({ k: fc.constant('daemonClose' as const), pick }), 'daemonClose'),
    // Behind the kernel's back: PT reads and mappings see it, the FUSE size does not (IO-28).
    w(2, fc.record({ k: fc.constant('daemonWrite' as const), pick, offset: fc.constantFrom(0, 10, 4095, 8190) }), 'daemonWrite'),
    // The /dev/fuse ioctls sent to the backing file's fd instead.
    w(1, fc.record({ k: fc.constant('daemonIoctl' as const), pick, cmd: fc.constantFrom('CLONE' as const, 'BACKING_OPEN' as const, 'BACKING_CLOSE' as const, 'SYNC_INIT' as const) }), 'daemonIoctl'),
    w(
      5,
      fc.record({
        k: fc.constant('backingOpen' as const),
        dev: fc.nat({ max: 1 }),
        pick,
        cred,
        bad: fc.oneof({ weight: 14, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('flags' as const, 'padding' as const, 'rawFd' as const, 'devFuse' as const) }),
      }),
      'backingOpen',
    ),
    w(4, fc.record({ k: fc.constant('backingClose' as const), dev: fc.nat({ max: 1 }), id: idRef, cred }), 'backingClose'),
    w(
      1,
      fc.record({ k: fc.constant('lock' as const), pick, daemon: fc.boolean(), kind: fc.constantFrom<'flock' | 'ofd'>('flock', 'ofd'), type: fc.constantFrom<'shared' | 'exclusive' | 'unlock'>('shared', 'exclusive', 'unlock') }),
      'lock',
    ),
    w(1, fc.record({ k: fc.constant('registerMany' as const), dev: fc.nat({ max: 1 }), file, count: fc.constantFrom(2, 40) }), 'registerMany'), // the library case has the 2000 (a long loop is slow in the sim)
    w(
      4,
      fc.record({
        k: fc.constant('setOpenReply' as const),
        node,
        flags: fopenFlags,
        extraBits: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1 << 8, 1 << 12, 1 << 20) }),
        backing: fc.option(idRef, { nil: null, freq: 8 }),
        error: fc.oneof({ weight: 14, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom<Errno>('ENOENT', 'EACCES') }),
        two: fc.boolean(),
      }, { requiredKeys: ['k', 'node', 'flags', 'extraBits', 'backing', 'error'] }),
      'setOpenReply',
    ),
    // 9: the new intents (unlink, rename, daemonWrite, ...) had diluted passthrough opens to 29%.
    w(9, fc.record({ k: fc.constant('ptSetup' as const), file: ptFile, mode: daemonMode, node, access, extra: ptExtra }), 'ptSetup'),
    // nobody (optional, so a quarter of the opens): the client's credentials, allow_other (PTF-2).
    // two (optional, so a quarter of the opens): on the further mount, once mountTwo made it.
    w(6, fc.record({ k: fc.constant('open' as const), node: fc.nat({ max: 3 }), create: fc.boolean(), access, extra: openExtra, nobody: fc.boolean(), two: fc.boolean() }, { requiredKeys: ['k', 'node', 'create', 'access', 'extra'] }), 'open'),
    w(4, fc.record({ k: fc.constantFrom('read' as const, 'spliceRead' as const), pick, length: fc.constantFrom(1, 100, 4096, 8192, 65536), offset }), 'read', 'spliceRead'),
    w(4, fc.record({ k: fc.constantFrom('write' as const, 'spliceWrite' as const), pick, data: fc.constantFrom('w', 'hello', 'XXXXXXXXXXXX'), offset }), 'write', 'spliceWrite'),
    w(2, fc.record({ k: fc.constant('mmap' as const), pick, shared: fc.boolean(), write: fc.boolean(), big: fc.boolean() }), 'mmap'),
    w(2, fc.record({ k: fc.constant('mapRead' as const), pick, offset: fc.constantFrom(0, 4096, 65536), length: fc.constantFrom(100, 4096, 65536) }), 'mapRead'),
    w(1, fc.record({ k: fc.constant('munmap' as const), pick }), 'munmap'),
    w(2, fc.record({ k: fc.constant('stat' as const), pick, node: fc.option(node, { nil: null, freq: 3 }) }), 'stat'),
    w(1, fc.record({ k: fc.constant('ftruncate' as const), pick, size: fc.constantFrom(0, 10, 4096, 10000) }), 'ftruncate'),
    w(1, fc.record({ k: fc.constant('fsync' as const), pick, dataOnly: fc.boolean() }), 'fsync'),
    w(4, fc.record({ k: fc.constant('close' as const), pick }), 'close'),
    w(1, fc.record({ k: fc.constant('inspect' as const), file }), 'inspect'),
    w(1, fc.record({ k: fc.constant('lseek' as const), pick, whence: fc.constantFrom('SET' as const, 'CUR' as const, 'END' as const, 'DATA' as const, 'HOLE' as const), offset: fc.constantFrom(0, 10, 5000) }), 'lseek'),
    w(1, fc.record({ k: fc.constant('fallocate' as const), pick, length: fc.constantFrom(1, 4096) }), 'fallocate'),
    w(1, fc.record({ k: fc.constant('posixFallocate' as const), pick, offset: fc.constantFrom(0, 100, 4096), length: fc.constantFrom(0, 10, 5000) }), 'posixFallocate'),
    w(1, fc.record({ k: fc.constant('getxattr' as const), pick }), 'getxattr'),
    // Names go while files stay open on them (UNLINK, RENAME onto another node or itself).
    w(1, fc.record({ k: fc.constant('unlink' as const), node, two: fc.boolean() }, { requiredKeys: ['k', 'node'] }), 'unlink'),
    // A temporary backing file: registered, then its name removed.
    w(1, fc.record({ k: fc.constant('unlinkWorldFile' as const), file }), 'unlinkWorldFile'),
    // The backing filesystem unmounted under the registrations (EBUSY while pinned).
    w(1, fc.record({ k: fc.constant('umountWorldFs' as const), lazy: fc.boolean() }), 'umountWorldFs'),
    // A container's overlayfs over the FUSE mount: STACK-2 against the negotiated depth, and
    // the superblock it holds past the FUSE mount's umount.
    w(1, fc.constant<Intent>({ k: 'mountOverlayOnFuse' }), 'mountOverlayOnFuse'),
    // A FUSE mount inside the FUSE tree (a world with `nest` files): its files are reachable,
    // registrable (STACK-8), and the outer mount busy, only while it is there.
    w(2, fc.constant<Intent>({ k: 'mountNestedFuse' }), 'mountNestedFuse'),
    // What an indexer watching the FUSE mount sees of each syscall, passthrough or not.
    w(4, fc.record({ k: fc.constant('watchFuseFile' as const), pick }), 'watchFuseFile'),
    w(1, fc.record({ k: fc.constant('rename' as const), from: node, to: node, two: fc.boolean() }, { requiredKeys: ['k', 'from', 'to'] }), 'rename'),
    w(1, fc.record({ k: fc.constant('fileIoctl' as const), pick }), 'fileIoctl'),
    w(
      1,
      fc.record(
        {
          k: fc.constant('copyRange' as const),
          from: pick,
          to: pick,
          length: fc.constantFrom(1, 100),
          fromOffset: fc.option(fc.constantFrom(0, 2, 4095, 5000), { nil: undefined }),
          toOffset: fc.option(fc.constantFrom(0, 8, 4096), { nil: undefined }),
          world: worldSide(4),
          file,
        },
        { requiredKeys: ['k', 'from', 'to', 'length'] },
      ),
      'copyRange',
    ),
    w(
      1,
      fc.record(
        // At most 5000: a file sent into itself grows as it is read, a round per byte, and
        // 70000 such rounds overflowed the kernel target's request log (the library case
        // io-sendfile-through-the-internal-pipe has the multi-round copy).
        { k: fc.constant('sendfile' as const), from: pick, to: pick, length: fc.constantFrom(1, 100, 5000), offset: fc.option(fc.constantFrom(0, 3, 5000), { nil: undefined }), world: worldSide(1), file },
        { requiredKeys: ['k', 'from', 'to', 'length'] },
      ),
      'sendfile',
    ),
    w(1, fc.record({ k: fc.constant('readdir' as const), two: fc.boolean() }, { requiredKeys: ['k'] }), 'readdir'),
    w(1, fc.record({ k: fc.constant('setDaemonSize' as const), node, size: fc.constantFrom(0, 10, 8192) }), 'setDaemonSize'),
    w(2, fc.record({ k: fc.constant('observe' as const), what: fc.constantFrom(...OBSERVABLES), pick }), 'observe'),
    w(1, fc.record({ k: fc.constant('abort' as const), two: fc.boolean() }, { requiredKeys: ['k'] }), 'abort'),
    w(1, fc.record({ k: fc.constant('umount' as const), lazy: fc.boolean(), two: fc.boolean() }, { requiredKeys: ['k', 'lazy'] }), 'umount'),
    w(1, fc.constant<Intent>({ k: 'mountTwo' }), 'mountTwo'),
    w(1, fc.record({ k: fc.constant('devClose' as const), pick }), 'devClose'),
    w(1, fc.constant<Intent>({ k: 'devClone' }), 'devClone'),
  ];
  if (opts.simOnly === true) {
    choices.push(w(1, fc.record({ k: fc.constant('simFailAlloc' as const), what: fc.constantFrom('fuseBacking' as const, 'idr' as const) }), 'simFailAlloc'));
    choices.push(w(1, fc.record({ k: fc.constant('simIdCursor' as const), next: fc.constantFrom(1, 5, 0x7ffffffe, 0x7fffffff) }), 'simIdCursor'));
  }
  const only = opts.only;
  const picked = only === undefined ? choices : choices.filter((c) => c.kinds.some((k) => only.includes(k)));
  if (picked.length === 0) throw new Error(`no intent kind left to generate (only: ${only?.join(', ') ?? ''})`);
  return fc.oneof(...picked.map(({ weight, arbitrary }) => ({ weight, arbitrary })));
}

/** Whole fuzz programs: world files, INIT reply, intents. */
export function programArb(opts: GenOptions = {}): fc.Arbitrary<FuzzProgram> {
  return fc.record({
    // palette index 0 is `b`, always present; pick extras among the rest
    files: fc.subarray(FILE_PALETTE.map((_, i) => i).slice(1), { maxLength: 4 }),
    init: INIT_CHOICES,
    daemon: DAEMON_CHOICES,
    liveSize: fc.boolean(),
    watchIo: fc.boolean(),
    bigNode: fc.boolean(),
    observeInner: fc.boolean(),
    intents: fc.array(intentArb(opts), { minLength: 1, maxLength: opts.maxIntents ?? 24, size: 'medium' }),
  });
}
