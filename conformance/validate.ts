// Semantic checks the JSON Schema cannot express: every name a step uses (a /dev/fuse fd, a
// daemon fd, a backing registration, a client fd, a mapping, a node, a world file) is defined
// by an earlier step or by the world, and observe steps name what they observe.
import type { Action, Case } from '../spec/case.ts';
import { didYouMean, type Issue } from './schema-errors.ts';
import { nameExpectation, nameProblem, WORLD_FILE_NAME_MAX } from '../spec/names.ts';
import { checkMountAndWatchSteps, checkObserveStep } from './validate-mounts.ts';
import { checkWorld, HOST_WORLD_FS, isHostRegularFile, NAMED_HOST_WORLD_FS, pointerSegment, unknownFileIssue } from './validate-world.ts';

type NameKind = 'dev' | 'daemonFd' | 'registration' | 'clientFd' | 'map';

const KIND_TEXT: Record<NameKind, string> = {
  dev: 'a /dev/fuse fd (devOpen or devClone "as")',
  daemonFd: 'a daemon fd (daemonOpen "as")',
  registration: 'a backing registration (backingOpen "as")',
  clientFd: 'a client fd (open or opendir "as")',
  map: 'a mapping (mmap "as")',
};

const KIND_SHORT: Record<NameKind, string> = {
  dev: '/dev/fuse fd',
  daemonFd: 'daemon fd',
  registration: 'backing registration',
  clientFd: 'client fd',
  map: 'mapping',
};

interface Definition {
  kind: NameKind;
  step: number;
}

/** What each step defines (`as`), in step order, with the kind of name. */
function definitionOf(step: Action): NameKind | undefined {
  switch (step.op) {
    case 'devOpen':
    case 'devClone':
      return 'dev';
    case 'daemonOpen':
      return 'daemonFd';
    case 'backingOpen':
      return step.as !== undefined ? 'registration' : undefined;
    case 'open':
    case 'opendir':
      return 'clientFd';
    case 'mmap':
      return 'map';
    default:
      return undefined;
  }
}

/** The names a step uses, with the JSON property that holds each. */
function usesOf(step: Action): { prop: string; kind: NameKind; name: string }[] {
  const use = (prop: string, kind: NameKind, name: string | number | undefined) =>
    typeof name === 'string' ? [{ prop, kind, name }] : [];
  switch (step.op) {
    case 'syncInit':
    case 'registerMany':
    case 'mount':
    case 'devClone':
    case 'devRead':
    case 'devIoctl':
    case 'devClose':
      return use('dev', 'dev', step.dev);
    case 'daemonOpen':
      return step.file.startsWith('devfuse:') ? use('file', 'dev', step.file.slice('devfuse:'.length)) : [];
    case 'daemonClose':
    case 'daemonWrite':
    case 'daemonIoctl':
      return use('fd', 'daemonFd', step.fd);
    case 'backingOpen':
      return [...use('dev', 'dev', step.dev), ...use('fd', 'daemonFd', step.fd)];
    case 'backingClose':
      return [...use('dev', 'dev', step.dev), ...use('id', 'registration', step.id)];
    case 'setOpenReply':
      return use('reply/backing', 'registration', step.reply.backing);
    case 'readdir':
    case 'read':
    case 'write':
    case 'spliceRead':
    case 'spliceWrite':
    case 'mmap':
    case 'lseek':
    case 'ftruncate':
    case 'fsync':
    case 'fallocate':
    case 'posixFallocate':
    case 'fileIoctl':
    case 'getxattr':
    case 'close':
    case 'watchFuseFile':
      return use('fd', 'clientFd', step.fd);
    case 'stat':
      return use('fd', 'clientFd', step.fd);
    case 'copyRange':
    case 'sendfile':
      return [...use('from', 'clientFd', step.from), ...use('to', 'clientFd', step.to)];
    case 'lock':
      return [...use('fd', 'clientFd', step.fd), ...use('daemonFd', 'daemonFd', step.daemonFd)];
    case 'mapRead':
    case 'mapWrite':
    case 'munmap':
      return use('map', 'map', step.map);
    case 'observe':
      return [...use('dev', 'dev', step.dev), ...use('fd', 'clientFd', step.fd), ...use('map', 'map', step.map)];
    case 'simParallelDioWrite':
      return use('fd', 'clientFd', step.fd);
    case 'devOpen':
    case 'replyInit':
    case 'setDaemonSize':
    case 'unlink':
    case 'rename':
    case 'abort':
    case 'umount':
    case 'open':
    case 'opendir':
    case 'inspectBacking':
    case 'unlinkWorldFile':
    case 'umountWorldFs':
    case 'mountOverlayOnFuse':
    case 'mountNestedFuse':
    case 'simIdCursor':
    case 'simFailAlloc':
    case 'simInterleave': // its nested actions are visited one by one in checkNames
      return []; // names they hold are definitions, nodes or world files (checked in checkNames)
    default: {
      // A new step type must say here which names it uses.
      const unhandled: never = step;
      return unhandled;
    }
  }
}

