// fs/fuse/inode.c: FUSE_INIT negotiation (process_init_reply, INIT-1..12), the superblock's
// stack depth (STACK-1), and the connection's final put (fuse_conn_put, LIFE-23).
import type { InitReplySpec } from '../spec/case.ts';
import { DAEMON_CONGESTION_THRESHOLD, DAEMON_MAX_BACKGROUND } from '../fixtures/world.ts';
import { FILESYSTEM_MAX_STACK_DEPTH, FUSE_KERNEL_VERSION, INIT_FLAG_BITS, initFlags, type InitFlagName } from '../spec/uapi.ts';
import { fuseBackingFilesFree } from './backing.ts';
import type { Trace } from './explain.ts';
import type { Profile } from './profiles.ts';
import type { KernelState } from './state.ts';
import type { FuseConn, FuseInode } from './types.ts';
import type { Errno } from '../spec/errno.ts';
import { replyErrno } from './daemon-port.ts';
import type { Superblock } from './world/vfs.ts';

/**
 * Whether a flag is set in fuse_init_out's flags (`lo`, bits 0..31) or flags2 (`hi`, bits
 * 32..63), on numbers: BigInt arithmetic was a fifth of every modelled mount.
 */
function initFlagSet(lo: number, hi: number, name: InitFlagName): boolean {
  const b = INIT_FLAG_BITS[name];
  return b < 32 ? (lo & (1 << b)) !== 0 : (hi & (1 << (b - 32))) !== 0;
}

/**
 * The flags fuse_send_init offers on every mount, as 6.12's fs/fuse/inode.c lists them, with the
 * protocol minor that added each flag from 7.41 on (include/uapi/linux/fuse.h changelog).
 * Every profile (6.9 = 7.40 and later) offers the flags without a minor. Flags that need a
 * particular mount are left out: MAP_ALIGNMENT and HAS_INODE_DAX need DAX, SUBMOUNTS needs
 * virtiofs auto_submounts, and OVER_IO_URING needs the fuse module's enable_uring, which is
 * off by default.
 */
const ALWAYS_OFFERED: ReadonlyArray<readonly [InitFlagName, number?]> = [
  ['ASYNC_READ'], ['POSIX_LOCKS'], ['ATOMIC_O_TRUNC'], ['EXPORT_SUPPORT'], ['BIG_WRITES'],
  ['DONT_MASK'], ['SPLICE_WRITE'], ['SPLICE_MOVE'], ['SPLICE_READ'], ['FLOCK_LOCKS'],
  ['HAS_IOCTL_DIR'], ['AUTO_INVAL_DATA'], ['DO_READDIRPLUS'], ['READDIRPLUS_AUTO'], ['ASYNC_DIO'],
  ['WRITEBACK_CACHE'], ['NO_OPEN_SUPPORT'], ['PARALLEL_DIROPS'], ['HANDLE_KILLPRIV'], ['POSIX_ACL'],
  ['ABORT_ERROR'], ['MAX_PAGES'], ['CACHE_SYMLINKS'], ['NO_OPENDIR_SUPPORT'], ['EXPLICIT_INVAL_DATA'],
  ['HANDLE_KILLPRIV_V2'], ['SETXATTR_EXT'], ['INIT_EXT'], ['SECURITY_CTX'], ['CREATE_SUPP_GROUP', 39],
  // 6.1 (7.38) ends its list with HAS_EXPIRE_ONLY; CREATE_SUPP_GROUP came in 6.2 still at 7.38,
  // so it is placed at 39, which no profile between has. Then 6.6 (7.39) and 6.9 (7.40).
  ['HAS_EXPIRE_ONLY'], ['DIRECT_IO_ALLOW_MMAP', 39], ['NO_EXPORT_SUPPORT', 40], ['HAS_RESEND', 40],
  ['ALLOW_IDMAP', 41], ['REQUEST_TIMEOUT', 43],
];

/** The INIT flags a profile's kernel offers (fuse_send_init), in bit order. */
export function fuseInitOffer(profile: Profile): readonly InitFlagName[] {
  return initOfferOf(profile).flags;
}

/** The initOffer observable of a mount: `"<major>.<minor> <every offered flag>"`. */
export function fuseInitOfferText(profile: Profile): string {
  return initOfferOf(profile).text;
}

/** A profile's offer as fuse_send_init makes it: flags, the initOffer text and the mount step's value. */
interface InitOffer {
  flags: readonly InitFlagName[];
  text: string;
  sent: string;
}

// Every mount asks; a profile's offer never changes, so it and its texts are made once.
const OFFER_BY_PROFILE = new WeakMap<Profile, InitOffer>();

