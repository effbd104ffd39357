// The scripted FUSE daemon (fixtures/world.ts "scripted daemon's behaviour"), one implementation
// of the daemon port (daemon-port.ts): it answers requests as the World and setOpenReply /
// setDaemonSize steps say. What it does not implement it answers as a minimal libfuse daemon
// does, as the kernel target's scripted daemon (real-kernel/daemon/logic.ts) does: ENOSYS
// (MKNOD, LSEEK, FALLOCATE, COPY_FILE_RANGE, IOCTL, SETLK, STATX) and ENODATA for GETXATTR.
import type { DaemonSettings, FuseNodeSpec, OpenReplySpec, World } from '../fixtures/world.ts';
import { DEFAULT_BACKING_BYTE, DEFAULT_DAEMON_BYTE, DEFAULT_FILE_SIZE } from '../fixtures/world.ts';
import type { Errno } from '../spec/errno.ts';
import { fopenFlags } from '../spec/uapi.ts';
import type { DaemonPort, DaemonReply, FuseAttr, FuseRequest } from './daemon-port.ts';

export interface DaemonNode {
  /** Its name in the root now (RENAME changes it; an UNLINKed node keeps its last one). */
  name: string;
  readonly nodeid: number;
  readonly isDir: boolean;
  content: Uint8Array;
  /** The size GETATTR reports (IO-25, IO-28). */
  size: number;
  open: OpenReplySpec;
  /** `content` is a shared default (sharedFill): copied before the first write. */
  contentShared?: boolean;
  /** The world file whose live size the daemon reports (FuseNodeSpec.sizeFrom). */
  readonly sizeFrom?: string;
}

/** The world files a `sizeFrom` node reads and truncates, as the daemon's backing files. */
export interface LiveSizeFiles {
  size(file: string): number;
  truncate(file: string, size: number): void;
}

interface OpenReply {
  error: Errno | null;
  fh: number;
  openFlags: number;
  backingId: number;
}

export function fillBytes(byte: string, n: number): Uint8Array {
  return new Uint8Array(n).fill(byte.charCodeAt(0));
}

/** Per byte, per length (two levels: no key string to build on every lookup). */
const SHARED_FILLS = new Map<string, Map<number, Uint8Array>>();

/**
 * `n` bytes of `byte`, one buffer per (byte, n) for the whole process: never to be written.
 * Every case's files and nodes start as 4096 'B's or 'D's; filling them anew was the fuzzer's
 * largest single cost. Holders copy before a change (FileBytes, DaemonNode.contentShared).
 */
export function sharedFill(byte: string, n: number): Uint8Array {
  let byLength = SHARED_FILLS.get(byte);
  if (byLength === undefined) SHARED_FILLS.set(byte, (byLength = new Map()));
  let b = byLength.get(n);
  if (b === undefined) byLength.set(n, (b = fillBytes(byte, n)));
  return b;
}

const UTF8 = new TextEncoder();

/** Node contents this long are encoded once and shared until written (the fuzzer's big node). */
const SHARED_TEXT_MIN = 65536;
const SHARED_TEXTS = new Map<string, Uint8Array>();

function sharedText(s: string): Uint8Array {
  let b = SHARED_TEXTS.get(s);
  if (b === undefined) {
    b = textBytes(s);
    if (SHARED_TEXTS.size < 8) SHARED_TEXTS.set(s, b); // a few: cases rarely repeat big contents
  }
  return b;
}

/** A step's text as UTF-8; short ASCII text (most steps' data) without TextEncoder's call cost. */
export function textBytes(s: string): Uint8Array {
  if (s.length <= 64) {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return UTF8.encode(s);
      out[i] = c;
    }
    return out;
  }
  return UTF8.encode(s);
}

export class ModelDaemon implements DaemonPort {
  readonly nodes = new Map<string, DaemonNode>();
  private readonly byNodeid = new Map<number, DaemonNode>();
  private nextNodeid = 2; // 1 is the root (FUSE_ROOT_ID)
  private nextFh = 1;
  createReply: OpenReplySpec;
  rootOpen: OpenReplySpec = {};
  private readonly settings: DaemonSettings;

