// The modelled FUSE daemon (fixtures/world.ts "scripted daemon's behaviour"): it answers
// requests as the World and setOpenReply / setDaemonSize steps say, and records every opcode
// it receives, so observations carry the request list the real daemon would log.
import type { FuseNodeSpec, OpenReplySpec, World } from '../fixtures/world.ts';
import { DEFAULT_BACKING_BYTE, DEFAULT_DAEMON_BYTE, DEFAULT_FILE_SIZE } from '../fixtures/world.ts';
import type { Errno } from '../spec/errno.ts';
import type { FuseOpcodeName } from '../spec/uapi.ts';
import { fopenFlags } from '../spec/uapi.ts';

export interface DaemonNode {
  readonly name: string;
  readonly nodeid: number;
  readonly isDir: boolean;
  content: Uint8Array;
  /** The size GETATTR reports (IO-25, IO-28). */
  size: number;
  open: OpenReplySpec;
}

export interface OpenReply {
  error: Errno | null;
  fh: number;
  openFlags: number;
  backingId: number;
}

export function fillBytes(byte: string, n: number): Uint8Array {
  return new Uint8Array(n).fill(byte.charCodeAt(0));
}

export function textBytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export class ModelDaemon {
  readonly nodes = new Map<string, DaemonNode>();
  private nextNodeid = 2; // 1 is the root (FUSE_ROOT_ID)
  private nextFh = 1;
  createReply: OpenReplySpec;
  rootOpen: OpenReplySpec = {};
  /** Requests received during the current step, in order. */
  readonly log: FuseOpcodeName[] = [];
  /** Every request ever received (for reports and property tests). */
  total = 0;

  constructor(
    world: World,
    /** Resolves a registration name in an open reply to the id it got. */
    private readonly resolveId: (name: string) => number,
  ) {
    this.createReply = world.create ?? {};
    for (const [name, spec] of Object.entries(world.nodes ?? {})) this.addNode(name, spec);
    // World files `on: 'self'` are files of the mount under test: the daemon serves them as
    // nodes with the file's bytes (as the kernel target does).
    for (const [name, spec] of Object.entries(world.files ?? {})) {
      if (spec.on !== 'self' || this.nodes.has(name)) continue;
      const content = spec.content ?? DEFAULT_BACKING_BYTE.repeat(spec.size ?? DEFAULT_FILE_SIZE);
      this.addNode(name, { content });
    }
  }

  addNode(name: string, spec: FuseNodeSpec): DaemonNode {
    const isDir = spec.type === 'dir';
    const content = isDir ? new Uint8Array(0) : spec.content !== undefined ? textBytes(spec.content) : fillBytes(DEFAULT_DAEMON_BYTE, DEFAULT_FILE_SIZE);
    const node: DaemonNode = { name, nodeid: this.nextNodeid++, isDir, content, size: spec.size ?? content.length, open: spec.open ?? {} };
    this.nodes.set(name, node);
    return node;
  }

  receive(op: FuseOpcodeName): void {
    this.log.push(op);
    this.total++;
  }

  takeLog(): FuseOpcodeName[] {
    return this.log.splice(0, this.log.length);
  }

  /** OPEN / OPENDIR / CREATE: the node's OpenReplySpec. */
  openReply(spec: OpenReplySpec): OpenReply {
    if (spec.error !== undefined) return { error: spec.error, fh: 0, openFlags: 0, backingId: 0 };
    const openFlags = (fopenFlags(spec.flags ?? []) | (spec.extraBits ?? 0)) >>> 0;
    const b = spec.backing;
    const backingId = b === undefined ? 0 : typeof b === 'number' ? b | 0 : this.resolveId(b);
    return { error: null, fh: this.nextFh++, openFlags, backingId };
  }

  read(node: DaemonNode, pos: number, len: number): Uint8Array {
    return node.content.slice(Math.min(pos, node.content.length), Math.min(pos + len, node.content.length));
  }

  write(node: DaemonNode, pos: number, data: Uint8Array): number {
    const end = pos + data.length;
    if (end > node.content.length) {
      const grown = new Uint8Array(end);
      grown.set(node.content);
      node.content = grown;
    }
    node.content.set(data, pos);
    node.size = Math.max(node.size, end);
    return data.length;
  }

  /** SETATTR with a size truncates or extends the daemon content. */
  truncate(node: DaemonNode, size: number): void {
    const next = new Uint8Array(size);
    next.set(node.content.subarray(0, Math.min(size, node.content.length)));
    node.content = next;
    node.size = size;
  }
}
