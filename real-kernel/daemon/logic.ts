// The scripted daemon's answers (fixtures/world.ts, doc comment at the end), as a pure function
// from a request message to a reply message. The worker (daemon-worker.ts) moves bytes between
// this and /dev/fuse; tests drive it with encoded requests.
import type { DaemonSettings, FuseNodeSpec, OpenReplySpec } from '../../fixtures/world.ts';
import { DAEMON_ATTR_TIMEOUT_S, DAEMON_CONGESTION_THRESHOLD, DAEMON_MAX_BACKGROUND, DAEMON_MAX_WRITE, DEFAULT_DAEMON_BYTE, DEFAULT_FILE_SIZE } from '../../fixtures/world.ts';
import type { InitReplySpec } from '../../spec/case.ts';
import { ERRNO } from '../../spec/errno.ts';
import { FUSE_KERNEL_VERSION, FUSE_OPCODES, fopenFlags, initFlags } from '../../spec/uapi.ts';
import { SIZE, FATTR_SIZE } from '../../wire/layout.ts';
import {
  decodeCreateIn,
  decodeInHeader,
  decodeInitIn,
  decodeReadIn,
  decodeSetattrIn,
  decodeWriteIn,
  encodeAttrOut,
  encodeCreateOut,
  encodeDirents,
  encodeEntryOut,
  encodeInitOut,
  encodeOpenOut,
  encodeReply,
  encodeStatfsOut,
  encodeWriteOut,
  ZERO_STATFS,
  type Attr,
  type InitIn,
} from '../../wire/structs.ts';
import { Reader } from '../../wire/bytes.ts';

export const ROOT_ID = 1n;

export interface NodeState {
  name: string;
  nodeid: bigint;
  isDir: boolean;
  content: Uint8Array;
  size: number;
  open: OpenReplySpec;
  /** A world file whose live size the node reports (FuseNodeSpec.sizeFrom). */
  sizeFrom?: string;
}

/** The world files `sizeFrom` nodes report and truncate; the worker reads them with stat(2). */
export interface LiveSizeFiles {
  size(file: string): number;
  truncate(file: string, size: number): void;
}

/** Everything the daemon knows; plain data so it can be built from messages. */
export interface DaemonState {
  nodes: Map<string, NodeState>;
  /** Nodes whose name went (UNLINK, or replaced by RENAME): still served by nodeid for open files. */
  unlinked: NodeState[];
  nextNodeid: bigint;
  nextFh: bigint;
  createReply: OpenReplySpec;
  rootOpen: OpenReplySpec;
  /** Registration names resolved to ids by the case (backingOpen steps). */
  backingIds: Record<string, number>;
  /** How to answer INIT; `null` holds the INIT until a replyInit step (DEV-6). */
  init: InitReplySpec | null;
  initRequest: InitIn | null;
  pendingInit: bigint | null;
  settings: DaemonSettings;
  files: LiveSizeFiles;
}

const NO_FILES: LiveSizeFiles = { size: () => 0, truncate: () => {} };

export function fillBytes(byte: string, n: number): Uint8Array {
  return new Uint8Array(n).fill(byte.charCodeAt(0));
}

export function newDaemonState(nodes: Record<string, FuseNodeSpec>, createReply: OpenReplySpec = {}, settings: DaemonSettings = {}, files: LiveSizeFiles = NO_FILES): DaemonState {
  const s: DaemonState = {
    nodes: new Map(),
    unlinked: [],
    nextNodeid: 2n,
    nextFh: 1n,
    createReply,
    rootOpen: {},
    backingIds: {},
    init: {},
    initRequest: null,
    pendingInit: null,
    settings,
    files,
  };
  for (const [name, spec] of Object.entries(nodes)) addNode(s, name, spec);
  return s;
}

export function addNode(s: DaemonState, name: string, spec: FuseNodeSpec): NodeState {
  const isDir = spec.type === 'dir';
  const content = isDir ? new Uint8Array(0) : spec.content !== undefined ? new TextEncoder().encode(spec.content) : fillBytes(DEFAULT_DAEMON_BYTE, DEFAULT_FILE_SIZE);
  const node: NodeState = { name, nodeid: s.nextNodeid++, isDir, content, size: spec.size ?? content.length, open: spec.open ?? {}, ...(spec.sizeFrom === undefined ? {} : { sizeFrom: spec.sizeFrom }) };
  s.nodes.set(name, node);
  return node;
}

export interface Handled {
  opcode: number;
  unique: bigint;
  /** null: no reply (FORGET, BATCH_FORGET, INTERRUPT, or a held INIT). */
  reply: Uint8Array | null;
}