  constructor(
    world: World,
    /** Resolves a registration name in an open reply to the id it got. */
    private readonly resolveId: (name: string) => number,
    private readonly files: LiveSizeFiles,
  ) {
    this.createReply = world.create ?? {};
    this.settings = world.daemon ?? {};
    // for-in, not Object.entries: the same order (own keys of plain objects) without the pairs.
    const nodes = world.nodes ?? {};
    for (const name in nodes) this.addNode(name, nodes[name]!);
    // World files `on: 'self'` are files of the mount under test: the daemon serves them as
    // nodes with the file's bytes (as the kernel target does).
    const worldFiles = world.files ?? {};
    for (const name in worldFiles) {
      const spec = worldFiles[name]!;
      if (spec.on !== 'self' || this.nodes.has(name)) continue;
      // The default content is the shared fill of the backing byte (no 4096-char string to encode).
      if (spec.content === undefined) this.addNode(name, {}, sharedFill(DEFAULT_BACKING_BYTE, spec.size ?? DEFAULT_FILE_SIZE));
      else this.addNode(name, { content: spec.content });
    }
  }

  /** `fill`: the shared default content of a node without `content` (default: 4096 daemon bytes). */
  addNode(name: string, spec: FuseNodeSpec, fill?: Uint8Array): DaemonNode {
    const isDir = spec.type === 'dir';
    const shared = !isDir && (spec.content === undefined || spec.content.length >= SHARED_TEXT_MIN);
    const content = isDir ? new Uint8Array(0) : spec.content === undefined ? (fill ?? sharedFill(DEFAULT_DAEMON_BYTE, DEFAULT_FILE_SIZE)) : shared ? sharedText(spec.content) : textBytes(spec.content);
    const node: DaemonNode = { name, nodeid: this.nextNodeid++, isDir, content, size: spec.size ?? content.length, open: spec.open ?? {}, ...(shared ? { contentShared: true } : {}), ...(spec.sizeFrom === undefined ? {} : { sizeFrom: spec.sizeFrom }) };
    this.nodes.set(name, node);
    this.byNodeid.set(node.nodeid, node);
    return node;
  }

  /** The node with this nodeid (unlinked ones too). */
  nodeOf(nodeid: number): DaemonNode | undefined {
    return this.byNodeid.get(nodeid);
  }

  request(req: FuseRequest): DaemonReply {
    const node = this.byNodeid.get(req.nodeid);
    switch (req.op) {
      case 'INIT':
        return { error: null }; // the mount step carries the reply
      case 'LOOKUP': {
        // All nodes sit in the root: a name in any other directory is unknown.
        const n = req.nodeid === 1 ? this.nodes.get(req.name) : undefined;
        return n === undefined ? { error: 'ENOENT' } : { error: null, entry: this.entryOf(n, req.nodeid) };
      }
      case 'CREATE': {
        const r = this.openReply(this.createReply);
        if (r.error !== null) return { error: r.error };
        const n = this.addNode(req.name, { content: '', open: this.createReply });
        return { error: null, entry: this.entryOf(n, n.nodeid), open: r };
      }
      case 'GETATTR':
        return { error: null, attr: this.attrOf(node, req.nodeid) };
      case 'SETATTR':
        if (req.size !== undefined && node !== undefined) this.truncate(node, req.size);
        return { error: null, attr: this.attrOf(node, req.nodeid) };
      case 'OPEN':
      case 'OPENDIR': {
        const spec = req.op === 'OPENDIR' && req.nodeid === 1 ? this.rootOpen : (node?.open ?? {});
        const r = this.openReply(spec);
        return r.error !== null ? { error: r.error } : { error: null, open: r };
      }
      case 'READ':
        return { error: null, data: node === undefined ? new Uint8Array(0) : this.read(node, req.offset, req.size) };
      case 'WRITE':
        return { error: null, written: node === undefined ? req.data.length : this.write(node, req.offset, req.data) };
      case 'READDIR': {
        // The reply holds ".", ".." and the nodes; the next READDIR returns the empty end.
        const names = req.offset === 0 ? [...this.nodes.keys()] : [];
        return { error: null, names, nextOffset: req.offset + names.length + 2 };
      }
      case 'GETXATTR':
        return { error: this.settings.getxattr ?? 'ENODATA' };
      case 'UNLINK': {
        // The node lives on by nodeid for the files still open on it (as a real daemon keeps
        // it until FORGET); only the name goes.
        const n = this.nodes.get(req.name);
        if (n === undefined) return { error: 'ENOENT' };
        this.nodes.delete(req.name);
        return { error: null };
      }
      case 'RENAME': {
        const n = this.nodes.get(req.name);
        if (n === undefined) return { error: 'ENOENT' };
        this.nodes.delete(req.name);
        n.name = req.newName;
        this.nodes.set(req.newName, n); // a node of that name is replaced (unlinked)
        return { error: null };
      }
      case 'MKNOD':
      case 'LSEEK':
      case 'FALLOCATE':
      case 'IOCTL':
      case 'COPY_FILE_RANGE':
      case 'COPY_FILE_RANGE_64':
      case 'SETLK':
      case 'STATX':
        return { error: 'ENOSYS' };
      default:
        return { error: null };
    }
  }

