// One intent of a generated program (generate.ts) resolved against the live names of the
// Builder and emitted as steps, or dropped when it has nothing to act on.
import type { OpenFlagName, Step } from '../../spec/case.ts';
import { HOST_WORLD_FS, isHostRegularFile } from '../validate-world.ts';
import { observeStep } from './play-observe.ts';
import { BIG_NODE_SIZE, NODES, type Intent } from './generate.ts';
import { Builder, nth, recent } from './builder.ts';

/** World files a case may inspect directly: regular files on filesystems the host reads without FUSE. */
const INSPECTABLE = new Set(['disk', 'tmpfs', 'overlay', 'roBind', 'procfs', 'sysfs', 'memfd']);

/** Whether the two ends of a copy hold the same data: the same file, or a PT file's backing file. */
function sharesData(b: Builder, sides: { from?: string; to?: string; fromFile?: string; toFile?: string }): boolean {
  const a = dataOf(b, sides.from, sides.fromFile);
  return a !== undefined && a === dataOf(b, sides.to, sides.toFile);
}

/** What holds the bytes of one end of a copy: a world file's inode, or a client fd's (PT: its backing file's). */
function dataOf(b: Builder, fd: string | undefined, file: string | undefined): object | undefined {
  const s = b.k.state;
  if (file !== undefined) {
    const w = s.backing.files.get(file)?.inode;
    return w?.target ?? w;
  }
  const f = fd === undefined ? undefined : b.clientFile(fd);
  return f === undefined ? undefined : (f.ff.passthrough?.inode ?? f.ff.inode);
}

// Helpers are module functions, not closures made per call: tsx (keepNames) names every
// closure bound to a variable with Object.defineProperty when it is created, which was ~5% of
// the fuzzer's time in play() alone.

/** The client fd at position `pick` (0 = the most recent), if any. */
function clientFd(b: Builder, pick: number): string | undefined {
  return recent(b.liveClientFds(), pick);
}

/** `{ mount: 'two' }` when the intent asks for the further mount and it is mounted, else nothing. */
function onTwo(b: Builder, two: boolean | undefined): { mount: string } | undefined {
  return two === true && b.two()?.conn?.mounted === true ? { mount: Builder.TWO } : undefined;
}

/** The world's regular files on host filesystems: those a step may open itself (validate.ts). */
function hostRegularFiles(b: Builder): string[] {
  return b.fileNames.filter((n) => isHostRegularFile(b.k.state.world.files?.[n]));
}

