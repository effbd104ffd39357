// The world part of a case's semantic checks (validate.ts checkNames): which filesystems a step
// may touch outside FUSE, and what a world file on each of them may say.
import type { Case } from '../spec/case.ts';
import { KERNEL_WORLD_FILES } from '../fixtures/world.ts';
import { didYouMean, type Issue } from './schema-errors.ts';

/**
 * The world's host filesystems: the files a `sizeFrom`, `daemonWrite`, `daemonIoctl` or
 * `unlinkWorldFile` touches live there, never on FUSE, so the call cannot wait on a daemon.
 */
export const HOST_WORLD_FS: ReadonlySet<string> = new Set(['disk', 'tmpfs', 'overlay', 'roBind', 'memfd']);
/** The world filesystems whose files lsofHasFile observes: statx of their path is no request. */
export const LSOF_WORLD_FS: ReadonlySet<string> = new Set(['disk', 'tmpfs', 'overlay', 'roBind']);
/** The host filesystems whose files have a name (unlinkWorldFile). */
export const NAMED_HOST_WORLD_FS: ReadonlySet<string> = new Set([...HOST_WORLD_FS].filter((on) => on !== 'memfd'));

/** The world holds these files open itself (they have no name to open them by). */
export const WORLD_HELD_FS: ReadonlySet<string> = new Set(['memfd', 'pipefs', 'sockfs']);

/** What a world file on a filesystem whose files take no fields is. */
const FIXED_FILE_TEXT: Readonly<Record<string, string>> = {
  procfs: `none: it is the kernel's own ${KERNEL_WORLD_FILES.procfs.path}`,
  sysfs: `none: it is the kernel's own ${KERNEL_WORLD_FILES.sysfs.path}`,
  pipefs: 'none: it is an anonymous pipe',
  sockfs: 'none: it is one end of a socketpair',
};

/** A world file a step may open itself, outside FUSE: a regular file on a host filesystem. */
export function isHostRegularFile(spec: { on: string; type?: string } | undefined): boolean {
  return spec !== undefined && HOST_WORLD_FS.has(spec.on) && (spec.type ?? 'file') === 'file';
}

/** A JSON pointer segment for a key (RFC 6901: "~" as "~0", "/" as "~1"). */
export function pointerSegment(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The issue of a name that is no world file, or null when it is one. */
export function unknownFileIssue(kase: Case, at: string, file: string): Issue | null {
  const worldFiles = Object.keys(kase.world.files ?? {});
  if (worldFiles.includes(file)) return null;
  return { path: at, message: `"${file}" is not a file of the world (expected one of world.files: ${worldFiles.join(', ') || '(none)'}, or devfuse:<dev>)${didYouMean(file, worldFiles)}` };
}

/** What the world itself says wrong: fields a world file's filesystem does not take, live sizes from files off the host. */
export function checkWorld(kase: Case): Issue[] {
  const issues: Issue[] = [];
  // procfs and sysfs files are the kernel's own (fixtures/world.ts KERNEL_WORLD_FILES); a memfd
  // has no name for a type other than a regular file or a mode to take.
  for (const [name, spec] of Object.entries(kase.world.files ?? {})) {
    const at = `/world/files/${pointerSegment(name)}`;
    const fixed = spec.on === 'memfd' ? (['type', 'mode'] as const) : spec.on in FIXED_FILE_TEXT ? (['type', 'content', 'size', 'mode'] as const) : [];
    for (const key of fixed) {
      if (spec[key] !== undefined) issues.push({ path: `${at}/${key}`, message: `a world file on ${spec.on} takes no "${key}" (expected ${FIXED_FILE_TEXT[spec.on] ?? 'a regular file with "content" or "size" only'})` });
    }
  }
  // A FUSE mount inside the FUSE tree needs a directory of that tree to sit on.
  const at = kase.world.nestedFuseAt;
  const nested = Object.entries(kase.world.files ?? {}).filter(([, f]) => f.on === 'nestedFuse');
  if (at !== undefined && kase.world.nodes?.[at]?.type !== 'dir') {
    issues.push({ path: '/world/nestedFuseAt', message: `"${at}" is not a directory node of the world (expected a node with "type": "dir")` });
  }
  if (at === undefined && nested.length > 0) {
    issues.push({ path: `/world/files/${pointerSegment(nested[0]![0])}/on`, message: 'a nestedFuse file needs a directory to be mounted on (expected world.nestedFuseAt, a directory node)' });
  }
  for (const [name, f] of nested) {
    if ((f.type ?? 'file') !== 'file') issues.push({ path: `/world/files/${pointerSegment(name)}/type`, message: `only regular files live on nestedFuse (expected no "type", got "${f.type}")` });
  }
  // The observed inner daemon must serve a file of the case, and serve nothing but the world files
  // on it: the `fuse` mount is also overlayOverFuse's lower layer, whose accesses by overlayfs
  // the model does not follow.
  const inner = kase.world.observeInnerDaemon;
  if (inner !== undefined) {
    const files = Object.values(kase.world.files ?? {});
    if (!files.some((f) => f.on === inner)) {
      issues.push({ path: '/world/observeInnerDaemon', message: `no world file is on ${inner} (expected at least one file with "on": "${inner}")` });
    }
    if (inner === 'fuse' && files.some((f) => f.on === 'overlayOverFuse')) {
      issues.push({ path: '/world/observeInnerDaemon', message: 'the fuse daemon also serves the overlayOverFuse files\' lower layer, whose requests are not modelled (expected no overlayOverFuse file with observeInnerDaemon "fuse")' });
    }
  }
  // A node's live size is read with stat(2) by the kernel target's daemon: a file of its own
  // mount or of an inner FUSE mount would make the daemon wait on itself.
  for (const [node, spec] of Object.entries(kase.world.nodes ?? {})) {
    if (spec.sizeFrom === undefined) continue;
    const at = `/world/nodes/${pointerSegment(node)}/sizeFrom`;
    const on = kase.world.files?.[spec.sizeFrom]?.on;
    const unknown = on === undefined ? unknownFileIssue(kase, at, spec.sizeFrom) : null;
    if (unknown !== null) issues.push(unknown);
    else if (on !== undefined && !HOST_WORLD_FS.has(on)) issues.push({ path: at, message: `"${spec.sizeFrom}" is on ${on} (expected a world file on ${[...HOST_WORLD_FS].join(', ')})` });
  }
  return issues;
}
