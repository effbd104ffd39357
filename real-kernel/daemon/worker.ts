// A daemon worker thread: blocks in poll(2) on its /dev/fuse fd and an eventfd (the case
// thread's doorbell), answers requests through handleRequest and logs each opcode in shared
// memory. koffi calls block this thread only, so client syscalls on the case thread can never
// deadlock against the daemon (DESIGN.md "Real-kernel target").
import { statSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { sys } from '../ffi/libc.ts';
import { ERRNO } from '../../spec/errno.ts';
import { FUSE_OPCODES } from '../../spec/uapi.ts';
import { DAEMON_MAX_WRITE } from '../../fixtures/world.ts';
import { handleRequest, initReply, newDaemonState, type DaemonState, type LiveSizeFiles } from './logic.ts';
import { INTERRUPT_SIGNAL, LOG_BASE, LOG_CAP, SLOT, type ToWorker } from './shared.ts';

interface Init {
  sab: SharedArrayBuffer;
  wakeFd: number;
  port: MessagePort;
}

const { sab, wakeFd, port } = workerData as Init;
const words = new Int32Array(sab);
const buf = new Uint8Array(DAEMON_MAX_WRITE + 4096 + 4096);
const eight = new Uint8Array(8);
let devFd = -1;
let state: DaemonState | null = null;

function ack(): void {
  Atomics.add(words, SLOT.ack, 1);
  Atomics.notify(words, SLOT.ack);
}

function writeReply(reply: Uint8Array): number {
  return devFd >= 0 ? sys.write(devFd, reply) : -ERRNO.EBADF;
}

/**
 * The files `sizeFrom` nodes report, by path (never on the mount this worker serves: the loader
 * allows only disk, tmpfs, overlay and roBind files). A file gone reports 0.
 */
function liveSizeFiles(paths: Record<string, string>): LiveSizeFiles {
  return {
    size: (file) => {
      const p = paths[file];
      try {
        return p === undefined ? 0 : statSync(p).size;
      } catch {
        return 0;
      }
    },
    truncate: (file, size) => {
      // truncate(2) by path, not fs.truncateSync (an open and a close the case would see as
      // inotify events on the world file). Its failure does not fail the SETATTR.
      const p = paths[file];
      if (p !== undefined) sys.truncate(p, size);
    },
  };
}

function apply(m: ToWorker): void {
  switch (m.t) {
    case 'serve':
      devFd = m.devFd;
      state = newDaemonState(m.nodes, m.createReply, m.settings, liveSizeFiles(m.filePaths ?? {}));
      state.init = m.init;
      state.backingIds = m.backingIds;
      for (const i of [SLOT.logCount, SLOT.busy, SLOT.initState, SLOT.gone, SLOT.initWriteErrno]) Atomics.store(words, i, 0);
      break;
    case 'setOpen': {
      const n = state?.nodes.get(m.node);
      if (n) n.open = m.reply;
      else if (state && m.node === '') state.rootOpen = m.reply;
      break;
    }
    case 'setSize': {
      // A name no node has now (unlinked, renamed away, an O_CREAT that failed): nothing to set.
      const n = state?.nodes.get(m.node);
      if (n) n.size = m.size;
      break;
    }
    case 'ids':
      if (state) state.backingIds = m.backingIds;
      break;
    case 'replyInit':
      if (state) {
        state.init = m.init;
        if (state.pendingInit !== null && state.initRequest) {
          const r = writeReply(initReply(state.pendingInit, state.initRequest, m.init));
          state.pendingInit = null;
          Atomics.store(words, SLOT.initWriteErrno, r < 0 ? -r : 0);
          Atomics.store(words, SLOT.initState, 2);
          Atomics.notify(words, SLOT.initState);
        }
      }
      break;
    case 'fd':
      devFd = m.devFd;
      break;
    case 'alarm': {
      // Sleep until the alarm expires or the case thread disarms it (stores 0 and notifies).
      const end = Date.now() + m.ms;
      while (Atomics.load(words, SLOT.alarm) === 1 && Date.now() < end) Atomics.wait(words, SLOT.alarm, 1, end - Date.now());
      if (Atomics.compareExchange(words, SLOT.alarm, 1, 0) === 1) sys.tgkill(m.pid, m.tid, INTERRUPT_SIGNAL);
      break;
    }
    case 'stop':
      devFd = -1;
      state = null;
      break;
  }
  ack();
}

function drain(): void {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) apply(m.message as ToWorker);
}

function serveOne(): void {
  Atomics.store(words, SLOT.busy, 1);
  const n = sys.read(devFd, buf);
  if (n < 0) {
    Atomics.store(words, SLOT.busy, 0);
    if (n === -ERRNO.ENODEV) {
      Atomics.store(words, SLOT.gone, 1);
      devFd = -1;
    } else if (n === -ERRNO.EPERM) {
      // Not attached yet (a SYNC_INIT mount in progress, DEV-3): try again shortly.
      Atomics.wait(words, SLOT.gone, 0, 1);
    }
    return;
  }
  const msg = buf.subarray(0, n);
  const s = state;
  if (!s) return;
  if (Atomics.load(words, SLOT.hold) === 1 && n >= 8 && new DataView(msg.buffer, msg.byteOffset).getUint32(4, true) !== FUSE_OPCODES.FLUSH) {
    Atomics.store(words, SLOT.busy, 0);
    return;
  }
  const h = handleRequest(s, msg);
  if (h) {
    const i = Atomics.add(words, SLOT.logCount, 1);
    Atomics.store(words, LOG_BASE + (i % LOG_CAP), h.opcode);
    if (h.opcode === 26 && s.initRequest) {
      Atomics.store(words, SLOT.initMajor, s.initRequest.major);
      Atomics.store(words, SLOT.initMinor, s.initRequest.minor);
      Atomics.store(words, SLOT.initFlags, s.initRequest.flags | 0);
      Atomics.store(words, SLOT.initFlags2, s.initRequest.flags2 | 0);
    }
    if (h.reply) {
      const r = writeReply(h.reply);
      if (h.opcode === 26) {
        Atomics.store(words, SLOT.initWriteErrno, r < 0 ? -r : 0);
        Atomics.store(words, SLOT.initState, 2);
        Atomics.notify(words, SLOT.initState);
      }
    } else if (h.opcode === 26) {
      Atomics.store(words, SLOT.initState, 1);
      Atomics.notify(words, SLOT.initState);
    }
  }
  Atomics.store(words, SLOT.busy, 0);
}


parentPort?.postMessage('ready');
for (;;) {
  const fds = devFd >= 0 ? [wakeFd, devFd] : [wakeFd];
  const rev = sys.pollIn(fds, -1);
  if (typeof rev === 'number') continue;
  if (rev[0]) {
    sys.read(wakeFd, eight);
    drain();
  }
  if (devFd >= 0 && fds.length > 1 && rev[1]) {
    drain();
    if (devFd >= 0) serveOne();
  }
}