  /** The attributes of a node (or the root), with the settings' attr timeout. */
  private attrOf(node: DaemonNode | undefined, nodeid: number): FuseAttr {
    const size = node === undefined ? 0 : node.sizeFrom !== undefined ? this.files.size(node.sizeFrom) : node.size;
    // attrTimeout undefined (long) rather than absent: one shape for every reply, no spreads.
    return { size, isDir: node?.isDir ?? nodeid === 1, attrTimeout: this.settings.attrTimeout };
  }

  /** A LOOKUP or CREATE entry; `entryTimeout` undefined (long) when the settings leave it out. */
  private entryOf(n: DaemonNode, nodeid: number): NonNullable<DaemonReply['entry']> {
    const a = this.attrOf(n, nodeid);
    return { nodeid: n.nodeid, entryTimeout: this.settings.entryTimeout, size: a.size, isDir: a.isDir, attrTimeout: a.attrTimeout };
  }

  /** OPEN / OPENDIR / CREATE: the node's OpenReplySpec. */
  private openReply(spec: OpenReplySpec): OpenReply {
    if (spec.error !== undefined) return { error: spec.error, fh: 0, openFlags: 0, backingId: 0 };
    const openFlags = (fopenFlags(spec.flags ?? []) | (spec.extraBits ?? 0)) >>> 0;
    const b = spec.backing;
    const backingId = b === undefined ? 0 : typeof b === 'number' ? b | 0 : this.resolveId(b);
    return { error: null, fh: this.nextFh++, openFlags, backingId };
  }

  private read(node: DaemonNode, pos: number, len: number): Uint8Array {
    return node.content.slice(Math.min(pos, node.content.length), Math.min(pos + len, node.content.length));
  }

  private write(node: DaemonNode, pos: number, data: Uint8Array): number {
    const end = pos + data.length;
    if (node.contentShared === true) {
      node.content = node.content.slice();
      node.contentShared = false;
    }
    if (end > node.content.length) {
      const grown = new Uint8Array(end);
      grown.set(node.content);
      node.content = grown;
    }
    node.content.set(data, pos);
    node.size = Math.max(node.size, end);
    return data.length;
  }

  /** SETATTR with a size truncates or extends the daemon content (and a `sizeFrom` file). */
  private truncate(node: DaemonNode, size: number): void {
    if (node.sizeFrom !== undefined) this.files.truncate(node.sizeFrom, size);
    const next = new Uint8Array(size);
    next.set(node.content.subarray(0, Math.min(size, node.content.length)));
    node.content = next;
    node.contentShared = false;
    node.size = size;
  }
}