function initOfferOf(profile: Profile): InitOffer {
  let known = OFFER_BY_PROFILE.get(profile);
  if (known === undefined) {
    const flags = computeInitOffer(profile);
    const version = `${FUSE_KERNEL_VERSION}.${profile.protoMinor}`;
    const offers = flags.filter((f) => f === 'INIT_EXT' || f === 'PASSTHROUGH');
    known = { flags, text: `${version} ${flags.join(',')}`, sent: `${version} offers:${offers.join(',')}` };
    OFFER_BY_PROFILE.set(profile, known);
  }
  return known;
}

function computeInitOffer(profile: Profile): readonly InitFlagName[] {
  const offered = ALWAYS_OFFERED.filter(([, since]) => since === undefined || profile.protoMinor >= since).map(([f]) => f);
  // INIT-1: `if (IS_ENABLED(CONFIG_FUSE_PASSTHROUGH)) flags |= FUSE_PASSTHROUGH;`
  if (profile.passthroughConfigured) offered.push('PASSTHROUGH');
  // `#ifdef CONFIG_FUSE_DAX ... if (fuse_is_inode_dax_mode(fm->fc->dax_mode)) flags |= FUSE_HAS_INODE_DAX;`
  if (profile.fuseDax) offered.push('HAS_INODE_DAX');
  return offered.sort((a, b) => INIT_FLAG_BITS[a] - INIT_FLAG_BITS[b]);
}

/**
 * fuse_send_init: what the INIT request carries (INIT-1, INIT-2), as the mount step reports it:
 * `"<major>.<minor> offers:<INIT_EXT,PASSTHROUGH>"` (the two flags passthrough depends on).
 */
export function fuseSendInit(profile: Profile, t: Trace): string {
  t.fn('fuse_send_init');
  t.pass('INIT-1');
  t.pass('INIT-2');
  return initOfferOf(profile).sent;
}