function attrOf(s: DaemonState, n: NodeState | 'root'): Attr {
  const dir = n === 'root' || n.isDir;
  const size = n === 'root' ? 0 : n.sizeFrom !== undefined ? s.files.size(n.sizeFrom) : n.size;
  return {
    ino: n === 'root' ? ROOT_ID : n.nodeid,
    size,
    blocks: Math.ceil(size / 512),
    atime: 0,
    mtime: 0,
    ctime: 0,
    mode: dir ? 0o40755 : 0o100644,
    nlink: 1,
    uid: 0,
    gid: 0,
    rdev: 0,
    blksize: 4096,
  };
}

function byId(s: DaemonState, id: bigint): NodeState | 'root' | null {
  if (id === ROOT_ID) return 'root';
  for (const n of s.nodes.values()) if (n.nodeid === id) return n;
  for (const n of s.unlinked) if (n.nodeid === id) return n;
  return null;
}

function attrValid(s: DaemonState): number {
  return s.settings.attrTimeout ?? DAEMON_ATTR_TIMEOUT_S;
}

function entryFor(s: DaemonState, n: NodeState): Uint8Array {
  return encodeEntryOut({ nodeid: n.nodeid, generation: 0n, entryValid: s.settings.entryTimeout ?? DAEMON_ATTR_TIMEOUT_S, attrValid: attrValid(s), attr: attrOf(s, n) });
}

/** The fuse_open_out for an OpenReplySpec, or its errno. */
function openOut(s: DaemonState, spec: OpenReplySpec): Uint8Array | number {
  if (spec.error !== undefined) return -ERRNO[spec.error];
  const flags = (fopenFlags(spec.flags ?? []) | (spec.extraBits ?? 0)) >>> 0;
  const b = spec.backing;
  const backingId = b === undefined ? 0 : typeof b === 'number' ? b | 0 : (s.backingIds[b] ?? 0);
  return encodeOpenOut({ fh: s.nextFh++, openFlags: flags, backingId });
}

/** The INIT reply message for a request (fixtures/world.ts: the fixed fields). */
export function initReply(unique: bigint, req: InitIn, spec: InitReplySpec): Uint8Array {
  if (spec.error !== undefined) return encodeReply(unique, -ERRNO[spec.error]);
  const word = initFlags(spec.flags ?? []);
  const payload = encodeInitOut(
    {
      major: spec.major ?? FUSE_KERNEL_VERSION,
      minor: spec.minor ?? req.minor,
      maxReadahead: req.maxReadahead,
      flags: Number(word & 0xffffffffn),
      maxBackground: spec.maxBackground ?? DAEMON_MAX_BACKGROUND,
      congestionThreshold: spec.congestionThreshold ?? DAEMON_CONGESTION_THRESHOLD,
      maxWrite: DAEMON_MAX_WRITE,
      timeGran: 1,
      maxPages: 32,
      mapAlignment: 0,
      flags2: Number(word >> 32n),
      maxStackDepth: (spec.maxStackDepth ?? 0) >>> 0,
      requestTimeout: 0,
    },
    spec.length ?? SIZE.initOut,
  );
  return encodeReply(unique, 0, payload);
}

const DT_DIR = 4;
const DT_REG = 8;