const SIM_ONLY_OPS: ReadonlySet<string> = new Set(['simIdCursor', 'simFailAlloc', 'simParallelDioWrite', 'simInterleave']);

/** Sim-only knobs (sim-only steps, compat32, world simTraits) require `simOnly` on the case. */
export function checkSimOnly(kase: Case): Issue[] {
  if (kase.simOnly !== undefined) return [];
  const issues: Issue[] = [];
  const need = 'expected the case to set "simOnly" with the reason the kernel cannot play it';
  kase.steps.forEach((step, i) => {
    for (const { action, at } of withNested(step, `/steps/${i}`)) {
      if (SIM_ONLY_OPS.has(action.op)) issues.push({ path: `${at}/op`, message: `"${action.op}" is a sim-only step (${need})` });
      if ((action as { compat32?: boolean }).compat32 === true) issues.push({ path: `${at}/compat32`, message: `compat32 is sim only (${need})` });
    }
  });
  for (const [name, file] of Object.entries(kase.world.files ?? {})) {
    if ((file.simTraits?.length ?? 0) > 0) issues.push({ path: `/world/files/${name}/simTraits`, message: `simTraits are sim only (${need})` });
  }
  return issues;
}


/** Semantic issues of a schema-valid case; empty when it is sound. */
export function checkNames(kase: Case): Issue[] {
  const issues: Issue[] = [...checkWorld(kase), ...checkMountAndWatchSteps(kase)];
  const defined = new Map<string, Definition>();
  const firstDefinition = new Map<string, Definition>();
  kase.steps.forEach((step, i) => {
    for (const { action } of withNested(step, `/steps/${i}`)) {
      const kind = definitionOf(action);
      const as = (action as { as?: string }).as;
      if (kind && as !== undefined && !firstDefinition.has(as)) firstDefinition.set(as, { kind, step: i });
    }
  });

  const nodes = new Set(Object.keys(kase.world.nodes ?? {}));
  const worldNodes = [...nodes];

  const checkUse = (at: string, kind: NameKind, name: string, index: number) => {
    const d = defined.get(name);
    if (d && d.kind === kind) return;
    if (d) {
      issues.push({ path: at, message: `"${name}" is a ${KIND_SHORT[d.kind]} (step ${d.step}), expected ${KIND_TEXT[kind]}` });
      return;
    }
    const later = firstDefinition.get(name);
    if (later && later.step >= index) {
      issues.push({ path: at, message: `"${name}" is used before step ${later.step} defines it (expected ${KIND_TEXT[kind]} defined by an earlier step)` });
      return;
    }
    const known = [...defined].filter(([, v]) => v.kind === kind).map(([k]) => k);
    issues.push({
      path: at,
      message: `"${name}" is not defined (expected ${KIND_TEXT[kind]} defined by an earlier step${known.length > 0 ? `; defined so far: ${known.join(', ')}` : ''})${didYouMean(name, known)}`,
    });
  };

  const checkNode = (at: string, node: string) => {
    if (nodes.has(node)) return;
    issues.push({
      path: at,
      message: `"${node}" is not a node of the world (expected one of world.nodes: ${worldNodes.join(', ') || '(none)'}, or a name an earlier open with O_CREAT created)${didYouMean(node, [...nodes])}`,
    });
  };

  const checkFile = (at: string, file: string) => {
    const issue = unknownFileIssue(kase, at, file);
    if (issue !== null) issues.push(issue);
  };

  /** A world file a step opens itself, outside FUSE: a regular file on a host filesystem. */
  const checkHostRegularFile = (at: string, file: string) => {
    checkFile(at, file);
    const spec = kase.world.files?.[file];
    if (spec !== undefined && !isHostRegularFile(spec)) {
      issues.push({ path: at, message: `"${file}" is ${(spec.type ?? 'file') === 'file' ? `on ${spec.on}` : `a ${spec.type}`} (expected a regular world file on ${[...HOST_WORLD_FS].join(', ')})` });
    }
  };

  // Open replies in the world name registrations that steps make; the registration must exist
  // by the time the node is first opened (the daemon answers OPEN from it then).
  const worldReplyUses: { at: string; name: string; node: string | null }[] = [];
  for (const [node, spec] of Object.entries(kase.world.nodes ?? {})) {
    if (typeof spec.open?.backing === 'string') worldReplyUses.push({ at: `/world/nodes/${node}/open/backing`, name: spec.open.backing, node });
  }
  if (typeof kase.world.create?.backing === 'string') worldReplyUses.push({ at: '/world/create/backing', name: kase.world.create.backing, node: null });
  const worldReplyChecked = new Set<string>();

  /** Daemon fd name -> the file its latest daemonOpen opened. */
  const daemonFdFile = new Map<string, string>();
  /** A daemon fd a step uses outside the daemon loop: one on a host world file. */
  const checkHostDaemonFd = (at: string, fdName: string) => {
    const file = daemonFdFile.get(fdName);
    const on = file === undefined ? undefined : kase.world.files?.[file]?.on;
    if (file !== undefined && (on === undefined || !HOST_WORLD_FS.has(on))) {
      issues.push({ path: at, message: `"${fdName}" is an fd of ${file.startsWith('devfuse:') ? '/dev/fuse' : `"${file}" on ${on ?? 'no filesystem'}`} (expected an fd of a world file on ${[...HOST_WORLD_FS].join(', ')})` });
    }
  };
  const visit = (step: Action, at: string, i: number) => {
    for (const u of usesOf(step)) checkUse(`${at}/${u.prop}`, u.kind, u.name, i);

    switch (step.op) {
      case 'daemonOpen':
        if (!step.file.startsWith('devfuse:')) checkFile(`${at}/file`, step.file);
        daemonFdFile.set(step.as, step.file);
        break;
      case 'lock':
        if ((step.fd === undefined) === (step.daemonFd === undefined)) {
          issues.push({ path: at, message: 'a lock step needs exactly one of "fd" (a client fd) or "daemonFd" (a daemon fd on a world file)' });
        }
        // A daemon's lock on a FUSE file would be a SETLK the scripted daemon answers to itself.
        if (step.daemonFd !== undefined) checkHostDaemonFd(`${at}/daemonFd`, step.daemonFd);
        break;
      case 'daemonWrite':
      case 'daemonIoctl':
        // A write or ioctl through FUSE would be a request the scripted daemon answers to itself.
        checkHostDaemonFd(`${at}/fd`, step.fd);
        break;
      case 'inspectBacking': {
        checkFile(`${at}/file`, step.file);
        // Read to its end: a pipe, fifo or socket would wait for a writer, or cannot be opened.
        const spec = kase.world.files?.[step.file];
        if (spec !== undefined && (spec.on === 'pipefs' || spec.on === 'sockfs' || spec.type === 'fifo' || spec.type === 'socket')) {
          issues.push({ path: `${at}/file`, message: `"${step.file}" is ${spec.on === 'pipefs' || spec.type === 'fifo' ? 'a pipe' : 'a socket'}, which has no bytes to read back (expected a file, directory, device or symlink)` });
        }
        // Its path runs through the FUSE mount under test, whose daemon the read would wait on.
        if (spec?.on === 'nestedFuse') issues.push({ path: `${at}/file`, message: `"${step.file}" is on nestedFuse, reached only through the FUSE mount under test (expected a world file outside it)` });
        break;
      }
      case 'registerMany':
        // Opened and closed by the daemon thousands of times: never a file whose close reaches FUSE.
        checkHostRegularFile(`${at}/file`, step.file);
        break;
      case 'copyRange':
      case 'sendfile':
        for (const [fd, file, side] of [[step.from, step.fromFile, 'from'], [step.to, step.toFile, 'to']] as const) {
          if ((fd === undefined) === (file === undefined)) {
            issues.push({ path: at, message: `a ${step.op} step needs exactly one of "${side}" (a client fd) or "${side}File" (a world file)` });
          } else if (file !== undefined) {
            // The step opens it outside FUSE.
            checkHostRegularFile(`${at}/${side}File`, file);
          }
        }
        if (step.fromFile !== undefined && step.toFile !== undefined) {
          issues.push({ path: `${at}/toFile`, message: 'both sides are world files, so FUSE is not involved (expected a client fd on at least one side)' });
        }
        break;
      case 'umountWorldFs':
        if (!Object.values(kase.world.files ?? {}).some((f) => f.on === step.on)) {
          issues.push({ path: `${at}/on`, message: `no world file lives on ${step.on}, so the world mounts none (expected a world file with "on": "${step.on}")` });
        }
        break;
      case 'unlinkWorldFile': {
        checkFile(`${at}/file`, step.file);
        const on = kase.world.files?.[step.file]?.on;
        if (on === 'memfd') issues.push({ path: `${at}/file`, message: `"${step.file}" is a memfd, which has no name to unlink (expected a world file on ${[...NAMED_HOST_WORLD_FS].join(', ')})` });
        else if (on !== undefined && !HOST_WORLD_FS.has(on)) issues.push({ path: `${at}/file`, message: `"${step.file}" is on ${on} (expected a world file on ${[...HOST_WORLD_FS].join(', ')})` });
        break;
      }
      case 'setOpenReply':
      case 'setDaemonSize':
      case 'unlink':
        checkNode(`${at}/node`, step.node);
        break;
      case 'rename':
        checkNode(`${at}/from`, step.from);
        nodes.add(step.to); // a new name from here on, as an O_CREAT open makes one
        break;
      case 'opendir':
        if (step.node !== undefined) checkNode(`${at}/node`, step.node);
        break;
      case 'stat':
        if (step.node !== undefined) checkNode(`${at}/node`, step.node);
        if ((step.node === undefined) === (step.fd === undefined)) {
          issues.push({ path: at, message: 'a stat step needs exactly one of "fd" (a client fd) or "node" (a node name)' });
        }
        break;
      case 'open': {
        const creates = step.flags?.includes('O_CREAT') ?? false;
        if (!nodes.has(step.node) && creates) {
          nodes.add(step.node);
          checkWorldReplies(null, i);
        } else {
          checkNode(`${at}/node`, step.node);
          checkWorldReplies(step.node, i);
        }
        break;
      }
      case 'observe':
        if (step.file !== undefined) checkFile(`${at}/file`, step.file);
        issues.push(...checkObserveStep(kase, step, at));
        break;
      default:
        break;
    }

    const kind = definitionOf(step);
    const as = (step as { as?: string }).as;
    if (kind && as !== undefined) defined.set(as, { kind, step: i });
  };
  kase.steps.forEach((step, i) => {
    for (const { action, at } of withNested(step, `/steps/${i}`)) visit(action, at, i);
  });

  function checkWorldReplies(node: string | null, index: number) {
    for (const u of worldReplyUses) {
      if (u.node !== node || worldReplyChecked.has(u.at)) continue;
      worldReplyChecked.add(u.at);
      const d = defined.get(u.name);
      if (d?.kind === 'registration') continue;
      issues.push({
        path: u.at,
        message: `"${u.name}" is not a backing registration when step ${index} opens ${node === null ? 'a new file' : `"${node}"`} (expected a backingOpen "as" name from an earlier step)`,
      });
    }
  }

  // Registrations named by the world but never opened: still a dangling name.
  for (const u of worldReplyUses) {
    if (worldReplyChecked.has(u.at)) continue;
    const d = firstDefinition.get(u.name);
    if (d?.kind !== 'registration') {
      issues.push({ path: u.at, message: `"${u.name}" is not defined (expected a backing registration: a backingOpen "as" name)` });
    }
  }
  return issues;
}

