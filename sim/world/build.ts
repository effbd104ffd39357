// Build the backing side of a fixtures/world.ts World: superblocks with the stack depths of
// kernel-spec §12, mounts, and world files whose bytes live in memory (vfs.ts FileBytes).
import type { BackingFileSpec, BackingFs, World } from '../../fixtures/world.ts';
import { DEFAULT_BACKING_BYTE, DEFAULT_FILE_SIZE, KERNEL_WORLD_FILES } from '../../fixtures/world.ts';
import type { Errno } from '../../spec/errno.ts';
import { FILESYSTEM_MAX_STACK_DEPTH } from '../../spec/uapi.ts';
import { sharedFill, textBytes } from '../daemon.ts';
import type { Mount, Superblock, Vfs, WFile, WInode } from './vfs.ts';
import type { InitReplySpec } from '../../spec/case.ts';
import { Trace } from '../explain.ts';
import { newFuseConn, processInitReply } from '../inode.ts';
import { getProfile, type Profile } from '../profiles.ts';


/**
 * STACK-2: overlayfs takes depth = max(layer depths) + 1 and fails the mount with EINVAL past
 * FILESYSTEM_MAX_STACK_DEPTH.
 */
export function overlayStackDepth(layers: readonly Superblock[]): number | Errno {
  const depth = Math.max(...layers.map((l) => l.stackDepth)) + 1;
  return depth > FILESYSTEM_MAX_STACK_DEPTH ? 'EINVAL' : depth;
}

function sb(kind: Superblock['kind'], stackDepth: number): Superblock {
  // Every key present (fops undefined until an inner FUSE mount takes it): one shape for the
  // superblocks the VFS's data path reads `fops` of.
  return { kind, stackDepth, hasMmap: true, directIo: true, mmapEnodev: undefined, refusesWriteOpen: undefined, fops: undefined };
}

export interface BackingWorld {
  readonly mounts: Readonly<Record<Exclude<BackingFs, 'self'>, Mount>>;
  readonly devtmpfs: Mount;
  /** `unlinked`: the name is gone (unlinkWorldFile); the inode lives on while held. */
  readonly files: Map<string, { spec: BackingFileSpec; inode: WInode; unlinked?: boolean; held?: WFile }>;
  /** World filesystems unmounted by a case (umountWorldFs) or detached with the mount under test (nestedFuse). */
  readonly unmounted: Set<'overlay' | 'nestedFuse'>;
  /** /dev/null and /dev/fuse. */
  readonly devNull: WInode;
  readonly devFuse: WInode;
}

/**
 * Stack depths: disk and tmpfs 0 (STACK-3); an inner FUSE without passthrough 0 (STACK-1,
 * STACK-8); overlayfs over either 1 (STACK-2, STACK-4, STACK-7); an inner FUSE with
 * passthrough negotiated with msd 1 or 2 has depth msd (STACK-1, STACK-9..11).
 */
const innerDepths = new Map<string, Map<string, number>>();

/**
 * An inner FUSE mount as the kernel builds it: a connection over the disk filesystem whose
 * daemon answers INIT with `init`; process_init_reply sets its superblock depth (STACK-1).
 */
function innerFuseSb(kind: 'fuse' | 'fusePt1' | 'fusePt2', init: InitReplySpec, profile: Profile): Superblock {
  // The depth depends on the kind and the profile alone: negotiated once per pair, not per
  // kernel (three INITs for every case the fuzzer builds).
  // By profile name, then kind (two levels: no key string to build per kernel).
  let byKind = innerDepths.get(profile.name);
  if (byKind === undefined) innerDepths.set(profile.name, (byKind = new Map()));
  let depth = byKind.get(kind);
  if (depth === undefined) {
    const probe = sb(kind, 0);
    processInitReply(profile, newFuseConn(probe, 0), init, new Trace());
    depth = probe.stackDepth;
    byKind.set(kind, depth);
  }
  return sb(kind, depth);
}