/** Decode a reply as the kernel reads fuse_init_out, honouring a short reply (INIT-4). */
export function decodeInitReply(r: InitReplySpec, profile: Profile): {
  major: number;
  minor: number;
  flags: number;
  flags2: number;
  maxStackDepth: number;
  maxBackground: number;
  congestionThreshold: number;
} {
  const len = r.length ?? 64;
  // initFlags(r.flags) split into its two 32-bit words, without BigInts.
  let lo = 0;
  let hi = 0;
  for (const name of r.flags ?? []) {
    const b: unknown = INIT_FLAG_BITS[name];
    if (typeof b !== 'number') initFlags([name]); // throws for a name it does not know, as before
    else if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return {
    major: initField(len, 0, 4, r.major ?? FUSE_KERNEL_VERSION),
    minor: initField(len, 4, 4, r.minor ?? profile.protoMinor),
    flags: initField(len, 12, 4, lo >>> 0),
    flags2: initField(len, 32, 4, hi >>> 0),
    maxStackDepth: initField(len, 36, 4, (r.maxStackDepth ?? 0) >>> 0),
    maxBackground: initField(len, 16, 2, r.maxBackground ?? DAEMON_MAX_BACKGROUND),
    congestionThreshold: initField(len, 18, 2, r.congestionThreshold ?? DAEMON_CONGESTION_THRESHOLD),
  };
}

/**
 * A fuse_init_out field at `offset` of `size` bytes: `v` when a reply of `len` bytes holds it,
 * else 0. (A module function, not a closure: tsx names each closure as it is made, per mount.)
 */
function initField(len: number, offset: number, size: number, v: number): number {
  return len >= offset + size ? v : 0;
}

/** process_init_reply, in the kernel's order INIT-3 -> INIT-9. */
export function processInitReply(profile: Profile, fc: FuseConn, r: InitReplySpec, t: Trace): void {
  t.fn('process_init_reply');
  fc.initPending = false;
  const a = decodeInitReply(r, profile);
  if ((r.length ?? 64) < 64) t.pass('INIT-4');
  if (r.error !== undefined || a.major !== FUSE_KERNEL_VERSION) {
    t.pass('INIT-3');
    fc.connError = true;
    fc.noLock = fc.noFlock = true;
    return;
  }
  // process_init_limits: from 7.13 the daemon's non-zero limits replace FUSE_DEFAULT_MAX_BACKGROUND
  // (12) and its 3/4; the capability cap (max_user_bgreq) is far above 16-bit values on any
  // machine with the memory to run this (RAM / 8 KiB / 392).
  if (a.minor >= 13) {
    if (a.maxBackground !== 0) fc.maxBackground = a.maxBackground;
    if (a.congestionThreshold !== 0) fc.congestionThreshold = a.congestionThreshold;
  }
  if (a.minor < 6) {
    t.pass('INIT-5');
    t.pass('INIT-10');
    fc.noLock = fc.noFlock = true;
    return;
  }
  // flags2 counts only with INIT_EXT (a bit of the first word).
  const lo = a.flags >>> 0;
  const ext = initFlagSet(lo, 0, 'INIT_EXT');
  const hi = ext ? a.flags2 >>> 0 : 0;
  if (!ext && a.flags2 !== 0) t.pass('INIT-6');
  // Locks go to the daemon only if it says it implements them; else the VFS keeps them locally.
  if (!initFlagSet(lo, hi, 'POSIX_LOCKS')) fc.noLock = true;
  if (!initFlagSet(lo, hi, a.minor >= 17 ? 'FLOCK_LOCKS' : 'POSIX_LOCKS')) fc.noFlock = true;
  if (initFlagSet(lo, hi, 'WRITEBACK_CACHE')) fc.writebackCache = true;
  if (initFlagSet(lo, hi, 'BIG_WRITES')) fc.bigWrites = true;
  if (initFlagSet(lo, hi, 'DIRECT_IO_ALLOW_MMAP')) fc.directIoAllowMmap = true;
  if (initFlagSet(lo, hi, 'ATOMIC_O_TRUNC')) fc.atomicOTrunc = true;
  if (initFlagSet(lo, hi, 'HANDLE_KILLPRIV_V2')) fc.handleKillprivV2 = true;
  const wantsPt = initFlagSet(lo, hi, 'PASSTHROUGH');
  if (!wantsPt) {
    t.pass('INIT-10');
    return;
  }
  const msdOk = a.maxStackDepth > 0 && a.maxStackDepth <= FILESYSTEM_MAX_STACK_DEPTH;
  const wbBlocks = fc.writebackCache && profile.writebackDisablesPassthrough;
  if (!profile.passthroughConfigured) {
    t.pass('INIT-10');
    return;
  }
  if (!msdOk) {
    t.pass('INIT-8');
    t.pass('INIT-10');
    return;
  }
  if (wbBlocks) {
    t.pass('INIT-9');
    t.pass('INIT-10');
    return;
  }
  fc.passthrough = true;
  fc.maxStackDepth = a.maxStackDepth;
  fc.sb.stackDepth = a.maxStackDepth;
  t.pass('INIT-7');
  if (a.minor !== profile.protoMinor) t.pass('INIT-11');
  if (fc.directIoAllowMmap) t.pass('INIT-12');
  t.pass('STACK-1');
}

/** fuse_conn_new: a fresh connection for the superblock `sb` (passthrough off until INIT). */
export function newFuseConn(sb: Superblock, minor: number): FuseConn {
  return {
    minor,
    initPending: false,
    connError: false,
    connected: true,
    passthrough: false,
    maxStackDepth: 0,
    writebackCache: false,
    bigWrites: undefined,
    directIoAllowMmap: false,
    atomicOTrunc: false,
    handleKillprivV2: false,
    noOpen: false,
    noOpendir: false,
    noFlush: false,
    noFsync: false,
    noFallocate: false,
    noLseek: false,
    noCopyFileRange: false,
    noCopyFileRange64: false,
    noGetxattr: false,
    noCreate: false,
    noLock: false,
    noFlock: false,
    maxBackground: 12,
    congestionThreshold: 9,
    idr: new Map(),
    idrNext: 1,
    failNextAlloc: null,
    devCount: 0,
    sbAlive: false,
    mounted: false,
    freed: false,
    sb,
    syncInit: false,
  };
}

/**
 * fuse_conn_put: the connection lives while its superblock or any /dev/fuse fd (clones
 * included) does; the last put frees every remaining registration (LIFE-23).
 */
export function fuseConnPutIfUnused(k: KernelState, fc: FuseConn, t: Trace): void {
  if (fc.freed || fc.sbAlive || fc.devCount > 0) return;
  t.fn('fuse_conn_put');
  fc.freed = true;
  fc.connected = false;
  fuseBackingFilesFree(k, fc, t);
}

/**
 * fuse_abort_conn (fusectl abort, last /dev/fuse fd closed, umount): requests now fail with
 * ENOTCONN, open PT files keep working (LIFE-19, LIFE-20).
 */
export function fuseAbortConn(fc: FuseConn, t: Trace): void {
  t.fn('fuse_abort_conn');
  // Only the first abort does the work; it lifts the background limit to UINT_MAX so that
  // flush_bg_queue ends every queued request (fusectl's max_background then shows 4294967295;
  // fuzz --target both, 10 of 10 runs).
  if (fc.connected) fc.maxBackground = 0xffffffff;
  fc.connected = false;
  fc.initPending = false;
}

/** fuse_statfs (fstatfs(2) of a FUSE file): STATFS to the daemon; its f_bsize, or the errno. */
export function fuseStatfs(k: KernelState, fi: FuseInode, t: Trace): number | Errno {
  t.fn('fuse_statfs');
  const r = k.send(t, { op: 'STATFS', nodeid: fi.nodeid });
  const e = replyErrno(r);
  if (e !== null) return e;
  return typeof r === 'string' ? 0 : (r.statfsBsize ?? 0);
}
