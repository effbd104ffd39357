// What the battery expects a read to return: the bytes fusepass wrote to the daemon's source
// directory, plus the scenario's own writes, followed per client fd and mapping. Shared by the
// kernel and sim targets of `fusepass check`.
import type { ClientStep } from '../spec/case.ts';
import { summarizeBytes } from '../spec/observation.ts';

/**
 * What the file behind each client fd should hold: the source files as fusepass wrote them,
 * plus what the scenario's own writes put there. A read's value is compared with it.
 */
export class Shadow {
  private readonly files = new Map<string, Uint8Array>();
  /** Client fd and mapping names → node (mappings start at offset 0). */
  private readonly nodeOf = new Map<string, string>();

  constructor(sources: ReadonlyMap<string, Uint8Array>) {
    for (const [k, v] of sources) this.files.set(k, v);
  }

  /** Record the step's effect (after it succeeded); return the expected value of a read. */
  apply(step: ClientStep, ok: boolean): string | undefined {
    if (step.op === 'open' && ok) {
      this.nodeOf.set(step.as, step.node);
      if (!this.files.has(step.node) || step.flags?.includes('O_TRUNC')) this.files.set(step.node, new Uint8Array(0));
    }
    if (step.op === 'mmap' && ok) this.nodeOf.set(step.as, this.nodeOf.get(step.fd) ?? '');
    const name = 'fd' in step && typeof step.fd === 'string' ? step.fd : step.op === 'mapRead' ? step.map : undefined;
    const node = name === undefined ? undefined : this.nodeOf.get(name);
    const bytes = node === undefined ? undefined : this.files.get(node);
    if (step.op === 'write' && ok && node !== undefined && bytes) {
      const data = new TextEncoder().encode(step.data);
      const off = step.offset ?? 0;
      const next = new Uint8Array(Math.max(bytes.length, off + data.length));
      next.set(bytes);
      next.set(data, off);
      this.files.set(node, next);
    }
    if ((step.op === 'read' || step.op === 'mapRead') && bytes) {
      const off = step.offset ?? 0;
      return summarizeBytes(bytes.subarray(off, off + step.length));
    }
    return undefined;
  }
}