export function buildBackingWorld(vfs: Vfs, world: World, fuseUnderTest: Mount, profile: Profile = getProfile('6.18')): BackingWorld {
  const disk = sb('disk', 0);
  const innerFuse = innerFuseSb('fuse', { flags: ['INIT_EXT'] }, profile);
  const overlay = sb('overlay', 0);
  overlay.stackDepth = overlayStackDepth([disk]) as number;
  const overlayOverFuse = sb('overlayOverFuse', 0);
  overlayOverFuse.stackDepth = overlayStackDepth([innerFuse]) as number;
  const mounts: Record<Exclude<BackingFs, 'self'>, Mount> = {
    disk: { sb: disk, readOnly: false },
    tmpfs: { sb: sb('tmpfs', 0), readOnly: false },
    overlay: { sb: overlay, readOnly: false },
    overlayOverFuse: { sb: overlayOverFuse, readOnly: false },
    fuse: { sb: innerFuse, readOnly: false },
    fusePt1: { sb: innerFuseSb('fusePt1', { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 }, profile), readOnly: false },
    fusePt2: { sb: innerFuseSb('fusePt2', { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2 }, profile), readOnly: false },
    roBind: { sb: disk, readOnly: true },
    // proc_fill_super sets s_stack_depth to FILESYSTEM_MAX_STACK_DEPTH so that nothing stacks on
    // procfs: its files are never backing files (BOPEN-10, ELOOP on 6.18).
    // (Literals, not a spread of sb(): spreading then adding keys cost a fifth of createKernel.)
    procfs: { sb: { kind: 'procfs', stackDepth: FILESYSTEM_MAX_STACK_DEPTH, hasMmap: false, directIo: false, mmapEnodev: undefined, refusesWriteOpen: 'permission', fops: undefined }, readOnly: false },
    // kernfs has an ->mmap, which answers ENODEV for an attribute without one (IO-12).
    sysfs: { sb: { kind: 'sysfs', stackDepth: 0, hasMmap: true, directIo: false, mmapEnodev: true, refusesWriteOpen: 'open', fops: undefined }, readOnly: false },
    memfd: { sb: sb('memfd', 0), readOnly: false },
    pipefs: { sb: sb('pipefs', 0), readOnly: false },
    sockfs: { sb: sb('sockfs', 0), readOnly: false },
    // An inner FUSE without passthrough mounted inside the FUSE tree: depth 0 (STACK-8).
    nestedFuse: { sb: sb('nestedFuse', 0), readOnly: false },
  };
  const devtmpfs: Mount = { sb: sb('devtmpfs', 0), readOnly: false };
  const files: BackingWorld['files'] = new Map();
  const worldFiles = world.files ?? {};
  for (const name in worldFiles) {
    const spec = worldFiles[name]!;
    const mount = spec.on === 'self' ? fuseUnderTest : mounts[spec.on];
    // The default content is one shared buffer, copied by the file's first change.
    const kernelFile = spec.on === 'procfs' || spec.on === 'sysfs' ? KERNEL_WORLD_FILES[spec.on] : undefined;
    const shared = spec.content === undefined && kernelFile === undefined;
    const bytes = kernelFile !== undefined ? textBytes(kernelFile.content) : shared ? sharedFill(DEFAULT_BACKING_BYTE, spec.size ?? DEFAULT_FILE_SIZE) : textBytes(spec.content!);
    // An anonymous pipe's inode is a fifo, a socketpair end's a socket (the loader allows no type).
    const type = spec.on === 'pipefs' ? 'fifo' : spec.on === 'sockfs' ? 'socket' : (spec.type ?? 'file');
    let inode: WInode;
    if (type === 'chardev') {
      inode = vfs.newInode('chardev', name, devtmpfs);
    } else if (type === 'symlink') {
      // A symlink to a regular file `<name>.target`. The watch is on the link itself
      // (IN_DONT_FOLLOW, as the kernel target sets it), so opens of the target report nothing.
      inode = vfs.newInode('symlink', name, mount);
      inode.target = vfs.newInode('file', '', mount, bytes, shared);
    } else {
      inode = vfs.newInode(type, name, mount, type === 'file' ? bytes : undefined, shared);
    }
    const traits = (spec as { simTraits?: readonly string[] }).simTraits ?? [];
    const reg = inode.target ?? inode;
    if (traits.includes('denyWrite')) reg.denyWrite = true;
    if (traits.includes('lsmDenyOpen')) reg.lsmDenyOpen = true;
    if (traits.includes('leased')) reg.leased = true;
    if (traits.includes('noMmap') || traits.includes('noDirectIo')) {
      // A private superblock copy so the trait stays on this file.
      const own: Superblock = { ...mount.sb };
      if (traits.includes('noMmap')) own.hasMmap = false;
      if (traits.includes('noDirectIo')) own.directIo = false;
      const m: Mount = { sb: own, readOnly: mount.readOnly };
      // `bytes` may be the discarded inode's too: shared either way, so copied before a change.
      inode = vfs.newInode(type === 'symlink' ? 'file' : type, name, m, type === 'file' || type === 'symlink' ? bytes : undefined, true);
    }
    // The world's own fds: both ends of the pipe, the socketpair end (opened before any watch).
    const held = spec.on === 'pipefs' || spec.on === 'sockfs' ? vfs.openFileUnwatched(inode, 'rw') : undefined;
    files.set(name, { spec, inode, ...(held === undefined ? {} : { held }) });
  }
  const devNull = vfs.newInode('chardev', '', devtmpfs);
  const devFuse = vfs.newInode('chardev', '', devtmpfs);
  devFuse.devFuse = true;
  return { mounts, devtmpfs, files, devNull, devFuse, unmounted: new Set() };
}