export function play(b: Builder, it: Intent): void {
  switch (it.k) {
    case 'daemonOpen': {
      const file = nth(b.fileNames, it.file);
      if (file === undefined) return;
      const as = b.fresh('bf');
      if (b.emit({ op: 'daemonOpen', file, mode: it.mode, as })?.errno === null) {
        b.noteDaemonFd(as, file);
      }
      return;
    }
    case 'daemonClose': {
      const name = recent(b.liveDaemonFds(), it.pick);
      if (name !== undefined) b.emit({ op: 'daemonClose', fd: name });
      return;
    }
    case 'daemonWrite':
    case 'daemonIoctl': {
      // Only fds of files on the host's filesystems (conformance/validate.ts).
      const name = recent(b.liveDaemonFds().filter((n) => b.hostFileFds.has(n)), it.pick);
      if (name === undefined) return;
      b.emit(it.k === 'daemonWrite' ? { op: 'daemonWrite', fd: name, data: 'ww', offset: it.offset } : { op: 'daemonIoctl', fd: name, cmd: it.cmd });
      return;
    }
    case 'lock': {
      // A daemon fd on a host file only (conformance/validate.ts): a lock through FUSE would be
      // a SETLK the scripted daemon answers to itself.
      const target = it.daemon ? recent(b.liveDaemonFds().filter((n) => b.hostFileFds.has(n)), it.pick) : clientFd(b, it.pick);
      if (target !== undefined) b.emit({ op: 'lock', ...(it.daemon ? { daemonFd: target } : { fd: target }), kind: it.kind, type: it.type });
      return;
    }
    case 'registerMany': {
      const dev = nth(b.liveDevs(), it.dev);
      const file = nth(hostRegularFiles(b), it.file);
      if (dev !== undefined && file !== undefined) b.emit({ op: 'registerMany', dev, file, count: it.count });
      return;
    }
    case 'backingOpen': {
      const dev = nth(b.liveDevs(), it.dev);
      if (dev === undefined) return;
      let target: string | number | undefined;
      if (it.bad === 'rawFd') target = -1;
      else if (it.bad === 'devFuse') {
        const as = b.fresh('bf');
        if (b.emit({ op: 'daemonOpen', file: `devfuse:${dev}`, mode: 'rdwr', as })?.errno !== null) return;
        // Not a daemon fd of its own: a second name for the /dev/fuse fd (the kernel target
        // forgets it when that fd closes), used only by this BACKING_OPEN (BOPEN-9).
        target = as;
      } else target = recent(b.liveDaemonFds(), it.pick);
      if (target === undefined) return;
      // A file of the mount under test under the further mount: not modelled (the loader says so).
      if (typeof target === 'string' && b.daemonFdOnSelf.has(target) && b.k.mountOf({ dev }) !== undefined) return;
      const step: Step = { op: 'backingOpen', dev, fd: target, as: b.fresh('b') };
      if (it.bad === 'flags') step.flags = 1;
      if (it.bad === 'padding') step.padding = 1;
      if (it.cred !== 'root') step.cred = it.cred;
      if (b.emit(step)?.errno === null) b.regs.push(step.as!);
      return;
    }
    case 'backingClose': {
      const dev = nth(b.liveDevs(), it.dev);
      const id = b.idOf(it.id);
      if (dev === undefined || id === undefined) return;
      const step: Step = { op: 'backingClose', dev, id };
      if (it.cred !== 'root') step.cred = it.cred;
      b.emit(step);
      return;
    }
    case 'setOpenReply': {
      const node = nth(NODES, it.node)!;
      const reply: Extract<Step, { op: 'setOpenReply' }>['reply'] = {};
      if (it.error !== null) reply.error = it.error;
      else {
        if (it.flags.length > 0) reply.flags = it.flags;
        if (it.extraBits !== 0) reply.extraBits = it.extraBits;
        const id = it.backing === null ? undefined : b.idOf(it.backing);
        if (id !== undefined) reply.backing = id;
      }
      const onTwo = it.two === true && b.two() !== undefined;
      b.emit({ op: 'setOpenReply', node, reply, ...(onTwo ? { mount: Builder.TWO } : {}) });
      return;
    }
    case 'ptSetup': {
      const file = nth(b.fileNames, it.file);
      const dev = nth(b.liveDevs(), 0);
      if (file === undefined || dev === undefined) return;
      const bf = b.fresh('bf');
      if (b.emit({ op: 'daemonOpen', file, mode: it.mode, as: bf })?.errno !== null) return;
      b.noteDaemonFd(bf, file);
      const reg = b.fresh('b');
      if (b.emit({ op: 'backingOpen', dev, fd: bf, as: reg })?.errno !== null) return;
      b.regs.push(reg);
      const node = nth(NODES, it.node)!;
      if (b.emit({ op: 'setOpenReply', node, reply: { flags: ['PASSTHROUGH', ...it.extra], backing: reg } }) === null) return;
      b.emit({ op: 'open', node, flags: [it.access], as: b.fresh('f') });
      return;
    }
    case 'open': {
      let node: string;
      const flags: OpenFlagName[] = [it.access, ...it.extra];
      if (it.create) {
        node = b.fresh('c');
        flags.push('O_CREAT');
      } else node = nth([...NODES, ...b.created], it.node)!;
      const r = b.emit({ op: 'open', node, flags, as: b.fresh('f'), ...(it.nobody === true ? { user: 'nobody' as const } : {}), ...onTwo(b, it.two) });
      if (it.create && r !== null) b.created.push(node); // the name exists for the case's validator from here on
      return;
    }
    case 'read':
    case 'spliceRead': {
      const f = clientFd(b, it.pick);
      if (f === undefined) return;
      // A passthrough splice fills the pipe with the backing filesystem's folios, whose size the
      // model does not know: keep it below the pipe's 16 pages however the pages fall.
      const pt = b.clientFile(f)?.ff.passthrough != null;
      const length = it.k === 'spliceRead' && pt ? Math.min(it.length, 8192) : it.length;
      b.emit({ op: it.k, fd: f, length, ...(it.offset === null ? {} : { offset: it.offset }) });
      return;
    }
    case 'write':
    case 'spliceWrite': {
      const f = clientFd(b, it.pick);
      if (f === undefined) return;
      b.emit({ op: it.k, fd: f, data: it.data, ...(it.offset === null ? {} : { offset: it.offset }) });
      return;
    }
    case 'mmap': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'mmap', fd: f, shared: it.shared, write: it.write, ...(it.big ? { length: BIG_NODE_SIZE } : {}), as: b.fresh('m') });
      return;
    }
    case 'mapRead': {
      // Within the file's last page: a load past it is SIGBUS, after the pages before it were
      // populated on the kernel and not in the model. Nor through the page cache of a
      // connection that is gone: a page it cannot read is SIGBUS too, a crash, not a result.
      const name = recent(b.liveMaps(), it.pick);
      const m = name === undefined ? undefined : b.mapping(name);
      if (name === undefined || m === undefined) return;
      const st = b.two()?.maps.has(name) === true ? b.two()! : b.k.state;
      if (m.backing === null && st.conn?.connected !== true) return;
      let size = m.backing !== null ? b.k.state.vfs.fileSize(m.backing) : m.inode.iSize;
      // Nor past the bytes the daemon has: when it reports more (setDaemonSize, sizeFrom), the
      // short read of a fault shrinks i_size under the load (SIGBUS; fuzz seeds 1060156438,
      // 1511381975).
      const node = m.backing === null ? st.daemon.nodes.get(m.inode.name) : undefined;
      if (node !== undefined) size = Math.min(size, node.content.length);
      const end = Math.min(it.offset + it.length, m.length, Math.ceil(size / 4096) * 4096);
      if (end > it.offset) b.emit({ op: 'mapRead', map: name, offset: it.offset, length: end - it.offset });
      return;
    }
    case 'munmap': {
      const m = recent(b.liveMaps(), it.pick);
      if (m !== undefined) b.emit({ op: 'munmap', map: m });
      return;
    }
    case 'stat': {
      if (it.node !== null) {
        b.emit({ op: 'stat', node: nth(NODES, it.node)! });
        return;
      }
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'stat', fd: f });
      return;
    }
    case 'ftruncate': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'ftruncate', fd: f, size: it.size });
      return;
    }
    case 'fsync': {
      const f = clientFd(b, it.pick);
      if (f === undefined) return;
      b.emit(it.dataOnly ? { op: 'fsync', fd: f, dataOnly: true } : { op: 'fsync', fd: f });
      return;
    }
    case 'close': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'close', fd: f });
      return;
    }
    case 'lseek': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'lseek', fd: f, whence: it.whence, offset: it.offset });
      return;
    }
    case 'posixFallocate': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'posixFallocate', fd: f, offset: it.offset, length: it.length });
      return;
    }
    case 'fallocate': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'fallocate', fd: f, offset: 0, length: it.length });
      return;
    }
    case 'getxattr': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'getxattr', fd: f, name: 'user.fusepass' });
      return;
    }
    case 'fileIoctl': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'fileIoctl', fd: f, cmd: FS_IOC_GETFLAGS });
      return;
    }
    case 'copyRange':
    case 'sendfile': {
      const extra = it.k === 'copyRange' ? { ...(it.fromOffset === undefined ? {} : { fromOffset: it.fromOffset }), ...(it.toOffset === undefined ? {} : { toOffset: it.toOffset }) } : it.offset === undefined ? {} : { offset: it.offset };
      let sides: { from: string; to: string } | { fromFile: string; to: string } | { from: string; toFile: string } | undefined;
      if (it.world !== undefined) {
        // A regular file on a host filesystem (conformance/validate.ts), opened by the step.
        const file = nth(hostRegularFiles(b), it.file ?? 0);
        const f = clientFd(b, it.world === 'from' ? it.to : it.from);
        if (file !== undefined && f !== undefined) sides = it.world === 'from' ? { fromFile: file, to: f } : { from: f, toFile: file };
      } else {
        const from = clientFd(b, it.from);
        const to = clientFd(b, it.to);
        // Two fds of one mount: the model copies within a connection only (the loader says so).
        if (from !== undefined && to !== undefined && b.k.mountOf({ fd: from }) === b.k.mountOf({ fd: to })) sides = { from, to };
      }
      if (sides === undefined) return;
      // sendfile between two ends that share their data (a file into itself, a PT file and its
      // backing file) splices page references and copies between overlapping ranges of the same
      // pages: the bytes depend on the CPU's copy routine (6.18 here smeared a byte over 100), so
      // no model can say them (spec/case.ts SendfileStep).
      if (it.k === 'sendfile' && sharesData(b, sides)) return;
      b.emit({ op: it.k, ...sides, length: it.length, ...extra });
      return;
    }
    case 'readdir': {
      const on = onTwo(b, it.two);
      if ((on === undefined ? b.k.state : b.two()!).conn?.mounted !== true) return; // the host directory, not FUSE
      const d = b.fresh('d');
      if (b.emit({ op: 'opendir', as: d, ...on })?.errno !== null) return;
      b.emit({ op: 'readdir', fd: d });
      b.emit({ op: 'close', fd: d });
      return;
    }
    case 'setDaemonSize':
      b.emit({ op: 'setDaemonSize', node: nth(NODES, it.node)!, size: it.size });
      return;
    case 'unlink':
      b.emit({ op: 'unlink', node: nth(NODES, it.node)!, ...onTwo(b, it.two) });
      return;
    case 'umountWorldFs':
      // Only a world with an overlay file mounts an overlayfs (conformance/validate.ts).
      if (b.fileNames.some((n) => b.k.state.world.files?.[n]?.on === 'overlay')) b.emit({ op: 'umountWorldFs', on: 'overlay', ...(it.lazy ? { lazy: true } : {}) });
      return;
    case 'watchFuseFile': {
      const f = clientFd(b, it.pick);
      if (f !== undefined) b.emit({ op: 'watchFuseFile', fd: f, as: b.fresh('w') });
      return;
    }
    case 'mountNestedFuse':
      // One per case, in a world that has a directory for it (conformance/validate.ts).
      if (b.k.state.world.nestedFuseAt !== undefined && !b.steps.some((s) => s.op === 'mountNestedFuse')) b.emit({ op: 'mountNestedFuse' });
      return;
    case 'mountOverlayOnFuse':
      // One per case (conformance/validate.ts).
      if (!b.steps.some((s) => s.op === 'mountOverlayOnFuse')) b.emit({ op: 'mountOverlayOnFuse' });
      return;
    case 'unlinkWorldFile': {
      // Only names on the host's filesystems; a memfd has none (conformance/validate.ts).
      const f = nth(b.fileNames.filter((n) => HOST_WORLD_FS.has(b.k.state.world.files?.[n]?.on ?? '') && b.k.state.world.files?.[n]?.on !== 'memfd'), it.file);
      if (f !== undefined) b.emit({ op: 'unlinkWorldFile', file: f });
      return;
    }
    case 'rename':
      b.emit({ op: 'rename', from: nth(NODES, it.from)!, to: nth(NODES, it.to)!, ...onTwo(b, it.two) });
      return;
    case 'observe': {
      const step = observeStep(b, it.what, it.pick);
      if (step !== null) b.emit(step);
      return;
    }
    case 'inspect': {
      const files = b.fileNames.filter((n) => {
        const spec = b.k.state.world.files?.[n];
        return spec !== undefined && INSPECTABLE.has(spec.on) && (spec.type ?? 'file') === 'file';
      });
      const file = nth(files, it.file);
      if (file !== undefined) b.emit({ op: 'inspectBacking', file });
      return;
    }
    case 'abort':
      if (it.two === true) {
        if (b.two()?.conn != null) b.emit({ op: 'abort', mount: Builder.TWO });
      } else if (b.k.state.conn !== null) b.emit({ op: 'abort' });
      return;
    case 'mountTwo': {
      // A further mount of the same daemon through a /dev/fuse fd of its own (MountStep.as).
      if (b.two() !== undefined) return;
      const dev = b.fresh('dtwo');
      if (b.emit({ op: 'devOpen', as: dev })?.errno !== null) return;
      b.emit({ op: 'mount', dev, as: Builder.TWO });
      return;
    }
    case 'umount':
      if (it.two === true) {
        const two = b.two();
        if (two?.conn?.mounted !== true) return;
        // As below: a lazy umount only with none of its files held.
        if (it.lazy && (two.clientFiles.size > 0 || two.maps.size > 0)) return;
        b.emit({ op: 'umount', mount: Builder.TWO, ...(it.lazy ? { lazy: true } : {}) });
        return;
      }
      if (b.k.state.conn === null) return;
      // The last close of a FUSE file on a lazily unmounted superblock queues RELEASE and then
      // aborts the connection: whether the daemon reads RELEASE first is a race on the kernel
      // (observed both ways on 6.18). So a lazy umount is generated only with no FUSE file open.
      if (it.lazy && b.fuseFileHeld()) return;
      b.emit(it.lazy ? { op: 'umount', lazy: true } : { op: 'umount' });
      return;
    case 'devClose': {
      const dev = nth(b.liveDevs(), it.pick);
      if (dev !== undefined) b.emit({ op: 'devClose', dev });
      return;
    }
    case 'devClone': {
      const dev = nth(b.liveDevs(), 0);
      if (dev !== undefined) b.emit({ op: 'devClone', dev, as: b.fresh('clone') });
      return;
    }
    case 'simFailAlloc':
      if (b.k.state.conn !== null) b.emit({ op: 'simFailAlloc', what: it.what });
      return;
    case 'simIdCursor':
      if (b.k.state.conn !== null) b.emit({ op: 'simIdCursor', next: it.next });
      return;
  }
}

/** FS_IOC_GETFLAGS: a file ioctl the daemon sees as IOCTL (IO-22, OPEN-21). */
const FS_IOC_GETFLAGS = 0x80086601;