/** A step and, for simInterleave, the actions it nests, in the order they take effect. */
function withNested(step: Action, at: string): { action: Action; at: string }[] {
  if (step.op !== 'simInterleave') return [{ action: step, at }];
  return [{ action: step, at }, ...step.actions.flatMap((a, k) => withNested(a, `${at}/actions/${k}`))];
}

/**
 * World file names and node names are directory entries, never paths (spec/names.ts): the
 * kernel target creates them inside the case's scratch area, so "../x" or "a/b" must not load.
 */
export function checkEntryNames(kase: Case): Issue[] {
  const issues: Issue[] = [];
  const check = (at: string, name: string, max?: number) => {
    const problem = nameProblem(name, max);
    if (problem) issues.push({ path: at, message: `${JSON.stringify(name).slice(0, 80)}: ${problem} (${nameExpectation(max)})` });
  };
  for (const name of Object.keys(kase.world.files ?? {})) check(`/world/files/${pointerSegment(name)}`, name, WORLD_FILE_NAME_MAX);
  for (const name of Object.keys(kase.world.nodes ?? {})) check(`/world/nodes/${pointerSegment(name)}`, name);
  kase.steps.forEach((step, i) => {
    for (const { action, at } of withNested(step, `/steps/${i}`)) {
      // Only an open may name a node the world lacks (O_CREAT); other node and file fields must
      // already name world entries (checkNames), which this function has checked above.
      if (action.op === 'open') check(`${at}/node`, action.node);
      if (action.op === 'rename') check(`${at}/to`, action.to);
    }
  });
  return issues;
}

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The case id is kebab-case and equals the file name without .json. */
export function checkId(kase: Case, fileBase: string): Issue[] {
  const issues: Issue[] = [];
  if (!KEBAB.test(kase.id)) issues.push({ path: '/id', message: `"${kase.id}" is not kebab-case (expected lower-case words joined by "-")` });
  if (kase.id !== fileBase) issues.push({ path: '/id', message: `"${kase.id}" differs from the file name (expected "${fileBase}")` });
  return issues;
}