export function handleRequest(s: DaemonState, msg: Uint8Array): Handled | null {
  const h = decodeInHeader(msg);
  if (!h) return null;
  const body = msg.subarray(SIZE.inHeader, h.len);
  const ok = (payload?: Uint8Array): Handled => ({ opcode: h.opcode, unique: h.unique, reply: encodeReply(h.unique, 0, payload) });
  const err = (e: number): Handled => ({ opcode: h.opcode, unique: h.unique, reply: encodeReply(h.unique, -e) });
  const node = byId(s, h.nodeid);
  const O = FUSE_OPCODES;
  switch (h.opcode) {
    case O.INIT: {
      s.initRequest = decodeInitIn(body);
      if (s.init === null) {
        s.pendingInit = h.unique;
        return { opcode: h.opcode, unique: h.unique, reply: null };
      }
      return { opcode: h.opcode, unique: h.unique, reply: initReply(h.unique, s.initRequest, s.init) };
    }
    case O.LOOKUP: {
      const name = new Reader(body).cstring(0);
      const n = h.nodeid === ROOT_ID ? s.nodes.get(name) : undefined;
      return n ? ok(entryFor(s, n)) : err(ERRNO.ENOENT);
    }
    case O.FORGET:
    case O.BATCH_FORGET:
    case O.INTERRUPT:
      return { opcode: h.opcode, unique: h.unique, reply: null };
    case O.GETATTR:
      return node ? ok(encodeAttrOut({ attrValid: attrValid(s), attr: attrOf(s, node) })) : err(ERRNO.ENOENT);
    case O.SETATTR: {
      if (!node) return err(ERRNO.ENOENT);
      const sa = decodeSetattrIn(body);
      if (node !== 'root' && sa.valid & FATTR_SIZE) {
        const next = new Uint8Array(sa.size);
        next.set(node.content.subarray(0, Math.min(sa.size, node.content.length)));
        node.content = next;
        node.size = sa.size;
        if (node.sizeFrom !== undefined) s.files.truncate(node.sizeFrom, sa.size);
      }
      return ok(encodeAttrOut({ attrValid: attrValid(s), attr: attrOf(s, node) }));
    }
    case O.OPEN:
    case O.OPENDIR: {
      if (!node) return err(ERRNO.ENOENT);
      const r = openOut(s, node === 'root' ? s.rootOpen : node.open);
      return typeof r === 'number' ? err(-r) : ok(r);
    }
    case O.CREATE: {
      if (node !== 'root') return err(ERRNO.ENOENT);
      const c = decodeCreateIn(body);
      const r = openOut(s, s.createReply);
      if (typeof r === 'number') return err(-r);
      const n = s.nodes.get(c.name) ?? addNode(s, c.name, { content: '', open: s.createReply });
      return ok(encodeCreateOut_(s, n, r));
    }
    case O.READ: {
      if (!node || node === 'root') return err(ERRNO.EIO);
      const r = decodeReadIn(body);
      const from = Math.min(r.offset, node.content.length);
      return ok(node.content.slice(from, Math.min(r.offset + r.size, node.content.length)));
    }
    case O.WRITE: {
      if (!node || node === 'root') return err(ERRNO.EIO);
      const w = decodeWriteIn(body);
      const end = w.offset + w.data.length;
      if (end > node.content.length) {
        const grown = new Uint8Array(end);
        grown.set(node.content);
        node.content = grown;
      }
      node.content.set(w.data, w.offset);
      node.size = Math.max(node.size, end);
      return ok(encodeWriteOut(w.data.length));
    }
    case O.FLUSH:
    case O.FSYNC:
    case O.FSYNCDIR:
    case O.RELEASE:
    case O.RELEASEDIR:
      return ok();
    case O.READDIR: {
      const r = decodeReadIn(body);
      const all = [
        { ino: ROOT_ID, type: DT_DIR, name: '.' },
        { ino: ROOT_ID, type: DT_DIR, name: '..' },
        ...[...s.nodes.values()].map((n) => ({ ino: n.nodeid, type: n.isDir ? DT_DIR : DT_REG, name: n.name })),
      ].map((d, i) => ({ ...d, off: i + 1 }));
      const picked: typeof all = [];
      let bytes = 0;
      for (const d of all.slice(r.offset)) {
        const len = encodeDirents([d]).length;
        if (bytes + len > r.size) break;
        picked.push(d);
        bytes += len;
      }
      return ok(encodeDirents(picked));
    }
    case O.GETXATTR:
      return err(ERRNO[s.settings.getxattr ?? 'ENODATA']);
    case O.UNLINK: {
      const name = new Reader(body).cstring(0);
      const n = h.nodeid === ROOT_ID ? s.nodes.get(name) : undefined;
      if (!n) return err(ERRNO.ENOENT);
      s.nodes.delete(name);
      s.unlinked.push(n);
      return ok();
    }
    case O.RENAME: {
      // fuse_rename_in: newdir u64, then the old and the new name.
      const r = new Reader(body);
      const from = r.cstring(8);
      const to = r.cstring(8 + new TextEncoder().encode(from).length + 1);
      const n = h.nodeid === ROOT_ID ? s.nodes.get(from) : undefined;
      if (!n) return err(ERRNO.ENOENT);
      const replaced = s.nodes.get(to);
      if (replaced && replaced !== n) s.unlinked.push(replaced);
      s.nodes.delete(from);
      n.name = to;
      s.nodes.set(to, n);
      return ok();
    }
    case O.STATFS:
      return ok(encodeStatfsOut(ZERO_STATFS));
    case O.DESTROY:
      return ok();
    default:
      return err(ERRNO.ENOSYS);
  }
}

function encodeCreateOut_(s: DaemonState, n: NodeState, open: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIZE.entryOut + SIZE.openOut);
  out.set(entryFor(s, n), 0);
  out.set(open, SIZE.entryOut);
  return out;
}

export { encodeCreateOut };
